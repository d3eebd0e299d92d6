"""Shared pieces of result objects.

Designs return immutable result objects (frozen dataclasses) that hold
aggregates only — never row-level data — so they are safe to print, store and
pass to a report. :class:`ResultMixin` gives each one ``summary()``,
``to_frame()`` and ``_repr_html_`` from a single ``_rows()`` method.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from evalkit.errors import EvalkitError

if TYPE_CHECKING:  # pandas is imported where used: the matching command line runs without it
    import pandas as pd


class SMS(IntEnum):
    """Maryland Scientific Methods Scale (Sherman et al., 1997; Farrington et al., 2002).

    1: before/after or cross-section, no comparison group.
    2: comparison group present but not comparable, or before/after with a comparison.
    3: before/after with a comparable comparison group (matched, DiD with parallel trends).
    4: comparison with control of other factors, or nearly equivalent groups.
    5: random assignment.
    """

    LEVEL_1 = 1
    LEVEL_2 = 2
    LEVEL_3 = 3
    LEVEL_4 = 4
    LEVEL_5 = 5


@dataclass(frozen=True)
class EvidenceLevel:
    """The strength of evidence a result carries, with the reason in plain words."""

    sms: SMS
    reason: str

    @property
    def label(self) -> str:
        return f"Maryland SMS level {int(self.sms)}"

    def __str__(self) -> str:
        return f"{self.label}: {self.reason}"


@dataclass(frozen=True)
class Estimate:
    """One effect estimate with its uncertainty.

    ``scale`` says what ``estimate`` is (e.g. "mean difference", "risk
    difference", "risk ratio", "hazard ratio"). For ratio scales the CI is on
    the ratio scale and ``se`` is on the log scale. ``level`` is the confidence
    level of ``ci_low``..``ci_high`` (0.95 for a 95% interval); reports print
    the interval's label from it, never from a constant.
    """

    name: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    scale: str
    method: str = ""
    df: float | None = None
    level: float = 0.95

    @property
    def level_label(self) -> str:
        """The interval's level in words, e.g. "95%" or "90%"."""
        return f"{100 * self.level:.4g}%"

    def as_dict(self) -> dict:
        """Fields as a dict, in declaration order (one row of a results table)."""
        return asdict(self)


class ResultMixin:
    """Mixin for frozen result dataclasses.

    Subclasses implement ``_rows()`` returning a list of dicts (one per
    estimate / statistic, aggregates only) and may set ``title``.
    """

    title: str = "Result"

    def _rows(self) -> list[dict]:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_frame(self) -> pd.DataFrame:
        """Estimates as a tidy table (one row per estimate)."""
        import pandas as pd

        return pd.DataFrame(self._rows())

    def _notes(self) -> list[str]:
        notes: list[str] = []
        ev = getattr(self, "evidence", None)
        if ev is not None:
            notes.append(str(ev))
        notes.extend(getattr(self, "warnings", ()) or ())
        return notes

    def summary(self) -> str:
        """Plain-text summary: the table, then evidence level and warnings."""
        import pandas as pd

        frame = self._display_frame()
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            text = f"{self.title}\n{'=' * len(self.title)}\n{frame.to_string(index=False)}"
        notes = self._notes()
        if notes:
            text += "\n" + "\n".join(f"- {n}" for n in notes)
        return text

    def __str__(self) -> str:
        return self.summary()

    def _display_frame(self) -> pd.DataFrame:
        """The table :meth:`summary` and the HTML view show (default: :meth:`to_frame`)."""
        return self.to_frame()

    def _repr_html_(self) -> str:
        frame = self._display_frame()
        body = frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0)
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self._notes())
        notes_html = f"<ul>{notes}</ul>" if notes else ""
        return f"<div class='evalkit-result'><h4>{html.escape(self.title)}</h4>{body}{notes_html}</div>"


# --------------------------------------------------------------------------- the design result contract
#: Columns of every design result's ``to_frame()``, in this order, so frames from different designs stack with
#: ``pd.concat``: one row per term (after pyfixest's ``tidy()`` and broom), headline first. ``level`` is the
#: confidence level of ``ci_low``..``ci_high``; ``statistic`` a test statistic (t, z, V, ...) where the row has
#: one; ``n`` / ``n_comparison`` the units behind the row (see :class:`DesignResult`).
FRAME_COLUMNS: tuple[str, ...] = ("term", "estimate", "se", "ci_low", "ci_high", "level", "p_value", "statistic",
                                  "df", "scale", "method", "n", "n_comparison")


