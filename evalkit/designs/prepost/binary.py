"""Paired binary outcomes: McNemar tests and the change in proportion.

Cells (pre in rows, post in columns)::

                 post = 1   post = 0
    pre = 1         a          b        b: yes to no
    pre = 0         c          d        c: no to yes

* McNemar chi-square, with and without continuity correction, exactly as R's
  ``mcnemar.test``: with ``correct = TRUE`` the statistic is
  ``(|b - c| - 1)^2 / (b + c)`` unless ``b == c``, when R leaves it
  uncorrected (statistic 0, p = 1). statsmodels' ``mcnemar`` subtracts 1 even
  then, hence the two lines here instead.
* Exact McNemar: the two-sided binomial test of ``b`` out of ``b + c`` against
  1/2 (:func:`scipy.stats.binomtest`, the algorithm of R's ``binom.test``).
* Change in proportion ``(c - b) / n`` (post minus pre) with Newcombe's (1998)
  method 10 interval: Wilson score limits for the two marginal proportions
  combined by "square and add", with the correlation term ``phi`` computed
  with his continuity-corrected numerator. No Python library offers it for
  paired data; Fagerland, Lydersen & Laake (2014) recommend it among the best
  simple intervals. Checked against their published worked example.

References
----------
McNemar, Q. (1947). *Psychometrika* 12, 153-157. Newcombe, R. G. (1998).
Improved confidence intervals for the difference between binomial proportions
based on paired data. *Statistics in Medicine* 17, 2635-2650. Fagerland,
M. W., Lydersen, S., Laake, P. (2014). Recommended tests and confidence
intervals for paired binomial proportions. *Statistics in Medicine* 33,
2850-2875.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats
from statsmodels.stats.proportion import proportion_confint


@dataclass(frozen=True)
class PairedTable:
    """Counts of the paired 2x2 table (aggregates only)."""

    both_yes: int  # a: 1 before and after
    yes_to_no: int  # b: 1 before, 0 after
    no_to_yes: int  # c: 0 before, 1 after
    both_no: int  # d: 0 before and after

    @property
    def n(self) -> int:
        return self.both_yes + self.yes_to_no + self.no_to_yes + self.both_no

    @property
    def discordant(self) -> int:
        return self.yes_to_no + self.no_to_yes


@dataclass(frozen=True)
class McNemarResult:
    """McNemar tests of a paired table."""

    chi2_corrected: float
    p_corrected: float
    chi2_uncorrected: float
    p_uncorrected: float
    p_exact: float


def wilson_interval(count: int, n: int, conf_level: float) -> tuple[float, float]:
    """Wilson score interval for one proportion (statsmodels), exact at the boundaries."""
    low, high = proportion_confint(count, n, alpha=1 - conf_level, method="wilson")
    # The limits are exactly 0 (count 0) and 1 (count n); statsmodels returns
    # them with a rounding error of about 1e-17.
    return (0.0 if count == 0 else float(low)), (1.0 if count == n else float(high))


def mcnemar_tests(table: PairedTable) -> McNemarResult:
    """McNemar chi-square (R ``mcnemar.test``, both settings) and exact binomial test."""
    b, c = table.yes_to_no, table.no_to_yes
    if b + c == 0:
        raise ZeroDivisionError("no discordant pairs")
    uncorrected = (b - c) ** 2 / (b + c)
    corrected = (abs(b - c) - 1) ** 2 / (b + c) if b != c else uncorrected
    exact = stats.binomtest(b, b + c, 0.5, alternative="two-sided").pvalue
    return McNemarResult(
        chi2_corrected=float(corrected), p_corrected=float(stats.chi2.sf(corrected, 1)),
        chi2_uncorrected=float(uncorrected), p_uncorrected=float(stats.chi2.sf(uncorrected, 1)),
        p_exact=float(exact),
    )


def newcombe_paired_interval(table: PairedTable, conf_level: float) -> tuple[float, float, float]:
    """Change in proportion (post - pre) with Newcombe's (1998) method 10 interval."""
    a, b, c, d = table.both_yes, table.yes_to_no, table.no_to_yes, table.both_no
    n = table.n
    pre_yes, post_yes = a + b, a + c
    p_pre, p_post = pre_yes / n, post_yes / n
    l_pre, u_pre = wilson_interval(pre_yes, n, conf_level)
    l_post, u_post = wilson_interval(post_yes, n, conf_level)
    # phi: correlation of the two margins, numerator shrunk towards 0 by n/2
    # (Newcombe 1998, section 2, method 10); 0 when any margin is empty.
    margins = pre_yes * (n - pre_yes) * post_yes * (n - post_yes)
    phi = 0.0
    if margins > 0:
        cross = a * d - b * c
        if cross > n / 2:
            phi = (cross - n / 2) / math.sqrt(margins)
        elif cross < 0:
            phi = cross / math.sqrt(margins)
    delta = p_post - p_pre
    dl_post, du_post = p_post - l_post, u_post - p_post
    dl_pre, du_pre = p_pre - l_pre, u_pre - p_pre
    low = delta - math.sqrt(max(0.0, dl_post**2 - 2 * phi * dl_post * du_pre + du_pre**2))
    high = delta + math.sqrt(max(0.0, du_post**2 - 2 * phi * du_post * dl_pre + dl_pre**2))
    return delta, low, high


__all__ = ["McNemarResult", "PairedTable", "mcnemar_tests", "newcombe_paired_interval", "wilson_interval"]
