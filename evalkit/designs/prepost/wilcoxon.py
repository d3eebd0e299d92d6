"""Wilcoxon signed-rank test for paired data, with R's estimate and interval.

The test statistic and p-value come from :func:`scipy.stats.wilcoxon`, with the
method chosen by R's rule (``stats::wilcox.test``, R 4.2, defaults): the exact
null distribution when there are fewer than 50 non-zero differences and no
ties or zeros, otherwise the normal approximation with tie-corrected variance
and a continuity correction of 0.5. Zero differences are dropped first
(Wilcoxon's convention, ``zero_method="wilcox"``).

scipy gives no Hodges–Lehmann (pseudo-median) estimate or confidence interval,
so those are written here by hand, as a faithful port of R's
``wilcox.test.default(conf.int = TRUE)``:

* exact case: order statistics of the Walsh averages ``(d_i + d_j) / 2``,
  ``i <= j``, at the signed-rank quantile ``qsignrank(alpha/2, n)`` (Hollander
  & Wolfe 1999, section 3.2; Bauer 1972);
* normal case: the roots of the standardised signed-rank statistic as a
  function of the shift, found with R's own Brent–Dekker root finder
  (``R_zeroin2``, ported line for line below, ``tol.root = 1e-4``) so that the
  interval and estimate agree with R to rounding, including R's tolerance.

References
----------
Hollander, M., Wolfe, D. A. (1999). *Nonparametric Statistical Methods*, 2nd
ed. Wiley. Bauer, D. F. (1972). Constructing confidence sets using rank
statistics. *JASA* 67, 687-690. R Core Team, ``src/library/stats/R/wilcox.test.R``,
``src/nmath/signrank.c``, ``src/library/stats/src/zeroin.c``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats

_DBL_EPSILON = sys.float_info.epsilon
#: R's ``wilcox.test`` switches to the normal approximation at n >= 50.
EXACT_MAX_N = 49
#: R's default ``tol.root`` for the root finder of the normal-approximation interval.
TOL_ROOT = 1e-4


@dataclass(frozen=True)
class SignedRankResult:
    """Wilcoxon signed-rank test of paired differences (aggregates only).

    ``statistic`` is R's ``V``: the sum of the ranks of the positive
    differences. ``estimate`` is the Hodges–Lehmann pseudo-median of the
    differences; ``conf_level`` is the level actually achieved (R lowers it,
    with a warning, when the requested level is not attainable).
    """

    statistic: float
    p_value: float
    n_nonzero: int
    n_zero: int
    exact: bool
    ties: bool
    estimate: float
    ci_low: float
    ci_high: float
    conf_level: float
    method: str
    note: str = ""


# --------------------------------------------------------------------------- #
# Exact null distribution of V (R: src/nmath/signrank.c)
# --------------------------------------------------------------------------- #
@lru_cache(maxsize=64)
def _signrank_counts(n: int) -> tuple[float, ...]:
    """Number of subsets of {1..n} with each sum 0..n(n+1)/2 (R's ``csignrank``)."""
    top = n * (n + 1) // 2
    counts = np.zeros(top + 1, dtype=np.int64)
    counts[0] = 1
    for k in range(1, n + 1):
        counts[k:] = counts[k:] + counts[:-k].copy()
    return tuple(float(c) for c in counts)


def psignrank(q: float, n: int, lower_tail: bool = True) -> float:
    """P(V <= q) (or P(V > q)) under H0, summed in R's order for identical rounding."""
    x = math.floor(q + 1e-7)
    top = n * (n + 1) / 2
    if x < 0:
        return 0.0 if lower_tail else 1.0
    if x >= top:
        return 1.0 if lower_tail else 0.0
    counts = _signrank_counts(n)
    f = math.exp(-n * math.log(2.0))
    p = 0.0
    if x <= n * (n + 1) / 4:
        for i in range(int(x) + 1):
            p += counts[i] * f
    else:
        x = top - x
        for i in range(int(math.ceil(x))):
            p += counts[i] * f
        lower_tail = not lower_tail
    return p if lower_tail else 0.5 - p + 0.5


def qsignrank(prob: float, n: int) -> int:
    """Smallest q with P(V <= q) >= prob (R's ``qsignrank``, lower tail)."""
    if prob == 0:
        return 0
    if prob == 1:
        return n * (n + 1) // 2
    counts = _signrank_counts(n)
    f = math.exp(-n * math.log(2.0))
    p = 0.0
    q = 0
    if prob <= 0.5:
        x = prob - 10 * _DBL_EPSILON
        while True:
            p += counts[q] * f
            if p >= x:
                return q
            q += 1
    x = 1 - prob + 10 * _DBL_EPSILON
    while True:
        p += counts[q] * f
        if p > x:
            return n * (n + 1) // 2 - q
        q += 1


# --------------------------------------------------------------------------- #
# R's Brent-Dekker root finder (src/library/stats/src/zeroin.c, R_zeroin2)
# --------------------------------------------------------------------------- #
def r_zeroin2(f: Callable[[float], float], ax: float, bx: float, fa: float, fb: float,
              tol: float, maxit: int = 1000) -> float:
    """Port of R's ``R_zeroin2`` (used by ``uniroot``), expression for expression.

    Hand-ported rather than using :func:`scipy.optimize.brentq` because the
    signed-rank function is a step function: any point within ``tol`` of the
    jump is a root, and only R's exact iteration lands on R's point.
    """
    a, b = ax, bx
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(maxit + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * _DBL_EPSILON * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def _standardised_v(x: np.ndarray, d: float, correct: bool) -> float:
    """R's ``W(d)``: standardised signed-rank statistic of ``x - d``."""
    xd = x - d
    xd = xd[xd != 0]
    nx = float(len(xd))
    dr = stats.rankdata(np.abs(xd), method="average")
    zd = float(np.sum(dr[xd > 0])) - nx * (nx + 1) / 4
    _, ties = np.unique(dr, return_counts=True)
    ties = ties.astype(float)
    sigma = math.sqrt(nx * (nx + 1) * (2 * nx + 1) / 24 - float(np.sum(ties**3 - ties)) / 48)
    corr = (math.copysign(0.5, zd) if zd != 0 else 0.0) if correct else 0.0
    if sigma == 0:
        return math.nan
    return (zd - corr) / sigma


# --------------------------------------------------------------------------- #
# Estimate and interval
# --------------------------------------------------------------------------- #
def _walsh_averages(x: np.ndarray) -> np.ndarray:
    i, j = np.triu_indices(len(x))
    return np.sort((x[i] + x[j]) / 2)


def _exact_interval(x: np.ndarray, conf_level: float) -> tuple[float, float, float, float, str]:
    n = len(x)
    alpha = 1 - conf_level
    diffs = _walsh_averages(x)
    qu = qsignrank(alpha / 2, n)
    if qu == 0:
        qu = 1
    ql = n * (n + 1) // 2 - qu
    achieved_alpha = 2 * psignrank(math.trunc(qu) - 1, n)
    note = ""
    if achieved_alpha - alpha > alpha / 2:
        conf_level = 1 - float(f"{achieved_alpha:.2g}")
        note = (f"with only {n} non-zero differences the requested confidence level cannot be reached; "
                f"the Wilcoxon interval is a {conf_level:.0%} interval")
    return float(np.median(diffs)), float(diffs[qu - 1]), float(diffs[ql]), conf_level, note


def _normal_interval(x: np.ndarray, conf_level: float, correct: bool, tol: float
                     ) -> tuple[float, float, float, float, str]:
    mumin, mumax = float(np.min(x)), float(np.max(x))
    w_min = _standardised_v(x, mumin, correct)
    w_max = _standardised_v(x, mumax, correct) if math.isfinite(w_min) else math.nan
    if not math.isfinite(w_max):
        return (mumin + mumax) / 2, math.nan, math.nan, 0.0, "all differences are tied; no interval"
    alpha = 1 - conf_level
    z = stats.norm.isf
    while (w_min - z(alpha / 2) < 0) or (w_max - stats.norm.ppf(alpha / 2) > 0):
        alpha *= 2
    note = ""
    if alpha >= 1 or 1 - conf_level < alpha * 0.75:
        conf_level = 1 - min(1.0, alpha)
        note = (f"with these few differences the requested confidence level cannot be reached; "
                f"the Wilcoxon interval is a {conf_level:.0%} interval")

    def root(zq: float) -> float:
        return r_zeroin2(lambda d: _standardised_v(x, d, correct) - zq, mumin, mumax,
                         w_min - zq, w_max - zq, tol)

    if alpha < 1:
        low, high = root(z(alpha / 2)), root(stats.norm.ppf(alpha / 2))
    else:
        low = high = float(np.median(x))
    # R computes the estimate without the continuity correction.
    f0_min, f0_max = _standardised_v(x, mumin, False), _standardised_v(x, mumax, False)
    est = r_zeroin2(lambda d: _standardised_v(x, d, False), mumin, mumax, f0_min, f0_max, tol)
    return est, low, high, conf_level, note


def signed_rank_test(diff: np.ndarray, *, conf_level: float = 0.95, correct: bool = True,
                     tol_root: float = TOL_ROOT) -> SignedRankResult:
    """Wilcoxon signed-rank test of ``diff`` against 0, as R's ``wilcox.test``.

    Parameters
    ----------
    diff
        Paired differences (post - pre), no missing values, at least one non-zero.
    conf_level
        Level of the Hodges–Lehmann interval.
    correct
        Continuity correction for the normal approximation (R's default True).
    tol_root
        Root-finder tolerance for the normal-approximation interval (R's ``tol.root``).
    """
    diff = np.sort(np.asarray(diff, dtype=float))
    zeros = diff == 0
    x = diff[~zeros]
    n = len(x)
    ranks = stats.rankdata(np.abs(x), method="average")
    v = float(np.sum(ranks[x > 0]))
    ties = len(np.unique(ranks)) != n
    exact = n <= EXACT_MAX_N and not ties and not zeros.any()
    if exact:
        res = stats.wilcoxon(x, zero_method="wilcox", method="exact")
        est, low, high, level, note = _exact_interval(x, conf_level)
        method = "Wilcoxon signed-rank exact test; Hodges-Lehmann estimate, exact interval"
    else:
        res = stats.wilcoxon(x, zero_method="wilcox", correction=correct, method="approx")
        est, low, high, level, note = _normal_interval(x, conf_level, correct, tol_root)
        why = "ties" if ties else ("zero differences" if zeros.any() else f"n = {n} >= 50")
        method = ("Wilcoxon signed-rank test, normal approximation"
                  + (" with continuity correction" if correct else "")
                  + f" ({why}); Hodges-Lehmann estimate, asymptotic interval")
    return SignedRankResult(
        statistic=v, p_value=float(res.pvalue), n_nonzero=n, n_zero=int(zeros.sum()), exact=exact,
        ties=ties, estimate=est, ci_low=low, ci_high=high, conf_level=level, method=method, note=note,
    )


__all__ = ["SignedRankResult", "signed_rank_test", "psignrank", "qsignrank", "r_zeroin2"]
