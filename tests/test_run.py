"""The report runner: index with failures, atomic outputs, privacy of everything written.

Runs on a small contract-valid data folder (tests/report_fixture.py), so it
does not depend on the synthetic data or on the analysis modules.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from evalkit.errors import EvalkitError
from evalkit.run import run_all, run_report
from tests.report_fixture import write_fixture

ROOT = Path(__file__).resolve().parents[1]
PERSON_ID = re.compile(r"P[0-9a-f]{16}")
#: A whole number as shown in a count table ("7", "1,234").
INTEGER = re.compile(r"\d{1,3}(,\d{3})*")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_fixture(tmp_path_factory.mktemp("data") / "src")


@pytest.fixture(scope="module")
def protocols(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("protocols")
    for name in ("INT03.yaml", "INT08.yaml", "protocol.schema.json"):
        shutil.copy(ROOT / "protocols" / name, folder / name)
    bad = (ROOT / "protocols" / "INT03.yaml").read_text().replace("caliper: 0.2 ", "caliper: wide")
    (folder / "INT99.yaml").write_text(bad.replace("intervention_id: INT03", "intervention_id: INT99"))
    return folder


@pytest.fixture(scope="module")
def rendered(data, protocols, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    result = run_all(protocols, data, out, workers=1, progress=False)
    return result, out


def test_failing_protocol_is_listed_while_others_succeed(rendered):
    result, out = rendered
    status = {r.report_id: r for r in result.reports}
    assert status["INT03"].ok and status["INT08"].ok
    assert not status["INT99"].ok
    assert "line" in status["INT99"].error and "caliper" in status["INT99"].error
    assert [r.report_id for r in result.failed] == ["INT99"]
    index = (out / "index.html").read_text()
    assert "INT99" in index and "must be a number" in index and "failed" in index
    assert "href='INT03/INT03.html'" in index and "portfolio_summary.html" in index
    assert not (out / "INT99").exists()
    saved = json.loads((out / "run_status.json").read_text())
    assert saved["INT99"]["status"] == "failed" and saved["INT03"]["status"] == "ok"


def test_outputs_are_complete_and_no_staging_left(rendered):
    _, out = rendered
    for rid in ("INT03", "INT08"):
        assert {p.name for p in (out / rid).iterdir()} == {f"{rid}.html", f"{rid}.ipynb", "findings.json"}
    assert (out / "portfolio_summary.html").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_report_has_sections_and_hides_code(rendered):
    _, out = rendered
    page = (out / "INT03" / "INT03.html").read_text()
    for heading in ("What we found", "Who took part", "Profile of participants", "How we evaluated it",
                    "Were the groups comparable?", "Results", "Limitations", "Appendix"):
        assert f">{heading}</h2>" in page, heading
    assert "load_context" not in page and "import" not in page.split("<pre class='protocol'>")[0]
    assert "Youth Justice Mentors" in page and "<!DOCTYPE html>" in page
    assert re.search(r"Data fingerprint \(SHA-256\)</td><td><code>[0-9a-f]{64}</code>", page)


def test_no_person_id_or_date_of_birth_anywhere(rendered, data):
    _, out = rendered
    part = pd.read_csv(data / "participants.csv")
    ids = set(part["person_id"])
    dobs = set(part["date_of_birth"].astype(str))
    assert all(PERSON_ID.fullmatch(i) for i in ids)
    for path in out.rglob("*"):
        if path.suffix not in {".html", ".ipynb", ".json"}:
            continue
        text = path.read_text()
        assert not PERSON_ID.search(text), f"participant id in {path.name}"
        leaked = [d for d in dobs if d in text]
        assert not leaked, f"date of birth in {path.name}"


def _count_cells(page: str) -> list[str]:
    """Every cell of every count table (class 'counts') in a page; the whole-number cells are counts."""
    cells = []
    for table in re.findall(r"<table[^>]*class=\"[^\"]*counts[^\"]*\".*?</table>", page, flags=re.S):
        cells += re.findall(r"<td[^>]*>(.*?)</td>", table, flags=re.S)
    return [c.strip() for c in cells]


def test_no_unsuppressed_small_count(rendered):
    _, out = rendered
    for rid in ("INT03", "INT08"):
        cells = _count_cells((out / rid / f"{rid}.html").read_text())
        assert cells, "the report shows count tables"
        for cell in cells:
            if not INTEGER.fullmatch(cell):  # labels, shares, means: not counts
                continue
            value = int(cell.replace(",", ""))
            assert value == 0 or value >= 10, f"{rid}: small count {value} shown"
    # INT08 has 14 participants, all female: the 'female' row is shown, everything else hidden or zero
    assert "[c]" in (out / "INT08" / "INT08.html").read_text()


def test_failed_run_leaves_previous_report_intact(data, protocols, tmp_path):
    out = tmp_path / "out"
    run_report(protocols / "INT03.yaml", data, out)
    before = (out / "INT03" / "INT03.html").read_bytes()
    broken = tmp_path / "broken"
    shutil.copytree(data, broken)
    part = pd.read_csv(broken / "participants.csv")
    part.loc[0, "sex"] = "unknown-value"
    part.to_csv(broken / "participants.csv", index=False)
    with pytest.raises(EvalkitError, match="sex"):
        run_report(protocols / "INT03.yaml", broken, out)
    assert (out / "INT03" / "INT03.html").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["INT03"]


def test_invalid_protocol_raises_spec_error_with_line(protocols, data, tmp_path):
    with pytest.raises(EvalkitError, match=r"INT99.yaml, line \d+, field 'designs\[1\].caliper'"):
        run_report(protocols / "INT99.yaml", data, tmp_path / "o")
    assert not (tmp_path / "o" / "INT99").exists()


def _notebook(path: Path, *sources: str) -> Path:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell(src) for src in sources],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, path)
    return path


def _last_value(nb) -> str:
    return nb.cells[-1].outputs[0]["data"]["text/plain"]


def test_warm_kernel_is_reused_with_a_clean_namespace_and_survives_a_crash(tmp_path):
    from evalkit.run import Renderer

    first = _notebook(tmp_path / "a.ipynb", "import json\nleak = 5\nimport os\nos.getpid()")
    second = _notebook(tmp_path / "b.ipynb", "import os, sys\n('leak' in dir(), 'json' in sys.modules, os.getpid())")
    crash = _notebook(tmp_path / "c.ipynb", "import os\nos._exit(1)")
    with Renderer() as renderer:
        pid = _last_value(renderer.execute(first, {}))
        leaked, warm, pid2 = eval(_last_value(renderer.execute(second, {})))  # noqa: S307 - our own tuple
        assert (leaked, warm, str(pid2)) == (False, True, pid)  # same kernel, names cleared, imports kept
        with pytest.raises(Exception):
            renderer.execute(crash, {})
        leaked, warm, pid3 = eval(_last_value(renderer.execute(second, {})))  # noqa: S307
        assert str(pid3) != pid and not leaked  # a fresh kernel took over after the crash


def test_error_text_plain_for_users_located_for_bugs():
    from evalkit.run import _error_text

    class CellError(Exception):
        def __init__(self, ename, evalue, tb):
            super().__init__(evalue)
            self.ename, self.evalue, self.traceback = ename, evalue, tb

    tb = ("\x1b[0;31mTypeError\x1b[0m Traceback\nFile /x/lib/site-packages/evalkit/report/sections.py:10, in headline\n"
          "File /x/lib/site-packages/evalkit/report/plots.py:55, in forest_plot\nFile /x/numpy/core.py:3, in f\n")
    assert _error_text(CellError("TypeError", "bad  input", tb)) == \
        "TypeError: bad input (at evalkit/report/plots.py:55 in forest_plot)"
    assert _error_text(CellError("evalkit.errors.DataError", "participants.csv, row 3: fix it", tb)) == \
        "participants.csv, row 3: fix it"
