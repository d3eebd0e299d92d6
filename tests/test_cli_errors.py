"""The promise "bad input gets a clear error and loses nothing", tried as a new user would break it.

Each case runs the real CLI (click's runner, or a subprocess where signals or
locks are involved) and checks: non-zero exit, no Python traceback, a line
naming the place (file / sheet / row / column, or the path) and saying what to
fix, and nothing half-written.
"""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
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
    from evalkit.data.readers import read_raw

    (tmp_path / "interventions.csv").mkdir()
    (line,) = _err(_run("ingest", tmp_path / "interventions.csv", "--db", tmp_path / "s.duckdb"))
    assert line == "error: interventions.csv: is a folder, not a file. Fix: give the data files inside it."
    (line,) = _err(_run("validate", tmp_path / "interventions.csv"))
    assert "interventions.csv: the folder holds no protocols (*.yaml) or data files" in line
    assert "is a folder, not a file" in str(read_raw(tmp_path / "interventions.csv")[1][0])


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
    assert line == ("error: interventions.csv: the file cannot be read (Permission denied). Fix: check you may read "
                    "it and that no other program (e.g. Excel) has it locked.")
    assert not (tmp_path / "s.duckdb").exists()


def test_os_errors_elsewhere_are_one_line_naming_the_path():
    from evalkit.cli import _os_error_line

    assert _os_error_line(PermissionError(13, "Permission denied", "/x/s.duckdb")) == (
        "error: /x/s.duckdb: Permission denied. Fix: check you may read/write it, and that no other program (e.g. "
        "Excel) has it open.")
    assert _os_error_line(OSError(28, "No space left on device", "/x/r.html")).startswith(
        "error: /x/r.html: the disk is full while writing it")


def test_many_problems_are_capped(tmp_path):
    recs = [dict(MINIMAL["interventions"][0], intervention_id=f"INT{i:03d}", prevention_level="tertairy",
                 start_date="someday") for i in range(600)]
    lines = _err(_run("validate", "--max-problems", "50", write_csv(tmp_path / "interventions.csv", recs)))
    # one line per column and problem, with the rows and their count (not 1,200 lines, 50 shown)
    assert lines == [
        "error: interventions.csv, rows 2-601 (600 rows), column 'prevention_level': value 'tertairy' is not an "
        "allowed prevention_level (did you mean 'tertiary'?). Fix: use one of universal, secondary, tertiary.",
        "error: interventions.csv, rows 2-601 (600 rows), column 'start_date': value 'someday' in start_date is not "
        "a date. Fix: write dates as YYYY-MM-DD, e.g. 2021-03-31 (in Excel: format the column as yyyy-mm-dd before "
        "saving)."]
    recs = [dict(MINIMAL["interventions"][0], intervention_id=f"INT{i:03d}", prevention_level="tertairy")
            for i in range(600)]
    lines = _err(_run("validate", "--max-problems", "1", write_csv(tmp_path / "interventions.csv", recs)))
    assert len(lines) == 1 and "(600 rows)" in lines[0]


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


# ----------------------------------------------------------------- ingest: the store
def test_ingest_into_a_missing_folder(tmp_path):
    path = _interventions(tmp_path / "interventions.csv")
    (line,) = _err(_run("ingest", path, "--db", tmp_path / "no" / "s.duckdb"))
    assert line == (f"error: {tmp_path / 'no' / 's.duckdb'}: the folder {tmp_path / 'no'} does not exist. Fix: create "
                    "it first, or give --db a path in an existing folder.")
    assert not (tmp_path / "no").exists()


def test_ingest_into_a_file_that_is_not_a_store(tmp_path):
    path = _interventions(tmp_path / "interventions.csv")
    db = tmp_path / "notes.duckdb"
    db.write_text("my notes\n")
    (line,) = _err(_run("ingest", path, "--db", db))
    assert line.endswith("notes.duckdb: is not a DuckDB store. Fix: give the store made by `evalkit ingest`, or a new "
                         "file name (e.g. store.duckdb) to start one.")
    assert db.read_text() == "my notes\n"


def test_ingest_into_a_store_in_use(tmp_path):
    """DuckDB locks a store per process: another process's ingest is refused in plain words, store unchanged."""
    db = tmp_path / "s.duckdb"
    first = _interventions(tmp_path / "interventions.csv")
    assert _run("ingest", first, "--db", db).exit_code == 0
    second = write_csv(tmp_path / "participants.csv", rows("participants"))
    holder = duckdb.connect(str(db))  # this process holds the write lock
    try:
        done = subprocess.run([sys.executable, "-m", "evalkit", "ingest", str(second), "--db", str(db)],
                              capture_output=True, text=True, timeout=120)
    finally:
        holder.close()
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"error: {db}: the store is in use by another program (process ")
    assert "Fix: close it" in done.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM participants").fetchall() == [(0,)]


