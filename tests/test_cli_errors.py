"""The promise "bad input gets a clear error and loses nothing", tried as a new user would break it.

Each case runs the real CLI (click's runner, or a subprocess where signals or
locks are involved) and checks: non-zero exit, no Python traceback, a line
naming the place (file / sheet / row / column, or the path) and saying what to
fix, and nothing half-written.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import openpyxl
import pytest
from click.testing import CliRunner
from data_fixtures import MINIMAL, rows, write_all, write_csv

from evalkit.cli import cli

KEY = "0123456789abcdef0123"


def _run(*args, env=None):
    return CliRunner().invoke(cli, list(map(str, args)), env=env)


def _err(res) -> list[str]:
    """The error lines, after checking the result is a clean user-facing failure."""
    assert res.exit_code not in (0, None), res.output
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert lines and all(ln.startswith(("error:", "ok:", "Usage:", "Try ", "Error:")) for ln in lines), lines
    return [ln for ln in lines if ln.startswith("error:")]


def _interventions(path: Path, **changes) -> Path:
    return write_csv(path, rows("interventions", **changes))


def _workbook(path: Path, sheet: str, records: list[dict], extra_sheets: tuple[str, ...] = ()) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(list(records[0]))
    for r in records:
        ws.append([v if v != "" else None for v in r.values()])
    for name in extra_sheets:
        wb.create_sheet(name)
    wb.save(path)
    return path


# ----------------------------------------------------------------- validate: cells
@pytest.mark.parametrize("change, column, says", [
    (dict(start_date="31st March 2020"), "start_date", "YYYY-MM-DD"),
    (dict(name=""), "name", "is required but empty"),
    (dict(planned_places="1,400"), "planned_places", "write the digits only"),
    (dict(prevention_level="tertairy"), "prevention_level", "did you mean 'tertiary'"),
])
def test_bad_cell_names_row_column_and_fix(tmp_path, change, column, says):
    lines = _err(_run("validate", _interventions(tmp_path / "interventions.csv", **change)))
    assert len(lines) == 1
    assert lines[0].startswith(f"error: interventions.csv, row 2, column '{column}':")
    assert says in lines[0] and "Fix:" in lines[0]


def test_money_with_pound_sign_and_commas_is_read_as_money(tmp_path):
    path = _interventions(tmp_path / "interventions.csv", annual_cost="£210,000")
    assert _run("validate", path).exit_code == 0
    db = tmp_path / "s.duckdb"
    assert _run("ingest", path, "--db", db).exit_code == 0
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT max(annual_cost) FROM interventions").fetchall()[0][0] == 210000.0


def test_extra_column_is_named_with_the_fix(tmp_path):
    recs = [dict(r, notes="hello") for r in MINIMAL["interventions"]]
    lines = _err(_run("validate", write_csv(tmp_path / "interventions.csv", recs)))
    assert lines == [lines[0]] and "row 1, column 'notes'" in lines[0]
    assert "is not a column of the interventions table" in lines[0] and "or delete it" in lines[0]


# ----------------------------------------------------------------- validate: files
@pytest.mark.parametrize("encoding, bom", [("utf-8", True), ("cp1252", False)])
def test_bom_and_windows_1252_files_are_read(tmp_path, encoding, bom):
    recs = rows("interventions", provider="Northgåte Youth – Trust")
    text = "\r\n".join([",".join(recs[0])] + [",".join(r.values()) for r in recs]) + "\r\n"
    path = tmp_path / "interventions.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    res = _run("validate", path)
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("sep, name", [(";", "semicolons"), ("\t", "tabs")])
def test_other_separator_is_named(tmp_path, sep, name):
    path = tmp_path / "interventions.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(MINIMAL["interventions"][0]), delimiter=sep)
        w.writeheader()
        w.writerows(MINIMAL["interventions"])
    lines = _err(_run("validate", path))
    assert lines == [f"error: interventions.csv, row 1: the columns are separated by {name}, not commas. "
                     "Fix: save it again from Excel as 'CSV UTF-8 (Comma delimited)', or export with a comma as "
                     "the separator."]


def test_empty_file(tmp_path):
    (tmp_path / "interventions.csv").write_bytes(b"")
    assert _err(_run("validate", tmp_path / "interventions.csv")) == [
        "error: interventions.csv: the file is empty. Fix: add a header row with the column names."]


def test_pdf_renamed_xlsx(tmp_path):
    path = tmp_path / "return.xlsx"
    path.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    for cmd in (("validate", path), ("ingest", path, "--db", tmp_path / "s.duckdb")):
        (line,) = _err(_run(*cmd))
        assert line.startswith("error: return.xlsx: the workbook cannot be opened") and "Fix: save it again" in line
    assert not (tmp_path / "s.duckdb").exists()


def test_directory_instead_of_file(tmp_path):
    (tmp_path / "interventions.csv").mkdir()
    (line,) = _err(_run("validate", tmp_path / "interventions.csv"))
    assert "interventions.csv: is a folder, not a file. Fix: give the data files inside it" in line


def test_unreadable_file(tmp_path, monkeypatch):
    path = _interventions(tmp_path / "interventions.csv")
    real = Path.read_bytes

    def locked(self):
        if self.name == "interventions.csv":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", locked)
    (line,) = _err(_run("validate", path))
    assert line == ("error: interventions.csv: the file cannot be read (Permission denied). Fix: check you may read "
                    "it and that no other program (e.g. Excel) has it locked.")


def test_unreadable_file_on_ingest_is_one_line(tmp_path, monkeypatch):
    import builtins

    path = _interventions(tmp_path / "interventions.csv")
    real = builtins.open

    def locked(file, *a, **k):
        if str(file).endswith("interventions.csv"):
            raise PermissionError(13, "Permission denied", str(file))
        return real(file, *a, **k)

    monkeypatch.setattr(builtins, "open", locked)
    (line,) = _err(_run("ingest", path, "--db", tmp_path / "s.duckdb"))
    assert line.startswith(f"error: {path}: Permission denied. Fix: check you may read/write it")


def test_many_problems_are_capped(tmp_path):
    recs = [dict(MINIMAL["interventions"][0], intervention_id=f"INT{i:03d}", prevention_level="tertairy",
                 start_date="someday") for i in range(600)]
    lines = _err(_run("validate", "--max-problems", "50", write_csv(tmp_path / "interventions.csv", recs)))
    assert len(lines) == 51
    assert lines[-1].startswith("error: interventions.csv: ... and 1150 more problem(s) not listed.")


# ----------------------------------------------------------------- Excel returns
def test_excel_sheet_name_typo_suggests_the_table(tmp_path):
    path = _workbook(tmp_path / "return.xlsx", "Interventons", MINIMAL["interventions"])
    (line,) = _err(_run("validate", path))
    assert line.startswith("error: return.xlsx, sheet 'Interventons': sheet 'Interventons' is not named after a "
                           "table (did you mean 'interventions'?). Fix: rename it")


def test_excel_cells_are_located_by_sheet_row_column(tmp_path):
    recs = rows("interventions", start_date="31st March", annual_cost="£210,000", name="")
    path = _workbook(tmp_path / "return.xlsx", "interventions", recs, extra_sheets=("Sheet2",))
    lines = _err(_run("validate", path))  # the empty spare sheet is passed over, not reported
    assert [ln.split(":")[1] for ln in lines] == [" return.xlsx, sheet 'interventions', row 2, column 'name'",
                                                  " return.xlsx, sheet 'interventions', row 2, column 'start_date'"]


# ----------------------------------------------------------------- template
def test_template_into_missing_folder_is_created(tmp_path):
    res = _run("template", "--out", tmp_path / "new" / "dir" / "return.xlsx")
    assert res.exit_code == 0 and (tmp_path / "new" / "dir" / "return.xlsx").is_file()


def test_template_needs_an_xlsx_name(tmp_path):
    (line,) = _err(_run("template", "--out", tmp_path / "return.csv"))
    assert "so its name must end in .xlsx. Fix: use --out" in line and line.endswith("return.xlsx.")
    assert not list(tmp_path.iterdir())


def test_template_where_it_cannot_write(tmp_path):
    (tmp_path / "afile").write_text("x")
    (line,) = _err(_run("template", "--out", tmp_path / "afile" / "return.xlsx"))
    assert line.startswith(f"error: {tmp_path / 'afile' / 'return.xlsx'}: cannot write here")
    assert (tmp_path / "afile").read_text() == "x"
