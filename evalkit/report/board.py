"""The board pack's words: a decision's reason, value for money in one vocabulary, and the glossary.

Pure functions of data. The reason comes from :func:`evalkit.analysis.reasons.explain` (the rule that fired
and, for the better category missed, the conditions that failed with their numbers); the value for money from
each report's ``findings.json`` (``value``). Nothing here computes a statistic.

One vocabulary for value for money, everywhere on the portfolio page and in its exports:

* a costed outcome: "£1.25 returned per £1 spent (£0.61 to £1.89)"; a range alone when the effect is
  uncertain; "costs more than it saves" when even the top of the range is below £1 (never a negative
  amount "avoided");
* an area programme: its cost per resident, in its own column (never a cost per participant: the money
  buys a whole area's change, not the few young people it recorded);
* "not monetised" when the outcome has no agreed money value.
"""

from __future__ import annotations

import html
import math
from typing import Any

from evalkit.analysis.reasons import Reason

#: What each category is called in a reason ("held back from Expand"); the rules file's label otherwise.
SHORT_LABELS = {"expand": "Expand", "expand_replicating": "Expand while replicating", "continue": "Promising",
                "stronger_design": "Needs a stronger design", "before_after_only": "Improvement seen"}

#: One line per technical term that stays on the page; ``glossary_link`` links its first use here.
GLOSSARY: dict[str, tuple[str, str]] = {
    "interval": ("95% interval", "The range of effects the data are consistent with; if it includes no change, "
                                 "the result is inconclusive."),
    "significant": ("Significant", "The interval excludes no change, enough young people took part, and the "
                                   "result still holds after allowing for the number of interventions tested."),
    "sms": ("Evidence level (Maryland scale)", "How strongly the design can show cause: 1 before and after "
                                              "only, 2 a weak comparison, 3 a matched or area comparison, 5 a "
                                              "randomised trial."),
    "gamma": ("Hidden-bias check (Γ)", "How much more likely to be referred an unrecorded factor could make a "
                                       "young person before a matched result stops being significant; 1 is "
                                       "none, and the rules ask for at least the stated value."),
    "e_value": ("E-value", "How strong an unrecorded factor would have to be (as a risk ratio with both "
                           "referral and outcome) to move the interval to include no effect."),
    "placebo": ("Placebo-area check", "The same analysis run on areas that had no programme; a real effect "
                                      "should stand out from them."),
    "multiple": ("Allowing for many interventions", "With many interventions tested some would look "
                                                    "significant by chance; the portfolio adjusts each "
                                                    "p-value so that chance findings stay few."),
    "p": ("p-value", "How often a result at least this large would appear by chance if the intervention had no "
                     "effect; smaller is stronger evidence."),
    "vfm": ("£ returned per £1 spent", "Crime costs to victims and public services avoided (Home Office unit "
                                       "costs of crime) for each £1 the intervention cost; below £1 it costs "
                                       "more than it saves."),
    "primary": ("Primary outcome", "The outcome named before the data were seen, on which the decision is made; "
                                   "other outcomes are secondary and cannot change the decision."),
    "standardised": ("Standardised effect", "An effect divided by the spread of the outcome, so that different "
                                            "outcomes can be drawn on one scale (0.2 small, 0.5 medium)."),
}


def glossary_link(key: str, text: str | None = None) -> str:
    """``text`` (default: the term) linked to its glossary line."""
    term = text if text is not None else GLOSSARY[key][0]
    return f"<a class='term' href='#g-{key}'>{html.escape(term)}</a>"


def glossary_html(keys: list[str] | None = None) -> str:
    """The glossary: one line per term, each with an anchor the page's first uses link to."""
    items = [(k, v) for k, v in GLOSSARY.items() if keys is None or k in keys]
    return "<dl class='glossary'>" + "".join(
        f"<dt id='g-{k}'>{html.escape(term)}</dt><dd>{html.escape(text)}</dd>" for k, (term, text) in items) + "</dl>"


# --------------------------------------------------------------------------- numbers
def _n(v: Any) -> str:
    return f"{float(v):,.0f}" if _known(v) else "not known"


