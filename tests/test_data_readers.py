"""Readers: CSV, Excel and Parquet give the same raw text and row numbers."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from data_fixtures import MINIMAL, rows, write_csv

from evalkit.data.readers import read_raw, table_from_name
from evalkit.data.validate import read_valid, validate_file


def _xlsx(path, sheets: dict[str, list[list[object]]]):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, data in sheets.items():
        ws = wb.create_sheet(name)
        for r in data:
            ws.append(r)
    wb.save(path)
    return path


def test_table_from_name():
    assert table_from_name("participants") == "participants"
    assert table_from_name("Participants_2021Q1") == "participants"
    assert table_from_name("area counts") == "area_counts"
    assert table_from_name("participant") is None
    assert table_from_name("partners") is None


def test_csv_rows_numbered_as_seen_blank_rows_skipped(tmp_path):
    p = tmp_path / "contacts.csv"
    cols = list(MINIMAL["contacts"][0])
    lines = [",".join(cols), ",".join(MINIMAL["contacts"][0].values()), ",,,,,",
             ",".join(MINIMAL["contacts"][1].values())]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (raw,), problems = read_raw(p)
    assert problems == [] and raw.table == "contacts"
    assert list(raw.frame.index) == [2, 4]  # the blank row 3 is skipped, numbering kept
    assert raw.frame.loc[4, "contact_type"] == "group"


def test_csv_cp1252_and_bom(tmp_path):
    p = tmp_path / "interventions.csv"
    recs = rows("interventions", annual_cost="£210,000", name="Café Club")
    write_csv(p, recs)
    p.write_bytes(p.read_text(encoding="utf-8").encode("cp1252"))
    t = read_valid(p)["interventions"]
    assert t.loc[0, "annual_cost"] == 210000.0 and t.loc[0, "name"] == "Café Club"
    p.write_bytes(b"\xef\xbb\xbf" + p.read_text(encoding="cp1252").encode("utf-8"))
    assert validate_file(p) == []


def test_csv_ragged_row_reported(tmp_path):
    p = tmp_path / "contacts.csv"
    p.write_text("person_id,intervention_id,contact_date,contact_type,attended\nP1,INT01,2020-01-01,group,true,oops\n")
    (prob,) = validate_file(p)
    assert prob.row == 2 and "6 cells" in prob.message



def test_csv_cell_beyond_csv_field_limit_is_a_problem_not_a_crash(tmp_path):
    # Python's csv module raises csv.Error on a cell over 131,072 characters (usually a lost quote)
    p = tmp_path / "contacts.csv"
    p.write_text("person_id,intervention_id\n" + "x" * 200_000 + ",INT01\n")
    (prob,) = validate_file(p)
    assert prob.row is None and "not valid CSV" in prob.message and "field limit" in prob.message

def test_file_without_table_name(tmp_path):
    p = write_csv(tmp_path / "export.csv", MINIMAL["contacts"])
    (prob,) = validate_file(p)
    assert "cannot tell which table" in prob.message and "--table" in prob.fix
    assert validate_file(p, table="contacts") == []


def test_duplicate_header(tmp_path):
    p = tmp_path / "contacts.csv"
    p.write_text("person_id,Person ID,intervention_id\nP1,P1,INT01\n")
    (prob,) = validate_file(p)
    assert prob.row == 1 and "appears twice" in prob.message


def test_excel_workbook_several_sheets(tmp_path):
    cols = list(MINIMAL["contacts"][0])
    data = [cols] + [list(r.values()) for r in MINIMAL["contacts"]]
    # Excel cells typed natively: a date cell, a number, a boolean
    data[1][cols.index("contact_date")] = dt.datetime(2020, 5, 9)
    data[1][cols.index("duration_minutes")] = 60.0
    data[1][cols.index("attended")] = True
    icols = list(MINIMAL["interventions"][0])
    idata = [icols] + [list(r.values()) for r in MINIMAL["interventions"]]
    idata[1][icols.index("annual_cost")] = 210000
    p = _xlsx(tmp_path / "return.xlsx", {"Instructions": [["read me"]], "contacts": data, "Interventions": idata})
    raws, problems = read_raw(p)
    assert problems == []
    by = {r.table: r for r in raws}
    assert by["contacts"].sheet == "contacts" and by["contacts"].frame.loc[2, "contact_date"] == "2020-05-09"
    assert by["contacts"].frame.loc[2, "duration_minutes"] == "60"
    assert by["contacts"].frame.loc[2, "attended"] == "true"
    out = read_valid(p)
    assert set(out) == {"contacts", "interventions"}


def test_excel_problem_names_sheet_row_column(tmp_path):
    cols = list(MINIMAL["contacts"][0])
    data = [cols] + [list(r.values()) for r in MINIMAL["contacts"]]
    data[2][cols.index("contact_type")] = "Phone call"
    p = _xlsx(tmp_path / "return.xlsx", {"contacts": data})
    (prob,) = validate_file(p)
    assert (prob.file, prob.sheet, prob.row, prob.column) == ("return.xlsx", "contacts", 3, "contact_type")
    assert str(prob).startswith("return.xlsx, sheet 'contacts', row 3, column 'contact_type': value 'Phone call'")


def test_excel_unknown_sheet(tmp_path):
    p = _xlsx(tmp_path / "return.xlsx", {"contacts": [list(MINIMAL["contacts"][0])], "Partcipants": [["x"]]})
    (prob,) = validate_file(p)
    assert prob.sheet == "Partcipants" and "did you mean 'participants'?" in prob.message


def test_one_sheet_workbook_named_after_table(tmp_path):
    cols = list(MINIMAL["contacts"][0])
    p = _xlsx(tmp_path / "contacts.xlsx", {"Sheet1": [cols] + [list(r.values()) for r in MINIMAL["contacts"]]})
    assert validate_file(p) == []


def test_parquet_typed_columns(tmp_path):
    df = pd.DataFrame(MINIMAL["contacts"])
    df["contact_date"] = pd.to_datetime(df["contact_date"])
    df["duration_minutes"] = pd.to_numeric(df["duration_minutes"]).astype("Int64")
    df["attended"] = df["attended"] == "true"
    p = tmp_path / "contacts.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), p)
    (raw,), problems = read_raw(p)
    assert problems == [] and list(raw.frame.index) == [2, 3]
    assert raw.frame.loc[2, "contact_date"] == "2020-05-09" and raw.frame.loc[3, "duration_minutes"] == ""
    t = read_valid(p)["contacts"]
    assert t["attended"].tolist() == [True, False]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_same_result_whatever_the_format(tmp_path, suffix):
    df = pd.DataFrame(MINIMAL["participants"])
    p = tmp_path / f"participants{suffix}"
    if suffix == ".csv":
        df.to_csv(p, index=False)
    elif suffix == ".xlsx":
        _xlsx(p, {"participants": [list(df.columns)] + df.values.tolist()})
    else:
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), p)
    ref = read_valid(write_csv(tmp_path / "participants_ref.csv",
                               MINIMAL["participants"]))["participants"]
    pd.testing.assert_frame_equal(read_valid(p)["participants"], ref)


def test_unsupported_and_missing_file(tmp_path):
    (prob,) = validate_file(tmp_path / "nothing.csv")
    assert "does not exist" in prob.message
    odt = tmp_path / "participants.ods"
    odt.write_text("x")
    (prob,) = validate_file(odt)
    assert "not read" in prob.message


def test_csv_trailing_empty_cells_and_quoted_newline(tmp_path):
    p = tmp_path / "contacts.csv"
    p.write_text('person_id,intervention_id,contact_date,contact_type,attended\n'
                 'P1,INT01,2020-01-01,group,true,,\n\n'
                 'P1,INT01,2020-01-03,group,"tr\nue"\n')
    (raw,), problems = read_raw(p)
    assert problems == [] and list(raw.frame.index) == [2, 4]
    (prob,) = validate_file(p)
    assert prob.row == 4 and prob.column == "attended"
