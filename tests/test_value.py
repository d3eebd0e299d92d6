"""Value for money (evalkit.value) against worked examples by hand and the unit costs against a second copy.

References: tests/reference/value/worked_example.md (derivations with ``bc -l``),
tests/reference/value/second_copy_2019.csv (the Home Office RR99 unit costs as a newspaper quoted them) and
tests/reference/value/rr99_front_matter.txt (the report's title page and contents from a transcription).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from evalkit.errors import MissingDataError, SpecError
from evalkit.results import Estimate
from evalkit.value import (break_even_for, cost_per_offence, horizon_factor, inflate, load_unit_costs,
                           offence_group_mix, offences_averted_per_person, read_deflator, value_for_money)

REF = Path(__file__).parent / "reference" / "value"
WORKED = json.loads((REF / "worked_example.json").read_text())
Z = 1.959963984540054


@pytest.fixture(scope="module")
def table():
    return load_unit_costs()


def _estimate(effect: float, se: float) -> Estimate:
    return Estimate("effect", effect, se, effect - Z * se, effect + Z * se, 0.01, "mean difference")


# --------------------------------------------------------------------------- unit costs
def _second_copy() -> list[dict]:
    lines = [ln for ln in (REF / "second_copy_2019.csv").read_text(encoding="utf-8").splitlines()
             if not ln.startswith("#")]
    return list(csv.DictReader(lines))


def test_verified_unit_costs_agree_with_the_second_copy(table):
    rows = _second_copy()
    assert len(rows) == 10
    for row in rows:
        cost = table.costs[row["key"]]
        step = float(row["rounding"])
        # Equal to the pound, or to the second copy's rounding (homicide: £3.2m).
        assert round(cost.value / step) * step == float(row["value"]), row["key"]
        assert cost.verified == ("yes" if step == 1 else "rounded"), row["key"]
        assert cost.price_year == "2015/16"
        assert "RR99" in cost.table


def test_every_value_not_in_the_second_copy_is_recorded_as_unverified(table):
    checked = {r["key"] for r in _second_copy()}
    unverified = {k for k, c in table.costs.items() if not c.is_verified}
    assert unverified == set(table.costs) - checked == {"violence_without_injury"}


def _front_matter() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in (REF / "rr99_front_matter.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            key, value = line.split(": ", 1)
            out.setdefault(key, []).append(value)
    return out


def test_source_agrees_with_the_reports_front_matter(table):
    """Title, authors, date, series and section of the source against a third copy's front matter; the table
    number E1 is not in that copy, so no value's table may claim it as checked."""
    fm = _front_matter()
    src = table.source
    assert src["series"] == fm["series"][0] == "Research Report 99"
    assert src["published"] == fm["date"][0]
    assert src["title"].replace(",", "").lower() == fm["title"][0].lower()
    surnames = [a.split()[-1] for a in fm["authors"][0].split("; ")]
    initials = [a.split()[0][0] for a in fm["authors"][0].split("; ")]
    assert src["authors"] == ", ".join(f"{s}, {i}." for s, i in zip(surnames[:-1], initials[:-1])) + \
        f" and {surnames[-1]}, {initials[-1]}."
    assert "contents: 2. Main results = page 15" in [f"contents: {c}" for c in fm["contents"]]
    assert all(c.table == "RR99 section 2 (Main results)" for c in table.costs.values())
    assert "not checked" in src["table"] and "Table E1" in fm["not_seen"][0]


def test_every_offence_group_of_the_configuration_has_a_cost_decision(table):
    from evalkit.data.config import load_config

    assert set(load_config().offence_groups) == set(table.group_costs)


def test_bad_unit_cost_file_is_a_located_error(tmp_path):
    bad = tmp_path / "costs.yaml"
    bad.write_text("unit_costs:\n  robbery: {value: 11320, price_year: '2015/16'}\n")
    with pytest.raises(SpecError, match=r"costs.yaml, unit_costs.robbery: table missing"):
        load_unit_costs(bad)
    bad.write_text("unit_costs:\n  robbery: {value: 1, price_year: '2015/16', table: T}\n"
                   "offence_group_costs:\n  robbery: robbry\n")
    with pytest.raises(SpecError, match="offence_group_costs.robbery: 'robbry' is not a unit cost"):
        load_unit_costs(bad)


