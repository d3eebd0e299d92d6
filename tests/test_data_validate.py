"""Validation: every class of bad input gives a problem naming row and column."""

from __future__ import annotations

import pandas as pd
import pytest
from data_fixtures import MINIMAL, rows, write_all, write_csv

from evalkit.data.config import load_config
from evalkit.data.contract import TABLES
from evalkit.data.schemas import completed_years, schema_for
from evalkit.data.validate import read_valid, validate_file, validate_files
from evalkit.errors import DataError


@pytest.mark.parametrize("table", list(TABLES))
def test_minimal_table_is_valid(tmp_path, table):
    path = write_csv(tmp_path / f"{table}.csv", MINIMAL[table])
    assert validate_file(path) == []
    typed = read_valid(path)[table]
    assert list(typed.columns) == TABLES[table].columns
    assert len(typed) == 2
    schema_for(table).validate(typed)  # typed output satisfies its own schema


def test_all_tables_together_are_valid(tmp_path):
    assert validate_files(write_all(tmp_path)) == []


# (table, change to row 2, column reported, text in message)
BAD = [
    ("participants", dict(sex="Mle"), "sex", "value 'Mle' is not an allowed sex (did you mean 'male'?)"),
    ("participants", dict(start_date="2020-13-01"), "start_date", "is not a real date"),
    ("participants", dict(start_date="May 2020"), "start_date", "is not a date"),
    ("participants", dict(start_date="2200-01-01"), "start_date", "unlikely year"),
    ("participants", dict(prior_offences="two"), "prior_offences", "is not a number"),
    ("participants", dict(prior_offences="1.5"), "prior_offences", "is not a whole number"),
    ("participants", dict(prior_offences="-1"), "prior_offences", "out of range"),
    ("participants", dict(school_exclusion="maybe"), "school_exclusion", "is not true or false"),
    ("participants", dict(locality="Notingham"), "locality", "did you mean 'Nottingham'?"),
    ("participants", dict(person_id=""), "person_id", "person_id is required but empty"),
    ("participants", dict(end_date="2020-01-01"), "end_date", "end_date 2020-01-01 is before start_date 2020-05-02"),
    ("participants", dict(referral_date="2020-06-01"), "referral_date", "is after start_date"),
    ("participants", dict(start_date=""), "start_date", "for a referral that never started, set exit_reason to "
                                                          "not_started"),
    ("participants", dict(exit_reason="not_started"), "start_date", "exit_reason is not_started but start_date"),
    ("participants", dict(start_date="", end_date="", exit_reason="not_started", referral_date=""), "start_date",
     "has no referral_date"),
    ("participants", dict(start_date="", exit_reason="not_started"), "start_date", "has end_date 2020-10-01"),
    ("participants", dict(start_date="", end_date="", exit_reason="not_started", age_at_start="16"), "age_at_start",
     "gives 15 at referral_date 2020-05-01"),
    ("participants", dict(date_of_birth="", age_at_start=""), "age_at_start", "neither date_of_birth nor age_at_start"),
    ("participants", dict(date_of_birth="1990-01-01"), "age_at_start", "outside the age range 5-25"),
    ("participants", dict(age_at_start="12"), "age_at_start", "date_of_birth 2004-06-01 gives 15"),
    ("participants", dict(ethnicity_group="black"), "ethnicity_group", "does not match ethnicity_detailed"),
    ("participants", dict(prior_violent_offences="5"), "prior_violent_offences", "is more than prior_offences"),
    ("interventions", dict(annual_cost="-5"), "annual_cost", "out of range"),
    ("interventions", dict(area="Town"), "area", "is not an allowed area"),
    ("contacts", dict(duration_minutes="2000"), "duration_minutes", "at most 1440"),
    ("contacts", dict(attended=""), "attended", "attended is required but empty"),
    ("measurements", dict(item="26"), "item", "item '26' is not an item of SDQ_S"),
    ("measurements", dict(response="3"), "response", "outside the SDQ_S range 0-2"),
    ("measurements", dict(instrument="SQD_S"), "instrument", "did you mean 'SDQ_S'?"),
    ("statuses", dict(value="daily"), "value", "value 'daily' is not allowed for domain 'ete'"),
    ("onward_referrals", dict(taken_up_date="2020-06-01"), "taken_up_date", "is before referral_date"),
    ("onward_referrals", dict(taken_up="false"), "taken_up_date", "taken_up is false"),
    ("offences", dict(outcome_date="2020-01-01"), "outcome_date", "is before offence_date"),
    ("comparison_pool", dict(age_at_index="30", date_of_birth=""), "age_at_index", "outside the age range"),
    ("area_counts", dict(month="2020-04-15"), "month", "is not the first day of a month"),
    ("area_counts", dict(population="0"), "population", "more than 0"),
    ("area_counts", dict(count="-1"), "count", "at least 0"),
    ("area_rollout", dict(start_month="2019-10-02"), "start_month", "first day of a month"),
]


