"""area_did (Poisson rate DiD), the wild score bootstrap and the placebo-area check against R, statsmodels written here,
and by construction."""

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from evalkit.designs.area import AreaDiDResult, area_did, event_study_plot, trend_plot
from evalkit.designs.area.bootstrap import bootstrap_weights, restricted_scores, wild_score_test
from evalkit.designs.area.placebo import _assignments, placebo_areas
from evalkit.errors import InsufficientDataError, MissingDataError, SpecError
from evalkit.results import SMS

matplotlib.use("Agg")
REF = Path(__file__).parent / "reference" / "area"
SYNTH = Path(__file__).parents[1] / "synthetic_data"
FIX28 = ["Gedling", "Broxtowe", "Newark and Sherwood"]


@pytest.fixture(scope="module")
def counts() -> pd.DataFrame:
    return pd.read_csv(REF / "area_fixture.csv")


@pytest.fixture(scope="module")
def rollout() -> pd.DataFrame:
    return pd.read_csv(REF / "area_rollout_fixture.csv")


@pytest.fixture(scope="module")
def r_ref() -> pd.DataFrame:
    return pd.read_csv(REF / "area_reference.csv").set_index("case")


@pytest.fixture(scope="module")
def fix27(counts, rollout) -> AreaDiDResult:
    return area_did(counts, rollout, indicator="serious_violence", intervention_id="FIX27")


def _panel(counts):
    d = counts[counts.indicator == "serious_violence"].copy()
    d["date"] = pd.to_datetime(d.month)
    d = d[~(d.area.isin(FIX28) & (d.date >= "2020-04-01"))]
    d["D"] = (d.area.isin(["Mansfield", "Ashfield"]) & (d.date >= "2019-10-01")).astype(float)
    return d.reset_index(drop=True)


def test_against_r_glm_and_vcovcl(fix27, r_ref):
    r = r_ref.loc["did_FIX27"]
    assert np.log(fix27.rate_ratio.estimate) == pytest.approx(r.coef, rel=1e-8)
    assert fix27.rate_ratio.se == pytest.approx(r.se, rel=1e-7)
    assert fix27.n_clusters == r.extra == 8
    p = r_ref.loc["pretrend_FIX27"]
    assert np.log(fix27.pretrend.estimate) == pytest.approx(p.coef, rel=1e-7)
    assert fix27.pretrend.se == pytest.approx(p.se, rel=1e-6)


def test_against_statsmodels_formula(counts, fix27):
    d = _panel(counts)
    groups = pd.factorize(d.area, sort=True)[0]
    fit = smf.glm("count ~ D + C(area) + C(month)", data=d, family=sm.families.Poisson(),
                  offset=np.log(d.population)).fit(cov_type="cluster",
                                                    cov_kwds={"groups": groups, "use_correction": False})
    se = fit.bse["D"] * np.sqrt(8 / 7)  # CR0 x G/(G-1)
    assert np.log(fix27.rate_ratio.estimate) == pytest.approx(fit.params["D"], rel=1e-8)
    assert fix27.rate_ratio.se == pytest.approx(se, rel=1e-8)
    q = stats.t.ppf(0.975, 7)
    assert fix27.rate_ratio.ci_high == pytest.approx(np.exp(fit.params["D"] + q * se), rel=1e-8)
    # descriptive group rates are plain sums
    tr = d[d.area.isin(["Mansfield", "Ashfield"]) & (d.date >= "2019-10-01")]
    row = fix27.group_rates_frame().query("group == 'treated' and period == 'after'").iloc[0]
    assert row["count"] == tr["count"].sum()
    assert row.rate_per_100k_year == pytest.approx(1.2e6 * tr["count"].sum() / tr.population.sum(), rel=1e-12)


def test_score_statistic_matches_statsmodels_score_test():
    # with every observation its own cluster the score statistic is statsmodels' HC0 score test,
    # which centres the score covariance and scales it by n/(n-1)
    rng = np.random.default_rng(7)
    n = 300
    X = np.column_stack([rng.normal(size=n), np.ones(n), rng.normal(size=n), rng.integers(0, 2, n)])
    off = rng.normal(0, 0.2, n)
    y = rng.poisson(np.exp(0.15 * X[:, 0] + 1 + 0.3 * X[:, 2] - 0.2 * X[:, 3] + off) * rng.gamma(3, 1 / 3, n))
    s, _ = restricted_scores(y.astype(float), X, off, np.arange(n), 0)
    ours = s.sum() ** 2 / (n / (n - 1) * np.sum((s - s.mean()) ** 2))
    ref = sm.GLM(y, X[:, 1:], family=sm.families.Poisson(), offset=off).fit().score_test(
        exog_extra=X[:, [0]], cov_type="HC0")
    assert ours == pytest.approx(float(ref.statistic), rel=1e-9)


