"""Average treatment effect on the treated (ATT) in a matched sample.

Following MatchIt's "Estimating effects after matching" vignette (Greifer):

* continuous: the coefficient on treatment in the weighted regression
  ``lm(Y ~ A, weights)`` on the matched sample = weighted difference in means;
* binary: risk difference from the same linear model; risk ratio from the
  log-link quasi-Poisson model ``glm(Y ~ A, weights, family = quasipoisson("log"))``
  (= ratio of the weighted proportions when unadjusted; the "modified Poisson"
  of Zou 2004 when adjusted); "per 100 typical people": the participants' rate
  per 100 against the estimated rate had they not taken part (the matched
  comparison rate, or participants' rate minus the risk difference when adjusted);
* counts: difference in mean frequency (linear model) and rate ratio (log-link
  quasi-Poisson);
* ``covariates_adjust``: the covariates are added to the outcome model on the
  matched sample (doubly robust: consistent if either the matching or the
  outcome model is right).

Standard errors (stated in each estimate's ``method``):

* without replacement: cluster-robust by matched set, R
  ``sandwich::vcovCL(fit, cluster = ~subclass)`` defaults: the cluster
  adjustment ``G/(G-1)`` times, for linear models only, HC1's ``(n-1)/(n-k)``
  (sandwich uses HC0 for GLMs);
* with replacement: HC3 robust SEs ignoring pair membership, as the MatchIt
  vignette recommends (Hill & Reiter 2006).

Confidence intervals: t with the residual degrees of freedom (n - k) for linear
models, as ``lmtest::coeftest``; Wald z on the log scale for ratios.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from evalkit.designs import _sandwich as sw
from evalkit.errors import DataError, InsufficientDataError, Problem, SpecError
from evalkit.results import SMS, DesignResult, Estimate, EvidenceLevel

from ._data import covariate_matrix
from .balance import BalanceResult, _aligned, balance_table
from .match import MatchResult

_KINDS = ("continuous", "binary", "count")


@dataclass(frozen=True)
class MatchedEffectResult(DesignResult):
    """ATT estimates for one outcome in a matched sample (aggregates only).

    The headline ``effect`` is the first estimate: the difference in means (continuous), the risk difference
    (binary) or the difference in mean count (count). ``n`` is the matched participants (``n_treated``),
    ``n_comparison`` the matched comparison units (``n_control``), as MatchIt counts them.
    """

    outcome: str
    kind: str
    estimates: tuple[Estimate, ...]
    n_treated: int
    n_control: int
    mean_treated: float
    mean_comparison: float
    adjusted_for: tuple[str, ...]
    se_method: str
    evidence: EvidenceLevel
    per_100: dict | None = None
    warnings: tuple[str, ...] = ()
    title: str = "Effect on participants (ATT), matched comparison"

    @property
    def effect(self) -> Estimate:
        return self.estimates[0]

    @property
    def n(self) -> int:
        return self.n_treated

    @property
    def n_comparison(self) -> int:
        return self.n_control

    def estimate(self, name: str) -> Estimate:
        """The estimate named exactly ``name`` (e.g. ``"risk ratio"``; the error lists the names)."""
        return self.term(name)


@dataclass(frozen=True)
class _Fit:
    coef: np.ndarray
    vcov: np.ndarray
    df: float


def _matched_frame(data, match_result, columns):
    frame = _aligned(data, match_result, columns)
    keep = (match_result.units["weight"] > 0).to_numpy()
    units = match_result.units[keep].reset_index(drop=True)
    return frame[keep].reset_index(drop=True), units


def _design(frame, units, covariates_adjust) -> np.ndarray:
    cols = [np.ones(len(units)), units["treated"].to_numpy(dtype=float)]
    if covariates_adjust:
        cols.append(covariate_matrix(frame, list(covariates_adjust)).values)
    return np.column_stack(cols)


def _vcov(X, resid, w, working_w, units, replace, *, linear: bool) -> np.ndarray:
    B = sw.weighted_bread(X, working_w)
    if replace:
        return sw.hc3(X, resid, w, B, working_w)
    subclass = np.unique(units["subclass"].to_numpy(), return_inverse=True)[1].ravel()
    return sw.cluster_vcov(X, resid, subclass, weights=w, bread=B, hc1=linear).vcov


def fit_linear(y, X, w, units, replace) -> _Fit:
    """Weighted least squares with the matched-sample sandwich covariance."""
    res = sm.WLS(y, X, weights=w).fit()
    return _Fit(np.asarray(res.params), _vcov(X, np.asarray(res.resid), w, w, units, replace, linear=True),
                float(X.shape[0] - X.shape[1]))


def fit_log_poisson(y, X, w, units, replace) -> _Fit:
    """Log-link (quasi-)Poisson GLM with prior weights and the matched-sample sandwich covariance."""
    res = sm.GLM(y, X, family=sm.families.Poisson(), var_weights=w).fit(tol=1e-12)
    mu = np.asarray(res.fittedvalues)
    return _Fit(np.asarray(res.params), _vcov(X, y - mu, w, w * mu, units, replace, linear=False), np.inf)


def _estimate(name, fit, scale, method, ratio=False, *, alpha: float = 0.05) -> Estimate:
    b, se = float(fit.coef[1]), float(np.sqrt(fit.vcov[1, 1]))
    level = 1 - alpha
    if ratio:
        z = stats.norm.ppf(1 - alpha / 2)
        p = 2 * stats.norm.sf(abs(b / se))
        return Estimate(name=name, estimate=float(np.exp(b)), se=se, ci_low=float(np.exp(b - z * se)),
                        ci_high=float(np.exp(b + z * se)), p_value=float(p), scale=scale, method=method,
                        level=level)
    q = stats.t.ppf(1 - alpha / 2, fit.df)
    p = 2 * stats.t.sf(abs(b / se), fit.df)
    return Estimate(name=name, estimate=b, se=se, ci_low=float(b - q * se), ci_high=float(b + q * se), p_value=float(p),
                    scale=scale, method=method, df=fit.df, level=level)


def evidence_from_balance(balance: BalanceResult) -> EvidenceLevel:
    """SMS 3 when every |difference| after matching is within the threshold, else SMS 2."""
    if balance.balanced:
        return EvidenceLevel(SMS.LEVEL_3, "matched comparison group with covariate balance achieved "
                             f"(all standardised differences within {balance.threshold:g} SD after matching).")
    return EvidenceLevel(SMS.LEVEL_2, "comparison group not comparable: after matching these covariates "
                         f"differ by more than {balance.threshold:g} SD: {', '.join(balance.unbalanced)}.")


def estimate_att(data: pd.DataFrame, match_result: MatchResult, *, outcome: str, kind: str,
                 covariates_adjust: list[str] | None = None,
                 balance: BalanceResult | None = None, alpha: float = 0.05) -> MatchedEffectResult:
    """ATT of the intervention on ``outcome`` in the matched sample.

    Parameters
    ----------
    kind
        "continuous", "binary" (0/1) or "count" (whole numbers >= 0).
    covariates_adjust
        Covariates added to the outcome model (regression adjustment).
    balance
        A balance table to set the evidence level; computed if omitted.
    alpha
        1 - confidence level of the intervals (0.05: 95% intervals, as R ``confint``'s default).
    """
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must be between 0 and 1 (got {alpha!r}); 0.05 gives 95% intervals.")
    if kind not in _KINDS:
        raise SpecError(f"kind must be one of {', '.join(_KINDS)}, not {kind!r}.")
    adj = tuple(covariates_adjust or ())
    frame, units = _matched_frame(data, match_result, [outcome, *adj])
    y = frame[outcome].to_numpy(dtype=float)
    if np.isnan(y).any():
        raise DataError(Problem(file="matching data", column=outcome,
                                message=f"{int(np.isnan(y).sum())} matched people have no outcome.",
                                fix="Record the outcome for everyone matched, or drop them before matching."))
    _check_kind(y, kind, outcome)
    w = units["weight"].to_numpy()
    t = units["treated"].to_numpy()
    if t.sum() < 2 or (t == 0).sum() < 2:
        raise InsufficientDataError("Too few matched people to estimate an effect; at least two in each group are needed.")
    X = _design(frame, units, adj)
    replace = bool(match_result.settings["replace"])
    se_method = ("HC3 robust SE (matching with replacement; pair membership ignored)" if replace else
                 "cluster-robust SE by matched set (R sandwich::vcovCL defaults: G/(G-1); HC1 for linear, HC0 for ratio models)")
    m1 = float(np.average(y[t == 1], weights=w[t == 1]))
    m0 = float(np.average(y[t == 0], weights=w[t == 0]))
    adj_txt = f", adjusted for {', '.join(adj)}" if adj else ""
    lin = fit_linear(y, X, w, units, replace)
    ests: list[Estimate] = []
    per_100 = None
    if kind == "continuous":
        ests.append(_estimate("difference in means", lin, "mean difference", se_method + adj_txt, alpha=alpha))
    else:
        _no_variation(y, outcome)
        pois = fit_log_poisson(y, X, w, units, replace)
        if kind == "binary":
            ests.append(_estimate("risk difference", lin, "risk difference", se_method + adj_txt, alpha=alpha))
            ests.append(_estimate("risk ratio", pois, "risk ratio", "log-link quasi-Poisson; " + se_method + adj_txt,
                                  ratio=True, alpha=alpha))
            rd = ests[0]
            counterfactual = m1 - rd.estimate
            per_100 = {"participants": 100 * m1, "had they not taken part": 100 * counterfactual,
                       "difference": 100 * rd.estimate, "difference_ci": (100 * rd.ci_low, 100 * rd.ci_high)}
        else:
            ests.append(_estimate("difference in mean count", lin, "mean difference", se_method + adj_txt, alpha=alpha))
            ests.append(_estimate("rate ratio", pois, "rate ratio", "log-link quasi-Poisson; " + se_method + adj_txt,
                                  ratio=True, alpha=alpha))
    bal = balance or balance_table(data, match_result)
    return MatchedEffectResult(
        outcome=outcome, kind=kind, estimates=tuple(ests), n_treated=int(t.sum()), n_control=int((t == 0).sum()),
        mean_treated=m1, mean_comparison=m0, adjusted_for=adj, se_method=se_method,
        evidence=evidence_from_balance(bal), per_100=per_100, warnings=match_result.warnings)


def _check_kind(y: np.ndarray, kind: str, outcome: str) -> None:
    if kind == "binary" and not np.isin(y, (0.0, 1.0)).all():
        raise DataError(Problem(file="matching data", column=outcome, message="a binary outcome must be 0/1.",
                                fix="Code the outcome 1 (happened) / 0 (did not), or use kind='continuous'."))
    if kind == "count" and ((y < 0).any() or (y != np.round(y)).any()):
        raise DataError(Problem(file="matching data", column=outcome,
                                message="a count outcome must be whole numbers of 0 or more.",
                                fix="Check the outcome column, or use kind='continuous'."))


def _no_variation(y: np.ndarray, outcome: str) -> None:
    if y.sum() == 0:
        raise InsufficientDataError(f"No one in the matched sample has '{outcome}' > 0, so no ratio can be "
                                    "estimated. Use a longer follow-up or a more common outcome.")