def _g(v: Any) -> str:
    """1.05, 1.1, 1.25: two decimals at most, no trailing zeros."""
    return f"{float(v):.2f}".rstrip("0").rstrip(".") if _known(v) else "not known"


def _p(v: Any) -> str:
    if not _known(v):
        return "not known"
    v = float(v)
    return "below 0.001" if v < 0.001 else f"{v:.3f}".rstrip("0").rstrip(".") if v < 0.01 else f"{v:.2f}"


def _known(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def _bias_words(c: dict) -> str:
    """A hidden-bias check's number against the rules' threshold: 'Γ = 1.05, needs 1.1'."""
    kind, value, needed = c.get("kind"), c.get("value"), c.get("needed")
    if kind == "rosenbaum":
        if value is None:
            return f"Γ: fails even at 1, needs {_g(needed)}" if needed else "Γ: fails even at 1"
        if value == math.inf:
            return f"Γ above 1,000, needs {_g(needed)}"
        return f"Γ = {_g(value)}, needs {_g(needed)}"
    return f"E-value {_g(value)}, needs {_g(needed)}"


def _checks_words(checks: list[dict]) -> str:
    """The failed checks: the hidden-bias ones together ('hidden-bias check failed (Γ = 1.05, needs 1.1;
    E-value 1.17, needs 1.25)'), then the design checks."""
    bias = [c for c in checks if c.get("kind") in ("rosenbaum", "e_value")]
    bias.sort(key=lambda c: c.get("kind") != "rosenbaum")  # Γ first: the check the rules name first
    parts = [f"hidden-bias check failed ({'; '.join(_bias_words(c) for c in bias)})"] if bias else []
    for c in checks:
        kind, value, needed = c.get("kind"), c.get("value"), c.get("needed")
        if kind == "pre_trends":
            parts.append("the groups' trends differed before the start")
        elif kind == "placebo":
            parts.append(f"placebo-area check failed (p = {_p(value)}, needs below {_g(needed)})")
        elif kind == "clusters":
            parts.append(f"too few comparison areas ({_n(value)}) for a significant check")
        elif kind == "placebo_outcome":
            parts.append("placebo check failed (those referred already offended differently before the programme)")
        elif kind not in ("rosenbaum", "e_value", "placebo_outcome", "clusters", "placebo", "pre_trends"):
            parts.append("a check for hidden bias failed")
    return "; ".join(parts) or "a check for hidden bias failed"


def condition_words(c: dict, *, n_shown: str, missed_label: str) -> str:
    """One failed (or deciding) condition in words, with its number."""
    name, value, needed, detail = c.get("name"), c.get("value"), c.get("needed"), c.get("detail", "")
    if name in ("n_at_least",):
        people = n_shown if n_shown and n_shown[0].isdigit() else None
        return (f"{people} young people, {_n(needed)} needed to {missed_label.lower()}" if people
                else f"fewer than {_n(needed)} young people, {_n(needed)} needed to {missed_label.lower()}")
    if name == "n_below_min" or (name == "significant" and detail == "n"):
        return f"fewer than {_n(needed)} young people, too few to call any result significant"
    if name == "sms_at_least":
        what = "no comparison group" if value is not None and value < 2 else "a weaker comparison"
        return f"{what} (evidence level {_n(value)}, needs {_n(needed)})"
    if name == "sms_below":
        return f"evidence level {_n(value)}"
    if name == "significant":
        if c.get("wanted") is False or c.get("held"):
            return "significant"
        if detail == "interval":
            return "inconclusive: the interval includes no change"
        if detail == "adjusted" and value is not None:
            return (f"not significant once all interventions tested are allowed for (adjusted p = {_p(value)}, "
                    f"needs below {_g(needed)})")
        return "not significant"
    if name == "sensitivity_passed":
        checks = c.get("checks") or []
        if detail == "none_applies":
            return "no check for hidden bias applies to this design"
        return _checks_words(list(checks))
    if name == "adequately_powered":
        if detail == "mde":
            return "the design cannot detect the smallest worthwhile effect"
        return (f"{n_shown} young people, about {_n(needed)} needed to detect a worthwhile effect"
                if needed is not None and math.isfinite(needed) and n_shown[:1].isdigit()
                else "too few young people to detect a worthwhile effect")
    if name == "worthwhile_unlikely":
        return "the whole interval lies below the smallest effect worth paying for"
    if name == "checks_failed":
        return _checks_words([k for k in c.get("checks") or [] if not k.get("passed")])
    if name == "placebo_failed":
        return "placebo check failed (those referred already offended differently before the programme)"
    if name == "at_least_mwe":
        return "the estimate is smaller than the smallest effect worth paying for"
    if name == "replicated":
        return "one cohort so far: a second with the same protocol has not yet confirmed it"
    if name == "value_below_break_even":
        return "the value for money is clearly below break-even"
    if name == "comparison_design":
        return "no comparison group"
    if name == "direction":
        return {"beneficial": "outcomes improved", "harmful": "outcomes got worse"}.get(str(value), "no change")
    if name == "area_wide":
        return "area-wide trends: context for the whole portfolio"
    return "a condition of the commissioning rules was not met"


def _met_words(c: dict, n_shown: str) -> str:
    """A condition that held, with its number against the threshold (the page shows why Expand is earned)."""
    name, value, needed = c.get("name"), c.get("value"), c.get("needed")
    if name == "n_at_least" and n_shown[:1].isdigit():
        return f"{n_shown} young people ({_n(needed)} needed)"
    if name == "sms_at_least":
        return f"evidence level {_n(value)} (needs {_n(needed)})"
    if name == "sensitivity_passed":
        shown = [k for k in c.get("checks") or [] if k.get("kind") in ("rosenbaum", "e_value")
                 and _known(k.get("value"))]
        shown.sort(key=lambda k: k.get("kind") != "rosenbaum")
        return ("hidden-bias checks passed (" + "; ".join(_bias_words(k) for k in shown) + ")") if shown \
            else "checks for hidden bias passed"
    return ""


def reason_text(reason: Reason | dict, *, n_shown: str, labels: dict[str, str], min_n: int = 30,
                secondary_words: str = "") -> str:
    """The decision's reason, short and specific: the rule that decided it with the number that decided it.

    Examples: "Held back from Expand: 51 young people, 60 needed to expand"; "Held back from Expand: hidden-bias
    check failed (Γ = 1.05, needs 1.1)"; "Inconclusive: the interval includes no change".
    """
    r = reason.as_json() if isinstance(reason, Reason) else reason
    fired = r.get("fired") or []
    cat = r.get("category")
    names = {c["name"] for c in fired}
    missed_cat = r.get("missed_category")
    missed_label = SHORT_LABELS.get(missed_cat or "", labels.get(missed_cat or "", "a better category"))
    if "area_wide" in names:
        text = "Area-wide trends: context, no decision"
    elif any(c["name"] == "checks_failed" and c.get("wanted") is True for c in fired):
        failed = next(c for c in fired if c["name"] == "checks_failed")
        text = "Held back: " + condition_words(failed, n_shown=n_shown, missed_label=missed_label)
    elif "n_below_min" in names:
        text = f"Fewer than {min_n} young people in the result: too few to call it"
    elif "worthwhile_unlikely" in names:
        text = "The whole interval lies below the smallest effect worth paying for"
    elif missed_cat and r.get("missed") and fired and any(c["name"] == "direction" and c["value"] == "beneficial"
                                                         for c in fired):
        text = f"Held back from {missed_label}: " + "; ".join(
            condition_words(c, n_shown=n_shown, missed_label=missed_label) for c in r["missed"])
    elif fired and all(c.get("held") for c in fired) and cat == "expand":
        met = [_met_words(c, n_shown) for c in fired]
        text = "Met every condition to expand" + (": " + "; ".join(m for m in met if m) if any(met) else "")
    elif "direction" in names and any(c["value"] == "harmful" for c in fired if c["name"] == "direction"):
        design = next((c for c in fired if c["name"] in ("sms_below", "sensitivity_passed")), None)
        text = "Significant worsening" + (
            " with no comparison group" if design and design["name"] == "sms_below" else
            " from a comparison design that passed its checks" if design else
            " that hidden bias or chance could explain")
    elif not fired and r.get("missed"):
        text = "; ".join(condition_words(c, n_shown=n_shown, missed_label=missed_label) for c in r["missed"]
                         if c["name"] in ("significant", "sensitivity_passed", "worthwhile_unlikely")) \
            or "The rules' other conditions were not met"
        text = text[:1].upper() + text[1:]
    else:
        text = "No other rule applied"
    return text + (f". {secondary_words}" if secondary_words else "")


def secondary_words(sec: dict | None, design_words: dict[str, str], effect: str = "") -> str:
    """'Proven reoffending within 12 months improved in a matched comparison (−9.0 percentage points), but it was
    a secondary outcome and cannot decide' (the decision rests on the pre-registered primary outcome)."""
    if not sec:
        return ""
    design = design_words.get(sec.get("design", ""), "comparison design")
    label = str(sec.get("label", "")).split(" (")[0]
    return (f"{label} improved in a {design}{f' ({effect})' if effect else ''}, but it was a secondary outcome "
            "and cannot decide")


# --------------------------------------------------------------------------- value for money
def _pounds(v: float) -> str:
    return f"£{v:,.2f}"


def value_numbers(value: Any) -> dict:
    """Value for money as numbers with their unit (the export's columns); empty values are None.

    ``vfm_per_pound`` / ``_low`` / ``_high``: £ of crime costs avoided per £1 spent (the point only when the
    effect is conclusive); ``area_cost_per_resident``: £ a year per resident, area programmes only.
    """
    out: dict = {"vfm_kind": "none", "vfm_per_pound": None, "vfm_low": None, "vfm_high": None,
                 "vfm_unit": "", "area_cost_per_resident": None}
    if not isinstance(value, dict):
        return out
    kind = value.get("kind")
    if kind == "area":
        cpr = value.get("cost_per_resident")
        out.update(vfm_kind="area", area_cost_per_resident=cpr if isinstance(cpr, (int, float)) else None)
        return out
    if kind == "not_monetised":
        out.update(vfm_kind="not_monetised")
        return out
    bcr = value.get("bcr") or {}
    if bcr.get("low") is None or bcr.get("high") is None:
        return out
    out.update(vfm_kind="per_pound", vfm_per_pound=bcr.get("point"), vfm_low=bcr["low"], vfm_high=bcr["high"],
               vfm_unit="£ returned per £1 spent")
    return out


def value_text(value: Any) -> str:
    """The value-for-money cell: '£1.25 returned per £1 spent (£0.61 to £1.89)', 'costs more than it saves',
    'uncertain: up to £0.94 returned per £1 spent', 'not monetised', or '–'. Never a negative amount."""
    v = value_numbers(value)
    if v["vfm_kind"] == "not_monetised":
        return "Not monetised"
    if v["vfm_kind"] != "per_pound":
        return "–"
    low, high, point = v["vfm_low"], v["vfm_high"], v["vfm_per_pound"]
    if high < 1:
        return "Costs more than it saves" + (f" (at most {_pounds(high)} returned per £1)" if high > 0 else "")
    if point is not None and isinstance(value, dict) and value.get("beneficial") is False:
        return "Costs more than it saves (offending rose)"
    if point is not None and low >= 0:
        return f"{_pounds(point)} returned per £1 spent ({_pounds(low)} to {_pounds(high)})"
    if low >= 1:
        return f"{_pounds(low)} to {_pounds(high)} returned per £1 spent"
    lo = f"{_pounds(low)} to " if low >= 0 else ""
    return (f"Uncertain: {lo}up to {_pounds(high)} returned per £1 spent; may cost more than it saves"
            if not lo else f"Uncertain: {lo}{_pounds(high)} returned per £1 spent; may cost more than it saves")


def area_value_text(value: Any) -> str:
    """An area programme's cost per resident ('£0.42 per resident a year'), or '–'."""
    v = value_numbers(value)
    cpr = v["area_cost_per_resident"]
    return f"£{cpr:,.2f} per resident" if v["vfm_kind"] == "area" and cpr is not None and math.isfinite(cpr) else "–"


__all__ = ["reason_text", "condition_words", "secondary_words", "value_numbers", "value_text", "area_value_text",
           "GLOSSARY", "glossary_html", "glossary_link", "SHORT_LABELS"]
