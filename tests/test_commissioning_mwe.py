"""The minimum worthwhile effect comes from the break-even effect when a protocol gives costs but no MWE (issue 10).

Checked on the shipped synthetic data: INT01 (matched reoffending, costed by the value-for-money line) with its
protocol's minimum_worthwhile_effect removed. The finding says where its MWE came from; with the MWE stated, the
protocol's value is used and the source is "protocol".
"""

import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from evalkit.analysis.runner import analyse_intervention, break_even_mwe
from evalkit.protocol import load_protocol

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "synthetic_data"


def test_break_even_mwe_only_for_the_costed_matched_outcome():
    o = SimpleNamespace(outcome="reoffending_12m", design="matched")
    assert break_even_mwe(o, SimpleNamespace(outcome="reoffending_12m", break_even=-0.031)) == pytest.approx(0.031)
    assert break_even_mwe(o, SimpleNamespace(outcome="reoffences_per_person_12m", break_even=-0.2)) is None  # no protocol
    assert break_even_mwe(SimpleNamespace(outcome="reoffending_12m", design="prepost"),
                          SimpleNamespace(outcome="reoffending_12m", break_even=-0.031)) is None
    assert break_even_mwe(o, SimpleNamespace(reason="no costs")) is None     # NotMonetised
    assert break_even_mwe(o, None) is None


@pytest.fixture(scope="module")
def tables():
    from evalkit.data.load import load_tables

    if not any(DATA.glob("participants.*")):
        pytest.skip("synthetic_data not generated")
    return load_tables(DATA)


def test_protocol_without_mwe_uses_the_break_even_effect(tables):
    p = load_protocol(ROOT / "protocols" / "INT01.yaml")
    first = p.primary_outcomes[0]
    assert first.minimum_worthwhile_effect == 0.1
    stated = analyse_intervention(p, tables)
    assert stated.primary.finding["mwe_source"] == "protocol" and stated.primary.finding["mwe"] == 0.1
    # said in the outcome's units, as the reader sees the effect (a risk difference of 0.1: 10 points)
    assert stated.primary.minimum_worthwhile == "10 percentage points, stated in the protocol"
    bare = first.model_copy(update={"minimum_worthwhile_effect": None})
    outcomes = [bare if o.name == first.name else o for o in p.outcomes]
    q = p.model_copy(update={"outcomes": outcomes, "primary_outcomes": [bare, *p.primary_outcomes[1:]]})
    a = analyse_intervention(q, tables)
    value = a.value
    # The value line costs reoffences per person (same offences, same matched comparison); the rate's break-even
    # is that divided by the comparison group's proven offences per person who reoffended, which is what
    # evalkit.value.break_even_for(kind="rate") computes from the same costs (independent path, to 1e-9).
    from evalkit.value import arithmetic as ar

    assert value.outcome == "reoffences_per_person_12m" and value.kind == "count"
    f = a.primary.finding
    assert f["mwe_source"] == "break_even"
    ref = ar.break_even_rate(ar.incremental_cost(value.cost_per_participant, value.business_as_usual),
                             value.cost_of_offence, value.offences_per_reoffender,
                             window_months=value.window_months, horizon_years=value.horizon_years,
                             persistence=value.persistence, discount_rate=value.discount_rate)
    assert f["mwe"] == pytest.approx(abs(ref), rel=1e-9) and math.isfinite(f["mwe"])
    assert "break-even" in a.primary.minimum_worthwhile
    assert a.primary.minimum_worthwhile.startswith(f"{100 * f['mwe']:.3g} percentage points, the break-even")