def test_referral_that_never_started_is_valid(tmp_path):
    """A participants row with a referral date, no start date and exit reason not_started is a valid referral that
    never started; its age is taken at the referral date."""
    path = write_csv(tmp_path / "participants.csv",
                     rows("participants", start_date="", end_date="", exit_reason="not_started"),
                     TABLES["participants"].columns)
    assert validate_file(path) == []
    frame = read_valid(path)["participants"]
    assert frame["start_date"].isna().sum() == 1 and frame.loc[0, "age_at_start"] == 15  # derived


@pytest.mark.parametrize(("table", "change", "column", "text"), BAD,
                         ids=[f"{t}-{c}-{'_'.join(ch)}" for t, ch, c, _ in BAD])
def test_bad_value_reported_at_row_and_column(tmp_path, table, change, column, text):
    path = write_csv(tmp_path / f"{table}.csv", rows(table, **change), TABLES[table].columns)
    problems = validate_file(path)
    assert len(problems) == 1, [str(p) for p in problems]
    p = problems[0]
    assert (p.file, p.row, p.column) == (f"{table}.csv", 2, column)
    assert text in p.message + " " + p.fix
    assert p.fix  # every problem says what to do
    assert f"{table}.csv, row 2, column '{column}'" in str(p)


def test_problem_message_lists_allowed_codes(tmp_path):
    path = write_csv(tmp_path / "participants.csv", rows("participants", sex="Mle"))
    (p,) = validate_file(path)
    assert str(p).endswith("Fix: use one of female, male, other, not_known.")


def test_missing_required_columns_one_problem_each(tmp_path):
    records = [{k: v for k, v in r.items() if k not in ("sex", "locality")} for r in MINIMAL["participants"]]
    problems = validate_file(write_csv(tmp_path / "participants.csv", records))
    assert [(p.row, p.column) for p in problems] == [(1, "sex"), (1, "locality")]
    assert all("required column" in p.message for p in problems)


def test_unknown_column_did_you_mean(tmp_path):
    records = [{("school_exclsion" if k == "school_exclusion" else k): v for k, v in r.items()}
               for r in MINIMAL["participants"]]
    (p,) = validate_file(write_csv(tmp_path / "participants.csv", records))
    assert p.column == "school_exclsion" and "did you mean 'school_exclusion'?" in p.message.lower()


def test_duplicate_key_names_first_row(tmp_path):
    recs = MINIMAL["participants"] + [dict(MINIMAL["participants"][0])]
    (p,) = validate_file(write_csv(tmp_path / "participants.csv", recs))
    assert p.row == 4 and "already appears on row 2" in p.message


def test_forgiving_spellings_and_aliases(tmp_path):
    path = write_csv(tmp_path / "participants.csv",
                     rows("participants", sex=" Male ", ethnicity_detailed="W1", school_exclusion="Yes",
                          start_date="02/05/2020", locality="newark-and-sherwood"))
    assert validate_file(path) == []
    t = read_valid(path)["participants"]
    first = t.iloc[0]
    assert (first.sex, first.ethnicity_detailed, first.ethnicity_group, first.locality) == (
        "male", "white_british", "white", "Newark and Sherwood")
    assert first.start_date == pd.Timestamp("2020-05-02") and bool(first.school_exclusion) is True
    assert first.age_at_start == 15  # derived from date_of_birth 2004-06-01 at 2020-05-02


def test_headers_are_forgiven(tmp_path):
    records = [{k.replace("_", " ").title(): v for k, v in r.items()} for r in MINIMAL["contacts"]]
    assert validate_file(write_csv(tmp_path / "contacts.csv", records)) == []


