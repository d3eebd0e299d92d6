"""Plain-English sentences for reports, with honest wording.

Rules (after the Ministry of Justice Justice Data Lab reports):

* A result is called *significant* only when its confidence interval excludes
  no effect **and** at least ``min_n`` participants contributed; below that the
  sentence says the group is too small to tell.
* A non-significant result is *inconclusive*, never "no effect"; where the
  sample size needed to detect the effect seen is known, the sentence says so.
* Binary outcomes are also put as "for 100 typical young people".
* Direction is always stated in terms of the outcome ("fewer", "more",
  "higher", "lower") and whether that is better or worse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from evalkit.labels import MINUS

Direction = Literal["beneficial", "harmful", "none"]


@dataclass(frozen=True)
class Judgement:
    """How a single estimate reads: direction, significance and certainty words."""

    direction: Direction
    significant: bool
    too_small: bool
    certainty: str

    @property
    def verdict(self) -> str:
        if self.too_small:
            return "too few to tell"
        if not self.significant:
            return "inconclusive"
        return "improved" if self.direction == "beneficial" else "worse"


def judge(
    estimate: float,
    ci_low: float,
    ci_high: float,
    *,
    null: float = 0.0,
    higher_is_better: bool,
    n: int,
    min_n: int = 30,
) -> Judgement:
    """Classify an estimate.

    Parameters
    ----------
    estimate, ci_low, ci_high
        Point estimate and confidence limits (ratio scales: pass ``null=1``).
    higher_is_better
        Whether a larger value of the *estimate* means a better outcome for the
        young people (e.g. ``False`` for reoffending differences).
    n, min_n
        Participants behind the estimate and the minimum for significance.
    """
    if estimate is None or not math.isfinite(estimate) or estimate == null:
        direction: Direction = "none"
    elif (estimate > null) == higher_is_better:
        direction = "beneficial"
    else:
        direction = "harmful"
    excludes_null = bool(ci_low > null or ci_high < null) if math.isfinite(ci_low) and math.isfinite(ci_high) else False
    too_small = n < min_n
    significant = excludes_null and not too_small
    if too_small:
        certainty = "too few participants to draw a conclusion"
    elif significant:
        certainty = "the difference is statistically significant"
    else:
        certainty = "the evidence is inconclusive"
    return Judgement(direction, significant, too_small, certainty)


def fmt_num(x: float, digits: int = 1) -> str:
    """Format a number for prose (thousands separator, fixed decimals, a true minus sign: '−25.7')."""
    if x is None or not math.isfinite(x):
        return "not available"
    text = f"{abs(x):,.{digits}f}"
    # a value that rounds to zero is written without a sign ('0.0', not '−0.0')
    return (MINUS if x < 0 and float(text.replace(",", "")) != 0 else "") + text


def effect_sentence(
    *,
    outcome: str,
    estimate: float,
    ci_low: float,
    ci_high: float,
    scale: str,
    higher_is_better: bool,
    n: int,
    min_n: int = 30,
    null: float = 0.0,
    unit: str = "",
    comparison: str = "the comparison group",
    n_needed: float | None = None,
    level: int = 95,
    digits: int = 1,
) -> str:
    """One paragraph describing an effect honestly.

    ``scale`` names what the estimate is (e.g. "difference in the rate",
    "mean change", "rate ratio"); ``unit`` is appended to numbers (e.g.
    " percentage points", " points").
    """
    j = judge(estimate, ci_low, ci_high, null=null, higher_is_better=higher_is_better, n=n, min_n=min_n)
    ci = f"({level}% confidence interval {fmt_num(ci_low, digits)}{unit} to {fmt_num(ci_high, digits)}{unit})"
    head = f"For {outcome}, the estimated {scale} against {comparison} was {fmt_num(estimate, digits)}{unit} {ci}."
    if j.too_small:
        return (f"{head} Only {n} participants contributed, fewer than the {min_n} needed before evalkit calls "
                "any result significant, so this result cannot tell us whether the intervention worked.")
    if j.significant:
        good = "an improvement" if j.direction == "beneficial" else "a worsening"
        return f"{head} This is statistically significant and is {good}: the interval does not include no change."
    tail = (f"{head} The interval includes no change, so the evidence is inconclusive: this does not show the "
            "intervention had no effect, only that this data cannot tell.")
    if n_needed is not None and math.isfinite(n_needed) and n_needed > n:
        tail += (f" To detect an effect of the size seen with 80% power, about {math.ceil(n_needed):,} "
                 "participants would be needed.")
    elif n_needed is not None and not math.isfinite(n_needed):
        tail += " The effect seen is too close to zero for any realistic sample to detect."
    return tail


def per_100_sentence(
    *, treated_rate: float, counterfactual_rate: float, event: str, who: str = "young people like those supported",
    without: str = "had they not taken part",
) -> str:
    """"For 100 typical young people" wording for a binary outcome.

    Rates are proportions (0–1). Numbers are rounded to whole people.
    """
    t = round(100 * treated_rate)
    c = round(100 * counterfactual_rate)
    if t == c:
        return f"For every 100 {who}, about {t} {event}, about the same as {without}."
    more = "fewer" if t < c else "more"
    return (f"For every 100 {who}, about {t} {event}, compared with about {c} {without}: "
            f"{abs(c - t)} {more} in every 100.")


def evidence_sentence(sms: int, reason: str, *, area: bool = False) -> str:
    """Describe a Maryland Scientific Methods Scale level in plain words (``area``: areas, not people, compared)."""
    words = {
        1: "weak: it compares the same people before and after, with no comparison group, so other changes "
           "over time (including young people's natural improvement) cannot be ruled out",
        2: "limited: there is a comparison group, but it is not shown to be comparable",
        3: "moderate: a comparable comparison group was used (matched or with parallel trends)",
        4: "good: a comparison group with careful control of other differences",
        5: "strong: young people were randomly allocated",
    }
    if area:
        words[1] = ("weak: it compares the same areas' rates before and after, with no comparison areas, so "
                    "anything else that changed over time (policing, the pandemic, other programmes) cannot be "
                    "ruled out")
        words[2] = "limited: there are comparison areas, but their trends before the programme differed"
        words[3] = "moderate: comparison areas whose trends before the programme were parallel"
    return f"Strength of evidence: Maryland Scientific Methods Scale level {sms} — {words.get(sms, 'unknown')}. {reason}".strip()


__all__ = ["Judgement", "judge", "effect_sentence", "per_100_sentence", "evidence_sentence", "fmt_num"]
