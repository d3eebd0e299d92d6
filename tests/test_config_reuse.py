"""The VRU configuration drives what used to be code: located errors, rules file, instruments, init, --config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from evalkit.cli import cli
from evalkit.data.config import CONFIG_ENV_VAR, DEFAULT_CONFIG_PATH, load_config, parse_config
from evalkit.errors import SpecError


@pytest.fixture
def own_config(tmp_path, monkeypatch):
    """A copy of the default configuration in tmp_path, in force for the test (EVALKIT_CONFIG restored after)."""
    def make(extra: str = "", replace: tuple[str, str] | None = None) -> Path:
        text = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
        if replace:
            assert replace[0] in text
            text = text.replace(*replace)
        path = tmp_path / "config.yaml"
        path.write_text(text + extra, encoding="utf-8")
        monkeypatch.setenv(CONFIG_ENV_VAR, str(path))
        return path
    monkeypatch.delenv(CONFIG_ENV_VAR, raising=False)
    return make


def test_configuration_problems_are_located_by_line(own_config):
    path = own_config(replace=("  disclosure_min_count: 10 ", "  disclosure_min_count: none "))
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "disclosure_min_count" in t)
    with pytest.raises(SpecError, match=rf"line {line}, thresholds.disclosure_min_count"):
        load_config()


def test_area_tree_of_any_depth_and_its_problems():
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    raw["areas"] = {"North": {"Coast": ["A", "B"], "Hills": {"High": ["C"], "Low": ["D"]}}, "South": ["E"]}
    raw["whole_area"], raw["intervention_areas"] = "", ["North", "Hills", "E"]
    cfg = parse_config(raw)
    assert cfg.hierarchy["North"] == ["A", "B", "C", "D"] and cfg.hierarchy["Hills"] == ["C", "D"]
    assert cfg.localities == ["A", "B", "C", "D", "E"] and cfg.area_of("D") == "North"
    assert cfg.whole_area_name == "North and South"  # no whole_area given: the top-level names joined
    raw["areas"]["South"] = {"Coast": ["E"]}
    with pytest.raises(SpecError, match="area name 'Coast' is used twice"):
        parse_config(raw)


def test_commissioning_rules_named_in_the_configuration_are_read(own_config, tmp_path):
    from evalkit.analysis.commissioning import PrimaryFinding, classify

    (tmp_path / "rules.yaml").write_text(
        "categories:\n  review: {label: Review, meaning: Everything is reviewed.}\nrules:\n  - category: review\n")
    own_config("\ncommissioning_rules: rules.yaml\n")  # relative to the configuration file
    cat = classify(PrimaryFinding("INT01", "beneficial", True, 3, 500, 100.0, 30))
    assert cat.key == "review" and cat.label == "Review"


def test_instruments_folder_named_in_the_configuration_is_read(own_config, tmp_path):
    from evalkit.measures.definitions import get_definition
    from tests.second_vru import INSTRUMENT

    (tmp_path / "qs").mkdir()
    (tmp_path / "qs" / "yvq.yaml").write_text(INSTRUMENT)
    own_config("\ninstruments_folder: qs\n")
    assert get_definition("YVQ").scales["total"].higher_is_better is False


def test_index_date_rule_comes_from_the_intervention_type(own_config):
    from evalkit.analysis.data import index_date_column
    from evalkit.protocol import Protocol

    def proto(kind: str) -> Protocol:
        return Protocol.model_validate({"intervention_id": "X", "title": "t", "question": "q",
                                        "intervention_type": kind,
                                        "designs": [{"type": "area_trend", "indicators": ["knife_crime"],
                                                     "areas": [load_config().whole_area_name]}]})
    assert index_date_column(proto("custody_diversion")) == "referral_date"
    assert index_date_column(proto("mentoring")) == "start_date"
    own_config(replace=("  mentoring: {}\n", "  mentoring: {index_date: referral_date}\n"))
    assert index_date_column(proto("mentoring")) == "referral_date"


def test_every_command_takes_config():
    assert any("--config" in p.opts for p in cli.params)
    for name, command in cli.commands.items():
        assert any("--config" in p.opts for p in command.params), name


def test_a_bad_config_stops_the_command_with_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv(CONFIG_ENV_VAR, raising=False)
    bad = tmp_path / "bad.yaml"
    bad.write_text("vru_name: x\nareas: []\n")
    res = CliRunner().invoke(cli, ["template", "--config", str(bad), "--out", str(tmp_path / "t.xlsx")])
    assert res.exit_code == 2 and "areas" in res.output and "Traceback" not in res.output
    assert os.environ.get(CONFIG_ENV_VAR) is None


def test_init_writes_a_starter_that_validates(tmp_path, monkeypatch):
    monkeypatch.delenv(CONFIG_ENV_VAR, raising=False)
    out = tmp_path / "kit"
    runner = CliRunner()
    res = runner.invoke(cli, ["init", "--vru", "Coastshire VRU", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} == {
        "config.yaml", "instruments/example_instrument.yaml.txt", "protocols/EXAMPLE01.yaml",
        "protocols/protocol.schema.json"}
    text = (out / "config.yaml").read_text()
    assert 'vru_name: "Coastshire VRU"' in text and "instruments_folder: instruments" in text
    cfg = load_config(out / "config.yaml")
    assert cfg.vru_name == "Coastshire VRU" and cfg.instruments_dir == out / "instruments"
    assert not set(cfg.localities) & set(load_config(DEFAULT_CONFIG_PATH).localities)  # placeholders, not ours
    monkeypatch.setenv(CONFIG_ENV_VAR, "")  # --config sets it for the process; monkeypatch restores it
    res = runner.invoke(cli, ["--config", str(out / "config.yaml"), "validate", str(out / "protocols")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["init", "--vru", "Coastshire VRU", "--out", str(out)])
    assert res.exit_code == 2 and "already exists" in res.output
    # the example instrument is a valid definition once copied to a .yaml file
    from evalkit.measures.definitions import load_definition_file

    (out / "instruments" / "my_scale.yaml").write_text((out / "instruments" / "example_instrument.yaml.txt").read_text())
    assert "MY_SCALE" in load_definition_file(out / "instruments" / "my_scale.yaml")
