"""Result objects of the per-intervention analysis (aggregates only).

:class:`OutcomeResult` is one outcome analysed by one design, or the reason it
could not be, with the design-specific aggregates a report reads in
:class:`OutcomeDetails`; :class:`PrimaryResult` is the intervention's primary finding on a
standardised scale with its commissioning category; :class:`SubgroupResult`
one subgroup variable; :class:`InterventionAnalysis` everything a report needs.
All are frozen and hold aggregates only: design results are kept as their own
(aggregate) result objects, never frames of people.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from evalkit.results import Estimate, ResultMixin

if TYPE_CHECKING:  # only for the annotations: importing them here would pull every design in
    from evalkit.designs.area.its import ITSResult
    from evalkit.designs.matching.benchmark import CovariateBenchmark
    from evalkit.designs.matching.sensitivity import EValueResult, RosenbaumResult


@dataclass(frozen=True)
class IntentionToTreat(ResultMixin):
    """Intention to treat from referral for one matched outcome, with the per-protocol estimate beside it.

    ``estimate`` and ``per_protocol`` are on the outcome's natural scale (a risk difference as a proportion,
    or a difference in offences per person); ``cace`` is Bloom's adjustment (``estimate`` / share started).
    ``n_referred`` counts the intention-to-treat population, ``n_not_started`` those in it who never started,
    ``n_matched`` those with complete follow-up matched to a comparison.
    """

    outcome: str
    label: str
    kind: str
    estimate: Estimate
    per_protocol: Estimate
    cace: Estimate | None
    n_referred: int
    n_not_started: int
    n_matched: int
    n_comparison: int
    share_started: float
    share_started_low: float
    share_started_high: float
    higher_is_better: bool = False
    title: str = "Intention to treat from referral"

    @property
    def n_started(self) -> int:
        return self.n_referred - self.n_not_started

    def _rows(self) -> list[dict]:
        rows = []
        for what, e in (("per protocol (started)", self.per_protocol), ("intention to treat (referred)", self.estimate),
                        ("effect on those who started (Bloom)", self.cace)):
            if e is not None:
                rows.append({"analysis": what, "scale": e.scale, "estimate": e.estimate, "ci_low": e.ci_low,
                             "ci_high": e.ci_high, "p_value": e.p_value})
        return rows

    def _notes(self) -> list[str]:
        return [f"{self.n_referred} referred, {self.n_not_started} never started (share started "
                f"{self.share_started:.2f}); {self.n_matched} matched with complete follow-up"]


@dataclass(frozen=True)
class Placebo:
    """A negative-control outcome: the same matched comparison on offending the programme cannot have changed.

    ``estimate`` is the difference (participants minus their matched comparison group, a proportion) in the
    share with a proven offence committed ``months_from`` to ``months_to`` months before the index date (and
    proven by it), a window matching did not use (it matched on the 24 months before). Any difference there
    is selection, not effect. ``failed`` when the interval excludes no difference on the side that could
    explain the finding it guards (participants offended less before, for a benefit; more, for a harm);
    ``direction`` is that side ("beneficial", "harmful" or "none" when the finding has no direction).
    """

    estimate: Estimate
    n: int
    n_comparison: int
    months_from: int
    months_to: int
    share_participants: float
    failed: bool
    direction: str = "none"
    title: str = "Placebo outcome: offending before the programme"

    def _rows(self) -> list[dict]:
        e = self.estimate
        return [{"window": f"{self.months_from}-{self.months_to} months before the index date",
                 "estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high, "p_value": e.p_value,
                 "failed": self.failed}]


@dataclass(frozen=True)
class CohortResult:
    """The primary result in one of the protocol's cohorts (the same design and outcome, that cohort's starts).

    ``agrees``: significant (unadjusted, at the protocol's alpha, with at least its minimum sample) in the
    same direction as the result over all cohorts together.
    """

    name: str
    n: int
    estimate: Estimate | None
    direction: str
    significant: bool
    agrees: bool
    reason: str = ""

    def as_json(self) -> dict:
        e = self.estimate
        return {"name": self.name, "n": self.n, "direction": self.direction, "significant": self.significant,
                "agrees": self.agrees, "reason": self.reason,
                "estimate": None if e is None else {k: _finite(v) for k, v in e.as_dict().items()}}


@dataclass(frozen=True)
class Rates:
    """A matched yes/no outcome's rates: the participants' and their estimated rate had they not taken part.

    Proportions (0..1). ``counterfactual`` is the participants' rate minus the risk difference, so it can fall
    slightly outside 0..1; the per-100 wording clips it.
    """

    participants: float
    counterfactual: float


@dataclass(frozen=True)
class AttritionBounds:
    """Worst- and best-case mean change when many young people with a start score have no end score.

    Horowitz–Manski bounds (:func:`evalkit.analysis.designs.attrition_bounds`): counting everyone with a start
    score (``n_baseline``, of whom ``n_lost`` have no end score, ``share_lost`` of them), the mean change with
    every missing change set to the smallest (``low``) or largest (``high``) change observed, or to zero
    (``no_change``); ``completers`` is the mean change of those measured twice. Points of the instrument.
    """

    n_baseline: int
    n_lost: int
    share_lost: float
    low: float
    high: float
    no_change: float
    completers: float


@dataclass(frozen=True)
class OutcomeDetails:
    """What one design adds to an :class:`OutcomeResult` beyond the common fields (aggregates only).

    Every field is optional: each design fills those that apply and leaves the rest at their defaults (None,
    False or empty), so a reader asks ``details.rates is not None`` rather than whether a key exists. New
    values come with :func:`dataclasses.replace`; the object itself is frozen.
    """

    #: The estimate is a share and reads in percentage points (x100): before/after yes/no statuses, and a DiD of
    #: the share with a proven offence.
    percent: bool = False
    #: The before/after outcome is yes/no (a status such as education, training or employment): no mean-score
    #: figure.
    binary: bool = False
    #: Matched yes/no reoffending: the participants' rate and their estimated rate without the intervention.
    rates: Rates | None = None
    #: Young people (pairs before and after; per group when matched) needed to detect the minimum worthwhile
    #: standardised effect with 80% power (inf when no number would do); None when not computed, which readers
    #: take as infinitely many.
    minimum_worthwhile_n: float | None = None
    #: Matched designs: the E-value of the risk or rate ratio (VanderWeele & Ding 2017), when it could be computed.
    e_value: EValueResult | None = None
    #: Matched yes/no outcomes without replacement: Rosenbaum bounds (sensitivity to hidden bias).
    rosenbaum: RosenbaumResult | None = None
    #: Individual-level comparison designs (matched, DiD): the placebo (negative-control) outcome on the same
    #: matched comparison, when the offences reach back far enough.
    placebo: Placebo | None = None
    #: Why the placebo could not run (None when it ran or does not apply).
    placebo_reason: str | None = None
    #: Matched designs: how strong the strongest measured covariate (any prior proven offence) is, in E-value
    #: and Γ units; the hidden-bias checks compare the result with it.
    benchmark: CovariateBenchmark | None = None
    #: Before/after of a score: the raw mean change, before any regression-to-the-mean correction.
    raw_change: Estimate | None = None
    #: The change expected from regression to the mean alone (points), when the headline is corrected for it.
    rtm_expected: float | None = None
    #: The before-after regression slope behind that correction (Mee & Chua 1991).
    rtm_slope: float | None = None
    #: The population mean the correction regresses towards (only when it was applied).
    rtm_population_mean: float | None = None
    #: Where that mean came from, in words (only when the correction was applied).
    rtm_population_source: str | None = None
    #: Worst/best-case bounds when more than 20% of those with a start score have no end score.
    attrition_bounds: AttritionBounds | None = None
    #: Area trend with an interruption date: the interrupted time series (monthly area aggregates), when fitted.
    its: ITSResult | None = None
    #: Matched designs with referrals that never started: the intention-to-treat result from referral.
    itt: IntentionToTreat | None = None
    #: Why that intention-to-treat analysis could not run (None when it ran or did not apply).
    itt_reason: str | None = None
    #: Engagement: young people by sessions attended, as (band, count) pairs (on the design's first outcome only;
    #: counts not yet disclosure-controlled).
    dose_bands: tuple[tuple[str, int], ...] = ()
    #: Engagement: what completing means for this intervention, in words.
    completion_rule: str | None = None
    #: Engagement: sessions attended in all.
    sessions_total: int | None = None
    #: Matched time to reoffending: the verdict on the hazard ratio (the estimate is a ratio, judged against 1).
    verdict: str | None = None


@dataclass(frozen=True)
class OutcomeResult(ResultMixin):
    """One outcome analysed by one design.

    ``estimate`` is on the outcome's natural scale (``scale`` says which;
    proportions for risk differences); ``higher_is_better`` refers to it.
    ``standardised`` is the portfolio scale (positive = better for young
    people) and ``standardisation`` says how it was made. When the design
    could not run, ``estimate`` is None and ``reason`` says why.

    ``n`` is the young people (for area designs, the events) the estimate
    rests on; ``n_comparison`` the comparison group's young people, or None
    when the design has no comparison group of people (before and after,
    engagement, area designs) or could not run. ``details`` holds what only
    some designs give (:class:`OutcomeDetails`); ``result`` is the design's
    own (aggregate) result object.
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
    n_comparison: int | None = None
    sms: int = 1
    evidence: str = ""
    sentence: str = ""
    per_100: str | None = None
    standardised: Estimate | None = None
    standardisation: str = ""
    n_needed_seen: float | None = None
    result: Any = field(default=None, repr=False)
    details: OutcomeDetails = field(default_factory=OutcomeDetails, repr=False)
    reason: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.estimate is not None

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"{self.label or self.outcome}: {self.design_label}"

    def _rows(self) -> list[dict]:
        e = self.estimate
        if e is None:  # not ok
            return [{"outcome": self.label, "design": self.design_label, "estimate": math.nan,
                     "note": f"could not be estimated: {self.reason}"}]
        row: dict[str, Any] = {"outcome": self.label, "design": self.design_label, "scale": e.scale, "estimate": e.estimate,
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
    #: The rule that decided the category: its position in the rules file (1-based) and its conditions.
    rule_index: int = 0
    rule_conditions: tuple[tuple[str, Any], ...] = ()
    #: The primary result in each of the protocol's cohorts (replication), when it names two or more.
    cohorts: tuple[CohortResult, ...] = ()
    title: str = "Primary finding"
    checks: tuple = ()  # evalkit.analysis.reasons.Check: the hidden-bias checks with their numbers

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
                "finding": self.finding, "checks": [c.as_json() for c in self.checks], "rule_index": self.rule_index,
                "rule_conditions": dict(self.rule_conditions),
                "cohorts": [c.as_json() for c in self.cohorts]}


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


__all__ = ["OutcomeResult", "OutcomeDetails", "Rates", "Placebo", "CohortResult", "AttritionBounds", "IntentionToTreat", "PrimaryResult", "SubgroupResult",
           "InterventionAnalysis"]
