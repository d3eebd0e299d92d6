"""Errors that speak to evaluators.

Every mistake a user can make (bad file, bad protocol, data that cannot support
an analysis) raises a subclass of :class:`EvalkitError`. The CLI prints its
message on one line and exits non-zero, with no traceback. Messages name the
place (file, sheet, row, column) and say what to fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class EvalkitError(Exception):
    """Base class for every error caused by user input or unsupported data."""

    exit_code: int = 2


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file.

    Attributes
    ----------
    file, sheet, row, column
        Where the problem is. ``row`` is the 1-based row as the user sees it
        in a spreadsheet (header is row 1), or ``None`` for file-level problems.
    message
        What is wrong, in plain words.
    fix
        What to do about it.
    """

    file: str
    message: str
    fix: str = ""
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    #: Every row with this same problem (a repeated problem is one line: "rows 2-200, 205 (200 rows)").
    rows: tuple[int, ...] = ()

    def location(self) -> str:
        parts = [self.file]
        if self.sheet:
            parts.append(f"sheet '{self.sheet}'")
        if len(self.rows) > 1:
            parts.append(f"rows {row_ranges(self.rows)} ({len(self.rows):,} rows)")
        elif self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)

    def __str__(self) -> str:
        text = f"{self.location()}: {self.message}"
        if self.fix:
            text += f" Fix: {self.fix}"
        return text


def row_ranges(rows: tuple[int, ...] | list[int], *, limit: int = 6) -> str:
    """``2-200, 205, 210-300``: sorted rows as ranges (at most ``limit`` ranges, then "...")."""
    ordered = sorted(set(rows))
    spans: list[tuple[int, int]] = []
    for r in ordered:
        if spans and r == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], r)
        else:
            spans.append((r, r))
    text = [f"{a}" if a == b else f"{a}-{b}" for a, b in spans[:limit]]
    return ", ".join(text) + (", ..." if len(spans) > limit else "")


class DataError(EvalkitError):
    """An input file breaks the data contract.

    Carries every problem found (capped by the caller), so a provider can fix
    them all in one pass.
    """

    def __init__(self, problems: list[Problem] | Problem, *, truncated: int = 0) -> None:
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        self.truncated = truncated
        head = str(self.problems[0]) if self.problems else "invalid data"
        more = len(self.problems) - 1 + truncated
        msg = head if more <= 0 else f"{head} (and {more} more problem(s); run `evalkit validate` to list them)"
        super().__init__(msg)


class SpecError(EvalkitError):
    """A protocol, configuration or analysis specification is invalid."""


class InsufficientDataError(EvalkitError):
    """The data cannot support the requested analysis (too few cases, no
    overlap, perfect separation, a covariate with no variance, ...)."""


class MissingDataError(EvalkitError):
    """A measure or design was asked of data that lacks what it needs
    (a column, an instrument, a timepoint)."""


# --------------------------------------------------------------------------- redaction
#: Row-level values an error message can quote: ids, dates, "value 'x' in col", "col=x" (validation messages).
_REDACT = (
    # an absolute path (the store's, the data folder's) names the machine's folders: keep only the file name
    (re.compile(r"(?<![\w.:/\\])(?:[A-Za-z]:[\\/]|/)(?:[^\s/\\:'\"]+[/\\])+(?=[^\s/\\:'\"]+)"), ""),
    (re.compile(r"\bP[0-9a-f]{16}\b"), "[id]"),
    # dates, except the examples in a fix ("write dates as YYYY-MM-DD, e.g. 2021-03-14")
    (re.compile(r"(?<!e\.g\. )\b\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\b"), "[date]"),
    (re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b"), "[date]"),
    (re.compile(r"\b(values?) (?:'[^']*'|\"[^\"]*\"|[^\s,;]+)(?= (?:in|is|for|of|are)\b)"), r"\1 [hidden]"),
    (re.compile(r"\b(\w+)=(?:'[^']*'|\"[^\"]*\"|[^,;]*?)(?=,\s*\w+=|\s+(?:already|is|are|appears|not)\b|[;)]|$)"),
     r"\1=[hidden]"),
)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def redact(text: str, *, quoted: bool = False) -> str:
    """An error message without the row-level values it may quote (ids, dates, cell values).

    A failed report's message goes to ``index.html``, ``run_status.json``, the portfolio summary and the
    terminal, and a design that could not be estimated gives its reason in the report, all of which may be
    shared; the location (file, row, column) and the fix stay, the values go.
    ``evalkit validate`` still shows the values to whoever holds the data. ``quoted=True`` also hides every
    quoted string (for errors that are not evalkit's own, whose messages can quote anything).
    """
    for pattern, repl in _REDACT:
        text = pattern.sub(repl, text)
    return _QUOTED.sub("[hidden]", text) if quoted else text
