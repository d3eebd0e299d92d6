"""Template workbook: sheets, notes, drop-downs; empty validates clean; filled round-trips."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest
from data_fixtures import MINIMAL, write_all

from evalkit.data.config import load_config
from evalkit.data.contract import PROVIDER_TABLES, TABLES
from evalkit.data.template import LISTS_SHEET, write_template
from evalkit.data.validate import read_valid, validate_file


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return write_template(tmp_path_factory.mktemp("tpl") / "return.xlsx")


def test_sheets_and_headers(template):
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames[:2] == ["Instructions", "Field guide"]
    assert wb.sheetnames[2:8] == list(PROVIDER_TABLES) == ["interventions", "participants", "contacts",
                                                          "measurements", "statuses", "onward_referrals"]
    assert set(wb.sheetnames) == {"Instructions", "Field guide", LISTS_SHEET, *TABLES}
    assert wb[LISTS_SHEET].sheet_state == "hidden"
    for t, spec in TABLES.items():
        ws = wb[t]
        assert [c.value for c in ws[1]] == spec.columns
        assert all(c.comment is not None and spec.field(c.value).meaning_for(load_config()) in c.comment.text
                   for c in ws[1])
    text = "\n".join(str(c.value) for row in wb["Instructions"].iter_rows() for c in row if c.value)
    assert "PSEUDONYMISED" in text and "YYYY-MM-DD" in text and "true or false" in text


def test_drop_downs_for_codes_and_booleans(template):
    cfg = load_config()
    wb = openpyxl.load_workbook(template)
    ws = wb["participants"]
    by_col = {}
    for dv in ws.data_validations.dataValidation:
        for rng in str(dv.sqref).split():
            by_col[rng.split(":")[0].rstrip("0123456789")] = dv
    header = {c.value: c.column_letter for c in ws[1]}
    sex = by_col[header["sex"]]
    assert sex.type == "list" and sex.formula1 == '"' + ",".join(cfg.sex) + '"'
    assert by_col[header["school_exclusion"]].formula1 == '"true,false"'
    assert by_col[header["start_date"]].type == "date"
    assert by_col[header["prior_offences"]].type == "whole"
    # the long ethnicity list lives on the hidden lists sheet
    eth = by_col[header["ethnicity_detailed"]].formula1
    assert eth.startswith(f"'{LISTS_SHEET}'!")
    col = eth.split("!")[1].split(":")[0].replace("$", "").rstrip("0123456789")
    listed = [c.value for c in wb[LISTS_SHEET][col][1:] if c.value is not None]
    assert listed == cfg.ethnicity_detailed


def test_empty_template_validates_clean(template):
    assert validate_file(template) == []
    assert read_valid(template) == {} or all(len(df) == 0 for df in read_valid(template).values())


def _typed_cell(kind: str, text: str):
    """Values as a person would type them into Excel."""
    if text == "":
        return None
    if kind == "date":
        return dt.datetime.fromisoformat(text)
    if kind in ("int", "float"):
        return float(text)
    if kind == "bool":
        return text == "true"
    return text


def test_filled_template_round_trips(template, tmp_path):
    wb = openpyxl.load_workbook(template)
    for t, records in MINIMAL.items():
        ws = wb[t]
        for r in records:
            ws.append([_typed_cell(f.kind, r[f.name]) for f in TABLES[t].fields])
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)
    assert validate_file(filled) == []
    got = read_valid(filled)
    write_all(tmp_path / "csv")
    for t in TABLES:
        pd.testing.assert_frame_equal(got[t], read_valid(tmp_path / "csv" / f"{t}.csv")[t])


def test_provider_only(tmp_path):
    p = write_template(tmp_path / "p.xlsx", tables=PROVIDER_TABLES)
    assert set(openpyxl.load_workbook(p).sheetnames) == {"Instructions", "Field guide", LISTS_SHEET,
                                                         *PROVIDER_TABLES}
