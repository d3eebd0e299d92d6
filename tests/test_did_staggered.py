"""Callaway & Sant'Anna against R `did` (mpdta) and diff-diff (seeded staggered panel)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.designs.did import callaway_santanna
from evalkit.errors import InsufficientDataError, SpecError
from evalkit.results import SMS

REF = Path(__file__).parent / "reference" / "did"
SCENARIOS = {"never_treated": "mpdta_nev_dr", "not_yet_treated": "mpdta_nyt_dr"}


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(REF / "mpdta.csv")


@pytest.fixture(scope="module")
def fits(mpdta):
    return {cg: callaway_santanna(mpdta, outcome="lemp", unit="countyreal", time="year", cohort="first.treat",
                                  control_group=cg) for cg in SCENARIOS}


@pytest.mark.parametrize("cg", list(SCENARIOS))
def test_att_gt_matches_r_did(fits, cg):
    ref = pd.read_csv(REF / "r_did_attgt.csv").query("scenario == @SCENARIOS[@cg]")
    got = fits[cg].att_gt.merge(ref.rename(columns={"t": "time", "att": "r_att", "se": "r_se"}),
                                on=["group", "time"], validate="one_to_one")
    assert len(got) == len(ref) == 12
    np.testing.assert_allclose(got["att"], got["r_att"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got["se"], got["r_se"], rtol=1e-10)


@pytest.mark.parametrize("cg", list(SCENARIOS))
@pytest.mark.parametrize("kind", ["simple", "group", "dynamic", "calendar"])
def test_aggregations_match_r_did(fits, cg, kind):
    ref = pd.read_csv(REF / "r_did_aggte.csv").query("scenario == @SCENARIOS[@cg] and type == @kind")
    agg = fits[cg].aggregate(kind)
    assert agg.overall.estimate == pytest.approx(ref["overall_att"].iloc[0], abs=1e-12)
    assert agg.overall.se == pytest.approx(ref["overall_se"].iloc[0], rel=1e-10)
    if kind != "simple":
        got = agg.table.merge(ref, left_on="level", right_on="egt", validate="one_to_one")
        assert len(got) == len(ref)
        np.testing.assert_allclose(got["estimate"], got["att_egt"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(got["se"], got["se_egt"], rtol=1e-10)


def test_readme_printed_values(fits):
    """Point estimates printed in R did's README (4 dp; its SEs there are bootstrapped)."""
    dyn = fits["never_treated"].aggregate("dynamic")
    assert round(dyn.overall.estimate, 4) == -0.0772
    printed = {-3: 0.0305, -2: -0.0006, -1: -0.0245, 0: -0.0199, 1: -0.0510, 2: -0.1373, 3: -0.1008}
    for e, v in printed.items():
        assert round(float(dyn.table.set_index("level").loc[e, "estimate"]), 4) == v
    grp = fits["never_treated"].aggregate("group")
    assert round(grp.overall.estimate, 3) == -0.031
    assert round(fits["never_treated"].overall.estimate, 4) == -0.0400


@pytest.mark.parametrize("cg", list(SCENARIOS))
def test_pretest_matches_r_did(fits, cg):
    ref = pd.read_csv(REF / "r_did_pretest.csv").query("scenario == @SCENARIOS[@cg]")
    pt = fits[cg].pretrend
    assert pt.distribution == "chi-squared" and pt.df_num == 5
    assert pt.statistic == pytest.approx(ref["W"].iloc[0], rel=1e-9)
    assert round(pt.p_value, 5) == pytest.approx(ref["Wpval"].iloc[0], abs=1e-12)
    assert fits[cg].evidence.sms == SMS.LEVEL_3


