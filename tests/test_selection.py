"""Selection on an unrecorded trait (evalkit.synth, off by default) and the placebo outcome that can see part of it.

* Off by default: the world with default options is the shipped one (tables and truth identical), and under
  any strength only participants' offences change (each part has its own random stream).
* The trait is bias, not effect: truth.csv is unchanged; the counterfactual time to reoffending of the
  potential outcomes carries it, so the 12-month risk of a null programme's participants falls by the
  planted hazard ratio (checked against the model's exact expected risk, within 4 standard errors).
* The placebo outcome (offending 48-24 months before the index date, same matched comparison): with no
  selection its interval covers 0; with a trait fully visible before referral it finds participants
  offending less before, and the check fails for the (spurious) benefit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.analysis import data as ad
from evalkit.analysis import designs
from evalkit.protocol import load_protocol
from evalkit.synth import settings
from evalkit.synth.offending import risk_by
from evalkit.synth.settings import Selection, WorldOptions
from evalkit.synth.world import simulate

PROTOCOLS = Path(__file__).resolve().parents[1] / "protocols"
SMALL_POOL = {"custody_no_referral": 1500, "at_risk_list": 300}


def test_default_options_are_the_shipped_world():
    a = simulate(7, only=["INT02"], pool_sizes=SMALL_POOL)
    b = simulate(7, only=["INT02"], pool_sizes=SMALL_POOL, options=WorldOptions())
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    pd.testing.assert_frame_equal(a.truth, b.truth)


def test_selection_changes_only_participants_offences_and_is_not_in_the_truth():
    n = 2000
    base = simulate(11, sizes={"INT02": n}, only=["INT02"], pool_sizes=SMALL_POOL)
    strong = simulate(11, sizes={"INT02": n}, only=["INT02"], pool_sizes=SMALL_POOL,
                      options=WorldOptions(selection="strong"))
    for name in base.tables:
        if name != "offences":
            pd.testing.assert_frame_equal(base.tables[name], strong.tables[name])
    pd.testing.assert_frame_equal(base.truth, strong.truth)
    pool_ids = set(base.tables["comparison_pool"]["person_id"])
    off_b, off_s = base.tables["offences"], strong.tables["offences"]
    pd.testing.assert_frame_equal(off_b[off_b["person_id"].isin(pool_ids)].reset_index(drop=True),
                                  off_s[off_s["person_id"].isin(pool_ids)].reset_index(drop=True))
    # The counterfactual 12-month risk of the starters falls by the trait's hazard ratio (0.65).
    pot_b, pot_s = base.potential["offending"], strong.potential["offending"]
    seen_b = float(np.mean(pot_b["t0"] <= pot_b["w12"]))
    seen_s = float(np.mean(pot_s["t0"] <= pot_s["w12"]))
    w, lp = pot_b["w12"].to_numpy(), pot_b["lp"].to_numpy()
    exp_b = float(np.mean(risk_by(w, lp)))
    exp_s = float(np.mean(risk_by(w, lp + np.log(0.65))))
    se = np.sqrt(exp_s * (1 - exp_s) / n)
    assert abs(seen_b - exp_b) < 4 * np.sqrt(exp_b * (1 - exp_b) / n)
    assert abs(seen_s - exp_s) < 4 * se
    assert exp_b - exp_s > 0.05                          # a bias of several points on a null programme


def test_harmful_comparison_option_plants_a_harm():
    w = simulate(3, only=["INT18"], pool_sizes=SMALL_POOL, options=WorldOptions(harmful_comparison=True))
    t = w.truth.loc[w.truth["intervention_id"] == "INT18"].set_index("outcome")
    assert t.loc["reoffend_12m", "scenario"] == "harmful"
    assert t.loc["reoffend_12m", "true_effect"] == pytest.approx(0.18, abs=1e-6)


def _placebo(world):
    p = load_protocol(PROTOCOLS / "INT02.yaml")
    people = ad.population(p, world.tables)
    d = next(d for d in p.designs if d.type == "matched")
    res, sample = designs.run_matched(p, world.tables, people, d.model_copy(update={"outcomes": ["reoffending_12m"]}))
    o = res[0]
    assert o.details.placebo is not None, o.details.placebo_reason
    assert o.details.benchmark is not None and o.details.benchmark.bias >= 1
    return o


def test_placebo_covers_zero_without_selection_and_fails_when_the_trait_shows_before(monkeypatch):
    sizes, pools = {"INT02": 800}, {"custody_no_referral": 6000, "at_risk_list": 300}
    none = _placebo(simulate(5, sizes=sizes, only=["INT02"], pool_sizes=pools))
    e = none.details.placebo.estimate
    assert e.ci_low <= 0 <= e.ci_high and not none.details.placebo.failed
    # A trait wholly visible before referral (hazard ratio 0.4 before and after): the placebo sees it.
    monkeypatch.setitem(settings.SELECTION, "visible", Selection("visible", 0.4, 1.0))
    seen = _placebo(simulate(5, sizes=sizes, only=["INT02"], pool_sizes=pools,
                             options=WorldOptions(selection="visible")))
    pl = seen.details.placebo
    assert pl.estimate.ci_high < 0                       # participants offended less before the programme
    assert seen.estimate.estimate < 0 and pl.failed and pl.direction == "beneficial"
