"""Sample size needed to detect an effect of a given size.

Reports use this to turn an inconclusive result into an actionable sentence:
"to detect a change of this size with 80% power, about N participants would be
needed". The formulas are those of R's ``stats::power.t.test`` and
``stats::power.prop.test`` (two-sided, ``strict = FALSE``), solved for ``n``
with a root finder, so an evaluator checking in R gets the same number.
statsmodels' power classes include the far tail of the two-sided test and so
differ from R in the fourth significant figure; matching R keeps the wording
reproducible, hence this small module.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

from evalkit.errors import SpecError

_N_MAX = 1e9


def _check(alpha: float, power: float) -> None:
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must be between 0 and 1 (got {alpha}).")
    if not 0 < power < 1:
        raise SpecError(f"power must be between 0 and 1 (got {power}).")


def _solve(power_at, target: float, lower: float) -> float:
    if power_at(_N_MAX) < target:
        return math.inf
    return float(optimize.brentq(lambda n: power_at(n) - target, lower, _N_MAX, xtol=1e-10, rtol=1e-14))


def t_test_power(n: float, delta: float, sd: float, *, alpha: float = 0.05, paired: bool = False) -> float:
    """Power of a two-sided t-test (R ``power.t.test``, ``strict = FALSE``).

    Parameters
    ----------
    n
        Number of pairs (``paired=True``) or participants per group.
    delta, sd
        True difference in means and the standard deviation (of the
        differences when paired).
    """
    tsample = 1 if paired else 2
    df = (n - 1) * tsample
    ncp = math.sqrt(n / tsample) * abs(delta) / sd
    qu = stats.t.isf(alpha / 2, df)
    return float(stats.nct.sf(qu, df, ncp))


def n_for_mean_difference(
    delta: float, sd: float, *, alpha: float = 0.05, power: float = 0.8, paired: bool = False
) -> float:
    """Participants (per group, or pairs when ``paired``) needed to detect ``delta``.

    Matches R's ``power.t.test(delta=, sd=, power=, type=)$n``. Returns
    ``inf`` when ``delta`` is zero.
    """
    _check(alpha, power)
    if sd <= 0 or not np.isfinite(sd):
        raise SpecError(f"sd must be a positive number (got {sd}).")
    if delta == 0 or not np.isfinite(delta):
        return math.inf
    return _solve(lambda n: t_test_power(n, delta, sd, alpha=alpha, paired=paired), power, 2.0)


def prop_test_power(n: float, p1: float, p2: float, *, alpha: float = 0.05) -> float:
    """Power of the two-sided comparison of two proportions (R ``power.prop.test``)."""
    q1, q2 = 1 - p1, 1 - p2
    z = stats.norm.isf(alpha / 2)
    num = math.sqrt(n) * abs(p1 - p2) - z * math.sqrt((p1 + p2) * (q1 + q2) / 2)
    return float(stats.norm.cdf(num / math.sqrt(p1 * q1 + p2 * q2)))


def n_for_proportions(p1: float, p2: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Participants per group needed to tell proportion ``p1`` from ``p2``.

    Matches R's ``power.prop.test(p1=, p2=, power=)$n``. Returns ``inf`` when
    the proportions are equal.
    """
    _check(alpha, power)
    for p in (p1, p2):
        if not 0 < p < 1:
            raise SpecError(f"proportions must be strictly between 0 and 1 (got {p}).")
    if p1 == p2:
        return math.inf
    return _solve(lambda n: prop_test_power(n, p1, p2, alpha=alpha), power, 2.0)


__all__ = ["n_for_mean_difference", "n_for_proportions", "t_test_power", "prop_test_power"]
