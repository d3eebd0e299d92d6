"""Putting different outcomes on one scale for the portfolio, and the sample size a worthwhile effect needs.

The portfolio compares interventions judged on different outcomes, so each
primary effect is put on a standardised scale where **positive means better for
young people** (Cohen 1988 conventions: 0.2 small, 0.5 medium, 0.8 large):

* binary outcome (e.g. proven reoffending): Cohen's *h* between the
  participants' rate and their estimated rate had they not taken part
  (the participants' rate minus the risk difference). The interval maps the risk
  difference's limits through the same transformation with the participants'
  rate held fixed, so it excludes zero exactly when the risk difference's
  interval does (same conclusion as the analysis itself).
* continuous pre/post score: Hedges' *g_av* (mean change over the average of the
  before and after SDs, small-sample corrected; Lakens 2013) with its
  noncentral-t interval, sign set by the instrument's direction.
* area rate ratio: ln(RR)·√3/π, Chinn's (2000) conversion of a log odds ratio to
  a standardised difference, applied to the rate ratio because serious-violence
  rates are rare events, for which rate and odds ratios agree. Approximate, and
  labelled as such.

The *minimum worthwhile effect* defaults to a standardised 0.2 (Cohen's "small",
the usual threshold in youth-justice evaluation); :func:`n_needed_binary` and
:func:`n_needed_paired` turn it into participants needed for 80% power with
:mod:`evalkit.designs.power` (R ``power.prop.test`` / ``power.t.test``).
These are small closed-form transformations, so they are written here.
"""

from __future__ import annotations

import math

from evalkit.designs.power import n_for_mean_difference, n_for_proportions
from evalkit.results import Estimate

#: Default minimum worthwhile effect on the standardised scale.
MINIMUM_WORTHWHILE = 0.2
CHINN = math.sqrt(3) / math.pi


def _asin(p: float) -> float:
    return 2 * math.asin(math.sqrt(min(max(p, 0.0), 1.0)))


def cohens_h(treated_rate: float, risk_difference: Estimate, *, higher_is_better: bool) -> Estimate:
    """Cohen's h of the participants' rate against their counterfactual rate (see module docstring)."""
    p1 = treated_rate
    sign = 1.0 if higher_is_better else -1.0

    def h(rd: float) -> float:
        return sign * (_asin(p1) - _asin(p1 - rd))

    lo, hi = sorted((h(risk_difference.ci_low), h(risk_difference.ci_high)))
    return Estimate("Cohen's h", h(risk_difference.estimate), math.nan, lo, hi, risk_difference.p_value,
                    "standardised (Cohen's h)",
                    "2·asin√p between the participants' rate and the rate estimated had they not taken part; "
                    "interval from the risk difference's interval with the participants' rate fixed",
                    level=risk_difference.level)


def from_effect_size(es, *, higher_is_better: bool, p_value: float, level: float = 0.95) -> Estimate:
    """A pre/post effect size (change = after minus before) on the better-is-positive scale."""
    sign = 1.0 if higher_is_better else -1.0
    lo, hi = sorted((sign * es.ci_low, sign * es.ci_high))
    return Estimate(es.name, sign * es.estimate, math.nan, lo, hi, p_value, f"standardised ({es.name})",
                    f"{es.method}; sign set so that positive = better", level=level)


def from_rate_ratio(rr: Estimate, *, lower_is_better: bool = True) -> Estimate:
    """ln(rate ratio)·√3/π (Chinn 2000), positive when the rate fell (lower is better)."""
    sign = -1.0 if lower_is_better else 1.0
    vals = [sign * CHINN * math.log(v) if v and v > 0 else math.nan for v in (rr.estimate, rr.ci_low, rr.ci_high)]
    lo, hi = sorted(vals[1:])
    return Estimate("d from rate ratio", vals[0], math.nan, lo, hi, rr.p_value,
                    "standardised (Chinn's d from the rate ratio)",
                    "ln(RR)·√3/π (Chinn 2000), approximate: treats the rate ratio as an odds ratio (rare events)",
                    level=rr.level)


def rate_at_h(rate: float, h: float) -> float:
    """The proportion that differs from ``rate`` by Cohen's h = ``h`` (downwards for h > 0)."""
    angle = _asin(rate) - h
    angle = min(max(angle, 1e-6), math.pi - 1e-6)
    return math.sin(angle / 2) ** 2


def n_needed_binary(counterfactual_rate: float, *, h: float = MINIMUM_WORTHWHILE, alpha: float = 0.05) -> float:
    """Participants (per group) to detect a change of ``h`` from the counterfactual rate (80% power)."""
    if not 0 < counterfactual_rate < 1:
        return math.inf
    target = rate_at_h(counterfactual_rate, h)
    if not 0 < target < 1 or target == counterfactual_rate:
        return math.inf
    return n_for_proportions(counterfactual_rate, target, alpha=alpha)


def n_needed_rates(p1: float, p2: float, *, alpha: float = 0.05) -> float:
    """Participants per group to tell rate ``p1`` from ``p2`` (80% power); inf when impossible."""
    if not (0 < p1 < 1 and 0 < p2 < 1) or p1 == p2:
        return math.inf
    return n_for_proportions(p1, p2, alpha=alpha)


def sd_of_change(pre_sd: float, post_sd: float, r: float) -> float:
    return math.sqrt(max(pre_sd ** 2 + post_sd ** 2 - 2 * r * pre_sd * post_sd, 1e-12))


def n_needed_paired(delta: float, pre_sd: float, post_sd: float, r: float, *, alpha: float = 0.05) -> float:
    """Pairs needed to detect a mean change ``delta`` (paired t-test, 80% power)."""
    if delta == 0 or not math.isfinite(delta):
        return math.inf
    return n_for_mean_difference(abs(delta), sd_of_change(pre_sd, post_sd, r), alpha=alpha, paired=True)


def n_needed_paired_standardised(pre_sd: float, post_sd: float, r: float, *, d: float = MINIMUM_WORTHWHILE,
                                 alpha: float = 0.05) -> float:
    """Pairs needed to detect a change of ``d`` average SDs (the d_av scale)."""
    sd_av = math.sqrt((pre_sd ** 2 + post_sd ** 2) / 2)
    return n_needed_paired(d * sd_av, pre_sd, post_sd, r, alpha=alpha)


__all__ = ["MINIMUM_WORTHWHILE", "cohens_h", "from_effect_size", "from_rate_ratio", "rate_at_h",
           "n_needed_binary", "n_needed_rates", "n_needed_paired", "n_needed_paired_standardised", "sd_of_change"]