# ----------------------------------------------------------------- pseudonymise
def test_pseudonymise_without_a_key_or_with_an_empty_one(tmp_path):
    src = write_csv(tmp_path / "participants.csv", rows("participants"))
    (line,) = _err(_run("pseudonymise", src, "--out", tmp_path / "p.csv", env={"EVALKIT_PSEUDONYM_KEY": ""}))
    assert line.startswith("error: no pseudonymisation key: set the EVALKIT_PSEUDONYM_KEY environment variable")
    (tmp_path / "empty.key").write_bytes(b"")
    (line,) = _err(_run("pseudonymise", src, "--out", tmp_path / "p.csv", "--key-file", tmp_path / "empty.key"))
    assert line.startswith(f"error: the key in key file {tmp_path / 'empty.key'} is 0 bytes; use at least 16")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.key", "participants.csv"]


def test_pseudonymise_in_place_replaces_ids_atomically(tmp_path):
    src = write_csv(tmp_path / "participants.csv", rows("participants"))
    before = src.read_text()
    res = _run("pseudonymise", src, "--out", src, env={"EVALKIT_PSEUDONYM_KEY": KEY})
    assert res.exit_code == 0, res.output
    after = src.read_text()
    assert after != before and "P0000000000000001" not in after
    assert after.splitlines()[0] == before.splitlines()[0] and len(after.splitlines()) == len(before.splitlines())
    assert [p.name for p in tmp_path.iterdir()] == ["participants.csv"]  # no temporary file left


def test_pseudonymise_refuses_a_different_output_type_and_damaged_workbooks(tmp_path):
    src = write_csv(tmp_path / "participants.csv", rows("participants"))
    (line,) = _err(_run("pseudonymise", src, "--out", tmp_path / "p.xlsx", env={"EVALKIT_PSEUDONYM_KEY": KEY}))
    assert "the output p.xlsx would not be the same kind of file as the input" in line
    assert line.endswith(f"Fix: name the output with the same ending, e.g. --out {tmp_path / 'p.csv'}.")
    bad = tmp_path / "return.xlsx"
    bad.write_bytes(b"%PDF-1.4\n")
    (line,) = _err(_run("pseudonymise", bad, "--out", tmp_path / "out.xlsx", env={"EVALKIT_PSEUDONYM_KEY": KEY}))
    assert line.startswith("error: return.xlsx: the workbook cannot be opened (BadZipFile")
    assert not (tmp_path / "p.xlsx").exists() and not (tmp_path / "out.xlsx").exists()


# ----------------------------------------------------------------- synth
def test_synth_onto_a_folder_with_other_files(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    (line,) = _err(_run("synth", "--out", tmp_path))
    assert "holds files evalkit did not write (mine.txt); choose an empty or new folder" in line
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


# ----------------------------------------------------------------- protocols
ROOT = Path(__file__).resolve().parent.parent
INT01 = (ROOT / "protocols" / "INT01.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("old, new, expect", [
    ("  - type: did ", "\t- type: did ", r"line \d+: is not valid YAML: found character '\\t' that cannot start any "
                                         r"token\. Fix: replace the tab with spaces"),
    ("    covariates:", "    covariate:", r"line \d+, field 'designs\[0\]\.covariate': is not a field this section "
                                           r"knows \(did you mean 'covariates'\?\)"),
    ("subgroups:", "subgroup:", r"field 'subgroup': is not a field this section knows \(did you mean 'subgroups'\?\)"),
    ("alpha: 0.05", "alpha: five percent", r"field 'alpha': must be a number \(got 'five percent'\)\. Fix: write a "
                                           r"number, without quotes or units\."),
    (re.compile(r"    ratio: \d+ "), "    ratio: one ",
     r"field 'designs\[0\]\.ratio': must be a whole number \(got 'one'\)"),
    ("  start_from: 2020-04-01", "  start_from: 31st March 2020",
     r"field 'population\.start_from': must be a date written YYYY-MM-DD \(got '31st March 2020'\)"),
    ("    outcomes: [reoffending_12m]\n", "    outcomes: [reoffending_6m]\n",
     r"field 'designs\[1\]\.outcomes\[0\]': refers to outcome 'reoffending_6m', which is not defined\. Fix: use one "
     r"of \["),
])
def test_protocol_mistakes_are_located(tmp_path, old, new, expect):
    text = old.sub(new, INT01, count=1) if isinstance(old, re.Pattern) else INT01.replace(old, new, 1)
    assert text != INT01
    path = tmp_path / "INT01.yaml"
    path.write_text(text, encoding="utf-8")
    lines = _err(_run("validate", path))
    assert any(re.search(expect, ln) for ln in lines), lines
    assert all(ln.startswith(f"error: {path}, line ") for ln in lines)