# --------------------------------------------------------------------------- arithmetic (examples A, B, D)
def test_worked_example_a_point_values(table):
    a = WORKED["A"]
    v = value_for_money(_estimate(a["effect"], a["se"]), kind="count", mix=a["mix"], table=table,
                        cost_per_participant=a["cost_per_participant"], n=100)
    assert v.cost_of_offence == pytest.approx(a["cost_of_offence"], abs=1e-9)
    assert v.offences_averted.point == pytest.approx(a["offences_averted"], abs=1e-12)
    assert v.benefit.point == pytest.approx(a["benefit"], abs=1e-8)
    assert v.bcr.point == pytest.approx(a["bcr"], rel=1e-12)
    assert v.net_benefit.point == pytest.approx(a["net_benefit"], abs=1e-8)
    assert v.break_even == pytest.approx(a["break_even"], rel=1e-12)
    assert v.uncosted_share == pytest.approx(a["uncosted_share"])
    # Simulation against the exact normal quantiles: within 2% of the interval's width (10,000 draws).
    width = a["bcr_high"] - a["bcr_low"]
    assert v.bcr.low == pytest.approx(a["bcr_low"], abs=0.02 * width)
    assert v.bcr.high == pytest.approx(a["bcr_high"], abs=0.02 * width)
    assert v.conclusive and v.beneficial and 0.97 < v.prob_pays <= 1


def test_worked_example_b_horizon_persistence_discounting(table):
    a, b = WORKED["A"], WORKED["B"]
    assert horizon_factor(3, 0.5, 0.035) == pytest.approx(b["factor"], rel=1e-12)
    assert horizon_factor(1.5, 1.0, 0.035) == pytest.approx(b["factor_1_5_years"], rel=1e-12)
    assert horizon_factor(1, 0.3, 0.035) == 1.0
    v = value_for_money(_estimate(a["effect"], a["se"]), kind="count", mix=a["mix"], table=table,
                        cost_per_participant=a["cost_per_participant"], n=100, horizon_years=3, persistence=0.5)
    assert v.bcr.point == pytest.approx(b["bcr"], rel=1e-12)
    assert v.break_even == pytest.approx(b["break_even"], rel=1e-12)


def test_worked_example_c_rate_effect_over_business_as_usual(table):
    c = WORKED["C"]
    v = value_for_money(_estimate(c["effect"], c["se"]), kind="rate", mix=c["mix"], table=table,
                        cost_per_participant=c["cost_per_participant"], business_as_usual=c["business_as_usual"],
                        offences_per_reoffender=c["offences_per_reoffender"], n=100)
    assert v.cost_of_offence == pytest.approx(c["cost_of_offence"])
    assert v.benefit.point == pytest.approx(c["benefit"], rel=1e-12)
    assert v.bcr.point == pytest.approx(c["bcr"], rel=1e-12)
    assert v.break_even == pytest.approx(c["break_even"], rel=1e-12)
    assert v.unverified_share == pytest.approx(c["unverified_share"], rel=1e-12)
    assert break_even_for(c["cost_per_participant"], mix=c["mix"], table=table, kind="rate",
                          offences_per_reoffender=c["offences_per_reoffender"],
                          business_as_usual=c["business_as_usual"]) == pytest.approx(c["break_even"], rel=1e-12)
    assert "not yet checked against a second copy" in v.assumptions()


def test_worked_example_d_inflation_and_window(tmp_path, table):
    d = WORKED["D"]
    assert inflate(d["value"], "2015/16", "2020/21", d["deflator"]) == pytest.approx(d["inflated"], rel=1e-12)
    assert offences_averted_per_person(d["effect"], window_months=d["window_months"]) == pytest.approx(d["averted"])
    path = tmp_path / "deflator.csv"
    path.write_text("# GDP deflator, illustrative\nyear,index\n2015/16,100\n2020/21,110.5\n")
    assert read_deflator(path) == d["deflator"]
    v = value_for_money(_estimate(-0.5, 0.1), kind="count", mix={"violence_with_injury": 1.0}, table=table,
                        cost_per_participant=1000, n=50, price_year="2020/21", deflator=read_deflator(path))
    assert v.cost_of_offence == pytest.approx(d["inflated"], rel=1e-12) and v.price_year == "2020/21"
    with pytest.raises(SpecError, match="no value for 2019/20"):
        inflate(1.0, "2015/16", "2019/20", d["deflator"])
    path.write_text("year,index\n2015/16,abc\n")
    with pytest.raises(SpecError, match=r"row 2, column 'index'"):
        read_deflator(path)


