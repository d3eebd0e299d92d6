"""interrupted_time_series against the Lopez Bernal et al. (2017) tutorial (R) and statsmodels written here."""

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from evalkit.designs.area import ITSResult, interrupted_time_series, its_plot
from evalkit.designs.area._glm import newey_west_lags
from evalkit.errors import InsufficientDataError, SpecError

matplotlib.use("Agg")
REF = Path(__file__).parent / "reference" / "area"


@pytest.fixture(scope="module")
def sicily() -> pd.DataFrame:
    s = pd.read_csv(REF / "sicily.csv")
    month = pd.to_datetime(pd.DataFrame({"year": s.year, "month": s.month, "day": 1}))
    return pd.DataFrame({"area": "Sicily", "month": month, "indicator": "acute_coronary_events",
                         "count": s.aces, "population": s.stdpop})


@pytest.fixture(scope="module")
def ref() -> pd.DataFrame:
    return pd.read_csv(REF / "its_sicily_reference.csv").set_index(["model", "term"])


@pytest.fixture(scope="module")
def counts() -> pd.DataFrame:
    return pd.read_csv(REF / "area_fixture.csv")


def _its(data, **kw):
    return interrupted_time_series(data, indicator="acute_coronary_events", area="Sicily", interruption="2005-01", **kw)


def test_tutorial_model3_step_only_quasipoisson(sicily, ref):
    res = _its(sicily, slope_change=False, cov="quasi")
    r = ref.loc[("m3_quasi_harmonic", "smokban")]
    assert np.log(res.step.estimate) == pytest.approx(r.coef, rel=1e-9)
    assert res.step.se == pytest.approx(r.se, rel=1e-8)
    assert res.dispersion == pytest.approx(r.dispersion, rel=1e-8)
    # the tutorial's printed result: RR 0.885 (0.839 to 0.933), normal CI as Epi::ci.exp; ours uses t(52)
    assert round(res.step.estimate, 3) == 0.885
    pre = ref.loc[("m3_quasi_harmonic", "time")]
    assert np.log(res.pre_trend.estimate) == pytest.approx(12 * pre.coef, rel=1e-9)


def test_tutorial_model4_slope_change(sicily, ref):
    res = _its(sicily, cov="quasi")
    slope = ref.loc[("m4_quasi_harmonic_slope", "I(time - 36):smokban")]
    assert np.log(res.slope_change.estimate) == pytest.approx(12 * slope.coef, rel=1e-8)
    assert res.slope_change.se == pytest.approx(12 * slope.se, rel=1e-8)
    # evalkit's step is at the first post month: R's smokban + one month of slope change
    step = ref.loc[("m4_quasi_harmonic_slope", "step_at_first_post_month")]
    assert np.log(res.step.estimate) == pytest.approx(step.coef, rel=1e-9)
    assert res.step.se == pytest.approx(step.se, rel=1e-8)


def test_newey_west_against_r_sandwich(sicily, ref):
    assert newey_west_lags(59) == 3 and newey_west_lags(100) == 4 and newey_west_lags(10) == 2
    res = _its(sicily)  # defaults: Poisson, 2 Fourier pairs, slope change, HAC with the NW (1994) lag
    for term, est in (("I(time - 36):smokban", res.slope_change), ("time", res.pre_trend)):
        r = ref.loc[("p4_hac3", term)]
        assert est.se == pytest.approx(12 * r.se, rel=1e-7)
    step = ref.loc[("p4_hac3", "step_at_first_post_month")]
    assert res.step.se == pytest.approx(step.se, rel=1e-7)
    assert "3 lag" in res.method


