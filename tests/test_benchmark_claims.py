"""The README's and docs/scale.md's matching speed claims say what the latest benchmark run wrote, nothing else.

``benchmarks/bench_matching.py`` writes ``benchmarks/results/matching.json``; the paragraph of each page that
cites the benchmark must quote that file's date, load, peer version, medians and ratios, and state no other
ratio. No timing here: the test only reads the two files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = json.loads((ROOT / "benchmarks" / "results" / "matching.json").read_text(encoding="utf-8"))
PAGES = [ROOT / "README.md", ROOT / "docs" / "scale.md"]


def _paragraph(page: Path) -> str:
    """The paragraph (blank-line separated block) of ``page`` that cites the matching benchmark's results."""
    text = page.read_text(encoding="utf-8")
    blocks = [b for b in re.split(r"\n\s*\n", text) if "results/matching.json" in b]
    assert len(blocks) == 1, f"{page.name}: expected one paragraph citing benchmarks/results/matching.json"
    return " ".join(blocks[0].split())  # line breaks as spaces


def test_results_file_is_complete():
    assert RESULTS["benchmark"] == "benchmarks/bench_matching.py"
    assert {f["kind"] for f in RESULTS["files"]} == {"binary", "continuous"}  # both generators, every run
    for f in RESULTS["files"]:
        assert f["evalkit"]["runs"] >= 3 and f["evalkit"]["peak_rss_mb_max"] <= 1536
        if RESULTS["peer"]["measured"]:
            assert isinstance(f["identical_matched_set"], bool)
            assert f["ratio_median"] == round(f["matchit"]["wall_median_s"] / f["evalkit"]["wall_median_s"], 1)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_quotes_the_latest_run(page):
    text = _paragraph(page)
    assert RESULTS["date"].split()[0] in text
    assert f"{RESULTS['load_1min_max']:.2f}" in text  # the load the numbers were measured under
    if not RESULTS["idle"]:
        assert "not idle" in text
    for f in RESULTS["files"]:
        assert Path(f["file"]).name in text
        assert f"{f['evalkit']['wall_median_s']:.2f} s" in text
    stated = set(re.findall(r"(\d+(?:\.\d+)?)×", text))
    if RESULTS["peer"]["measured"]:
        assert f"MatchIt {RESULTS['peer']['version']}" in text
        ratios = {f"{f['ratio_median']:.1f}" for f in RESULTS["files"]}
        assert stated == ratios, f"{page.name} states {sorted(stated)}; the results file has {sorted(ratios)}"
        for f in RESULTS["files"]:
            assert f"{f['matchit']['wall_median_s']:.2f} s" in text
        # the pages may call the matched sets identical only when every file's were
        identical = all(f["identical_matched_set"] for f in RESULTS["files"])
        assert ("not identical" in text) != identical
    else:
        assert "could not be measured" in text and not stated  # no ratio without a peer measured in the same run


def test_no_stale_claim_elsewhere():
    # the old unmeasured claim must not survive anywhere on the pages
    for page in PAGES:
        assert "eleven times" not in page.read_text(encoding="utf-8")