class UnknownTermError(EvalkitError, KeyError):
    """A result was asked for an estimate it does not have (also a ``KeyError``, as lookups used to raise)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def lookup(items: Sequence[Any], name: str, *, what: str, owner: str) -> Any:
    """The item of ``items`` whose ``.name`` is exactly ``name``, or :class:`UnknownTermError` listing the names."""
    for item in items:
        if item.name == name:
            return item
    names = ", ".join(repr(i.name) for i in items) or "none"
    raise UnknownTermError(f"{owner} has no {what} named {name!r}. Fix: use one of {names}.")


def estimate_row(e: Estimate, **fields: Any) -> dict:
    """One frame row (:data:`FRAME_COLUMNS`) for an estimate; ``fields`` override or fill the rest."""
    row = {"term": e.name, "estimate": e.estimate, "se": e.se, "ci_low": e.ci_low, "ci_high": e.ci_high,
           "level": e.level, "p_value": e.p_value, "statistic": math.nan,
           "df": math.nan if e.df is None else e.df, "scale": e.scale, "method": e.method}
    row.update(fields)
    return row


def stat_row(term: str, *, estimate: float = math.nan, p_value: float = math.nan, statistic: float = math.nan,
             df: float | None = None, method: str = "", scale: str = "", **fields: Any) -> dict:
    """One frame row for a statistic that is not an :class:`Estimate` (a test, a cell mean, a count)."""
    row = {"term": term, "estimate": estimate, "se": math.nan, "ci_low": math.nan, "ci_high": math.nan,
           "level": math.nan, "p_value": p_value, "statistic": statistic, "df": math.nan if df is None else df,
           "scale": scale, "method": method}
    row.update(fields)
    return row


class DesignResult(ResultMixin):
    """Mixin for the result of a design: one headline and one frame shape for every design.

    Every design result has

    * ``effect`` -- the headline :class:`Estimate` (its ``level`` is the confidence level);
    * ``estimates`` -- every estimate it holds, headline first; :meth:`term` looks one up by exact name;
    * ``n`` -- the units the headline rests on: participants (people with both measurements, matched
      participants), treated units or observations of a panel, or, for area designs, events in the
      programme area(s) in the period (each class says which);
    * ``n_comparison`` -- the comparison group's units on the same footing, or ``None`` for designs without a
      comparison group (before and after, area trend);
    * ``evidence`` (:class:`EvidenceLevel`) and ``warnings`` (tuple of plain-English strings);
    * ``to_frame()`` with the columns :data:`FRAME_COLUMNS`.

    Subclasses provide the attributes (as fields or properties) and may extend :meth:`_rows`, whose rows need
    only the columns they know: the rest are filled (``n`` / ``n_comparison`` with the result's own).
    """

    @property
    def level(self) -> float:
        """The confidence level of the headline's interval (0.95 for 95%)."""
        return self.effect.level  # type: ignore[attr-defined]

    def term(self, name: str) -> Estimate:
        """The estimate named exactly ``name`` (:class:`UnknownTermError` lists the names if there is none)."""
        return lookup(self.estimates, name, what="estimate", owner=self.title)  # type: ignore[attr-defined]

    def _rows(self) -> list[dict]:
        return [estimate_row(e) for e in self.estimates]  # type: ignore[attr-defined]

    def to_frame(self) -> pd.DataFrame:
        """One row per term, columns :data:`FRAME_COLUMNS` (stackable across designs with ``pd.concat``)."""
        import pandas as pd

        n = self.n  # type: ignore[attr-defined]
        n_comparison = self.n_comparison  # type: ignore[attr-defined]
        rows = []
        for r in self._rows():
            full = {c: math.nan for c in FRAME_COLUMNS} | {"scale": "", "method": ""}
            full.update(n=n, n_comparison=n_comparison)
            full.update(r)
            rows.append(full)
        frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
        # counts stay whole numbers; None (no comparison group) becomes <NA>
        for c in ("n", "n_comparison"):
            frame[c] = pd.array([None if v is None or v != v else int(v) for v in frame[c]], dtype="Int64")
        return frame

    def _display_frame(self) -> pd.DataFrame:
        """:meth:`to_frame` without the columns no row fills (for reading)."""
        frame = self.to_frame()
        empty = [c for c in frame.columns if frame[c].isna().all() or frame[c].astype(str).eq("").all()]
        return frame.drop(columns=empty)


__all__ = ["SMS", "EvidenceLevel", "Estimate", "ResultMixin", "DesignResult", "FRAME_COLUMNS",
           "UnknownTermError", "estimate_row", "stat_row", "lookup"]
