"""Attrition and regression to the mean for the pre/post design.

Attrition: who had a baseline, who also had a follow-up, and whether those
lost differed at baseline -- Welch's t-test (:func:`scipy.stats.ttest_ind`,
``equal_var=False``) or Fisher's exact test for binary outcomes, and the
standardised mean difference with the average-variance denominator
``sqrt((s_analysed^2 + s_lost^2) / 2)`` (cobalt's default for the ATE; for
binary outcomes ``s^2 = p (1 - p)``).

Regression to the mean (Barnett, van der Pols & Dobson 2005, *Int J Epidemiol*
34, 215-220): with test-retest correlation ``r``, population mean ``mu`` and
baseline mean ``m1`` of those analysed, the change expected with no
intervention is ``(1 - r) * (mu - m1)`` (bivariate normal scores). If ``mu`` is
not known it is inferred from the entrants' baseline mean by assuming a normal
population with SD ``sd_norm`` truncated at the entry threshold, i.e. solving
``m_entrants = mu + sd * phi(z) / (1 - Phi(z))``, ``z = (c - mu) / sd`` (the
model behind Barnett et al.'s eq. 2, ``RTM = sd (1 - r) phi(z) / (1 - Phi(z))``).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

from evalkit.designs.prepost.results import Attrition, RegressionToMean

#: Losing more than this share of those with a baseline draws a warning
#: (the "5-and-20" rule of thumb, Schulz & Grimes 2002, *Lancet* 359, 781).
HIGH_ATTRITION = 0.20
#: What Works Clearinghouse (Standards Handbook v5.0): a baseline difference
#: above 0.25 SD means the groups are not comparable.
WWC_SMD_LIMIT = 0.25


# --------------------------------------------------------------------------- #
# Attrition
# --------------------------------------------------------------------------- #
def attrition_summary(pre: np.ndarray, post: np.ndarray, extra_lost: np.ndarray, *, binary: bool) -> Attrition:
    has_pre, has_post = ~np.isnan(pre), ~np.isnan(post)
    complete = np.sort(pre[has_pre & has_post])
    lost = np.sort(np.concatenate([pre[has_pre & ~has_post], extra_lost]))
    n_base = len(complete) + len(lost)
    m_c = float(np.mean(complete)) if len(complete) else math.nan
    m_l = float(np.mean(lost)) if len(lost) else math.nan
    smd = p = math.nan
    test = "Fisher's exact test" if binary else "Welch t-test"
    if binary and len(complete) and len(lost):
        var = (m_c * (1 - m_c) + m_l * (1 - m_l)) / 2
        smd = (m_c - m_l) / math.sqrt(var) if var > 0 else math.nan
        k_c, k_l = int(complete.sum()), int(lost.sum())
        p = float(stats.fisher_exact([[k_c, len(complete) - k_c], [k_l, len(lost) - k_l]]).pvalue)
    elif not binary and len(complete) >= 2 and len(lost) >= 2:
        var = (float(np.var(complete, ddof=1)) + float(np.var(lost, ddof=1))) / 2
        smd = (m_c - m_l) / math.sqrt(var) if var > 0 else math.nan
        if var > 0:
            p = float(stats.ttest_ind(complete, lost, equal_var=False).pvalue)
    return Attrition(
        n_baseline=n_base, n_complete=len(complete), n_lost=len(lost), n_post_only=int((~has_pre & has_post).sum()),
        share_lost=len(lost) / n_base if n_base else math.nan, baseline_mean_complete=m_c, baseline_mean_lost=m_l,
        baseline_smd=smd, baseline_p=p, baseline_test=test,
    )


def attrition_warnings(a: Attrition, alpha: float) -> list[str]:
    out = []
    if a.share_lost > HIGH_ATTRITION:
        out.append(f"High attrition: {a.n_lost} of {a.n_baseline} people with a baseline ({a.share_lost:.0%}) have "
                   f"no follow-up; the change seen in those who stayed may not hold for everyone who started.")
    differs = (abs(a.baseline_smd) > WWC_SMD_LIMIT) if math.isfinite(a.baseline_smd) else False
    if differs or (math.isfinite(a.baseline_p) and a.baseline_p < alpha):
        out.append(f"Those lost differed at baseline from those analysed (standardised difference "
                   f"{a.baseline_smd:+.2f}, {a.baseline_test} p = {a.baseline_p:.3g}); the people analysed are not "
                   f"typical of those who started.")
    return out


# --------------------------------------------------------------------------- #
# Regression to the mean
# --------------------------------------------------------------------------- #
def _truncated_mean_inverse(selected_mean: float, threshold: float, sd: float, above: bool) -> float:
    """Population mean ``mu`` of a normal(mu, sd) whose part beyond ``threshold`` has mean ``selected_mean``."""
    sign = 1.0 if above else -1.0

    def f(mu: float) -> float:
        z = sign * (threshold - mu) / sd
        mills = math.exp(stats.norm.logpdf(z) - stats.norm.logsf(z))  # phi(z) / (1 - Phi(z))
        return mu + sign * sd * mills - selected_mean

    lo, hi = selected_mean - 50 * sd, selected_mean + 50 * sd
    return float(optimize.brentq(f, lo, hi, xtol=1e-12))


def regression_to_mean(
    *, entry_threshold: float, higher_is_better: bool, reliability: float | None, sd_norm: float | None,
    norm_mean: float | None, entrants_baseline: np.ndarray, analysed_baseline: np.ndarray,
) -> RegressionToMean:
    above = not higher_is_better  # people enter for a bad score
    side = "at or above" if above else "at or below"
    m1 = float(np.mean(analysed_baseline))
    mu, source = norm_mean, "given"
    if mu is None and sd_norm is not None and len(entrants_baseline):
        m_sel = float(np.mean(entrants_baseline))
        beyond = (m_sel > entry_threshold) if above else (m_sel < entry_threshold)
        if beyond:
            mu = _truncated_mean_inverse(m_sel, entry_threshold, sd_norm, above)
            source = "inferred from the entrants' baseline mean (normal population truncated at the threshold)"
    expected = None
    if reliability is not None and mu is not None:
        expected = (1 - reliability) * (mu - m1)
    return RegressionToMean(entry_threshold=float(entry_threshold), entry_side=side, reliability=reliability,
                            sd_norm=sd_norm, population_mean=mu, population_mean_source=source if mu is not None else "",
                            baseline_mean=m1, expected_change=expected)


def rtm_warning(rtm: RegressionToMean, mean_change: float) -> str:
    text = (f"Regression to the mean: people entered with a baseline score {rtm.entry_side} "
            f"{rtm.entry_threshold:g}. People picked for an extreme score tend to score nearer the average next "
            f"time even with no help, so part of the change may not be due to the intervention.")
    if rtm.expected_change is not None:
        share = rtm.expected_change / mean_change if mean_change != 0 else math.nan
        text += (f" With reliability {rtm.reliability:g} and population mean {rtm.population_mean:.4g}, about "
                 f"{rtm.expected_change:+.3g} points of change are expected from this alone "
                 f"((1 - r) x (population mean - baseline mean), Barnett et al. 2005), against "
                 f"{mean_change:+.3g} observed")
        text += f" ({share:.0%} of it)." if math.isfinite(share) and share > 0 else "."
    else:
        text += " Give the instrument's reliability and norm SD (or norm mean) to size the effect."
    return text


__all__ = ["HIGH_ATTRITION", "WWC_SMD_LIMIT", "attrition_summary", "attrition_warnings", "regression_to_mean",
           "rtm_warning"]
