"""The report runner: index with failures, atomic outputs, privacy of everything written.

Runs on a small contract-valid data folder (tests/report_fixture.py), so it
does not depend on the synthetic data or on the analysis modules.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from evalkit.errors import EvalkitError
from evalkit.run import run_all, run_report
from tests.privacy_scan import check_folder, count_cells, small_count_cells, small_counts_in_text, visible_text
from tests.report_fixture import write_fixture

ROOT = Path(__file__).resolve().parents[1]
PERSON_ID = re.compile(r"P[0-9a-f]{16}")


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
def rendered_with_log(data, protocols, tmp_path_factory):
    """run_all into an output folder that does not exist yet, with its progress lines (stderr, not a terminal)."""
    out = tmp_path_factory.mktemp("out") / "new" / "folder"
    log = io.StringIO()
    with contextlib.redirect_stderr(log):
        result = run_all(protocols, data, out, workers=1)
    return result, out, log.getvalue()


@pytest.fixture(scope="module")
def rendered(rendered_with_log):
    result, out, _ = rendered_with_log
    return result, out


def test_progress_counts_the_reports_and_names_the_portfolio_apart(rendered_with_log):
    """In a log (no terminal): one line per report, 'report N of M' with M the number of protocols, then the
    portfolio summary on its own line (not counted as a report), and no progress bar's carriage returns."""
    result, _, log = rendered_with_log
    lines = log.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == ["report 1 of 3", "report 2 of 3", "report 3 of 3"]
    assert sorted(line.split(": ")[1] for line in lines[:-1]) == ["INT03 ok", "INT08 ok", "INT99 failed"]
    assert lines[-1] == "portfolio summary ok" and "\r" not in log and len(result.reports) == 3


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
    # no Python reaches the reader; the page's own style sheet (CSS's "!important") is not code shown to them
    shown = re.sub(r"<style[^>]*>.*?</style>", "", page.split("<pre class='protocol'>")[0], flags=re.S)
    assert "load_context" not in page and "import" not in shown
    assert "Youth Justice Mentors" in page and "<!DOCTYPE html>" in page
    assert re.search(r"Data fingerprint \(SHA-256\)</td><td><code>[0-9a-f]{64}</code>", page)


def test_no_person_id_or_date_of_birth_anywhere(rendered, data):
    _, out = rendered
    part = pd.read_csv(data / "participants.csv")
    ids = set(part["person_id"])
    dobs = set(part["date_of_birth"].astype(str))
    assert all(PERSON_ID.fullmatch(i) for i in ids)
    check_folder(out, ids=ids, dobs=dobs)  # every .html, .ipynb and .json: ids, dates of birth, small counts


def test_no_unsuppressed_small_count(rendered):
    _, out = rendered
    for rid in ("INT03", "INT08"):
        page = (out / rid / f"{rid}.html").read_text()
        assert count_cells(page), "the report shows count tables"
        assert not small_count_cells(page), rid
        assert not small_counts_in_text(visible_text(page)), rid
    # INT08 has 14 participants, all female: the 'female' row is shown, everything else hidden or zero
    assert "[c]" in (out / "INT08" / "INT08.html").read_text()


