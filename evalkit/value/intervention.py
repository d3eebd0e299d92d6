"""Value for money of one protocol's analysis: which outcome is costed, with what mix and cost.

:func:`intervention_value` is called by the runner once the designs have run. It
returns a :class:`~evalkit.value.vfm.ValueForMoney` for a participant-level
offending effect, an :class:`AreaValue` for an area programme (offences
prevented, cost per offence prevented and per resident), or a
:class:`NotMonetised` saying why there is no value line (e.g. a wellbeing
outcome, which has no agreed money value). Aggregates only.

Which outcome: the protocol's ``value.outcome`` if it names one; otherwise the
first matched-design reoffending-frequency outcome that was estimated (a count
is costed directly), else the first matched reoffending-rate outcome (turned
into offences with the comparison group's offences per reoffender).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from evalkit.errors import EvalkitError
from evalkit.results import ResultMixin
from evalkit.value.costs import GDP_DEFLATOR_SOURCE, load_gdp_deflator, load_unit_costs, read_deflator
from evalkit.value.mix import offence_group_mix
from evalkit.value.vfm import Range, value_for_money


@dataclass(frozen=True)
class NotMonetised(ResultMixin):
    """Why an intervention has no value-for-money estimate."""

    reason: str
    cost_per_participant: float | None = None
    title: str = "Value for money"

    def line(self) -> str:
        cost = (f" It cost about £{self.cost_per_participant:,.0f} per young person."
                if self.cost_per_participant else "")
        return f"Value for money is not estimated: {self.reason}.{cost}"

    def short(self) -> str:
        return "not monetised"

    def _rows(self) -> list[dict]:
        return [{"measure": "value for money", "note": self.reason}]

    def as_json(self) -> dict:
        return {"kind": "not_monetised", "reason": self.reason, "line": self.line(), "short": self.short(),
                "cost_per_participant": self.cost_per_participant}


@dataclass(frozen=True)
class AreaValue(ResultMixin):
    """An area programme's offences prevented, cost per offence prevented and cost per resident."""

    indicator: str
    label: str
    annual_cost: float
    residents: float
    prevented: Range
    conclusive: bool
    level: float
    title: str = "Value for money (area programme)"

    @property
    def cost_per_resident(self) -> float:
        return self.annual_cost / self.residents if self.residents else math.nan

    def _per_offence(self, prevented: float) -> str:
        return f"£{self.annual_cost / prevented:,.0f}" if prevented > 0 else "no offence prevented"

    def line(self) -> str:
        pct = f"{round(100 * self.level)}%"
        r = self.prevented
        resident = f"It cost £{self.cost_per_resident:,.2f} per resident."
        if not self.conclusive:
            return (f"{resident} We cannot say how many offences it prevented ({_lower_first(self.label)}): "
                    f"{_span(r.low, r.high)} a year ({pct} range).")
        if r.point <= 0:
            return (f"{resident} {self.label} rose: about {_count(-r.point)} more offences than expected "
                    f"({pct} range {_count(-r.high)} to {_count(-r.low)}).")
        return (f"{resident} About {_count(r.point)} offences prevented ({_lower_first(self.label)}; {pct} range "
                f"{_count(r.low)} to {_count(r.high)}): {self._per_offence(r.point)} per offence prevented "
                f"({self._per_offence(r.high)} to {self._per_offence(r.low)}).")

    def short(self) -> str:
        r = self.prevented
        resident = f"£{self.cost_per_resident:,.2f} per resident"
        if not self.conclusive:
            return f"{resident}; offences prevented uncertain ({_count(r.low)} to {_count(r.high)} a year)"
        if r.point <= 0:
            return f"{resident}; offences rose"
        return f"{resident}; {self._per_offence(r.point)} per offence prevented"

    def _rows(self) -> list[dict]:
        return [{"measure": "offences prevented", "estimate": self.prevented.point if self.conclusive else math.nan,
                 "low": self.prevented.low, "high": self.prevented.high},
                {"measure": "cost per resident (£)", "estimate": self.cost_per_resident}]

    def as_json(self) -> dict:
        r = self.prevented
        return {"kind": "area", "indicator": self.indicator, "conclusive": self.conclusive,
                "prevented": {"point": r.point if self.conclusive else None, "low": r.low, "high": r.high},
                "cost_per_resident": self.cost_per_resident, "line": self.line(), "short": self.short()}


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _span(low: float, high: float) -> str:
    """'from 2 more offences to 165 fewer' (never a negative number of offences prevented)."""
    def words(v: float) -> str:
        return f"{abs(v):,.0f} {'more' if v < 0 else 'fewer'} offences" if round(v) != 0 else "no change"
    return f"anywhere from {words(low)} to {words(high)}"


def _count(v: float) -> str:
    """'165', or '−2' with a true minus sign (a negative number of offences prevented: a rise)."""
    return f"\u2212{-v:,.0f}" if round(v) < 0 else f"{abs(v) if round(v) == 0 else v:,.0f}"


