"""period_vs_baseline / baseline_table against hand arithmetic, statsmodels written here, and R."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
import statsmodels.api as sm
from scipy import stats

from evalkit.designs.area import PeriodChangeResult, baseline_table, period_vs_baseline
from evalkit.errors import DataError, InsufficientDataError, MissingDataError, SpecError
from evalkit.results import SMS

REF = Path(__file__).parent / "reference" / "area"
COUNTY = ["Ashfield", "Bassetlaw", "Broxtowe", "Gedling", "Mansfield", "Newark and Sherwood", "Rushcliffe"]


@pytest.fixture(scope="module")
def counts() -> pd.DataFrame:
    return pd.read_csv(REF / "area_fixture.csv")


@pytest.fixture(scope="module")
def r_ref() -> pd.DataFrame:
    return pd.read_csv(REF / "area_reference.csv").set_index("case")


def _window(counts, areas):
    d = counts[(counts.indicator == "serious_violence") & counts.area.isin(areas)].copy()
    d["month"] = pd.to_datetime(d["month"])
    d = d[(d.month >= "2017-04-01") & (d.month <= "2021-03-01")]
    d = d.groupby("month", as_index=False)[["count", "population"]].sum()
    d["period"] = (d.month >= "2020-04-01").astype(float)
    return d


def test_crude_change_and_point_estimate_by_hand(counts):
    d = _window(counts, ["Mansfield"])
    per, base = d[d.period == 1], d[d.period == 0]
    crude = 100 * (per["count"].sum() / (base["count"].sum() / 3) - 1)
    rr = (per["count"].sum() / per.population.sum()) / (base["count"].sum() / base.population.sum())
    res = period_vs_baseline(counts, indicator="serious_violence", area="Mansfield")
    assert isinstance(res, PeriodChangeResult)
    assert res.crude_pct_change == pytest.approx(crude, rel=1e-12)
    assert res.baseline_annual_average == pytest.approx(base["count"].sum() / 3, rel=1e-12)
    assert res.rate_ratio.estimate == pytest.approx(rr, rel=1e-10)
    assert res.pct_change == pytest.approx(100 * (rr - 1), rel=1e-10)
    assert res.period_count == per["count"].sum() and res.baseline_count == base["count"].sum()
    assert res.evidence.sms == SMS.LEVEL_1


@pytest.mark.parametrize("cov", ["quasi", "poisson", "hc1"])
def test_against_statsmodels_glm(counts, cov):
    d = _window(counts, COUNTY)
    kw = {"quasi": {"scale": "X2"}, "poisson": {}, "hc1": {"cov_type": "HC1"}}[cov]
    fit = smf.glm("count ~ period", data=d, family=sm.families.Poisson(), offset=np.log(d.population)).fit(**kw)
    res = period_vs_baseline(counts, indicator="serious_violence", area="County", cov=cov)
    b, se = fit.params["period"], fit.bse["period"]
    assert np.log(res.rate_ratio.estimate) == pytest.approx(b, rel=1e-8)
    assert res.rate_ratio.se == pytest.approx(se, rel=1e-8)
    q = stats.t.ppf(0.975, len(d) - 2) if cov == "quasi" else stats.norm.ppf(0.975)
    assert res.rate_ratio.ci_low == pytest.approx(np.exp(b - q * se), rel=1e-8)
    assert res.pct_ci_high == pytest.approx(100 * (np.exp(b + q * se) - 1), rel=1e-8)


@pytest.mark.parametrize("area", ["Mansfield", "County"])
def test_against_r(counts, r_ref, area):
    for cov, tol_b, tol_se in (("poisson", 1e-9, 1e-7), ("quasi", 1e-9, 1e-6), ("nb", 1e-5, 1e-4)):
        ref = r_ref.loc[f"baseline_{area}_{cov}"]
        res = period_vs_baseline(counts, indicator="serious_violence", area=area, cov=cov)
        assert np.log(res.rate_ratio.estimate) == pytest.approx(ref["coef"], rel=tol_b, abs=1e-12)
        assert res.rate_ratio.se == pytest.approx(ref["se"], rel=tol_se)
        if cov == "quasi":
            assert res.dispersion == pytest.approx(ref["extra"], rel=1e-6)


def test_rollup_and_row_order(counts):
    county = period_vs_baseline(counts, indicator="serious_violence", area="County")
    shuffled = counts.sample(frac=1, random_state=3)
    again = period_vs_baseline(shuffled, indicator="serious_violence", area="County")
    assert again.rate_ratio == county.rate_ratio
    # County rows given directly are used as they are (same sums -> same result)
    d = counts[counts.area.isin(COUNTY)].groupby(["month", "indicator"], as_index=False)[["count", "population"]].sum()
    direct = period_vs_baseline(pd.concat([counts, d.assign(area="County")]), indicator="serious_violence",
                                area="County")
    assert direct.rate_ratio.estimate == pytest.approx(county.rate_ratio.estimate, rel=1e-12)
    # "City" built from its single district, Nottingham
    city = period_vs_baseline(counts, indicator="serious_violence", area="City")
    notts = period_vs_baseline(counts, indicator="serious_violence", area="Nottingham")
    assert city.rate_ratio == notts.rate_ratio


def test_table_covers_all_areas_and_indicators(counts):
    table = baseline_table(counts)
    assert len(table) == 2 * 11  # 2 indicators x (VRU, City, County, 8 localities)
    assert set(table.area) >= {"City and County", "City", "County", "Mansfield", "Nottingham"}
    row = table[(table.indicator == "serious_violence") & (table.area == "Mansfield")].iloc[0]
    res = period_vs_baseline(counts, indicator="serious_violence", area="Mansfield")
    assert row.rate_ratio == res.rate_ratio.estimate and row.period_count == res.period_count
    vru = table[(table.indicator == "serious_violence") & (table.area == "City and County")].iloc[0]
    loc = table[(table.indicator == "serious_violence") & (table.area_level == "district")]
    assert vru.period_count == loc.period_count.sum()


def test_zero_events_cell(counts):
    c = counts.copy()
    mask = (c.indicator == "homicide") & (c.area == "Rushcliffe") & (c.month >= "2020-04-01")
    c.loc[mask, "count"] = 0
    with pytest.raises(InsufficientDataError):
        period_vs_baseline(c, indicator="homicide", area="Rushcliffe")
    table = baseline_table(c, indicators=["homicide"], areas=["Rushcliffe"])
    assert table.period_count.iloc[0] == 0 and np.isnan(table.rate_ratio.iloc[0])
    assert "no events" in table.note.iloc[0]


def test_bad_input(counts):
    with pytest.raises(SpecError):
        period_vs_baseline(counts, indicator="serious_violence", area="County", period=("2019-04", "2020-03"))
    with pytest.raises(MissingDataError):
        period_vs_baseline(counts, indicator="serious_violence", area="County", baseline=("2015-04", "2018-03"))
    with pytest.raises(MissingDataError):
        period_vs_baseline(counts, indicator="knife_crime", area="County")
    with pytest.raises(MissingDataError):
        period_vs_baseline(counts.drop(columns="population"), indicator="serious_violence", area="County")
    with pytest.raises(DataError, match="appears more than once"):
        period_vs_baseline(pd.concat([counts, counts.head(1)]), indicator="serious_violence", area="County")
    bad = counts.copy()
    bad.loc[5, "count"] = -1
    with pytest.raises(DataError, match="row 7"):
        period_vs_baseline(bad, indicator="serious_violence", area="County")
    with pytest.raises(DataError, match="only 6 of 7"):
        period_vs_baseline(counts[~((counts.area == "Gedling") & (counts.month == "2018-05-01"))],
                           indicator="serious_violence", area="County")


def test_result_renders(counts):
    res = period_vs_baseline(counts, indicator="serious_violence", area="County")
    assert res.to_frame()["term"].iloc[0] == res.rate_ratio.name
    assert "County" in res.summary() and "Maryland SMS level 1" in res.summary()
    assert "<table" in res._repr_html_()