def _plant(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text()
    assert old in text, (name, old)
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("leak", ["sentence", "k_of_n", "n_equals", "table", "flow", "person_id", "dob", "df",
                                  "json_text", "stream", "traceback"])
def test_privacy_check_catches_a_planted_leak(rendered, data, tmp_path, leak):
    """The folder check must be able to fail: plant one leak of each kind into a copy of a clean report."""
    _, out = rendered
    folder = tmp_path / "INT08"
    shutil.copytree(out / "INT08", folder)
    part = pd.read_csv(data / "participants.csv")
    pid, dob = part["person_id"].iloc[0], str(part["date_of_birth"].iloc[0])
    check_folder(tmp_path, ids={pid}, dobs={dob})  # clean before planting
    page, nb = "INT08.html", "INT08.ipynb"
    if leak == "sentence":
        _plant(folder, page, "</h2>", "</h2><p>Only 4 participants contributed.</p>")
    elif leak == "k_of_n":
        _plant(folder, page, "</h2>", "</h2><p>High attrition: 3 of 12 people with a baseline (25%).</p>")
    elif leak == "n_equals":
        _plant(folder, page, "</h2>", "</h2><p>Girls (n = 7)</p>")
    elif leak == "table":
        _plant(folder, page, "</h2>", "</h2><table class='counts'><tr><td>Girls</td><td>7</td></tr></table>")
    elif leak == "flow":
        _plant(folder, page, "</h2>", "</h2><table class='counts'><thead><tr><th>Step</th><th>Young people</th>"
                                      "</tr></thead><tbody><tr><td>Referred</td><td class='num'>120</td></tr>"
                                      "<tr><td>Started in the period</td><td class='num'>115</td></tr></tbody></table>")
    elif leak == "person_id":
        _plant(folder, nb, '"cells": [', f'"cells": [{{"cell_type": "raw", "metadata": {{}}, "source": "{pid}"}},')
    elif leak == "dob":
        _plant(folder, page, "</h2>", f"</h2><p>born {dob}</p>")
    elif leak == "df":
        _plant(folder, "findings.json", '"outcomes": [', '"outcomes": [{"design": "prepost", "estimate": {"df": 5}}, ')
    elif leak == "json_text":
        _plant(folder, "findings.json", '"limitations": [', '"limitations": ["Only 6 participants contributed.", ')
    else:  # printed output or a traceback stored in the notebook
        notebook = json.loads((folder / nb).read_text())
        cell = next(c for c in notebook["cells"] if c["cell_type"] == "code")
        cell["outputs"].append({"output_type": "stream", "name": "stdout", "text": "x"} if leak == "stream" else
                               {"output_type": "error", "ename": "KeyError", "evalue": "x", "traceback": []})
        (folder / nb).write_text(json.dumps(notebook))
    with pytest.raises(AssertionError):
        check_folder(tmp_path, ids={pid}, dobs={dob})


def test_failed_report_error_quotes_no_row_level_values(data, protocols, tmp_path):
    """A report that fails on bad data says where to look (file, row, column) but not the values."""
    broken = tmp_path / "broken"
    shutil.copytree(data, broken)
    part = pd.read_csv(broken / "participants.csv", dtype=str)
    mine = part.loc[part["intervention_id"] == "INT08"]
    pid, dob = mine["person_id"].iloc[0], mine["date_of_birth"].iloc[0]
    part = pd.concat([part, mine.iloc[[0]]], ignore_index=True)  # the same person twice: a duplicate row
    part.loc[mine.index[1], "date_of_birth"] = "2031-02-30"  # and a date that does not exist
    part.to_csv(broken / "participants.csv", index=False)
    out = tmp_path / "out"
    result = run_all(protocols, broken, out, workers=1, progress=False, protocols=[protocols / "INT08.yaml"])
    failure = result.reports[0]
    assert not failure.ok and "participants.csv" in failure.error and "row" in failure.error, failure.error
    shown = [failure.error, str(result), (out / "index.html").read_text(), (out / "run_status.json").read_text()]
    if (out / "portfolio_summary.html").exists():
        shown.append((out / "portfolio_summary.html").read_text())
    for text in shown:
        for value in (pid, dob, "2031-02-30"):
            assert value not in text, value
    with pytest.raises(EvalkitError) as err:
        run_report(protocols / "INT08.yaml", broken, tmp_path / "one")
    assert "participants.csv" in str(err.value)
    assert not any(v in str(err.value) for v in (pid, dob, "2031-02-30")), str(err.value)


def test_redact_keeps_the_place_and_drops_the_values():
    from evalkit.run import redact

    text = ("participants.csv, row 5, column 'person_id': duplicate row: person_id=P3f9a1c0d2b7e4a68, "
            "intervention_id=INT03 already appears on row 3. Fix: each (person_id, intervention_id) may appear once.")
    assert redact(text) == ("participants.csv, row 5, column 'person_id': duplicate row: person_id=[hidden], "
                            "intervention_id=[hidden] already appears on row 3. Fix: each (person_id, "
                            "intervention_id) may appear once.")
    assert redact("row 3, column 'date_of_birth': value '31/02/2005' in date_of_birth is not a date.") == \
        "row 3, column 'date_of_birth': value [hidden] in date_of_birth is not a date."
    assert redact("measurements.csv, row 9: person_id=Jane Doe is not in the participants table.") == \
        "measurements.csv, row 9: person_id=[hidden] is not in the participants table."
    assert redact("row 4: value 230 is out of range for prior_offences; born 2005-03-01") == \
        "row 4: value [hidden] is out of range for prior_offences; born [date]"
    assert redact("KeyError: 'Jane Doe'", quoted=True) == "KeyError: [hidden]"


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


def test_demo_keeps_the_store_outside_the_output_folder(data, protocols, tmp_path):
    from evalkit.demo import STORE_NAME, run_demo

    one = tmp_path / "protocols"
    one.mkdir()
    shutil.copy(protocols / "INT08.yaml", one / "INT08.yaml")
    out = tmp_path / "demo_output"
    out.mkdir()
    (out / STORE_NAME).write_bytes(b"left by an older evalkit")
    message = run_demo(out, workers=1, data_dir=data, protocol_dir=one)
    store = tmp_path / "demo_output_store" / STORE_NAME
    assert store.is_file() and str(store.resolve()) in message and "not for sharing" in message
    assert str((out / "index.html").resolve()) in message
    assert not [p for p in out.rglob("*") if ".duckdb" in p.name]  # the shareable folder holds no row-level store
    assert (out / "INT08" / "INT08.html").is_file()


def test_redact_keeps_the_example_in_a_fix():
    from evalkit.run import redact

    assert redact("value '2031-02-30' in date_of_birth is not a real date. Fix: write dates as YYYY-MM-DD, "
                  "e.g. 2021-03-14.") == ("value [hidden] in date_of_birth is not a real date. Fix: write dates as "
                                          "YYYY-MM-DD, e.g. 2021-03-14.")


def test_portfolio_counts_match_each_reports_started_in_the_period(rendered):
    """One count per intervention across the documents: an all-time count beside the period's would reveal
    the (possibly small) number referred outside the period by subtraction."""
    _, out = rendered
    page = (out / "portfolio_summary.html").read_text()
    overview = re.search(r"<section id=.overview.>.*?</section>", page, flags=re.S).group(0)
    for rid in ("INT03", "INT08"):
        row = re.search(rf"<td>{rid}</td>(.*?)</tr>", overview, flags=re.S).group(1)
        shown = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
        report = (out / rid / f"{rid}.html").read_text()
        started = re.search(r"<td>Started in the period</td><td[^>]*>(.*?)</td>", report).group(1)
        assert shown[2] == started, (rid, shown, started)


def test_portfolio_overview_counts_the_period_not_all_time(protocols, tmp_path):
    from evalkit.report.sections import load_portfolio, portfolio_overview

    data = write_fixture(tmp_path / "src", n08=25)
    part = pd.read_csv(data / "participants.csv")
    early = part.index[part["intervention_id"] == "INT08"][:3]
    part.loc[early, ["referral_date", "start_date", "end_date"]] = ["2019-05-20", "2019-06-01", "2019-09-01"]
    part.to_csv(data / "participants.csv", index=False)
    page = portfolio_overview(load_portfolio(protocols, data, tmp_path / "reports")).html
    row = re.search(r"<td>INT08</td>(.*?)</tr>", page, flags=re.S).group(1)
    assert "<td>22</td>" in row and "<td>25</td>" not in row  # 25 recorded, 22 started in the period


def test_printed_output_is_not_kept_in_notebook_or_page(tmp_path):
    import nbformat

    from evalkit.run import Renderer

    # the id and the date are built at run time, so they are not in the notebook's source
    nb = _notebook(tmp_path / "p.ipynb", "import sys, warnings\nprint('P3f9a1c0d2b7e' + '4a68')\n"
                                         "warnings.warn('born ' + '2005-03' + '-01')\n'shown'")
    with Renderer() as renderer:
        page = renderer.render(nb, {}, tmp_path / "out", "p", title="p")
    kept = nbformat.read(tmp_path / "out" / "p.ipynb", as_version=4)
    assert [o["output_type"] for c in kept.cells for o in c.get("outputs", [])] == ["execute_result"]
    text = page.read_text() + (tmp_path / "out" / "p.ipynb").read_text()
    assert "P3f9a1c0d2b7e4a68" not in text and "2005-03-01" not in text and "shown" in text


def test_shipped_notebooks_are_the_packaged_ones():
    """notebooks/*.ipynb are written from evalkit.report.notebooks (make_notebooks.py): no drift."""
    import nbformat

    from evalkit.report.notebooks import BUILDERS
    from evalkit.run import NOTEBOOK_DIR

    for name, build in BUILDERS.items():
        shipped = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
        assert [(c.cell_type, c.source) for c in shipped.cells] == [(c.cell_type, c.source) for c in build().cells]


def test_reports_render_without_the_notebooks_folder(data, protocols, tmp_path, monkeypatch):
    """A regular (non-editable) install has no notebooks/ folder: the packaged notebooks are used."""
    import evalkit.run as run

    monkeypatch.setattr(run, "NOTEBOOK_DIR", tmp_path / "no-such-folder")
    out = tmp_path / "out"
    result = run.run_all(protocols, data, out, workers=1, progress=False, protocols=[protocols / "INT08.yaml"])
    assert not result.failed, result
    assert (out / "INT08" / "INT08.html").is_file() and (out / "portfolio_summary.html").is_file()


def _edited_report_notebook(path: Path, *, extra: str, after: str = "S.results(ctx)") -> Path:
    """A copy of the shipped report notebook as an analyst might edit it: subgroups dropped, a cell added."""
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / "intervention_report.ipynb", as_version=4)
    nb.cells = [c for c in nb.cells if "S.subgroups" not in c.source]
    at = next(i for i, c in enumerate(nb.cells) if c.source.strip() == after)
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(extra))
    nbformat.write(nb, path)
    return path


