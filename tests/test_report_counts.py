"""One set of published counts per report: no count hidden in one place is printed in another.

Unit tests of :func:`evalkit.report.disclosure.publish_counts`, then whole reports on the shipped synthetic
data (the three the issue names: INT02's matched flow, INT07's and INT24's questionnaire baselines),
attacked by tests/report_counts_attack.py: every count the rendered report and its findings.json print,
with how the analysis's counts nest, through scipy's LP solver.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.report.disclosure import Count, publish_counts, safe_text
from tests.report_counts_attack import attack_report, printed_counts, revealed

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "synthetic_data"


def test_a_small_step_hides_the_less_important_count_everywhere():
    # INT02: 110 started, 105 with complete follow-up, all 105 matched; the result is on the 105.
    counts = publish_counts([Count("referred", 110, None, 0), Count("started", 110, "referred", 3),
                             Count("complete", 105, "started", 1), Count("matched", 105, "complete", 1),
                             Count("n", 105, "started", 4)], threshold=10)
    assert counts.hidden_values == {110}
    assert [counts.shown(k) for k in ("referred", "started", "complete", "matched", "n")] == \
        ["[c]", "[c]", "105", "105", "105"]
    assert counts.text("110 young people started; 105 were matched") == "[c] young people started; 105 were matched"


def test_a_withheld_baseline_is_withheld_in_notes_too():
    # INT24: 40 started, 36 with a baseline (4 without), 25 at both ends; the notes said "11 of 36".
    counts = publish_counts([Count("started", 40, None, 3), Count("baseline", 36, "started", 1),
                             Count("both", 25, "baseline", 4)], threshold=10)
    assert counts.hidden_values == {36}
    assert counts.text("High attrition: 11 of 36 people with a baseline (31%) have no follow-up.") == \
        "High attrition: [c] of [c] people with a baseline have no follow-up."
    assert counts.show(25) == "25" and counts.show(36) == "[c]" and counts.value(36) is None


def test_subgroups_adding_up_to_a_withheld_total_lose_one_more():
    # "Participants 52" hidden (58 had a baseline), subgroups 16 + 36 would add back up to it.
    counts = publish_counts([Count("started", 60, None, 3), Count("baseline", 58, "started", 1),
                             Count("n", 52, "baseline", 1), Count("sex:f", 16, "n", 1), Count("sex:m", 36, "n", 1)],
                            partitions=[("n", ["sex:f", "sex:m"])], threshold=10)
    assert counts.hides(52) and counts.hides(16) and not counts.hides(36)


def test_priority_keeps_the_primary_sample_and_order_does_not_matter():
    a = [Count("started", 50, None, 3), Count("both", 45, "started", 4)]
    assert publish_counts(a).hidden_values == {50}
    assert publish_counts(a[::-1]).hidden_values == {50}
    assert publish_counts([Count("started", 50, None, 3), Count("both", 45, "started", 1)]).hidden_values == {45}


def test_safe_text_withholds_given_values_and_both_parts_of_k_of_n():
    assert safe_text("105 participants", 10, hidden=frozenset({105})) == "[c] participants"
    assert safe_text("29 of 68 people", 10, hidden=frozenset({39})) == "[c] of [c] people"  # 68 - 29
    assert safe_text("29 of 68 people (43%)", 10) == "29 of 68 people (43%)"


def test_the_attacker_finds_a_difference_across_sections():
    # the attacker itself: "Started 40" in a table and "36 people" in a note pin down the 4 in between
    values = {"started": 40, "baseline": 36, "both": 25}
    nested = [("started", "baseline"), ("baseline", "both")]
    assert revealed(values, nested, [], known={40, 36, 25}) == ["started - baseline = 4"]
    assert revealed(values, nested, [], known={40, 25}) == []
    assert printed_counts("<table class='counts'><tr><td>Started</td><td>40</td></tr></table>"
                          "<p>11 of 36 people with a baseline</p>") == {40, 36, 11}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    if not (DATA / "participants.csv.gz").is_file():
        pytest.skip("synthetic data not generated")
    from evalkit.report import sections as S

    out = {}
    for rid in ("INT02", "INT07", "INT24"):
        folder = tmp_path_factory.mktemp(rid)
        ctx = S.load_context(ROOT / "protocols" / f"{rid}.yaml", DATA, output_dir=folder)
        page = "".join(f(ctx).html for f in (S.title, S.headline, S.participation, S.profile, S.design, S.balance,
                                             S.results, S.subgroups, S.sensitivity, S.limitations, S.appendix))
        S.save_findings(ctx)
        out[rid] = (ctx.analysis, page, json.loads((folder / "findings.json").read_text(encoding="utf-8")))
    return out


@pytest.mark.parametrize("rid", ["INT02", "INT07", "INT24"])
def test_no_withheld_or_small_count_follows_from_the_whole_report(rendered, rid):
    analysis, page, findings = rendered[rid]
    assert attack_report(analysis, page, findings) == []
    # and the attacker has something to work with: the report does print counts
    assert len(printed_counts(page, findings)) >= 3


@pytest.mark.parametrize("rid", ["INT07", "INT24"])
def test_reliable_change_shares_are_shown_when_the_protocol_asks(rendered, rid):
    # both protocols set reliable_change: true on their before-and-after design
    page = rendered[rid][1]
    assert "Reliably improved" in page and "No reliable change" in page and "Reliably deteriorated" in page
