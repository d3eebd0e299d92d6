"""Pre/post design: participants measured before and after, no comparison group.

Two entry points, both taking an ordinary :class:`pandas.DataFrame` with one row
per person and the two scores in named columns:

* :func:`prepost_continuous` -- paired t-test (:func:`scipy.stats.ttest_rel`),
  Wilcoxon signed-rank test with Hodges-Lehmann estimate and interval (as R's
  ``wilcox.test``, :mod:`evalkit.designs.prepost.wilcoxon`), effect sizes
  ``d_z``, ``d_av``, ``g_av`` with intervals
  (:mod:`evalkit.designs.prepost.effects`), shares reliably improved /
  deteriorated / recovered (Jacobson & Truax 1991, via
  :mod:`evalkit.measures.change`).
* :func:`prepost_binary` -- McNemar tests and the change in proportion with
  Newcombe's interval (:mod:`evalkit.designs.prepost.binary`).

Both report attrition and, for continuous outcomes, the regression to the mean
expected when entry depended on the baseline score
(:mod:`evalkit.designs.prepost.attrition`). Every result carries Maryland SMS
level 1: a before/after change cannot separate the intervention's effect from
maturation, regression to the mean or anything else that happened meanwhile.

Change is always post minus pre. Results (:mod:`evalkit.designs.prepost.results`)
hold aggregates only. Complete pairs are sorted before any arithmetic, so row
order never changes a result, not even in the last bit.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.designs._checks import require_columns
from evalkit.designs.prepost.attrition import (
    attrition_summary,
    attrition_warnings,
    regression_to_mean,
    rtm_warning,
)
from evalkit.designs.prepost.binary import PairedTable, mcnemar_tests, newcombe_paired_interval, wilson_interval
from evalkit.designs.prepost.effects import paired_effect_sizes
from evalkit.designs.prepost.results import (
    Attrition,
    ChangeShares,
    PrePostResult,
    RegressionToMean,
    TestResult,
)
from evalkit.designs.prepost.wilcoxon import signed_rank_test
from evalkit.errors import DataError, InsufficientDataError, Problem, SpecError
from evalkit.measures.change import classify_change, reliable_change_threshold
from evalkit.results import SMS, Estimate, EvidenceLevel

#: Fewer complete pairs than this draws a "small sample" warning.
SMALL_N = 20

EVIDENCE = EvidenceLevel(SMS.LEVEL_1, "before/after with no comparison group")
_SOURCE = "input table"


# --------------------------------------------------------------------------- #
# Input checking
# --------------------------------------------------------------------------- #
def _column(df: pd.DataFrame, col: str, role: str) -> pd.Series:
    require_columns(df, [col], what=f"pre/post ({role} score)", fix="name the right column in pre=/post=")
    return df[col]


def _as_numeric(series: pd.Series, col: str) -> np.ndarray:
    values = pd.to_numeric(series.where(series.notna()), errors="coerce")
    bad = values.isna() & series.notna()
    if bad.any():
        problems = [Problem(file=_SOURCE, column=col, message=f"row label {idx!r}: {series[idx]!r} is not a number.",
                            fix="Enter a number or leave the cell empty.") for idx in series.index[bad][:20]]
        raise DataError(problems, truncated=max(0, int(bad.sum()) - 20))
    arr = values.to_numpy(dtype=float)
    if np.isinf(arr).any():
        idx = series.index[np.isinf(arr)][0]
        raise DataError(Problem(file=_SOURCE, column=col, message=f"row label {idx!r}: infinite value.",
                                fix="Enter a finite number or leave the cell empty."))
    return arr


def _as_binary(series: pd.Series, col: str) -> np.ndarray:
    arr = _as_numeric(series.astype("float64") if series.dtype == bool else series, col)
    ok = np.isnan(arr) | (arr == 0) | (arr == 1)
    if not ok.all():
        idx = series.index[~ok]
        problems = [Problem(file=_SOURCE, column=col, message=f"row label {i!r}: {series[i]!r} is not 0/1.",
                            fix="Code the outcome as 1 (yes) / 0 (no), or True/False.") for i in idx[:20]]
        raise DataError(problems, truncated=max(0, len(idx) - 20))
    return arr


def _check_alpha(alpha: float) -> None:
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise SpecError(f"alpha must be between 0 and 1, e.g. 0.05 (got {alpha!r}).")


def _sorted_pairs(pre: np.ndarray, post: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Complete pairs in a canonical order, so floating-point sums never depend on row order."""
    both = ~np.isnan(pre) & ~np.isnan(post)
    p, q = pre[both], post[both]
    order = np.lexsort((q, p))
    return p[order], q[order]