def test_groups_not_costed_count_as_zero_and_are_said(table):
    mix = {"homicide": 0.01, "violence_with_injury": 0.49, "theft_offences": 0.5}
    kw = dict(kind="count", mix=mix, table=table, cost_per_participant=1500, n=100)
    with_h = value_for_money(_estimate(-0.5, 0.1), **kw)
    without = value_for_money(_estimate(-0.5, 0.1), not_costed=("homicide",), **kw)
    assert with_h.cost_of_offence == pytest.approx(0.01 * 3217740 + 0.49 * 14050)
    assert without.cost_of_offence == pytest.approx(0.49 * 14050) and without.uncosted_share == pytest.approx(0.51)
    assert "Not costed by the protocol's value settings: homicide." in without.assumptions()


def test_cost_per_offence_normalises_shares_and_rejects_unknown_groups():
    assert cost_per_offence({"a": 2, "b": 2}, {"a": 100.0, "b": None}) == 50.0
    with pytest.raises(SpecError, match="no entry in offence_group_costs"):
        cost_per_offence({"c": 1}, {"a": 1.0})


# --------------------------------------------------------------------------- the range rule
def test_inconclusive_effect_is_a_range_never_a_point(table):
    a = WORKED["A"]
    v = value_for_money(_estimate(-0.10, 0.15), kind="count", mix=a["mix"], table=table,
                        cost_per_participant=1500, n=100)
    assert not v.conclusive
    line = v.line()
    assert "Value for money is uncertain: each £1 spent returned " in line
    assert f"£{v.bcr.point:.2f}" not in line  # the point (0.62) is not printed
    assert f"£{v.bcr.high:.2f}" in line and "\u2212£" not in line  # never a negative amount avoided
    assert f"£{v.bcr.low:.2f}" in line if v.bcr.low >= 0 else "offending may even have risen" in line
    assert v.as_json()["bcr"]["point"] is None and v.as_json()["bcr"]["low"] is not None
    assert math.isnan(v.to_frame().loc[2, "estimate"])


def test_simulation_is_reproducible_with_its_seed(table):
    a = WORKED["A"]
    kw = dict(kind="count", mix=a["mix"], table=table, cost_per_participant=1500, n=100)
    one = value_for_money(_estimate(-0.3, 0.2), seed=7, **kw)
    two = value_for_money(_estimate(-0.3, 0.2), seed=7, **kw)
    other = value_for_money(_estimate(-0.3, 0.2), seed=8, **kw)
    assert one.bcr == two.bcr and one.bcr.low != other.bcr.low


# --------------------------------------------------------------------------- offence mix
def test_offence_mix_counts_proven_offences_in_the_window_by_hand():
    index = pd.DataFrame({"person_id": ["a", "b", "c"], "index_date": ["2020-01-01"] * 3, "w": [1.0, 0.5, 0.0]})
    offences = pd.DataFrame({
        "person_id": ["a", "a", "a", "a", "b", "b", "c"],
        "offence_date": ["2020-02-01", "2020-06-01", "2021-02-01", "2019-12-01", "2020-03-01", "2020-04-01",
                         "2020-03-01"],
        "offence_group": ["robbery", "violence_with_injury", "robbery", "robbery", "robbery", "public_order",
                          "robbery"],
        "outcome": ["conviction", "caution", "conviction", "conviction", "conviction", "no_further_action",
                    "conviction"],
        "outcome_date": ["2020-03-01", "2020-07-01", "2021-03-01", "2020-01-10", "2021-08-01", "2020-05-01",
                         "2020-04-01"]})
    # a: robbery (Feb) and VWI (Jun) count; Feb 2021 is after the window; Dec 2019 before the index date.
    # b: robbery proven 2021-08-01, after the 18 months allowed; public order not proven. c has weight 0.
    mix = offence_group_mix(offences, index, followup_months=12, waiting_months=6,
                            proven_outcomes=["caution", "conviction"], weight="w")
    assert mix.shares == {"robbery": 0.5, "violence_with_injury": 0.5}
    assert mix.offences_per_reoffender == 2.0
    index2 = index.assign(w=[0.0, 1.0, 0.0])
    with pytest.raises(MissingDataError, match="no proven offence"):
        offence_group_mix(offences, index2, followup_months=12, waiting_months=6,
                          proven_outcomes=["caution", "conviction"], weight="w")


# --------------------------------------------------------------------------- in the analysis and the report
def _small_tables(ids: list[str], pool_n: int = 1500) -> dict:
    from evalkit.data.load import load_tables

    root = Path(__file__).resolve().parents[1] / "synthetic_data"
    if not any(root.glob("participants.*")):
        pytest.skip("synthetic_data not generated")
    tables = load_tables(root)
    out = dict(tables)
    part = tables["participants"]
    out["participants"] = part.loc[part["intervention_id"].isin(ids)].copy()
    pool = tables["comparison_pool"].sort_values("person_id")
    out["comparison_pool"] = pool.groupby("pool_source", group_keys=False).head(pool_n).copy()
    people = set(out["participants"]["person_id"]) | set(out["comparison_pool"]["person_id"])
    out["offences"] = tables["offences"].loc[tables["offences"]["person_id"].isin(people)].copy()
    return out


