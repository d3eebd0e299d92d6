"""Report wording: the analysis's honest sentences (re-exported from :mod:`evalkit.analysis.narrative`, where
they moved) and what a report adds for its readers: identifiers in words (:func:`plain_text`), analyst
instructions left out (:func:`reader_reason`), reasons for a commissioning category that fit the facts
(:func:`category_reason`), effects in their natural units (:func:`effect_in_words`) and glosses of the
questionnaires.
"""

from __future__ import annotations

import math
import re

from evalkit.labels import MINUS, effect_unit
from evalkit.analysis.narrative import (Judgement, effect_sentence, evidence_sentence, fmt_num, judge,
                                        per_100_sentence)

_INDEXED = re.compile(r"\b([a-z][a-z0-9_]*)\[([\w ]+)\]")  # sex[female]: a model's dummy column
_SNAKE = re.compile(r"(?<![\w.\\-])([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b(?!\.[a-z]|\()")
_TEXT_NODES = re.compile(r"(<pre\b.*?</pre>|<code\b.*?</code>|<[^>]*>)", re.S | re.I)


def plain_text(text: str) -> str:
    """Identifiers a reader should not meet, in words: 'sex[female]' -> 'sex: female',
    'prior_offences' -> 'prior offences' (file names such as 'comparison_pool.csv' are kept)."""
    text = _INDEXED.sub(lambda m: f"{m.group(1)}: {m.group(2)}", text)
    return _SNAKE.sub(lambda m: m.group(1).replace("_", " "), text)


def plain_html(page: str) -> str:
    """:func:`plain_text` on every text node of an HTML fragment (tags, ``<pre>`` and ``<code>`` kept)."""
    parts = _TEXT_NODES.split(page)
    return "".join(p if i % 2 else plain_text(p) for i, p in enumerate(parts))


def reader_reason(text: str) -> str:
    """An analysis message as a commissioner reads it: the "Fix: ..." instruction (for the analyst, shown in
    the appendix) dropped and table or column names ('comparison_pool') put in words."""
    text = re.split(r"\s*\bFix:", text, maxsplit=1)[0].rstrip(" .;:")
    return re.sub(r"['`]?\b([a-z]+(?:_[a-z0-9]+)+)\b['`]?", lambda m: m.group(1).replace("_", " "), text)


def category_reason(category: str, meaning: str, *, verdict: str, design: str, sms: int, n_text: str,
                    n_needed: float | None, min_n: int, localities: str = "districts") -> str:
    """Why this commissioning category, from the facts of this result.

    The category's general meaning (``commissioning_rules.yaml``) covers several situations ("too few
    participants or too weak a design"); for "improve the evidence" the sentence names the one that applies,
    so a report on 2,035 events never says "too few participants".
    """
    if category != "improve_evidence":
        return meaning
    area = design in ("area_trend", "area_did")
    if verdict == "could not be estimated":
        return "The primary outcome could not be estimated: get the missing data before deciding."
    if verdict == "too few to tell":
        return (f"Fewer than {min_n} young people contributed, too few to call any result significant: collect "
                "more data before deciding.")
    if sms < 3:
        how = f"whole-area trends with no comparison {localities}" if area else "a before-and-after comparison"
        return (f"The design ({how}, Maryland level {sms}) cannot show that the intervention caused the change: "
                "add a comparison group before deciding.")
    if area:
        return (f"The result is inconclusive: the interval includes no change. More comparison {localities} or a "
                "longer period would narrow it.")
    needed = (f"; about {math.ceil(n_needed):,} per group would be needed to detect a worthwhile effect"
              if n_needed is not None and math.isfinite(n_needed) else "")
    return (f"The result is inconclusive with {n_text} young people{needed}: collect more data before "
            "deciding.")



#: Plain-English glosses of the questionnaires a portfolio reader meets, keyed by the word in the label.
GLOSSES = {
    "SDQ": "SDQ: the Strengths and Difficulties Questionnaire, a score of emotional and behavioural "
           "difficulties from 0 to 40 (lower is better; a change of about 2-3 points is noticeable).",
    "SWEMWBS": "SWEMWBS: the Short Warwick-Edinburgh Mental Wellbeing Scale, 7 to 35 (higher is better; a "
               "change of about 1-3 points is meaningful for a person).",
    "WEMWBS": "WEMWBS: the Warwick-Edinburgh Mental Wellbeing Scale, 14 to 70 (higher is better).",
}


def signed(x: float, digits: int = 1) -> str:
    """'+2.0', '−0.4' (a true minus sign; never 'minus −0.4'): :func:`fmt_num` with a plus sign."""
    if x is None or not math.isfinite(x):
        return "not available"
    text = fmt_num(x, digits)
    return text if text.startswith(MINUS) else "+" + text


def effect_in_words(*, scale: str, label: str, estimate: float, ci_low: float, ci_high: float,
                    outcome: bool = True) -> str:
    """A primary effect in the outcome's own units, with its interval, e.g.
    '−12.0 percentage points in proven reoffending within 12 months (95% interval −19.3 to −4.7)';
    ``outcome=False`` leaves the outcome's name out ('−12.0 percentage points (−19.3 to −4.7)')."""
    if estimate is None or not math.isfinite(estimate):
        return "not estimated"
    what = lower_label(label)
    if not outcome:
        full = effect_in_words(scale=scale, label=label, estimate=estimate, ci_low=ci_low, ci_high=ci_high)
        if scale in ("rate ratio", "hazard ratio", "odds ratio"):
            return full.split(": ", 1)[1].replace("95% interval ", "")
        return re.sub(r" (?:in|on) .*\(95% interval ", " (", full)
    if scale == "risk difference":
        return (f"{signed(100 * estimate)} percentage points in {what} "
                f"(95% interval {signed(100 * ci_low)} to {signed(100 * ci_high)})")
    if scale in ("rate ratio", "hazard ratio", "odds ratio"):
        def pct(r: float) -> str:
            if not math.isfinite(r):
                return "not available"
            change = 100 * (r - 1)
            return f"{abs(change):.0f}% {'lower' if change < 0 else 'higher'}"
        noun = "rate" if scale == "rate ratio" else "risk" if scale == "hazard ratio" else "odds"
        return f"{what}: {noun} {pct(estimate)} (95% interval {pct(ci_low)} to {pct(ci_high)})"
    return f"{signed(estimate)} {effect_unit(label)} on {what} (95% interval {signed(ci_low)} to {signed(ci_high)})"


def lower_label(label: str) -> str:
    """A label for use mid-sentence: 'Proven reoffending' -> 'proven reoffending'; 'SDQ total' kept."""
    label = label or ""
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


__all__ = ["Judgement", "judge", "effect_sentence", "per_100_sentence", "evidence_sentence", "fmt_num",
           "reader_reason", "category_reason", "plain_text", "plain_html", "effect_in_words", "effect_unit", "signed",
           "lower_label",
           "GLOSSES", "MINUS"]
