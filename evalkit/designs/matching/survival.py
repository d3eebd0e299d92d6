"""Time to reoffend in a matched sample: weighted Kaplan–Meier curves and a Cox model (lifelines).

Cox: ``CoxPHFitter`` (Efron ties) on the matched sample with the matching
weights gives the hazard ratio and the information matrix. The robust SE is
computed here, as R ``coxph(..., weights = weights, cluster = subclass)`` does:
``V = I^-1 B I^-1`` with ``B`` the sum over matched sets of the weighted Efron
score residuals (Therneau & Grambsch 2000, ch. 7; no small-sample factor);
with replacement each person is their own cluster (``robust = TRUE``).
Hand-written because lifelines' robust variance uses score residuals that
ignore the Efron tie correction, so its SE differs from R's when follow-up
times are tied (whole days). The result keeps the survival curves only at grid
times (aggregates), never individual times.
"""

from __future__ import annotations

import warnings as _warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from scipy import stats

from evalkit.errors import InsufficientDataError
from evalkit.results import DesignResult, Estimate, EvidenceLevel

from .balance import BalanceResult, balance_table
from .effects import _matched_frame, evidence_from_balance
from .match import MatchResult


@dataclass(frozen=True)
class SurvivalResult(DesignResult):
    """Weighted KM survival at grid times by group, and the Cox hazard ratio (aggregates only)."""

    hazard_ratio: Estimate
    curves: tuple[dict, ...]  # {"time", "survival_participants", "survival_comparison"}
    n_treated: int
    n_control: int
    events_treated: int
    events_control: int
    evidence: EvidenceLevel
    warnings: tuple[str, ...] = ()
    title: str = "Time to event, matched comparison (Cox model and Kaplan–Meier)"

    @property
    def effect(self) -> Estimate:
        """The headline: the hazard ratio."""
        return self.hazard_ratio

    @property
    def estimates(self) -> tuple[Estimate, ...]:
        return (self.hazard_ratio,)

    @property
    def n(self) -> int:
        return self.n_treated

    @property
    def n_comparison(self) -> int:
        return self.n_control

    def curves_frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.curves))


def efron_score_residuals(time: np.ndarray, event: np.ndarray, X: np.ndarray, w: np.ndarray,
                          beta: np.ndarray) -> np.ndarray:
    """Per-person Cox score residuals with Efron's tie correction (unweighted, as R ``residuals(fit, "score")``).

    ``sum_i w_i r_i`` is the weighted score, zero at the MLE.
    """
    n, p = X.shape
    risk = np.exp(X @ beta)
    wr = w * risk
    taus, j_of_death = np.unique(time[event == 1], return_inverse=True)
    m = taus.size
    # risk-set sums at each death time: units with time >= tau_j
    first_at_risk = np.searchsorted(np.sort(time), taus, side="left")
    order = np.argsort(time, kind="stable")
    tail0 = np.r_[np.cumsum(wr[order][::-1])[::-1], 0.0]
    tail1 = np.vstack([np.cumsum((wr[order, None] * X[order])[::-1], axis=0)[::-1], np.zeros((1, p))])
    s0, s1 = tail0[first_at_risk], tail1[first_at_risk]
    dead_idx = np.flatnonzero(event == 1)
    d = np.bincount(j_of_death, minlength=m)
    s0d = np.bincount(j_of_death, weights=wr[dead_idx], minlength=m)
    s1d = np.column_stack([np.bincount(j_of_death, weights=wr[dead_idx] * X[dead_idx, c], minlength=m)
                           for c in range(p)])
    wd = np.bincount(j_of_death, weights=w[dead_idx], minlength=m)
    h_all, hx_all = np.zeros(m), np.zeros((m, p))
    h_dead, hx_dead, xbar_mean = np.zeros(m), np.zeros((m, p)), np.zeros((m, p))
    for j in range(m):  # Efron: the k-th of d tied deaths removes k/d of the deaths' risk
        frac = np.arange(d[j]) / d[j]
        denom = s0[j] - frac * s0d[j]
        xbar = (s1[j][None, :] - frac[:, None] * s1d[j][None, :]) / denom[:, None]
        haz = (wd[j] / d[j]) / denom
        h_all[j], hx_all[j] = haz.sum(), haz @ xbar
        h_dead[j], hx_dead[j] = ((1 - frac) * haz).sum(), ((1 - frac) * haz) @ xbar
        xbar_mean[j] = xbar.mean(axis=0)
    # compensator over death times up to each person's own time: cumulative sums
    n_times = np.searchsorted(taus, time, side="right")  # death times <= T_i
    cum_h = np.r_[0.0, np.cumsum(h_all)][n_times]
    cum_hx = np.vstack([np.zeros((1, p)), np.cumsum(hx_all, axis=0)])[n_times]
    resid = -risk[:, None] * (cum_h[:, None] * X - cum_hx)
    # the dead at their own time: scale (1 - k/d) instead of 1, plus the dN term
    jd = j_of_death
    xd = X[dead_idx]
    resid[dead_idx] += risk[dead_idx, None] * ((h_all[jd] - h_dead[jd])[:, None] * xd - (hx_all[jd] - hx_dead[jd]))
    resid[dead_idx] += xd - xbar_mean[jd]
    return resid


