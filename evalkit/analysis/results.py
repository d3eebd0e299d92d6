"""Result objects of the per-intervention analysis (aggregates only).

:class:`OutcomeResult` is one outcome analysed by one design, or the reason it
could not be; :class:`PrimaryResult` is the intervention's primary finding on a
standardised scale with its commissioning category; :class:`SubgroupResult`
one subgroup variable; :class:`InterventionAnalysis` everything a report needs.
All are frozen and hold aggregates only: design results are kept as their own
(aggregate) result objects, never frames of people.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from evalkit.results import Estimate, ResultMixin


@dataclass(frozen=True)
class OutcomeResult(ResultMixin):
    """One outcome analysed by one design.

    ``estimate`` is on the outcome's natural scale (``scale`` says which;
    proportions for risk differences); ``higher_is_better`` refers to it.
    ``standardised`` is the portfolio scale (positive = better for young
    people) and ``standardisation`` says how it was made. When the design
    could not run, ``estimate`` is None and ``reason`` says why.
    """

    design: str
    design_label: str
    outcome: str
    label: str
    kind: str
    primary: bool
    estimate: Estimate | None = None
    higher_is_better: bool = True
    null: float = 0.0
    n: int = 0
    n_comparison: int = 0
    sms: int = 1
    evidence: str = ""
    sentence: str = ""
    per_100: str | None = None
    standardised: Estimate | None = None
    standardisation: str = ""
    n_needed_seen: float | None = None
    result: Any = field(default=None, repr=False)
    extra: dict = field(default_factory=dict, repr=False)
    reason: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.estimate is not None

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"{self.label or self.outcome}: {self.design_label}"

    def _rows(self) -> list[dict]:
        if not self.ok:
            return [{"outcome": self.label, "design": self.design_label, "estimate": math.nan,
                     "note": f"could not be estimated: {self.reason}"}]
        e = self.estimate
        row = {"outcome": self.label, "design": self.design_label, "scale": e.scale, "estimate": e.estimate,
               "ci_low": e.ci_low, "ci_high": e.ci_high, "p_value": e.p_value, "n": self.n, "sms": self.sms}
        if self.standardised is not None:
            row.update(standardised=self.standardised.estimate, std_ci_low=self.standardised.ci_low,
                       std_ci_high=self.standardised.ci_high)
        return [row]


@dataclass(frozen=True)
class PrimaryResult(ResultMixin):
    """The intervention's primary finding for the portfolio, with its commissioning category."""

    intervention_id: str
    outcome: str
    label: str
    design: str
    design_label: str
    estimate: Estimate | None
    standardised: Estimate | None
    standardisation: str
    direction: str
    significant: bool
    verdict: str
    sms: int
    n: int
    n_needed: float
    minimum_worthwhile: str
    category: str
    category_label: str
    category_meaning: str
    rule: str
    sentence: str = ""
    per_100: str | None = None
    reason: str = ""
    finding: dict | None = None  # what the commissioning rules looked at (aggregates; JSON-safe)
    title: str = "Primary finding"

    def _rows(self) -> list[dict]:
        s = self.standardised
        return [{"outcome": self.label, "design": self.design_label,
                 "standardised": s.estimate if s else math.nan, "ci_low": s.ci_low if s else math.nan,
                 "ci_high": s.ci_high if s else math.nan, "n": self.n, "sms": self.sms,
                 "n_needed": self.n_needed, "verdict": self.verdict, "category": self.category_label}]

    def as_json(self) -> dict:
        """JSON-safe aggregates for ``findings.json``."""
        def est(e: Estimate | None) -> dict | None:
            return None if e is None else {k: _finite(v) for k, v in e.as_dict().items()}
        return {"outcome": self.outcome, "label": self.label, "design": self.design,
                "design_label": self.design_label, "estimate": est(self.estimate),
                "standardised": est(self.standardised), "standardisation": self.standardisation,
                "direction": self.direction, "significant": self.significant, "verdict": self.verdict,
                "sms": self.sms, "n": self.n, "n_needed": _finite(self.n_needed),
                "minimum_worthwhile": self.minimum_worthwhile, "category": self.category,
                "category_label": self.category_label, "category_meaning": self.category_meaning,
                "rule": self.rule, "sentence": self.sentence, "per_100": self.per_100, "reason": self.reason,
                "finding": self.finding}


def _finite(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


@dataclass(frozen=True)
class SubgroupResult(ResultMixin):
    """The primary outcome by one subgroup variable, or why it is not shown."""

    variable: str
    outcome: str
    design_label: str
    rows: tuple[dict, ...] = ()
    suppressed_reason: str = ""
    interaction_p: float | None = None  # test that the effect differs between the groups (Cochran's Q)

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"{self.outcome} by {self.variable.replace('_', ' ')}"

    def _rows(self) -> list[dict]:
        return [dict(r) for r in self.rows]


@dataclass(frozen=True)
class InterventionAnalysis(ResultMixin):
    """Everything one intervention's report shows (aggregates only; counts not yet disclosure-controlled)."""

    intervention_id: str
    intervention_title: str
    outcomes: tuple[OutcomeResult, ...]
    attrition: tuple[tuple[str, int], ...]
    profile: pd.DataFrame | None
    balance: tuple[tuple[str, Any], ...]
    subgroups: tuple[SubgroupResult, ...]
    sensitivity: tuple[tuple[str, str], ...]
    limitations: tuple[str, ...]
    primary: PrimaryResult | None
    notes: tuple[str, ...] = ()
    value: Any = None  # evalkit.value: ValueForMoney, AreaValue or NotMonetised (aggregates only)

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"Analysis of {self.intervention_id}: {self.intervention_title}"

    def _rows(self) -> list[dict]:
        return [r for o in self.outcomes for r in o._rows()]

    def outcome_results(self, design: str | None = None) -> list[OutcomeResult]:
        return [o for o in self.outcomes if design is None or o.design == design]

    def _repr_html_(self) -> str:
        table = self.to_frame().to_html(index=False)
        return f"<div class='evalkit-result'><h4>{html.escape(self.intervention_title)}</h4>{table}</div>"


__all__ = ["OutcomeResult", "PrimaryResult", "SubgroupResult", "InterventionAnalysis"]
