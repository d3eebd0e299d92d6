"""A reason per decision: the rule that fired and the number that decided it (issue 22).

The reason engine (:mod:`evalkit.analysis.reasons`) returns data; :func:`evalkit.report.board.reason_text`
words it. The cases are the board's: INT26 held back by its number of young people, INT01 by a failed
hidden-bias check, INT05 decided on a before/after primary while a matched secondary fell; and a rules file
with a category the engine has never seen.
"""

from __future__ import annotations

import math

import pytest

from evalkit.analysis.commissioning import PrimaryFinding, Rules, load_rules
from evalkit.analysis.reasons import Check, comparison_secondary, explain
from evalkit.report.board import reason_text, secondary_words, value_numbers, value_text

#: A fixed rules file (the packaged one as it stood when these reasons were written): the engine is generic over
#: rules, so its tests pin their own rather than follow the packaged file as the VRU edits it.
RULES_YAML = """
settings: {multiplicity: bky, e_value_ci_min: 1.25, rosenbaum_gamma: 1.1}
categories:
  context: {label: "Context only (no decision)", meaning: "."}
  expand: {label: "Expand", meaning: "."}
  continue: {label: "Promising: confirm with a stronger or replicated design", meaning: "."}
  before_after_only: {label: "Improvement seen, no comparison group", meaning: "."}
  redesign: {label: "A worthwhile effect is unlikely: redesign or decommission", meaning: "."}
  stop: {label: "Stop or redesign", meaning: "."}
  safeguarding_review: {label: "Safeguarding review", meaning: "."}
  improve_evidence: {label: "Improve the evidence", meaning: "."}
rules:
  - {category: context, when: {area_wide: true}}
  - {category: improve_evidence, when: {n_below_min: true}}
  - {category: safeguarding_review, when: {direction: harmful, significant: true, sms_below: 2}}
  - {category: stop, when: {direction: harmful, significant: true, sensitivity_passed: true}}
  - {category: safeguarding_review, when: {direction: harmful, significant: true}}
  - {category: expand, when: {direction: beneficial, significant: true, sms_at_least: 3, sensitivity_passed: true, n_at_least: 60}}
  - {category: continue, when: {direction: beneficial, significant: true, sms_at_least: 2}}
  - {category: before_after_only, when: {direction: beneficial, significant: true}}
  - {category: redesign, when: {worthwhile_unlikely: true}}
  - {category: improve_evidence, when: {}}
"""


def _rules_file():
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "rules.yaml"
    path.write_text(RULES_YAML, encoding="utf-8")
    return path


RULES_PATH = _rules_file()
RULES = load_rules(RULES_PATH)
LABELS = {k: v["label"] for k, v in RULES.categories.items()}


def finding(**kw) -> PrimaryFinding:
    base = dict(intervention_id="INTX", direction="beneficial", significant=True, sms=3, n=120, n_needed=math.inf,
                min_n=30, p_value=0.001, benefit=0.1, benefit_low=0.05, benefit_high=0.15, ci_excludes_null=True,
                sensitivity_passed=True)
    base.update(kw)
    return PrimaryFinding(**base)


def words(reason, n_shown="120", sec=""):
    return reason_text(reason, n_shown=n_shown, labels=LABELS, min_n=30, secondary_words=sec)


def test_held_back_by_the_number_of_young_people():
    r = explain(finding(n=51), RULES)
    assert r.category == "continue" and r.missed_category == "expand"
    assert [(c.name, c.value, c.needed) for c in r.missed] == [("n_at_least", 51.0, 60.0)]
    assert r.rule_id == 7 and r.missed_rule_id == 6  # positions in the packaged rules file
    assert words(r, "51") == "Held back from Expand: 51 young people, 60 needed to expand"


def test_held_back_by_the_hidden_bias_check_with_its_number():
    checks = (Check("e_value", 1.6, 1.25, True), Check("rosenbaum", 1.05, 1.1, False))
    r = explain(finding(sensitivity_passed=False), RULES, checks=checks)
    assert r.category == "continue"
    (cond,) = r.missed
    assert cond.name == "sensitivity_passed" and [c.kind for c in cond.checks] == ["rosenbaum"]
    assert words(r) == "Held back from Expand: hidden-bias check failed (Γ = 1.05, needs 1.1)"


def test_two_reasons_are_both_given():
    checks = (Check("rosenbaum", None, 1.1, False), Check("e_value", 1.17, 1.25, False))
    r = explain(finding(n=51, sensitivity_passed=False), RULES, checks=checks)
    assert words(r, "51") == ("Held back from Expand: hidden-bias check failed (Γ: fails even at 1, needs 1.1; "
                              "E-value 1.17, needs 1.25); 51 young people, 60 needed to expand")


def test_before_after_primary_says_the_matched_fall_was_secondary():
    outcomes = [{"primary": True, "ok": True, "verdict": "improved", "sms": 1, "design": "prepost"},
                {"primary": False, "ok": True, "verdict": "improved", "sms": 3, "design": "matched",
                 "label": "Proven reoffending within 12 months", "estimate": {"estimate": -0.09}},
                {"primary": False, "ok": True, "verdict": "inconclusive", "sms": 3, "design": "matched"}]
    sec = comparison_secondary(outcomes, 1)
    assert sec is not None and sec["design"] == "matched"
    r = explain(finding(sms=1, sensitivity_passed=None), RULES, secondary=sec)
    assert r.category == "before_after_only" and r.missed_category == "continue"
    text = words(r, sec=secondary_words(sec, {"matched": "matched comparison"}, "−9.0 percentage points"))
    assert text == ("Held back from Promising: no comparison group (evidence level 1, needs 2). Proven reoffending "
                    "within 12 months improved in a matched comparison (−9.0 percentage points), but it was a "
                    "secondary outcome and cannot decide")
    # no stronger secondary, nothing said; an inconclusive one does not count
    assert comparison_secondary(outcomes[:1] + outcomes[2:], 1) is None


