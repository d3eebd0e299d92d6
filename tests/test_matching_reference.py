"""evalkit matching vs R MatchIt 4.7.2 + sandwich + lmtest + survival (values in tests/reference/matching/)."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from evalkit.designs.matching import balance_table, estimate_att, match, survival_att
from evalkit.designs.matching._data import covariate_matrix, prepare
from evalkit.designs.matching.propensity import fit_logit

from matching_reference import ALL, CONFIGS, REF, covariates, options

EFFECTS = pd.read_csv(REF / "effects.csv")


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(REF / "matching_data.csv")


def _match(data, c):
    return match(data, treatment="treated", covariates=covariates(c), id_col="person_id", **options(c))


@pytest.mark.parametrize("name", CONFIGS["name"].tolist())
def test_matched_set_identical_to_matchit(data, name):
    c = CONFIGS.set_index("name").loc[name].to_dict()
    m = _match(data, c)
    ref = pd.read_csv(REF / f"matched_{name}.csv")
    assert (m.units["person_id"].to_numpy() == ref["person_id"].to_numpy()).all()
    np.testing.assert_allclose(m.units["weight"].to_numpy(), ref["weight"].to_numpy(), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(m.units["subclass"].to_numpy(), ref["subclass"].to_numpy(dtype=float))


@pytest.mark.parametrize("name", CONFIGS["name"].tolist())
def test_att_and_se_match_r(data, name):
    c = CONFIGS.set_index("name").loc[name].to_dict()
    m = _match(data, c)
    ref = EFFECTS[EFFECTS["config"] == name].set_index("quantity")
    got = {}
    r = estimate_att(data, m, outcome="y_cont", kind="continuous")
    got["cont_diff"] = r.estimate("difference in means")
    got["cont_adj"] = estimate_att(data, m, outcome="y_cont", kind="continuous",
                                   covariates_adjust=ALL).estimates[0]
    r = estimate_att(data, m, outcome="y_bin", kind="binary")
    got["bin_rd"], got["bin_logrr"] = r.estimates
    got["bin_logrr_adj"] = estimate_att(data, m, outcome="y_bin", kind="binary", covariates_adjust=ALL).estimates[1]
    r = estimate_att(data, m, outcome="y_count", kind="count")
    got["count_diff"], got["count_logrr"] = r.estimates
    got["count_logrr_adj"] = estimate_att(data, m, outcome="y_count", kind="count",
                                          covariates_adjust=ALL).estimates[1]
    for q, est in got.items():
        b = np.log(est.estimate) if "logrr" in q else est.estimate
        assert b == pytest.approx(ref.loc[q, "estimate"], rel=1e-6), q
        assert est.se == pytest.approx(ref.loc[q, "se"], rel=1e-6), q


@pytest.mark.parametrize("name", ["base", "ratio2", "caliper_std", "replace2"])
def test_cox_matches_r_coxph(data, name):
    c = CONFIGS.set_index("name").loc[name].to_dict()
    s = survival_att(data, _match(data, c), duration="time", event="event")
    ref = EFFECTS[(EFFECTS["config"] == name) & (EFFECTS["quantity"] == "cox_loghr")].iloc[0]
    # Integer days: many tied times, so this checks the Efron-corrected robust variance.
    assert np.log(s.hazard_ratio.estimate) == pytest.approx(ref["estimate"], rel=1e-8)
    assert s.hazard_ratio.se == pytest.approx(ref["se"], rel=1e-6)


def test_weighted_km_matches_r_survfit(data):
    c = CONFIGS.set_index("name").loc["base"].to_dict()
    s = survival_att(data, _match(data, c), duration="time", event="event", times=[30, 90, 180, 270, 364])
    ref = pd.read_csv(REF / "km_base.csv")
    curves = s.curves_frame()
    np.testing.assert_allclose(curves["survival_participants"], ref[ref.group == "treated=1"]["surv"], atol=1e-10)
    np.testing.assert_allclose(curves["survival_comparison"], ref[ref.group == "treated=0"]["surv"], atol=1e-10)


@pytest.mark.parametrize("name", ["base", "ratio2", "caliper_std"])
@pytest.mark.parametrize("which", ["un", "matched"])
def test_balance_matches_matchit_summary(data, name, which):
    c = CONFIGS.set_index("name").loc[name].to_dict()
    bal = balance_table(data, _match(data, c), binary="std").to_frame()
    ref = pd.read_csv(REF / f"balance_{name}_{which}.csv")
    ref["covariate"] = ref["term"].replace({"sexfemale": "sex[female]", "sexmale": "sex[male]",
                                            "localityAshfield": "locality[Ashfield]",
                                            "localityMansfield": "locality[Mansfield]",
                                            "localityNottingham": "locality[Nottingham]"})
    merged = bal.merge(ref, on="covariate")
    assert len(merged) == 9  # every covariate column; R also lists "distance"
    sfx = "before" if which == "un" else "after"
    np.testing.assert_allclose(merged[f"mean_treated_{sfx}"], merged["mean_t"], rtol=1e-10)
    np.testing.assert_allclose(merged[f"mean_comparison_{sfx}"], merged["mean_c"], rtol=1e-10)
    np.testing.assert_allclose(merged[f"diff_{sfx}"], merged["smd"], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(merged[f"var_ratio_{sfx}"], merged["var_ratio"], rtol=1e-8)
    np.testing.assert_allclose(merged[f"ecdf_mean_{sfx}"], merged["ecdf_mean"], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(merged[f"ecdf_max_{sfx}"], merged["ecdf_max"], rtol=1e-8, atol=1e-12)


def test_propensity_matches_r_glm_and_statsmodels(data):
    frame = prepare(data, treatment="treated", id_col="person_id", columns=ALL)
    X = covariate_matrix(frame, ALL)
    fit = fit_logit(X.values, frame["treated"].to_numpy(), X.columns)
    ref = pd.read_csv(REF / "ps_coef.csv")
    # R's glm stops at a relative deviance change of 1e-8, so agreement is ~1e-8, not machine precision.
    np.testing.assert_allclose(fit.coef, ref["estimate"], rtol=1e-6, atol=1e-8)
    sm_fit = sm.GLM(frame["treated"], sm.add_constant(X.values), family=sm.families.Binomial()).fit(tol=1e-14)
    np.testing.assert_allclose(fit.coef, sm_fit.params, rtol=1e-8, atol=1e-10)
    fitted = pd.read_csv(REF / "ps_fitted.csv")
    np.testing.assert_allclose(fit.linear_predictor(X.values), fitted["lp"], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name,options", [
    ("ties_largest", dict(m_order="largest")), ("ties_data", dict(m_order="data")),
    ("ties_ratio2", dict(ratio=2)), ("ties_replace", dict(replace=True)),
])
def test_tie_rule_identical_to_matchit(name, options):
    """Two binary covariates: many units share a propensity score, so the tie rule decides."""
    d = pd.read_csv(REF / "ties_data.csv")
    m = match(d, treatment="treated", covariates=["a", "b"], id_col="person_id", min_treated=5, **options)
    ref = pd.read_csv(REF / f"matched_{name}.csv")
    np.testing.assert_allclose(m.units["weight"].to_numpy(), ref["weight"].to_numpy(), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(m.units["subclass"].to_numpy(), ref["subclass"].to_numpy(dtype=float))
