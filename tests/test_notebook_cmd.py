"""`evalkit notebook`: the report notebook with its parameters filled in, one command away (issue 22)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from click.testing import CliRunner

from evalkit.cli import cli
from evalkit.notebook import launch, notebook_path, open_command, prepare_notebook

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = ROOT / "protocols" / "INT01.yaml"
DATA = ROOT / "synthetic_data"


def _injected(nb) -> list:
    return [c for c in nb.cells if "injected-parameters" in c.get("metadata", {}).get("tags", [])]


def test_the_notebook_is_the_report_notebook_with_its_parameters_filled_in(tmp_path):
    target = prepare_notebook(PROTOCOL, DATA, out=tmp_path / "INT01_report.ipynb")
    nb = nbformat.read(target, as_version=4)
    (cell,) = _injected(nb)
    assert f"protocol_path = \"{PROTOCOL.resolve()}\"" in cell.source
    assert f"data_src = \"{DATA.resolve()}\"" in cell.source and "seed = None" in cell.source
    # every section of the report notebook is there, after the parameters
    assert any("S.headline(ctx)" in c.source for c in nb.cells)
    assert notebook_path(PROTOCOL) == PROTOCOL.with_name("INT01_report.ipynb")


def test_rendering_the_edited_copy_replaces_the_filled_in_parameters(tmp_path):
    # `evalkit report --notebook` parameterises the copy again (papermill): one injected cell, the report's values
    from papermill.parameterize import parameterize_notebook

    target = prepare_notebook(PROTOCOL, DATA, out=tmp_path / "mine.ipynb")
    nb = parameterize_notebook(nbformat.read(target, as_version=4),
                               {"protocol_path": "elsewhere.yaml", "data_src": "store.duckdb",
                                "output_dir": "out", "seed": None})
    (cell,) = _injected(nb)
    assert 'protocol_path = "elsewhere.yaml"' in cell.source and str(PROTOCOL.resolve()) not in cell.source


def test_no_display_prints_the_command_instead_of_opening(tmp_path, monkeypatch):
    target = prepare_notebook(PROTOCOL, DATA, out=tmp_path / "nb.ipynb")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    line = launch(target, open_browser=False)
    assert str(target) in line and ("jupyter-lab" in line)
    assert open_command(target)[-1] == str(target)


def test_cli_writes_once_and_refuses_to_overwrite_edits(tmp_path):
    out = tmp_path / "INT01_report.ipynb"
    runner = CliRunner()
    first = runner.invoke(cli, ["notebook", str(PROTOCOL), "--data", str(DATA), "--out", str(out), "--no-browser"])
    assert first.exit_code == 0, first.output
    assert out.is_file() and "--notebook" in first.output
    again = runner.invoke(cli, ["notebook", str(PROTOCOL), "--data", str(DATA), "--out", str(out), "--no-browser"])
    assert again.exit_code == 2 and "--force" in again.output and "Traceback" not in again.output
    missing = runner.invoke(cli, ["notebook", str(tmp_path / "nope.yaml"), "--data", str(DATA), "--no-browser"])
    assert missing.exit_code == 2 and len(missing.output.strip().splitlines()) == 1, missing.output