def test_typed_dtypes(tmp_path):
    write_all(tmp_path)
    t = read_valid(tmp_path / "participants.csv")["participants"]
    assert str(t.start_date.dtype) == "datetime64[ns]"
    assert str(t.age_at_start.dtype) == "Int64" and str(t.school_exclusion.dtype) == "boolean"
    c = read_valid(tmp_path / "contacts.csv")["contacts"]
    assert c.attended.dtype == bool
    a = read_valid(tmp_path / "area_counts.csv")["area_counts"]
    assert a["count"].dtype == "int64"


def test_referential_break_reported_not_raised(tmp_path):
    write_all(tmp_path, ["interventions", "participants"])
    write_csv(tmp_path / "contacts.csv", rows("contacts", intervention_id="INT99"))
    problems = validate_files([tmp_path / "interventions.csv", tmp_path / "participants.csv",
                               tmp_path / "contacts.csv"])
    msgs = sorted((p.file, p.row, p.column, p.message) for p in problems)
    assert msgs == [
        ("contacts.csv", 2, "intervention_id", "intervention_id=INT99 is not in the interventions table."),
        ("contacts.csv", 2, "intervention_id",
         "person_id=P0000000000000001, intervention_id=INT99 is not in the participants table."),
    ]


def test_reference_not_checked_without_target(tmp_path):
    # a provider's participants file alone is not blamed for the absent interventions table
    write_csv(tmp_path / "participants.csv", rows("participants", intervention_id="INT99"))
    assert validate_file(tmp_path / "participants.csv") == []


def test_every_problem_at_once_and_cap(tmp_path):
    recs = [dict(MINIMAL["contacts"][0], contact_type="chat", duration_minutes="x") for _ in range(50)]
    path = write_csv(tmp_path / "contacts.csv", recs)
    found = validate_file(path)  # a problem repeated down a column is one line with its rows and count
    assert len(found) == 2 and all(p.rows == tuple(range(2, 52)) for p in found)
    assert "rows 2-51 (50 rows), column 'contact_type'" in str(found[0])
    capped = validate_file(path, max_problems=1)
    assert len(capped) == 2 and "1 more problem(s)" in capped[-1].message
    with pytest.raises(DataError) as info:
        read_valid(path)
    assert len(info.value.problems) == 2 and "rows 2-51" in str(info.value)


def test_row_order_does_not_change_result(tmp_path):
    recs = MINIMAL["participants"]
    a = read_valid(write_csv(tmp_path / "participants.csv", recs))["participants"]
    b = read_valid(write_csv(tmp_path / "participants_b.csv", recs[::-1]))["participants"]
    key = ["person_id", "intervention_id"]
    pd.testing.assert_frame_equal(a.sort_values(key).reset_index(drop=True),
                                  b.sort_values(key).reset_index(drop=True))


def test_completed_years_birthday_edge():
    dob = pd.Series(pd.to_datetime(["2004-06-01", "2004-06-01", "2004-02-29", "2004-02-29", "2004-02-29"]))
    at = pd.Series(pd.to_datetime(["2020-05-31", "2020-06-01", "2021-02-28", "2021-03-01", "2024-02-29"]))
    got = completed_years(dob, at).tolist()
    # independent reference: dateutil.relativedelta ...
    from dateutil.relativedelta import relativedelta

    reference = [relativedelta(a, d).years for a, d in zip(at, dob)]
    # ... except that a person born on 29 February turns a year older on 1 March in a
    # common year (the UK convention); relativedelta counts 28 February.
    assert reference == [15, 16, 17, 17, 20]
    assert got == [15, 16, 16, 17, 20]


def test_schema_for_rejects_unknown_config_value():
    cfg = load_config()
    bad = read_valid_frame = pd.DataFrame([{c: None for c in TABLES["area_counts"].columns}])
    bad.loc[0, ["area", "indicator"]] = ["Atlantis", "serious_violence"]
    bad["month"] = pd.Timestamp("2020-04-01")
    bad["count"] = 1
    bad["population"] = 10
    import pandera.errors

    with pytest.raises(pandera.errors.SchemaErrors):
        schema_for("area_counts", cfg).validate(read_valid_frame, lazy=True)
