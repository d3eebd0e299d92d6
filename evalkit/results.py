"""Shared pieces of result objects.

Designs return immutable result objects (frozen dataclasses) that hold
aggregates only — never row-level data — so they are safe to print, store and
pass to a report. :class:`ResultMixin` gives each one ``summary()``,
``to_frame()`` and ``_repr_html_`` from a single ``_rows()`` method.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

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

        frame = self.to_frame()
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            text = f"{self.title}\n{'=' * len(self.title)}\n{frame.to_string(index=False)}"
        notes = self._notes()
        if notes:
            text += "\n" + "\n".join(f"- {n}" for n in notes)
        return text

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        frame = self.to_frame()
        body = frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0)
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self._notes())
        notes_html = f"<ul>{notes}</ul>" if notes else ""
        return f"<div class='evalkit-result'><h4>{html.escape(self.title)}</h4>{body}{notes_html}</div>"


__all__ = ["SMS", "EvidenceLevel", "Estimate", "ResultMixin"]
