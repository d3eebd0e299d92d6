"""Shared pieces of the difference-in-differences estimators.

Input checks that speak to evaluators, panel coding (unit x period codes,
balance), t intervals, the Wald pre-trend test and the evidence rule (Maryland
SMS 3, or 2 when pre-trends fail). The cluster-robust covariance (CR1, as
Stata ``regress, vce(cluster)``, ``reghdfe`` and R ``fixest``/pyfixest, with
tests and intervals on t with ``G - 1`` degrees of freedom) is
:func:`evalkit.designs._sandwich.cluster_vcov`, shared with the matching
design and re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.designs._checks import require_columns
from evalkit.designs._sandwich import ClusterVcov, cluster_vcov
from evalkit.errors import SpecError
from evalkit.results import SMS, Estimate, EvidenceLevel


def numeric(df: pd.DataFrame, column: str, *, what: str) -> np.ndarray:
    """A column as float64, with a plain message if it is not numeric."""
    values = df[column]
    if values.dtype == bool:
        return values.to_numpy(dtype=float)
    try:
        return pd.to_numeric(values, errors="raise").to_numpy(dtype=float)
    except (ValueError, TypeError) as exc:
        raise SpecError(
            f"{what}: column {column!r} must be numeric (found values such as "
            f"{values.dropna().astype(str).head(3).tolist()}). Fix: recode it as numbers."
        ) from exc


def binary(df: pd.DataFrame, column: str, *, what: str) -> np.ndarray:
    """A 0/1 (or boolean) column as float64; anything else is an error."""
    x = numeric(df, column, what=what)
    ok = np.isnan(x) | (x == 0) | (x == 1)
    if not ok.all():
        bad = np.unique(x[~ok])[:3].tolist()
        raise SpecError(f"{what}: column {column!r} must be 0/1 or True/False (found {bad}). Fix: recode it.")
    return x


def codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes 0..k-1 in sorted order of the levels (so row order never matters)."""
    c, levels = pd.factorize(pd.Series(values), sort=True)
    return c.astype(np.intp), np.asarray(levels)


def t_estimate(name: str, est: float, se: float, df: float | None, *, alpha: float, scale: str,
               method: str = "") -> Estimate:
    """An :class:`Estimate` with a t (``df`` given) or normal (``df`` None) interval."""
    if df is None:
        q = stats.norm.ppf(1 - alpha / 2)
        p = 2 * stats.norm.sf(abs(est / se)) if se > 0 else float("nan")
    else:
        q = stats.t.ppf(1 - alpha / 2, df)
        p = 2 * stats.t.sf(abs(est / se), df) if se > 0 else float("nan")
    return Estimate(name=name, estimate=float(est), se=float(se), ci_low=float(est - q * se),
                    ci_high=float(est + q * se), p_value=float(p), scale=scale, method=method,
                    df=None if df is None else float(df), level=1 - alpha)


@dataclass(frozen=True)
class PreTrendTest:
    """Joint test that all pre-period effects are zero (parallel-trends evidence)."""

    statistic: float
    df_num: int
    df_den: float | None  # None: chi-squared; else F(df_num, df_den)
    p_value: float
    distribution: str

    def __str__(self) -> str:
        if self.df_den is None:
            return f"pre-trend test chi2({self.df_num}) = {self.statistic:.3f}, p = {self.p_value:.3f}"
        return f"pre-trend test F({self.df_num}, {self.df_den:g}) = {self.statistic:.3f}, p = {self.p_value:.3f}"


def wald_test(b: np.ndarray, v: np.ndarray, *, df_den: float | None) -> PreTrendTest:
    """Wald test of b = 0 with covariance v: F(q, df_den) = W/q, or chi2(q) if df_den is None."""
    q = len(b)
    w = float(b @ np.linalg.solve(v, b))
    if df_den is None:
        return PreTrendTest(w, q, None, float(stats.chi2.sf(w, q)), "chi-squared")
    f = w / q
    return PreTrendTest(f, q, float(df_den), float(stats.f.sf(f, q, df_den)), "F")


def did_evidence(pretrend: PreTrendTest | None, *, alpha: float, design: str,
                 untested: str = "needs two or more pre-periods") -> EvidenceLevel:
    """SMS 3 for a DiD design; SMS 2 if the pre-trend test rejects at ``alpha``."""
    if pretrend is None:
        return EvidenceLevel(SMS.LEVEL_3, f"{design}: before/after with a comparison group; parallel "
                             f"trends assumed but not tested here ({untested}).")
    if pretrend.p_value < alpha:
        return EvidenceLevel(SMS.LEVEL_2, f"{design}: downgraded from 3 because the groups' trends "
                             f"differed before the start ({pretrend}; below {alpha:g}), so the "
                             "comparison group may not show what would have happened.")
    return EvidenceLevel(SMS.LEVEL_3, f"{design}: comparison group with no evidence of differing "
                         f"pre-trends ({pretrend}).")


__all__ = ["ClusterVcov", "PreTrendTest", "binary", "cluster_vcov", "codes", "did_evidence", "numeric",
           "require_columns", "t_estimate", "wald_test"]
