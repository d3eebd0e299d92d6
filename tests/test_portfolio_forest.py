"""The portfolio's forest plots in natural units agree with the decision table's words.

The decision table words each primary effect with :func:`effect_in_words` ("−12.0 percentage points",
"rate 28% lower", "+2.10 points"); each natural-units panel must draw exactly those numbers, so the
picture and the table beside it can never disagree (issue 10: the forest plot in natural units).
"""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from evalkit.report.narrative import MINUS, effect_in_words
from evalkit.report.portfolio import natural_forest_panels, natural_units

CASES = [
    ("risk difference", "Proven reoffending within 12 months", -0.1234, -0.193, -0.047),
    ("rate ratio", "Serious violence (police recorded)", 0.72, 0.57, 0.92),
    ("hazard ratio", "Time to first proven offence", 1.31, 1.02, 1.68),
    ("mean difference", "Mental wellbeing (SWEMWBS metric score, 7-35)", 2.1, 0.4, 3.8),
    ("mean difference", "Proven offences per person", -0.53, -0.81, -0.25),
]


def _numbers(text: str) -> list[float]:
    return [float(x.replace(MINUS, "-")) for x in re.findall(rf"[{MINUS}+-]?\d+(?:\.\d+)?", text)]


@pytest.mark.parametrize("scale, label, est, lo, hi", CASES)
def test_panel_numbers_are_the_table_numbers(scale, label, est, lo, hi):
    value, low, high, axis = natural_units(scale, label, est, lo, hi)
    words = effect_in_words(scale=scale, label=label, estimate=est, ci_low=lo, ci_high=hi, outcome=False)
    printed = _numbers(words)
    if scale.endswith("ratio"):
        # worded as "28% lower" / "31% higher": the size of the % change, its sign in the word
        signs = [-1 if w == "lower" else 1 for w in re.findall(r"lower|higher", words)]
        printed = [s * v for s, v in zip(signs, printed)]
        assert axis.startswith("% change")
    for drawn, shown in zip((value, low, high), printed):
        decimals = len(str(shown).split(".")[1]) if "." in str(shown) and not scale.endswith("ratio") else 0
        assert abs(drawn - shown) <= 0.5 * 10 ** -decimals + 1e-9, (drawn, shown, words)
    assert len(printed) == 3
    unit = {"risk difference": "Percentage points", "mean difference": "Difference"}.get(scale, "% change")
    assert axis.startswith(unit)
    if "SWEMWBS" in label:
        assert "points" in axis and "points" in words
    if "offences per person" in label:
        assert "per person" in axis and "per person" in words


def test_panels_group_by_outcome_and_scale():
    rows = []
    for k, (scale, label, est, lo, hi) in enumerate(CASES + [CASES[0], CASES[0]]):
        rows.append({"intervention_id": f"INT{k:02d}", "title": f"Programme {k}", "outcome": label, "scale": scale,
                     "estimate": est, "ci_low": lo, "ci_high": hi, "n_shown": 100, "sms": 3,
                     "category": "continue" if k % 2 else "expand", "category_label": "x"})
    rows.append(dict(rows[0], intervention_id="INT99", estimate=math.nan))  # not estimated: not drawn
    panels = natural_forest_panels(pd.DataFrame(rows))
    assert [len(p[1]) for p in panels] == [3, 1, 1, 1, 1]  # reoffending has three; the biggest panel first
    outcome, first, axis = panels[0]
    assert outcome == "Proven reoffending within 12 months" and axis.startswith("Percentage points")
    assert list(first["category"]) == ["expand", "expand", "continue"]  # decision order, as in the table
    assert "INT99" not in set(pd.concat([p[1] for p in panels])["intervention_id"])


def test_panel_axis_says_which_side_is_better():
    """A panel's axis says which side is better for young people, read off a result's direction: a rise in
    wellbeing that is beneficial means positive is better; a fall in offences that is beneficial, negative."""
    rows = [{"intervention_id": "INT01", "title": "A", "outcome": CASES[3][1], "scale": "mean difference",
             "estimate": 2.1, "ci_low": 0.4, "ci_high": 3.8, "n_shown": 50, "sms": 1, "category": "expand",
             "category_label": "x", "direction": "beneficial"},
            {"intervention_id": "INT02", "title": "B", "outcome": CASES[4][1], "scale": "mean difference",
             "estimate": -0.53, "ci_low": -0.81, "ci_high": -0.25, "n_shown": 50, "sms": 3, "category": "expand",
             "category_label": "x", "direction": "beneficial"},
            {"intervention_id": "INT03", "title": "C", "outcome": CASES[4][1], "scale": "mean difference",
             "estimate": 0.2, "ci_low": -0.1, "ci_high": 0.5, "n_shown": 50, "sms": 3, "category": "expand",
             "category_label": "x", "direction": "harmful"}]
    axes = {outcome: axis for outcome, _, axis in natural_forest_panels(pd.DataFrame(rows))}
    assert axes["Mental wellbeing (SWEMWBS)"].endswith("(positive = better)"), axes
    assert axes["Proven offences per person"].endswith("(negative = better)"), axes


def test_participants_cell_says_at_least_the_number_analysed_when_the_report_hides_who_started():
    """A report hides the number who started when it is within 10 of its primary result's sample; the
    portfolio then says at least that (published) sample took part, rather than a bare [c]."""
    from evalkit.report.portfolio import participants_text

    hidden = {"n_participants_shown": "[c]", "primary": {"design": "matched", "n": 105, "n_shown": "105"}}
    assert participants_text(hidden, 110, 10) == "[c] (at least 105)"
    shown = {"n_participants_shown": "110", "primary": {"design": "matched", "n": 105, "n_shown": "105"}}
    assert participants_text(shown, 110, 10) == "110"
    small = {"n_participants_shown": "[c]", "primary": {"design": "prepost", "n": 8, "n_shown": "[c]"}}
    assert participants_text(small, 9, 10) == "[c]"
    area = {"n_participants_shown": "[c]", "primary": {"design": "area_did", "n": 2035, "n_shown": "2,035"}}
    assert participants_text(area, 12, 10) == "[c]"  # an area's events are not people who took part
    # the cost per participant is then at most the cost over those analysed (185,000 / 105)
    from evalkit.report.portfolio import cost_per_participant_at_most

    assert cost_per_participant_at_most(hidden, 185_000) == "at most £1,762"
    assert cost_per_participant_at_most(small, 40_000) is None and cost_per_participant_at_most(area, 1) is None
