"""Interrupted time series on monthly area counts (segmented rate regression).

Model (Wagner et al. 2002; Lopez Bernal, Cummins & Gasparrini 2017), for
month index t = 0, 1, ... and interruption month t0:

    log E[count_t] = b0 + b1 t + b2 post_t + b3 (t - t0) post_t + seasonality_t + log(population_t)

with post_t = 1 from the interruption month on. exp(b2) is the step: the
rate ratio in the interruption month against the pre-trend projected to that
month; exp(12 b3) is the change in the yearly trend. ``overall`` is the ratio
of fitted to counterfactual events summed over the post-period (delta-method
CI), the single number "how many fewer than expected".

Seasonality: ``"fourier"`` (default) adds ``harmonics`` sine/cosine pairs of
calendar month with period 12, as ``tsModel::harmonic(month, 2, 12)`` in the
tutorial; ``"month"`` adds 11 calendar-month dummies; ``None`` adds nothing.

Standard errors: ``cov="hac"`` (default) is Newey-West with a Bartlett kernel,
truncation lag floor(4 (n/100)^(2/9)) (Newey & West 1994) unless ``maxlags``
is given, and the n/(n-p) small-sample factor; normal reference
distribution. The robust sandwich also absorbs overdispersion.
``cov="quasi"`` reproduces the tutorial's quasi-Poisson fits, ``"poisson"``
assumes variance = mean. ``family="negbin"`` fits NB2 with alpha by maximum
likelihood. statsmodels does every fit; nothing here is hand-rolled except
the design matrix and the delta method for ``overall``.

References
----------
Wagner AK, Soumerai SB, Zhang F, Ross-Degnan D (2002). Segmented regression
analysis of interrupted time series studies in medication use research.
J Clin Pharm Ther 27:299-309.
Lopez Bernal J, Cummins S, Gasparrini A (2017). Interrupted time series
regression for the evaluation of public health interventions: a tutorial.
Int J Epidemiol 46(1):348-355. Code and data: github.com/gasparrini/2017_lopezbernal_IJE_codedata.
Newey WK, West KD (1994). Automatic lag selection in covariance matrix
estimation. Rev Econ Stud 61:631-653.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from statsmodels.stats.diagnostic import acorr_ljungbox

from evalkit.designs.area._data import Hierarchy, area_series, check_counts, month_of
from evalkit.designs.area._glm import fit_rate, ratio_estimate
from evalkit.errors import InsufficientDataError, SpecError
from evalkit.results import SMS, DesignResult, Estimate, EvidenceLevel, estimate_row

SEASONALITY = ("fourier", "month", None)


@dataclass(frozen=True)
class ITSResult(DesignResult):
    """Segmented-regression estimates and the monthly aggregate series behind the plot.

    ``months``, ``observed``, ``population``, ``fitted`` and ``counterfactual``
    are area-level monthly aggregates (no individual data); small counts are
    for the report layer to suppress.

    The headline ``effect`` is ``overall``: the post-period rate ratio, fitted against the counterfactual
    trend; ``step`` and ``slope_change`` are its parts. ``n`` is the events after the interruption
    (``observed_post``); there is no comparison area (``n_comparison`` is None).
    """

    indicator: str
    area: str
    interruption: str
    n_pre: int
    n_post: int
    step: Estimate
    slope_change: Estimate | None
    pre_trend: Estimate
    overall: Estimate
    observed_post: int
    expected_post_without: float
    dispersion: float
    ljung_box_p: float
    months: tuple[str, ...]
    observed: tuple[int, ...]
    population: tuple[float, ...]
    fitted: tuple[float, ...]
    counterfactual: tuple[float, ...]
    method: str
    evidence: EvidenceLevel
    warnings: tuple[str, ...] = field(default=())

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"Interrupted time series: {self.indicator} in {self.area}, interruption {self.interruption}"

    @property
    def effect(self) -> Estimate:
        return self.overall

    @property
    def estimates(self) -> tuple[Estimate, ...]:
        return tuple(e for e in (self.overall, self.step, self.slope_change, self.pre_trend) if e is not None)

    @property
    def n(self) -> int:
        return self.observed_post

    @property
    def n_comparison(self) -> None:
        return None

    def _rows(self) -> list[dict]:
        return [estimate_row(e, method="") for e in self.estimates]  # the method is long and the same for all

    def _notes(self) -> list[str]:
        return [self.method, *super()._notes()]

    def series_frame(self) -> pd.DataFrame:
        """Monthly observed, fitted and counterfactual counts (area aggregates) for plots and tables."""
        return pd.DataFrame({"month": list(self.months), "observed": list(self.observed),
                             "population": list(self.population), "fitted": list(self.fitted),
                             "counterfactual": list(self.counterfactual)})


def _season_terms(calendar_month: np.ndarray, seasonality: str | None, harmonics: int) -> np.ndarray:
    if seasonality is None:
        return np.empty((len(calendar_month), 0))
    if seasonality == "fourier":
        if not 1 <= harmonics <= 6:
            raise SpecError(f"harmonics must be 1-6 (got {harmonics}).")
        ang = np.outer(calendar_month, np.arange(1, harmonics + 1)) * 2 * np.pi / 12
        cols = np.column_stack([np.sin(ang), np.cos(ang)])
        return cols[:, ~np.all(np.isclose(cols, 0), axis=0)]  # sin(pi m) is identically 0 when harmonics = 6
    return (calendar_month[:, None] == np.arange(2, 13)[None, :]).astype(float)


def its_design(months: pd.PeriodIndex, interruption: pd.Period, *, seasonality: str | None = "fourier",
               harmonics: int = 2, slope_change: bool = True) -> tuple[np.ndarray, list[str]]:
    """Design matrix [1, t, post, (t - t0) post, seasonal terms] and column names."""
    t = np.asarray([(m - months[0]).n for m in months], dtype=float)
    t0 = float((interruption - months[0]).n)
    post = (t >= t0).astype(float)
    cols, names = [np.ones_like(t), t, post], ["intercept", "time", "step"]
    if slope_change:
        cols.append((t - t0) * post)
        names.append("slope_change")
    season = _season_terms(np.asarray([m.month for m in months], dtype=float), seasonality, harmonics)
    names += [f"season_{i + 1}" for i in range(season.shape[1])]
    return np.column_stack(cols + [season]), names


def _overall(fit, X: np.ndarray, Xcf: np.ndarray, offset: np.ndarray, post: np.ndarray, alpha: float,
             method: str) -> Estimate:
    """Ratio of fitted to counterfactual events over the post-period, delta-method CI on the log scale."""
    mu = np.exp(X[post] @ fit.params + offset[post])
    mu0 = np.exp(Xcf[post] @ fit.params + offset[post])
    log_r = np.log(mu.sum()) - np.log(mu0.sum())
    grad = (mu @ X[post]) / mu.sum() - (mu0 @ Xcf[post]) / mu0.sum()
    se = float(np.sqrt(grad @ fit.cov @ grad))
    return ratio_estimate("post-period rate ratio (fitted vs counterfactual)", log_r, se, alpha=alpha,
                          df=fit.df, method=method)


def _excluded(months: pd.PeriodIndex, exclude_months) -> list[pd.Period]:
    if not exclude_months:
        return []
    out = sorted({month_of(m, what="exclude_months") for m in exclude_months})
    outside = [str(m) for m in out if m not in set(months)]
    if outside:
        raise SpecError(f"exclude_months {outside} are not in the series ({months[0]} to {months[-1]}).")
    return out


def interrupted_time_series(area_counts: pd.DataFrame, *, indicator: str, area: str,
                            interruption: str | _dt.date, start: str | _dt.date | None = None,
                            end: str | _dt.date | None = None, family: str = "poisson",
                            seasonality: str | None = "fourier", harmonics: int = 2, slope_change: bool = True,
                            cov: str = "hac", maxlags: int | None = None,
                            exclude_months: Sequence[str | _dt.date] | None = None, alpha: float = 0.05,
                            hierarchy: Hierarchy | None = None) -> ITSResult:
    """Segmented Poisson (or negative binomial) regression of monthly counts around an interruption.

    Parameters
    ----------
    area_counts
        Monthly counts (data contract table ``area_counts``).
    indicator, area
        Series to analyse (``area`` may be a district or a roll-up).
    interruption
        First month the intervention could have had an effect.
    start, end
        Optional first and last month to use (default: all months in the data).
    family
        ``"poisson"`` (default) or ``"negbin"``.
    seasonality, harmonics
        ``"fourier"`` (default, ``harmonics`` sine/cosine pairs), ``"month"``
        (dummies) or ``None``.
    slope_change
        Include the change-in-slope term (default True).
    cov
        ``"hac"`` (default), ``"quasi"`` or ``"poisson"``; see module docstring.
    maxlags
        HAC truncation lag; default floor(4 (n/100)^(2/9)).
    exclude_months
        Months to leave out of the fit (e.g. the April-June 2020 lockdown),
        each given its own indicator term so the series stays evenly spaced for
        the HAC estimator; equivalent to dropping them for every other
        coefficient. Their fitted and counterfactual values are the model's
        prediction without the indicator.
    alpha
        1 - confidence level.

    Returns
    -------
    ITSResult
    """
    if seasonality not in SEASONALITY:
        raise SpecError(f"seasonality must be 'fourier', 'month' or None (got {seasonality!r}).")
    if cov not in ("hac", "quasi", "poisson"):
        raise SpecError(f"cov must be 'hac', 'quasi' or 'poisson' for a time series (got {cov!r}).")
    series = area_series(check_counts(area_counts), indicator=indicator, area=area, hierarchy=hierarchy)
    t_int = month_of(interruption, what="interruption")
    if start is not None:
        series = series[series.index >= month_of(start, what="start")]
    if end is not None:
        series = series[series.index <= month_of(end, what="end")]
    full = pd.period_range(series.index.min(), series.index.max(), freq="M") if len(series) else series.index
    if len(full) != len(series):
        gap = full.difference(series.index)
        raise InsufficientDataError(f"{indicator} in {area}: the monthly series has {len(gap)} gap(s) (first "
                                    f"{gap[0]}); supply every month (0 when there were no events).")
    months = series.index
    n_pre, n_post = int((months < t_int).sum()), int((months >= t_int).sum())
    min_pre = 12 if seasonality else 6
    if n_pre < min_pre or n_post < 3:
        raise InsufficientDataError(f"{indicator} in {area}: {n_pre} month(s) before and {n_post} after "
                                    f"{t_int}; an interrupted time series needs at least {min_pre} before and 3 "
                                    "after (many more are better).")
    X, names = its_design(months, t_int, seasonality=seasonality, harmonics=harmonics, slope_change=slope_change)
    k_model = X.shape[1]
    excluded = _excluded(months, exclude_months)
    if len(excluded):
        X = np.column_stack([X, (np.asarray(months)[:, None] == np.asarray(excluded)[None, :]).astype(float)])
    y = series["count"].to_numpy(float)
    offset = np.log(series["population"].to_numpy(float))
    if y.sum() == 0:
        raise InsufficientDataError(f"{indicator} in {area}: no events in the series; nothing to model.")
    fit = fit_rate(y, X, offset, family=family, cov=cov, maxlags=maxlags)
    fam = "Poisson" if family == "poisson" else f"negative binomial NB2 (alpha {fit.nb_alpha:.3g})"
    season_txt = {"fourier": f"{harmonics} Fourier pair(s) of calendar month", "month": "calendar-month dummies",
                  None: "no seasonal terms"}[seasonality]
    dropped = f", {len(excluded)} month(s) excluded ({', '.join(str(m) for m in excluded)})" if len(excluded) else ""
    method = (f"Segmented {fam} regression of {len(y)} monthly counts ({n_pre} before, {n_post} from {t_int}"
              f"{dropped}) "
              f"with log(population) offset, linear pre-trend, step{' and slope change' if slope_change else ''}, "
              f"{season_txt}; SEs {fit.cov_label}.")
    se = np.sqrt(np.diag(fit.cov))
    step = ratio_estimate("step (level change at interruption)", fit.params[2], se[2], alpha=alpha, df=fit.df,
                          method=method)
    slope = None
    if slope_change:
        slope = ratio_estimate("slope change (ratio per year)", 12 * fit.params[3], 12 * se[3], alpha=alpha,
                               df=fit.df, method=method)
    pre = ratio_estimate("pre-interruption trend (ratio per year)", 12 * fit.params[1], 12 * se[1], alpha=alpha,
                         df=fit.df, method=method)
    Xcf = X.copy()
    Xcf[:, 2] = 0.0
    if slope_change:
        Xcf[:, 3] = 0.0
    post = np.asarray(months >= t_int)
    Xcf[:, k_model:] = 0.0  # excluded months: predictions from the model without their indicators
    X_pred = X.copy()
    X_pred[:, k_model:] = 0.0
    overall = _overall(fit, X_pred, Xcf, offset, post, alpha, method)
    fitted = np.exp(X_pred @ fit.params + offset)
    cf = np.exp(Xcf @ fit.params + offset)
    keep = ~np.isin(np.asarray(months), np.asarray(excluded))
    resid = ((y - fitted) / np.sqrt(fitted))[keep]
    lb_lag = max(1, min(12, len(resid) // 4))
    lb_p = float(acorr_ljungbox(resid, lags=[lb_lag])["lb_pvalue"].iloc[0])
    notes: list[str] = []
    if lb_p < 0.05:
        notes.append(f"Residual autocorrelation remains (Ljung-Box p = {lb_p:.3f} at lag {lb_lag}); "
                     + ("HAC SEs allow for it." if cov == "hac" else "prefer cov='hac'."))
    if cov == "poisson" and fit.dispersion > 1.5:
        notes.append(f"Counts are overdispersed (Pearson dispersion {fit.dispersion:.2f}); prefer cov='hac' or "
                     "'quasi'.")
    if n_pre < 24:
        notes.append(f"Only {n_pre} pre-interruption months: the projected trend is uncertain.")
    return ITSResult(
        indicator=indicator, area=area, interruption=str(t_int), n_pre=n_pre, n_post=n_post, step=step,
        slope_change=slope, pre_trend=pre, overall=overall, observed_post=int(y[post].sum()),
        expected_post_without=float(cf[post].sum()), dispersion=fit.dispersion, ljung_box_p=lb_p,
        months=tuple(str(m) for m in months), observed=tuple(int(v) for v in y),
        population=tuple(float(v) for v in series["population"]), fitted=tuple(float(v) for v in fitted),
        counterfactual=tuple(float(v) for v in cf), method=method,
        evidence=EvidenceLevel(SMS.LEVEL_1, "interrupted time series with the pre-trend and seasonality modelled "
                               "but no comparison area; other changes at the same time cannot be ruled out "
                               "(add comparison areas with area_did for level 3)"),
        warnings=tuple(notes))


__all__ = ["ITSResult", "interrupted_time_series", "its_design"]
