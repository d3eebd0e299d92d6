"""DuckDB store: all-or-nothing ingest, idempotency, atomicity, provenance, loading."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from data_fixtures import MINIMAL, rows, write_all, write_csv

from evalkit.data import store
from evalkit.data.contract import PROVENANCE_COLUMNS, TABLES
from evalkit.data.load import load_tables
from evalkit.data.store import file_sha256, ingest_files, summarise_store
from evalkit.data.validate import read_valid
from evalkit.errors import DataError, MissingDataError


def _counts(db) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in TABLES}
    finally:
        con.close()


@pytest.fixture
def files(tmp_path):
    return write_all(tmp_path / "in")


def test_ingest_then_again_adds_nothing(tmp_path, files):
    db = tmp_path / "store.duckdb"
    first = ingest_files(files, db)
    assert first.n_added == len(files) and first.n_skipped == 0
    assert first.rows_added == {t: 2 for t in TABLES}
    before = _counts(db)
    second = ingest_files(files, db)
    assert second.n_added == 0 and second.n_skipped == len(files)
    assert "skipped" in str(second) and "already in the store" in str(second)
    assert _counts(db) == before == {t: 2 for t in TABLES}


def test_provenance_columns(tmp_path, files):
    db = tmp_path / "store.duckdb"
    ingest_files(files, db)
    con = duckdb.connect(str(db), read_only=True)
    got = con.execute('SELECT person_id, _source_file, _source_sheet, _source_row, _file_sha256, _ingested_at '
                      'FROM contacts ORDER BY _source_row').fetchall()
    con.close()
    sha = file_sha256(tmp_path / "in" / "contacts.csv")
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in got] == [
        ("P0000000000000001", "contacts.csv", None, 2, sha), ("P0000000000000002", "contacts.csv", None, 3, sha)]
    assert all(r[5] is not None for r in got)


def test_bad_file_rejects_whole_call_store_untouched(tmp_path, files):
    db = tmp_path / "store.duckdb"
    ingest_files(files[:1], db)  # interventions
    before = _counts(db)
    (tmp_path / "bad").mkdir()
    bad = write_csv(tmp_path / "bad" / "contacts.csv", rows("contacts", contact_type="chat"))
    with pytest.raises(DataError) as info:
        ingest_files([files[1], bad], db)  # participants is fine, contacts is not
    assert info.value.problems[0].row == 2 and info.value.problems[0].column == "contact_type"
    assert _counts(db) == before


def test_rejected_first_ingest_creates_no_store(tmp_path):
    (tmp_path / "x").mkdir()
    bad = write_csv(tmp_path / "x" / "contacts.csv", rows("contacts", attended="perhaps"))
    with pytest.raises(DataError):
        ingest_files([bad], tmp_path / "new.duckdb")
    assert not (tmp_path / "new.duckdb").exists()


def test_failure_midway_rolls_back(tmp_path, files, monkeypatch):
    db = tmp_path / "store.duckdb"
    ingest_files(files[:1], db)
    before = _counts(db)
    real = store._insert
    calls = []

    def flaky(con, table, frame):
        calls.append(table)
        if len(calls) == 2:
            raise RuntimeError("disk full (simulated)")
        real(con, table, frame)

    monkeypatch.setattr(store, "_insert", flaky)
    with pytest.raises(RuntimeError, match="simulated"):
        ingest_files(files[1:], db)
    assert len(calls) == 2  # the first table really was inserted before the failure
    assert _counts(db) == before
    monkeypatch.setattr(store, "_insert", real)
    report = ingest_files(files[1:], db)  # nothing recorded as ingested, so all go in now
    assert report.n_added == len(files) - 1


def test_failed_first_ingest_leaves_no_file(tmp_path, files, monkeypatch):
    def boom(con, table, frame):
        raise RuntimeError("simulated")

    monkeypatch.setattr(store, "_insert", boom)
    with pytest.raises(RuntimeError):
        ingest_files(files, tmp_path / "s.duckdb")
    assert not (tmp_path / "s.duckdb").exists()


def test_key_already_in_store(tmp_path, files):
    db = tmp_path / "store.duckdb"
    ingest_files(files[:2], db)  # interventions, participants
    (tmp_path / "q2").mkdir()
    again = write_csv(tmp_path / "q2" / "participants_q2.csv", rows("participants", sex="female"))
    with pytest.raises(DataError) as info:
        ingest_files([again], db)
    p, q = info.value.problems  # both rows were stored before
    assert p.row == 2 and "already in the store (participants.csv, row 2)" in p.message
    assert q.row == 3 and "already in the store (participants.csv, row 3)" in q.message


def test_references_checked_against_store(tmp_path, files):
    db = tmp_path / "store.duckdb"
    ingest_files(files[:2], db)
    (tmp_path / "c").mkdir()
    bad = write_csv(tmp_path / "c" / "contacts.csv", rows("contacts", person_id="P9999999999999999"))
    with pytest.raises(DataError) as info:
        ingest_files([bad], db)
    assert "is not in the participants table" in info.value.problems[0].message
    ok = write_csv(tmp_path / "c" / "contacts_ok.csv", MINIMAL["contacts"])
    assert ingest_files([ok], db).rows_added == {"contacts": 2}


def test_summary_counts_only(tmp_path, files):
    db = tmp_path / "store.duckdb"
    ingest_files(files, db)
    text = summarise_store(db)
    assert "participants" in text and "start_date 2020-05-02 to 2020-06-01" in text
    assert "11 source file(s)" in text
    assert "P0000000000000001" not in text  # no row-level data


def test_load_tables_store_equals_folder_equals_read_valid(tmp_path, files):
    db = tmp_path / "store.duckdb"
    ingest_files(files, db)
    from_store = load_tables(db)
    from_folder = load_tables(tmp_path / "in")
    assert set(from_store) == set(from_folder) == set(TABLES)
    for t in TABLES:
        expected = read_valid(tmp_path / "in" / f"{t}.csv")[t]
        pd.testing.assert_frame_equal(from_store[t], expected, check_exact=True)
        pd.testing.assert_frame_equal(from_folder[t], expected, check_exact=True)
        assert not set(PROVENANCE_COLUMNS) & set(from_store[t].columns)


def test_load_tables_selection_and_missing(tmp_path, files):
    got = load_tables(tmp_path / "in", tables=["participants"])
    assert list(got) == ["participants"]
    with pytest.raises(MissingDataError, match="no contacts.csv"):
        load_tables(tmp_path / "in" / "..", tables=["contacts"])


def test_load_folder_bad_file_names_row(tmp_path):
    (tmp_path / "d").mkdir()
    write_csv(tmp_path / "d" / "contacts.csv", rows("contacts", contact_date="09/13/2020"))
    with pytest.raises(DataError) as info:
        load_tables(tmp_path / "d")
    p = info.value.problems[0]
    assert (p.file, p.row, p.column) == ("contacts.csv", 2, "contact_date")
    write_csv(tmp_path / "d" / "contacts.csv", rows("contacts", contact_type="chat"))  # parses, breaks schema
    with pytest.raises(DataError, match="not an allowed contact_type"):
        load_tables(tmp_path / "d")


def test_load_derives_fields(tmp_path, files):
    t = load_tables(tmp_path / "in", tables="participants")["participants"]
    assert t.loc[0, "age_at_start"] == 15 and t.loc[0, "ethnicity_group"] == "white"
    assert pd.isna(t.loc[1, "ethnicity_group"]) and t.loc[1, "age_at_start"] == 14


def test_same_key_in_two_files_of_one_call(tmp_path, files):
    (tmp_path / "q").mkdir()
    other = write_csv(tmp_path / "q" / "participants_late.csv", rows("participants", sex="female")[:1])
    with pytest.raises(DataError) as info:
        ingest_files([files[0], files[1], other], tmp_path / "s.duckdb")
    (p,) = info.value.problems
    assert (p.file, p.row) == ("participants_late.csv", 2) and "already in participants.csv: row 2" in p.message
    assert not (tmp_path / "s.duckdb").exists()
