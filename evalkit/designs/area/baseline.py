"""A period against a multi-year baseline (the board report's Table A).

The board report compares April 2020 - March 2021 with the annual average of
April 2017 - March 2020 and prints the crude percentage change. Here the same
comparison is also made as a rate model on the monthly counts with population
at risk, which gives a confidence interval:

    log E[count_m] = b0 + b1 * in_period_m + log(population_m)

over the months of both windows (Poisson GLM, statsmodels). exp(b1) is the
ratio of the period's rate to the baseline's average rate (events per
person-month), and the percentage change is 100 (exp(b1) - 1). With only the
window indicator in the model, exp(b1) equals the ratio of the two crude
rates, sum(count)/sum(population) in each window, so the point estimate needs
no modelling; the model supplies the uncertainty. The default standard error
is quasi-Poisson (Pearson dispersion, t on n - 2 df): month-to-month
variation in crime counts is larger than Poisson, and a quasi-Poisson
inflation is the usual remedy (Lopez Bernal, Cummins & Gasparrini 2017).
``cov="nb"`` fits a negative binomial (NB2) instead, ``cov="hc1"`` a robust
sandwich, ``cov="poisson"`` assumes no overdispersion.

The crude percentage change is computed as the board report does it: the
period total per 12 months against the baseline total per 12 months, with no
population adjustment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evalkit.designs.area._data import (Hierarchy, _resolve_hierarchy, all_areas, area_level, area_series, check_counts,
                                        month_of)
from evalkit.designs.area._glm import fit_rate, ratio_estimate
from evalkit.errors import EvalkitError, InsufficientDataError, MissingDataError, SpecError
from evalkit.results import SMS, DesignResult, Estimate, EvidenceLevel, estimate_row, stat_row

DEFAULT_PERIOD = ("2020-04", "2021-03")
DEFAULT_BASELINE = ("2017-04", "2020-03")
_COV = {"quasi": ("poisson", "quasi"), "poisson": ("poisson", "poisson"), "hc1": ("poisson", "hc1"),
        "nb": ("negbin", "poisson")}


@dataclass(frozen=True)
class PeriodChangeResult(DesignResult):
    """Change in one indicator for one area: a period against a multi-year baseline.

    Counts are area totals (aggregates); the report layer applies disclosure
    control to ``period_count`` and ``baseline_count`` before showing them.

    The headline ``effect`` is the rate ratio, period against baseline; ``n`` is the events in the period
    (``period_count``); there is no comparison area (``n_comparison`` is None).
    """

    indicator: str
    area: str
    period: tuple[str, str]
    baseline: tuple[str, str]
    period_months: int
    baseline_months: int
    period_count: int
    baseline_count: int
    baseline_annual_average: float
    period_rate_per_100k: float  # annualised, per 100,000 population at risk
    baseline_rate_per_100k: float
    crude_pct_change: float
    rate_ratio: Estimate
    pct_change: float
    pct_ci_low: float
    pct_ci_high: float
    dispersion: float
    method: str
    evidence: EvidenceLevel
    warnings: tuple[str, ...] = field(default=())

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"{self.indicator} in {self.area}: {self.period[0]} to {self.period[1]} against " \
               f"{self.baseline[0]} to {self.baseline[1]}"

    @property
    def effect(self) -> Estimate:
        return self.rate_ratio

    @property
    def estimates(self) -> tuple[Estimate, ...]:
        return (self.rate_ratio,)

    @property
    def n(self) -> int:
        return self.period_count

    @property
    def n_comparison(self) -> None:
        return None

    def _rows(self) -> list[dict]:
        rr = self.rate_ratio
        return [estimate_row(rr),
                stat_row("percentage change in the rate", estimate=self.pct_change, ci_low=self.pct_ci_low,
                         ci_high=self.pct_ci_high, level=rr.level, p_value=rr.p_value, scale="percentage change",
                         method="100 (rate ratio - 1)"),
                stat_row("crude percentage change", estimate=self.crude_pct_change, scale="percentage change",
                         method="annualised counts, period against baseline average"),
                stat_row("baseline annual average (events)", estimate=self.baseline_annual_average, scale="count",
                         n=self.baseline_count)]


def _window(window: Sequence, what: str) -> tuple[pd.Period, pd.Period]:
    if len(window) != 2:
        raise SpecError(f"{what} must be (first month, last month), e.g. ('2020-04', '2021-03'); got {window!r}.")
    lo, hi = month_of(window[0], what=what), month_of(window[1], what=what)
    if hi < lo:
        raise SpecError(f"{what} ends ({hi}) before it starts ({lo}); give (first month, last month).")
    return lo, hi


def _months(lo: pd.Period, hi: pd.Period) -> pd.PeriodIndex:
    return pd.period_range(lo, hi, freq="M")


def period_vs_baseline(area_counts: pd.DataFrame, *, indicator: str, area: str,
                       period: Sequence = DEFAULT_PERIOD, baseline: Sequence = DEFAULT_BASELINE,
                       cov: str = "quasi", alpha: float = 0.05, hierarchy: Hierarchy | None = None,
                       ) -> PeriodChangeResult:
    """Percentage change in an indicator's rate, a period against a multi-year baseline.

    Parameters
    ----------
    area_counts
        Monthly counts (data contract table ``area_counts``).
    indicator, area
        What and where. ``area`` may be a district, a configured roll-up area or
        the whole VRU's name (roll-ups are summed from districts when the data
        hold no rows for them).
    period, baseline
        (first month, last month), inclusive; any date-like or ``"YYYY-MM"``.
        Defaults: April 2020 - March 2021 against April 2017 - March 2020.
    cov
        ``"quasi"`` (default), ``"poisson"``, ``"hc1"`` or ``"nb"`` (negative
        binomial NB2); see the module docstring.
    alpha
        1 - confidence level.

    Returns
    -------
    PeriodChangeResult

    References
    ----------
    Lopez Bernal J, Cummins S, Gasparrini A (2017). Interrupted time series
    regression for the evaluation of public health interventions: a tutorial.
    Int J Epidemiol 46(1):348-355 (Poisson/quasi-Poisson rate models with a
    population offset).
    """
    return _period_vs_baseline(check_counts(area_counts), indicator=indicator, area=area, period=period,
                               baseline=baseline, cov=cov, alpha=alpha, hierarchy=hierarchy)


def _period_vs_baseline(counts: pd.DataFrame, *, indicator: str, area: str, period: Sequence, baseline: Sequence,
                        cov: str, alpha: float, hierarchy: Hierarchy | None) -> PeriodChangeResult:
    """:func:`period_vs_baseline` on counts that have already passed :func:`check_counts`."""
    if cov not in _COV:
        raise SpecError(f"cov must be one of {sorted(_COV)} (got {cov!r}).")
    p_lo, p_hi = _window(period, "period")
    b_lo, b_hi = _window(baseline, "baseline")
    if not (p_hi < b_lo or b_hi < p_lo):
        raise SpecError(f"period {p_lo}-{p_hi} overlaps baseline {b_lo}-{b_hi}; the windows must not share months.")
    series = area_series(counts, indicator=indicator, area=area, hierarchy=hierarchy)
    p_months, b_months = _months(p_lo, p_hi), _months(b_lo, b_hi)
    for name, months in (("period", p_months), ("baseline", b_months)):
        absent = months.difference(series.index)
        if len(absent):
            raise MissingDataError(f"{indicator} in {area}: the {name} needs {len(months)} months but "
                                   f"{len(absent)} are missing (first {absent[0]}); supply them or shorten "
                                   f"the {name}.")
    pp, bb = series.loc[p_months], series.loc[b_months]
    yp, yb = int(pp["count"].sum()), int(bb["count"].sum())
    crude = 100.0 * ((yp * 12 / len(p_months)) / (yb * 12 / len(b_months)) - 1) if yb > 0 else float("nan")
    if yp == 0 or yb == 0:
        raise InsufficientDataError(f"{indicator} in {area}: {'no events in the period' if yp == 0 else 'no events in the baseline'}"
                                    "; a rate ratio cannot be estimated. Report the counts instead.")
    both = pd.concat([bb.assign(x=0.0), pp.assign(x=1.0)])
    X = np.column_stack([np.ones(len(both)), both["x"].to_numpy()])
    family, cov_type = _COV[cov]
    fit = fit_rate(both["count"].to_numpy(float), X, np.log(both["population"].to_numpy()), family=family,
                   cov=cov_type)
    label = (f"negative binomial NB2 (alpha {fit.nb_alpha:.3g}), model-based" if cov == "nb"
             else fit.cov_label if cov == "quasi" else "Poisson, " + fit.cov_label)
    method = (f"Rate ratio of {p_lo}-{p_hi} to the average of {b_lo}-{b_hi} from a log-linear rate model on "
              f"{fit.n} monthly counts with log(population) offset; {label}. Crude change = period total per "
              "12 months against the baseline total per 12 months (the annual average).")
    rr = ratio_estimate("rate ratio, period vs baseline", fit.params[1], float(np.sqrt(fit.cov[1, 1])),
                        alpha=alpha, df=fit.df, method=method)
    notes: list[str] = []
    if len(p_months) % 12 or len(b_months) % 12:
        notes.append("A window is not a whole number of years, so seasonality may bias the comparison.")
    if cov == "poisson" and fit.dispersion > 1.5:
        notes.append(f"Counts are overdispersed (Pearson dispersion {fit.dispersion:.2f}); use cov='quasi' or 'nb'.")
    rate = lambda frame: 1e5 * 12 * frame["count"].sum() / frame["population"].sum()  # noqa: E731
    return PeriodChangeResult(
        indicator=indicator, area=area, period=(str(p_lo), str(p_hi)), baseline=(str(b_lo), str(b_hi)),
        period_months=len(p_months), baseline_months=len(b_months), period_count=yp, baseline_count=yb,
        baseline_annual_average=yb * 12 / len(b_months), period_rate_per_100k=float(rate(pp)),
        baseline_rate_per_100k=float(rate(bb)), crude_pct_change=crude, rate_ratio=rr,
        pct_change=100 * (rr.estimate - 1), pct_ci_low=100 * (rr.ci_low - 1), pct_ci_high=100 * (rr.ci_high - 1),
        dispersion=fit.dispersion, method=method,
        evidence=EvidenceLevel(SMS.LEVEL_1, "before/after comparison of area rates with no comparison area: "
                               "describes change, does not attribute it to any intervention"),
        warnings=tuple(notes))


def _window_totals(counts, indicator, area, period, baseline, h) -> dict:
    """Counts for a cell whose rate ratio cannot be estimated (so the table still shows them)."""
    try:
        series = area_series(counts, indicator=indicator, area=area, hierarchy=h)
    except EvalkitError:
        return {}
    out = {}
    for key, window in (("period_count", period), ("baseline_count", baseline)):
        months = _months(*_window(window, key))
        if months.isin(series.index).all():
            out[key] = int(series.loc[months, "count"].sum())
    if "baseline_count" in out:
        out["baseline_annual_average"] = out["baseline_count"] * 12 / len(_months(*_window(baseline, "baseline")))
    return out


TABLE_COLUMNS = ["indicator", "area", "area_level", "period_count", "baseline_count", "baseline_annual_average",
                 "period_rate_per_100k", "baseline_rate_per_100k", "crude_pct_change", "rate_ratio", "rr_ci_low",
                 "rr_ci_high", "pct_change", "pct_ci_low", "pct_ci_high", "p_value", "dispersion", "note"]


def baseline_table(area_counts: pd.DataFrame, *, period: Sequence = DEFAULT_PERIOD,
                   baseline: Sequence = DEFAULT_BASELINE, areas: Sequence[str] | None = None,
                   indicators: Sequence[str] | None = None, cov: str = "quasi", alpha: float = 0.05,
                   hierarchy: Hierarchy | None = None) -> pd.DataFrame:
    """Table A for every indicator x area: one tidy row each (see :func:`period_vs_baseline`).

    ``areas`` defaults to the whole VRU (the configuration's ``whole_area``), each
    configured roll-up and each district in the data; ``indicators`` to every
    indicator in the data. A cell that cannot be estimated (no events, missing
    months) keeps its counts where known and says why in ``note``.
    """
    counts = check_counts(area_counts)
    inds = sorted(counts["indicator"].unique()) if indicators is None else list(indicators)
    where = all_areas(counts, hierarchy) if areas is None else list(areas)
    h = _resolve_hierarchy(hierarchy)
    rows = []
    for ind in inds:
        for ar in where:
            row = {"indicator": ind, "area": ar, "area_level": area_level(ar, h)}
            try:
                res = _period_vs_baseline(counts, indicator=ind, area=ar, period=period, baseline=baseline,
                                         cov=cov, alpha=alpha, hierarchy=h)
            except (InsufficientDataError, MissingDataError) as exc:
                row["note"] = str(exc)
                row.update(_window_totals(counts, ind, ar, period, baseline, h))
            else:
                rr = res.rate_ratio
                row.update(period_count=res.period_count, baseline_count=res.baseline_count,
                           baseline_annual_average=res.baseline_annual_average,
                           period_rate_per_100k=res.period_rate_per_100k,
                           baseline_rate_per_100k=res.baseline_rate_per_100k,
                           crude_pct_change=res.crude_pct_change, rate_ratio=rr.estimate, rr_ci_low=rr.ci_low,
                           rr_ci_high=rr.ci_high, pct_change=res.pct_change, pct_ci_low=res.pct_ci_low,
                           pct_ci_high=res.pct_ci_high, p_value=rr.p_value, dispersion=res.dispersion,
                           note=" ".join(res.warnings))
            rows.append(row)
    out = pd.DataFrame(rows).reindex(columns=TABLE_COLUMNS)
    for c in ("period_count", "baseline_count"):
        out[c] = out[c].astype("Int64")
    return out


__all__ = ["PeriodChangeResult", "period_vs_baseline", "baseline_table"]
