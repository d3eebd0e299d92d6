"""Tiny valid rows for every contract table, shared by the tests/test_data_*.py files.

Each table has two rows that satisfy the contract, so a test can break one
cell and check that exactly that problem is reported (row 2 or 3 of the file).
"""

from __future__ import annotations

import csv
from pathlib import Path

MINIMAL: dict[str, list[dict[str, str]]] = {
    "interventions": [
        dict(intervention_id="INT01", name="Custody Navigators", provider="Northgate Youth Trust",
             prevention_level="tertiary", intervention_type="custody_diversion", area="City",
             start_date="2020-04-01", end_date="2021-03-31", annual_cost="210000", funding_stream="VRU core grant",
             planned_places="120", completion_min_sessions="6"),
        dict(intervention_id="INT02", name="Peer Mentors", provider="County Youth Partnership",
             prevention_level="secondary", intervention_type="mentoring", area="County",
             start_date="2020-04-01", end_date="", annual_cost="70000", funding_stream="",
             planned_places="", completion_min_sessions=""),
    ],
    "participants": [
        dict(person_id="P0000000000000001", intervention_id="INT01", referral_date="2020-05-01",
             start_date="2020-05-02", end_date="2020-10-01", exit_reason="completed", date_of_birth="2004-06-01",
             age_at_start="", sex="male", ethnicity_detailed="white_british", ethnicity_group="",
             locality="Nottingham", referral_source="police_custody", prior_offences="2",
             prior_violent_offences="1", school_exclusion="false", looked_after="false",
             exploitation_concern="true", substance_misuse_concern="false"),
        dict(person_id="P0000000000000002", intervention_id="INT02", referral_date="", start_date="2020-06-01",
             end_date="", exit_reason="ongoing", date_of_birth="", age_at_start="14", sex="female",
             ethnicity_detailed="", ethnicity_group="", locality="Mansfield", referral_source="",
             prior_offences="", prior_violent_offences="", school_exclusion="", looked_after="",
             exploitation_concern="", substance_misuse_concern=""),
    ],
    "contacts": [
        dict(person_id="P0000000000000001", intervention_id="INT01", contact_date="2020-05-09",
             contact_type="one_to_one", duration_minutes="60", attended="true"),
        dict(person_id="P0000000000000002", intervention_id="INT02", contact_date="2020-06-08",
             contact_type="group", duration_minutes="", attended="false"),
    ],
    "measurements": [
        dict(person_id="P0000000000000001", intervention_id="INT01", instrument="SDQ_S", item="1", response="2",
             timepoint="baseline", measurement_date="2020-05-02"),
        dict(person_id="P0000000000000001", intervention_id="INT01", instrument="SWEMWBS", item="7",
             response="", timepoint="exit", measurement_date="2020-10-01"),
    ],
    "statuses": [
        dict(person_id="P0000000000000001", intervention_id="INT01", timepoint="baseline",
             status_date="2020-05-02", domain="ete", value="neet"),
        dict(person_id="P0000000000000001", intervention_id="INT01", timepoint="baseline",
             status_date="2020-05-02", domain="peer_relationships", value="3"),
    ],
    "onward_referrals": [
        dict(person_id="P0000000000000001", intervention_id="INT01", service="camhs", referral_date="2020-06-15",
             taken_up="true", taken_up_date="2020-07-01"),
        dict(person_id="P0000000000000002", intervention_id="INT02", service="housing", referral_date="2020-07-15",
             taken_up="false", taken_up_date=""),
    ],
    "offences": [
        dict(person_id="P0000000000000001", offence_date="2020-11-20", offence_group="violence_with_injury",
             knife_enabled="false", outcome="conviction", outcome_date="2021-02-03", sentence="community"),
        dict(person_id="P00000000000000ff", offence_date="2020-12-01", offence_group="robbery", knife_enabled="",
             outcome="pending", outcome_date="", sentence=""),
    ],
    "comparison_pool": [
        dict(person_id="P00000000000000ff", index_date="2020-08-14", pool_source="custody_no_referral",
             date_of_birth="2003-02-01", age_at_index="17", sex="male", ethnicity_detailed="black_caribbean",
             ethnicity_group="black", locality="Nottingham", prior_offences="3", prior_violent_offences="0",
             school_exclusion="true", looked_after="false", exploitation_concern="false",
             substance_misuse_concern="true"),
        dict(person_id="P00000000000000fe", index_date="2020-09-01", pool_source="at_risk_list",
             date_of_birth="", age_at_index="15", sex="female", ethnicity_detailed="", ethnicity_group="",
             locality="Gedling", prior_offences="0", prior_violent_offences="0", school_exclusion="",
             looked_after="", exploitation_concern="", substance_misuse_concern=""),
    ],
    "area_counts": [
        dict(area="Mansfield", month="2020-04-01", indicator="serious_violence", count="23", population="19500"),
        dict(area="City", month="2020-04-01", indicator="knife_crime", count="0", population="90000"),
    ],
    "area_rollout": [
        dict(intervention_id="INT01", area="Mansfield", start_month="2019-10-01"),
        dict(intervention_id="INT01", area="Ashfield", start_month="2019-10-01"),
    ],
    "comparison_areas": [
        dict(area_code="E06000018", area_name="Nottingham", period="2019-10-01", indicator="violence_with_injury",
             count="812", population="331000", vru="true", vru_start="2019-10-01", vru_name="City and County"),
        dict(area_code="E07000117", area_name="Burnley", period="2019-10-01", indicator="violence_with_injury",
             count="301", population="89000", vru="false", vru_start="", vru_name=""),
    ],
}


def rows(table: str, **changes: str) -> list[dict[str, str]]:
    """A copy of the minimal rows; ``changes`` alter the FIRST row (file row 2)."""
    out = [dict(r) for r in MINIMAL[table]]
    out[0].update(changes)
    return out


def write_csv(path: Path, records: list[dict[str, str]], columns: list[str] | None = None) -> Path:
    """Write records as a CSV (all values text)."""
    columns = columns or list(records[0])
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(records)
    return path


def write_all(folder: Path, tables: list[str] | None = None) -> list[Path]:
    """Write every minimal table as ``<table>.csv`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return [write_csv(folder / f"{t}.csv", MINIMAL[t]) for t in (tables or list(MINIMAL))]