def annual_cost(protocol: Any, tables: dict) -> float | None:
    """The protocol's annual cost, or the interventions table's."""
    if protocol.costs.source == "protocol":
        return protocol.costs.annual_cost
    inter = tables.get("interventions")
    if inter is None or "annual_cost" not in inter:
        return None
    rows = inter.loc[inter["intervention_id"] == protocol.intervention_id, "annual_cost"].dropna()
    return float(rows.iloc[0]) if len(rows) else None


def financial_year(day: Any) -> str | None:
    """The UK financial year (April to March) of a date, as "2020/21"; None for a missing date."""
    d = pd.to_datetime(day, errors="coerce")
    if pd.isna(d):
        return None
    first = d.year if d.month >= 4 else d.year - 1
    return f"{first}/{str(first + 1)[2:]}"


def spending_year(protocol: Any, tables: dict, people: pd.DataFrame | None = None) -> str | None:
    """The price year of the cost per participant: the protocol's ``value.price_year``, else the financial year
    of the participants' median start date (the year whose money the cost per young person divides), else the
    financial year the intervention's funding period started (interventions table ``start_date``)."""
    s = _settings(protocol)
    if s.price_year:
        return s.price_year
    if people is not None and "start_date" in people and people["start_date"].notna().any():
        starts = pd.to_datetime(people["start_date"], errors="coerce").dropna()
        if len(starts):
            return financial_year(starts.sort_values().iloc[(len(starts) - 1) // 2])  # the lower median: a date
    inter = tables.get("interventions")
    if inter is None or "start_date" not in inter:
        return None
    rows = inter.loc[inter["intervention_id"] == protocol.intervention_id, "start_date"].dropna()
    return financial_year(rows.iloc[0]) if len(rows) else None


def _settings(protocol: Any) -> Any:
    from evalkit.protocol import ValueSettings

    return getattr(protocol, "value", None) or ValueSettings()


def _choose(protocol: Any, outcomes: list) -> Any:
    s = _settings(protocol)
    ok = [o for o in outcomes if o.ok and o.design == "matched"]
    if s.outcome:
        return next((o for o in ok if o.outcome == s.outcome), None)
    for kind in ("reoffending_frequency", "reoffending"):
        for o in ok:
            if o.kind == kind and protocol.outcome(o.outcome).offences == "any":
                return o
    return None


def _groups(cfg: Any, scope: str) -> set[str] | None:
    if scope == "violent":
        return set(cfg.violent_offence_groups)
    if scope == "serious_violence":
        return set(cfg.serious_violence_groups)
    return None


def intervention_value(protocol: Any, tables: dict, people: pd.DataFrame, outcomes: list, samples: dict,
                       cfg: Any = None, primary: Any = None) -> Any:
    """The value line's object for one analysis (see the module docstring); never raises on a user's data.

    ``primary`` is the result the report's headline uses; an area programme is valued on it, so that the
    value line never rests on a different estimate from the headline (a trend against the baseline beside
    a difference-in-differences).
    """
    from evalkit.measures._common import get_config

    cfg = get_config(cfg)
    s = _settings(protocol)
    cost = annual_cost(protocol, tables)
    n_people = len(people)
    per_person = cost / n_people if cost and n_people else None
    if protocol.designs and all(d.type in ("area_trend", "area_did") for d in protocol.designs):
        return area_value(protocol, tables, outcomes, cost, primary=primary)
    if n_people < protocol.disclosure_threshold:
        # A cost per person beside the annual cost would reveal how few took part.
        return NotMonetised("too few young people took part to show a cost per person without revealing how many")
    if not cost:
        return NotMonetised("the intervention's annual cost is not in the data")
    chosen = _choose(protocol, outcomes)
    if chosen is None:
        kinds = {o.kind for o in outcomes}
        why = ("its outcomes (wellbeing, behaviour, education) have no agreed money value; the cost per point "
               "of improvement is in the portfolio" if kinds <= {"instrument", "status"} else
               "no offending outcome was estimated against a comparison group")
        return NotMonetised(why, per_person)
    o = protocol.outcome(chosen.outcome)
    design_index = next((k for k, d in enumerate(protocol.designs)
                         if d.type == "matched" and chosen.outcome in d.outcomes), None)
    sample = samples.get(design_index)
    if sample is None:
        return NotMonetised("the matched comparison group is not available", per_person)
    try:
        data = sample.data
        weights = sample.match.units["weight"].to_numpy() if len(sample.match.units) == len(data) else None
        comp = data.assign(_w=weights if weights is not None else 1.0)
        comp = comp.loc[(comp["treated"] == 0) & (comp["_w"] > 0), ["person_id", "index_date", "_w"]]
        offences = tables.get("offences")
        groups = _groups(cfg, o.offences)
        if groups is not None and offences is not None:
            offences = offences.loc[offences["offence_group"].isin(groups)]
        mix = offence_group_mix(offences, comp, followup_months=o.followup_months, waiting_months=o.waiting_months,
                                proven_outcomes=cfg.proven_outcomes, weight="_w")
        table = load_unit_costs(s.unit_costs)
        deflator = read_deflator(s.deflator) if s.deflator else load_gdp_deflator()
        source = f"the deflator file {s.deflator}" if s.deflator else GDP_DEFLATOR_SOURCE
        year = spending_year(protocol, tables, people)
        if year is not None and not s.price_year and year not in deflator:
            year = None  # a derived spending year outside the series: costs stay in the unit costs' own year
        return value_for_money(
            chosen.estimate, kind="count" if chosen.kind == "reoffending_frequency" else "rate", mix=mix.shares,
            table=table, cost_per_participant=per_person, n=chosen.n, outcome=chosen.outcome, label=chosen.label,
            offences_per_reoffender=mix.offences_per_reoffender, business_as_usual=s.business_as_usual_per_person or 0,
            window_months=o.followup_months, horizon_years=s.horizon_years, persistence=s.persistence,
            discount_rate=s.discount_rate, price_year=year, deflator=deflator,
            not_costed=tuple(s.not_costed), mix_counts=mix.counts,
            offences_per_reoffender_se=mix.offences_per_reoffender_se,
            optimism_bias=float(getattr(s, "optimism_bias", 0.0) or 0.0), deflator_source=source,
            level=1 - protocol.alpha, seed=protocol.seed)
    except EvalkitError as exc:
        return NotMonetised(str(exc).rstrip("."), per_person)


def area_value(protocol: Any, tables: dict, outcomes: list, cost: float | None, *, primary: Any = None) -> Any:
    """Offences prevented by an area programme (its primary indicator) and its cost per offence and resident.

    Expected offences without the programme = observed / rate ratio, so offences prevented = observed x (1/RR - 1)
    in the period, with the rate ratio's interval. Residents: the population of the programme's areas in the
    area counts (latest month).
    """
    if not cost:
        return NotMonetised("the programme's annual cost is not in the data")
    prim = primary if (primary is not None and primary.ok and primary.design in ("area_did", "area_trend")) else \
        next((o for o in outcomes if o.ok and o.primary and o.design in ("area_did", "area_trend")), None)
    if prim is None:
        return NotMonetised("no area indicator was estimated")
    rr = prim.estimate
    residents = _residents(protocol, tables, prim)
    if not residents:
        return NotMonetised("the population of the programme's areas is not in the area counts", None)
    observed = _observed_per_year(protocol, prim, residents)
    if observed is None:
        return NotMonetised("the offences in the programme's areas after it started are not available", None)

    def prevented(ratio: float) -> float:
        return observed * (1.0 / ratio - 1.0)

    conclusive = not (rr.ci_low <= 1.0 <= rr.ci_high)
    return AreaValue(indicator=prim.outcome, label=prim.label.split(" (")[0], annual_cost=float(cost),
                     residents=residents, prevented=Range(prevented(rr.estimate), prevented(rr.ci_high),
                                                          prevented(rr.ci_low)),
                     conclusive=conclusive, level=1 - protocol.alpha)


def _observed_per_year(protocol: Any, prim: Any, residents: float) -> float | None:
    """Offences a year in the programme's areas while it ran (the count the rate ratio applies to)."""
    res = prim.result
    if prim.design == "area_did":
        after = next((g for g in getattr(res, "group_rates", ()) if g.get("group") == "treated"
                      and g.get("period") == "after"), None)
        if not after or not after.get("person_months"):
            return None
        return 12.0 * after["count"] * residents / after["person_months"]
    design = next(d for d in protocol.designs if d.type == "area_trend")
    (y0, m0), (y1, m1) = (tuple(int(x) for x in p.split("-")[:2]) for p in design.period)
    months = 12 * (y1 - y0) + (m1 - m0) + 1
    return 12.0 * float(prim.n) / months


def _residents(protocol: Any, tables: dict, prim: Any) -> float | None:
    counts = tables.get("area_counts")
    if counts is None or "population" not in counts:
        return None
    areas: list[str] = []
    for d in protocol.designs:
        if d.type != prim.design:  # the areas of the design the value rests on, not of the last one listed
            continue
        if d.type == "area_trend":
            areas = [prim.outcome.split(":")[1]] if ":" in prim.outcome else list(d.areas)
        elif d.type == "area_did":
            roll = tables.get("area_rollout")
            if roll is not None and "intervention_id" in roll:
                areas = sorted(set(roll.loc[roll["intervention_id"] == protocol.intervention_id, "area"]))
    sub = counts.loc[counts["area"].isin(areas)]
    if sub.empty:
        return None
    latest = sub.loc[sub["month"] == sub["month"].max()]
    return float(latest.groupby("area")["population"].max().sum())


__all__ = ["NotMonetised", "AreaValue", "intervention_value", "area_value", "annual_cost"]