def _polish(df: pd.DataFrame, beta: float, inv_info: float) -> float:
    """A few Newton steps on the Efron score: lifelines can stop ~1e-7 short of the MLE."""
    X = df[["A"]].to_numpy(float)
    T, E, w = df["T"].to_numpy(float), df["E"].to_numpy(float), df["w"].to_numpy(float)
    for _ in range(5):
        score = float(w @ efron_score_residuals(T, E, X, w, np.array([beta]))[:, 0])
        step = inv_info * score
        beta += step
        if abs(step) < 1e-13 * (1 + abs(beta)):
            break
    return beta


def _robust_se(df: pd.DataFrame, beta: float, inv_info: float, clusters: np.ndarray) -> float:
    X = df[["A"]].to_numpy(float)
    r = efron_score_residuals(df["T"].to_numpy(float), df["E"].to_numpy(float), X, df["w"].to_numpy(float),
                              np.array([beta]))
    contrib = df["w"].to_numpy(float)[:, None] * r
    codes, inv = np.unique(clusters, return_inverse=True)
    summed = np.zeros((codes.size, 1))
    np.add.at(summed, inv, contrib)
    return float(np.sqrt(inv_info * (summed.T @ summed).item() * inv_info))


def _default_grid(duration: np.ndarray) -> np.ndarray:
    return np.unique(np.quantile(duration, [0.1, 0.25, 0.5, 0.75, 0.9]).round(6))


def survival_att(data: pd.DataFrame, match_result: MatchResult, *, duration: str, event: str,
                 times: list[float] | None = None, balance: BalanceResult | None = None,
                 alpha: float = 0.05) -> SurvivalResult:
    """Kaplan–Meier curves (weighted) and Cox hazard ratio of participants vs matched comparisons.

    Parameters
    ----------
    duration, event
        Follow-up time (> 0) and event indicator (1 = reoffended, 0 = censored).
    times
        Grid at which survival is reported (default: deciles/quartiles of follow-up).
    alpha
        1 - confidence level of the hazard ratio's Wald interval (0.05: 95%).
    """
    if not 0 < alpha < 1:
        raise InsufficientDataError(f"alpha must be between 0 and 1 (got {alpha!r}); 0.05 gives 95% intervals.")
    frame, units = _matched_frame(data, match_result, [duration, event])
    df = pd.DataFrame({"T": frame[duration].to_numpy(float), "E": frame[event].to_numpy(float),
                       "A": units["treated"].to_numpy(float), "w": units["weight"].to_numpy(float)})
    if (df["T"] <= 0).any() or not df["E"].isin((0.0, 1.0)).all():
        raise InsufficientDataError(f"'{duration}' must be positive and '{event}' 0/1 for everyone matched.")
    if df["E"].sum() < 2:
        raise InsufficientDataError("Fewer than two events in the matched sample; a Cox model cannot be fitted.")
    replace = bool(match_result.settings["replace"])
    clusters = np.arange(len(df)) if replace else units["subclass"].to_numpy()
    cph = CoxPHFitter()
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")  # lifelines warns that non-integer weights need robust SEs: we use them
        cph.fit(df[["T", "E", "A", "w"]], "T", "E", weights_col="w",  # model-based variance = I^-1
                fit_options={"precision": 1e-12})
    b = float(cph.params_["A"])
    inv_info = float(cph.variance_matrix_.iloc[0, 0])
    b = _polish(df, b, inv_info)
    se = _robust_se(df, b, inv_info, clusters)
    z = stats.norm.ppf(1 - alpha / 2)
    hr = Estimate(name="hazard ratio", estimate=float(np.exp(b)), se=se, ci_low=float(np.exp(b - z * se)),
                  ci_high=float(np.exp(b + z * se)), p_value=float(2 * stats.norm.sf(abs(b / se))),
                  scale="hazard ratio",
                  method="Cox PH (Efron ties), matching weights, robust SE"
                         + ("" if replace else " clustered by matched set"), level=1 - alpha)
    grid = np.asarray(times, float) if times is not None else _default_grid(df["T"].to_numpy())
    surv = {}
    for g in (1, 0):
        part = df[df.A == g]
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")  # non-integer matching weights: the curves are descriptive only
            km = KaplanMeierFitter().fit(part["T"], part["E"], weights=part["w"])
        surv[g] = km.survival_function_at_times(grid).to_numpy()
    curves = tuple({"time": float(t), "survival_participants": float(s1), "survival_comparison": float(s0)}
                   for t, s1, s0 in zip(grid, surv[1], surv[0]))
    bal = balance or balance_table(data, match_result)
    return SurvivalResult(hazard_ratio=hr, curves=curves, n_treated=int((df.A == 1).sum()),
                          n_control=int((df.A == 0).sum()), events_treated=int(df.loc[df.A == 1, "E"].sum()),
                          events_control=int(df.loc[df.A == 0, "E"].sum()), evidence=evidence_from_balance(bal),
                          warnings=match_result.warnings)
