"""Statistical disclosure control for counts shown in reports.

Rules (following the ONS and Government Statistical Service guidance on
small-cell suppression in published tables):

* **Primary suppression**: a count ``0 < n < threshold`` is hidden. Zeros are
  shown by default (a zero reveals no individual); pass ``suppress_zeros=True``
  to hide them too.
* **Totals** are the true totals of the unrounded table, and are themselves
  counts: a total below the threshold is hidden like any cell.
* **Secondary suppression**: the table with its totals is a set of *lines*
  (every row with its row total, every column with its column total, and the
  total row and total column with the grand total). A line holding exactly one
  hidden entry would reveal it by subtraction, so the smallest other entry in
  that line is hidden too (interior cells before totals, non-zero before zero,
  ties broken by the row and column labels, so row order never matters).
  Lines are revisited until none holds exactly one hidden entry.
* **Chains**: even with two hidden entries in every line, a hidden cell can be
  pinned down by combining several lines (a "bridge" in the pattern of hidden
  cells). :func:`exposed_cells` finds every hidden entry whose value follows
  from the published ones by linear algebra (its unit vector lies in the row
  space of the published equations); each such entry gets an extra complement
  and the line rule runs again, until nothing is exposed.
* **Rounding** (optional, ``round_to=5`` etc.) is applied to the shown values
  after suppression; rounded totals are rounded independently, so they need not
  add up.

One marker (default ``[c]``, the GSS convention for "confidential") is used for
primary and secondary suppression alike, so a reader cannot tell which hidden
cells are small.

No library in the project's stack does small-cell suppression for pandas
tables (sdcMicro and tau-Argus are R/Java tools), so it is written here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evalkit.errors import DataError, Problem, redact
from evalkit.results import ResultMixin

#: Run the chain (bridge) check; switched off only by the test that shows why it is needed.
CHAINS = True
MARKER = "[c]"
TOTAL = "Total"


# --------------------------------------------------------------------------- single numbers
def is_small(n: float | int | None, threshold: int = 10, *, suppress_zeros: bool = False) -> bool:
    """Whether a count must be hidden (``0 < n < threshold``, or ``n == 0`` with ``suppress_zeros``)."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return False
    return (0 < n < threshold) or (suppress_zeros and n == 0)


