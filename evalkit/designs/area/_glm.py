"""Rate models shared by the area designs: a Poisson (or negative binomial)
GLM for counts with log(population) as offset, fitted with statsmodels, and
the step from a log-scale coefficient to a rate-ratio :class:`Estimate`.

Covariance choices (``cov``):

* ``"poisson"`` - model-based, variance = mean (no overdispersion allowed);
* ``"quasi"``   - quasi-Poisson: model-based covariance times the Pearson
  dispersion X2/(n-p); t reference distribution on n-p df (as R's
  ``summary.glm`` for ``quasipoisson``);
* ``"hc1"``     - heteroscedasticity-robust sandwich with the n/(n-p) factor;
* ``"hac"``     - Newey-West (Bartlett kernel) with the n/(n-p) factor;
* ``"cluster"`` - cluster-robust sandwich with the G/(G-1) factor only (the
  convention of Stata's ``poisson, vce(cluster)`` and R ``sandwich::vcovCL(type="HC0")``
  for ML models), t reference on G-1 df.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm
from scipy import stats

from evalkit.errors import InsufficientDataError, SpecError
from evalkit.results import Estimate

COV_TYPES = ("poisson", "quasi", "hc1", "hac", "cluster")
FAMILIES = ("poisson", "negbin")


def newey_west_lags(n: int) -> int:
    """Newey & West (1994) rule of thumb for the HAC truncation lag: floor(4 (n/100)^(2/9))."""
    return max(1, int(math.floor(4.0 * (n / 100.0) ** (2.0 / 9.0))))


@dataclass(frozen=True)
class RateFit:
    """What the designs need from one fitted rate model (aggregates only)."""

    params: np.ndarray
    cov: np.ndarray
    df: float | None  # None: normal reference distribution
    fitted: np.ndarray
    dispersion: float  # Pearson X2 / (n - p) of the fitted model
    nb_alpha: float | None
    n: int
    k: int
    cov_label: str
    glm: object  # the statsmodels results (not exported in results)


def _nb_alpha(y, X, offset) -> float:
    """NB2 heterogeneity parameter by maximum likelihood (statsmodels discrete NegativeBinomial)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit().params
        nb = sm.NegativeBinomial(y, X, offset=offset, loglike_method="nb2").fit(
            start_params=np.append(start, 0.1), method="bfgs", maxiter=2000, disp=0)
    alpha = float(nb.params[-1])
    return max(alpha, 1e-8)


def fit_rate(y: np.ndarray, X: np.ndarray, offset: np.ndarray, *, family: str = "poisson",
             cov: str = "quasi", maxlags: int | None = None, groups: np.ndarray | None = None) -> RateFit:
    """Fit log E[y] = X b + offset and return coefficients with the chosen covariance."""
    if family not in FAMILIES:
        raise SpecError(f"family must be one of {FAMILIES} (got {family!r}).")
    if cov not in COV_TYPES:
        raise SpecError(f"cov must be one of {COV_TYPES} (got {cov!r}).")
    n, k = X.shape
    if n <= k:
        raise InsufficientDataError(f"the rate model has {k} parameters but only {n} monthly counts; "
                                    "use a longer series or fewer terms.")
    if np.linalg.matrix_rank(X) < k:
        raise InsufficientDataError("the rate model's terms are collinear (e.g. a window with no months, or an "
                                    "area that is always or never treated); check the dates given.")
    alpha = _nb_alpha(y, X, offset) if family == "negbin" else None
    fam = sm.families.Poisson() if family == "poisson" else sm.families.NegativeBinomial(alpha=alpha)
    model = sm.GLM(y, X, family=fam, offset=offset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = model.fit(tol=1e-12, maxiter=200)
    dispersion = float(base.pearson_chi2 / base.df_resid)
    df: float | None = None
    if cov == "poisson":
        res, label = base, "model-based (variance = mean)"
    elif cov == "quasi":
        res = model.fit(scale="X2", tol=1e-12, maxiter=200)
        df, label = float(n - k), f"quasi-Poisson (Pearson dispersion {dispersion:.2f}), t on {n - k} df"
    elif cov == "hc1":
        res, label = model.fit(cov_type="HC1", tol=1e-12, maxiter=200), "robust sandwich HC1"
    elif cov == "hac":
        lags = newey_west_lags(n) if maxlags is None else int(maxlags)
        res = model.fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, tol=1e-12, maxiter=200)
        label = f"Newey-West HAC (Bartlett kernel, {lags} lag(s), n/(n-p) factor)"
    else:
        if groups is None:
            raise SpecError("cov='cluster' needs groups.")
        g = len(np.unique(groups))
        res = model.fit(cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False},
                        tol=1e-12, maxiter=200)
        df = float(g - 1)
        # the reader's words; the correction is CR0 scaled by G/(G-1) (as the docstring and tests say)
        label = f"cluster-robust by area, corrected for few areas ({g} areas), t on {g - 1} degrees of freedom"
    covm = np.asarray(res.cov_params())
    if cov == "cluster":
        covm = covm * g / (g - 1)
    return RateFit(params=np.asarray(res.params), cov=covm, df=df, fitted=np.asarray(base.fittedvalues),
                   dispersion=dispersion, nb_alpha=alpha, n=n, k=k, cov_label=label, glm=base)


def critical(alpha: float, df: float | None) -> float:
    return float(stats.norm.ppf(1 - alpha / 2) if df is None else stats.t.ppf(1 - alpha / 2, df))


def p_value(z: float, df: float | None) -> float:
    return float(2 * (stats.norm.sf(abs(z)) if df is None else stats.t.sf(abs(z), df)))


def ratio_estimate(name: str, log_est: float, se: float, *, alpha: float, df: float | None,
                   method: str, scale: str = "rate ratio") -> Estimate:
    """Estimate on the ratio scale (CI exponentiated, se kept on the log scale)."""
    if not (np.isfinite(log_est) and np.isfinite(se) and se > 0):
        return Estimate(name, float(np.exp(log_est)) if np.isfinite(log_est) else float("nan"), float("nan"),
                        float("nan"), float("nan"), float("nan"), scale, method, df, 1 - alpha)
    c = critical(alpha, df)
    return Estimate(name=name, estimate=float(np.exp(log_est)), se=float(se),
                    ci_low=float(np.exp(log_est - c * se)), ci_high=float(np.exp(log_est + c * se)),
                    p_value=p_value(log_est / se, df), scale=scale, method=method, df=df,
                    level=1 - alpha)
