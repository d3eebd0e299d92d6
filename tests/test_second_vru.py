"""Another VRU reuses evalkit by configuration alone (issue 14).

A second, very different VRU (tests/second_vru.py: its own places, words,
indicators, lower-is-better questionnaire, attendance-only and area-only
programmes, A&E-indexed programme, police 16+1 ethnicity, January financial year
with a two-year baseline, disclosure threshold 12) is validated and rendered end
to end from data generated here, and every output -- and the provider template
made with its configuration -- is scanned for leftovers of the default
configuration's places and its City/County wording.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import cli
from evalkit.data.config import CONFIG_ENV_VAR, DEFAULT_CONFIG_PATH, load_config
from tests.privacy_scan import small_counts_in_text, visible_text
from tests.second_vru import THRESHOLD, VRU_NAME, WHOLE, write_second_vru

ROOT = Path(__file__).resolve().parents[1]


def default_place_words() -> list[str]:
    """Every place name of the default configuration, its whole-area name and its City/County wording."""
    import yaml

    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    cfg = load_config(DEFAULT_CONFIG_PATH)
    words = set(cfg.localities) | set(cfg.hierarchy) | {cfg.whole_area_name, raw["vru_name"]}
    return sorted(words | {"Nottinghamshire", "City or County", "City/County"}, key=len, reverse=True)


def leftovers(text: str) -> list[str]:
    """Default-configuration place words in ``text`` (whole words, case as written)."""
    hits = []
    for word in default_place_words():
        for m in re.finditer(r"(?<![A-Za-z])" + re.escape(word) + r"(?![A-Za-z])", text):
            hits.append(text[max(0, m.start() - 40): m.end() + 40].replace("\n", " "))
    return hits


@pytest.fixture(scope="module")
def vru(tmp_path_factory):
    """The second VRU's files, with its configuration in force for the module (restored afterwards)."""
    paths = write_second_vru(tmp_path_factory.mktemp("second_vru"))
    before = os.environ.get(CONFIG_ENV_VAR)
    os.environ[CONFIG_ENV_VAR] = str(paths["config"])
    yield paths
    if before is None:
        os.environ.pop(CONFIG_ENV_VAR, None)
    else:
        os.environ[CONFIG_ENV_VAR] = before


@pytest.fixture(scope="module")
def rendered(vru, tmp_path_factory):
    from evalkit.run import run_all

    out = tmp_path_factory.mktemp("second_vru_out")
    result = run_all(vru["protocols"], vru["data"], out, workers=1, progress=False)
    return result, out


# --------------------------------------------------------------------------- configuration
def test_configuration_reads_as_written(vru):
    cfg = load_config()
    assert cfg.vru_name == VRU_NAME and cfg.whole_area_name == WHOLE
    assert cfg.hierarchy["Harbourside"] == ["Quayside", "Saltmarsh", "Bellhill"]  # any depth: leaves of Docks, Uptown
    assert cfg.hierarchy["Docks"] == ["Quayside", "Saltmarsh"]
    assert cfg.area_of("Bellhill") == "Harbourside"
    assert cfg.localities_of(WHOLE) == cfg.localities
    assert cfg.index_date_rule("hospital_navigator") == "referral_date"
    assert cfg.index_date_rule("sports") == "start_date"
    assert cfg.reporting.period == ("2023-01", "2023-12") and cfg.reporting.baseline == ("2021-01", "2022-12")
    assert cfg.reporting.baseline_words == "the two years before"
    assert cfg.indicator_label("nte_violence") == "Night-time economy violence"
    assert cfg.indicator_unit("sharp_object_admissions") == "admissions"
    assert cfg.instruments_dir == vru["config"].parent / "instruments"


def test_cli_validates_the_data_and_protocols_with_config(vru):
    runner = CliRunner()
    res = runner.invoke(cli, ["--config", str(vru["config"]), "validate", str(vru["data"])])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["validate", "--config", str(vru["config"]), str(vru["protocols"])])
    assert res.exit_code == 0, res.output
    # the same data are wrong for the default configuration: its neighbourhoods and 16+1 codes are unknown there
    res = runner.invoke(cli, ["--config", str(DEFAULT_CONFIG_PATH), "validate", str(vru["data"] / "participants.csv")])
    assert res.exit_code != 0 and "not an allowed" in res.output
    os.environ[CONFIG_ENV_VAR] = str(vru["config"])  # --config set it for the process: back to this module's


def test_protocol_defaults_come_from_the_configuration(vru):
    from evalkit.protocol import load_protocol

    ar = load_protocol(vru["protocols"] / "AR01.yaml")
    assert ar.designs[0].period == ("2023-01", "2023-12") and ar.designs[0].baseline == ("2021-01", "2022-12")
    sp = load_protocol(vru["protocols"] / "SP01.yaml")
    assert sp.disclosure_threshold == THRESHOLD and sp.min_n_significance == 25
    assert (sp.population.age_min, sp.population.age_max) == (10, 24)
    assert load_protocol(vru["protocols"] / "AE01.yaml").disclosure_threshold == 15  # raised by the protocol