def test_not_significant_after_portfolio_control_gives_the_adjusted_p_value():
    f = finding(significant=False, p_value=0.03)
    r = explain(f, RULES, q_value=0.081)
    assert r.category == "improve_evidence"
    assert words(r) == ("Not significant once all interventions tested are allowed for (adjusted p = 0.08, "
                        "needs below 0.05)")
    inconclusive = explain(finding(significant=False, ci_excludes_null=False, benefit_low=-0.02), RULES)
    assert "the interval includes no change" in words(inconclusive)


def test_too_few_and_futility_and_harm_are_worded_from_their_own_rule():
    assert words(explain(finding(n=12), RULES), "[c]").startswith("Fewer than 30 young people")
    futile = finding(significant=False, ci_excludes_null=False, benefit_low=-0.05, benefit_high=0.02, mwe=0.05)
    r = explain(futile, RULES)
    assert r.category == "redesign" and [c.name for c in r.fired] == ["worthwhile_unlikely"]
    assert words(r).startswith("The whole interval lies below the smallest effect worth paying for")
    harm = explain(finding(direction="harmful", sms=1, sensitivity_passed=None), RULES)
    assert harm.category == "safeguarding_review" and words(harm) == "Significant worsening with no comparison group"


def test_a_category_the_engine_has_never_seen_gets_a_reason_from_its_conditions():
    # a VRU's rules (or issue 19's) with a new category between Expand and Promising: no code knows it
    cats = {**RULES.categories, "stronger_design": {"label": "Needs a stronger design", "meaning": "..."}}
    rules = list(RULES.rules)
    at = next(i for i, r in enumerate(rules) if r["category"] == "continue")
    rules.insert(at, {"category": "stronger_design",
                      "when": {"direction": "beneficial", "significant": True, "sms_at_least": 4}})
    custom = Rules(categories=cats, rules=tuple(rules))
    r = explain(finding(n=51), custom)
    assert r.category == "continue"
    # Expand misses one condition (n), the new category one too (SMS): the better (earlier) one is named
    assert r.missed_category == "expand"
    r2 = explain(finding(), Rules(categories=cats, rules=tuple(x for x in rules if x["category"] != "expand")))
    assert r2.missed_category == "stronger_design"
    assert [(c.name, c.value, c.needed) for c in r2.missed] == [("sms_at_least", 3.0, 4.0)]
    assert reason_text(r2, n_shown="120", labels={k: v["label"] for k, v in cats.items()}) == \
        "Held back from Needs a stronger design: a weaker comparison (evidence level 3, needs 4)"


@pytest.mark.parametrize("value, text, per_pound", [
    ({"kind": "matched", "conclusive": True, "beneficial": True, "bcr": {"point": 1.25, "low": 0.61, "high": 1.89}},
     "£1.25 returned per £1 spent (£0.61 to £1.89)", 1.25),
    ({"kind": "matched", "conclusive": False, "bcr": {"point": None, "low": -1.69, "high": 0.30}},
     "Costs more than it saves (at most £0.30 returned per £1)", None),
    ({"kind": "matched", "conclusive": False, "bcr": {"point": None, "low": -0.5, "high": 2.4}},
     "Uncertain: up to £2.40 returned per £1 spent; may cost more than it saves", None),
    ({"kind": "not_monetised"}, "Not monetised", None),
])
def test_value_for_money_has_one_vocabulary_and_no_negative_amounts(value, text, per_pound):
    assert value_text(value) == text
    assert "−" not in text and "-£" not in text
    assert value_numbers(value)["vfm_per_pound"] == per_pound


def test_expand_shows_the_numbers_that_earned_it():
    checks = (Check("rosenbaum", 1.4, 1.1, True), Check("e_value", 1.9, 1.25, True))
    r = explain(finding(n=158), RULES, checks=checks)
    assert r.category == "expand" and r.missed_category is None
    # in the order the rules file lists the conditions
    assert words(r, "158") == ("Met every condition to expand: evidence level 3 (needs 3); hidden-bias checks "
                               "passed (Γ = 1.4, needs 1.1; E-value 1.9, needs 1.25); 158 young people (60 needed)")


def test_a_category_changed_by_the_portfolio_wide_allowance_is_listed():
    """Twenty interventions: one with p = 0.04 is Expand judged alone; among nineteen nulls the portfolio's
    false-discovery control makes it not significant, and the method section lists the change."""
    import pandas as pd

    from evalkit.analysis.commissioning import finding_json, portfolio_categories
    from evalkit.report.portfolio import category_changes

    prims = {}
    for k in range(20):
        p = 0.04 if k == 0 else 0.3 + 0.03 * k
        f = finding(intervention_id=f"INT{k:02d}", p_value=p, significant=k == 0, ci_excludes_null=k == 0,
                    benefit_low=0.01 if k == 0 else -0.05)
        own = RULES.classify(f)
        prims[f"INT{k:02d}"] = {"finding": finding_json(f), "category": own.key, "category_label": own.label}
    decided = portfolio_categories(prims, rules_path=RULES_PATH)
    tab = pd.DataFrame([{"intervention_id": i, "title": i, "report_category": prims[i]["category"],
                         "report_category_label": prims[i]["category_label"], "category": d["category"],
                         "category_label": d["category_label"], "q_value": d["q_value"]}
                        for i, d in decided.items()])
    changed = category_changes(tab)
    assert [c["intervention_id"] for c in changed] == ["INT00"]
    assert changed[0]["report_category_label"] == "Expand" and changed[0]["category_label"] != "Expand"
    assert changed[0]["q_value"] > 0.05
