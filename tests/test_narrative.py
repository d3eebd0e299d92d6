"""Honest wording rules of evalkit.analysis.narrative."""

import math

from evalkit.analysis.narrative import effect_sentence, evidence_sentence, judge, per_100_sentence


def test_judge_direction_and_significance():
    j = judge(-0.12, -0.2, -0.04, higher_is_better=False, n=120)
    assert (j.direction, j.significant, j.verdict) == ("beneficial", True, "improved")
    j = judge(0.1, 0.02, 0.18, higher_is_better=False, n=120)
    assert (j.direction, j.verdict) == ("harmful", "worse")
    j = judge(1.3, 0.9, 1.8, null=1.0, higher_is_better=True, n=120)
    assert not j.significant and j.verdict == "inconclusive"


def test_nothing_significant_below_min_n():
    j = judge(-0.3, -0.5, -0.1, higher_is_better=False, n=12, min_n=30)
    assert j.too_small and not j.significant and j.verdict == "too few to tell"
    text = effect_sentence(outcome="reoffending", estimate=-0.3, ci_low=-0.5, ci_high=-0.1, scale="difference",
                           higher_is_better=False, n=12, min_n=30)
    assert "significant" not in text.replace("calls any result significant", "")
    assert "12 participants" in text


def test_inconclusive_is_never_no_effect_and_gives_power():
    text = effect_sentence(outcome="wellbeing (SWEMWBS)", estimate=0.8, ci_low=-0.4, ci_high=2.0,
                           scale="mean change", higher_is_better=True, n=60, n_needed=212.3, unit=" points")
    assert "inconclusive" in text
    assert "no effect" not in text.replace("had no effect", "")
    assert "213 participants" in text
    assert "0.8 points" in text and "\u22120.4 points to 2.0 points" in text and "-0.4" not in text


def test_infinite_n_needed():
    text = effect_sentence(outcome="x", estimate=0.0, ci_low=-1, ci_high=1, scale="difference",
                           higher_is_better=True, n=60, n_needed=math.inf)
    assert "too close to zero" in text


def test_per_100():
    s = per_100_sentence(treated_rate=0.312, counterfactual_rate=0.448, event="were proven to reoffend")
    assert "about 31 were proven to reoffend" in s and "about 45" in s and "14 fewer in every 100" in s
    s = per_100_sentence(treated_rate=0.5, counterfactual_rate=0.4, event="reoffended")
    assert "10 more in every 100" in s


def test_evidence_sentence():
    assert "level 1" in evidence_sentence(1, "") and "no comparison group" in evidence_sentence(1, "")
