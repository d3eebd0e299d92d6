"""The portfolio's conclusions on the shipped synthetic data agree with synthetic_data/truth.csv.

The truth file plants a scenario per intervention (effective / null / harmful /
small). The generator sizes every effective and harmful effect for >= 80% power
on the protocol's primary outcome at the analysable n it expects (see the power
arithmetic in evalkit/synth/settings.py), so the whole portfolio must show:

* every effective intervention found (beneficial and significant: expand, promising
  (``continue``) or, from a before/after design, "improvement seen, no comparison group"),
  except those listed in :data:`UNDERPOWERED` with the reason;
* every harmful intervention flagged (stop, safeguarding review, or a significant worsening
  on an outcome it was planted to worsen, after false-discovery control within the report);
* every "small" intervention is "improve the evidence";
* no null intervention called effective (expand/continue) or told to stop or reviewed;
* the same after the portfolio step (false-discovery control across the primary outcomes,
  :func:`evalkit.analysis.commissioning.portfolio_categories`);
* matched-comparison reoffending estimates near the planted risk difference
  (within 3.29 standard errors, i.e. a 99.9% interval).

A fast subset checks single interventions; the whole portfolio (about 40 s) also runs by default.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from evalkit.protocol import load_protocol
from evalkit.analysis.runner import analyse_intervention
from evalkit.report.findings import findings_dict

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "synthetic_data"
PROTOCOLS = ROOT / "protocols"
FAST = ("INT02", "INT03", "INT08", "INT09", "INT10", "INT11", "INT15", "INT16")
CALLED_EFFECTIVE = {"expand", "expand_replicating", "continue"}
FOUND = CALLED_EFFECTIVE | {"before_after_only"}
HARM_FLAGS = {"stop", "safeguarding_review"}
#: Effective interventions the demo need not find, and why (checked below: each is "improve the
#: evidence" with its estimate on the beneficial side, never "stop" or "redesign").
#: Deliberate differences since issue 10 (before/after services that admit on a low score): the regression-to-the-
#: mean correction reads the group's own before-after regression at the population mean (Mee & Chua 1991) and
#: carries the slope's uncertainty; with no record of everyone screened that mean is the national norm, far from
#: these groups' baselines, so the honest interval is wide and the benefit not significant.
RTM_AT_THE_NORM = {
    "INT09": "SWEMWBS +2.7 points beyond regression to the mean, 95% CI -0.6 to +6.1 (norm 23.5, baseline ~17)",
    "INT15": "SDQ parent +0.9, 95% CI -3.1 to +5.0: the parent norm 8.4 lies far below a referred group's scores",
}
#: Deliberate differences since issue 19: a failed hidden-bias check never keeps or grows funding, so a benefit
#: from a matched design that hidden bias could remove is "Needs a stronger design" (before: "Promising"). Both
#: fail even the old constant (E-value of the interval 1.25), let alone a factor as strong as prior offending.
#: Checked below: the category, a beneficial estimate, and a failed hidden-bias check (not a failed test).
NEEDS_STRONGER_DESIGN = {
    "INT01": "matched reoffending 12.0 points lower (95% CI 2.2 to 21.8): the interval's E-value is 1.17, where a "
             "factor as strong as prior offending would need 1.70 (and the constant floor is 1.25)",
    "INT03": "matched reoffending 16.3 points lower (5.5 to 27.2): E-value 1.24 against 1.36 needed",
}
UNDERPOWERED = {
    # Too few to test at all: below the protocols' minimum sample for calling anything significant.
    "INT24": "40 young people and ~75% exit completion leave ~24 complete SWEMWBS pairs, below the protocols' "
             "min_n_significance of 30: the honest answer is 'improve the evidence'",
    # Adequately but not overwhelmingly powered: 2 programme districts against 5 give 80% power at the
    # planted rate ratio of 0.75 (benchmarks/power_area_did.py); the shipped draw is one of the 1 in 5 misses
    # (estimate 0.83, 95% CI 0.72 to 1.01, wild bootstrap p = 0.08). Not tuned away by changing the seed.
    "INT27": "area DiD with 2 treated districts has 80% power at the planted rate ratio; this draw misses",
}
#: Truth-file outcome for each protocol outcome name a harm may be flagged on.
PROTOCOL_TO_TRUTH = {"sdq_total": "sdq_total_change", "sdq_parent_total": "sdq_total_change",
                     "sdq_emotional": "sdq_emotional_change", "swemwbs": "swemwbs_change",
                     "reoffending_12m": "reoffend_12m", "violent_reoffending_12m": "violent_reoffend_12m",
                     "reoffences_per_person_12m": "reoffend_freq_12m"}

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def tables():
    from evalkit.data.load import load_tables

    if not any(DATA.glob("participants.*")) or not (DATA / "truth.csv").is_file():
        pytest.skip("synthetic_data not generated")
    return load_tables(DATA)


@pytest.fixture(scope="module")
def truth():
    t = pd.read_csv(DATA / "truth.csv", keep_default_na=False)
    t = t[~t["outcome"].str.startswith("comparison_areas:")]  # the national panel's rows (the VRU, not an intervention)
    return t


_CACHE: dict[str, dict] = {}


def _findings(tables, iid: str) -> dict:
    if iid not in _CACHE:
        p = load_protocol(PROTOCOLS / f"{iid}.yaml")
        a = analyse_intervention(p, tables)
        _CACHE[iid] = {"intervention_id": iid, "title": p.title, **findings_dict(a, p), "_analysis": a}
    return _CACHE[iid]


def _scenario(truth: pd.DataFrame, iid: str) -> str:
    return str(truth.loc[truth["intervention_id"] == iid, "scenario"].iloc[0])


def _check(f: dict, scenario: str) -> None:
    cat = f["primary"]["category"]
    iid = f["intervention_id"]
    if scenario in ("null", "harmful"):
        assert cat not in CALLED_EFFECTIVE, f"{iid} ({scenario}) was called effective: {f['primary']['sentence']}"
    if scenario == "null":
        assert cat not in HARM_FLAGS, f"{iid} (null) got {cat}"
    if scenario == "small":
        assert cat == "improve_evidence", f"{iid} is small but got {cat}"
    if scenario == "effective":
        assert cat not in ("stop", "redesign", "safeguarding_review"), f"{iid} is effective but got {cat}"


def _matched_rd_near_truth(f: dict, truth: pd.DataFrame) -> None:
    prim = f["primary"]
    if prim["design"] != "matched" or prim["estimate"]["scale"] != "risk difference":
        return
    name = "violent_reoffend_12m" if "violent" in prim["outcome"] else "reoffend_12m"
    row = truth.loc[(truth["intervention_id"] == f["intervention_id"]) & (truth["outcome"] == name)]
    if row.empty:
        return
    true = float(row["true_effect"].iloc[0])
    est, se = prim["estimate"]["estimate"], prim["estimate"]["se"]
    assert abs(est - true) <= 3.29 * se, f"{f['intervention_id']}: {est:.3f} (SE {se:.3f}) vs truth {true:.3f}"


@pytest.mark.parametrize("iid", FAST)
def test_fast_subset_agrees_with_truth(tables, truth, iid):
    f = _findings(tables, iid)
    _check(f, _scenario(truth, iid))
    _matched_rd_near_truth(f, truth)


def test_effective_prepost_and_matched_found(tables, truth):
    effective = [iid for iid in FAST if _scenario(truth, iid) == "effective"]
    missed = [iid for iid in effective if _findings(tables, iid)["primary"]["category"] not in FOUND]
    # INT03 (matched reoffending, SMS 3) is found. INT09 and INT15 (before/after, entry on a low score) are
    # deliberately "improve the evidence" since issue 10: the regression-to-the-mean correction now uses the
    # group's own before-after slope read at the population mean (Mee & Chua 1991), and with no record of everyone
    # screened that mean is the national norm, far from these groups' baselines, so the honest interval is wide
    # (INT09 +2.7, 95% CI -0.6 to +6.1; INT15 +0.9, -3.1 to +5.0). A protocol stating the screened mean
    # (screened_mean, screened_n) narrows it.
    assert effective and missed == sorted(set(RTM_AT_THE_NORM) | (set(NEEDS_STRONGER_DESIGN) & set(FAST))), missed
    for iid in set(NEEDS_STRONGER_DESIGN) & set(FAST):
        f = _findings(tables, iid)["primary"]
        assert f["category"] == "stronger_design" and f["direction"] == "beneficial", (iid, f["category"])
        assert f["finding"]["sensitivity_passed"] is False, iid      # the benchmark, not significance, held it back


def test_rtm_keeps_a_null_counselling_service_from_looking_effective(tables, truth):
    """INT10 admits only low wellbeing (regression to the mean); its raw change looks like a benefit."""
    f = _findings(tables, "INT10")
    o = next(x for x in f["_analysis"].outcomes if x.outcome == "swemwbs")
    assert o.details.rtm_expected > 0  # the low-baseline group is expected to rise anyway
    assert f["primary"]["category"] not in CALLED_EFFECTIVE


def test_findings_are_json_and_aggregate(tables):
    f = dict(_findings(tables, "INT08"))
    f.pop("_analysis")
    text = json.dumps(f)
    assert "person_id" not in text and "P" + "0" * 3 not in text


def test_whole_portfolio_agrees_with_truth(tables, truth):
    # The acceptance check, so it runs by default (about 40 s), not only with -m slow.
    from evalkit.analysis.commissioning import portfolio_categories, secondary_worse_flags

    ids = sorted(p.stem for p in PROTOCOLS.glob("INT*.yaml"))
    decided = portfolio_categories({iid: _findings(tables, iid)["primary"] for iid in ids})
    rows = []
    for iid in ids:
        alone = _findings(tables, iid)
        f = {**alone, "primary": decided[iid]}
        scen = _scenario(truth, iid)
        _check(alone, scen)
        _check(f, scen)
        _matched_rd_near_truth(f, truth)
        worse = secondary_worse_flags(f["outcomes"], alpha=0.05, min_n=f["min_n_significance"])
        harms = [o["outcome"] for o, w in zip(f["outcomes"], worse) if w]
        rows.append((iid, scen, f["primary"]["category"], harms))
    by_id = {r[0]: r for r in rows}
    t = truth.set_index(["intervention_id", "outcome"])["true_effect"]
    effective = [r for r in rows if r[1] == "effective"]
    missed = [r for r in effective if r[2] not in FOUND and r[0] not in UNDERPOWERED and r[0] not in RTM_AT_THE_NORM
              and r[0] not in NEEDS_STRONGER_DESIGN]
    for iid in NEEDS_STRONGER_DESIGN:   # held back by the hidden-bias benchmark: a benefit, never a harm flag
        assert by_id[iid][2] == "stronger_design", by_id[iid]
        assert _findings(tables, iid)["primary"]["direction"] == "beneficial", iid
    assert not missed, f"effective interventions not found: {missed}"
    for iid in RTM_AT_THE_NORM:    # inconclusive, never a harm flag
        assert by_id[iid][2] == "improve_evidence", by_id[iid]
    for iid in UNDERPOWERED:   # each exception is an inconclusive benefit, not a silent miss or a wrong call
        assert by_id[iid][1] == "effective" and by_id[iid][2] == "improve_evidence", by_id[iid]
        assert _findings(tables, iid)["primary"]["direction"] == "beneficial", iid
    for iid, _scen, _, _ in rows:   # area DiD intervals cover the planted rate ratio
        prim = decided[iid]
        if prim["design"] == "area_did":
            e = prim["estimate"]
            assert e["ci_low"] <= t[iid, "area_serious_violence_rr"] <= e["ci_high"], (iid, e)
    f24 = _findings(tables, "INT24")["primary"]
    assert (f24["n"] or 0) < _findings(tables, "INT24")["min_n_significance"]
    for iid, scen, cat, harms in rows:
        if scen == "harmful":
            # Flagged on an outcome that really was made worse (not a chance worsening elsewhere).
            planted = [h for h in harms if t.get((iid, PROTOCOL_TO_TRUTH.get(h, h)), 0) != 0]
            assert cat in HARM_FLAGS or planted, f"{iid} (harmful) not flagged: {cat}, worse on {harms}"
        if scen == "null":
            assert cat not in CALLED_EFFECTIVE and cat not in HARM_FLAGS, (iid, cat)
        if scen == "small":
            assert cat == "improve_evidence", (iid, cat)
