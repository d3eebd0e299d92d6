"""Protocol model: line-level validation messages, schema export, the demo protocols."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from evalkit.errors import SpecError
from evalkit.protocol import (
    SCHEMA_COMMENT,
    Protocol,
    load_protocol,
    schema_text,
    validate_protocol_file,
)

ROOT = Path(__file__).resolve().parents[1]
PROTOCOLS = ROOT / "protocols"
PORTFOLIO = yaml.safe_load((ROOT / "evalkit" / "demo_portfolio.yaml").read_text())["interventions"]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


@pytest.fixture()
def good_text() -> str:
    return (PROTOCOLS / "INT03.yaml").read_text(encoding="utf-8")


def test_good_protocol_has_no_problems(good_text, tmp_path):
    assert validate_protocol_file(_write(tmp_path, good_text)) == []


def test_caliper_not_a_number_gives_its_line(good_text, tmp_path):
    text = good_text.replace("caliper: 0.2 ", "caliper: wide")
    problems = validate_protocol_file(_write(tmp_path, text))
    assert len(problems) == 1
    p = problems[0]
    assert p.line == _line_of(text, "caliper: wide")
    assert p.field == "designs[1].caliper"
    assert "must be a number" in p.message and "'wide'" in p.message
    assert f"line {p.line}, field 'designs[1].caliper'" in str(p)
    assert "Fix:" in str(p)


def test_negative_caliper_says_greater_than_zero(good_text, tmp_path):
    text = good_text.replace("caliper: 0.2 ", "caliper: -1 ")
    (p,) = validate_protocol_file(_write(tmp_path, text))
    assert p.line == _line_of(text, "caliper: -1")
    assert "greater than 0" in p.message


def test_several_mistakes_listed_each_with_its_line(good_text, tmp_path):
    text = (good_text.replace("ratio: 3 ", "ratio: two")
            .replace("alpha: 0.05", "alpha: 5")
            .replace("m_order: largest", "m_order: biggest")
            .replace("    higher_is_better: true", "    higher_is_better: true\n    colour: red"))
    problems = validate_protocol_file(_write(tmp_path, text))
    by_field = {p.field: p for p in problems}
    assert set(by_field) == {"designs[1].ratio", "alpha", "designs[1].m_order", "secondary_outcomes[1].colour"}
    assert by_field["alpha"].line == _line_of(text, "alpha: 5")
    assert "less than 0.5" in by_field["alpha"].message
    assert by_field["designs[1].m_order"].line == _line_of(text, "m_order: biggest")
    assert "'largest'" in by_field["designs[1].m_order"].message
    assert by_field["secondary_outcomes[1].colour"].line == _line_of(text, "colour: red")
    assert "spelling" in by_field["secondary_outcomes[1].colour"].fix
    assert "whole number" in by_field["designs[1].ratio"].message


def test_missing_field_points_at_its_section(good_text, tmp_path):
    text = good_text.replace("    covariates: [age", "    covars: [age")
    problems = validate_protocol_file(_write(tmp_path, text))
    fields = {p.field: p for p in problems}
    assert "designs[1].covariates" in fields and "required" in fields["designs[1].covariates"].message
    assert fields["designs[1].covariates"].line == _line_of(text, "- type: matched")
    assert fields["designs[1].covars"].line == _line_of(text, "covars:")


def test_unknown_design_type(good_text, tmp_path):
    text = good_text.replace("- type: prepost ", "- type: before_after ")
    (p,) = validate_protocol_file(_write(tmp_path, text))
    assert p.field == "designs[0]" and p.line == _line_of(text, "type: before_after")
    assert "before_after" in p.message and "prepost" in p.fix


def test_undefined_outcome_reference(good_text, tmp_path):
    text = good_text.replace("outcomes: [reoffending_12m]", "outcomes: [reoffending_24m]")
    (p,) = validate_protocol_file(_write(tmp_path, text))
    assert p.field == "designs[1].outcomes[0]"
    assert p.line == _line_of(text, "outcomes: [reoffending_24m]")
    assert "reoffending_24m" in p.message


def test_wrong_design_for_outcome(good_text, tmp_path):
    text = good_text.replace("outcomes: [sdq_total, swemwbs]", "outcomes: [sdq_total, reoffending_12m]")
    (p,) = validate_protocol_file(_write(tmp_path, text))
    assert p.field == "designs[0].outcomes[1]" and "pre/post" in p.message


def test_yaml_syntax_error_has_line(tmp_path):
    text = "intervention_id: INT01\ntitle: x\ndesigns:\n  - type: prepost\n   outcomes: [a]\n"
    (p,) = validate_protocol_file(_write(tmp_path, text))
    assert p.line in (4, 5) and "not valid YAML" in p.message


def test_bad_month_in_area_design(tmp_path):
    text = (PROTOCOLS / "vru_wide.yaml").read_text().replace('period: ["2020-04"', 'period: ["April 2020"')
    (p,) = validate_protocol_file(_write(tmp_path, text))
    assert "YYYY-MM" in p.message and p.line == _line_of(text, "April 2020") and p.field == "designs[0].period[0]"


def test_load_protocol_raises_spec_error_with_location(good_text, tmp_path):
    path = _write(tmp_path, good_text.replace("seed: 2021", "seed: -3"))
    with pytest.raises(SpecError, match=r"line \d+, field 'seed'"):
        load_protocol(path)


def test_schema_file_matches_export():
    committed = (PROTOCOLS / "protocol.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(), "run `python protocols/make_protocols.py` to refresh the schema"


@pytest.mark.parametrize("path", sorted(PROTOCOLS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_protocol_validates(path):
    assert validate_protocol_file(path) == []
    assert path.read_text(encoding="utf-8").splitlines()[0] == SCHEMA_COMMENT


def test_one_protocol_per_demo_intervention():
    ids = {p.stem for p in PROTOCOLS.glob("INT*.yaml")}
    assert ids == {item["id"] for item in PORTFOLIO}
    for item in PORTFOLIO:
        protocol = load_protocol(PROTOCOLS / f"{item['id']}.yaml")
        kinds = {d.type for d in protocol.designs}
        expected = {"custody_diversion": {"matched", "did"}, "mentoring": {"prepost", "matched"},
                    "area_programme": {"area_trend", "area_did"}, "parenting": {"prepost"},
                    "counselling": {"prepost"}, "diversionary_activity": {"matched", "prepost"}}
        if item["type"] in expected:
            assert kinds == expected[item["type"]], item["id"]


def test_generated_protocols_are_up_to_date():
    from importlib import util

    spec = util.spec_from_file_location("make_protocols", PROTOCOLS / "make_protocols.py")
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for item in PORTFOLIO:
        assert (PROTOCOLS / f"{item['id']}.yaml").read_text() == module.protocol_text(item), item["id"]


def test_protocol_is_frozen():
    protocol = load_protocol(PROTOCOLS / "INT01.yaml")
    assert isinstance(protocol, Protocol)
    with pytest.raises(Exception):
        protocol.alpha = 0.1  # type: ignore[misc]


def test_cli_validate_and_report_print_one_line_per_problem(good_text, tmp_path):
    from click.testing import CliRunner

    from evalkit.cli import cli

    bad = _write(tmp_path, good_text.replace("caliper: 0.2 ", "caliper: wide").replace("alpha: 0.05", "alpha: 2"))
    runner = CliRunner()
    result = runner.invoke(cli, ["validate", str(bad)])
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 2 and all(f"{bad}, line " in ln for ln in lines)
    assert "Traceback" not in result.output
    ok = runner.invoke(cli, ["validate", str(PROTOCOLS / "INT01.yaml")])
    assert ok.exit_code == 0 and ok.output.startswith("ok:")
    # `evalkit report` refuses the same protocol before starting a kernel, with the first problem's location
    report = runner.invoke(cli, ["report", str(bad), "--data", str(tmp_path), "--out", str(tmp_path / "o")])
    assert report.exit_code == 2 and "field 'designs[1].caliper'" in report.output and "more problem" in report.output
    assert not (tmp_path / "o").exists()
