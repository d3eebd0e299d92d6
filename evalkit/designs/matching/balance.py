"""Covariate balance before and after matching (cobalt / MatchIt ``summary()`` conventions).

For each covariate (each level of a categorical one, as a 0/1 column):

* means in each group, weighted by the matching weights after matching;
* standardised mean difference for continuous covariates: difference in means
  divided by the SD of the *treated group in the unmatched sample* (the ATT
  denominator, cobalt's ``s.d.denom = "treated"``; the same denominator before
  and after matching so only the numerator moves). For binary covariates the raw
  difference in proportions is reported (cobalt's default ``binary = "raw"``);
  ``binary="std"`` standardises them by sqrt(p(1-p)) of the treated, as MatchIt;
* variance ratio treated/comparison (continuous only; weighted variances with
  the reliability-weights correction, as ``cov.wt``);
* eCDF mean and max (Kolmogorov–Smirnov) distance between the weighted
  empirical CDFs; for binary covariates both equal the absolute difference.

Flags follow the What Works Clearinghouse standards (Procedures Handbook v5):
|difference| <= 0.05 satisfies, 0.05–0.25 needs statistical adjustment, > 0.25
fails.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.errors import SpecError
from evalkit.results import ResultMixin

from ._data import _is_categorical, _levels, require_columns
from .match import MatchResult

WWC_SATISFIES = 0.05
WWC_ADJUST = 0.25


def wwc_flag(value: float) -> str:
    """What Works Clearinghouse reading of a standardised (or raw binary) difference."""
    a = abs(value)
    if a <= WWC_SATISFIES:
        return "satisfies"
    if a <= WWC_ADJUST:
        return "needs adjustment"
    return "fails"


@dataclass(frozen=True)
class BalanceResult(ResultMixin):
    """Balance statistics per covariate column, before and after matching (aggregates only)."""

    table: tuple[dict, ...]
    threshold: float
    binary: str
    n_treated: int
    n_control: int
    warnings: tuple[str, ...] = ()
    title: str = "Covariate balance (ATT; SMD denominator: SD of all participants)"

    def _rows(self) -> list[dict]:
        return [dict(r) for r in self.table]

    @property
    def unbalanced(self) -> tuple[str, ...]:
        """Covariate columns whose |difference| after matching exceeds ``threshold``."""
        return tuple(r["covariate"] for r in self.table if abs(r["diff_after"]) > self.threshold)

    @property
    def balanced(self) -> bool:
        return not self.unbalanced


def _expand(frame: pd.DataFrame, covariates: list[str]) -> list[tuple[str, np.ndarray]]:
    out = []
    for cov in covariates:
        s = frame[cov]
        if _is_categorical(s):
            for lev in _levels(s):
                out.append((f"{cov}[{lev}]", (s == lev).to_numpy(dtype=np.float64)))
        else:
            out.append((cov, s.to_numpy(dtype=np.float64)))
    return out


def _wmean(x: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * x) / np.sum(w))


def _wvar(x: np.ndarray, w: np.ndarray) -> float:
    w = w / w.sum()
    m = np.sum(w * x)
    return float(np.sum(w * (x - m) ** 2) / (1.0 - np.sum(w ** 2)))


def _ecdf_stats(x: np.ndarray, t: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Mean and max |F_treated - F_comparison| over the distinct values of x (weighted eCDFs).

    As MatchIt's ``summary()``, the evaluation points are the distinct values in
    the whole sample, including unmatched units (weight 0).
    """
    wn = np.where(t == 1, w / w[t == 1].sum(), -w / w[t == 0].sum())
    order = np.argsort(x, kind="stable")
    xs = x[order]
    diff = np.abs(np.cumsum(wn[order]))
    last = np.r_[xs[1:] != xs[:-1], True]
    d = diff[last]
    return float(d.mean()), float(d.max())


def _stats(x: np.ndarray, t: np.ndarray, w: np.ndarray, sd: float, is_bin: bool, std_binary: bool) -> dict:
    mt, mc = _wmean(x[t == 1], w[t == 1]), _wmean(x[t == 0], w[t == 0])
    diff = mt - mc
    if is_bin:
        stat = diff / sd if std_binary and sd > 0 else diff
        return dict(mean_t=mt, mean_c=mc, diff=stat, var_ratio=np.nan, ecdf_mean=abs(diff), ecdf_max=abs(diff))
    vr = _wvar(x[t == 1], w[t == 1]) / _wvar(x[t == 0], w[t == 0])
    em, ex = _ecdf_stats(x, t, w)
    return dict(mean_t=mt, mean_c=mc, diff=diff / sd, var_ratio=vr, ecdf_mean=em, ecdf_max=ex)


def balance_table(data: pd.DataFrame, match_result: MatchResult, covariates: list[str] | None = None, *,
                  binary: str = "raw", threshold: float = WWC_ADJUST) -> BalanceResult:
    """Balance of ``covariates`` (default: the matching covariates) before and after matching.

    Parameters
    ----------
    binary
        "raw" (difference in proportions, cobalt default) or "std" (standardised).
    threshold
        |difference| above which a covariate counts as unbalanced (default 0.25,
        the WWC limit; used for the evidence level).
    """
    if binary not in ("raw", "std"):
        raise SpecError(f"binary must be 'raw' or 'std', not {binary!r}.")
    covariates = list(covariates or match_result.covariates)
    frame = _aligned(data, match_result, covariates)
    t = match_result.units["treated"].to_numpy()
    w_after = match_result.units["weight"].to_numpy()
    ones = np.ones(t.size)
    rows = []
    for name, x in _expand(frame, covariates):
        is_bin = bool(np.isin(x, (0.0, 1.0)).all())
        xt = x[t == 1]
        sd = float(np.sqrt(xt.mean() * (1 - xt.mean()))) if is_bin else float(np.std(xt, ddof=1))
        if sd == 0:
            sd = float(np.std(x, ddof=1))  # constant among participants: fall back to the pooled SD
        before = _stats(x, t, ones, sd, is_bin, binary == "std")
        after = _stats(x, t, w_after, sd, is_bin, binary == "std")
        rows.append({
            "covariate": name, "type": "binary" if is_bin else "continuous",
            "mean_treated_before": before["mean_t"], "mean_comparison_before": before["mean_c"],
            "diff_before": before["diff"],
            "mean_treated_after": after["mean_t"], "mean_comparison_after": after["mean_c"],
            "diff_after": after["diff"],
            "var_ratio_before": before["var_ratio"], "var_ratio_after": after["var_ratio"],
            "ecdf_mean_before": before["ecdf_mean"], "ecdf_mean_after": after["ecdf_mean"],
            "ecdf_max_before": before["ecdf_max"], "ecdf_max_after": after["ecdf_max"],
            "wwc_after": wwc_flag(after["diff"]),
        })
    return BalanceResult(table=tuple(rows), threshold=threshold, binary=binary,
                         n_treated=match_result.n_treated_matched, n_control=match_result.n_control_matched)


def _aligned(data: pd.DataFrame, match_result: MatchResult, columns: list[str]) -> pd.DataFrame:
    """Rows of ``data`` in the order of ``match_result.units`` (id order)."""
    id_col = match_result.id_col
    require_columns(data, [id_col, *columns])
    ids = match_result.units[id_col]
    frame = data[[id_col, *[c for c in columns if c != id_col]]].drop_duplicates(id_col).set_index(id_col)
    missing = ~ids.isin(frame.index)
    if missing.any():
        raise SpecError(f"{int(missing.sum())} matched id(s) are not in the data passed; pass the same "
                        "data frame that was matched.")
    return frame.loc[ids.to_numpy()].reset_index()