@pytest.mark.parametrize("seasonality", ["fourier", "month", None])
def test_against_statsmodels_formula(counts, seasonality):
    d = counts[(counts.indicator == "serious_violence") & (counts.area == "Mansfield")].copy()
    d["date"] = pd.to_datetime(d.month)
    d = d.sort_values("date")
    d["t"] = np.arange(len(d))
    t0 = int(d.loc[d.date == "2019-10-01", "t"].iloc[0])
    d["post"] = (d.t >= t0).astype(float)
    d["since"] = (d.t - t0) * d.post
    d["m"] = d.date.dt.month
    for k in (1, 2):
        d[f"s{k}"], d[f"c{k}"] = np.sin(2 * np.pi * k * d.m / 12), np.cos(2 * np.pi * k * d.m / 12)
    season = {"fourier": " + s1 + c1 + s2 + c2", "month": " + C(m)", None: ""}[seasonality]
    fit = smf.glm("count ~ t + post + since" + season, data=d, family=sm.families.Poisson(),
                  offset=np.log(d.population)).fit(cov_type="HAC", cov_kwds={"maxlags": 3, "use_correction": True})
    res = interrupted_time_series(counts, indicator="serious_violence", area="Mansfield", interruption="2019-10-01",
                                  seasonality=seasonality)
    assert np.log(res.step.estimate) == pytest.approx(fit.params["post"], rel=1e-8)
    assert res.step.se == pytest.approx(fit.bse["post"], rel=1e-8)
    assert np.log(res.slope_change.estimate) == pytest.approx(12 * fit.params["since"], rel=1e-8)
    assert res.slope_change.se == pytest.approx(12 * fit.bse["since"], rel=1e-8)
    np.testing.assert_allclose(res.fitted, fit.fittedvalues.to_numpy(), rtol=1e-8)


def test_counterfactual_and_overall(counts):
    res = interrupted_time_series(counts, indicator="serious_violence", area="County", interruption="2019-10")
    frame = res.series_frame()
    pre = frame.month < "2019-10"
    np.testing.assert_allclose(frame.fitted[pre], frame.counterfactual[pre], rtol=1e-12)
    post = ~pre
    ratio = frame.fitted[post].sum() / frame.counterfactual[post].sum()
    assert res.overall.estimate == pytest.approx(ratio, rel=1e-10)
    assert res.expected_post_without == pytest.approx(frame.counterfactual[post].sum(), rel=1e-12)
    assert res.observed_post == frame.observed[post].sum()
    # without a slope change the post-period ratio is the step itself
    step_only = interrupted_time_series(counts, indicator="serious_violence", area="County",
                                        interruption="2019-10", slope_change=False)
    assert step_only.overall.estimate == pytest.approx(step_only.step.estimate, rel=1e-10)
    assert step_only.overall.se == pytest.approx(step_only.step.se, rel=1e-8)


def test_overall_delta_method_matches_numerical_gradient(counts):
    from evalkit.designs.area._data import area_series, check_counts
    from evalkit.designs.area._glm import fit_rate
    from evalkit.designs.area.its import its_design
    res = interrupted_time_series(counts, indicator="serious_violence", area="County", interruption="2019-10")
    s = area_series(check_counts(counts), indicator="serious_violence", area="County")
    X, _ = its_design(s.index, pd.Period("2019-10", "M"))
    off = np.log(s.population.to_numpy())
    fit = fit_rate(s["count"].to_numpy(float), X, off, cov="hac")
    post = np.asarray(s.index >= pd.Period("2019-10", "M"))
    Xcf = X.copy()
    Xcf[:, 2:4] = 0

    def g(b):
        return np.log(np.exp(X[post] @ b + off[post]).sum()) - np.log(np.exp(Xcf[post] @ b + off[post]).sum())
    eps = 1e-6
    grad = np.array([(g(fit.params + eps * e) - g(fit.params - eps * e)) / (2 * eps) for e in np.eye(len(fit.params))])
    assert res.overall.se == pytest.approx(np.sqrt(grad @ fit.cov @ grad), rel=1e-6)


def test_negbin_family(counts):
    res = interrupted_time_series(counts, indicator="serious_violence", area="Nottingham", interruption="2019-10",
                                  family="negbin", cov="poisson")
    d = counts[(counts.indicator == "serious_violence") & (counts.area == "Nottingham")].sort_values("month")
    X = np.column_stack(
        [np.ones(len(d)), np.arange(len(d)), (np.arange(len(d)) >= 30), np.clip(np.arange(len(d)) - 30, 0, None)]
        + [f(2 * np.pi * k * pd.to_datetime(d.month).dt.month / 12) for f in (np.sin,) for k in (1, 2)]
        + [f(2 * np.pi * k * pd.to_datetime(d.month).dt.month / 12) for f in (np.cos,) for k in (1, 2)]).astype(float)
    nb = sm.NegativeBinomial(d["count"].to_numpy(), X, offset=np.log(d.population.to_numpy()),
                             loglike_method="nb2").fit(disp=0, maxiter=500, method="newton")
    assert np.log(res.step.estimate) == pytest.approx(nb.params[2], rel=1e-4)
    assert res.step.se == pytest.approx(nb.bse[2], rel=2e-2)  # GLM at fixed alpha vs joint ML information
    assert "negative binomial" in res.method