def safe_count(n: int | float | None, threshold: int = 10, *, marker: str = MARKER, round_to: int | None = None,
               suppress_zeros: bool = False) -> str:
    """A count as display text, hidden if small; e.g. ``safe_count(7) == '[c]'``, ``safe_count(1234) == '1,234'``."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "–"
    if is_small(n, threshold, suppress_zeros=suppress_zeros):
        return marker
    return f"{_round(int(n), round_to):,}"


def safe_share(k: int, n: int, threshold: int = 10, *, marker: str = MARKER, digits: int = 0) -> str:
    """``k`` of ``n`` as a percentage, hidden when it would reveal a small count.

    A percentage with a known denominator reveals its numerator, so it is hidden
    when ``k`` or ``n - k`` is small (or ``n`` itself is).
    """
    if n <= 0:
        return "–"
    if is_small(n, threshold) or is_small(k, threshold) or is_small(n - k, threshold):
        return marker
    return f"{100 * k / n:.{digits}f}%"


# --------------------------------------------------------------------------- counts along a flow
def safe_flow(steps: Sequence[tuple[str, float]], threshold: int = 10, *, parents: list[int | None] | None = None,
              spare_first: bool = False, marker: str = MARKER) -> list[tuple[str, str]]:
    """Counts along a participation flow (each step a subset of its parent step), small ones hidden.

    A step is hidden when it is small (primary suppression) **or** when the number lost since its nearest
    *shown* ancestor is small: two shown counts whose difference is 1-9 reveal that small group by
    subtraction (secondary disclosure by differencing). Hiding the step leaves the reader only a range.

    Parameters
    ----------
    steps
        ``(label, count)`` in order.
    parents
        Index of each step's parent step (``None`` for the first); default: the previous step (a chain).
        Branches of a flow (e.g. a questionnaire branch and an offending branch after "started") name the
        branch point as parent.
    spare_first
        When a child of the first step differs from it by a small number, hide the first step instead of the
        child (e.g. keep "started" and hide "referred": who started matters more).
    """
    parents = parents if parents is not None else [None] + list(range(len(steps) - 1))
    shown: list[bool] = []
    out = []
    for k, (label, n) in enumerate(steps):
        ok = not is_small(n, threshold)
        anc = parents[k]
        while ok and anc is not None and not shown[anc]:
            anc = parents[anc]
        if ok and anc is not None and is_small(steps[anc][1] - n, threshold):
            if spare_first and anc == 0 and parents[k] == 0:
                shown[0] = False
                out[0] = (out[0][0], marker)
            else:
                ok = False
        shown.append(ok)
        out.append((label, f"{int(n):,}" if ok else marker))
    return out


def safe_steps(cumulative: list[float] | np.ndarray, threshold: int = 10) -> list[int]:
    """Which points of a cumulative count (e.g. people who have reoffended by each month) may be drawn.

    A curve drawn through every point shows each increment, and with the group size shown an increment of
    1-9 people is a small count (a Kaplan-Meier curve drawn month by month reveals how many reoffended in
    each month). The points kept are such that every increment between kept points, from zero to the first
    and from the last to the end, is zero or at least ``threshold``; the last point is always kept. A
    total below the threshold keeps nothing (the curve should not be drawn).
    """
    c = np.asarray(cumulative, dtype=float)
    if not len(c) or is_small(round(c[-1]), threshold):
        return []
    kept, last = [], 0.0
    for i, v in enumerate(c):
        if round(v - last) >= threshold:
            kept.append(i)
            last = v
    end = len(c) - 1
    if kept and kept[-1] != end and is_small(round(c[end] - c[kept[-1]]), threshold):
        kept.pop()  # merge the small remainder into the step before it
    if not kept or kept[-1] != end:
        kept.append(end)
    return kept


# --------------------------------------------------------------------------- counts in sentences
#: Words for people (or their records) that a count in a sentence can be a count of.
_PEOPLE = (r"(?:rows?|young\s+people|young\s+persons?|people|persons?|participants?|participant\(s\)|individuals?|"
           r"children|girls|boys|men|women|referrals?|records?|pairs?|events?|offenders?|victims?)")
_NUM = r"(?<![\d.,£$€+\-])(\d{1,3}(?:,\d{3})*|\d+)(?![.,]?\d)"
#: "3 of 12 people ... (25%)": both numbers, and a share in brackets right after.
_K_OF_N = re.compile(_NUM + r"(\s+of\s+)" + _NUM + r"(\s+(?:[a-z]+\s+){0,2}" + _PEOPLE + r"\b[^.;()]*)"
                     r"(\(\d+(?:\.\d+)?%\))?", re.I)
#: "8 participants", "only 4 people", "3 more young people", "6 matched participants".
_N_PEOPLE = re.compile(_NUM + r"(\s+(?:(?:more|fewer|other|matched|treated|comparison|additional|further)\s+)?"
                       + _PEOPLE + r")\b", re.I)

#: "n=8", "n = 8" (a sample size in a label or note).
_N_EQUALS = re.compile(r"(\bn\s?=\s?)" + _NUM)


def _as_int(text: str) -> int:
    return int(text.replace(",", ""))


def safe_text(text: str, threshold: int = 10, *, marker: str = MARKER, hidden: frozenset[int] = frozenset()) -> str:
    """A sentence with every small count of people in it hidden.

    Catches the ways a report sentence states a count: ``"Only 8 participants contributed"``,
    ``"3 of 12 people with a baseline (25%)"`` (both numbers hidden when the part, the whole or the rest is
    small or withheld; the share goes too, since with the whole it reveals the part). ``hidden`` holds counts
    the report withholds although they are not small (a :class:`PublishedCounts`' ``hidden_values``): a
    sentence must not print what a table hides. Other numbers (scores, percentages, money, years) are left
    alone. Applied to every report section and to ``findings.json`` as a last line of defence; the sections
    control the counts they compute themselves.
    """
    if not text:
        return text

    def withheld(n: int) -> bool:
        return is_small(n, threshold) or n in hidden

    def k_of_n(m: re.Match) -> str:
        k, n = _as_int(m.group(1)), _as_int(m.group(3))
        if not (withheld(k) or withheld(n) or withheld(n - k)):
            return m.group(0)
        # the whole and one part give the other part: when any of the three is withheld, so are both shown
        tail = m.group(4) if m.group(5) is None else m.group(4).rstrip()
        return f"{marker}{m.group(2)}{marker}{tail}"

    def n_people(m: re.Match) -> str:
        return f"{marker}{m.group(2)}" if withheld(_as_int(m.group(1))) else m.group(0)

    text = _N_EQUALS.sub(lambda m: m.group(1) + marker if withheld(_as_int(m.group(2))) else m.group(0), text)
    return _N_PEOPLE.sub(n_people, _K_OF_N.sub(k_of_n, text))


_TAG = re.compile(r"(<pre\b.*?</pre>|<[^>]*>)", re.S | re.I)


def safe_html(page: str, threshold: int = 10, *, marker: str = MARKER, hidden: frozenset[int] = frozenset()) -> str:
    """:func:`safe_text` on every text node of an HTML fragment (tags, attributes and ``<pre>`` left alone).

    ``<pre>`` holds the protocol as the evaluator wrote it (settings, not data).
    """
    parts = _TAG.split(page)
    return "".join(p if i % 2 else safe_text(p, threshold, marker=marker, hidden=hidden) for i, p in enumerate(parts))


def safe_json(value, threshold: int = 10, *, marker: str = MARKER, hidden: frozenset[int] = frozenset()):
    """:func:`safe_text` on every string inside a JSON-like value (dicts, lists)."""
    if isinstance(value, str):
        return safe_text(value, threshold, marker=marker, hidden=hidden)
    if isinstance(value, dict):
        return {k: safe_json(v, threshold, marker=marker, hidden=hidden) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [safe_json(v, threshold, marker=marker, hidden=hidden) for v in value]
    return value


# --------------------------------------------------------------------------- one set of counts per report
@dataclass(frozen=True)
class Count:
    """A count of people a report prints: its key, true value, the count it is a subset of, and how much it
    matters (higher ``priority`` is kept shown when one of two counts must go)."""

    key: str
    value: int
    parent: str | None = None
    priority: int = 0


@dataclass(frozen=True)
class PublishedCounts(ResultMixin):
    """The counts of people one report publishes, decided together (:func:`publish_counts`).

    Every place a report, its notes, its plots and its ``findings.json`` print a count asks this object
    (:meth:`show`, :meth:`text`, :meth:`html`, :meth:`json`), so a number hidden in one place is hidden in
    all: withholding is by *value*, since a reader who sees 105 in a table cannot tell it is not the 105
    hidden in the chart above it.
    """

    threshold: int
    counts: tuple[Count, ...]
    hidden_keys: frozenset[str]
    marker: str = MARKER
    title: str = "Counts of people the report publishes"
    ledger: Any = None  # the audited ledger (evalkit.report.ledger.Published) the decisions came from

    @property
    def hidden_values(self) -> frozenset[int]:
        """True values of the withheld counts (the small ones are withheld by rule, not listed)."""
        return frozenset(c.value for c in self.counts if c.key in self.hidden_keys and not is_small(c.value,
                                                                                                     self.threshold))

    def hides(self, n: int | float | None) -> bool:
        """Whether the count ``n`` must not be printed."""
        if n is None or (isinstance(n, float) and math.isnan(n)):
            return False
        return is_small(n, self.threshold) or int(n) in self.hidden_values

    def show(self, n: int | float | None) -> str:
        """``n`` as display text: the marker when withheld, else ``1,234``."""
        if n is None or (isinstance(n, float) and math.isnan(n)):
            return "–"
        return self.marker if self.hides(n) else f"{int(n):,}"

    def value(self, n: int | float | None) -> int | None:
        """``n`` for a JSON field: None when withheld."""
        return None if n is None or self.hides(n) else int(n)

    def shown(self, key: str) -> str:
        """The display text of the count called ``key``."""
        if self.ledger is not None and key in self.ledger.ledger.entries:
            return self.ledger.text(key)
        c = next(c for c in self.counts if c.key == key)
        return self.marker if c.key in self.hidden_keys or self.hides(c.value) else f"{c.value:,}"

    def text(self, s: str) -> str:
        return safe_text(s, self.threshold, marker=self.marker, hidden=self.hidden_values)

    def html(self, page: str) -> str:
        return safe_html(page, self.threshold, marker=self.marker, hidden=self.hidden_values)

    def json(self, value):
        return safe_json(value, self.threshold, marker=self.marker, hidden=self.hidden_values)

    def entry_text(self, key: str) -> str | None:
        """The printed text of any ledger entry (a count, a share, a cost), or None when it is not in the
        ledger."""
        if self.ledger is None or key not in self.ledger.ledger.entries:
            return None
        return self.ledger.text(key)

    def _rows(self) -> list[dict]:
        return [{"count": c.key, "shown": self.shown(c.key)} for c in self.counts]


def publish_counts(counts: list[Count], partitions: list[tuple[str, list[str]]] = (), threshold: int = 10, *,
                   marker: str = MARKER) -> PublishedCounts:
    """Decide, for a whole report at once, which of its counts of people are printed.

    Rules, applied until nothing changes:

    * a count below the threshold is withheld (primary suppression);
    * a count whose value equals a withheld count's is withheld (the same number printed elsewhere would
      give it away);
    * a count and its nearest shown ancestor (``parent`` chain: each count a subset of its parent) must not
      differ by 1 to threshold-1, or the small group between them is revealed by subtraction: the one with
      the lower priority is withheld (ties: the subset);
    * a partition (a total and the counts of disjoint groups that make it up, e.g. subgroups) with exactly
      one withheld entry would reveal it by subtraction, so its smallest other entry is withheld too.

    Parameters
    ----------
    counts
        Every count of people the report may print, in reading order. Keys are unique.
    partitions
        ``(total key, [part keys])``: the parts add up to the total.
    """
    by_key = {c.key: c for c in counts}
    if len(by_key) != len(counts):
        raise ValueError("count keys must be unique")
    t = threshold
    # a value printed under two names matters as much as the more important of them
    rank: dict[int, int] = {}
    for c in counts:
        rank[c.value] = max(rank.get(c.value, c.priority), c.priority)
    hidden: set[str] = set()

    def hide(key: str) -> bool:
        if key in hidden:
            return False
        hidden.add(key)
        return True

    changed = True
    while changed:
        changed = False
        values = {by_key[k].value for k in hidden}
        for c in counts:
            if is_small(c.value, t) or (c.value in values and c.value != 0):
                changed |= hide(c.key)
        for c in counts:
            if c.key in hidden or c.parent is None:
                continue
            anc = by_key.get(c.parent)
            while anc is not None and anc.key in hidden:
                anc = by_key.get(anc.parent) if anc.parent else None
            if anc is not None and is_small(anc.value - c.value, t):
                lower = anc if rank[anc.value] < rank[c.value] else c
                changed |= hide(lower.key)
                break  # re-derive the withheld values before the next comparison
        if changed:
            continue
        for total, parts in sorted(partitions, key=lambda p: p[0]):
            line = [*parts, total]
            if sum(k in hidden for k in line) == 1:
                options = [k for k in line if k not in hidden]
                # a part before the total, then the smallest, then by key (row order never matters)
                pick = min(options, key=lambda k: (k == total, by_key[k].value, k))
                changed |= hide(pick)
    return PublishedCounts(threshold=t, counts=tuple(counts), hidden_keys=frozenset(hidden), marker=marker)


# --------------------------------------------------------------------------- tables
@dataclass(frozen=True)
class SuppressedTable(ResultMixin):
    """A count table after disclosure control.

    Attributes
    ----------
    display
        Strings to show: counts (rounded if asked), the marker where hidden, and
        the totals row/column if asked.
    hidden
        Same shape as ``display``: ``"primary"``, ``"secondary"`` or ``""``.
    threshold, marker, round_to
        The settings used.
    """

    display: pd.DataFrame
    hidden: pd.DataFrame
    threshold: int
    marker: str
    round_to: int | None
    title: str = "Counts (disclosure controlled)"

    @property
    def n_primary(self) -> int:
        return int((self.hidden == "primary").to_numpy().sum())

    @property
    def n_secondary(self) -> int:
        return int((self.hidden == "secondary").to_numpy().sum())

    def _rows(self) -> list[dict]:
        frame = self.display.reset_index()
        return frame.to_dict(orient="records")

    def _notes(self) -> list[str]:
        if not (self.n_primary or self.n_secondary):
            return []
        note = (f"{self.marker}: hidden to protect confidentiality (counts below {self.threshold}, and other "
                f"cells that would reveal them).")
        if self.round_to:
            note += f" Counts are rounded to the nearest {self.round_to}."
        return [note]

    def to_frame(self) -> pd.DataFrame:
        return self.display.copy()

    def _repr_html_(self) -> str:
        notes = "".join(f"<p class='evalkit-note'>{n}</p>" for n in self._notes())
        return f"<div class='evalkit-table'>{counts_html(self.display)}{notes}</div>"


def counts_html(display: pd.DataFrame) -> str:
    """A display table as HTML (class ``counts``), the row-label heading in the corner cell."""
    frame = display.copy()
    if frame.index.name and not isinstance(frame.columns, pd.MultiIndex):
        frame.columns.name, frame.index.name = frame.index.name, None
    return frame.to_html(border=0, classes="counts", escape=True)


def suppress_counts(table: pd.DataFrame | pd.Series, *, threshold: int = 10, totals: bool | str = True,
                    suppress_zeros: bool = False, round_to: int | None = None, marker: str = MARKER,
                    title: str = "Counts (disclosure controlled)",
                    withhold: Iterable[tuple[Any, Any]] = ()) -> SuppressedTable:
    """Apply primary and secondary suppression to a table of counts.

    Parameters
    ----------
    table
        Non-negative whole-number counts (a Series is treated as one column).
    threshold
        Counts ``0 < n < threshold`` are hidden (default 10).
    totals
        ``True`` (or ``"both"``): add a total column and a total row; ``"row"``:
        only a total row (column sums, e.g. for a profile table whose columns are
        different groups); ``"column"``: only a total column; ``False``: none.
        Totals are true totals, hidden when small or when they would reveal a
        hidden cell. A one-column table gets no total column (it would repeat
        the cells).
    suppress_zeros
        Hide zeros too (default: zeros are shown).
    round_to
        Round shown counts to this base (e.g. 5) after suppression.
    marker
        Text shown for hidden cells.
    withhold
        ``(row, column)`` labels (``"Total"`` for a margin) hidden whatever their value, e.g. a total the rest
        of the report withholds; secondary suppression then protects them like any hidden cell.

    Returns
    -------
    SuppressedTable
    """
    counts = _as_counts(table)
    add_row, add_col = _margins(totals, counts.shape[1])
    full = _with_totals(counts, add_row=add_row, add_col=add_col)
    values = full.to_numpy(dtype=float)
    n_rows, n_cols = counts.shape
    is_total = np.zeros(values.shape, dtype=bool)
    if add_row:
        is_total[-1, :] = True
    if add_col:
        is_total[:, -1] = True
    primary = np.vectorize(lambda v: is_small(v, threshold, suppress_zeros=suppress_zeros))(values)
    if values.size == 0:
        primary = np.zeros(values.shape, dtype=bool)
    for row, col in withhold:
        if row in full.index and col in full.columns:
            primary[full.index.get_loc(row), full.columns.get_loc(col)] = True
    lines = _lines(n_rows, n_cols, add_row=add_row, add_col=add_col)
    hidden = _secondary(values, primary.copy(), is_total, lines, _order_keys(full), threshold)
    kind = np.where(primary, "primary", np.where(hidden, "secondary", ""))
    display = np.empty(values.shape, dtype=object)
    for (i, j), v in np.ndenumerate(values):
        display[i, j] = marker if hidden[i, j] else f"{_round(int(v), round_to):,}"
    return SuppressedTable(
        display=pd.DataFrame(display, index=full.index, columns=full.columns),
        hidden=pd.DataFrame(kind, index=full.index, columns=full.columns),
        threshold=threshold, marker=marker, round_to=round_to, title=title,
    )


def exposed_cells(values: np.ndarray, hidden: np.ndarray, lines: list[list[tuple[int, int]]]) -> list[tuple[int, int]]:
    """Hidden entries whose value follows exactly from the shown ones.

    Each line says: sum of its interior entries equals its total entry, i.e.
    a linear equation. Hidden entries are the unknowns; a hidden entry is
    determined iff its unit vector lies in the row space of the equations'
    unknown-coefficient matrix (rank test).
    """
    unknown = [tuple(ix) for ix in np.argwhere(hidden)]
    if not unknown:
        return []
    col = {cell: k for k, cell in enumerate(unknown)}
    rows = []
    for line in lines:
        *parts, total = line
        coef = np.zeros(len(unknown))
        for cell in parts:
            if cell in col:
                coef[col[cell]] += 1.0
        if total in col:
            coef[col[total]] -= 1.0
        if coef.any():
            rows.append(coef)
    if not rows:
        return []
    a = np.array(rows)
    rank = np.linalg.matrix_rank(a)
    exposed = []
    for cell, k in col.items():
        unit = np.zeros(len(unknown))
        unit[k] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
            exposed.append(cell)
    return sorted(exposed)


# --------------------------------------------------------------------------- internals
def _as_counts(table: pd.DataFrame | pd.Series) -> pd.DataFrame:
    frame = table.to_frame() if isinstance(table, pd.Series) else table
    if not isinstance(frame, pd.DataFrame):
        raise DataError(Problem(file="<table>", message="disclosure control needs a table of counts.",
                                fix="pass a pandas DataFrame of whole-number counts."))
    try:
        numeric = frame.apply(pd.to_numeric).fillna(0)
    except (TypeError, ValueError):
        raise DataError(Problem(file="<table>", message="the table holds values that are not numbers.",
                                fix="pass counts only (no labels inside the table).")) from None
    arr = numeric.to_numpy(dtype=float)
    if (arr < 0).any() or (np.floor(arr) != arr).any():
        raise DataError(Problem(file="<table>", message="disclosure control applies to counts, but the table holds "
                                                        "negative or fractional values.",
                                fix="pass whole-number counts (suppress the counts, then compute rates)."))
    return numeric.astype("int64")


def _margins(totals: bool | str, n_cols: int) -> tuple[bool, bool]:
    """(add a total row, add a total column) from the ``totals`` option."""
    choice = {True: "both", False: "none"}.get(totals, totals) if isinstance(totals, bool) else totals
    if choice not in ("both", "row", "column", "none"):
        raise ValueError(f"totals must be True, False, 'both', 'row', 'column' or 'none', not {totals!r}")
    add_row = choice in ("both", "row")
    add_col = choice in ("both", "column") and n_cols > 1
    return add_row, add_col


def _with_totals(counts: pd.DataFrame, *, add_row: bool, add_col: bool) -> pd.DataFrame:
    full = counts.copy()
    if add_col:
        full[TOTAL] = counts.sum(axis=1)
    if not add_row:
        return full
    total_row = full.sum(axis=0).to_frame().T
    total_row.index = [TOTAL]
    if isinstance(full.index, pd.MultiIndex):
        total_row.index = pd.MultiIndex.from_tuples([(TOTAL,) + ("",) * (full.index.nlevels - 1)])
    total_row.index.names = full.index.names
    return pd.concat([full, total_row])


def _lines(n_rows: int, n_cols: int, *, add_row: bool, add_col: bool) -> list[list[tuple[int, int]]]:
    """Each line as [interior entries..., total entry]; the totals sit in the last row/column."""
    lines = []
    if add_col:
        lines += [[(i, j) for j in range(n_cols)] + [(i, n_cols)] for i in range(n_rows)]
    if add_row:
        lines += [[(i, j) for i in range(n_rows)] + [(n_rows, j)] for j in range(n_cols)]
    if add_row and add_col:
        lines.append([(n_rows, j) for j in range(n_cols)] + [(n_rows, n_cols)])
        lines.append([(i, n_cols) for i in range(n_rows)] + [(n_rows, n_cols)])
    return lines


def _order_keys(full: pd.DataFrame) -> np.ndarray:
    """Label-based tie-break keys, so the chosen complement does not depend on row order."""
    keys = np.empty(full.shape, dtype=object)
    for i, r in enumerate(full.index):
        for j, c in enumerate(full.columns):
            keys[i, j] = (str(r), str(c))
    return keys


def _pick(values, hidden, is_total, keys, cells) -> tuple[int, int] | None:
    """The complement to hide among ``cells``: interior first, non-zero first, smallest, then by label."""
    candidates = [c for c in cells if not hidden[c]]
    if not candidates:
        return None
    return min(candidates, key=lambda c: (bool(is_total[c]), values[c] == 0, values[c], keys[c]))


def _small_remainder(values, hidden, line, threshold: int) -> bool:
    """A shown total less the shown entries leaves the hidden entries' sum: 1 to threshold-1 reveals a small
    group (two hidden cells adding up to 2, beside shown zeros, are 1 and 1)."""
    *parts, total = line
    if hidden[total] or not any(hidden[c] for c in parts):
        return False
    return bool(0 < sum(values[c] for c in parts if hidden[c]) < threshold)


def _secondary(values, hidden, is_total, lines, keys, threshold: int = 10) -> np.ndarray:
    if not lines:
        return hidden
    while True:
        changed = True
        while changed:
            changed = False
            # Visit lines in label order so the result is independent of row order.
            for line in sorted(lines, key=lambda ln: sorted(keys[c] for c in ln)):
                if sum(hidden[c] for c in line) == 1 or _small_remainder(values, hidden, line, threshold):
                    pick = _pick(values, hidden, is_total, keys, line)
                    if pick is not None:
                        hidden[pick] = True
                        changed = True
        exposed = exposed_cells(values, hidden, lines) if CHAINS else []
        if not exposed:
            return hidden
        # Break the chain: hide one more entry in a line through the first exposed cell.
        cell = min(exposed, key=lambda c: keys[c])  # by label: row order never changes the result
        through = [ln for ln in lines if cell in ln]
        options = [c for ln in through for c in ln if not hidden[c]]
        pick = _pick(values, hidden, is_total, keys, options)
        if pick is None:
            return hidden
        hidden[pick] = True


def _round(n: int, base: int | None) -> int:
    if not base:
        return n
    return int(base * math.floor(n / base + 0.5))


__all__ = ["MARKER", "SuppressedTable", "counts_html", "suppress_counts", "safe_count", "safe_share", "is_small",
           "exposed_cells", "safe_flow", "safe_steps", "safe_text", "safe_html", "safe_json", "redact", "Count",
           "PublishedCounts", "publish_counts"]