def test_rademacher_enumeration_is_exact_and_deterministic(counts, rollout):
    w, enumerated = bootstrap_weights(8, weights="rademacher")
    assert enumerated and w.shape == (256, 8) and len({tuple(r) for r in w}) == 256
    a = area_did(counts, rollout, indicator="serious_violence", intervention_id="FIX27", weights="rademacher",
                 bootstrap_ci=False)
    assert a.n_boot == 256 and (a.bootstrap_p * 256) == pytest.approx(round(a.bootstrap_p * 256))
    b = area_did(counts.sample(frac=1, random_state=5), rollout.sample(frac=1, random_state=5),
                 indicator="serious_violence", intervention_id="FIX27", weights="rademacher", bootstrap_ci=False)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert a.bootstrap_p == b.bootstrap_p and a.event_study == b.event_study and a.group_rates == b.group_rates


def test_bootstrap_ci_inverts_the_test(counts, rollout, fix27):
    d = _panel(counts)
    lo, hi = fix27.bootstrap_ci
    assert lo < fix27.rate_ratio.estimate < hi
    X = np.column_stack([d.D, np.ones(len(d)), pd.get_dummies(d.area, drop_first=True, dtype=float),
                         pd.get_dummies(d.month, drop_first=True, dtype=float)])
    g = pd.factorize(d.area, sort=True)[0]
    y, off = d["count"].to_numpy(float), np.log(d.population.to_numpy())
    for bound, inside in ((lo, 1.01), (lo, 0.99), (hi, 0.99), (hi, 1.01)):
        p = wild_score_test(y, X, off, g, 0, null=np.log(bound * inside)).p_value
        is_inside = (bound == lo and inside > 1) or (bound == hi and inside < 1)
        assert (p >= 0.05) == is_inside


def test_evidence_and_warnings(fix27, counts, rollout):
    assert fix27.evidence.sms == SMS.LEVEL_3 and fix27.pretrend_bootstrap_p >= 0.10
    text = " ".join(fix27.warnings)
    assert "too narrow with so few areas" in text and "Only 2 treated" in text
    rec = fix27.recommended
    assert (rec.ci_low, rec.ci_high, rec.p_value) == (*fix27.bootstrap_ci, fix27.bootstrap_p)
    assert fix27.treated_areas == ("Ashfield", "Mansfield") and len(fix27.comparison_areas) == 6
    # plant a diverging pre-trend in the treated areas: SMS 2 with the reason
    c = counts.copy()
    date = pd.to_datetime(c.month)
    years = (date.dt.year - 2017) + (date.dt.month - 4) / 12
    tr = c.area.isin(["Mansfield", "Ashfield"]) & (c.indicator == "serious_violence")
    c.loc[tr, "count"] = np.round(c.loc[tr, "count"] * np.exp(0.25 * years[tr])).astype(int)
    bad = area_did(c, rollout, indicator="serious_violence", intervention_id="FIX27", bootstrap_ci=False, n_boot=999)
    assert bad.evidence.sms == SMS.LEVEL_2 and "different trends" in bad.evidence.reason


def test_null_programme_and_other_programmes(counts, rollout):
    r = area_did(counts, rollout, indicator="serious_violence", intervention_id="FIX28", bootstrap_ci=False,
                 n_boot=999)
    assert r.rate_ratio.ci_low < 1 < r.rate_ratio.ci_high and r.bootstrap_p > 0.05
    ex = area_did(counts, rollout, indicator="serious_violence", intervention_id="FIX27", bootstrap_ci=False,
                  other_programmes="exclude", n_boot=999)
    assert ex.n_clusters == 5 and not set(FIX28) & set(ex.comparison_areas)
    only = area_did(counts, rollout, indicator="serious_violence", intervention_id="FIX27", bootstrap_ci=False,
                    comparison_areas=["Bassetlaw", "Rushcliffe"], n_boot=999)
    assert only.comparison_areas == ("Bassetlaw", "Rushcliffe")