def _complete_pairs(df: pd.DataFrame, pre: str, post: str, *, binary: bool,
                    label: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Both columns as arrays (all rows) and the sorted complete pairs; at least 2 pairs or an error."""
    pre_col, post_col = _column(df, pre, "baseline"), _column(df, post, "follow-up")
    convert = _as_binary if binary else _as_numeric
    pre_all, post_all = convert(pre_col, pre), convert(post_col, post)
    x, y = _sorted_pairs(pre_all, post_all)
    if len(x) < 2:
        raise InsufficientDataError(
            f"{label}: only {len(x)} person(s) have both a baseline ('{pre}') and a follow-up ('{post}') "
            f"{'value' if binary else 'score'}; a pre/post analysis needs at least 2 complete pairs."
        )
    return pre_all, post_all, x, y


def _baseline_only(baseline_only: pd.DataFrame | None, pre: str, binary: bool) -> np.ndarray:
    if baseline_only is None:
        return np.empty(0)
    col = _column(baseline_only, pre, "baseline-only")
    arr = _as_binary(col, pre) if binary else _as_numeric(col, pre)
    return arr[~np.isnan(arr)]


# --------------------------------------------------------------------------- #
# Continuous outcomes
# --------------------------------------------------------------------------- #
def _change_shares(pre: np.ndarray, post: np.ndarray, *, reliability: float, sd: float, sd_source: str,
                   higher_is_better: bool, cutoff: float | None, conf_level: float) -> ChangeShares:
    cats = classify_change(pre, post, reliability=reliability, sd=sd, higher_is_better=higher_is_better,
                           cutoff=cutoff)
    n = len(cats)
    k = cats.value_counts()
    counts = {"improved": int(k["improved"] + k["recovered"]), "deteriorated": int(k["deteriorated"]),
              "no_reliable_change": int(k["no_reliable_change"])}
    if cutoff is not None:
        counts["recovered"] = int(k["recovered"])
    rows = []
    for cat, cnt in counts.items():
        lo, hi = wilson_interval(cnt, n, conf_level)
        rows.append((f"reliably_{cat}" if cat in ("improved", "deteriorated") else cat, cnt, cnt / n, lo, hi))
    return ChangeShares(n=n, reliability=reliability, sd=sd, sd_source=sd_source,
                        threshold=reliable_change_threshold(reliability=reliability, sd=sd), cutoff=cutoff,
                        counts=tuple(rows))


def prepost_continuous(
    df: pd.DataFrame,
    *,
    pre: str,
    post: str,
    alpha: float = 0.05,
    higher_is_better: bool,
    reliability: float | None = None,
    sd_norm: float | None = None,
    clinical_cutoff: float | None = None,
    entry_threshold: float | None = None,
    norm_mean: float | None = None,
    baseline_only: pd.DataFrame | None = None,
    outcome_name: str = "",
) -> PrePostResult:
    """Change in a continuous score from before to after (post minus pre).

    Parameters
    ----------
    df
        One row per person; scores in columns ``pre`` and ``post`` (empty =
        not measured). Rows with only a baseline count as lost to follow-up.
    alpha
        1 - confidence level of every interval; significance level of warnings.
    higher_is_better
        Direction of improvement (True for wellbeing, False for SDQ difficulties).
    reliability, sd_norm
        Instrument reliability and norm SD for the reliable change index
        (Jacobson & Truax 1991). Without ``sd_norm`` the SD of all baseline
        scores is used. Without ``reliability`` no change shares are given.
    clinical_cutoff
        Last score of the functional range; adds the share "recovered".
    entry_threshold
        Baseline score that qualified people for the intervention (entry if at
        or beyond it on the "worse" side); triggers the regression-to-the-mean
        warning, sized when ``reliability`` and ``sd_norm`` or ``norm_mean`` are known.
    norm_mean
        Population mean of the score, for sizing regression to the mean.
    baseline_only
        Extra people (column ``pre``) who had a baseline but no follow-up.
    outcome_name
        Used in titles and messages.

    Returns
    -------
    PrePostResult
        Mean change with a t interval and paired t-test; Hodges–Lehmann
        pseudo-median with Wilcoxon signed-rank test; ``d_z``, ``d_av``,
        ``g_av``; change shares; attrition; evidence level SMS 1.

    Raises
    ------
    InsufficientDataError
        Fewer than 2 complete pairs, or no variation in the changes.
    """
    _check_alpha(alpha)
    conf = 1 - alpha
    label = outcome_name or post
    pre_all, post_all, x, y = _complete_pairs(df, pre, post, binary=False, label=label)
    n = len(x)
    diff = y - x
    if np.all(diff == diff[0]):
        what = "no one's score changed" if diff[0] == 0 else f"every person's score changed by exactly {diff[0]:g}"
        raise InsufficientDataError(
            f"{label}: {what} between '{pre}' and '{post}', so the change has no spread and no test or interval "
            "can be computed. Check that the two columns are not copies of each other."
        )
    for name, value in (("reliability", reliability), ("sd_norm", sd_norm)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise SpecError(f"{name} must be a positive number (got {value!r}).")

    extra = _baseline_only(baseline_only, pre, binary=False)
    attrition = attrition_summary(pre_all, post_all, extra, binary=False)
    warnings = attrition_warnings(attrition, alpha)

    tt = stats.ttest_rel(y, x)
    ci = tt.confidence_interval(conf)
    mean_change = float(np.mean(diff))
    se = float(np.std(diff, ddof=1)) / math.sqrt(n)
    t_est = Estimate("Mean change", mean_change, se, float(ci.low), float(ci.high), float(tt.pvalue),
                     "mean difference", "t interval", df=float(n - 1), level=conf)
    t_test = TestResult("Paired t-test", float(tt.statistic), float(n - 1), float(tt.pvalue), "paired t-test",
                        t_est.name)
    sr = signed_rank_test(diff, conf_level=conf)
    w_est = Estimate("Pseudo-median change (Hodges-Lehmann)", sr.estimate, math.nan, sr.ci_low, sr.ci_high,
                     sr.p_value, "median difference", "Walsh averages", level=conf)
    w_test = TestResult("Wilcoxon signed-rank test (V)", sr.statistic, None, sr.p_value, sr.method, w_est.name)
    if sr.note:
        warnings.append(f"Wilcoxon: {sr.note}.")

    entrants = np.concatenate([pre_all[~np.isnan(pre_all)], extra])
    shares = None
    if reliability is not None:
        sd_rci, sd_source = (sd_norm, "norm SD") if sd_norm is not None else (
            float(np.std(np.sort(entrants), ddof=1)), "SD of baseline scores")
        shares = _change_shares(x, y, reliability=reliability, sd=sd_rci, sd_source=sd_source,
                                higher_is_better=higher_is_better, cutoff=clinical_cutoff, conf_level=conf)
    rtm = None
    if entry_threshold is not None:
        rtm = regression_to_mean(entry_threshold=entry_threshold, higher_is_better=higher_is_better,
                                  reliability=reliability, sd_norm=sd_norm, norm_mean=norm_mean,
                                  entrants_baseline=np.sort(entrants), analysed_baseline=x)
        warnings.append(rtm_warning(rtm, mean_change))
    if n < SMALL_N:
        warnings.insert(0, f"Small sample: only {n} people have both measurements; estimates are imprecise and "
                           "the normal-theory intervals rely on the changes being roughly normal.")

    return PrePostResult(
        outcome_name=outcome_name, outcome_type="continuous", n_pairs=n, conf_level=conf,
        higher_is_better=higher_is_better, pre_mean=float(np.mean(x)), post_mean=float(np.mean(y)),
        pre_sd=float(np.std(x, ddof=1)), post_sd=float(np.std(y, ddof=1)),
        correlation=float(np.corrcoef(x, y)[0, 1]) if np.std(x) > 0 and np.std(y) > 0 else math.nan,
        estimates=(t_est, w_est), tests=(t_test, w_test),
        effect_sizes=paired_effect_sizes(x, y, conf_level=conf), attrition=attrition, change_shares=shares,
        regression_to_mean=rtm, table=None, evidence=EVIDENCE, warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------- #
# Binary outcomes
# --------------------------------------------------------------------------- #
def prepost_binary(
    df: pd.DataFrame,
    *,
    pre: str,
    post: str,
    alpha: float = 0.05,
    baseline_only: pd.DataFrame | None = None,
    outcome_name: str = "",
) -> PrePostResult:
    """Change in a yes/no outcome from before to after (post minus pre).

    Parameters
    ----------
    df
        One row per person; 1/0 (or True/False) in ``pre`` and ``post``,
        empty = not measured.
    alpha
        1 - confidence level of the intervals.
    baseline_only
        Extra people (column ``pre``) who had a baseline but no follow-up.

    Returns
    -------
    PrePostResult
        Proportions before and after (Wilson intervals), change in proportion
        (Newcombe 1998 method 10 interval), McNemar exact, corrected and
        uncorrected tests, the paired table, attrition; evidence SMS 1.

    Raises
    ------
    InsufficientDataError
        Fewer than 2 complete pairs, or no one changed (no discordant pairs,
        so McNemar's test cannot be computed).
    """
    _check_alpha(alpha)
    conf = 1 - alpha
    label = outcome_name or post
    pre_all, post_all, x, y = _complete_pairs(df, pre, post, binary=True, label=label)
    n = len(x)
    table = PairedTable(both_yes=int(np.sum((x == 1) & (y == 1))), yes_to_no=int(np.sum((x == 1) & (y == 0))),
                        no_to_yes=int(np.sum((x == 0) & (y == 1))), both_no=int(np.sum((x == 0) & (y == 0))))
    if table.discordant == 0:
        raise InsufficientDataError(
            f"{label}: none of the {n} people changed between '{pre}' and '{post}' (no one went from yes to no "
            "or from no to yes), so McNemar's test cannot be computed; the change in proportion is exactly 0."
        )
    extra = _baseline_only(baseline_only, pre, binary=True)
    attrition = attrition_summary(pre_all, post_all, extra, binary=True)
    warnings = attrition_warnings(attrition, alpha)

    mc = mcnemar_tests(table)
    delta, low, high = newcombe_paired_interval(table, conf)
    p_pre, p_post = (table.both_yes + table.yes_to_no) / n, (table.both_yes + table.no_to_yes) / n
    lo_pre, hi_pre = wilson_interval(table.both_yes + table.yes_to_no, n, conf)
    lo_post, hi_post = wilson_interval(table.both_yes + table.no_to_yes, n, conf)
    estimates = (
        Estimate("Change in proportion", delta, math.nan, low, high, mc.p_exact, "risk difference",
                 "Newcombe (1998) method 10 interval", level=conf),
        Estimate("Proportion before", p_pre, math.nan, lo_pre, hi_pre, math.nan, "proportion", "Wilson interval", level=conf),
        Estimate("Proportion after", p_post, math.nan, lo_post, hi_post, math.nan, "proportion", "Wilson interval", level=conf),
    )
    tests = (
        TestResult("McNemar exact test", float(table.yes_to_no), None, mc.p_exact,
                   "exact binomial test: yes-to-no among discordant pairs vs 1/2 (R binom.test)",
                   "Change in proportion"),
        TestResult("McNemar chi-square, continuity corrected", mc.chi2_corrected, 1.0, mc.p_corrected,
                   "as R mcnemar.test(correct = TRUE)"),
        TestResult("McNemar chi-square, uncorrected", mc.chi2_uncorrected, 1.0, mc.p_uncorrected,
                   "as R mcnemar.test(correct = FALSE)"),
    )
    if n < SMALL_N:
        warnings.insert(0, f"Small sample: only {n} people have both measurements; estimates are imprecise.")
    if table.discordant < 10:
        warnings.append(f"Only {table.discordant} people changed; rely on the exact McNemar test, not the "
                        "chi-square versions.")
    return PrePostResult(
        outcome_name=outcome_name, outcome_type="binary", n_pairs=n, conf_level=conf, higher_is_better=None,
        pre_mean=p_pre, post_mean=p_post, pre_sd=None, post_sd=None, correlation=None, estimates=estimates,
        tests=tests, effect_sizes=(), attrition=attrition, change_shares=None, regression_to_mean=None,
        table=table, evidence=EVIDENCE, warnings=tuple(warnings),
    )


__all__ = [
    "Attrition",
    "ChangeShares",
    "PrePostResult",
    "RegressionToMean",
    "TestResult",
    "prepost_binary",
    "prepost_continuous",
]
