"""The VRU's theory of change in configuration and the portfolio's evidence map (evalkit.theory)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.errors import SpecError
from evalkit.protocol import load_protocol
from evalkit.theory import check_protocol_tags, evidence_map, load_theory_of_change, theory_html

PROTOCOLS = Path(__file__).resolve().parents[1] / "protocols"


@pytest.fixture(scope="module")
def toc():
    return load_theory_of_change()


def test_default_theory_of_change_is_the_seed_vru_board_report(toc):
    assert "prevent violence" in toc.vision
    assert [p["label"] for p in toc.priorities.values()][:5] == [
        "Data, intelligence and evidence base",
        "Trauma informed approaches, resilience and contextual safeguarding",
        "Community capacity building, equality and empowerment",
        "Youth work, education and employment",
        "Enforcement, rehabilitation and resettlement"]
    # The six outcomes for young people of the board report (4.15) and its four impacts.
    labels = {i.label for i in toc.outcomes.values()}
    assert {"Reduced offending or reoffending", "Decreased substance misuse", "Improved peer and family relationships",
            "Reduction in serious violence", "Increased equal opportunity"} <= labels
    assert sum(i.impact for i in toc.outcomes.values()) == 4


def test_every_demo_protocol_has_a_priority_and_tagged_primary_outcome(toc):
    for path in sorted(PROTOCOLS.glob("*.yaml")):
        p = load_protocol(path)
        if p.intervention_id != "VRU":
            assert toc.priority_of(p) in toc.priorities, p.intervention_id
        names = [o.name for o in p.primary_outcomes] or [f"{p.designs[0].indicators[0]}:x"]
        assert toc.tags_for(p, {"outcome": names[0]}), p.intervention_id
        assert check_protocol_tags(toc, p) == []


def _finding(iid, outcome, verdict, sms, label=None):
    return {"intervention_id": iid, "outcomes": [{"outcome": outcome, "label": label or outcome, "ok": True,
                                                  "verdict": verdict, "sms": sms}]}


def test_evidence_map_groups_by_outcome_and_lists_the_gaps(toc):
    p01, p09 = load_protocol(PROTOCOLS / "INT01.yaml"), load_protocol(PROTOCOLS / "INT09.yaml")
    findings = [_finding("INT01", "reoffending_12m", "improved", 3), _finding("INT09", "swemwbs", "inconclusive", 1)]
    emap = evidence_map(toc, [p01, p09], findings)
    offending = emap.evidence["reduced_offending"]
    assert [(e.intervention_id, e.verdict, e.sms) for e in offending] == [("INT01", "improved", 3)]
    assert [e.intervention_id for e in emap.evidence["wellbeing"]] == ["INT09"]
    gaps = {g.key for g in emap.without_evidence()}
    assert "reduced_offending" not in gaps and "wellbeing" not in gaps
    assert {"substance_misuse", "trauma_informed_workforce", "reduction_in_serious_violence"} <= gaps
    html = theory_html(emap)
    assert "INT01 improved (SMS 3)" in html and "no evidence yet" in html
    assert f"No evidence at all yet for {len(gaps)} of the {len(toc.outcomes)}" in html


def test_protocol_tags_override_the_defaults(toc):
    p = load_protocol(PROTOCOLS / "INT09.yaml")
    tagged = p.model_copy(update={"theory_of_change": type(p).model_fields["theory_of_change"].annotation.__args__[0](
        priority="community", outcomes={"swemwbs": ["protective_factors"]})})
    assert toc.priority_of(tagged) == "community"
    assert toc.tags_for(tagged, {"outcome": "swemwbs"}) == ["protective_factors"]
    bad = tagged.model_copy(update={"theory_of_change": tagged.theory_of_change.model_copy(
        update={"outcomes": {"swemwbs": ["happiness"]}})})
    assert "'happiness' is not an outcome of the theory of change" in check_protocol_tags(toc, bad)[0]


def test_bad_theory_of_change_file_names_the_entry(tmp_path, monkeypatch):
    path = tmp_path / "toc.yaml"
    path.write_text("priorities: [{key: a, label: A}]\noutcomes: [{key: x, label: X, priority: b}]\n")
    with pytest.raises(SpecError, match=r"outcomes\[0\] \(x\): priority 'b' is not one of \['a'\]"):
        load_theory_of_change(path)
    path.write_text("priorities: [{key: a, label: A}]\noutcomes: [{key: x, label: X, priority: a}]\n"
                    "default_tags: {reoffending: y}\n")
    with pytest.raises(SpecError, match="default_tags.reoffending: 'y'"):
        load_theory_of_change(path)
    monkeypatch.setenv("EVALKIT_THEORY_OF_CHANGE", str(path))
    with pytest.raises(SpecError):
        load_theory_of_change()
