"""Pseudonymisation: HMAC-SHA256 against RFC 4231 and Python's hmac; atomic output."""

from __future__ import annotations

import errno

import csv
import hashlib
import hmac

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from data_fixtures import MINIMAL, write_csv

from evalkit.data import privacy
from evalkit.data.privacy import KEY_ENV_VAR, load_key, pseudonym, pseudonymise_file, pseudonymise_series
from evalkit.errors import EvalkitError

KEY = b"a-test-key-of-32-bytes-length!!!"


def test_rfc4231_test_vectors():
    # RFC 4231 section 4.2 (test case 1) and 4.3 (test case 2), HMAC-SHA-256, published values
    assert pseudonym("Hi There", b"\x0b" * 20) == (
        "P" + "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"[:16])
    assert pseudonym("what do ya want for nothing?", b"Jefe") == (
        "P" + "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"[:16])


def test_series_matches_python_hmac():
    ids = pd.Series(["NHS 943 476 5919", " 123 ", None, "", 123])
    got = pseudonymise_series(ids, key=KEY)

    def ref(text: str) -> str:
        return "P" + hmac.new(KEY, text.encode(), hashlib.sha256).hexdigest()[:16]

    assert got[0] == ref("NHS 943 476 5919")
    assert got[1] == ref("123") == got[4]  # surrounding spaces ignored; number hashed as its text
    assert got[2] is None and got[3] == ""
    assert got.str.len().dropna().tolist()[:2] == [17, 17]


def test_key_sources(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV_VAR, raising=False)
    with pytest.raises(EvalkitError, match="no pseudonymisation key"):
        load_key()
    monkeypatch.setenv(KEY_ENV_VAR, "short")
    with pytest.raises(EvalkitError, match="at least 16"):
        load_key()
    monkeypatch.setenv(KEY_ENV_VAR, KEY.decode())
    assert load_key() == KEY
    kf = tmp_path / "key.txt"
    kf.write_bytes(b"another-secret-key-0123456789\n")
    assert load_key(kf) == b"another-secret-key-0123456789"  # file wins, newline dropped


def test_csv_same_id_same_pseudonym_across_files(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV_VAR, KEY.decode())
    a = write_csv(tmp_path / "participants.csv", MINIMAL["participants"])
    b = write_csv(tmp_path / "contacts.csv", MINIMAL["contacts"])
    msg = pseudonymise_file(a, tmp_path / "out" / "participants.csv")
    assert "2 value(s) (2 distinct)" in msg and KEY.decode() not in msg
    pseudonymise_file(b, tmp_path / "out" / "contacts.csv")
    pa_ = list(csv.DictReader(open(tmp_path / "out" / "participants.csv")))
    pc = list(csv.DictReader(open(tmp_path / "out" / "contacts.csv")))
    assert pa_[0]["person_id"] == pc[0]["person_id"] == pseudonym("P0000000000000001", KEY)
    # every other cell unchanged
    orig = list(csv.DictReader(open(a)))
    assert [{k: v for k, v in r.items() if k != "person_id"} for r in pa_] == \
        [{k: v for k, v in r.items() if k != "person_id"} for r in orig]
    assert KEY not in (tmp_path / "out" / "participants.csv").read_bytes()


def test_xlsx_and_parquet(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV_VAR, KEY.decode())
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "contacts"
    ws.append(list(MINIMAL["contacts"][0]))
    ws.append([12345] + list(MINIMAL["contacts"][0].values())[1:])
    wb.save(tmp_path / "r.xlsx")
    pseudonymise_file(tmp_path / "r.xlsx", tmp_path / "r2.xlsx")
    assert openpyxl.load_workbook(tmp_path / "r2.xlsx")["contacts"]["A2"].value == pseudonym("12345", KEY)
    df = pd.DataFrame(MINIMAL["contacts"])
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "contacts.parquet")
    pseudonymise_file(tmp_path / "contacts.parquet", tmp_path / "c2.parquet")
    out = pq.read_table(tmp_path / "c2.parquet").to_pandas()
    assert out["person_id"].tolist() == [pseudonym(v, KEY) for v in df["person_id"]]
    pd.testing.assert_frame_equal(out.drop(columns="person_id"), df.drop(columns="person_id"))


def test_no_half_written_output(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV_VAR, KEY.decode())
    src = write_csv(tmp_path / "participants.csv", MINIMAL["participants"])
    out = tmp_path / "out.csv"
    out.write_text("previous good output")

    def broken_writer(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(privacy.csv, "writer", broken_writer)
    with pytest.raises(EvalkitError, match="out.csv: the disk is full while writing it"):
        pseudonymise_file(src, out)
    assert out.read_text() == "previous good output"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # temp file removed


def test_missing_column(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV_VAR, KEY.decode())
    src = write_csv(tmp_path / "area_counts.csv", MINIMAL["area_counts"])
    with pytest.raises(EvalkitError, match="no column named person_id"):
        pseudonymise_file(src, tmp_path / "o.csv")