def test_protocol_not_utf8(tmp_path):
    path = tmp_path / "INT01.yaml"
    path.write_bytes(INT01.replace('title: "Custody Navigators (City)"', 'title: "Caf\xe9"').encode("cp1252"))
    (line,) = _err(_run("validate", path))
    assert line.startswith(f"error: {path}, line 6: is not UTF-8 text") and line.endswith("Fix: save it as UTF-8.")


def _tables():
    import pandas as pd

    inter = pd.DataFrame({"intervention_id": ["INT01", "INT02"]})
    part = pd.DataFrame({"intervention_id": ["INT01"] * 3, "person_id": ["a", "b", "c"],
                         "start_date": pd.to_datetime(["2020-05-01", "2020-09-01", "2021-01-01"])})
    one = pd.DataFrame({"x": [1]})
    return {"interventions": inter, "participants": part, "comparison_pool": one, "offences": one}


def test_protocol_against_the_wrong_data():
    from evalkit.errors import MissingDataError
    from evalkit.protocol import Protocol, check_data, data_problems, load_protocol

    p = load_protocol(ROOT / "protocols" / "INT01.yaml")
    assert data_problems(p, _tables()) == []
    other = Protocol.model_validate(p.model_dump() | {"intervention_id": "INT99"})
    with pytest.raises(MissingDataError, match=r"^data: INT99: intervention_id INT99 is not in the interventions "
                                               r"table \(it holds INT01, INT02\)\. Fix: correct intervention_id"):
        check_data(other, _tables(), "data")
    absent = Protocol.model_validate(p.model_dump() | {"intervention_id": "INT02"})
    assert data_problems(absent, _tables())[0].startswith("no participants have intervention_id INT02. Fix:")
    later = p.model_dump()
    later["population"] |= {"start_from": "2023-04-01", "start_to": "2024-03-31"}
    (msg,) = data_problems(Protocol.model_validate(later), _tables())
    assert msg.startswith("none of INT01's participants in the data started inside the protocol's population window")
    no_pool = {k: v for k, v in _tables().items() if k != "comparison_pool"}
    (msg,) = data_problems(p, no_pool)
    assert msg.startswith("the comparison_pool table, which designs[0] (matched) needs, is missing or empty, so no "
                          "outcome can be estimated. Fix: add comparison_pool.csv to the data folder")


def test_protocol_with_some_outcomes_lacking_data_is_still_reported():
    """Only when NO outcome can be estimated is missing data an error; otherwise the report says what is missing."""
    from evalkit.protocol import data_problems, load_protocol

    p = load_protocol(ROOT / "protocols" / "INT03.yaml")  # reoffending (matched) + questionnaires (pre/post)
    tables = {k: v for k, v in _tables().items() if k not in ("comparison_pool", "offences")}
    tables["participants"] = tables["participants"].assign(intervention_id="INT03")
    tables["interventions"] = tables["interventions"].assign(intervention_id=["INT03", "INT04"])
    assert data_problems(p, tables | {"measurements": _tables()["offences"]}) == []
    (msg,) = data_problems(p, tables)
    assert msg.startswith("the measurements, comparison_pool and offences tables are missing or empty, so no outcome "
                          "can be estimated. Fix: add measurements.csv, comparison_pool.csv, offences.csv to the data")


def test_area_protocol_needs_area_counts_not_participants():
    from evalkit.protocol import data_problems, load_protocol

    p = load_protocol(ROOT / "protocols" / "vru_wide.yaml")
    assert data_problems(p, {"area_counts": _tables()["offences"]}) == []
    (msg,) = data_problems(p, {})
    assert msg.startswith("the area_counts table, which designs[0] (area_trend) needs, is missing or empty")