def test_event_study_and_plots(fix27, counts, rollout):
    es = fix27.event_study_frame()
    assert "months -6 to -1" not in set(es.name) and "months 0 to 5" in set(es.name)
    assert len(event_study_plot(fix27).axes[0].lines) >= 1
    fig = trend_plot(counts, indicator="serious_violence", areas=["Mansfield", "County"], area_rollout=rollout,
                     intervention_id="FIX27", baseline=("2017-04", "2020-03"))
    assert len(fig.axes[0].lines) >= 2
    frame = fix27.to_frame().set_index("term")
    assert frame.loc[fix27.recommended.name, "p_value"] == fix27.bootstrap_p and "<table" in fix27._repr_html_()


def test_bad_input(counts, rollout):
    with pytest.raises(MissingDataError):
        area_did(counts, rollout, indicator="serious_violence", intervention_id="INT99")
    with pytest.raises(SpecError):
        area_did(counts, rollout, indicator="serious_violence", intervention_id="FIX27", comparison_areas=["Mansfield"])
    with pytest.raises(InsufficientDataError):
        area_did(counts, rollout, indicator="serious_violence", intervention_id="FIX27", start="2019-10")
    with pytest.raises(SpecError):
        area_did(counts, rollout, indicator="serious_violence", intervention_id="FIX27", weights="mammen")


@pytest.mark.skipif(not (SYNTH / "area_counts.csv.gz").exists(), reason="synthetic_data/ not generated yet")
def test_planted_effects_in_shipped_synthetic_data():
    counts = pd.read_csv(SYNTH / "area_counts.csv.gz")
    rollout = pd.read_csv(SYNTH / "area_rollout.csv.gz")
    from evalkit.synth.settings import effects_for

    planted = effects_for("INT27").area_rr
    int27 = area_did(counts, rollout, indicator="serious_violence", intervention_id="INT27")
    assert int27.rate_ratio.ci_low <= planted <= int27.rate_ratio.ci_high  # planted rate ratio (synth settings)
    assert int27.recommended.ci_low <= planted <= int27.recommended.ci_high
    assert int27.rate_ratio.estimate < 1
    int28 = area_did(counts, rollout, indicator="serious_violence", intervention_id="INT28", bootstrap_ci=False)
    # INT28 does nothing. With 3 treated clusters the cluster-robust interval is far too narrow
    # (MacKinnon & Webb 2017), so check the null against an independent quasi-Poisson fit
    # (statsmodels, Pearson-scaled SE) of the same model: same estimate, interval covering 1.
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    d = counts[(counts["indicator"] == "serious_violence") & ~counts["area"].isin(["County"])].copy()
    d["month"] = pd.to_datetime(d["month"])
    d = d[~(d["area"].isin(["Ashfield", "Mansfield"]) & (d["month"] >= "2019-10-01"))]   # INT27 after its start
    d["t"] = (d["area"].isin(["Broxtowe", "Gedling", "Newark and Sherwood"]) & (d["month"] >= "2020-04-01")) * 1.0
    fit = smf.glm("count ~ C(area) + C(month) + t", d, family=sm.families.Poisson(),
                  offset=np.log(d["population"])).fit(scale="X2")
    assert int28.rate_ratio.estimate == pytest.approx(np.exp(fit.params["t"]), rel=1e-6)
    assert abs(fit.params["t"]) < 1.96 * fit.bse["t"]


@pytest.mark.skipif(not (SYNTH / "area_counts.csv.gz").exists(), reason="synthetic_data/ not generated yet")
def test_table_a_on_shipped_synthetic_data():
    from evalkit.designs.area import baseline_table
    counts = pd.read_csv(SYNTH / "area_counts.csv.gz")
    table = baseline_table(counts, indicators=["serious_violence"])
    assert len(table) == 10 and table.rate_ratio.notna().all()  # VRU, City, County, 7 districts
    by = table.set_index("area")
    districts = table[table.area_level == "district"]
    # the shipped County rows roll up exactly; the whole VRU is City + County
    assert by.loc["County", "period_count"] == districts.period_count.sum()
    assert by.loc["City and County", "period_count"] == by.loc["City", "period_count"] + by.loc["County", "period_count"]


# --- placebo areas (randomisation inference): evalkit.designs.area.placebo --------------------------------------