@pytest.mark.parametrize("line, field, words", [
    ("disclosure_threshold: 10\n", "disclosure_threshold", "may only raise it"),
    ("population: {exclude_exit_reasons: [completed]}\n", "population.exclude_exit_reasons[0]", "finished"),
    ("secondary_outcomes:\n  - {kind: status, name: ete, domain: ete}\n", "secondary_outcomes[0].domain", "housing"),
])
def test_protocol_values_outside_the_configuration_are_located(vru, tmp_path, line, field, words):
    from evalkit.protocol import validate_protocol_file

    text = (vru["protocols"] / "SP01.yaml").read_text()
    path = tmp_path / "SP01.yaml"
    path.write_text(text.replace("secondary_outcomes:\n  - {kind: engagement, name: sessions, label: \"Sessions "
                                 "attended\", measure: sessions_attended}\n", "") + line if "secondary" in line
                    else text + line)
    problems = validate_protocol_file(path)
    assert problems and problems[0].field == field and problems[0].line is not None, problems
    assert words in str(problems[0])


def test_area_design_refuses_a_default_place(vru, tmp_path):
    from evalkit.protocol import validate_protocol_file

    path = tmp_path / "AR01.yaml"
    path.write_text((vru["protocols"] / "AR01.yaml").read_text().replace("Harbourside, Docks", "City, Docks"))
    problems = validate_protocol_file(path)
    assert problems and problems[0].field == "designs[1].areas[1]" and "Harbourside" in problems[0].fix


# --------------------------------------------------------------------------- end to end
def test_every_report_renders_with_its_own_words(rendered):
    result, out = rendered
    assert not result.failed, str(result)
    pages = {p.stem: p.read_text(encoding="utf-8") for p in out.rglob("*.html")}
    assert {"SP01", "AE01", "AR01", "portfolio_summary", "index"} <= set(pages)
    text = {k: visible_text(v) for k, v in pages.items()}
    for name in ("SP01", "AE01", "AR01"):
        assert VRU_NAME in text[name], name  # intervention reports name the VRU
    assert f"{VRU_NAME}: what works, for the Partnership's steering group" in text["portfolio_summary"]
    # area-only report: indicator labels, the configured words and years, no participant tables
    ar = text["AR01"]
    assert "Hospital admissions for assault with a sharp object" in ar and "Night-time economy violence" in ar
    assert "neighbourhoods" in ar
    # the VRU's own word throughout: limitations, category reasons, chart titles and alt text included
    assert not [k for k, t in text.items() if "district" in t.lower()]
    assert "Docks" in ar and WHOLE in ar
    assert "two years before" in ar
    assert "Profile of participants" not in ar and "individual participants" in ar
    # attendance-only programme: completion by completion_min_sessions, dose bands from the configuration
    sp = text["SP01"]
    assert "Completed the season" in sp and "at least 8 sessions" in sp
    assert all(band in sp for band in ("1-4", "5-9", "10 or more"))
    # lower-is-better questionnaire, its own timepoints; category labels and threshold
    ae = text["AE01"]
    assert "Youth Violence Questionnaire" in ae
    assert "boys and young men" in ae.lower() and "below 15" in ae
    assert "A&amp;E navigators" in pages["AE01"] or "A&E navigators" in ae
    assert f"below {THRESHOLD}" in text["portfolio_summary"] or f"below {THRESHOLD}" in sp


def test_no_default_place_or_city_county_wording_in_any_output(rendered):
    _, out = rendered
    found = {}
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.suffix in (".html", ".json", ".ipynb", ".md", ".txt"):
            hits = leftovers(path.read_text(encoding="utf-8", errors="replace"))
            if hits:
                found[str(path.relative_to(out))] = hits[:3]
    assert not found, found


def test_provider_template_uses_the_vrus_own_words(vru, tmp_path):
    import openpyxl

    from evalkit.data.template import write_template

    path = write_template(tmp_path / "return.xlsx")
    wb = openpyxl.load_workbook(path)
    cells = [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    cells += [c.comment.text for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.comment]
    text = "\n".join(cells)
    assert not leftovers(text), leftovers(text)[:5]
    assert "ONS 2021" not in text  # the ethnicity wording is the configured scheme's
    assert "police 16+1 self-defined ethnicity" in text and "Neighbourhood where the person lived" in text
    assert VRU_NAME in text


def test_no_small_counts_below_the_vrus_threshold(rendered):
    _, out = rendered
    for path in out.rglob("*.html"):
        text = visible_text(path.read_text(encoding="utf-8"))
        assert not small_counts_in_text(text, THRESHOLD), (path.name, small_counts_in_text(text, THRESHOLD)[:3])


def test_findings_carry_the_attendance_and_area_results(rendered):
    _, out = rendered
    sp = json.loads((out / "SP01" / "findings.json").read_text())
    ar = json.loads((out / "AR01" / "findings.json").read_text())
    assert sp and ar
    assert "engagement" in json.dumps(sp) or "Attendance" in json.dumps(sp)
    assert "sharp_object_admissions" in json.dumps(ar)


# --------------------------------------------------------------------------- the code itself
def test_no_module_names_a_default_place_or_the_city_county_split():
    """Outside the default configuration (and the demo portfolio that is its data), no module of evalkit/
    names a place of the default configuration or its City/County wording."""
    allowed = {ROOT / "evalkit" / "data" / "default_config.yaml", ROOT / "evalkit" / "demo_portfolio.yaml",
               ROOT / "evalkit" / "synth" / "demo_world.yaml"}
    words = default_place_words() + ["County", "City"]
    found = {}
    for path in sorted((ROOT / "evalkit").rglob("*")):
        if path.suffix not in (".py", ".yaml", ".css", ".ipynb") or path in allowed or "__pycache__" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        hits = [w for w in words if re.search(r"(?<![A-Za-z])" + re.escape(w) + r"(?![A-Za-z])", text)]
        if hits:
            found[str(path.relative_to(ROOT))] = hits
    assert not found, found
