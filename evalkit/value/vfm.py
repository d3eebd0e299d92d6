"""Value for money of one intervention, with uncertainty by simulation.

:func:`value_for_money` takes an offending effect estimate (a per-person
difference in proven offences, or a reoffending risk difference), the offence
mix it is shared over, the unit-cost table and the cost per participant, and
returns an immutable :class:`ValueForMoney`: offences averted, benefit,
benefit-cost ratio and net benefit per participant, each with an interval, the
chance the intervention pays for itself, and the break-even effect.

Uncertainty: ``draws`` joint draws, with fixed seeds, of

* the effect, from the estimate's sampling distribution (normal with the
  estimate's standard error; Student t when it carries degrees of freedom);
* the offence mix (when ``mix_counts`` is given): Dirichlet with the comparison
  group's (weighted) offence counts by group as its parameters -- the posterior
  of multinomial shares under the Haldane prior, whose mean is the observed mix;
* offences per reoffender (a reoffending-rate effect with
  ``offences_per_reoffender_se``): normal with that standard error, floored at 1
  (a reoffender has at least one offence);

pushed through the arithmetic of :mod:`evalkit.value.arithmetic`; intervals are
the draws' quantiles at the estimate's confidence level. The three sources are
drawn from independent streams, so the effect's draws do not change when the
other sources are added. The unit costs themselves are treated as known (the
Home Office publishes no intervals for them), which the report says.

Price year: the unit costs are moved to ``price_year`` (the spending year) with
a GDP deflator series (:func:`evalkit.value.costs.load_gdp_deflator` by
default).

Optimism bias (HM Treasury Green Book): the cost is taken as given in the
estimate; :meth:`ValueForMoney.optimism_line` shows the sensitivity line -- the
ratio with the cost uplifted by ``optimism_bias`` where one is given, and always
the *switching value*, the cost overrun at which the ratio falls to 1.

An effect whose interval includes no change is *inconclusive*: its value is a
range, never a point (:meth:`ValueForMoney.line`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal
from collections.abc import Mapping

import numpy as np

from evalkit.errors import SpecError
from evalkit.labels import MINUS
from evalkit.results import Estimate, ResultMixin
from evalkit.value import arithmetic as ar
from evalkit.value.costs import UnitCostTable, inflate

Kind = Literal["count", "rate"]


@dataclass(frozen=True)
class Range:
    """A point with its interval."""

    point: float
    low: float
    high: float


@dataclass(frozen=True)
class ValueForMoney(ResultMixin):
    """Value for money of one intervention (aggregates only; pounds per participant unless stated)."""

    outcome: str
    label: str
    kind: Kind
    n: int
    effect: Range
    conclusive: bool
    beneficial: bool
    cost_per_participant: float
    business_as_usual: float
    cost_of_offence: float
    uncosted_share: float
    unverified_share: float
    offences_averted: Range
    benefit: Range
    bcr: Range
    net_benefit: Range
    prob_pays: float
    break_even: float
    price_year: str
    level: float
    horizon_years: float
    persistence: float
    discount_rate: float
    window_months: float
    offences_per_reoffender: float | None = None
    draws: int = 10_000
    seed: int = 0
    source: str = ""
    notes: tuple[str, ...] = field(default=())
    mix_uncertainty: bool = False
    offences_per_reoffender_se: float | None = None
    optimism_bias: float = 0.0
    bcr_optimism: Range | None = None
    deflated_from: str | None = None
    deflator_source: str = ""
    title: str = "Value for money"

    @property
    def switching_overrun(self) -> float:
        """The cost overrun (a share of the cost) at which the point benefit-cost ratio falls to 1: ``BCR - 1``."""
        return float(self.bcr.point - 1.0)

    def optimism_line(self) -> str:
        """The Green Book sensitivity line on the cost: the switching value, and the ratio with optimism bias."""
        b = self.bcr
        if not (math.isfinite(b.point) and math.isfinite(b.low) and math.isfinite(b.high)):
            return "No cost sensitivity can be shown: the cost per young person is not known."
        parts = []
        if self.optimism_bias > 0 and self.bcr_optimism is not None:
            o = self.bcr_optimism
            rng = f"{_pounds_per_pound(o.low)} to {_pounds_per_pound(o.high)}"
            head = f"{_pounds_per_pound(o.point)} per £1 ({rng})" if self.conclusive else f"{rng} per £1"
            parts.append(f"Allowing for optimism bias (costs {100 * self.optimism_bias:.0f}% higher than "
                         f"estimated, HM Treasury Green Book), each £1 spent would have avoided {head}.")
        if not self.conclusive or not self.beneficial:
            parts.append("No switching value is given: the effect on offending is not a clear reduction.")
        elif self.switching_overrun > 0:
            parts.append(f"Costs could be {100 * self.switching_overrun:.0f}% higher than estimated before the "
                         "crime costs avoided fell below the cost (the switching value).")
        else:
            parts.append("Even at the estimated cost, the crime costs avoided are below the cost.")
        return " ".join(parts)

    @property
    def incremental_cost(self) -> float:
        return ar.incremental_cost(self.cost_per_participant, self.business_as_usual)

    def line(self) -> str:
        """The value line for a report, in plain English (a range, never a point, when inconclusive)."""
        pct = f"{round(100 * self.level)}%"
        b = self.bcr
        if not math.isfinite(b.low) or not math.isfinite(b.high):
            return "Value for money cannot be worked out: the cost per young person is not known."
        if not self.conclusive:
            # no negative amount "avoided": below zero the range reaches a rise in offending (the board's words)
            span = (f"returned at most {_pounds_per_pound(b.high)} of crime costs avoided ({pct} range), and "
                    "offending may even have risen" if b.low < 0 else
                    f"returned between {_pounds_per_pound(b.low)} and {_pounds_per_pound(b.high)} of crime costs "
                    f"avoided ({pct} range)")
            return (f"Value for money is uncertain: each £1 spent {span}, so "
                    f"we cannot say whether it paid for itself. It pays for itself if it prevents at least "
                    f"{_offences(-self.break_even, self.window_months)} per young person.")
        if self.beneficial:
            return (f"Each £1 spent avoided about {_pounds_per_pound(b.point)} of crime costs to victims and "
                    f"public services ({pct} range {_pounds_per_pound(b.low)} to {_pounds_per_pound(b.high)}); "
                    f"net benefit about {_money(self.net_benefit.point)} per young person "
                    f"({_money(self.net_benefit.low)} to {_money(self.net_benefit.high)}). Chance it paid for "
                    f"itself: {round(100 * self.prob_pays)}%.")
        return (f"Offending rose, so crime costs went up by about {_money(-self.benefit.point)} per young "
                f"person ({pct} range {_money(-self.benefit.high)} to {_money(-self.benefit.low)}) on top of "
                f"the {_money(self.incremental_cost)} it cost.")

    def short(self) -> str:
        """A table cell: crime costs avoided per £1 spent (a range only, when inconclusive)."""
        b = self.bcr
        if not math.isfinite(b.low) or not math.isfinite(b.high):
            return "–"
        rng = f"{_pounds_per_pound(b.low)} to {_pounds_per_pound(b.high)}"
        if not self.conclusive:
            return f"{rng} per £1 (uncertain)"
        if not self.beneficial:
            return f"offending rose: {_pounds_per_pound(b.point)} per £1 ({rng})"
        return f"{_pounds_per_pound(b.point)} per £1 ({rng})"

    def assumptions(self) -> str:
        """How the value was worked out, in one paragraph."""
        hz = ("only the follow-up year that was measured" if self.horizon_years == 1
              else f"{self.horizon_years:g} years, keeping {100 * self.persistence:.0f}% of the effect each year "
                   f"and discounting at {100 * self.discount_rate:.1f}% a year (Green Book)")
        prices = (f"{self.price_year} prices, uplifted from {self.deflated_from} with the GDP deflator"
                  if self.deflated_from else f"{self.price_year} prices")
        sources = ["the effect's uncertainty"]
        if self.mix_uncertainty:
            sources.append("the sampling error of the comparison group's offence mix")
        if self.offences_per_reoffender_se is not None and self.kind == "rate":
            sources.append("of its offences per person who reoffended")
        text = (f"Offences averted are costed at {_money(self.cost_of_offence)} each (the average Home Office unit "
                f"cost over the offences the comparison group committed, {prices}); "
                f"{100 * self.uncosted_share:.0f}% of those offences have no published unit cost and count as £0, "
                f"so the benefit is an under-estimate. Horizon: {hz}. The range comes from "
                f"{', '.join(sources[:-1]) + ' and ' + sources[-1] if len(sources) > 1 else sources[0]} "
                f"({self.draws:,} simulations, seed {self.seed}); unit costs are taken as known.")
        if self.kind == "rate" and self.offences_per_reoffender:
            text += (f" The reoffending rate is turned into offences with the comparison group's "
                     f"{self.offences_per_reoffender:.2f} proven offences per person who reoffended.")
        if self.business_as_usual:
            text += f" Cost is over business as usual ({_money(self.business_as_usual)} per young person)."
        for note in self.notes:
            text += f" {note[:1].upper()}{note[1:]}."
        if self.unverified_share > 0:
            text += (f" {100 * self.unverified_share:.0f}% of the costed offences use a unit cost not yet "
                     "checked against a second copy of the source.")
        return text

    def _rows(self) -> list[dict]:
        rows = []
        for name, r in (("offences averted per person", self.offences_averted), ("benefit per person (£)",
                        self.benefit), ("benefit-cost ratio", self.bcr), ("net benefit per person (£)",
                        self.net_benefit)):
            rows.append({"measure": name, "estimate": r.point if self.conclusive else math.nan, "low": r.low,
                         "high": r.high})
        rows.append({"measure": "break-even effect (offences per person)", "estimate": self.break_even,
                     "low": math.nan, "high": math.nan})
        return rows

    def as_json(self) -> dict:
        """JSON-safe aggregates; the point values are left out when the effect is inconclusive."""
        def rng(r: Range) -> dict:
            return {"point": _finite(r.point) if self.conclusive else None, "low": _finite(r.low),
                    "high": _finite(r.high)}
        return {"outcome": self.outcome, "kind": self.kind, "conclusive": self.conclusive,
                "beneficial": self.beneficial, "cost_per_participant": _finite(self.cost_per_participant),
                "business_as_usual": self.business_as_usual, "cost_of_offence": _finite(self.cost_of_offence),
                "uncosted_share": _finite(self.uncosted_share), "offences_averted": rng(self.offences_averted),
                "benefit": rng(self.benefit), "bcr": rng(self.bcr), "net_benefit": rng(self.net_benefit),
                "prob_pays": _finite(self.prob_pays), "break_even": _finite(self.break_even),
                "price_year": self.price_year, "level": self.level, "line": self.line(), "short": self.short()}


def _finite(v: float) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


#: A true minus sign before a negative amount ("−£448"), as in the reports' other numbers.


def _money(v: float) -> str:
    return f"{MINUS}£{-v:,.0f}" if v < 0 else f"£{v:,.0f}"


def _pounds_per_pound(v: float) -> str:
    return f"{MINUS}£{-v:.2f}" if v < 0 else f"£{v:.2f}"


def _offences(v: float, window_months: float) -> str:
    return f"{v:.2f} proven offences in {window_months:g} months"


def simulate_effects(estimate: Estimate, *, draws: int, seed: int) -> np.ndarray:
    """``draws`` effects from the estimate's sampling distribution (normal; t with the estimate's df)."""
    if not (math.isfinite(estimate.se) and estimate.se >= 0):
        raise SpecError(f"estimate '{estimate.name}' has no usable standard error ({estimate.se}).")
    rng = np.random.default_rng(seed)
    z = rng.standard_t(estimate.df, size=draws) if estimate.df else rng.standard_normal(draws)
    return estimate.estimate + estimate.se * z


def value_for_money(estimate: Estimate, *, kind: Kind, mix: Mapping[str, float], table: UnitCostTable,
                    cost_per_participant: float, n: int, outcome: str = "", label: str = "",
                    offences_per_reoffender: float | None = None, business_as_usual: float = 0.0,
                    window_months: float = 12.0, horizon_years: float = 1.0, persistence: float = 1.0,
                    discount_rate: float = ar.GREEN_BOOK_DISCOUNT_RATE, level: float | None = None,
                    price_year: str | None = None, deflator: Mapping[str, float] | None = None,
                    not_costed: tuple[str, ...] = (), draws: int = 10_000, seed: int = 2021,
                    mix_counts: Mapping[str, float] | None = None, offences_per_reoffender_se: float | None = None,
                    optimism_bias: float = 0.0, deflator_source: str = "") -> ValueForMoney:
    """Value for money from an offending effect (see the module docstring).

    Parameters
    ----------
    estimate
        Participants minus comparison: proven offences per person in the window (``kind="count"``) or the
        reoffending risk difference as a proportion (``kind="rate"``, needs ``offences_per_reoffender``).
    mix
        Offence group -> share of the comparison group's offences (:func:`evalkit.value.offence_group_mix`).
    table
        Unit costs (:func:`evalkit.value.load_unit_costs`).
    cost_per_participant
        The intervention's cost per young person (pounds, at ``price_year`` prices).
    n
        Participants the estimate is about.
    price_year, deflator
        Express unit costs at ``price_year`` prices with the deflator series (default: the table's own year).
    not_costed
        Offence groups counted as £0 whatever the table says (e.g. homicide: one homicide in a small comparison
        group would set the average cost of an offence on its own).
    level
        Interval level (default: the estimate's ``level`` if it has one, else 0.95).
    mix_counts
        The comparison group's (weighted) offences by group (``OffenceMix.counts``): the mix is then drawn from
        a Dirichlet with these parameters in each simulation (None: the mix is taken as known).
    offences_per_reoffender_se
        Standard error of ``offences_per_reoffender`` (``OffenceMix.offences_per_reoffender_se``): drawn in
        each simulation for a rate effect (None: taken as known).
    optimism_bias
        Green Book optimism bias as a share of the cost (e.g. 0.25): the ratio is also given with the cost
        uplifted by it (:meth:`ValueForMoney.optimism_line`); 0 shows only the switching value.
    deflator_source
        Where the deflator series comes from, for the report.
    """
    if optimism_bias < 0:
        raise SpecError(f"optimism_bias must be 0 or more (got {optimism_bias}).")
    if mix_counts is not None:
        bad = [g for g in mix if not (mix_counts.get(g, 0) > 0)]
        if bad:
            raise SpecError(f"mix_counts must give a positive count for every offence group in the mix "
                            f"(missing or zero: {', '.join(bad)}).")
    if offences_per_reoffender_se is not None and not offences_per_reoffender_se >= 0:
        raise SpecError(f"offences_per_reoffender_se must be 0 or more (got {offences_per_reoffender_se}).")
    if kind == "rate" and not offences_per_reoffender:
        raise SpecError("a reoffending-rate effect needs offences_per_reoffender to be costed.")
    (base_year,) = table.price_years or {""}
    year = price_year or base_year
    unit: dict[str, float | None] = {}
    for group in mix:
        uc = table.cost_of_group(group)
        if uc is None or group in not_costed:
            unit[group] = None
        else:
            unit[group] = uc.value if year == base_year else inflate(uc.value, base_year, year, deflator or {})
    c_off = ar.cost_per_offence(mix, unit)
    costed = {g: s for g, s in mix.items() if unit[g] is not None}
    excluded = sorted(g for g in not_costed if mix.get(g, 0) > 0)
    costed_total = sum(costed.values())
    unverified = sum(s for g, s in costed.items() if not table.cost_of_group(g).is_verified)  # type: ignore[union-attr]
    lvl = level if level is not None else float(getattr(estimate, "level", None) or 0.95)
    horizon = dict(window_months=window_months, horizon_years=horizon_years, persistence=persistence,
                   discount_rate=discount_rate)
    to_count = (lambda e: ar.count_effect_from_rate(e, offences_per_reoffender)) if kind == "rate" else (lambda e: e)
    cost = ar.incremental_cost(cost_per_participant, business_as_usual)

    def through(effect, c=c_off, to=to_count):
        averted = ar.offences_averted_per_person(to(effect), **horizon)
        benefit = ar.benefit_per_person(averted, c)
        return averted, benefit

    e_draws = simulate_effects(estimate, draws=draws, seed=seed)
    c_draws: float | np.ndarray = c_off
    if mix_counts is not None:
        groups = list(mix)
        alpha = np.array([float(mix_counts[g]) for g in groups])
        unit_vec = np.array([unit[g] or 0.0 for g in groups])
        shares = np.random.default_rng([seed, 1]).dirichlet(alpha, size=draws)  # its own stream (see docstring)
        c_draws = shares @ unit_vec
    to_draws = to_count
    if kind == "rate" and offences_per_reoffender_se:
        opr = np.random.default_rng([seed, 2]).normal(offences_per_reoffender, offences_per_reoffender_se, draws)
        opr = np.maximum(opr, 1.0)
        to_draws = lambda e: e * opr  # noqa: E731 - the rate-to-count conversion with drawn offences per reoffender
    a_draws, b_draws = through(e_draws, c_draws, to_draws)
    bcr_draws = ar.benefit_cost_ratio(b_draws, cost) if cost > 0 else np.full(draws, math.nan)
    nb_draws = ar.net_benefit(b_draws, cost)
    q = [(1 - lvl) / 2, (1 + lvl) / 2]

    def summarise(point: float, sims: np.ndarray) -> Range:
        if not np.all(np.isfinite(sims)):
            return Range(point, math.nan, math.nan)
        lo, hi = np.quantile(sims, q)
        return Range(float(point), float(lo), float(hi))

    a_pt, b_pt = through(estimate.estimate)
    conclusive = not (estimate.ci_low <= 0.0 <= estimate.ci_high)
    be = ar.break_even_effect(cost, c_off, **horizon)
    if kind == "rate":
        be = be / offences_per_reoffender  # type: ignore[operator]
    bcr_ob: Range | None = None
    if optimism_bias > 0 and cost > 0:
        cost_ob = cost * (1 + optimism_bias)
        bcr_ob = summarise(ar.benefit_cost_ratio(b_pt, cost_ob), ar.benefit_cost_ratio(b_draws, cost_ob))
    notes = []
    if excluded:
        notes.append("not costed by the protocol's value settings: " + ", ".join(g.replace("_", " ") for g in excluded))
    if cost <= 0:
        notes.append("the cost over business as usual is not positive, so no ratio is given")
    return ValueForMoney(
        outcome=outcome or estimate.name, label=label or outcome or estimate.name, kind=kind, n=int(n),
        effect=Range(estimate.estimate, estimate.ci_low, estimate.ci_high), conclusive=conclusive,
        beneficial=estimate.estimate < 0, cost_per_participant=float(cost_per_participant),
        business_as_usual=float(business_as_usual), cost_of_offence=c_off,
        uncosted_share=ar.uncosted_share(mix, unit),
        unverified_share=unverified / costed_total if costed_total > 0 else 0.0,
        offences_averted=summarise(a_pt, a_draws), benefit=summarise(b_pt, b_draws),
        bcr=summarise(ar.benefit_cost_ratio(b_pt, cost), bcr_draws),
        net_benefit=summarise(ar.net_benefit(b_pt, cost), nb_draws),
        prob_pays=float(np.mean(nb_draws > 0)), break_even=be, price_year=year, level=lvl,
        horizon_years=horizon_years, persistence=persistence, discount_rate=discount_rate,
        window_months=window_months, offences_per_reoffender=offences_per_reoffender, draws=draws, seed=seed,
        source=table.citation(), notes=tuple(notes), mix_uncertainty=mix_counts is not None,
        offences_per_reoffender_se=offences_per_reoffender_se, optimism_bias=float(optimism_bias),
        bcr_optimism=bcr_ob, deflated_from=None if year == base_year else base_year,
        deflator_source=deflator_source)


def break_even_for(cost_per_participant: float, *, mix: Mapping[str, float], table: UnitCostTable,
                   kind: Kind = "count", offences_per_reoffender: float | None = None,
                   business_as_usual: float = 0.0, window_months: float = 12.0, horizon_years: float = 1.0,
                   persistence: float = 1.0, discount_rate: float = ar.GREEN_BOOK_DISCOUNT_RATE) -> float:
    """The break-even effect on the outcome's own scale: a money-based minimum worthwhile effect.

    Offences per person in the window (``kind="count"``) or a reoffending risk difference (``"rate"``); negative
    (a reduction). The commissioning rules can use its size as the minimum worthwhile effect.
    """
    unit = {g: (None if (uc := table.cost_of_group(g)) is None else uc.value) for g in mix}
    c_off = ar.cost_per_offence(mix, unit)
    cost = ar.incremental_cost(cost_per_participant, business_as_usual)
    horizon = dict(window_months=window_months, horizon_years=horizon_years, persistence=persistence,
                   discount_rate=discount_rate)
    if kind == "rate":
        if not offences_per_reoffender:
            raise SpecError("a reoffending-rate break-even needs offences_per_reoffender.")
        return ar.break_even_rate(cost, c_off, offences_per_reoffender, **horizon)
    return ar.break_even_effect(cost, c_off, **horizon)


__all__ = ["Range", "ValueForMoney", "simulate_effects", "value_for_money", "break_even_for"]