def _brute_force(d: pd.DataFrame, start: str, k: int) -> list[float]:
    """Every set of k areas given the start, each refitted from scratch with a formula GLM."""
    import itertools

    estimates = []
    for combo in itertools.combinations(sorted(d.area.unique()), k):
        d = d.assign(D=(d.area.isin(combo) & (d.date >= start)).astype(float))
        fit = smf.glm("count ~ D + C(area) + C(month)", data=d, family=sm.families.Poisson(),
                      offset=np.log(d.population)).fit(tol=1e-12)
        estimates.append(float(fit.params["D"]))
    return estimates


def test_placebo_p_value_equals_brute_force(counts, rollout):
    res = area_did(counts, rollout, indicator="serious_violence", intervention_id="FIX27", n_boot=99,
                   bootstrap_ci=False)
    d = _panel(counts)
    b = float(smf.glm("count ~ D + C(area) + C(month)", data=d, family=sm.families.Poisson(),
                      offset=np.log(d.population)).fit(tol=1e-12).params["D"])
    estimates = _brute_force(d, "2019-10-01", 2)
    as_extreme = sum(abs(e) >= abs(b) - 1e-9 for e in estimates)
    placebo = res.placebo
    assert placebo.enumerated and placebo.n_skipped == 0
    assert placebo.n_sets == len(estimates) == 28  # C(8, 2)
    assert placebo.n_as_extreme == as_extreme
    assert placebo.p_value == pytest.approx(as_extreme / 28, abs=0)
    assert placebo.min_p == pytest.approx(1 / 28)
    assert placebo.log_rate_ratio == pytest.approx(b, abs=1e-8)
    assert placebo.sentence() in res.warnings
    frame = res.to_frame().set_index("term")
    assert frame.loc["placebo-area p-value", "p_value"] == placebo.p_value


def test_one_treated_area_can_never_reach_five_percent():
    """A huge effect in 1 of 6 areas is the most extreme set, yet p = 1/6: the sentence says so."""
    rng = np.random.default_rng(4)
    areas, months = [f"A{i}" for i in range(6)], np.arange(36)
    a = np.repeat(np.arange(6), 36)
    m = np.tile(months, 6)
    D = ((a == 2) & (m >= 24)).astype(float)
    mu = 40 * np.exp(0.1 * a + 0.02 * m - 1.0 * D)
    y = rng.poisson(mu).astype(float)
    X_fe = np.column_stack([np.ones(a.size), np.eye(6)[a][:, 1:], np.eye(36)[m][:, 1:]])
    offset = np.zeros(a.size)
    b = float(sm.GLM(y, np.column_stack([D, X_fe]), family=sm.families.Poisson(), offset=offset).fit().params[0])
    res = placebo_areas(y, X_fe, offset, np.array(areas)[a], m, {"A2": 24}, estimate=b)
    assert (res.n_sets, res.n_as_extreme) == (6, 1)
    assert res.p_value == pytest.approx(1 / 6)
    assert "no result could reach p < 0.05" in res.sentence()


def test_assignment_sets_staggered_and_sampled():
    names = ["a", "b", "c", "d"]
    assert len(_assignments(names, [5, 5], 100, 0)) == 6  # C(4, 2): equal starts
    staggered = _assignments(names, [5, 9], 100, 0)
    assert len(staggered) == 12  # P(4, 2): each start travels with its area
    assert frozenset({("a", 5), ("b", 9)}) in staggered and frozenset({("b", 5), ("a", 9)}) in staggered
    assert _assignments(names, [5, 9], 11, 0) is None  # more than the cap: sampled instead


def test_sampled_sets_include_the_real_one_and_are_reproducible():
    rng = np.random.default_rng(1)
    n_areas, n_months = 14, 24
    a = np.repeat(np.arange(n_areas), n_months)
    m = np.tile(np.arange(n_months), n_areas)
    y = rng.poisson(30, a.size).astype(float)
    X_fe = np.column_stack([np.ones(a.size), np.eye(n_areas)[a][:, 1:], np.eye(n_months)[m][:, 1:]])
    labels = np.array([f"A{i:02d}" for i in range(n_areas)])[a]
    starts = {"A00": 12, "A01": 12, "A02": 12}  # C(14, 3) = 364 sets > 50
    runs = [placebo_areas(y, X_fe, np.zeros(a.size), labels, m, starts, estimate=0.05, max_assignments=50, seed=3)
            for _ in range(2)]
    assert not runs[0].enumerated and runs[0].n_sets == 50
    assert runs[0] == runs[1]
