"""The DiD designs on the shipped synthetic data (planted truth in synthetic_data/truth.csv).

Participant level: matched DiD of proven offences in the 12 months before vs
after the index date (matching by evalkit.designs.matching), whose confidence
interval must cover the planted ATT. Area level: staggered roll-out of INT27
(planted rate ratio from 2019-10) and INT28 (null, from 2020-04) on monthly
serious-violence rates, drawn by the generator at 20 times the population (the
shipped districts see 5-30 offences a month, too few for a one-month-base-period
cohort estimate with 8 clusters to be checked against the planted value).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.designs.did import callaway_santanna, event_study, matched_did, offending_panel, plot_event_study, twfe

DATA = Path(__file__).resolve().parents[1] / "synthetic_data"
COVS = ["prior_offences", "prior_violent_offences", "school_exclusion", "looked_after", "exploitation_concern",
        "substance_misuse_concern", "age", "male"]


@pytest.fixture(scope="module")
def synth():
    return {name: pd.read_csv(DATA / (f"{name}.csv" if name == "truth" else f"{name}.csv.gz")) for name in
            ("participants", "comparison_pool", "offences", "truth", "area_counts", "area_rollout")}


def _matched_sample(synth, iid: str, pool_source: str):
    from evalkit.designs.matching.match import match

    p = synth["participants"].query("intervention_id == @iid and start_date.notna()").copy()  # starters only
    custody = p["referral_source"].eq("police_custody") & p["intervention_id"].isin(["INT01", "INT02"])
    p["index_date"] = np.where(custody, p["referral_date"], p["start_date"])
    c = synth["comparison_pool"].query("pool_source == @pool_source").copy()
    p["treated"], c["treated"] = 1, 0
    d = pd.concat([p, c], ignore_index=True)
    years = (pd.to_datetime(d["index_date"]) - pd.to_datetime(d["date_of_birth"])).dt.days / 365.25
    d["age"] = years.fillna(d["age_at_start"]).fillna(d["age_at_index"])
    d["male"] = (d["sex"] == "male").astype(int)
    for col in COVS[2:6]:
        d[col] = d[col].astype(int)
    panel = offending_panel(d[["person_id", "index_date", "treated"]], synth["offences"], data_end="2022-08-31")
    d = d[pd.to_datetime(d["index_date"]) <= pd.Timestamp("2021-02-28")]  # complete 12 + 6 month follow-up
    m = match(d[["person_id", "treated", *COVS]], treatment="treated", covariates=COVS, id_col="person_id",
              ratio=3, caliper=0.2, seed=1)  # 1:3, as the demo protocols
    return m, panel


@pytest.mark.parametrize("iid,pool", [("INT01", "custody_no_referral"), ("INT02", "custody_no_referral")])
def test_matched_did_covers_planted_effect(synth, iid, pool):
    m, panel = _matched_sample(synth, iid, pool)
    assert panel.attrs["n_incomplete"] > 0  # late starters are left out, as the README plants
    truth = synth["truth"].query("intervention_id == @iid").set_index("outcome")["true_effect"]
    for outcome, key in (("offences", "reoffend_freq_12m"), ("any_offence", "reoffend_12m")):
        r = matched_did(panel, m, outcome=outcome, unit="person_id", post="post")
        assert r.estimate.ci_low < truth[key] < r.estimate.ci_high, (iid, outcome, r.estimate, truth[key])
        assert r.cluster == "matched set" and r.n_clusters == m.n_treated_matched
        if iid == "INT01" and outcome == "offences":  # effective: the DiD finds the reduction in offences
            assert r.estimate.ci_high < 0


def test_matched_did_with_two_pre_windows_reports_parallel_trends(synth):
    m, _ = _matched_sample(synth, "INT01", "custody_no_referral")
    p = synth["participants"].query("intervention_id == 'INT01' and start_date.notna()")
    idx = pd.concat([p.assign(index_date=p["referral_date"], treated=1)[["person_id", "index_date", "treated"]],
                     synth["comparison_pool"].query("pool_source == 'custody_no_referral'")
                     .assign(treated=0)[["person_id", "index_date", "treated"]]])
    panel = offending_panel(idx, synth["offences"], windows_before=2, data_end="2022-08-31")
    r = matched_did(panel, m, outcome="offences", unit="person_id", post="post", time="window")
    assert r.pretrend is not None and r.pretrend.df_num == 1
    assert str(r.pretrend) in r.evidence.reason
    truth = synth["truth"].query("intervention_id == 'INT01' and outcome == 'reoffend_freq_12m'")["true_effect"]
    assert r.estimate.ci_low < truth.iloc[0] < r.estimate.ci_high


@pytest.fixture(scope="module")
def area_panel(synth):
    from datetime import date

    from evalkit.synth.area import simulate_area_counts
    from evalkit.synth.settings import effects_for, portfolio

    rollouts = [(s["id"], d, date.fromisoformat(s["area_rollout"]["start"]), effects_for(s["id"]).area_rr)
                for s in portfolio() if "area_rollout" in s for d in s["area_rollout"]["districts"]]
    counts = simulate_area_counts(np.random.default_rng(2021), rollouts, scale=20.0)
    a = counts.query("indicator == 'serious_violence' and area != 'County'").copy()
    month = pd.to_datetime(a["month"])
    a["m"] = (month.dt.year - 2017) * 12 + month.dt.month - 4  # months since 2017-04
    a["log_rate"] = np.log(a["count"] / a["population"] * 1e4)
    ro = synth["area_rollout"].copy()
    start = pd.to_datetime(ro["start_month"])
    ro["g"] = (start.dt.year - 2017) * 12 + start.dt.month - 4
    a = a.merge(ro[["area", "g"]], on="area", how="left").fillna({"g": 0})
    a["D"] = ((a["g"] > 0) & (a["m"] >= a["g"])).astype(int)
    return a


def test_area_rollout_staggered(area_panel):
    r = callaway_santanna(area_panel, outcome="log_rate", unit="area", time="m", cohort="g")
    groups = r.aggregate("group").table.set_index("level")
    int27, int28 = groups.loc[30.0], groups.loc[36.0]
    from evalkit.synth.settings import effects_for

    assert int27["ci_low"] < np.log(effects_for("INT27").area_rr) < int27["ci_high"]
    assert int27["ci_high"] < 0
    assert int28["ci_low"] < 0 < int28["ci_high"]
    assert r.pretrend is None and "too few units" in r.evidence.reason  # 8 areas, 59 pre-periods
    t = twfe(area_panel, outcome="log_rate", unit="area", time="m", treatment="D")
    assert t.staggered and t.bacon.weighted_sum == pytest.approx(t.estimate.estimate, abs=1e-10)
    assert t.n_clusters == 8 and t.estimate.df == 7


def test_event_study_plot_on_area_data(area_panel):
    es = event_study(area_panel, outcome="log_rate", unit="area", time="m", cohort="g", window=(-12, 12))
    assert len(es.coefficients) == 25 and es.pretrend is not None
    fig = plot_event_study(es)
    ax = fig.axes[0]
    assert any(list(line.get_xdata()) == [0, 0] for line in ax.get_lines())  # vertical line at 0
    assert ax.get_xlabel().startswith("Periods relative")
