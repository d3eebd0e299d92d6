"""The monetisation arithmetic as small pure functions (no data, no randomness).

Sign convention: an *effect* is participants minus comparison, on the
outcome's own scale (offences per person in the follow-up window; a risk
difference for reoffending). Fewer offences is a negative effect, so offences
averted = -effect.

Horizon and persistence: the effect is measured over the follow-up window
(``window_months``). Over a horizon of H years the effect in year k (k = 0 for
the first) is the yearly effect x persistence^k, discounted at the Green Book
rate as 1 / (1 + r)^k. :func:`horizon_factor` is that sum; with the defaults
(H = 1 year, any persistence) it is 1: only the year that was measured counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from evalkit.errors import SpecError

#: HM Treasury Green Book social time preference rate (first 30 years).
GREEN_BOOK_DISCOUNT_RATE = 0.035


def horizon_factor(horizon_years: float = 1.0, persistence: float = 1.0,
                   discount_rate: float = GREEN_BOOK_DISCOUNT_RATE) -> float:
    """Sum over years k = 0..H-1 of persistence^k / (1 + discount_rate)^k (a part year counts pro rata).

    Parameters
    ----------
    horizon_years
        Years over which averted offences are counted (> 0).
    persistence
        Share of the effect that survives from one year to the next (0 to 1).
    discount_rate
        Annual discount rate (0 or more).
    """
    if not horizon_years > 0:
        raise SpecError(f"horizon_years must be more than 0 (got {horizon_years}).")
    if not 0 <= persistence <= 1:
        raise SpecError(f"persistence must be between 0 and 1 (got {persistence}).")
    if discount_rate < 0:
        raise SpecError(f"discount_rate must be 0 or more (got {discount_rate}).")
    q = persistence / (1.0 + discount_rate)
    whole = int(math.floor(horizon_years))
    total = sum(q ** k for k in range(whole))
    return total + (horizon_years - whole) * q ** whole


def offences_averted_per_person(effect: float, *, window_months: float = 12.0, horizon_years: float = 1.0,
                                persistence: float = 1.0, discount_rate: float = GREEN_BOOK_DISCOUNT_RATE
                                ) -> float:
    """Offences averted per participant over the horizon (discounted), from a per-person count effect.

    -effect x (12 / window_months) x :func:`horizon_factor`.
    """
    if not window_months > 0:
        raise SpecError(f"window_months must be more than 0 (got {window_months}).")
    return -effect * (12.0 / window_months) * horizon_factor(horizon_years, persistence, discount_rate)


def count_effect_from_rate(risk_difference: float, offences_per_reoffender: float) -> float:
    """A per-person count effect from a reoffending risk difference.

    risk difference x mean proven offences per person who reoffended (in the
    comparison group): assumes the intervention changes whether young people
    reoffend, not how often those who do reoffend.
    """
    if not offences_per_reoffender >= 1:
        raise SpecError(f"offences_per_reoffender must be at least 1 (got {offences_per_reoffender}).")
    return risk_difference * offences_per_reoffender


def cost_per_offence(mix: Mapping[str, float], group_costs: Mapping[str, float | None]) -> float:
    """Average cost of one offence: sum over groups of share x unit cost (uncosted groups count as £0).

    ``mix`` holds each offence group's share of offences (shares are normalised to sum to 1).
    """
    total = sum(mix.values())
    if not total > 0:
        raise SpecError("the offence mix is empty (no offences to share the effect between).")
    out = 0.0
    for group, share in mix.items():
        if group not in group_costs:
            raise SpecError(f"offence group '{group}' has no entry in offence_group_costs. Fix: add it to the "
                            "unit-cost file (a unit-cost key, or null for not costed).")
        unit = group_costs[group]
        out += (share / total) * (unit or 0.0)
    return out


def uncosted_share(mix: Mapping[str, float], group_costs: Mapping[str, float | None]) -> float:
    """Share of offences in groups with no unit cost (their benefit is counted as £0)."""
    total = sum(mix.values())
    return sum(s for g, s in mix.items() if group_costs.get(g) is None) / total if total > 0 else math.nan


def benefit_per_person(offences_averted: float, cost_of_offence: float) -> float:
    """Pounds of crime avoided per participant: offences averted x average cost of an offence."""
    return offences_averted * cost_of_offence


def incremental_cost(cost_per_participant: float, business_as_usual: float = 0.0) -> float:
    """What the intervention costs per participant over what the comparison group received anyway."""
    return cost_per_participant - business_as_usual


def benefit_cost_ratio(benefit: float, cost: float) -> float:
    """Benefit / cost (pounds of crime avoided per pound spent); nan when the cost is not positive."""
    return benefit / cost if cost > 0 else math.nan


def net_benefit(benefit: float, cost: float) -> float:
    """Benefit - cost, in pounds."""
    return benefit - cost


def break_even_effect(cost: float, cost_of_offence: float, *, window_months: float = 12.0,
                      horizon_years: float = 1.0, persistence: float = 1.0,
                      discount_rate: float = GREEN_BOOK_DISCOUNT_RATE) -> float:
    """The per-person count effect (offences per person in the window; negative) at which benefit = cost.

    Solves -effect x (12 / window) x horizon factor x cost of an offence = cost.
    Its size is the smallest reduction that pays for the intervention: a
    minimum worthwhile effect in money terms. ``inf`` in size when an offence
    has no cost.
    """
    per_offence = cost_of_offence * (12.0 / window_months) * horizon_factor(horizon_years, persistence,
                                                                             discount_rate)
    if not per_offence > 0:
        return -math.inf
    return -cost / per_offence


def break_even_rate(cost: float, cost_of_offence: float, offences_per_reoffender: float, **horizon) -> float:
    """:func:`break_even_effect` as a reoffending risk difference (negative: fewer reoffend)."""
    if not offences_per_reoffender >= 1:
        raise SpecError(f"offences_per_reoffender must be at least 1 (got {offences_per_reoffender}).")
    return break_even_effect(cost, cost_of_offence, **horizon) / offences_per_reoffender


__all__ = ["GREEN_BOOK_DISCOUNT_RATE", "horizon_factor", "offences_averted_per_person", "count_effect_from_rate",
           "cost_per_offence", "uncosted_share", "benefit_per_person", "incremental_cost", "benefit_cost_ratio",
           "net_benefit", "break_even_effect", "break_even_rate"]
