"""Commissioning categories from documented, configurable rules.

The portfolio summary gives each intervention one of a small set of
categories (expand, continue, improve the evidence, redesign, stop) from its
primary finding. The rules live in ``commissioning_rules.yaml`` (first match
wins) so a VRU can change them without code; the rule that fired is reported
beside the category so a board can see why.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml

from evalkit.errors import SpecError

DEFAULT_RULES = Path(__file__).with_name("commissioning_rules.yaml")
Direction = Literal["beneficial", "harmful", "none"]
_CONDITIONS = {"direction", "significant", "sms_at_least", "sms_below", "adequately_powered", "n_below_min"}


@dataclass(frozen=True)
class PrimaryFinding:
    """What the rules look at: one intervention's primary result, aggregates only.

    Attributes
    ----------
    direction
        "beneficial" or "harmful" when the point estimate favours or disfavours
        the intervention, "none" when it is exactly null or missing.
    significant
        The CI excludes no effect and n >= the minimum for significance.
    sms
        Maryland Scientific Methods Scale level of the design that produced it.
    n
        Participants contributing to the primary result.
    n_needed
        Participants needed to detect the minimum worthwhile effect with 80%
        power (``inf`` when unknown).
    min_n
        Minimum sample below which nothing is called significant.
    """

    intervention_id: str
    direction: Direction
    significant: bool
    sms: int
    n: int
    n_needed: float
    min_n: int

    @property
    def adequately_powered(self) -> bool:
        return self.n >= self.n_needed

    @property
    def n_below_min(self) -> bool:
        return self.n < self.min_n


@dataclass(frozen=True)
class Category:
    """The category assigned, its label and meaning, and the rule that fired."""

    key: str
    label: str
    meaning: str
    rule_index: int
    rule_text: str


@dataclass(frozen=True)
class Rules:
    categories: dict
    rules: tuple

    def classify(self, finding: PrimaryFinding) -> Category:
        """Apply the rules in order; the first that matches decides."""
        for i, rule in enumerate(self.rules):
            if all(_holds(name, value, finding) for name, value in rule["when"].items()):
                cat = self.categories[rule["category"]]
                text = ", ".join(f"{k} = {v}" for k, v in rule["when"].items()) or "otherwise"
                return Category(rule["category"], cat["label"], cat["meaning"], i + 1, text)
        raise SpecError("No commissioning rule matched; end the rules with one that has no conditions.")


def _holds(name: str, value, f: PrimaryFinding) -> bool:
    if name == "direction":
        return f.direction == value
    if name == "significant":
        return f.significant is bool(value)
    if name == "sms_at_least":
        return f.sms >= int(value)
    if name == "sms_below":
        return f.sms < int(value)
    if name == "adequately_powered":
        return f.adequately_powered is bool(value)
    if name == "n_below_min":
        return f.n_below_min is bool(value)
    raise SpecError(f"Unknown commissioning condition '{name}'.")  # pragma: no cover - validated on load


def load_rules(path: str | Path | None = None) -> Rules:
    """Read and check a rules file (default: the VRU configuration's ``commissioning_rules``, else the packaged one)."""
    if not path:
        from evalkit.data.config import load_config  # lazy: the configuration reads YAML

        path = load_config().commissioning_rules_path or DEFAULT_RULES
    return _load_rules(str(path))


@lru_cache(maxsize=8)
def _load_rules(path_text: str) -> Rules:
    path = Path(path_text)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: cannot read commissioning rules ({exc}).") from exc
    cats = raw.get("categories") or {}
    rules = raw.get("rules") or []
    if not cats or not rules:
        raise SpecError(f"{path}: needs both 'categories' and 'rules'.")
    for i, rule in enumerate(rules, start=1):
        if rule.get("category") not in cats:
            raise SpecError(f"{path}: rule {i} names category '{rule.get('category')}', which is not defined "
                            f"under 'categories' (defined: {', '.join(cats)}).")
        rule.setdefault("when", {})
        unknown = set(rule["when"]) - _CONDITIONS
        if unknown:
            raise SpecError(f"{path}: rule {i} has unknown condition(s) {sorted(unknown)}; "
                            f"use {sorted(_CONDITIONS)}.")
    return Rules(categories=cats, rules=tuple(rules))


def classify(finding: PrimaryFinding, rules_path: str | Path | None = None) -> Category:
    """Commissioning category for one intervention's primary finding."""
    return load_rules(rules_path).classify(finding)


__all__ = ["PrimaryFinding", "Category", "Rules", "load_rules", "classify"]
