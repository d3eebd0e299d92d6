"""TWFE, event study and Goodman-Bacon against pyfixest, linearmodels, statsmodels and diff-diff.

Peer values are stored in tests/reference/did/peer_reference.json by
make_peer_reference.py (so CI needs none of the peers); statsmodels runs live.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from evalkit.designs.did import bacon_decomposition, event_study, twfe
from evalkit.errors import InsufficientDataError, SpecError
from evalkit.results import SMS

REF = Path(__file__).parent / "reference" / "did"
PEER = json.loads((REF / "peer_reference.json").read_text())


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return pd.read_csv(REF / "staggered_panel.csv")


@pytest.fixture(scope="module")
def unbalanced() -> pd.DataFrame:
    return pd.read_csv(REF / "unbalanced_panel.csv")


def _cr1(n, g, k):
    return g / (g - 1) * (n - 1) / (n - k)


@pytest.mark.parametrize("which", ["twfe_balanced", "twfe_unbalanced"])
@pytest.mark.parametrize("label,covs", [("D", ()), ("D_x", ("x",))])
def test_twfe_matches_pyfixest_and_linearmodels(panel, unbalanced, which, label, covs):
    df = panel if which == "twfe_balanced" else unbalanced
    ref = PEER[which][label]
    r = twfe(df, outcome="y", unit="id", time="year", treatment="D", covariates=covs)
    coefs = [r.estimate.estimate, *(c.estimate for c in r.covariates)]
    ses = np.array([r.estimate.se, *(c.se for c in r.covariates)])
    np.testing.assert_allclose(coefs, ref["pyfixest_coef"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(coefs, ref["linearmodels_coef"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ses, ref["pyfixest_se"], rtol=1e-8)
    # linearmodels' raw sandwich (no df adjustments) times evalkit's stated CR1 factor.
    n, g = ref["n_obs"], ref["n_clusters"]
    k = len(coefs) + df["year"].nunique()  # slopes + T (unit FE nested in clusters: not counted)
    assert r.k_counted == k and r.n_obs == n
    np.testing.assert_allclose(ses, np.array(ref["linearmodels_raw_se"]) * np.sqrt(_cr1(n, g, k)), rtol=1e-8)
    # linearmodels' default (two-way effects: every effect counted, no G/(G-1)) is
    # raw * sqrt(n / (n - K_all)), K_all = slopes + units + periods - 1; larger than CR1 here.
    k_all = len(coefs) + df["id"].nunique() + df["year"].nunique() - 1
    np.testing.assert_allclose(ref["linearmodels_default_se"],
                               np.array(ref["linearmodels_raw_se"]) * np.sqrt(n / (n - k_all)), rtol=1e-8)
    assert r.estimate.df == g - 1


def test_twfe_matches_statsmodels_dummies_up_to_stated_k(unbalanced):
    d = unbalanced
    m = smf.ols("y ~ D + x + C(id) + C(year)", d).fit(cov_type="cluster", cov_kwds={"groups": d["id"]})
    r = twfe(d, outcome="y", unit="id", time="year", treatment="D", covariates=["x"])
    assert r.estimate.estimate == pytest.approx(m.params["D"], rel=1e-8)
    # statsmodels counts every dummy in K; evalkit counts slopes + T (stated in dof_note).
    n, k_sm = int(m.nobs), len(m.params)
    ratio = np.sqrt((n - k_sm) / (n - r.k_counted))
    assert r.estimate.se == pytest.approx(m.bse["D"] * ratio, rel=1e-8)
    assert "K = 10" in r.dof_note and "nested in clusters" in r.dof_note


def test_twfe_row_order_and_string_ids(panel):
    a = twfe(panel, outcome="y", unit="id", time="year", treatment="D")
    shuffled = panel.sample(frac=1, random_state=1).assign(id=lambda f: "u" + f["id"].astype(str))
    b = twfe(shuffled, outcome="y", unit="id", time="year", treatment="D")
    assert a.estimate.estimate == pytest.approx(b.estimate.estimate, rel=1e-12)
    assert a.estimate.se == pytest.approx(b.estimate.se, rel=1e-12)


def test_bacon_identity_and_diff_diff(panel):
    b = bacon_decomposition(panel, outcome="y", unit="id", time="year", treatment="D")
    weights = np.array([c.weight for c in b.comparisons])
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert (weights >= 0).all()
    tw = twfe(panel, outcome="y", unit="id", time="year", treatment="D", decompose=False).estimate.estimate
    assert b.weighted_sum == pytest.approx(tw, abs=1e-10)
    assert b.twfe_estimate == pytest.approx(PEER["bacon"]["twfe_estimate"], abs=1e-10)
    # Same comparisons as diff-diff's decomposition: match on sorted (estimate, weight) pairs.
    ours = sorted((round(c.weight, 12), c.estimate) for c in b.comparisons if c.weight > 1e-14)
    theirs = sorted((round(c["weight"], 12), c["estimate"]) for c in PEER["bacon"]["comparisons"]
                    if c["weight"] > 1e-14)
    assert len(ours) == len(theirs)
    np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=1e-8, atol=1e-10)
    kinds = b.by_kind().set_index("kind")["weight"]
    assert kinds.sum() == pytest.approx(1.0)
    assert b.forbidden_weight == pytest.approx(kinds["later vs earlier treated"])
    assert any("every period" in w for w in b.warnings)  # always-treated pooled with untreated


def test_twfe_staggered_attaches_bacon_and_warns(panel):
    r = twfe(panel, outcome="y", unit="id", time="year", treatment="D")
    assert r.staggered and r.bacon is not None
    assert any("Goodman-Bacon" in w for w in r.warnings)
    assert r.bacon.weighted_sum == pytest.approx(r.estimate.estimate, abs=1e-10)
    one = panel[panel.first_treat.isin([0, 2005])]
    r1 = twfe(one, outcome="y", unit="id", time="year", treatment="D")
    assert not r1.staggered and r1.bacon is None and r1.evidence.sms == SMS.LEVEL_3


def test_event_study_matches_pyfixest(panel):
    d = panel[panel.first_treat != 2001]
    r = event_study(d, outcome="y", unit="id", time="year", cohort="first_treat")
    ref = PEER["event_study"]
    est = r.coefficients.set_index("event_time").drop(index=-1)
    assert list(est.index) == ref["event_times"]
    np.testing.assert_allclose(est["estimate"], ref["coef"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(est["se"], ref["se"], rtol=1e-8)
    q = r.pretrend.df_num
    assert r.pretrend.statistic * q == pytest.approx(ref["wald_chi2"], rel=1e-8)  # F = W / q
    assert r.pretrend.df_den == d["id"].nunique() - 1


def test_event_study_from_treatment_column_equals_cohort(panel):
    d = panel[panel.first_treat != 2001]
    a = event_study(d, outcome="y", unit="id", time="year", cohort="first_treat")
    b = event_study(d, outcome="y", unit="id", time="year", treatment="D")
    pd.testing.assert_frame_equal(a.coefficients, b.coefficients)


def test_event_study_binning_equals_manual_binned_dummies(panel):
    d = panel[panel.first_treat != 2001].copy()
    r = event_study(d, outcome="y", unit="id", time="year", cohort="first_treat", window=(-2, 2))
    e = np.where(d.first_treat > 0, np.clip(d.year - d.first_treat, -2, 2), np.nan)
    names = []
    for k in (-2, 0, 1, 2):
        name = f"b{k + 5}"
        d[name] = (e == k).astype(float)
        names.append(name)
    m = smf.ols("y ~ " + " + ".join(names) + " + C(id) + C(year)", d).fit()
    got = r.coefficients.set_index("event_time")["estimate"]
    np.testing.assert_allclose(got.loc[[-2, 0, 1, 2]], m.params[names], rtol=1e-8, atol=1e-10)
    trimmed = event_study(d, outcome="y", unit="id", time="year", cohort="first_treat", window=(-2, 2),
                          bin_endpoints=False)
    assert trimmed.n_obs < r.n_obs and any("dropped" in w for w in trimmed.warnings)


def test_event_study_flags_failed_pretrends():
    rng = np.random.default_rng(11)
    nu, years = 200, np.arange(2010, 2018)
    g = np.where(np.arange(nu) < 100, 2015, 0)
    u = np.repeat(np.arange(nu), len(years))
    t = np.tile(years, nu)
    trend = np.where(g[u] > 0, 0.4 * (t - 2010), 0.0)  # treated units already diverging
    df = pd.DataFrame({"u": u, "t": t, "g": g[u], "y": trend + rng.normal(size=len(u))})
    r = event_study(df, outcome="y", unit="u", time="t", cohort="g")
    assert r.pretrend.p_value < 0.001
    assert r.evidence.sms == SMS.LEVEL_2 and "differed before the start" in r.evidence.reason


def test_bad_input(panel):
    dup = pd.concat([panel, panel.head(1)])
    with pytest.raises(SpecError, match="more than one row"):
        twfe(dup, outcome="y", unit="id", time="year", treatment="D")
    same_time = panel[panel.first_treat.isin([2005])]  # every unit treated at once: D collinear with year FE
    with pytest.raises(InsufficientDataError, match="collinear"):
        twfe(same_time, outcome="y", unit="id", time="year", treatment="D")
    with pytest.raises(InsufficientDataError, match="balanced"):
        bacon_decomposition(panel.iloc[1:], outcome="y", unit="id", time="year", treatment="D")
    with pytest.raises(SpecError, match="exactly one"):
        event_study(panel, outcome="y", unit="id", time="year")


def test_weighted_twfe_matches_statsmodels_wls(unbalanced):
    d = unbalanced.assign(w=1 + unbalanced["id"] % 4)
    m = smf.wls("y ~ D + x + C(id) + C(year)", d, weights=d["w"]).fit(cov_type="cluster", cov_kwds={"groups": d["id"]})
    r = twfe(d, outcome="y", unit="id", time="year", treatment="D", covariates=["x"], weights="w")
    assert r.estimate.estimate == pytest.approx(m.params["D"], rel=1e-8)
    ratio = np.sqrt((m.nobs - len(m.params)) / (m.nobs - r.k_counted))
    assert r.estimate.se == pytest.approx(m.bse["D"] * ratio, rel=1e-8)
    assert r.covariates[0].se == pytest.approx(m.bse["x"] * ratio, rel=1e-8)