# ----------------------------------------------------------------- report / run-all
def test_report_for_an_intervention_not_in_the_data_fails_cleanly(tmp_path):
    from report_fixture import write_fixture

    data = write_fixture(tmp_path / "data", n03=30, n08=12)
    protocol = tmp_path / "INT99.yaml"
    protocol.write_text((ROOT / "protocols" / "INT03.yaml").read_text(encoding="utf-8")
                        .replace("intervention_id: INT03", "intervention_id: INT99"), encoding="utf-8")
    out = tmp_path / "out"
    (line,) = _err(_run("report", protocol, "--data", data, "--out", out))
    assert line.startswith("error: INT99: the report failed: ") and "intervention_id INT99 is not in the " \
        "interventions table (it holds INT03, INT08). Fix: correct intervention_id in the protocol" in line
    assert not out.exists()


def test_report_usage_mistakes(tmp_path):
    protocol = ROOT / "protocols" / "INT01.yaml"
    res = _run("report", protocol, "--data", tmp_path / "nowhere", "--out", tmp_path / "o")
    assert res.exit_code == 2 and "Path" in res.output and "does not exist" in res.output
    (tmp_path / "afile").write_text("x")
    res = _run("report", protocol, "--data", tmp_path, "--out", tmp_path / "afile")
    assert res.exit_code == 2 and "is a file" in res.output and (tmp_path / "afile").read_text() == "x"


def test_run_all_on_an_empty_folder(tmp_path):
    (tmp_path / "protocols").mkdir()
    data = write_all(tmp_path / "data", ["interventions"])[0].parent
    (line,) = _err(_run("run-all", tmp_path / "protocols", "--data", data, "--out", tmp_path / "out"))
    assert line == f"error: {tmp_path / 'protocols'}: no protocol files (*.yaml) found."
    assert not (tmp_path / "out").exists()


def test_report_and_run_all_on_an_empty_data_folder(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "notes.txt").write_text("not data")
    for cmd in (("report", ROOT / "protocols" / "INT01.yaml"), ("run-all", ROOT / "protocols")):
        (line,) = _err(_run(*cmd, "--data", tmp_path / "data", "--out", tmp_path / "out"))
        assert line == (f"error: {tmp_path / 'data'}: the folder holds no data files (participants.csv, "
                        "offences.csv.gz, comparison_pool.parquet, ...). Fix: give the folder that holds them, or a "
                        "store made by `evalkit ingest`.")
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------- interruption
def _store_rows(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchall()[0][0] for n in sorted(names)}


@pytest.mark.parametrize("stop", [KeyboardInterrupt(), RuntimeError("Query interrupted!")])
def test_ingest_interrupted_while_writing_leaves_the_store_as_it_was(tmp_path, monkeypatch, stop):
    """Ctrl-C between two tables of one call (or DuckDB's own 'Query interrupted'): nothing of the call is kept."""
    import evalkit.data.store as store

    files = write_all(tmp_path / "in")
    db = tmp_path / "s.duckdb"
    assert _run("ingest", files[0], "--db", db).exit_code == 0
    before = _store_rows(db)
    real, calls = store._insert, []

    class Stopping:
        """The connection, except that the third table's INSERT is stopped."""

        def __init__(self, con):
            self.con = con

        def __getattr__(self, name):
            return getattr(self.con, name)

        def execute(self, sql, *args):
            if sql.startswith("INSERT") and len(calls) == 3:
                raise stop
            return self.con.execute(sql, *args)

    def flaky(con, table, frame):
        calls.append(table)
        return real(Stopping(con), table, frame)

    monkeypatch.setattr(store, "_insert", flaky)
    res = _run("ingest", *files[1:], "--db", db)
    assert res.exit_code == 130 and res.output.startswith("error: interrupted; nothing was half-written")
    assert "Traceback" not in res.output
    assert _store_rows(db) == before and not (tmp_path / "s.duckdb.wal").exists()
    monkeypatch.setattr(store, "_insert", real)
    assert _run("ingest", *files[1:], "--db", db).exit_code == 0  # and it can simply be run again


def test_ingest_interrupted_into_a_new_store_leaves_no_file(tmp_path, monkeypatch):
    import evalkit.data.store as store

    files = write_all(tmp_path / "in")

    def stop(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "_insert", stop)
    res = _run("ingest", *files, "--db", tmp_path / "new.duckdb")
    assert res.exit_code == 130 and not (tmp_path / "new.duckdb").exists()
    assert not (tmp_path / "new.duckdb.wal").exists()


def _big_pool(path: Path, n: int) -> Path:
    base = rows("comparison_pool")[0]
    recs = [dict(base, person_id=f"P{i:016x}") for i in range(n)]
    return write_csv(path, recs)


