"""Gzip-compressed CSV (``.csv.gz``): read, validated, ingested and loaded exactly as the plain CSV.

The reference for every check is the same rows written as a plain ``.csv``
(itself covered by the other tests/test_data_*.py files); the compressed copy
is made with Python's :mod:`gzip`, independently of the synthetic-data writer.
The writer's own gzip output is checked for determinism against RFC 1952's
header layout (ID1 ID2 CM FLG MTIME[4] XFL OS).
"""

from __future__ import annotations

import gzip
import struct

import duckdb
import pandas as pd
import pytest

from evalkit.data.load import load_tables
from evalkit.data.readers import data_stem, data_suffix, is_table_file, read_raw
from evalkit.data.store import file_sha256, ingest_files
from evalkit.data.validate import read_valid, validate_file, validate_files
from evalkit.errors import DataError
from tests.data_fixtures import MINIMAL, rows
from tests.data_fixtures import write_csv as _write_csv


def write_csv(path, records):
    """Write records as a CSV, making its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return _write_csv(path, records)


def gzip_copy(path, dest=None):
    """``path`` compressed beside it (or to ``dest``) as ``<name>.gz``."""
    dest = dest or path.with_name(path.name + ".gz")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(gzip.compress(path.read_bytes()))
    return dest


@pytest.fixture
def pair(tmp_path):
    """The same participants rows as plain/participants.csv and gz/participants.csv.gz."""
    plain = write_csv(tmp_path / "plain" / "participants.csv", MINIMAL["participants"])
    return plain, gzip_copy(plain, tmp_path / "gz" / "participants.csv.gz")


@pytest.mark.parametrize("name, suffix, stem, is_table", [
    ("offences.csv.gz", ".csv.gz", "offences", True),
    ("Participants_2021Q1.CSV.GZ", ".csv.gz", "Participants_2021Q1", True),
    ("offences.csv", ".csv", "offences", True),
    ("truth.csv", ".csv", "truth", False),
    ("notes.txt.gz", ".gz", "notes.txt", False),
    (".csv.gz", ".gz", ".csv", False),
])
def test_file_type_and_table_from_name(name, suffix, stem, is_table):
    assert (data_suffix(name), data_stem(name), is_table_file(name)) == (suffix, stem, is_table)


def test_read_raw_same_as_plain(pair):
    plain, gz = pair
    (a,), pa_ = read_raw(plain)
    (b,), pb = read_raw(gz)
    assert pa_ == pb == [] and (a.table, b.table) == ("participants", "participants")
    assert b.file == "participants.csv.gz"
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.headers == b.headers


def test_validate_same_problems_as_plain(tmp_path):
    plain = write_csv(tmp_path / "contacts.csv", rows("contacts", contact_type="chat", attended="perhaps"))
    gz = gzip_copy(plain, tmp_path / "gz" / "contacts.csv.gz")
    a, b = validate_file(plain), validate_file(gz)
    assert len(a) == 2
    assert [(p.row, p.column, p.message) for p in a] == [(p.row, p.column, p.message) for p in b]
    assert {p.file for p in b} == {"contacts.csv.gz"}


def test_read_valid_same_as_plain_and_references_checked(tmp_path, pair):
    plain, gz = pair
    pd.testing.assert_frame_equal(read_valid(plain)["participants"], read_valid(gz)["participants"])
    # references across files: a .csv.gz participants file against an interventions file
    iv = write_csv(tmp_path / "gz" / "interventions.csv", MINIMAL["interventions"])
    assert validate_files([gzip_copy(iv), gz]) == []
    bad = gzip_copy(write_csv(tmp_path / "x" / "participants.csv", rows("participants", intervention_id="INT99")))
    problems = validate_files([iv, bad])
    assert problems and all(p.file == "participants.csv.gz" for p in problems)
    assert any("INT99" in p.message for p in problems)


def test_damaged_gzip_is_a_problem_not_a_crash(tmp_path, pair):
    _, gz = pair
    cut = tmp_path / "participants_cut.csv.gz"
    cut.write_bytes(gz.read_bytes()[:-12])           # truncated download
    (p,) = validate_file(cut)
    assert p.file == cut.name and "compressed file cannot be read" in p.message
    fake = tmp_path / "contacts.csv.gz"
    fake.write_text("person_id,intervention_id\n")    # a plain CSV misnamed .gz
    (p,) = validate_file(fake)
    assert "compressed file cannot be read" in p.message and "gzip" in p.fix


def test_ingest_same_rows_as_plain_and_hash_of_file_bytes(tmp_path, pair):
    plain, gz = pair
    iv = write_csv(tmp_path / "iv" / "interventions.csv", MINIMAL["interventions"])
    db_plain, db_gz = tmp_path / "plain.duckdb", tmp_path / "gz.duckdb"
    ingest_files([iv, plain], db_plain)
    report = ingest_files([iv, gz], db_gz)
    assert report.rows_added == {"interventions": 2, "participants": 2}
    pd.testing.assert_frame_equal(load_tables(db_plain)["participants"], load_tables(db_gz)["participants"])
    con = duckdb.connect(str(db_gz), read_only=True)
    got = con.execute("SELECT DISTINCT _source_file, _file_sha256 FROM participants").fetchall()
    con.close()
    assert got == [("participants.csv.gz", file_sha256(gz))]
    assert file_sha256(gz) != file_sha256(plain)       # the hash is of the bytes as given, not the CSV inside
    assert ingest_files([gz], db_gz).n_skipped == 1    # same compressed bytes: already in


def test_load_folder_same_as_plain(tmp_path):
    plain, gz = tmp_path / "plain", tmp_path / "gz"
    for t in ("interventions", "participants", "contacts", "offences"):
        gzip_copy(write_csv(plain / f"{t}.csv", MINIMAL[t]), gz / f"{t}.csv.gz")
    a, b = load_tables(plain), load_tables(gz)
    assert sorted(a) == sorted(b) == ["contacts", "interventions", "offences", "participants"]
    for t in a:
        pd.testing.assert_frame_equal(a[t], b[t])


def test_load_folder_refuses_two_forms_of_one_table(tmp_path, pair):
    plain, _ = pair
    gzip_copy(plain)                                   # plain/participants.csv and plain/participants.csv.gz
    with pytest.raises(DataError, match="participants.csv and participants.csv.gz"):
        load_tables(plain.parent)


def test_load_folder_bad_gz_cell_named_by_validator(tmp_path):
    gzip_copy(write_csv(tmp_path / "d" / "contacts.csv", rows("contacts", contact_date="09/13/2020")),
              tmp_path / "gz" / "contacts.csv.gz")
    with pytest.raises(DataError) as err:
        load_tables(tmp_path / "gz", tables=["contacts"])
    (p,) = err.value.problems
    assert (p.file, p.row, p.column) == ("contacts.csv.gz", 2, "contact_date")


# --- the synthetic-data writer's gzip bytes ------------------------------------------------------------------

def test_writer_gzip_is_deterministic_and_carries_no_time_or_name(monkeypatch):
    import time

    from evalkit.synth.writer import GZIP_LEVEL, file_bytes

    text = "person_id,intervention_id\n" + "".join(f"P{i:016d},INT01\n" for i in range(2000))
    first = file_bytes("participants.csv.gz", text)
    monkeypatch.setattr(time, "time", lambda: 1_900_000_000.0)   # a later clock must not change the bytes
    assert file_bytes("participants.csv.gz", text) == first
    id1, id2, cm, flg, mtime, xfl = struct.unpack("<BBBBIB", first[:9])
    assert (id1, id2, cm) == (0x1F, 0x8B, 8)            # gzip, deflate (RFC 1952 section 2.3)
    assert flg == 0 and mtime == 0                     # no FNAME/FCOMMENT/FEXTRA; MTIME zero
    assert GZIP_LEVEL == 9 and xfl == 2                # XFL 2: compressed at maximum level
    assert gzip.decompress(first).decode() == text
    assert file_bytes("truth.csv", text) == text.encode()  # only .gz names are compressed


def test_generate_twice_same_gz_bytes(tmp_path, monkeypatch):
    import evalkit.synth.generate as synthetic
    from evalkit.synth.world import simulate

    monkeypatch.setattr(synthetic, "simulate", lambda seed: simulate(
        seed, only=["INT08"], pool_sizes={"custody_no_referral": 30, "at_risk_list": 30}))
    a = synthetic.generate(seed=3, out=tmp_path / "a")
    synthetic.generate(seed=3, out=tmp_path / "b")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(f.file for f in a.files)
    assert [n for n in names if not n.endswith(".csv.gz")] == ["README.md", "truth.csv"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    frame = load_tables(tmp_path / "a", tables=["participants"])["participants"]
    assert len(frame) == next(f.rows for f in a.files if f.file == "participants.csv.gz") > 0
