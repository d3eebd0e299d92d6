"""Contract and configuration: one source of truth, docs in step, coherent config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from evalkit.data.config import DEFAULT_CONFIG_PATH, load_config, parse_config
from evalkit.data.contract import ALLOWED, TABLES, render_contract_markdown
from evalkit.data.schemas import RULES, schema_for
from evalkit.errors import SpecError

ROOT = Path(__file__).resolve().parents[1]

#: The column names of the draft contract every module was written against (binding).
DRAFT_COLUMNS = {
    "interventions": "intervention_id name provider prevention_level intervention_type area start_date end_date "
                     "annual_cost funding_stream planned_places completion_min_sessions",
    "participants": "person_id intervention_id referral_date start_date end_date exit_reason date_of_birth "
                    "age_at_start sex ethnicity_detailed ethnicity_group locality referral_source prior_offences "
                    "prior_violent_offences school_exclusion looked_after exploitation_concern "
                    "substance_misuse_concern",
    "contacts": "person_id intervention_id contact_date contact_type duration_minutes attended",
    "measurements": "person_id intervention_id instrument item response timepoint measurement_date",
    "statuses": "person_id intervention_id timepoint status_date domain value",
    "onward_referrals": "person_id intervention_id service referral_date taken_up taken_up_date",
    "offences": "person_id offence_date offence_group knife_enabled outcome outcome_date sentence",
    "comparison_pool": "person_id index_date pool_source date_of_birth age_at_index sex ethnicity_detailed "
                       "ethnicity_group locality prior_offences prior_violent_offences school_exclusion "
                       "looked_after exploitation_concern substance_misuse_concern",
    "area_counts": "area month indicator count population",
    "area_rollout": "intervention_id area start_month",
    "comparison_areas": "area_code area_name period indicator count population vru vru_start vru_name",
}
DRAFT_REQUIRED = {
    "interventions": "intervention_id name provider prevention_level intervention_type area start_date annual_cost",
    # start_date is empty for a referral that never started (a rule then asks for referral_date and not_started)
    "participants": "person_id intervention_id sex locality",
    "contacts": "person_id intervention_id contact_date contact_type attended",
    "measurements": "person_id intervention_id instrument item timepoint measurement_date",
    "statuses": "person_id intervention_id timepoint status_date domain value",
    "onward_referrals": "person_id intervention_id service referral_date taken_up",
    "offences": "person_id offence_date offence_group outcome",
    "comparison_pool": "person_id index_date pool_source sex locality",
    "area_counts": "area month indicator count population",
    "area_rollout": "intervention_id area start_month",
    "comparison_areas": "area_code area_name period indicator count population vru",
}


@pytest.mark.parametrize("table", list(TABLES))
def test_names_match_the_draft_contract(table):
    assert TABLES[table].columns == DRAFT_COLUMNS[table].split()
    assert TABLES[table].required_columns == DRAFT_REQUIRED[table].split()


def test_committed_doc_is_rendered_from_contract():
    committed = (ROOT / "docs" / "data-contract.md").read_text(encoding="utf-8")
    assert committed == render_contract_markdown(load_config()), \
        "docs/data-contract.md is stale: run `python -m evalkit.data.contract > docs/data-contract.md`"


def test_every_rule_and_list_is_implemented():
    cfg = load_config()
    for spec in TABLES.values():
        for rule in spec.rules:
            assert rule.name in RULES and spec.has(rule.column)
        for f in spec.fields:
            if f.kind == "category":
                assert f.allowed in ALLOWED and ALLOWED[f.allowed](cfg)
        for ref in spec.references:
            assert all(TABLES[ref.table].has(c) and spec.has(c) for c in ref.columns)
        schema_for(spec.name, cfg)  # builds


def test_config_helpers():
    cfg = load_config()
    assert cfg.area_of("Mansfield") == "County" and cfg.area_of("Nottingham") == "City"
    assert cfg.localities_of("City and County") == cfg.localities and len(cfg.localities) == 8
    assert cfg.ethnicity_group_of("asian_chinese") == "asian"
    assert cfg.ethnicity_group_of("prefer_not_to_say") == "not_known"
    assert len(cfg.ethnicity_detailed) == 21 and len(cfg.ethnicity_groups) == 6  # ONS 2021: 19 + 2 unknown; 5 + 1
    assert cfg.instrument_specs["SDQ_S"].item_codes()[-1] == "25"
    with pytest.raises(SpecError, match="not a locality"):
        cfg.area_of("Atlantis")


def test_config_env_override_and_cache(tmp_path, monkeypatch):
    data = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    data["vru_name"] = "Another VRU"
    p = tmp_path / "vru.yaml"
    p.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("EVALKIT_CONFIG", str(p))
    assert load_config().vru_name == "Another VRU"
    assert load_config() is load_config()  # cached
    monkeypatch.delenv("EVALKIT_CONFIG")
    assert load_config().vru_name == "Example City and County VRU"


@pytest.mark.parametrize(("edit", "text"), [
    (lambda d: d["areas"]["County"].append("Nottingham"), "listed under both"),
    (lambda d: d["proven_outcomes"].append("acquittal"), "proven_outcomes has values that are not listed"),
    (lambda d: d.__setitem__("age_range", [25, 5]), "age_range"),
    (lambda d: d.pop("sex"), "sex"),
])
def test_bad_config_is_a_spec_error(edit, text):
    data = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    edit(data)
    with pytest.raises(SpecError, match=text):
        parse_config(data)


def test_missing_config_file(tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