@pytest.mark.filterwarnings("ignore")
def test_analysis_costs_the_reoffending_rate_and_the_report_shows_it(table):
    from evalkit.analysis import data as ad
    from evalkit.analysis.runner import analyse_intervention
    from evalkit.report.findings import findings_dict
    from evalkit.protocol import load_protocol
    from evalkit.report.render import value_line
    from evalkit.value import ValueForMoney

    small = _small_tables(["INT03"])
    p = load_protocol(Path(__file__).resolve().parents[1] / "protocols" / "INT03.yaml")
    a = analyse_intervention(p, small)
    v = a.value
    assert isinstance(v, ValueForMoney) and v.kind == "rate" and v.outcome == "reoffending_12m"
    o = next(x for x in a.outcomes if x.design == "matched" and x.outcome == "reoffending_12m")
    cost_pp = 120000 / len(ad.population(p, small))
    assert v.cost_per_participant == pytest.approx(cost_pp, rel=1e-12)
    # The arithmetic of example C, on the analysis's own numbers.
    expected = -o.estimate.estimate * v.offences_per_reoffender * v.cost_of_offence / cost_pp
    assert v.bcr.point == pytest.approx(expected, rel=1e-12)
    assert 0 < v.uncosted_share < 1 and v.cost_of_offence > 0
    # Row order never changes the value.
    shuffled = {k: d.sample(frac=1.0, random_state=4) if isinstance(d, pd.DataFrame) and len(d) else d
                for k, d in small.items()}
    assert analyse_intervention(p, shuffled).value.bcr == v.bcr
    found = findings_dict(a, p)["value"]
    assert found["line"] == v.line() and found["short"] == v.short()
    assert (found["bcr"]["point"] is None) == (not v.conclusive)
    html = value_line(a)
    assert "Value for money:" in html and "How the value was worked out" in html and "Research Report 99" in html


@pytest.mark.filterwarnings("ignore")
def test_area_programme_is_valued_on_the_headline_estimate_by_hand():
    """INT27 (area DiD beside an area trend): the value line rests on the headline's rate ratio, and its
    offences prevented and cost per resident equal the sum worked by hand from the area counts."""
    from evalkit.analysis.runner import analyse_intervention, choose_primary
    from evalkit.data.load import load_tables
    from evalkit.protocol import load_protocol
    from evalkit.value.intervention import AreaValue

    root = Path(__file__).resolve().parents[1]
    if not any((root / "synthetic_data").glob("area_counts.*")):
        pytest.skip("synthetic_data not generated")
    tables = load_tables(root / "synthetic_data")
    p = load_protocol(root / "protocols" / "INT27.yaml")
    a = analyse_intervention(p, tables)
    head = choose_primary(p, list(a.outcomes))
    assert head.design == "area_did" == a.primary.design
    v = a.value
    assert isinstance(v, AreaValue) and v.indicator == head.outcome
    # by hand: residents = latest month's population of the roll-out areas; offences a year after the start
    # from the treated group's after-period rate; prevented = observed x (1/RR - 1)
    roll = tables["area_rollout"]
    areas = set(roll.loc[roll["intervention_id"] == "INT27", "area"])
    counts = tables["area_counts"]
    sub = counts.loc[counts["area"].isin(areas)]
    residents = float(sub.loc[sub["month"] == sub["month"].max()].groupby("area")["population"].max().sum())
    after = next(g for g in head.result.group_rates if g["group"] == "treated" and g["period"] == "after")
    observed = 12.0 * after["count"] * residents / after["person_months"]
    rr = head.estimate
    cost = float(tables["interventions"].set_index("intervention_id").loc["INT27", "annual_cost"])
    assert v.cost_per_resident == pytest.approx(cost / residents, rel=1e-12)
    assert v.prevented.point == pytest.approx(observed * (1 / rr.estimate - 1), rel=1e-12)
    assert v.prevented.low == pytest.approx(observed * (1 / rr.ci_high - 1), rel=1e-12)
    assert v.conclusive == (not rr.ci_low <= 1 <= rr.ci_high)
    if not v.conclusive:  # an inconclusive headline gives a range, never a point, in the portfolio's cell too
        assert "uncertain" in v.short() and f"{v.prevented.point:,.0f}" not in v.short()