def test_report_command_renders_an_edited_notebook_into_a_new_folder(data, protocols, tmp_path):
    """`evalkit report --notebook` (and --pdf where Chromium is installed): the analyst's cell is on the page
    with evalkit's styling, the output folder is created, and the command says where the page and PDF went."""
    from click.testing import CliRunner

    from evalkit.cli import cli

    mine = _edited_report_notebook(tmp_path / "my_report.ipynb", extra=(
        "from IPython.display import HTML\nHTML(\"<section id='ours'><h2>Our own note</h2></section>\")"))
    out = tmp_path / "new" / "reports"
    pdf = shutil.which("chromium") is not None
    res = CliRunner().invoke(cli, ["report", str(protocols / "INT08.yaml"), "--data", str(data), "--out", str(out),
                                   "--notebook", str(mine), *(["--pdf"] if pdf else [])])
    assert res.exit_code == 0, res.output
    page = out / "INT08" / "INT08.html"
    said = f"wrote {page} and the PDF {page.with_suffix('.pdf')} in " if pdf else f"wrote {page} in "
    assert res.output.startswith(said), res.output
    text = page.read_text(encoding="utf-8")
    assert ">Our own note</h2>" in text and "@media print" in text and ">Results</h2>" in text
    if pdf:
        assert page.with_suffix(".pdf").read_bytes().startswith(b"%PDF-")


def test_report_command_blames_the_analysts_own_failing_cell(data, protocols, tmp_path):
    from click.testing import CliRunner

    from evalkit.cli import cli

    mine = _edited_report_notebook(tmp_path / "my_report.ipynb", extra="total = undefined_name + 1",
                                   after="from evalkit.report import sections as S")
    out = tmp_path / "new" / "reports"
    res = CliRunner().invoke(cli, ["report", str(protocols / "INT08.yaml"), "--data", str(data), "--out", str(out),
                                   "--notebook", str(mine)])
    assert res.exit_code == 2 and "Traceback" not in res.output and "internal error" not in res.output
    assert res.output.startswith("error: INT08: the report failed: NameError: ")
    assert "-- in your notebook my_report.ipynb, not in evalkit; no report was written. Fix: run my_report.ipynb " \
           "in Jupyter" in res.output
    assert not (tmp_path / "new").exists()  # the folders the command made are removed again