def test_row_order_and_render(counts):
    a = interrupted_time_series(counts, indicator="serious_violence", area="County", interruption="2019-10")
    b = interrupted_time_series(counts.sample(frac=1, random_state=1), indicator="serious_violence", area="County",
                                interruption="2019-10")
    assert a == b
    assert isinstance(a, ITSResult) and len(a.to_frame()) == 4
    assert "Maryland SMS level 1" in a.summary() and "<table" in a._repr_html_()
    fig = its_plot(a)
    assert len(fig.axes[0].lines) >= 2
    # the title names its estimate in full (reports show it beside the change against a baseline)
    assert f"interrupted time series, step at the start as a rate ratio {a.step.estimate:.2f}" in fig.axes[0].get_title()
    fig2 = its_plot(counts, indicator="serious_violence", area="County", interruption="2019-10")
    np.testing.assert_allclose(fig2.axes[0].lines[0].get_ydata(), fig.axes[0].lines[0].get_ydata())
    with pytest.raises(SpecError):
        its_plot(a, area="County")


def test_bad_input(counts):
    with pytest.raises(InsufficientDataError, match="before"):
        interrupted_time_series(counts, indicator="serious_violence", area="County", interruption="2017-10")
    with pytest.raises(InsufficientDataError, match="gap"):
        interrupted_time_series(counts[counts.month != "2018-06-01"], indicator="serious_violence", area="Mansfield",
                                interruption="2019-10")
    with pytest.raises(SpecError):
        interrupted_time_series(counts, indicator="serious_violence", area="County", interruption="2019-10",
                                seasonality="weekly")
    with pytest.raises(SpecError):
        interrupted_time_series(counts, indicator="serious_violence", area="County", interruption="2019-10",
                                cov="cluster")


def test_excluded_months_equal_dropping_them(counts):
    lockdown = ["2020-04", "2020-05", "2020-06"]
    res = interrupted_time_series(counts, indicator="serious_violence", area="Mansfield", interruption="2019-10",
                                  cov="poisson", exclude_months=lockdown)
    d = counts[(counts.indicator == "serious_violence") & (counts.area == "Mansfield")].copy()
    d["date"] = pd.to_datetime(d.month)
    d = d.sort_values("date")
    d["t"] = np.arange(len(d))
    d["post"] = (d.date >= "2019-10-01").astype(float)
    d["since"] = (d.t - 30) * d.post
    for k in (1, 2):
        d[f"s{k}"], d[f"c{k}"] = np.sin(2 * np.pi * k * d.date.dt.month / 12), np.cos(2 * np.pi * k * d.date.dt.month / 12)
    kept = d[~d.date.dt.strftime("%Y-%m").isin(lockdown)]
    fit = smf.glm("count ~ t + post + since + s1 + c1 + s2 + c2", data=kept, family=sm.families.Poisson(),
                  offset=np.log(kept.population)).fit()
    assert np.log(res.step.estimate) == pytest.approx(fit.params["post"], rel=1e-8)
    # 1e-7: the pulse terms fit their months only to IRLS tolerance, which reaches the SEs at ~1e-8
    assert res.step.se == pytest.approx(fit.bse["post"], rel=1e-7)
    assert np.log(res.slope_change.estimate) == pytest.approx(12 * fit.params["since"], rel=1e-8)
    assert "3 month(s) excluded" in res.method and len(res.months) == 60
    with pytest.raises(SpecError):
        interrupted_time_series(counts, indicator="serious_violence", area="Mansfield", interruption="2019-10",
                                exclude_months=["2030-01"])
