"""Configuration edge cases from reuse (issue 21, class 7): any area tree the configuration accepts renders
the VRU-wide analysis; settings that still describe the default after their list was replaced are warned about."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from evalkit.cli import cli
from evalkit.data.config import CONFIG_ENV_VAR, DEFAULT_CONFIG_PATH, config_warnings, load_config, parse_config
from evalkit.errors import SpecError

#: (tree, whole_area): depth 1 to 3, one root or several, the whole area named like a node, a locality named
#: like its own area.
TREES = {
    "depth 1, several roots": ({"North": ["A", "B"], "South": ["C"]}, ""),
    "depth 1, one root named as the whole": ({"Shire": ["A", "B", "C"]}, "Shire"),
    "depth 2, one root (a police force area)": (
        {"West Midlands": {"Black Country": ["Dudley", "Sandwell", "Walsall"], "Birmingham": ["Birmingham"],
                           "Coventry": ["Coventry"]}}, ""),
    "depth 2, one root, whole_area given as the root": (
        {"West Midlands": {"Black Country": ["Dudley", "Sandwell"], "Solihull": ["Solihull"]}}, "West Midlands"),
    "depth 3, several roots": (
        {"North": {"Coast": ["A", "B"], "Hills": {"High": ["C"], "Low": ["D"]}}, "South": ["E"]}, "The Region"),
    "depth 3, one root": ({"Force": {"East": {"Town": ["Town"], "Rural": ["R1", "R2"]}, "West": ["W1"]}}, ""),
}


def _config_file(tmp_path: Path, tree: dict, whole: str) -> Path:
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    raw["areas"], raw["whole_area"], raw["intervention_areas"] = tree, whole, []
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def _counts(localities: list[str]) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    months = pd.date_range("2017-04-01", "2021-03-01", freq="MS")
    return pd.DataFrame([{"area": loc, "month": m, "indicator": "knife_crime", "count": int(rng.poisson(20)),
                          "population": 10000.0} for loc in localities for m in months])


@pytest.mark.parametrize("name", list(TREES))
def test_every_accepted_tree_renders_the_vru_wide_analysis(name, tmp_path, monkeypatch):
    from evalkit.analysis.runner import analyse_intervention
    from evalkit.designs.area._data import all_areas, expand_area
    from evalkit.protocol import Protocol

    tree, whole = TREES[name]
    monkeypatch.setenv(CONFIG_ENV_VAR, str(_config_file(tmp_path, tree, whole)))
    cfg = load_config()
    places = list(dict.fromkeys([cfg.whole_area_name, *cfg.hierarchy, *cfg.localities]))
    counts = _counts(list(dict.fromkeys(cfg.localities)))
    assert expand_area(cfg.whole_area_name, cfg.hierarchy, set(cfg.localities)) == sorted(set(cfg.localities))
    assert all_areas(counts)[0] == cfg.whole_area_name and len(set(all_areas(counts))) == len(all_areas(counts))
    protocol = Protocol.model_validate({
        "intervention_id": "VRU", "title": "VRU-wide", "question": "Did knife crime fall?", "primary_outcomes": [],
        "designs": [{"type": "area_trend", "indicators": ["knife_crime"], "areas": places,
                     "period": ["2020-04", "2021-03"], "baseline": ["2017-04", "2020-03"]}]})
    result = analyse_intervention(protocol, {"area_counts": counts}, cfg=cfg)
    assert len(result.outcomes) == len(places)
    failed = [(o.outcome, o.reason) for o in result.outcomes if o.estimate is None]
    assert not failed
    whole_row = next(o for o in result.outcomes if o.outcome == f"knife_crime:{cfg.whole_area_name}")
    assert whole_row.n == int(counts[counts["month"] >= "2020-04-01"]["count"].sum())


@pytest.mark.parametrize("tree, whole, words", [
    ({"North": {"A": ["x"], "B": ["y"]}, "South": ["A"]}, "", "locality 'A' has the name of an area"),
    ({"North": ["A", "B"], "South": ["C"]}, "North", "whole_area 'North' is also the name of an area"),
    ({"North": ["A", "B"], "South": ["C"]}, "A", "whole_area 'A' is also the name of a locality"),
])
def test_trees_that_could_not_render_are_refused_in_plain_words(tree, whole, words):
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    raw["areas"], raw["whole_area"], raw["intervention_areas"] = tree, whole, []
    with pytest.raises(SpecError, match=words):
        parse_config(raw)


def test_validate_config_warns_about_defaults_that_describe_a_replaced_list(tmp_path, monkeypatch):
    monkeypatch.setenv(CONFIG_ENV_VAR, str(DEFAULT_CONFIG_PATH))  # --config sets it for the process: restored after
    text = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    text = text.replace("  evaluation_year: 2020           # 2020/21", "  evaluation_year: 2023           # 2020/21")
    text = text.replace("  County: [", "  Shire: [").replace("intervention_areas: [City, County, City and County]",
                                                           "intervention_areas: [City, Shire]")
    text = text.replace("  asian: [asian_bangladeshi,", "  asian: [asian_bangla,").replace(
        "asian_bangladeshi", "asian_bangla")
    path = tmp_path / "config.yaml"
    path.write_text(text.replace("  not_known: not known", "  not_known: not known\n  retired_code: Retired"),
                    encoding="utf-8")
    cfg = load_config(path)
    assert cfg.reporting.evaluation_year == 2023 and raw["ethnicity_scheme"] == cfg.ethnicity_scheme
    warnings = config_warnings(cfg, path.read_text(encoding="utf-8"))
    keys = [w.split(": ", 1)[0].split(", ")[-1] for w in warnings]
    assert keys == ["ethnicity_scheme", "whole_area", "reporting.evaluation_year", "reporting.baseline_years",
                    "labels"], warnings
    res = CliRunner().invoke(cli, ["validate", "--config", str(path)])
    assert res.exit_code == 0, res.output
    assert "warning:" in res.output and "Fix: set ethnicity_scheme to the name of your classification" in res.output
    # the packaged configuration itself has nothing to warn about
    assert config_warnings(load_config(DEFAULT_CONFIG_PATH), DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")) == []
