"""The linkage summary beside an intervention report's attrition chevron, and the quality page (no Splink needed)."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from evalkit.link.quality import SUMMARY_FILE, LinkageRun, find_summary, summarise, wilson_interval
from evalkit.link.report import linkage_report_html
from evalkit.report.render import section_participation
from evalkit.report.sections import load_context
from tests.report_fixture import write_fixture

ROOT = Path(__file__).resolve().parents[1]


def _run(frame: pd.DataFrame | None = None) -> LinkageRun:
    if frame is None:
        frame = pd.DataFrame({
            "linked": [True] * 60 + [False] * 20 + [True] * 15 + [False] * 15 + [True] * 3 + [False] * 2,
            "intervention_id": ["INT03"] * 80 + ["INT08"] * 30 + ["INT09"] * 5,
        })
    n = len(frame)
    best = pd.DataFrame({"match_weight": [20.0] * n, "match_probability": [0.999] * n})
    params = pd.DataFrame({"comparison": ["surname"], "level": ["Exact match on surname"], "m": [0.9], "u": [0.01]})
    summary = summarise("police", frame, best, params, threshold=8.0, prior=1e-4, candidate_pairs=n)
    return LinkageRun((summary,), settings={"blocking": ["l.surname = r.surname"]})


def test_intervention_report_states_its_linkage_rate_beside_the_chevron(tmp_path):
    data = write_fixture(tmp_path / "src")
    ctx = load_context(ROOT / "protocols" / "INT03.yaml", data)
    assert "Record linkage" not in (section_participation(ctx) or "")
    (data / SUMMARY_FILE).write_text(_run().to_json(), encoding="utf-8")
    page = html.unescape(section_participation(load_context(ROOT / "protocols" / "INT03.yaml", data)))
    low, high = wilson_interval(60, 80)
    assert (f"Record linkage: 75% of this intervention's young people (95% interval {100 * low:.0f}% to "
            f"{100 * high:.0f}%) were found in the police records") in page
    assert page.index("Record linkage") < page.index("<table class='counts'>")  # beside the chevron, before the table


def test_small_intervention_rate_is_hidden():
    s = _run().summaries[0]
    assert s.rate_for("intervention_id", "INT09").rate is None  # 3 linked, 2 not: small counts
    assert s.rate_for("intervention_id", "INT08").rate is None  # ... which the column total would reveal
    assert s.rate_for("intervention_id", "INT03").rate == 60 / 80


def test_summary_round_trips_and_is_found_beside_a_store(tmp_path):
    run = _run()
    (tmp_path / SUMMARY_FILE).write_text(run.to_json(), encoding="utf-8")
    store = tmp_path / "vru.duckdb"
    store.write_bytes(b"")
    again = find_summary(store)
    assert again == run


def test_quality_page_shows_groups_intervals_parameters_and_warnings():
    frame = pd.DataFrame({"linked": [True] * 180 + [False] * 20 + [True] * 60 + [False] * 40,
                          "ethnicity_group": ["white"] * 200 + ["asian"] * 100})
    run = _run(frame)
    asian, white = run.summaries[0].warnings  # 60% and 90% against 80% overall, both intervals excluding 80%
    assert "higher than the 80% overall" in white
    assert asian.startswith("Ethnic group 'asian': 60% of records linked to the police extract, lower than the 80%")
    page = linkage_report_html(run)
    low, high = wilson_interval(60, 100)
    assert "By ethnic group" in page and f"{100 * low:.1f}% to {100 * high:.1f}%" in page
    assert "m / u" in page and "precision" in page and "Linkage differs between groups" in page
    assert "[c]" in _page_with_hidden()


def _page_with_hidden() -> str:
    return linkage_report_html(_run())
