"""Commissioning rules: each default rule fires where documented, and bad rule files are refused."""

import math

import pytest

from evalkit.errors import SpecError
from evalkit.analysis.commissioning import PrimaryFinding, classify, load_rules


def finding(**kw):
    base = dict(intervention_id="INT00", direction="beneficial", significant=True, sms=3, n=120,
                n_needed=80.0, min_n=30)
    base.update(kw)
    return PrimaryFinding(**base)


@pytest.mark.parametrize(
    "kw, expected",
    [
        ({}, "expand"),
        ({"sms": 1}, "continue"),
        ({"direction": "harmful"}, "stop"),
        ({"direction": "harmful", "significant": False, "n": 12, "n_needed": 400}, "improve_evidence"),
        ({"significant": False, "n": 12, "n_needed": math.inf}, "improve_evidence"),
        ({"significant": False, "n": 300, "n_needed": 150}, "redesign"),
        ({"significant": False, "n": 100, "n_needed": 150}, "improve_evidence"),
        ({"direction": "none", "significant": False, "n": 300, "n_needed": math.inf}, "improve_evidence"),
    ],
)
def test_default_rules(kw, expected):
    assert classify(finding(**kw)).key == expected


def test_category_carries_reason():
    cat = classify(finding(direction="harmful"))
    assert cat.label == "Stop or redesign"
    assert cat.rule_index == 1 and "harmful" in cat.rule_text


def test_custom_rules_file(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("categories: {fund: {label: Fund, meaning: m}, review: {label: Review, meaning: m}}\n"
                    "rules:\n  - {category: fund, when: {sms_at_least: 2}}\n  - {category: review}\n")
    assert classify(finding(sms=2), path).key == "fund"
    assert classify(finding(sms=1), path).key == "review"


@pytest.mark.parametrize(
    "text, words",
    [
        ("categories: {a: {label: A, meaning: m}}\nrules:\n  - {category: b}\n", "category 'b'"),
        ("categories: {a: {label: A, meaning: m}}\nrules:\n  - {category: a, when: {colour: red}}\n", "unknown condition"),
        ("rules: []\n", "needs both"),
    ],
)
def test_bad_rules_are_refused(tmp_path, text, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match=words):
        load_rules(path)
