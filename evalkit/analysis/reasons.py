"""Why each intervention got its commissioning category, as data: the rule, and the numbers that decided it.

The commissioning rules (:mod:`evalkit.analysis.commissioning`, ``commissioning_rules.yaml``) are read in
order and the first whose every condition holds decides. "Promising" alone does not tell a board what to do:
INT26 was held back because 51 young people took part where the rules ask 60, INT01 because its result could
be removed by a little hidden bias (Γ = 1.05 where the rules ask 1.1). Those call for different actions (more
young people; a stronger design), so the reason names the rule that fired and, for the nearest better
category the intervention missed, **which of that rule's conditions failed and the number that decided it**.

The engine is generic over the rules file: it knows each *condition* (how to read its quantity from the
finding), not each category, so a VRU's own rules, or new categories, get reasons without code. A condition
it does not know is still reported (as not met), without a number.

Everything here is data (:class:`Reason`, :class:`Condition`, :class:`Check`); the report layer words it
(:func:`evalkit.report.portfolio.reason_text`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from evalkit.analysis.commissioning import PrimaryFinding, Rules, _holds, hidden_bias


@dataclass(frozen=True)
class Check:
    """One hidden-bias or design check behind ``sensitivity_passed``, with its number and threshold.

    ``kind``: "e_value" (E-value for the interval's near end), "rosenbaum" (Rosenbaum Γ at which the
    matched result stops being significant), "pre_trends" (design checks of a difference-in-differences),
    "placebo" (placebo-area p-value), "clusters" (enough districts for the bootstrap to reach alpha).
    ``value`` is None when the check has no single number (pre-trends).
    """

    kind: str
    value: float | None
    needed: float | None
    passed: bool

    def as_json(self) -> dict:
        return {"kind": self.kind, "value": _finite(self.value), "needed": _finite(self.needed),
                "passed": self.passed}


@dataclass(frozen=True)
class Condition:
    """One condition of a rule, as it held (or not) for this finding.

    ``name`` is the rules file's condition (``n_at_least``, ``sensitivity_passed``...); ``wanted`` its value in
    the rule; ``value`` and ``needed`` the deciding quantity and its threshold where there is one (participants
    and the rule's minimum; the SMS level and the rule's minimum; the adjusted p-value and alpha); ``checks``
    the hidden-bias checks behind ``sensitivity_passed``: those that failed when it failed, all when it held.
    """

    name: str
    wanted: Any
    held: bool
    value: float | str | None = None
    needed: float | None = None
    checks: tuple[Check, ...] = ()
    detail: str = ""  # for "significant": "interval" (includes no effect), "adjusted" (p after control), "n"


@dataclass(frozen=True)
class Reason:
    """Why one intervention has its category.

    Attributes
    ----------
    rule_id
        1-based position of the rule that fired in the rules file.
    category
        The category it gave.
    fired
        That rule's conditions (all held); what decided it when it has any.
    missed_category, missed_rule_id
        The nearest better category the intervention came closest to (same direction of effect; fewest
        failed conditions, the earlier rule on a tie), and its rule; None when there is none.
    missed
        That rule's conditions that failed, each with its deciding number.
    secondary
        Where the primary result has no comparison group (before/after) but a secondary outcome shows a
        significant benefit from a comparison design: that outcome's label, design and estimate, so the page
        can say the decision rests on the pre-registered primary.
    """

    intervention_id: str
    rule_id: int
    category: str
    fired: tuple[Condition, ...]
    missed_category: str | None = None
    missed_rule_id: int | None = None
    missed: tuple[Condition, ...] = ()
    secondary: dict | None = field(default=None)

    def as_json(self) -> dict:
        def cond(c: Condition) -> dict:
            return {"name": c.name, "wanted": c.wanted, "held": c.held, "value": _finite(c.value),
                    "needed": _finite(c.needed), "detail": c.detail, "checks": [k.as_json() for k in c.checks]}
        return {"rule_id": self.rule_id, "category": self.category, "fired": [cond(c) for c in self.fired],
                "missed_category": self.missed_category, "missed_rule_id": self.missed_rule_id,
                "missed": [cond(c) for c in self.missed], "secondary": self.secondary}


def _finite(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def condition(name: str, wanted: Any, f: PrimaryFinding, *, q_value: float | None = None,
              checks: tuple[Check, ...] = ()) -> Condition:
    """How one rule condition stands for finding ``f``, with the quantity that decides it."""
    try:
        held = _holds(name, wanted, f)
    except Exception:  # noqa: BLE001 - a condition this version of the rules engine cannot read
        held = False
    value: float | str | None = None
    needed: float | None = None
    detail = ""
    failed_checks: tuple[Check, ...] = ()
    if name == "direction":
        value = f.direction
    elif name == "significant":
        if f.n_below_min:
            detail, value, needed = "n", float(f.n), float(f.min_n)
        elif not f.ci_excludes_null:
            detail = "interval"
        else:
            detail, needed = "adjusted", float(f.alpha)
            value = float(q_value) if q_value is not None and math.isfinite(q_value) else None
    elif name in ("sms_at_least", "sms_below"):
        value, needed = float(f.sms), float(wanted)
    elif name == "n_at_least":
        value, needed = float(f.n), float(wanted)
    elif name == "n_below_min":
        value, needed = float(f.n), float(f.min_n)
    elif name == "adequately_powered":
        if f.mde is not None and f.mwe is not None:
            detail, value, needed = "mde", float(f.mde), float(f.mwe)
        else:
            detail, value, needed = "n", float(f.n), float(f.n_needed)
    elif name == "worthwhile_unlikely":
        detail = "mwe"
        value = f.benefit_high if math.isfinite(f.benefit_high) else None
        needed = f.mwe
    elif name == "sensitivity_passed":
        # a failed condition keeps the checks that failed; a condition that held keeps them all (their numbers)
        failed_checks = tuple(c for c in checks if not c.passed) if not held else tuple(checks)
        if f.sensitivity_passed is None:
            detail = "none_applies"
    elif name == "checks_failed":
        # held with wanted true: the checks that failed (placebo included); else all of them, with their numbers
        failed_checks = tuple(c for c in checks if not c.passed) if f.checks_failed else tuple(checks)
    elif name == "at_least_mwe":
        detail = "mwe"
        value = f.benefit if math.isfinite(f.benefit) else None
        needed = f.mwe
    elif name == "replicated":
        value, needed = float(f.cohorts_agreeing), 2.0
    elif name == "comparison_design":
        value = f.design or ""
    return Condition(name, wanted, bool(held), value, needed, failed_checks, detail)


def _direction_of(rule: dict) -> str | None:
    return (rule.get("when") or {}).get("direction")


def explain(f: PrimaryFinding, rules: Rules, *, q_value: float | None = None, checks: tuple[Check, ...] = (),
            secondary: dict | None = None) -> Reason:
    """The rule that decides ``f`` and, for the nearest better category it missed, what failed and by how much.

    "Better" candidates are the rules before the one that fired that speak to the same direction of effect
    (a beneficial finding is compared with the beneficial rules above it: Expand above Promising); among them
    the one with the fewest failed conditions, the earlier (better) on a tie. A harmful finding is compared with the
    harmful rules above it. Catch-all rules (no conditions) are never candidates.
    """
    fired_i = next(i for i, r in enumerate(rules.rules)
                   if all(_safe_holds(k, v, f) for k, v in (r.get("when") or {}).items()))
    fired = rules.rules[fired_i]

    def conds(rule: dict) -> tuple[Condition, ...]:
        return tuple(condition(k, v, f, q_value=q_value, checks=checks) for k, v in (rule.get("when") or {}).items())

    fired_conds = conds(fired)
    best: tuple[int, int] | None = None  # (failed count, index): the better category on a tie
    best_i = None
    if not (fired.get("when") or {}).get("area_wide") and not (fired.get("when") or {}).get("n_below_min"):
        for i, rule in enumerate(rules.rules[:fired_i]):
            if rule["category"] == fired["category"] or not rule.get("when"):
                continue
            if (rule.get("when") or {}).get("checks_failed") is True:
                continue  # a rule for failed checks is never a better category to be held back from
            direction = _direction_of(rule)
            if direction is None or direction != f.direction:
                continue
            failed = sum(not c.held for c in conds(rule))
            key = (failed, i)
            if best is None or key < best:
                best, best_i = key, i
    missed_cat = missed_id = None
    missed: tuple[Condition, ...] = ()
    if best_i is not None:
        missed_cat, missed_id = rules.rules[best_i]["category"], best_i + 1
        missed = tuple(c for c in conds(rules.rules[best_i]) if not c.held)
    return Reason(f.intervention_id, fired_i + 1, fired["category"], fired_conds, missed_cat, missed_id, missed,
                  secondary)


def _safe_holds(name: str, value: Any, f: PrimaryFinding) -> bool:
    try:
        return _holds(name, value, f)
    except Exception:  # noqa: BLE001
        return False


# --------------------------------------------------------------------------- inputs from the analysis
def sensitivity_checks(protocol: Any, o: Any, rules: Rules) -> tuple[Check, ...]:
    """The hidden-bias and design checks of a primary result with their numbers (what
    :func:`evalkit.analysis.runner.sensitivity_passed` combines into one yes or no)."""
    out: list[Check] = []
    design = getattr(o, "design", "")
    details = getattr(o, "details", None)
    if design == "matched" and details is not None:
        # The thresholds are a hidden factor as strong as prior offending (runner.hidden_bias), the constants as
        # floors; Γ counts only when the matched-pair test is significant at Γ = 1 (as runner.sensitivity_passed).
        hb = hidden_bias(o, rules)
        e_ci, e_need, g, g_need = hb["e_value_ci"], hb["e_value_needed"], hb["gamma_critical"], hb["gamma_needed"]
        if e_ci is not None and e_need is not None:
            out.append(Check("e_value", float(e_ci), float(e_need), bool(e_ci >= e_need)))
        if g is not None and g > 1.0 and g_need is not None:
            out.append(Check("rosenbaum", float(g), float(g_need), bool(g >= g_need)))
    if design in ("matched", "did") and details is not None and getattr(details, "placebo", None) is not None:
        pl = details.placebo
        out.append(Check("placebo_outcome", float(pl.estimate.estimate), 0.0, not pl.failed))
    elif design == "did":
        out.append(Check("pre_trends", None, None, bool(o.sms >= 3)))
    elif design == "area_did":
        out.append(Check("pre_trends", None, None, bool(o.sms >= 3)))
        placebo = getattr(getattr(o, "result", None), "placebo", None)
        if placebo is not None:
            out.append(Check("placebo", float(placebo.p_value), float(protocol.alpha),
                             bool(placebo.p_value < protocol.alpha)))
        g = int(getattr(getattr(o, "result", None), "n_clusters", 0) or 0)
        out.append(Check("clusters", float(g), float(protocol.alpha), bool(g and 2 / 2 ** g < protocol.alpha)))
    return tuple(out)


def checks_from_json(items: Any) -> tuple[Check, ...]:
    """The checks saved in ``findings.json`` (``primary.checks``)."""
    out = []
    for c in items or ():
        if isinstance(c, dict) and "kind" in c:
            out.append(Check(str(c["kind"]), c.get("value"), c.get("needed"), bool(c.get("passed"))))
    return tuple(out)


def comparison_secondary(outcomes: Any, primary_sms: int) -> dict | None:
    """A secondary outcome with a significant benefit from a stronger design than the primary's, if any.

    ``outcomes``: the ``outcomes`` list of ``findings.json``. The strongest such (highest SMS, then the first)."""
    best = None
    for o in outcomes or ():
        if o.get("primary") or not o.get("ok") or o.get("verdict") != "improved":
            continue
        sms = int(o.get("sms") or 0)
        if sms <= primary_sms or sms < 2:
            continue
        if best is None or sms > int(best.get("sms") or 0):
            best = o
    if best is None:
        return None
    return {"label": best.get("label", ""), "design": best.get("design", ""), "sms": int(best.get("sms") or 0),
            "estimate": best.get("estimate")}


__all__ = ["Check", "Condition", "Reason", "explain", "condition", "sensitivity_checks", "checks_from_json",
           "comparison_secondary"]
