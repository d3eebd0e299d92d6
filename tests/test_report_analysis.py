"""Per-intervention analysis orchestration (evalkit.analysis.runner*) and the standardisation it uses.

References: statsmodels' ``proportion_effectsize`` (Cohen's h), a Monte Carlo
of a bivariate normal selected on its baseline (regression to the mean,
Barnett et al. 2005), R-exact ``power.prop.test`` via evalkit.designs.power.
Orchestration runs on small frames cut from the shipped synthetic data.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_effectsize

from evalkit.designs.power import n_for_proportions
from evalkit.protocol import Protocol, load_protocol
from evalkit.analysis import data as ad
from evalkit.analysis import standardise as st
from evalkit.analysis.runner import analyse_intervention, choose_primary
from evalkit.report.findings import findings_dict
from evalkit.analysis.designs import rtm_expected
from evalkit.report.render import disclosed_steps
from evalkit.results import Estimate

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "synthetic_data"
PROTOCOLS = ROOT / "protocols"

pytestmark = pytest.mark.filterwarnings("ignore")


# --------------------------------------------------------------------------- standardisation
@pytest.mark.parametrize("p1, rd", [(0.25, -0.12), (0.40, 0.10), (0.05, -0.02), (0.6, 0.0)])
def test_cohens_h_matches_statsmodels(p1, rd):
    est = Estimate("risk difference", rd, 0.05, rd - 0.1, rd + 0.1, 0.5, "risk difference")
    h = st.cohens_h(p1, est, higher_is_better=False)
    p0 = p1 - rd
    # statsmodels: 2*asin(sqrt(prop1)) - 2*asin(sqrt(prop2)); "better" = fewer, so counterfactual minus treated.
    assert h.estimate == pytest.approx(proportion_effectsize(p0, p1), abs=1e-12)
    assert h.ci_low <= h.estimate <= h.ci_high
    # Monotone map of the risk difference: the h interval excludes 0 exactly when the RD interval does.
    assert (h.ci_low > 0 or h.ci_high < 0) == (est.ci_low > 0 or est.ci_high < 0)


def test_rate_at_h_and_n_needed_match_r_power_prop_test():
    p = 0.37
    q = st.rate_at_h(p, 0.2)
    assert proportion_effectsize(p, q) == pytest.approx(0.2, abs=1e-12)
    assert q < p  # a worthwhile effect on reoffending is a fall
    assert st.n_needed_binary(p) == pytest.approx(n_for_proportions(p, q), rel=1e-12)
    assert math.isinf(st.n_needed_binary(0.0))


def test_rate_ratio_standardisation_is_chinn():
    rr = Estimate("rate ratio", 0.82, 0.1, 0.7, 0.96, 0.01, "rate ratio")
    d = st.from_rate_ratio(rr)
    assert d.estimate == pytest.approx(-math.log(0.82) * math.sqrt(3) / math.pi, abs=1e-12)
    assert d.estimate > 0 and d.ci_low > 0  # a fall in violence is better


def test_rtm_expected_matches_monte_carlo():
    """(1 - r)(mu - m1) is the mean change of a bivariate normal selected on a low baseline (no effect)."""
    rng = np.random.default_rng(11)
    mu, sd, r = 23.5, 3.7, 0.78
    n = 400_000
    z1 = rng.standard_normal(n)
    z2 = r * z1 + math.sqrt(1 - r * r) * rng.standard_normal(n)
    pre, post = mu + sd * z1, mu + sd * z2
    keep = pre <= 20.0  # entry for low wellbeing
    sim_change = float(np.mean(post[keep] - pre[keep]))

    class Res:
        pre_mean = float(np.mean(pre[keep]))

    class Info:
        reliability, norm_mean = r, mu

    assert rtm_expected(Res, Info) == pytest.approx(sim_change, abs=0.02)


# --------------------------------------------------------------------------- small frames from the synthetic data
@pytest.fixture(scope="module")
def tables():
    from evalkit.data.load import load_tables

    if not any(DATA.glob("participants.*")):
        pytest.skip("synthetic_data not generated")
    return load_tables(DATA)


def _small(tables: dict, ids: list[str], pool_n: int = 1500) -> dict:
    """The tables cut down to some interventions and a sample of the pool (small, fast frames)."""
    out = dict(tables)
    part = tables["participants"]
    out["participants"] = part.loc[part["intervention_id"].isin(ids)].copy()
    pool = tables["comparison_pool"].sort_values("person_id")
    out["comparison_pool"] = pool.groupby("pool_source", group_keys=False).head(pool_n).copy()
    people = set(out["participants"]["person_id"]) | set(out["comparison_pool"]["person_id"])
    out["offences"] = tables["offences"].loc[tables["offences"]["person_id"].isin(people)].copy()
    for name in ("measurements", "statuses", "contacts"):
        if name in tables:
            out[name] = tables[name].loc[tables[name]["intervention_id"].isin(ids)].copy()
    return out


def _shuffled(tables: dict, seed: int = 3) -> dict:
    return {k: v.sample(frac=1.0, random_state=seed) if isinstance(v, pd.DataFrame) and len(v) else v
            for k, v in tables.items()}


def test_prepost_orchestration_and_row_order(tables):
    small = _small(tables, ["INT09"], pool_n=10)
    p = load_protocol(PROTOCOLS / "INT09.yaml")
    a = analyse_intervention(p, small)
    b = analyse_intervention(p, _shuffled(small))
    prim = a.primary
    assert prim is not None and prim.design == "prepost" and prim.outcome == "swemwbs"
    assert prim.estimate.estimate == b.primary.estimate.estimate  # row order never changes a result
    o = choose_primary(p, list(a.outcomes))
    raw = o.details.raw_change
    # The headline is the raw mean change minus the regression to the mean expected for this baseline.
    assert o.estimate.estimate == pytest.approx(raw.estimate - o.details.rtm_expected, abs=1e-12)
    # Mee & Chua (1991): the end-on-start regression read at the population mean; reference statsmodels OLS.
    import statsmodels.api as sm

    from evalkit.measures import score_instrument as _score, wide_prepost as _wide

    ids0 = set(ad.population(p, small)["person_id"])
    m0 = small["measurements"]
    w0 = _wide(_score(m0.loc[m0["person_id"].isin(ids0)], "SWEMWBS"), "swemwbs").dropna()
    mu = o.details.rtm_population_mean
    pred = sm.OLS(w0["post"].to_numpy(), sm.add_constant(w0["pre"].to_numpy())).fit().get_prediction(
        np.array([[1.0, mu]]))
    assert o.estimate.estimate == pytest.approx(float(pred.predicted_mean[0]) - mu, abs=1e-9)
    assert o.estimate.se == pytest.approx(float(pred.se_mean[0]), rel=1e-9)
    # The raw change equals the mean of paired differences of the scored instrument.
    from evalkit.measures import score_instrument, wide_prepost

    ids = set(ad.population(p, small)["person_id"])
    m = small["measurements"]
    w = wide_prepost(score_instrument(m.loc[m["person_id"].isin(ids)], "SWEMWBS"), "swemwbs").dropna()
    assert raw.estimate == pytest.approx(float((w["post"] - w["pre"]).mean()), abs=1e-10)
    assert [s for s, _ in a.attrition][:2] == ["Referred", "Started in the period"]


def test_matched_orchestration_on_small_pool(tables):
    small = _small(tables, ["INT03"], pool_n=1500)
    p = load_protocol(PROTOCOLS / "INT03.yaml")
    a = analyse_intervention(p, small)
    matched = [o for o in a.outcomes if o.design == "matched"]
    assert matched and matched[0].ok, matched[0].reason
    o = matched[0]
    rates = o.details.rates
    assert rates.participants - rates.counterfactual == pytest.approx(o.estimate.estimate, abs=1e-12)
    assert o.n_comparison == o.result.n_comparison > 0  # the matched comparison group's young people
    assert o.standardised.name == "Cohen's h"
    assert a.balance and a.profile is not None
    # Row order: identical matched estimate on shuffled tables.
    b = analyse_intervention(p, _shuffled(small, seed=9))
    assert [x.estimate.estimate for x in b.outcomes if x.design == "matched"][0] == o.estimate.estimate
    # Steps shown in the chevron follow the primary outcome's branch.
    labels = [s for s, _ in a.attrition]
    assert labels[2].startswith("Offending")


def test_design_that_cannot_run_is_reported_not_raised(tables):
    small = _small(tables, ["INT03"], pool_n=10)
    small["comparison_pool"] = small["comparison_pool"].iloc[0:0]
    p = load_protocol(PROTOCOLS / "INT03.yaml")
    a = analyse_intervention(p, small)
    failed = [o for o in a.outcomes if o.design == "matched"]
    assert failed and not failed[0].ok and "comparison_pool" in failed[0].reason
    assert a.primary.verdict == "could not be estimated" and a.primary.category == "improve_evidence"
    assert any("could not be estimated" in lim for lim in a.limitations)


def test_population_filter(tables):
    p = load_protocol(PROTOCOLS / "INT03.yaml")
    narrow = p.model_copy(update={"population": p.population.model_copy(update={"age_min": 16, "age_max": 17})})
    pop = ad.population(narrow, tables)
    assert len(pop) and pop["age"].between(16, 17).all()
    assert len(pop) < len(ad.population(p, tables))


def test_findings_hold_no_row_level_data_or_small_counts(tables):
    small = _small(tables, ["INT08"], pool_n=300)
    p = load_protocol(PROTOCOLS / "INT08.yaml")
    a = analyse_intervention(p, small)
    text = json.dumps(findings_dict(a, p), default=str)
    for pid in small["participants"]["person_id"]:
        assert pid not in text
    assert "date_of_birth" not in text
    f = json.loads(text)
    for o in f["outcomes"]:
        assert o["n"] is None or o["n"] >= p.disclosure_threshold
    assert a.primary.category == "improve_evidence"  # 14 participants: too few to tell


def test_disclosed_steps_hide_small_counts():
    steps = [("Referred", 120), ("Started in the period", 115), ("SDQ: at the start", 8), ("SDQ: both", 0),
             ("Offending: matched to a comparison", 1096)]
    shown = dict(disclosed_steps(steps, 10))
    # 120 - 115 = 5 lost before the start would be revealed by subtraction: "Referred" is hidden instead
    assert shown == {"Referred": "[c]", "Started in the period": "115", "SDQ: at the start": "[c]",
                     "SDQ: both": "0", "Offending: matched to a comparison": "1,096"}


def test_disclosed_steps_hide_small_differences_within_each_branch():
    steps = [("Referred", 200), ("Started in the period", 180), ("SDQ: at the start", 150),
             ("SDQ: at the start and the end", 143), ("Offending: complete follow-up", 175),
             ("Offending: matched to a comparison", 160)]
    shown = dict(disclosed_steps(steps, 10))
    assert shown == {"Referred": "200", "Started in the period": "180", "SDQ: at the start": "150",
                     "SDQ: at the start and the end": "[c]",  # 7 lost between the two SDQ steps
                     "Offending: complete follow-up": "[c]",  # 5 fewer than started
                     "Offending: matched to a comparison": "160"}  # 20 fewer than started: a range, not a count


def test_protocol_without_primary_outcome_uses_area_indicator(tables):
    p = load_protocol(PROTOCOLS / "INT27.yaml")
    # One indicator, no bootstrap-heavy DiD: the area trend alone.
    trend = [d for d in p.designs if d.type == "area_trend"][0]
    trend = trend.model_copy(update={"indicators": ["serious_violence"], "areas": ["Mansfield"],
                                     "interruption": None})
    q = Protocol.model_validate({**p.model_dump(), "designs": [trend.model_dump()]})
    a = analyse_intervention(q, tables)
    assert a.primary.outcome == "serious_violence:Mansfield"
    assert a.primary.standardised.name == "d from rate ratio"
    # Area results are whole-district events; power in people does not apply.
    assert math.isinf(a.primary.n_needed)


def test_sections_render_aggregates_only(tables):
    """Every section renders from the analysis; no person id or date of birth reaches the HTML."""
    from types import SimpleNamespace

    from evalkit.report import render as R

    small = _small(tables, ["INT03"], pool_n=1500)
    p = load_protocol(PROTOCOLS / "INT03.yaml")
    ctx = SimpleNamespace(analysis=analyse_intervention(p, small), threshold=p.disclosure_threshold, protocol=p)
    html = "".join(getattr(R, name)(ctx) or "" for name in R.__all__ if name.startswith("section_"))
    assert "What it means for commissioning" in html and "<img" in html
    for pid in small["participants"]["person_id"]:
        assert pid not in html
    dobs = pd.to_datetime(small["participants"]["date_of_birth"]).dropna().dt.strftime("%Y-%m-%d")
    assert not any(d in html for d in dobs)
    # No bare count below the threshold in the participation and results tables.
    import re

    for cell in re.findall(r"<td class='num'>(\d+)</td>", html):
        assert int(cell) == 0 or int(cell) >= p.disclosure_threshold


def test_status_outcome_before_and_after(tables):
    """NEET at exit against baseline: the change in proportion equals a direct count from the statuses table."""
    p = load_protocol(PROTOCOLS / "INT01.yaml")
    spec = p.model_dump()
    spec["designs"] = [{"type": "prepost", "outcomes": ["neet"]}]
    spec["primary_outcomes"] = [{"kind": "status", "name": "neet", "label": "Not in education, training or work",
                                 "domain": "ete", "higher_is_better": False}]
    spec["secondary_outcomes"] = []
    q = Protocol.model_validate(spec)
    small = _small(tables, ["INT01"], pool_n=10)
    a = analyse_intervention(q, small)
    o = a.outcomes[0]
    assert o.ok, o.reason
    st_ = small["statuses"]
    ete = st_.loc[st_["domain"] == "ete"].pivot_table(index="person_id", columns="timepoint", values="value",
                                                       aggfunc="last")
    ids = set(ad.population(q, small)["person_id"])
    ete = ete.loc[ete.index.isin(ids)].dropna(subset=["baseline", "exit"])
    ete = ete[(ete[["baseline", "exit"]] != "other").all(axis=1)]  # "other" is neither NEET nor in ETE: unknown
    direct = float((ete["exit"] == "neet").mean() - (ete["baseline"] == "neet").mean())
    assert o.estimate.estimate == pytest.approx(direct, abs=1e-12)
    assert o.n == len(ete)
    assert o.standardised.name == "Cohen's h"


def test_km_points_draw_no_step_of_fewer_than_threshold_people():
    from evalkit.report.render import km_points

    n = 50
    events_by_month = np.array([1, 3, 6, 12, 13, 14, 20, 22, 23, 24, 30, 31])  # cumulative
    t, s = km_points(np.arange(1, 13) * 30.4375, 1 - events_by_month / n, n, 10)
    drawn = np.round(n * (1 - s)).astype(int)
    assert drawn[0] == 0 and drawn[-1] == 31 and t[-1] == 12 * 30.4375
    assert all(d == 0 or d >= 10 for d in np.diff(drawn)), drawn


def test_did_plot_hidden_when_a_cell_share_reveals_a_small_count():
    from types import SimpleNamespace as NS

    from evalkit.report.render import _small_event_counts

    def outcome(treated_before: float):
        cells = [NS(group="treated", period="before", mean=treated_before, n_obs=80, sum_weights=80.0),
                 NS(group="treated", period="after", mean=0.25, n_obs=80, sum_weights=80.0),
                 NS(group="comparison", period="before", mean=0.3, n_obs=240, sum_weights=80.0),
                 NS(group="comparison", period="after", mean=0.3, n_obs=240, sum_weights=80.0)]
        return NS(design="did", kind="reoffending", details=NS(percent=True), result=NS(cells=cells))

    ctx = NS(threshold=10)
    assert _small_event_counts(ctx, outcome(0.0625))  # 5 of 80 person-periods
    assert _small_event_counts(ctx, outcome(0.95))  # 4 without
    assert not _small_event_counts(ctx, outcome(0.25))


def test_could_not_be_estimated_reason_quotes_no_row_level_values():
    from evalkit.errors import DataError, Problem
    from evalkit.analysis.designs import _reason

    exc = DataError(Problem(file="offences", row=12, column="person_id",
                            message="person_id=P3f9a1c0d2b7e4a68 is not in the participants table; offence on "
                                    "2020-05-17."))
    text = _reason(exc)
    assert "offences, row 12" in text and "P3f9a1c0d2b7e4a68" not in text and "2020-05-17" not in text


def test_profile_hides_a_share_that_the_other_shares_would_reveal():
    from evalkit.report.render import profile_hidden

    g = "Participants (matched)"

    def prof(rows):  # (label, count) with n = 106
        return pd.DataFrame([{"characteristic": lab, (g, "value"): k / 106, (g, "count"): k, (g, "n"): 106}
                             for lab, k in rows])

    # 95 male, 10 female: the 1 young person of another or unknown sex follows by subtraction
    h = profile_hidden(prof([("Male", 95), ("Female", 10), ("Looked after", 40)]), [g], 10)
    assert [r[g] for r in h] == [False, True, False]
    # one ethnic group hidden (5): worked out from the others, so a second one goes too
    eth = [("Ethnic group: asian", 11), ("Ethnic group: black", 12), ("Ethnic group: mixed", 20),
           ("Ethnic group: other", 5), ("Ethnic group: white", 58)]
    h = profile_hidden(prof(eth), [g], 10)
    assert [r[g] for r in h] == [True, False, False, True, False]
    # nothing small anywhere: nothing hidden
    h = profile_hidden(prof([("Male", 80), ("Female", 26)]), [g], 10)
    assert not any(r[g] for r in h)


def test_many_area_trends_are_one_table_per_indicator(tables):
    """The VRU-wide report lists its ~50 secondary area trends in one table per indicator (the page was 16,000
    pixels of blocks); each row is that result's change, interval reading and events, and every other result
    keeps its own block."""
    import re
    from types import SimpleNamespace

    from evalkit.data.config import load_config
    from evalkit.report import render as R
    from evalkit.report.narrative import signed

    p = load_protocol(PROTOCOLS / "vru_wide.yaml")
    a = analyse_intervention(p, tables)
    ctx = SimpleNamespace(analysis=a, threshold=p.disclosure_threshold, protocol=p, cfg=load_config())
    html = R.section_results(ctx)
    listed = [o for o in a.outcomes if o.design == "area_trend" and o.ok and not o.primary]
    assert len(listed) >= 40
    assert len(re.findall(r"<h3>", html)) == len(a.outcomes) - len(listed) + 1  # + the table's heading
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td><td class='num'>", html)
    assert len(rows) == len(listed)
    for o, (place, change, reading) in zip(listed, rows):
        r = o.result
        assert place == o.outcome.split(":", 1)[1]
        assert change.startswith(f"{signed(r.pct_change)}% (")
        clear = r.pct_ci_low > 0 or r.pct_ci_high < 0
        assert (reading == "No clear change") is not clear
        if clear:  # these indicators count harms: a fall is better
            assert reading == ("Fell (better)" if r.pct_ci_high < 0 else "Rose (worse)")
    # a report with only a few area trends keeps a block for each
    assert R._listed_area_trends(listed[: R.LIST_AREA_TRENDS - 1]) == []


def test_pool_outcome_cache_never_serves_another_data_sets_outcomes(tables, monkeypatch):
    """The pool's offending outcomes are cached per data set. Data sets loaded one after another in one process
    (a warm kernel, a test worker) used to be told apart by id(), which Python reuses once a table is freed:
    the next data set could get the previous one's outcomes. Each result must equal a fresh computation."""
    import gc

    from evalkit.analysis import designs as dz

    # the worst case of id() reuse, every freed table's id handed to the next one
    monkeypatch.setattr(dz, "id", lambda obj: 1, raising=False)
    p = load_protocol(PROTOCOLS / "INT03.yaml")
    base = _small(tables, ["INT03"], pool_n=300)
    for k in range(8):
        data = {name: frame.copy() if isinstance(frame, pd.DataFrame) else frame for name, frame in base.items()}
        # a different data set each time: every k-th offence dropped
        data["offences"] = data["offences"].iloc[[i for i in range(len(data["offences"])) if i % 8 != k]].copy()
        pool = data["comparison_pool"].head(200)
        cached = dz._pool_offending(p, data, pool, (12, 6))
        dz._POOL_CACHE.clear()  # then the same data computed afresh
        fresh = dz._pool_offending(p, data, pool, (12, 6))
        pd.testing.assert_frame_equal(cached, fresh)
        del data, pool
        gc.collect()
