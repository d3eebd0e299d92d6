"""Pre/post design: participants measured before and after, no comparison group.

Two entry points, both taking an ordinary :class:`pandas.DataFrame` with one row
per person and the two scores in named columns:

* :func:`prepost_continuous` — paired t-test (:func:`scipy.stats.ttest_rel`),
  Wilcoxon signed-rank test with Hodges–Lehmann estimate and interval (as R's
  ``wilcox.test``, see :mod:`evalkit.designs.prepost_wilcoxon`), effect sizes
  ``d_z``, ``d_av``, ``g_av`` with intervals
  (:mod:`evalkit.designs.prepost_effects`), shares reliably improved /
  deteriorated / recovered (Jacobson & Truax 1991, via
  :mod:`evalkit.measures.change`).
* :func:`prepost_binary` — McNemar tests and the change in proportion with
  Newcombe's interval (:mod:`evalkit.designs.prepost_binary`).

Both report attrition (who had a baseline, who had both, whether those lost
differed at baseline) and, for continuous outcomes, the regression to the mean
expected when entry depended on the baseline score. Every result carries
Maryland SMS level 1: a before/after change cannot separate the intervention's
effect from maturation, regression to the mean or anything else that happened
meanwhile.

Change is always post minus pre. Results hold aggregates only. Rows are sorted
before any arithmetic, so row order never changes a result.

Regression to the mean (Barnett, van der Pols & Dobson 2005, *Int J Epidemiol*
34, 215-220): with test-retest correlation ``r`` (the instrument's
reliability), population mean ``mu`` and baseline mean ``m1`` of those analysed,
the change expected with no intervention at all is ``(1 - r) * (mu - m1)``.
When ``mu`` is not given it is inferred from the entrants' baseline mean by
assuming a normal population with SD ``sd_norm`` truncated at the entry
threshold (the same model behind Barnett et al.'s eq. 2,
``RTM = sigma (1 - r) phi(z) / (1 - Phi(z))``).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.stats.proportion import proportion_confint

from evalkit.designs.prepost_binary import (
    PairedTable,
    mcnemar_tests,
    newcombe_paired_interval,
    wilson_interval,
)
from evalkit.designs.prepost_effects import EffectSize, paired_effect_sizes
from evalkit.designs.prepost_wilcoxon import signed_rank_test
from evalkit.errors import DataError, InsufficientDataError, MissingDataError, Problem, SpecError
from evalkit.measures.change import classify_change, reliable_change_threshold
from evalkit.results import SMS, Estimate, EvidenceLevel, ResultMixin

#: Fewer complete pairs than this draws a "small sample" warning.
SMALL_N = 20
#: Losing more than this share of those with a baseline draws a warning
#: (the "5-and-20" rule of thumb, Schulz & Grimes 2002, *Lancet* 359, 781).
HIGH_ATTRITION = 0.20
#: What Works Clearinghouse (Standards Handbook v5.0): a baseline difference
#: above 0.25 SD means the groups are not comparable.
WWC_SMD_LIMIT = 0.25

EVIDENCE = EvidenceLevel(SMS.LEVEL_1, "before/after with no comparison group")
_SOURCE = "input table"


# --------------------------------------------------------------------------- #
# Result objects
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class TestResult:
    """One hypothesis test (aggregates only)."""

    name: str
    statistic: float
    df: float | None
    p_value: float
    method: str
    estimate_name: str = ""  # the estimate this test goes with (shown on one row)


@dataclass(frozen=True)
class Attrition:
    """Who had a baseline, who had both measurements, and whether those lost differed.

    ``baseline_smd`` is (completers - lost) / sqrt((var_completers + var_lost) / 2)
    of the baseline scores (for binary outcomes the same with ``p(1 - p)`` as
    variances). ``baseline_p`` is Welch's t-test (continuous) or Fisher's exact
    test (binary) of the same comparison.
    """

    n_baseline: int
    n_complete: int
    n_lost: int
    n_post_only: int
    share_lost: float
    baseline_mean_complete: float
    baseline_mean_lost: float
    baseline_smd: float
    baseline_p: float
    baseline_test: str

    def _rows(self) -> list[dict]:
        return [
            {"quantity": "had a baseline measurement", "value": self.n_baseline},
            {"quantity": "had both measurements (analysed)", "value": self.n_complete},
            {"quantity": "lost (baseline but no follow-up)", "value": self.n_lost},
            {"quantity": "share lost", "value": self.share_lost},
            {"quantity": "follow-up without baseline (not analysed)", "value": self.n_post_only},
            {"quantity": "baseline mean, analysed", "value": self.baseline_mean_complete},
            {"quantity": "baseline mean, lost", "value": self.baseline_mean_lost},
            {"quantity": "baseline SMD (analysed - lost)", "value": self.baseline_smd},
            {"quantity": f"baseline difference p ({self.baseline_test})", "value": self.baseline_p},
        ]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self._rows())


@dataclass(frozen=True)
class ChangeShares:
    """Shares of people by reliable change category (Jacobson & Truax 1991).

    ``improved`` counts everyone with a reliable improvement, including those
    ``recovered`` (improved and crossed the clinical cut-off). Intervals are
    Wilson score intervals.
    """

    n: int
    reliability: float
    sd: float
    sd_source: str
    threshold: float
    cutoff: float | None
    counts: tuple[tuple[str, int, float, float, float], ...]  # (category, count, share, low, high)

    def _rows(self) -> list[dict]:
        return [{"category": c, "count": k, "share": s, "ci_low": lo, "ci_high": hi}
                for c, k, s, lo, hi in self.counts]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self._rows())

    def share(self, category: str) -> float:
        return next(s for c, _, s, _, _ in self.counts if c == category)


@dataclass(frozen=True)
class RegressionToMean:
    """Change expected from regression to the mean alone (Barnett et al. 2005)."""

    entry_threshold: float
    entry_side: str  # "at or above" / "at or below"
    reliability: float | None
    sd_norm: float | None
    population_mean: float | None
    population_mean_source: str
    baseline_mean: float
    expected_change: float | None


@dataclass(frozen=True)
class PrePostResult(ResultMixin):
    """Result of a pre/post analysis (aggregates only).

    ``estimates`` hold the change estimates (mean change, Hodges–Lehmann
    pseudo-median; or change in proportion), ``tests`` the hypothesis tests,
    ``effect_sizes`` the standardised effects. See :meth:`to_frame`.
    """

    outcome_name: str
    outcome_type: str  # "continuous" | "binary"
    n_pairs: int
    conf_level: float
    higher_is_better: bool | None
    pre_mean: float
    post_mean: float
    pre_sd: float | None
    post_sd: float | None
    correlation: float | None
    estimates: tuple[Estimate, ...]
    tests: tuple[TestResult, ...]
    effect_sizes: tuple[EffectSize, ...]
    attrition: Attrition
    change_shares: ChangeShares | None
    regression_to_mean: RegressionToMean | None
    table: PairedTable | None
    evidence: EvidenceLevel
    warnings: tuple[str, ...]

    @property
    def title(self) -> str:  # type: ignore[override]
        name = self.outcome_name or "outcome"
        return f"Pre/post change in {name} ({self.n_pairs} people with both measurements)"

    def estimate(self, name_start: str) -> Estimate:
        """The estimate whose name starts with ``name_start``."""
        return next(e for e in self.estimates if e.name.startswith(name_start))

    def test(self, name_start: str) -> TestResult:
        """The test whose name starts with ``name_start``."""
        return next(t for t in self.tests if t.name.startswith(name_start))

    def effect_size(self, name_start: str) -> EffectSize:
        """The effect size whose name starts with ``name_start``."""
        return next(e for e in self.effect_sizes if e.name.startswith(name_start))

    def _rows(self) -> list[dict]:
        level = f"{self.conf_level:.0%}"
        rows: list[dict] = []
        tests = list(self.tests)
        for est in self.estimates:
            row = {"quantity": est.name, "estimate": est.estimate, "ci_low": est.ci_low, "ci_high": est.ci_high,
                   "statistic": math.nan, "df": math.nan, "p_value": est.p_value, "method": est.method}
            # An estimate and the test that goes with it share one row.
            match = next((t for t in tests if t.estimate_name == est.name), None)
            if match is not None:
                tests.remove(match)
                row.update(statistic=match.statistic, df=match.df if match.df is not None else math.nan,
                           method=f"{est.method}; {match.method}")
            rows.append(row)
        for t in tests:
            rows.append({"quantity": t.name, "estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                         "statistic": t.statistic, "df": t.df if t.df is not None else math.nan,
                         "p_value": t.p_value, "method": t.method})
        for es in self.effect_sizes:
            rows.append({"quantity": es.name, "estimate": es.estimate, "ci_low": es.ci_low, "ci_high": es.ci_high,
                         "statistic": math.nan, "df": math.nan, "p_value": math.nan, "method": es.method})
        if self.change_shares is not None:
            for c, k, s, lo, hi in self.change_shares.counts:
                rows.append({"quantity": f"share {c.replace('_', ' ')} ({k} of {self.change_shares.n})",
                             "estimate": s, "ci_low": lo, "ci_high": hi, "statistic": math.nan, "df": math.nan,
                             "p_value": math.nan, "method": "Jacobson-Truax RCI; Wilson interval"})
        for row in rows:
            row["ci_level"] = level
        return rows

    def _notes(self) -> list[str]:
        a = self.attrition
        if self.outcome_type == "continuous":
            desc = (f"Mean before {self.pre_mean:.4g} (SD {self.pre_sd:.3g}), after {self.post_mean:.4g} "
                    f"(SD {self.post_sd:.3g}); correlation {self.correlation:.2f}.")
        else:
            t = self.table
            desc = (f"Proportion before {self.pre_mean:.1%}, after {self.post_mean:.1%}; "
                    f"{t.yes_to_no} went from yes to no, {t.no_to_yes} from no to yes.")
        lost = (f"{a.n_complete} of {a.n_baseline} people with a baseline also had a follow-up "
                f"({a.share_lost:.0%} lost).")
        return [desc, lost, *super()._notes()]

    def _repr_html_(self) -> str:
        frame = self.to_frame().drop(columns=["ci_level"])
        body = frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0, na_rep="")
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self._notes())
        level = f"{self.conf_level:.0%} confidence intervals; change is after minus before."
        return (f"<div class='evalkit-result'><h4>{html.escape(self.title)}</h4>"
                f"<p>{html.escape(level)}</p>{body}<ul>{notes}</ul></div>")


# --------------------------------------------------------------------------- #
# Input checking
# --------------------------------------------------------------------------- #
def _column(df: pd.DataFrame, col: str, role: str) -> pd.Series:
    if not isinstance(df, pd.DataFrame):
        raise SpecError(f"expected a pandas DataFrame for the {role} data (got {type(df).__name__}).")
    if col not in df.columns:
        raise MissingDataError(
            f"column '{col}' ({role} score) not found; the table has columns {', '.join(map(str, df.columns))}. "
            f"Name the right column in pre=/post=."
        )
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


def _baseline_only(baseline_only: pd.DataFrame | None, pre: str, binary: bool) -> np.ndarray:
    if baseline_only is None:
        return np.empty(0)
    col = _column(baseline_only, pre, "baseline-only")
    arr = _as_binary(col, pre) if binary else _as_numeric(col, pre)
    return arr[~np.isnan(arr)]


# --------------------------------------------------------------------------- #
# Attrition
# --------------------------------------------------------------------------- #
def _attrition(pre: np.ndarray, post: np.ndarray, extra_lost: np.ndarray, *, binary: bool) -> Attrition:
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


def _attrition_warnings(a: Attrition, alpha: float) -> list[str]:
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


def _regression_to_mean(
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


def _rtm_warning(rtm: RegressionToMean, mean_change: float) -> str:
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
        lo, hi = proportion_confint(cnt, n, alpha=1 - conf_level, method="wilson")
        rows.append((f"reliably_{cat}" if cat in ("improved", "deteriorated") else cat,
                     cnt, cnt / n, float(lo), float(hi)))
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
    pre_all = _as_numeric(_column(df, pre, "baseline"), pre)
    post_all = _as_numeric(_column(df, post, "follow-up"), post)
    x, y = _sorted_pairs(pre_all, post_all)
    n = len(x)
    if n < 2:
        raise InsufficientDataError(
            f"{label}: only {n} person(s) have both a baseline ('{pre}') and a follow-up ('{post}') score; "
            "a pre/post analysis needs at least 2 complete pairs."
        )
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
    attrition = _attrition(pre_all, post_all, extra, binary=False)
    warnings = _attrition_warnings(attrition, alpha)

    tt = stats.ttest_rel(y, x)
    ci = tt.confidence_interval(conf)
    mean_change = float(np.mean(diff))
    se = float(np.std(diff, ddof=1)) / math.sqrt(n)
    t_est = Estimate("Mean change", mean_change, se, float(ci.low), float(ci.high), float(tt.pvalue),
                     "mean difference", "t interval", df=float(n - 1))
    t_test = TestResult("Paired t-test", float(tt.statistic), float(n - 1), float(tt.pvalue), "paired t-test",
                        t_est.name)
    sr = signed_rank_test(diff, conf_level=conf)
    w_est = Estimate("Pseudo-median change (Hodges-Lehmann)", sr.estimate, math.nan, sr.ci_low, sr.ci_high,
                     sr.p_value, "median difference", "Walsh averages")
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
        rtm = _regression_to_mean(entry_threshold=entry_threshold, higher_is_better=higher_is_better,
                                  reliability=reliability, sd_norm=sd_norm, norm_mean=norm_mean,
                                  entrants_baseline=np.sort(entrants), analysed_baseline=x)
        warnings.append(_rtm_warning(rtm, mean_change))
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
    pre_all = _as_binary(_column(df, pre, "baseline"), pre)
    post_all = _as_binary(_column(df, post, "follow-up"), post)
    x, y = _sorted_pairs(pre_all, post_all)
    n = len(x)
    if n < 2:
        raise InsufficientDataError(
            f"{label}: only {n} person(s) have both a baseline ('{pre}') and a follow-up ('{post}') value; "
            "a pre/post analysis needs at least 2 complete pairs."
        )
    table = PairedTable(both_yes=int(np.sum((x == 1) & (y == 1))), yes_to_no=int(np.sum((x == 1) & (y == 0))),
                        no_to_yes=int(np.sum((x == 0) & (y == 1))), both_no=int(np.sum((x == 0) & (y == 0))))
    if table.discordant == 0:
        raise InsufficientDataError(
            f"{label}: none of the {n} people changed between '{pre}' and '{post}' (no one went from yes to no "
            "or from no to yes), so McNemar's test cannot be computed; the change in proportion is exactly 0."
        )
    extra = _baseline_only(baseline_only, pre, binary=True)
    attrition = _attrition(pre_all, post_all, extra, binary=True)
    warnings = _attrition_warnings(attrition, alpha)

    mc = mcnemar_tests(table)
    delta, low, high = newcombe_paired_interval(table, conf)
    p_pre, p_post = (table.both_yes + table.yes_to_no) / n, (table.both_yes + table.no_to_yes) / n
    lo_pre, hi_pre = wilson_interval(table.both_yes + table.yes_to_no, n, conf)
    lo_post, hi_post = wilson_interval(table.both_yes + table.no_to_yes, n, conf)
    estimates = (
        Estimate("Change in proportion", delta, math.nan, low, high, mc.p_exact, "risk difference",
                 "Newcombe (1998) method 10 interval"),
        Estimate("Proportion before", p_pre, math.nan, lo_pre, hi_pre, math.nan, "proportion", "Wilson interval"),
        Estimate("Proportion after", p_post, math.nan, lo_post, hi_post, math.nan, "proportion", "Wilson interval"),
    )
    tests = (
        TestResult("McNemar exact test", float(min(table.yes_to_no, table.no_to_yes)), None, mc.p_exact,
                   "exact binomial test of discordant pairs", "Change in proportion"),
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
