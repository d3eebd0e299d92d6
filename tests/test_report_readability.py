"""Reports a board member can read: plain words, units, no analyst instructions, no machine paths.

Small, fast checks of the wording helpers and the command-line behaviour the issue lists; whole rendered
pages are checked in tests/test_browser.py.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.report.disclosure import redact
from evalkit.report.narrative import category_reason, effect_in_words, reader_reason, signed


def test_an_error_on_the_index_names_the_file_but_not_the_folders():
    assert redact("/srv/vru/secure/store/evalkit_store.duckdb: the data source does not exist.") == \
        "evalkit_store.duckdb: the data source does not exist."
    assert redact(r"C:\Users\ann\returns\participants.csv, row 4") == "participants.csv, row 4"
    assert redact("protocols/INT01.yaml, line 3") == "protocols/INT01.yaml, line 3"  # relative: kept


def test_analyst_instructions_stay_out_of_reader_sentences():
    reason = ("the 'comparison_pool' table is missing or empty. Fix: supply comparison_pool data, or drop the "
              "matched design")
    assert reader_reason(reason) == "the comparison pool table is missing or empty"


@pytest.mark.parametrize(("design", "sms", "verdict", "must", "must_not"), [
    ("area_did", 3, "inconclusive", "comparison districts", "participants"),
    ("matched", 3, "inconclusive", "105 young people", "too weak"),
    ("prepost", 1, "inconclusive", "before-and-after", "participants"),
    ("prepost", 1, "too few to tell", "Fewer than 30", "design"),
])
def test_the_reason_for_improve_the_evidence_fits_the_facts(design, sms, verdict, must, must_not):
    text = category_reason("improve_evidence", "Too few participants or too weak a design to tell.",
                           verdict=verdict, design=design, sms=sms, n_text="105", n_needed=394, min_n=30)
    assert must in text and must_not not in text


def test_other_categories_keep_the_rules_meaning():
    assert category_reason("expand", "Fund and scale up.", verdict="improved", design="matched", sms=3,
                           n_text="120", n_needed=100, min_n=30) == "Fund and scale up."


def test_effects_are_in_natural_units_with_one_sign():
    text = effect_in_words(scale="risk difference", label="Proven reoffending within 12 months", estimate=-0.12,
                           ci_low=-0.193, ci_high=-0.047)
    assert text == ("\u221212.0 percentage points in proven reoffending within 12 months "
                    "(95% interval \u221219.3 to \u22124.7)")
    assert "points on SDQ" in effect_in_words(scale="mean difference", label="SDQ total difficulties "
                                              "(self-report, 0-40)", estimate=-0.38, ci_low=-1.2, ci_high=0.5)
    assert effect_in_words(scale="rate ratio", label="Serious violence", estimate=0.83, ci_low=0.72,
                           ci_high=1.01) == "serious violence: rate 17% lower (95% interval 28% lower to 1% higher)"
    assert signed(-0.38, 2) == "\u22120.38" and signed(0.0) == "+0.0" and "minus" not in signed(-1)


def test_ctrl_c_turned_into_a_cancelled_task_is_still_an_interruption():
    from evalkit import cli

    lines, code = cli._explain(asyncio.CancelledError())
    assert code == cli.INTERRUPT_EXIT == 130 and lines and lines[0].startswith("error: interrupted")
    lines, code = cli._explain(RuntimeError("x"))
    assert code == cli.BUG_EXIT


def test_pdf_copy_opens_collapsed_sections():
    from evalkit.run import _opened

    page = "<details><summary>Balance table</summary><table></table></details><details open><summary>x"
    assert _opened(page) == ("<details open><summary>Balance table</summary><table></table></details>"
                             "<details open><summary>x")


def test_index_shows_each_reports_decision(tmp_path):
    from evalkit.run import ReportStatus, write_index

    (tmp_path / "INT01").mkdir()
    (tmp_path / "INT01" / "findings.json").write_text(json.dumps(
        {"primary": {"category": "expand", "category_label": "Expand"}}), encoding="utf-8")
    page = write_index(tmp_path, [ReportStatus("INT01", "Mentors", "ok", 1.0, html="INT01/INT01.html"),
                                  ReportStatus("INT02", "Patrols", "failed", 1.0, error="x.csv: bad")],
                       None, seconds=2).read_text(encoding="utf-8")
    assert ">Expand<" in page and "<th>Decision</th>" in page and ">ok<" not in page


def _pool(tmp_path: Path, *, separate: bool) -> Path:
    rng = np.random.default_rng(3)
    n = 300
    treated = np.r_[np.ones(40, bool), np.zeros(n - 40, bool)]
    frame = pd.DataFrame({"person_id": [f"id{i}" for i in range(n)], "treated": treated,
                          "age": rng.integers(10, 20, n), "looked_after": rng.random(n) < 0.3})
    if separate:
        frame["prior_custody"] = treated * 5 + rng.random(n)
    path = tmp_path / "pool.csv"
    frame.to_csv(path, index=False)  # pandas writes True/False, as evalkit's own outputs do
    return path


def test_match_reads_true_false_columns(tmp_path):
    from evalkit.designs.matching.files import match_file

    out = tmp_path / "new folder" / "matched.csv"
    result = match_file(_pool(tmp_path, separate=False), treatment="treated", id_col="person_id",
                        covariates=["age", "looked_after"], out=out)
    assert out.is_file() and "40 of 40" in result.text()


def test_perfect_separation_names_the_covariate(tmp_path):
    from evalkit.designs.matching.files import match_file
    from evalkit.errors import EvalkitError

    with pytest.raises(EvalkitError, match=r"at fault: prior_custody\."):
        match_file(_pool(tmp_path, separate=True), treatment="treated", id_col="person_id",
                   covariates=["age", "looked_after", "prior_custody"], out=tmp_path / "m.csv")