def _wait_until_loaded(proc: subprocess.Popen, library: str, timeout: float = 60.0) -> None:
    """Wait until the child has mapped ``library`` (it is then past Python's start-up, inside the command).

    A fixed delay is not enough: on a loaded machine start-up alone took over 1.4 s, and a signal before
    ``main()`` installs its handlers is Python's default KeyboardInterrupt (a traceback), not evalkit's.
    """
    maps = Path(f"/proc/{proc.pid}/maps")
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        try:
            if library in maps.read_text():
                return
        except OSError:
            return
        time.sleep(0.01)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc to see the child start")
@pytest.mark.parametrize("sig, delay", [(signal.SIGTERM, 0.0), (signal.SIGINT, 0.05), (signal.SIGINT, 0.4)])
def test_ingest_killed_mid_run_leaves_the_store_as_it_was(tmp_path, sig, delay):
    """A real process stopped by a signal: either it finished (all rows) or the store is exactly as before.

    The signal comes ``delay`` seconds after DuckDB starts loading: 0 and 0.05 s land inside DuckDB's own
    import (which once aborted the process), 0.4 s while the rows are read or written.
    """
    db = tmp_path / "s.duckdb"
    first = _interventions(tmp_path / "interventions.csv")
    assert _run("ingest", first, "--db", db).exit_code == 0
    before = _store_rows(db)
    big = _big_pool(tmp_path / "comparison_pool.csv", 60_000)
    proc = subprocess.Popen([sys.executable, "-m", "evalkit", "ingest", str(big), "--db", str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_until_loaded(proc, "duckdb")
    time.sleep(delay)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    after = _store_rows(db)
    if after.get("comparison_pool") == 60_000:  # finished before the signal (or it came during exit): all there
        # A signal after the commit but before the process ended may still report "interrupted" (130):
        # the store is complete either way, and running the ingest again adds nothing.
        assert proc.returncode in (0, -sig, 130), err
    else:
        assert proc.returncode == 130, err
        assert err.startswith(("error: terminated;", "error: interrupted;")) and "Traceback" not in err
        assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["comparison_pool.csv", "interventions.csv", "s.duckdb"]


def test_internal_bug_is_one_line_saying_so(tmp_path, monkeypatch):
    """A non-EvalkitError is a bug: one line saying so, the traceback saved to a file, exit 3 (not a raw dump)."""
    import evalkit.data.template as template

    def broken(path, **kw):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(template, "write_template", broken)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    res = _run("template", "--out", tmp_path / "t.xlsx", env={"EVALKIT_DEBUG": ""})
    assert res.exit_code == 3 and "Traceback" not in res.output
    (line,) = [ln for ln in res.output.splitlines() if ln]
    assert line.startswith("internal error: this is a bug in evalkit, not a problem with your input "
                           "(ZeroDivisionError: division by zero). The details are in ")
    (saved,) = tmp_path.glob("evalkit-bug-*.txt")
    text = saved.read_text()
    assert "command: evalkit" in text and "Traceback (most recent call last)" in text and "ZeroDivisionError" in text
    debug = _run("template", "--out", tmp_path / "t.xlsx", env={"EVALKIT_DEBUG": "1"})
    assert isinstance(debug.exception, ZeroDivisionError)  # developers get the real traceback


def test_report_interrupted_leaves_the_previous_report_and_no_staging(tmp_path):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) during a report."""
    from report_fixture import write_fixture

    data = write_fixture(tmp_path / "data", n03=40, n08=12)
    protocol = ROOT / "protocols" / "INT03.yaml"
    out = tmp_path / "out"
    (out / "INT03").mkdir(parents=True)
    (out / "INT03" / "INT03.html").write_text("previous report")
    proc = subprocess.Popen([sys.executable, "-m", "evalkit", "report", str(protocol), "--data", str(data),
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while not list(out.glob(".staging-*")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(1.0)  # the kernel is now running the notebook
    os.killpg(proc.pid, signal.SIGINT)
    out_text, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out_text, err)
    assert err.strip().splitlines() == ["error: interrupted; nothing was half-written (each output is complete or "
                                        "absent; a store keeps all of this command's rows or none). Run the command "
                                        "again to finish."]
    assert sorted(p.name for p in out.iterdir()) == ["INT03"]
    assert [p.name for p in (out / "INT03").iterdir()] == ["INT03.html"]
    assert (out / "INT03" / "INT03.html").read_text() == "previous report"


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc to see the workers start")
@pytest.mark.parametrize("when", ["workers starting", "reports rendering"])
def test_run_all_interrupted_stops_at_once_with_one_clean_line(tmp_path, when):
    """Ctrl-C (SIGINT to the process group, workers included) during `run-all`: exit 130 with the one clean
    line (no worker's KeyboardInterrupt traceback while it imports, no asyncio CancelledError), no staging folder,
    and the queued reports are not rendered first (leaving the pool used to wait for every one of them)."""
    from report_fixture import write_fixture

    data = write_fixture(tmp_path / "data", n03=40, n08=12)
    protocols = tmp_path / "protocols"
    protocols.mkdir()
    text = (ROOT / "protocols" / "INT08.yaml").read_text(encoding="utf-8")
    copies = 16
    # 16 copies of INT08 under ids of their own (run-all refuses two protocols of one intervention)
    for name in ("interventions", "participants", "measurements"):
        frame = pd.read_csv(data / f"{name}.csv", dtype=str, keep_default_na=False)
        own = frame[frame["intervention_id"] == "INT08"]
        copied = [own.assign(intervention_id=f"P{i:02d}") for i in range(copies)]
        pd.concat([frame, *copied]).to_csv(data / f"{name}.csv", index=False)
    for i in range(copies):
        (protocols / f"P{i:02d}.yaml").write_text(text.replace("intervention_id: INT08", f"intervention_id: P{i:02d}"),
                                                  encoding="utf-8")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "evalkit", "run-all", str(protocols), "--data", str(data),
                             "--out", str(out), "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    if when == "workers starting":  # the workers exist and are importing the report stack
        while len(_children(proc.pid)) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
    else:  # a report is being rendered in a worker's kernel
        while not list(out.glob(".staging-*")) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(1.0)
    signalled = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=180)
    stopped_in = time.monotonic() - signalled
    lines = [ln for ln in err.splitlines() if ln.strip()]
    progress = [ln for ln in lines if re.fullmatch(rf"report \d+ of {copies}: P\d\d ok", ln)]
    assert proc.returncode == 130, err
    assert [ln for ln in lines if ln not in progress] == [
        "error: interrupted; nothing was half-written (each output is complete or absent; a store keeps all of this "
        "command's rows or none). Run the command again to finish."], err
    assert len(progress) < copies - 2 and stopped_in < 30, (len(progress), stopped_in)
    assert not list(out.glob(".staging-*")) and not list(out.glob(".old-*"))


# ----------------------------------------------------------------- files in disguise
def test_workbook_or_pdf_renamed_csv(tmp_path):
    src = _workbook(tmp_path / "return.xlsx", "interventions", MINIMAL["interventions"])
    disguised = tmp_path / "interventions.csv"
    disguised.write_bytes(src.read_bytes())
    (line,) = _err(_run("validate", disguised))
    assert line.startswith("error: interventions.csv: this is an Excel workbook (or another zip file), not a CSV file "
                           "(only its name ends in .csv). Fix: give it its real name ending in .xlsx")
    disguised.write_bytes(b"%PDF-1.7\n...")
    (line,) = _err(_run("validate", disguised))
    assert "this is a PDF document, not a CSV file" in line


def test_excel_day_number_in_a_date_column(tmp_path):
    (line,) = _err(_run("validate", _interventions(tmp_path / "interventions.csv", start_date="44286")))
    assert "value '44286' in start_date is not a date; it looks like Excel's number for a date" in line


def test_a_csv_given_where_a_store_is_expected(tmp_path):
    from evalkit.data.load import load_tables
    from evalkit.errors import EvalkitError

    path = _interventions(tmp_path / "interventions.csv")
    (line,) = _err(_run("summary", "--db", path))
    assert line == (f"error: {path}: is not a DuckDB store. Fix: give the store made by `evalkit ingest`, or a new "
                    "file name (e.g. store.duckdb) to start one.")
    (line,) = _err(_run("ingest", path, "--db", path))
    assert "is not a DuckDB store" in line and path.read_text().startswith("intervention_id,")
    with pytest.raises(EvalkitError, match="is neither a DuckDB store nor a folder of data files. Fix: give the"):
        load_tables(path)


def test_title_rows_above_the_column_names(tmp_path):
    recs = MINIMAL["interventions"]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "interventions"
    ws.append(["Q1 2021 return from Northgate"])
    ws.append([])
    ws.append(list(recs[0]))
    for r in recs:
        ws.append(list(r.values()))
    wb.save(tmp_path / "return.xlsx")
    (line,) = _err(_run("validate", tmp_path / "return.xlsx"))
    assert line == ("error: return.xlsx, sheet 'interventions', row 3: the column names are in row 3, not row 1 (row 1 "
                    "holds 'Q1 2021 return from Northgate'). Fix: delete the 2 row(s) above the column names, so "
                    "that they are row 1.")
    path = write_csv(tmp_path / "interventions.csv", recs)
    path.write_text("Q1 2021 return,,\n" + path.read_text())
    (line,) = _err(_run("validate", path))
    assert line.startswith("error: interventions.csv, row 2: the column names are in row 2, not row 1")


def test_unclosed_quote_names_its_row(tmp_path):
    path = write_csv(tmp_path / "interventions.csv", MINIMAL["interventions"] * 3)
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace("Custody Navigators", '"Custody Navigators', 1)
    path.write_text("\n".join(lines) + "\n")
    (line,) = _err(_run("validate", path))
    assert line == ("error: interventions.csv, row 4: a quote mark (\") opens a cell here and is never closed, so "
                    "every row after it is read as part of that one cell. Fix: remove the stray quote mark, or close "
                    "it.")


def test_validate_protocol_against_data(tmp_path):
    """`evalkit validate PROTOCOL --data SRC`: the wrong intervention or period is found before any report runs."""
    from report_fixture import write_fixture

    data = write_fixture(tmp_path / "data", n03=20, n08=12)
    text = (ROOT / "protocols" / "INT03.yaml").read_text(encoding="utf-8")
    other = tmp_path / "INT99.yaml"
    other.write_text(text.replace("intervention_id: INT03", "intervention_id: INT99"), encoding="utf-8")
    later = tmp_path / "INT03_2023.yaml"
    later.write_text(re.sub(r"start_from: \S+", "start_from: 2023-04-01",
                            re.sub(r"start_to: \S+", "start_to: 2024-03-31", text)), encoding="utf-8")
    res = _run("validate", ROOT / "protocols" / "INT03.yaml", other, later, "--data", data)
    lines = _err(res)
    line_of = {k: text.splitlines().index(next(ln for ln in text.splitlines() if ln.startswith(k))) + 1
               for k in ("intervention_id:", "  start_from:", "designs:")}
    # the fixture has no comparison pool: the matched design could not run, and validate says so before
    # the report would print "could not be estimated" to the commissioner
    protocol = ROOT / "protocols" / "INT03.yaml"
    assert lines[0] == (
        f"error: {protocol}, line {line_of['designs:'] + 1}, field 'designs': against {data}: designs[1] (matched) "
        "needs the comparison_pool table, which is missing or empty, so its outcomes cannot be estimated. Fix: add "
        "comparison_pool.csv to the data folder (or `evalkit ingest` it into the store), or remove the design from "
        "the protocol.")
    assert lines[1:] == [
        f"error: {other}, line {line_of['intervention_id:']}, field 'intervention_id': against {data}: intervention_id "
        "INT99 is not in the interventions table (it holds INT03, INT08). Fix: correct intervention_id in the "
        "protocol, "
        "or point --data at the data for this intervention.",
        f"error: {later}, line {line_of['  start_from:']}, field 'population.start_from': against {data}: none of "
        "INT03's participants in the data started inside the protocol's population window. Fix: check population "
        "start_from and start_to in the protocol, or point --data at the data for that period."]


def test_two_returns_with_the_same_name_are_told_apart(tmp_path):
    (tmp_path / "providerA").mkdir()
    (tmp_path / "providerB").mkdir()
    good = _interventions(tmp_path / "providerA" / "interventions.csv")
    bad = _interventions(tmp_path / "providerB" / "interventions.csv", intervention_id="INT07", name="")
    res = _run("validate", good, bad)
    assert _err(res) == [f"error: {bad}, row 2, column 'name': name is required but empty. Fix: fill in name (Name "
                         "of the intervention.)"]
    assert f"ok: {good}" in res.output
    (line,) = _err(_run("ingest", good, bad, "--db", tmp_path / "s.duckdb"))
    assert line.startswith(f"error: {bad}, row 2, column 'name'") and not (tmp_path / "s.duckdb").exists()


def test_validate_a_folder_checks_what_is_in_it(tmp_path):
    folder = tmp_path / "returns"
    folder.mkdir()
    (folder / "INT01.yaml").write_text(re.sub(r"^subgroups: .*$", "subgroups: sex", INT01, flags=re.M))
    _interventions(folder / "interventions.csv")
    (folder / "notes.docx").write_bytes(b"PK\x03\x04")
    res = _run("validate", folder)
    (line,) = _err(res)
    assert re.match(rf"error: {re.escape(str(folder / 'INT01.yaml'))}, line \d+, field 'subgroups': must be a list "
                    r"\(got 'sex'\)\. Fix: write it as a list, e\.g\. \[sex\]\.$", line)
    assert f"ok: {folder / 'interventions.csv'}" in res.output and "notes.docx" not in res.output
    (tmp_path / "empty").mkdir()
    assert _err(_run("validate", tmp_path / "empty")) == [
        f"error: {tmp_path / 'empty'}: the folder holds no protocols (*.yaml) or data files. Fix: give the files to "
        "check, or the folder that holds them."]


def test_store_write_failure_is_one_line_and_stores_nothing(tmp_path, monkeypatch):
    """An I/O error from DuckDB while writing (disk full, say) is the machine's problem, not a bug."""
    import evalkit.data.store as store

    files = write_all(tmp_path / "in")
    db = tmp_path / "s.duckdb"
    assert _run("ingest", files[0], "--db", db).exit_code == 0
    before = _store_rows(db)

    def full(*a, **k):
        raise duckdb.IOException("Could not write file: No space left on device")

    monkeypatch.setattr(store, "_insert", full)
    (line,) = _err(_run("ingest", *files[1:], "--db", db))
    assert line == (f"error: {db}: the disk is full while writing it (or a file-size limit was reached); nothing of "
                    "this ingest was stored (the store is as it was). Fix: free disk space (or write to another "
                    "disk), then run the command again.")
    assert _store_rows(db) == before


def test_report_failing_on_a_bug_says_so(tmp_path, monkeypatch):
    """A report that dies on a programming error (not an EvalkitError) is called an internal error, exit 3."""
    import evalkit.run as run

    def failing(protocol, data_src, out_dir, *, pdf=False, notebook=None):
        raise run.EvalkitError("INT03: the report failed: TypeError: unsupported operand "
                               "(at evalkit/report/plots.py:55 in forest_plot)")

    monkeypatch.setattr(run, "run_report", failing)
    data = write_all(tmp_path / "data", ["interventions"])[0].parent
    res = _run("report", ROOT / "protocols" / "INT03.yaml", "--data", data, "--out", tmp_path / "out")
    assert res.exit_code == 3 and "Traceback" not in res.output
    assert res.output.startswith("internal error: INT03: the report failed: TypeError: unsupported operand (at "
                                 "evalkit/report/plots.py:55 in forest_plot) -- this is a fault in evalkit")
    assert not (tmp_path / "out").exists()

    def users(protocol, data_src, out_dir, *, pdf=False, notebook=None):
        raise run.EvalkitError("INT03: the report failed: data: INT03: no participants have intervention_id INT03.")

    monkeypatch.setattr(run, "run_report", users)
    res = _run("report", ROOT / "protocols" / "INT03.yaml", "--data", data, "--out", tmp_path / "out")
    assert res.exit_code == 2 and res.output.startswith("error: INT03: the report failed: data: INT03: no participants")


def test_pseudonymise_a_gzip_csv_keeps_it_gzip(tmp_path):
    import gzip

    plain = write_csv(tmp_path / "participants.csv", rows("participants"))
    zipped = tmp_path / "participants.csv.gz"
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    env = {"EVALKIT_PSEUDONYM_KEY": KEY}
    assert _run("pseudonymise", plain, "--out", tmp_path / "p.csv", env=env).exit_code == 0
    res = _run("pseudonymise", zipped, "--out", tmp_path / "p.csv.gz", env=env)
    assert res.exit_code == 0, res.output
    assert gzip.decompress((tmp_path / "p.csv.gz").read_bytes()) == (tmp_path / "p.csv").read_bytes()
    (line,) = _err(_run("pseudonymise", plain, "--out", tmp_path / "q.csv.gz", env=env))
    assert line.endswith(f"Fix: name the output with the same ending, e.g. --out {tmp_path / 'q.csv'}.")


def test_password_protected_workbook(tmp_path):
    path = tmp_path / "return.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))  # an OLE container, as Excel encrypts to
    (line,) = _err(_run("validate", path))
    assert line.startswith("error: return.xlsx: the workbook is password-protected (or is an old .xls file renamed "
                           ".xlsx). Fix: open it in Excel, remove the password")
