"""CLI data commands: one line per problem, non-zero exit, no traceback."""

from __future__ import annotations

from click.testing import CliRunner
from data_fixtures import rows, write_all, write_csv

from evalkit.cli import cli


def _run(*args, env=None):
    return CliRunner().invoke(cli, list(map(str, args)), env=env)


def test_validate_ok_and_bad(tmp_path):
    files = write_all(tmp_path / "in", ["interventions", "participants"])
    ok = _run("validate", *files)
    assert ok.exit_code == 0 and ok.output.count("ok: ") == 2
    bad = write_csv(tmp_path / "participants.csv", rows("participants", sex="Mle", start_date="2020-02-30"))
    res = _run("validate", bad)
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln]
    assert len(lines) == 2 and all(ln.startswith("error: participants.csv, row 2, column '") for ln in lines)
    assert "Traceback" not in res.output and res.exception is None or isinstance(res.exception, SystemExit)


def test_ingest_and_summary(tmp_path):
    files = write_all(tmp_path / "in")
    db = tmp_path / "s.duckdb"
    res = _run("ingest", *files, "--db", db)
    assert res.exit_code == 0, res.output
    assert "11 file(s) added (22 rows)" in res.output
    again = _run("ingest", *files, "--db", db)
    assert again.exit_code == 0 and "0 file(s) added" in again.output and "11 skipped" in again.output
    summary = _run("summary", "--db", db)
    assert summary.exit_code == 0 and "participants" in summary.output


def test_ingest_bad_file_lists_problems(tmp_path):
    bad = write_csv(tmp_path / "contacts.csv", rows("contacts", contact_type="chat", attended="perhaps"))
    res = _run("ingest", bad, "--db", tmp_path / "s.duckdb")
    assert res.exit_code == 2
    assert [ln.split(":")[0] for ln in res.output.splitlines()] == ["error", "error"]
    assert "Traceback" not in res.output and not (tmp_path / "s.duckdb").exists()


def test_template_and_pseudonymise(tmp_path):
    res = _run("template", "--out", tmp_path / "t.xlsx")
    assert res.exit_code == 0 and (tmp_path / "t.xlsx").exists()
    src = write_all(tmp_path / "in", ["participants"])[0]
    no_key = _run("pseudonymise", src, "--out", tmp_path / "p.csv", env={"EVALKIT_PSEUDONYM_KEY": ""})
    assert no_key.exit_code == 2 and no_key.output.startswith("error: no pseudonymisation key")
    with_key = _run("pseudonymise", src, "--out", tmp_path / "p.csv",
                    env={"EVALKIT_PSEUDONYM_KEY": "0123456789abcdef0123"})
    assert with_key.exit_code == 0 and "pseudonymised 2 value(s)" in with_key.output


def test_validate_checks_references_across_files(tmp_path):
    files = write_all(tmp_path / "in", ["interventions", "participants"])
    contacts = write_csv(tmp_path / "in" / "contacts.csv", rows("contacts", person_id="P9999999999999999"))
    res = _run("validate", *files, contacts)
    assert res.exit_code == 2
    assert "ok: " in res.output
    assert "error: contacts.csv, row 2, column 'intervention_id': person_id=P9999" in res.output
