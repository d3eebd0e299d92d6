"""Value-for-money uncertainty beyond the effect's, the shipped GDP deflator and the Green Book cost line.

Independent references (tolerances stated at each check):

* the simulated benefit-cost ratio interval against closed forms: with the effect fixed and two offence groups,
  the ratio is linear in one Dirichlet share, a Beta variable (exact quantiles from scipy); with the effect and
  mix fixed, a rate effect's ratio is linear in offences per reoffender (exact normal quantiles); with all three
  sources at small coefficients of variation, the delta method for a product of independent factors;
* the offence mix's counts and the standard error of offences per reoffender by hand on a small table;
* the shipped GDP deflator against the ONS quarterly values it was formed from and the published calendar-year
  values of the same release (tests/reference/value/ons_ybgb_2025q2.csv).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evalkit.results import Estimate
from evalkit.value import load_gdp_deflator, load_unit_costs, offence_group_mix, value_for_money
from evalkit.value.intervention import financial_year

REF = Path(__file__).parent / "reference" / "value"
DRAWS = 40_000


@pytest.fixture(scope="module")
def table():
    return load_unit_costs()


def _fixed(effect: float) -> Estimate:
    """An effect with no sampling error (so only the other sources vary)."""
    return Estimate("effect", effect, 0.0, effect, effect, 0.0, "mean difference")


def _close(got, want, width, share):
    assert abs(got - want) <= share * width, (got, want, width)


def test_mix_draws_give_the_beta_interval(table):
    # Two groups: the cost of an offence is c2 + (c1 - c2) s with s ~ Beta(30, 20): the ratio is linear in s.
    counts = {"violence_with_injury": 30.0, "robbery": 20.0}
    mix = {g: c / 50 for g, c in counts.items()}
    v = value_for_money(_fixed(-0.5), kind="count", mix=mix, table=table, cost_per_participant=1000.0, n=100,
                        mix_counts=counts, draws=DRAWS, seed=5)
    c1, c2 = 14050.0, 11320.0
    lo, hi = (0.5 * (c2 + (c1 - c2) * stats.beta.ppf(q, 30, 20)) / 1000 for q in (0.025, 0.975))
    # Monte Carlo error of a 2.5% quantile with 40,000 draws is well under 1% of the interval's width; allow 2%.
    _close(v.bcr.low, lo, hi - lo, 0.02)
    _close(v.bcr.high, hi, hi - lo, 0.02)
    assert v.bcr.point == pytest.approx(0.5 * (0.6 * c1 + 0.4 * c2) / 1000, rel=1e-12)  # the observed mix
    assert v.mix_uncertainty and "offence mix" in v.assumptions()


def test_offences_per_reoffender_draws_give_the_normal_interval(table):
    mix = {"violence_with_injury": 1.0}
    v = value_for_money(_fixed(-0.1), kind="rate", mix=mix, table=table, cost_per_participant=1000.0, n=100,
                        offences_per_reoffender=2.0, offences_per_reoffender_se=0.15, draws=DRAWS, seed=6)
    k = 0.1 * 14050 / 1000
    lo, hi = (k * (2.0 + 0.15 * stats.norm.ppf(q)) for q in (0.025, 0.975))  # the floor at 1 is 6.7 SE away
    _close(v.bcr.low, lo, hi - lo, 0.02)
    _close(v.bcr.high, hi, hi - lo, 0.02)
    assert v.bcr.point == pytest.approx(2 * k, rel=1e-12)


def test_all_sources_against_the_delta_method(table):
    # Independent factors at small coefficients of variation: BCR = (-effect) x opr x c / cost, so
    # sd(BCR) / BCR ~ sqrt(CV_e^2 + CV_o^2 + CV_c^2) (delta method); the interval is then about BCR +- 1.96 sd.
    counts = {"violence_with_injury": 300.0, "robbery": 200.0}
    mix = {g: c / 500 for g, c in counts.items()}
    e = Estimate("effect", -0.1, 0.01, -0.1 - 1.96 * 0.01, -0.1 + 1.96 * 0.01, 1e-20, "risk difference")
    v = value_for_money(e, kind="rate", mix=mix, table=table, cost_per_participant=1000.0, n=500,
                        offences_per_reoffender=2.0, offences_per_reoffender_se=0.1, mix_counts=counts,
                        draws=DRAWS, seed=7)
    c1, c2, a, b = 14050.0, 11320.0, 300.0, 200.0
    c_mean = c2 + (c1 - c2) * a / (a + b)
    c_sd = (c1 - c2) * math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    cv = math.sqrt(0.1 ** 2 + 0.05 ** 2 + (c_sd / c_mean) ** 2)
    point = 0.1 * 2.0 * c_mean / 1000
    z = stats.norm.ppf(0.975)
    lo, hi = point * (1 - z * cv), point * (1 + z * cv)
    # The product of normals is slightly right-skewed (second-order terms, about CV^2 of the ratio); allow 5% of
    # the width at each end.
    _close(v.bcr.low, lo, hi - lo, 0.05)
    _close(v.bcr.high, hi, hi - lo, 0.05)
    # Wider than the effect alone (whose interval is the effect's own, to Monte Carlo error).
    only = value_for_money(e, kind="rate", mix=mix, table=table, cost_per_participant=1000.0, n=500,
                           offences_per_reoffender=2.0, draws=DRAWS, seed=7)
    ratio = (v.bcr.high - v.bcr.low) / (only.bcr.high - only.bcr.low)
    assert ratio == pytest.approx(cv / 0.1, rel=0.05)


def test_effect_draws_do_not_move_when_other_sources_are_added(table):
    mix = {"violence_with_injury": 0.5, "robbery": 0.5}
    e = Estimate("effect", -0.3, 0.1, -0.5, -0.1, 0.003, "mean difference")
    a = value_for_money(e, kind="count", mix=mix, table=table, cost_per_participant=1000.0, n=100, seed=9)
    b = value_for_money(e, kind="count", mix=mix, table=table, cost_per_participant=1000.0, n=100, seed=9,
                        mix_counts={"violence_with_injury": 1e9, "robbery": 1e9})
    # With enormous counts the mix is effectively fixed: the same intervals as without mix uncertainty.
    assert b.bcr.low == pytest.approx(a.bcr.low, rel=1e-3) and b.bcr.high == pytest.approx(a.bcr.high, rel=1e-3)


def test_optimism_bias_line_and_switching_value(table):
    mix = {"violence_with_injury": 1.0}
    e = Estimate("effect", -0.3, 0.05, -0.4, -0.2, 1e-9, "mean difference")
    v = value_for_money(e, kind="count", mix=mix, table=table, cost_per_participant=1000.0, n=100,
                        optimism_bias=0.25, seed=3)
    # Costs uplifted by 25%: every draw's ratio divides by 1.25, so the point and the quantiles do too.
    assert v.bcr_optimism.point == pytest.approx(v.bcr.point / 1.25, rel=1e-12)
    assert v.bcr_optimism.low == pytest.approx(v.bcr.low / 1.25, rel=1e-9)
    assert v.switching_overrun == pytest.approx(v.bcr.point - 1, rel=1e-12)
    line = v.optimism_line()
    assert "optimism bias (costs 25% higher" in line and "switching value" in line
    assert f"{100 * (v.bcr.point - 1):.0f}% higher" in line


def test_offence_mix_counts_and_the_se_of_offences_per_reoffender_by_hand():
    index = pd.DataFrame({"person_id": ["a", "b", "c", "d"], "index_date": ["2020-01-01"] * 4,
                          "w": [1.0, 1.0, 0.5, 1.0]})
    offences = pd.DataFrame({
        "person_id": ["a", "a", "a", "b", "c", "c"],
        "offence_date": ["2020-02-01", "2020-03-01", "2020-04-01", "2020-02-01", "2020-02-01", "2020-05-01"],
        "offence_group": ["robbery", "robbery", "violence_with_injury", "robbery", "robbery", "robbery"],
        "outcome": ["conviction"] * 6, "outcome_date": ["2020-06-01"] * 6})
    mix = offence_group_mix(offences, index, followup_months=12, waiting_months=6, proven_outcomes=["conviction"],
                            weight="w")
    # a: 3 offences (w 1), b: 1 (w 1), c: 2 (w 0.5); d none. Weighted counts: robbery 2 + 1 + 1, VWI 1.
    assert mix.counts == {"robbery": 4.0, "violence_with_injury": 1.0}
    w, x = np.array([1.0, 1.0, 0.5]), np.array([3.0, 1.0, 2.0])
    m = (w * x).sum() / w.sum()
    assert mix.offences_per_reoffender == pytest.approx(m)
    assert mix.offences_per_reoffender_se == pytest.approx(math.sqrt((w ** 2 * (x - m) ** 2).sum()) / w.sum())
    assert mix.n_reoffenders == 2.5


def _ons() -> list[dict]:
    lines = [ln for ln in (REF / "ons_ybgb_2025q2.csv").read_text(encoding="utf-8").splitlines()
             if not ln.startswith("#")]
    return list(csv.DictReader(lines))


def test_shipped_deflator_against_the_ons_release():
    rows = _ons()
    q = {r["period"]: float(r["index"]) for r in rows if r["kind"] == "quarter"}
    annual = {int(r["period"]): float(r["index"]) for r in rows if r["kind"] == "annual"}
    # The transcribed quarters agree with the published calendar years of the same release: to the rounding of
    # one decimal place (0.05, plus 0.01 for the mean of rounded values), except 2020, when output fell sharply
    # in one quarter and the published year (output-weighted) is 0.175 below the plain mean.
    for year, value in annual.items():
        mean = sum(q[f"{year} Q{k}"] for k in range(1, 5)) / 4
        assert abs(mean - value) <= (0.2 if year == 2020 else 0.06), year
    deflator = load_gdp_deflator()
    for fy, value in deflator.items():
        y = int(fy[:4])
        assert value == pytest.approx((q[f"{y} Q2"] + q[f"{y} Q3"] + q[f"{y} Q4"] + q[f"{y + 1} Q1"]) / 4,
                                      abs=1e-9), fy
    # The uplift the issue asks for: 2015/16 unit costs to 2020/21 spending, about 14.4%.
    assert deflator["2020/21"] / deflator["2015/16"] == pytest.approx(95.825 / 83.75, rel=1e-12)


def test_uplift_reaches_the_value(table):
    mix = {"violence_with_injury": 1.0}
    e = Estimate("effect", -0.3, 0.05, -0.4, -0.2, 1e-9, "mean difference")
    d = load_gdp_deflator()
    base = value_for_money(e, kind="count", mix=mix, table=table, cost_per_participant=1000.0, n=100)
    up = value_for_money(e, kind="count", mix=mix, table=table, cost_per_participant=1000.0, n=100,
                         price_year="2020/21", deflator=d)
    assert up.cost_of_offence == pytest.approx(base.cost_of_offence * d["2020/21"] / d["2015/16"], rel=1e-12)
    assert up.deflated_from == "2015/16" and "uplifted from 2015/16" in up.assumptions()


def test_financial_year():
    assert financial_year("2020-04-01") == "2020/21"
    assert financial_year("2021-03-31") == "2020/21"
    assert financial_year("2019-12-31") == "2019/20"
    assert financial_year(None) is None


def test_spending_year_rule():
    from types import SimpleNamespace

    from evalkit.protocol import ValueSettings
    from evalkit.value.intervention import spending_year

    proto = SimpleNamespace(intervention_id="INT99", value=ValueSettings())
    inter = pd.DataFrame({"intervention_id": ["INT99"], "start_date": ["2019-04-01"]})
    people = pd.DataFrame({"start_date": ["2020-05-01", "2020-09-01", "2021-02-01", None]})
    assert spending_year(proto, {"interventions": inter}, people) == "2020/21"       # participants' median start
    assert spending_year(proto, {"interventions": inter}, people.iloc[:0]) == "2019/20"  # the funding period
    assert spending_year(SimpleNamespace(intervention_id="INT99", value=ValueSettings(price_year="2022/23")),
                         {"interventions": inter}, people) == "2022/23"                # the protocol decides
