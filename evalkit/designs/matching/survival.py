"""Time to reoffend in a matched sample: weighted Kaplan–Meier curves and a Cox model (lifelines).

Cox: ``CoxPHFitter`` on the matched sample with the matching weights and,
without replacement, ``cluster_col`` = matched set (robust sandwich variance,
as R ``coxph(..., weights = weights, cluster = subclass)``; no small-sample
factor); with replacement robust SEs without clusters (``robust = TRUE``).
Ties are handled by Efron's method in both. The result keeps the survival
curves only at grid times (aggregates), never individual times.
"""

from __future__ import annotations

import warnings as _warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from scipy import stats

from evalkit.errors import InsufficientDataError
from evalkit.results import Estimate, EvidenceLevel, ResultMixin

from .balance import BalanceResult, balance_table
from .effects import _matched_frame, evidence_from_balance
from .match import MatchResult


@dataclass(frozen=True)
class SurvivalResult(ResultMixin):
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

    def _rows(self) -> list[dict]:
        return [self.hazard_ratio.as_dict()]

    def curves_frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.curves))


def _default_grid(duration: np.ndarray) -> np.ndarray:
    return np.unique(np.quantile(duration, [0.1, 0.25, 0.5, 0.75, 0.9]).round(6))


def survival_att(data: pd.DataFrame, match_result: MatchResult, *, duration: str, event: str,
                 times: list[float] | None = None, balance: BalanceResult | None = None) -> SurvivalResult:
    """Kaplan–Meier curves (weighted) and Cox hazard ratio of participants vs matched comparisons.

    Parameters
    ----------
    duration, event
        Follow-up time (> 0) and event indicator (1 = reoffended, 0 = censored).
    times
        Grid at which survival is reported (default: deciles/quartiles of follow-up).
    """
    frame, units = _matched_frame(data, match_result, [duration, event])
    df = pd.DataFrame({"T": frame[duration].to_numpy(float), "E": frame[event].to_numpy(float),
                       "A": units["treated"].to_numpy(float), "w": units["weight"].to_numpy(float)})
    if (df["T"] <= 0).any() or not df["E"].isin((0.0, 1.0)).all():
        raise InsufficientDataError(f"'{duration}' must be positive and '{event}' 0/1 for everyone matched.")
    if df.loc[df.A == 1, "E"].sum() + df.loc[df.A == 0, "E"].sum() < 2:
        raise InsufficientDataError("Fewer than two events in the matched sample; a Cox model cannot be fitted.")
    replace = bool(match_result.settings["replace"])
    if not replace:
        df["cluster"] = units["subclass"].to_numpy()
    cph = CoxPHFitter()
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")  # lifelines warns that non-integer weights need robust SEs: we use them
        if replace:
            cph.fit(df[["T", "E", "A", "w"]], "T", "E", weights_col="w", robust=True)
        else:
            cph.fit(df, "T", "E", weights_col="w", cluster_col="cluster", robust=True)
    b = float(cph.params_["A"])
    se = float(cph.standard_errors_["A"])
    z = stats.norm.ppf(0.975)
    hr = Estimate(name="hazard ratio", estimate=float(np.exp(b)), se=se, ci_low=float(np.exp(b - z * se)),
                  ci_high=float(np.exp(b + z * se)), p_value=float(2 * stats.norm.sf(abs(b / se))),
                  scale="hazard ratio",
                  method="Cox PH (Efron ties), matching weights, robust SE"
                         + ("" if replace else " clustered by matched set"))
    grid = np.asarray(times, float) if times is not None else _default_grid(df["T"].to_numpy())
    surv = {}
    for g in (1, 0):
        part = df[df.A == g]
        km = KaplanMeierFitter().fit(part["T"], part["E"], weights=part["w"])
        surv[g] = km.survival_function_at_times(grid).to_numpy()
    curves = tuple({"time": float(t), "survival_participants": float(s1), "survival_comparison": float(s0)}
                   for t, s1, s0 in zip(grid, surv[1], surv[0]))
    bal = balance or balance_table(data, match_result)
    return SurvivalResult(hazard_ratio=hr, curves=curves, n_treated=int((df.A == 1).sum()),
                          n_control=int((df.A == 0).sum()), events_treated=int(df.loc[df.A == 1, "E"].sum()),
                          events_control=int(df.loc[df.A == 0, "E"].sum()), evidence=evidence_from_balance(bal),
                          warnings=match_result.warnings)
