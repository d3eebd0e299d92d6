"""Issue 21: damaged stores, full disks, spreadsheet formulas, archive bombs, ambiguous protocols, degenerate
matching input, noisy validation. Each class: exit 2, one plain line naming the file, no traceback, nothing
half-written (see docs/errors.md)."""

from __future__ import annotations

import errno
import gzip
import os
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from data_fixtures import MINIMAL, write_all, write_csv

from evalkit.cli import cli
from evalkit.data.privacy import KEY_ENV_VAR
from evalkit.errors import EvalkitError

ROOT = Path(__file__).resolve().parents[1]
KEY = "k" * 32


def _run(*args, env: dict | None = None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def _err(res) -> list[str]:
    assert "Traceback" not in res.output, res.output
    return [ln for ln in res.output.splitlines() if ln.startswith(("error:", "internal error"))]


def _cli(args: list, *, cwd: Path, fsize: int | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real console entry point in a child process, optionally with a file-size limit (``ulimit -f``):
    a write past it fails with EFBIG, as on a full disk (Python ignores SIGXFSZ)."""
    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    code = "import sys; from evalkit.cli import main; sys.argv = ['evalkit', *sys.argv[1:]]; main()"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          preexec_fn=limit, timeout=300, env={**os.environ, **(env or {})})


def _no_temp_files(folder: Path) -> None:
    assert [p.name for p in folder.iterdir() if p.name.startswith(".") or p.name.endswith((".part", ".tmp"))] == []


def _pool(path: Path, n: int = 120, **override) -> Path:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"person_id": [f"P{i:04d}" for i in range(n)], "treated": (np.arange(n) < n // 3).astype(int),
                          "age": rng.integers(12, 19, n), "risk": rng.random(n).round(3),
                          "area": rng.choice(["North", "South"], n)})
    for col, values in override.items():
        frame[col] = values
    frame.to_csv(path, index=False)
    return path


# ============================================================== 1. full disk, read-only folder, damaged store
WRITERS = {
    "template": lambda d: ["template", "--out", d / "out" / "return.xlsx"],
    "ingest": lambda d: ["ingest", ROOT / "synthetic_data" / "interventions.csv.gz",
                         ROOT / "synthetic_data" / "participants.csv.gz", "--db", d / "out" / "s.duckdb"],
    "match --out": lambda d: ["match", _pool(d / "pool.csv", n=6000), "--treatment", "treated", "--id", "person_id",
                              "--covariates", "age,risk", "--out", d / "out" / "m.csv"],
    "match --balance": lambda d: ["match", _pool(d / "pool.csv"), "--treatment", "treated", "--id", "person_id",
                                  "--covariates", "age,risk,area", "--out", d / "m.csv", "--balance",
                                  d / "out" / "b.csv"],
    "pseudonymise": lambda d: ["pseudonymise", write_csv(d / "participants.csv", MINIMAL["participants"] * 200),
                               "--out", d / "out" / "p.csv"],
    "synth": lambda d: ["synth", "--out", d / "out" / "data"],
}


@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_full_disk_is_one_line_naming_the_file_and_nothing_is_left(writer, tmp_path):
    args = WRITERS[writer](tmp_path)
    (tmp_path / "out").mkdir(exist_ok=True)
    proc = _cli(args, cwd=tmp_path, fsize=512 if writer == "match --balance" else 16 * 1024, env={KEY_ENV_VAR: KEY})
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
    assert lines[0].startswith("error: ") and "the disk is full while writing" in lines[0], lines[0]
    assert str(tmp_path / "out") in lines[0]
    assert list((tmp_path / "out").iterdir()) == []  # the half-made file (or store, or folder) removed


@pytest.mark.parametrize("writer", ["template", "pseudonymise", "match --out"])
def test_a_read_only_folder_or_a_vanishing_one_keeps_the_previous_output(writer, tmp_path, monkeypatch):
    import evalkit.io_safe as io_safe

    monkeypatch.setenv(KEY_ENV_VAR, KEY)
    args = WRITERS[writer](tmp_path)
    target = Path(args[args.index("--out") + 1])
    target.parent.mkdir(exist_ok=True)
    target.write_text("previous output")

    def read_only(src, dst):
        raise OSError(errno.EROFS, "Read-only file system", str(dst))

    monkeypatch.setattr(io_safe.os, "replace", read_only)
    (line,) = _err(_run(*args))
    assert line == (f"error: {target}: the folder is on a read-only disk; nothing was written. Fix: write to another "
                    "folder.")
    assert target.read_text() == "previous output"
    _no_temp_files(target.parent)

    def vanished(src, dst):  # the folder was removed (or replaced) while the file was written
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(dst))

    monkeypatch.setattr(io_safe.os, "replace", vanished)
    (line,) = _err(_run(*args))
    assert "the folder disappeared or is not a folder while writing" in line


def test_report_pages_and_status_files_go_through_the_guarded_path(tmp_path, monkeypatch):
    import evalkit.io_safe as io_safe
    from evalkit.run import ReportStatus, write_index

    (tmp_path / "index.html").write_text("old index")
    monkeypatch.setattr(io_safe, "_fsync_file", lambda p: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space")))
    with pytest.raises(EvalkitError, match=r"index.html: the disk is full while writing it"):
        write_index(tmp_path, [ReportStatus("INT01", "t", "ok", 1.0, html="INT01/INT01.html")], None, seconds=1)
    assert (tmp_path / "index.html").read_text() == "old index"
    _no_temp_files(tmp_path)


def test_a_report_kernel_that_meets_a_full_disk_is_the_users_problem_not_a_bug():
    from evalkit.run import _error_text

    class CellError(Exception):
        ename, evalue = "OSError", "[Errno 28] No space left on device: '/data/out/.staging-x/findings.json'"

    assert _error_text(CellError()).startswith("the report folder: the disk is full while writing it")


def _store(tmp_path: Path) -> Path:
    db = tmp_path / "s.duckdb"
    assert _run("ingest", *write_all(tmp_path / "in"), "--db", db).exit_code == 0
    return db


def _damaged(tmp_path: Path, how: str) -> Path:
    good = _store(tmp_path)
    bad = tmp_path / f"{how}.duckdb"
    data = good.read_bytes()
    if how == "truncated":
        bad.write_bytes(data[:20000])
    elif how == "corrupted":
        raw = bytearray(data)
        for off in range(12288 + 100, len(raw) - 64, 4096):  # every data block fails its checksum
            raw[off:off + 64] = b"\xff" * 64
        bad.write_bytes(bytes(raw))
    elif how == "foreign":
        con = duckdb.connect(str(bad))
        con.execute("CREATE TABLE t (x INTEGER)")
        con.close()
    else:  # DuckDB's signature, then noise
        bad.write_bytes(data[:12] + os.urandom(300000))
    return bad


@pytest.mark.parametrize("how", ["truncated", "corrupted", "foreign", "noise"])
@pytest.mark.parametrize("command", ["summary", "report", "run-all", "ingest", "validate"])
def test_a_damaged_or_foreign_store_is_refused_in_one_line(how, command, tmp_path):
    bad = _damaged(tmp_path, how)
    args = {"summary": ["summary", "--db", bad],
            "report": ["report", ROOT / "protocols" / "INT01.yaml", "--data", bad, "--out", tmp_path / "r"],
            "run-all": ["run-all", ROOT / "protocols", "--data", bad, "--out", tmp_path / "r"],
            "ingest": ["ingest", tmp_path / "in" / "contacts.csv", "--db", bad],
            "validate": ["validate", ROOT / "protocols" / "INT01.yaml", "--data", bad]}[command]
    res = _run(*args)
    (line,) = _err(res)
    assert res.exit_code == 2
    assert line.startswith(f"error: {bad}: ") and ("is damaged or not an evalkit store" in line
                                                    or "is not a DuckDB store" in line), line
    assert not (tmp_path / "r").exists()


# ============================================================== 2. spreadsheet formulas
def test_formula_ids_are_refused_by_match_and_cells_neutralised_elsewhere(tmp_path, monkeypatch):
    ids = [f"P{i:04d}" for i in range(120)]
    ids[7] = "=HYPERLINK(\"http://x\",\"click\")"
    (line,) = _err(_run("match", _pool(tmp_path / "pool.csv", person_id=ids), "--treatment", "treated", "--id",
                        "person_id", "--covariates", "age,risk", "--out", tmp_path / "m.csv"))
    assert line.startswith(f"error: {tmp_path / 'pool.csv'}, row 9, column 'person_id': id '=HYPERLINK")
    assert "which a spreadsheet runs as a formula" in line and not (tmp_path / "m.csv").exists()
    # a balance table: covariate names and levels are the file's own text
    pool = pd.read_csv(_pool(tmp_path / "pool2.csv")).rename(columns={"risk": "=risk"})
    pool.to_csv(tmp_path / "pool2.csv", index=False)
    res = _run("match", tmp_path / "pool2.csv", "--treatment", "treated", "--id", "person_id",
               "--covariates", "age,=risk,area", "--out", tmp_path / "m.csv", "--balance", tmp_path / "b.csv")
    assert res.exit_code == 0, res.output
    text = (tmp_path / "b.csv").read_text()
    assert "\n'=risk," in text
    assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) or (cell.startswith("-") and not _number(cell))
                   for row in text.splitlines() for cell in row.split(","))
    # pseudonymise: other cells copied, formulas neutralised, negative numbers untouched
    monkeypatch.setenv(KEY_ENV_VAR, KEY)
    rec = dict(MINIMAL["participants"][0])
    rows = [dict(rec, referral_source="=cmd|' /C calc'!A0"), dict(rec, person_id="X2", prior_offences="-1"),
            dict(rec, person_id="X3", referral_source="+44 7700 900123")]
    src = write_csv(tmp_path / "participants.csv", rows)
    assert _run("pseudonymise", src, "--out", tmp_path / "p.csv").exit_code == 0
    out = pd.read_csv(tmp_path / "p.csv", dtype=str, keep_default_na=False)
    assert list(out["referral_source"])[0] == "'=cmd|' /C calc'!A0"
    assert list(out["referral_source"])[2] == "'+44 7700 900123"
    assert list(out["prior_offences"])[1] == "-1"


def _number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def test_neutralise_rules():
    from evalkit.io_safe import is_formula_like, neutralise_cell, neutralise_frame

    for bad in ("=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx", "-", "+44 7700"):
        assert is_formula_like(bad) and neutralise_cell(bad) == "'" + bad
    for ok in ("-3", "+3", "-0.5", "1e-3", "P001", "", "a=b"):
        assert neutralise_cell(ok) == ok
    frame = pd.DataFrame({"n": [-1, -2], "t": ["=x", "ok"]})
    out = neutralise_frame(frame)
    assert list(out["n"]) == [-1, -2] and list(out["t"]) == ["'=x", "ok"]


def test_xlsx_exports_keep_formula_text_as_text(tmp_path):
    from evalkit.io_safe import text_cells

    table = pd.DataFrame({"title": ["=HYPERLINK(\"http://x\")", "Mentoring"], "n": [-3, 4]})
    with pd.ExcelWriter(tmp_path / "e.xlsx", engine="openpyxl") as xl:  # as portfolio_decisions.xlsx is written
        table.to_excel(xl, index=False, sheet_name="Decisions")
        text_cells(xl.sheets["Decisions"])
    ws = openpyxl.load_workbook(tmp_path / "e.xlsx").active
    assert ws["A2"].data_type == "s" and ws["A2"].value == "=HYPERLINK(\"http://x\")" and ws["B2"].value == -3


def test_the_template_never_holds_a_formula_from_the_configuration(tmp_path):
    from evalkit.data.template import _no_formulas

    wb = openpyxl.Workbook()
    wb.active["A1"] = "=HYPERLINK(\"http://x\")"
    _no_formulas(wb)
    wb.save(tmp_path / "t.xlsx")
    cell = openpyxl.load_workbook(tmp_path / "t.xlsx").active["A1"]
    assert cell.data_type == "s" and cell.value == "=HYPERLINK(\"http://x\")"


# ============================================================== 3. archive bombs and empty workbooks
def _bomb(path: Path, mb: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("xl/worksheets/sheet1.xml", "w") as fh:
            chunk = b" " * (1 << 20)
            for _ in range(mb):
                fh.write(chunk)
    return path


def test_an_xlsx_bomb_is_refused_before_anything_is_unpacked(tmp_path, monkeypatch):
    from evalkit.data.readers import XLSX_MAX_ENTRIES, XLSX_MAX_MB

    bomb = _bomb(tmp_path / "interventions.xlsx", 150)
    assert bomb.stat().st_size < 1_000_000
    (line,) = _err(_run("validate", bomb))
    assert line.startswith("error: interventions.xlsx: part 'xl/worksheets/sheet1.xml' of the workbook would unpack "
                           "to 157 MB") and "archive bomb" in line
    (line,) = _err(_run("validate", _bomb(tmp_path / "big.xlsx", 300)))
    assert "the workbook would unpack to 315 MB, more than the limit of 200 MB" in line
    monkeypatch.setenv(KEY_ENV_VAR, KEY)
    (line,) = _err(_run("pseudonymise", bomb, "--out", tmp_path / "p.xlsx"))
    assert "archive bomb" in line and not (tmp_path / "p.xlsx").exists()
    # absolute size and number of parts, both configurable
    good = tmp_path / "return.xlsx"
    assert _run("template", "--out", good).exit_code == 0
    (line,) = _err(_run("validate", good, env={XLSX_MAX_MB: "0.01"}))
    assert "would unpack to" in line and "more than the limit of 0 MB" in line and XLSX_MAX_MB in line
    (line,) = _err(_run("validate", good, env={XLSX_MAX_ENTRIES: "3"}))
    assert "parts, more than the 3" in line


def test_a_workbook_with_nothing_in_it_is_an_error_as_an_empty_csv_is(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "participants"
    wb.create_sheet("Sheet2")
    wb.save(tmp_path / "return.xlsx")
    (line,) = _err(_run("validate", tmp_path / "return.xlsx"))
    assert line == ("error: return.xlsx: the workbook holds no data: every sheet is empty. Fix: fill in a sheet named "
                    "after its table (row 1: the column names), or send the workbook that holds the data.")


def test_a_sheet_padded_with_blank_rows_is_read_without_holding_them(tmp_path):
    from evalkit.data.readers import read_raw

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "interventions"
    cols = list(MINIMAL["interventions"][0])
    ws.append(cols)
    ws.append([MINIMAL["interventions"][0][c] for c in cols])
    ws.cell(row=200000, column=1, value=" ")  # Excel's used range far below the data
    wb.save(tmp_path / "r.xlsx")
    (raw,), problems = read_raw(tmp_path / "r.xlsx")
    assert problems == [] and list(raw.frame.index) == [2]


# ============================================================== 4. protocols: duplicate keys, limits, duplicate ids
def _protocol_text() -> str:
    return (ROOT / "protocols" / "INT01.yaml").read_text(encoding="utf-8")


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path):
    text = _protocol_text()
    lines = text.splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("title:"))
    lines.insert(at + 1, "title: A second title")
    path = tmp_path / "INT01.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (line,) = _err(_run("validate", path))
    assert line == (f"error: {path}, line {at + 2}: the key 'title' is given twice (lines {at + 1} and {at + 2}); YAML "
                    "would silently keep only the last. Fix: keep one of them: the file must say one thing (a "
                    "pre-registered plan above all).")
    res = _run("report", path, "--data", ROOT / "synthetic_data", "--out", tmp_path / "r")
    assert res.exit_code == 2 and "is given twice" in res.output


@pytest.mark.parametrize("text, words", [
    ("a: " + "[" * 5000 + "]" * 5000 + "\n", "is nested more than 64 levels deep"),
    ("".join(f"{' ' * (2 * i)}k{i}:\n" for i in range(300)) + " " * 600 + "x: 1\n", "is nested more than 64 levels"),
    ("a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh")), "expand to more than"),
    ("a: &a [*a]\n", "refers to the section that contains it"),
])
def test_deep_exploding_or_looping_yaml_is_a_plain_problem(tmp_path, text, words):
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    (line,) = _err(_run("validate", path))
    assert words in line and "internal error" not in line


def test_an_oversize_protocol_is_refused_before_parsing(tmp_path, monkeypatch):
    from evalkit.yaml_safe import MAX_KB_ENV

    path = tmp_path / "big.yaml"
    path.write_text(_protocol_text() + "# " + "x" * (2 << 20) + "\n", encoding="utf-8")
    (line,) = _err(_run("validate", path))
    assert "KB, more than the 1,024 KB a protocol or configuration needs" in line and MAX_KB_ENV in line
    monkeypatch.setenv(MAX_KB_ENV, "4096")
    assert _run("validate", path).exit_code == 0


def test_two_protocols_for_one_intervention_in_a_folder_are_refused_naming_both(tmp_path):
    folder = tmp_path / "protocols"
    folder.mkdir()
    (folder / "INT01.yaml").write_text(_protocol_text(), encoding="utf-8")
    (folder / "INT01_draft.yaml").write_text(_protocol_text(), encoding="utf-8")
    (line,) = _err(_run("validate", folder))
    assert line.startswith(f"error: {folder / 'INT01_draft.yaml'}, line 5, field 'intervention_id': intervention INT01 "
                           f"is already described by {folder / 'INT01.yaml'}, line 5")
    res = _run("run-all", folder, "--data", ROOT / "synthetic_data", "--out", tmp_path / "r")
    assert res.exit_code == 2 and "is already described by" in res.output and not (tmp_path / "r").exists()


# ============================================================== 5. degenerate matching input
@pytest.mark.parametrize("column, values, words", [
    ("risk", [""] * 120, "column 'risk': missing value (120 in this column: it is blank for everyone)"),
    ("risk", ["NA"] * 120, "column 'risk': missing value (120 in this column"),
    ("risk", [0.5] * 120, "Covariate 'risk' takes the same value for everyone"),
    ("area", ["North"] * 120, "takes the same value for everyone"),
    ("risk", [f"w{i}" for i in range(120)], "column 'risk'"),
])
def test_a_degenerate_covariate_is_a_located_error_not_a_crash(tmp_path, column, values, words):
    res = _run("match", _pool(tmp_path / "pool.csv", **{column: values}), "--treatment", "treated", "--id",
               "person_id", "--covariates", f"age,{column}", "--out", tmp_path / "m.csv")
    (line,) = _err(res)
    assert res.exit_code == 2 and words in line, line


# ============================================================== 6. validation: blanks, repeats, dates
def test_blank_spellings_are_blank_and_repeats_are_one_line(tmp_path):
    from evalkit.data.validate import validate_file

    base = MINIMAL["participants"][0]
    recs = [dict(base, person_id=f"Q{i:03d}", end_date=blank, ethnicity_detailed=blank)
            for i, blank in enumerate(["nan", "NaN", "NULL", "NA", "N/A", "", "#N/A"] * 40)]
    assert validate_file(write_csv(tmp_path / "participants.csv", recs)) == []
    recs = [dict(base, person_id=f"Q{i:03d}", start_date="nan") for i in range(327)]
    found = validate_file(write_csv(tmp_path / "participants.csv", recs))
    assert len(found) == 1 and found[0].rows == tuple(range(2, 329)), found
    assert str(found[0]).startswith("participants.csv, rows 2-328 (327 rows), column 'start_date': start_date is "
                                    "empty.")


def test_dates_are_iso_or_explicit_uk_day_first_never_guessed(tmp_path, monkeypatch):
    from evalkit.data.validate import read_valid, validate_file

    base = MINIMAL["participants"][0]
    uk = write_csv(tmp_path / "participants.csv", [dict(base, start_date="05/06/2020")])
    assert read_valid(uk)["participants"]["start_date"][0] == pd.Timestamp("2020-06-05")  # documented: day first
    mixed = write_csv(tmp_path / "participants.csv", [dict(base, start_date="05/06/2020"),
                                                      dict(base, person_id="Q2", start_date="06/25/2020")])
    found = [str(p) for p in validate_file(mixed)]
    assert any("row 2, column 'start_date': value '05/06/2020' in start_date is ambiguous: this column also holds "
               "month-first dates such as 06/25/2020" in p for p in found), found
    strict = tmp_path / "config.yaml"
    strict.write_text((ROOT / "evalkit" / "data" / "default_config.yaml").read_text(encoding="utf-8")
                      + "\nday_first_dates: false\n", encoding="utf-8")
    monkeypatch.setenv("EVALKIT_CONFIG", str(strict))
    uk = write_csv(tmp_path / "participants.csv", [dict(base, start_date="05/06/2020")])
    (problem,) = validate_file(uk)
    assert "value '05/06/2020' in start_date is not written YYYY-MM-DD" in str(problem)


# ============================================================== property tests: no input crashes evalkit
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_FAST = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@_FAST
@given(data=st.binary(max_size=3000), name=st.sampled_from(["participants.csv", "offences.csv.gz", "return.xlsx",
                                                          "contacts.parquet", "INT01.yaml", "config.yaml"]))
def test_arbitrary_bytes_never_crash_a_reader(tmp_path_factory, data, name):
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") and data[:1] == b"a" else data)
    args = (["--config", path, "validate"] if name == "config.yaml" else ["validate", path])
    before = os.environ.get("EVALKIT_CONFIG")
    try:
        res = _run(*args)
    finally:  # --config sets the variable for the process
        if before is None:
            os.environ.pop("EVALKIT_CONFIG", None)
        else:
            os.environ["EVALKIT_CONFIG"] = before
    assert res.exit_code in (0, 2), res.output
    assert "internal error" not in res.output and "Traceback" not in res.output, res.output


_yaml_text = st.recursive(
    st.one_of(st.text(st.characters(codec="utf-8"), max_size=20), st.integers(), st.floats(allow_nan=True),
              st.booleans(), st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20)


@_FAST
@given(value=_yaml_text, encoding=st.sampled_from(["utf-8", "utf-16", "latin-1", "utf-8-sig"]),
       splice=st.text(max_size=40))
def test_arbitrary_yaml_never_crashes_the_protocol_loader(tmp_path_factory, value, encoding, splice):
    import yaml

    from evalkit.protocol import validate_protocol_file

    text = _protocol_text()
    text = text[: len(text) // 2] + splice + text[len(text) // 2:] if splice else yaml.safe_dump(
        {"intervention_id": "X1", "designs": value}, allow_unicode=True)
    path = tmp_path_factory.mktemp("yaml") / "p.yaml"
    try:
        path.write_bytes(text.encode(encoding, "surrogatepass"))
    except UnicodeEncodeError:
        return
    validate_protocol_file(path)  # returns problems, never raises
    res = _run("validate", path)
    assert res.exit_code in (0, 2) and "internal error" not in res.output, res.output