@pytest.mark.parametrize("cg", ["never_treated", "not_yet_treated"])
def test_matches_diff_diff_on_staggered_panel(cg):
    peer = json.loads((REF / "peer_reference.json").read_text())["callaway_santanna"][cg]
    df = pd.read_csv(REF / "staggered_panel.csv").query("first_treat != 2001")
    r = callaway_santanna(df, outcome="y", unit="id", time="year", cohort="first_treat", control_group=cg)
    ref = pd.DataFrame(peer["att_gt"])
    got = r.att_gt.merge(ref, on=["group", "time"], suffixes=("", "_dd"), validate="one_to_one")
    assert len(got) == len(ref)
    np.testing.assert_allclose(got["att"], got["att_dd"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got["se"], got["se_dd"], rtol=1e-9)
    assert r.overall.estimate == pytest.approx(peer["overall_att"], abs=1e-12)
    assert r.overall.se == pytest.approx(peer["overall_se"], rel=1e-9)


def test_row_order_and_unit_ids_do_not_matter(mpdta, fits):
    shuffled = mpdta.sample(frac=1, random_state=4).assign(countyreal=lambda f: "c" + f.countyreal.astype(str))
    r = callaway_santanna(shuffled, outcome="lemp", unit="countyreal", time="year", cohort="first.treat")
    pd.testing.assert_frame_equal(r.att_gt, fits["never_treated"].att_gt, rtol=1e-12)


def test_bootstrap_seeded_and_sensible(mpdta, fits):
    kw = dict(outcome="lemp", unit="countyreal", time="year", cohort="first.treat", n_boot=999, seed=7)
    a = callaway_santanna(mpdta, **kw)
    b = callaway_santanna(mpdta, **kw)
    pd.testing.assert_frame_equal(a.att_gt, b.att_gt)
    dyn = a.aggregate("dynamic").table
    # Bootstrap SEs estimate the analytic ones (999 draws: within 15%).
    np.testing.assert_allclose(dyn["boot_se"], dyn["se"], rtol=0.15)
    # Uniform bands are wider than pointwise intervals; critical value between 1.96 and 4.
    assert 1.96 < a.aggregate("dynamic").critical_value < 4
    assert ((dyn["band_high"] - dyn["band_low"]) > (dyn["ci_high"] - dyn["ci_low"])).all()
    rad = callaway_santanna(mpdta, **kw | {"boot_weights": "rademacher"})
    np.testing.assert_allclose(rad.att_gt["boot_se"], a.att_gt["se"], rtol=0.15)
    assert not np.allclose(rad.att_gt["boot_se"], a.att_gt["boot_se"])


def test_unbalanced_units_dropped_and_always_treated(mpdta, fits):
    d = mpdta.drop(index=[0])  # first county loses a year
    r = callaway_santanna(d, outcome="lemp", unit="countyreal", time="year", cohort="first.treat")
    assert r.n_units == 499 and any("dropped" in w for w in r.warnings)
    d2 = mpdta.assign(**{"first.treat": np.where(mpdta.countyreal == mpdta.countyreal.iloc[0], 2003,
                                                  mpdta["first.treat"])})
    r2 = callaway_santanna(d2, outcome="lemp", unit="countyreal", time="year", cohort="first.treat")
    assert r2.n_units == 499 and any("first period" in w for w in r2.warnings)


def test_pretrend_failure_downgrades():
    rng = np.random.default_rng(3)
    nu, years = 400, np.arange(1, 9)
    g = rng.choice([0, 5, 7], nu)
    u = np.repeat(np.arange(nu), len(years))
    t = np.tile(years, nu)
    y = np.where(g[u] > 0, 0.3 * t, 0.0) + rng.normal(size=len(u))
    r = callaway_santanna(pd.DataFrame({"u": u, "t": t, "g": g[u], "y": y}), outcome="y", unit="u", time="t",
                          cohort="g")
    assert r.pretrend.p_value < 0.001 and r.evidence.sms == SMS.LEVEL_2


def test_bad_input(mpdta):
    no_never = mpdta[mpdta["first.treat"] > 0]
    with pytest.raises(InsufficientDataError, match="never-treated"):
        callaway_santanna(no_never, outcome="lemp", unit="countyreal", time="year", cohort="first.treat")
    r = callaway_santanna(no_never, outcome="lemp", unit="countyreal", time="year", cohort="first.treat",
                          control_group="not_yet_treated")
    # The last cohort (2007) has no not-yet-treated comparison once treated: its post cells are skipped.
    assert not ((r.att_gt["group"] == 2007) & r.att_gt["post"]).any()
    assert any("no comparison units" in w for w in r.warnings)
    assert ((r.att_gt["group"] == 2004) & r.att_gt["post"]).sum() == 3  # 2004-2006: 2007 cohort not yet treated
    bad = mpdta.copy()
    bad.loc[bad.index[0], "first.treat"] = 2004
    with pytest.raises(SpecError, match="same in every row"):
        callaway_santanna(bad, outcome="lemp", unit="countyreal", time="year", cohort="first.treat")
    with pytest.raises(SpecError):
        callaway_santanna(mpdta, outcome="lemp", unit="countyreal", time="year", cohort="first.treat",
                          control_group="everyone")


def test_result_renders(fits):
    r = fits["never_treated"]
    assert list(r.to_frame()["term"]) == ["ATT (simple)", "ATT (group)", "ATT (dynamic)", "ATT (calendar)"]
    assert "Callaway" in r.summary() and "<table" in r._repr_html_()
    assert "<table" in r.aggregate("dynamic")._repr_html_()
