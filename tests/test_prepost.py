"""Behaviour of evalkit.designs.prepost: attrition, change shares, regression to
the mean, refusals, row-order invariance, result objects.

Numbers against R live in test_prepost_reference.py; here each expected value
comes from an independent route (closed form, scipy.stats.truncnorm, hand
counts) stated in the test.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evalkit.designs.prepost import prepost_binary, prepost_continuous
from evalkit.designs.prepost.attrition import regression_to_mean
from evalkit.designs.prepost.wilcoxon import psignrank, qsignrank
from evalkit.errors import DataError, EvalkitError, InsufficientDataError, MissingDataError, SpecError
from evalkit.results import SMS


def _scores(n=40, seed=3, shift=-2.0, lost=0):
    rng = np.random.default_rng(seed)
    pre = np.round(rng.normal(20, 5, n), 1)
    post = np.round(pre + shift + rng.normal(0, 3, n), 1)
    if lost:
        post[:lost] = np.nan
    return pd.DataFrame({"pre": pre, "post": post})


# --------------------------------------------------------------------------- #
# Exact signed-rank distribution
# --------------------------------------------------------------------------- #
def test_signed_rank_distribution_matches_enumeration():
    """P(V <= q) for n = 10 by enumerating all 2^10 sign patterns."""
    n = 10
    signs = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    v = signs @ np.arange(1, n + 1)
    for q in (0, 5, 12, 27, 40, 55):
        assert psignrank(q, n) == pytest.approx(np.mean(v <= q), rel=1e-14)
    # qsignrank is the smallest q with P(V <= q) >= p
    for p in (0.025, 0.05, 0.5, 0.9):
        q = qsignrank(p, n)
        assert np.mean(v <= q) >= p > np.mean(v <= q - 1)


# --------------------------------------------------------------------------- #
# Attrition
# --------------------------------------------------------------------------- #
def test_attrition_counts_and_baseline_difference():
    df = _scores(n=50, lost=12)
    df.loc[45, "pre"] = np.nan  # follow-up without baseline
    extra = pd.DataFrame({"pre": [30.0, 31.5, np.nan]})
    res = prepost_continuous(df, pre="pre", post="post", higher_is_better=False, baseline_only=extra)
    a = res.attrition
    assert (a.n_baseline, a.n_complete, a.n_lost, a.n_post_only) == (49 + 2, 37, 14, 1)
    assert a.share_lost == pytest.approx(14 / 51)
    complete = df.dropna()["pre"].to_numpy()
    lost = np.concatenate([df.loc[:11, "pre"].to_numpy(), [30.0, 31.5]])
    smd = (complete.mean() - lost.mean()) / math.sqrt((complete.var(ddof=1) + lost.var(ddof=1)) / 2)
    assert a.baseline_smd == pytest.approx(smd, rel=1e-12)
    # Welch's t-test written out (Welch 1947), not scipy's equal_var=False path.
    v1, v2 = complete.var(ddof=1) / len(complete), lost.var(ddof=1) / len(lost)
    t = (complete.mean() - lost.mean()) / math.sqrt(v1 + v2)
    dfw = (v1 + v2) ** 2 / (v1**2 / (len(complete) - 1) + v2**2 / (len(lost) - 1))
    assert a.baseline_p == pytest.approx(2 * stats.t.sf(abs(t), dfw), rel=1e-10)
    assert any("High attrition" in w for w in res.warnings)
    assert res.n_pairs == 37


def test_no_attrition_no_warning():
    res = prepost_continuous(_scores(n=40), pre="pre", post="post", higher_is_better=False)
    assert res.attrition.n_lost == 0 and math.isnan(res.attrition.baseline_p)
    assert not any("attrition" in w.lower() or "lost" in w for w in res.warnings)


def test_lost_who_differ_at_baseline_are_flagged():
    df = _scores(n=60, lost=0)
    df.loc[df["pre"] > 23, "post"] = np.nan  # those with the worst baselines drop out
    res = prepost_continuous(df, pre="pre", post="post", higher_is_better=False)
    assert res.attrition.baseline_smd < -1
    assert any("differed at baseline" in w for w in res.warnings)


# --------------------------------------------------------------------------- #
# Reliable change shares
# --------------------------------------------------------------------------- #
def test_change_shares_hand_counted():
    # reliability .8, sd 5: S_diff = 5 * sqrt(2) * sqrt(.2) = sqrt(10); threshold 1.96 * sqrt(10) = 6.198
    pre = [25, 25, 25, 25, 16, 20, 18, 24]
    post = [18, 32, 19, 14, 9, 20, 18, 24]  # changes -7, +7, -6, -11, -7, 0, 0, 0
    res = prepost_continuous(pd.DataFrame({"pre": pre, "post": post}), pre="pre", post="post",
                             higher_is_better=False, reliability=0.8, sd_norm=5.0, clinical_cutoff=17)
    s = res.change_shares
    assert s.threshold == pytest.approx(1.96 * math.sqrt(10), rel=1e-12)
    counts = {c: k for c, k, *_ in s.counts}
    # improved: 25->18, 25->14 (recovered: crosses 17), 16->9 (already functional: improved, not recovered)
    assert counts == {"reliably_improved": 3, "reliably_deteriorated": 1, "no_reliable_change": 4, "recovered": 1}
    lo, hi = [(lo, hi) for c, k, sh, lo, hi in s.counts if c == "reliably_improved"][0]
    # Wilson interval for 3/8 (Wilson 1927), closed form
    z, p, n = stats.norm.isf(0.025), 3 / 8, 8
    centre, half = (p + z**2 / (2 * n)) / (1 + z**2 / n), z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    assert (lo, hi) == pytest.approx((centre - half, centre + half), rel=1e-12)


def test_change_shares_default_sd_is_baseline_sd():
    df = _scores(n=30, lost=5)
    res = prepost_continuous(df, pre="pre", post="post", higher_is_better=False, reliability=0.85)
    assert res.change_shares.sd == pytest.approx(df["pre"].std(ddof=1), rel=1e-12)
    assert res.change_shares.sd_source == "SD of baseline scores"


# --------------------------------------------------------------------------- #
# Regression to the mean
# --------------------------------------------------------------------------- #
def test_rtm_population_mean_inferred_from_truncated_normal():
    """Barnett et al. (2005): entrants are a normal(mu, sd) truncated at c; with
    their exact mean (scipy truncnorm) the inferred mu is the true mu, and the
    expected change equals Barnett's eq. 2, sd (1 - r) phi(z) / (1 - Phi(z))."""
    mu, sd, c, r = 12.0, 5.0, 17.0, 0.7
    z = (c - mu) / sd
    m_sel = stats.truncnorm(z, np.inf, loc=mu, scale=sd).mean()
    rtm = regression_to_mean(entry_threshold=c, higher_is_better=False, reliability=r, sd_norm=sd, norm_mean=None,
                             entrants_baseline=np.array([m_sel]), analysed_baseline=np.array([m_sel]))
    assert rtm.population_mean == pytest.approx(mu, rel=1e-9)
    barnett = sd * (1 - r) * stats.norm.pdf(z) / stats.norm.sf(z)
    assert rtm.expected_change == pytest.approx(-barnett, rel=1e-9)  # lower is better: scores fall


def test_rtm_low_entry_for_higher_is_better_and_given_mean():
    rtm = regression_to_mean(entry_threshold=40, higher_is_better=True, reliability=0.8, sd_norm=None,
                             norm_mean=50.0, entrants_baseline=np.array([35.0, 37.0]),
                             analysed_baseline=np.array([35.0, 37.0]))
    assert rtm.entry_side == "at or below"
    assert rtm.expected_change == pytest.approx(0.2 * (50 - 36))


def test_rtm_warning_in_result():
    rng = np.random.default_rng(7)
    pop = rng.normal(14, 5, 4000)
    pre = pop[pop >= 17][:80]
    post = 14 + 0.7 * (pre - 14) + rng.normal(0, 5 * math.sqrt(1 - 0.49), len(pre))  # no effect, r = .7
    res = prepost_continuous(pd.DataFrame({"pre": pre, "post": post}), pre="pre", post="post",
                             higher_is_better=False, reliability=0.7, sd_norm=5.0, entry_threshold=17)
    warn = next(w for w in res.warnings if w.startswith("Regression to the mean"))
    assert "at or above 17" in warn and "Barnett" in warn
    # the only change here is regression to the mean: expectation and observation agree roughly
    assert res.regression_to_mean.expected_change == pytest.approx(res.estimate("Mean change").estimate, abs=0.6)


# --------------------------------------------------------------------------- #
# Refusals and bad input
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("pre,post,match", [
    ([1.0, np.nan], [2.0, 3.0], "only 1 person"),
    ([5, 6, 7], [5, 6, 7], "no one's score changed"),
    ([5, 6, 7], [7, 8, 9], "changed by exactly 2"),
])
def test_continuous_refuses_unsupported_data(pre, post, match):
    with pytest.raises(InsufficientDataError, match=match):
        prepost_continuous(pd.DataFrame({"pre": pre, "post": post}), pre="pre", post="post", higher_is_better=True)


def test_bad_input_errors_speak_plainly():
    df = pd.DataFrame({"pre": [1, 2, "n/a"], "post": [2, 3, 4]})
    with pytest.raises(DataError, match="'n/a' is not a number"):
        prepost_continuous(df, pre="pre", post="post", higher_is_better=True)
    with pytest.raises(MissingDataError, match="column 'after'"):
        prepost_continuous(df, pre="pre", post="after", higher_is_better=True)
    with pytest.raises(SpecError, match="alpha"):
        prepost_continuous(_scores(), pre="pre", post="post", higher_is_better=True, alpha=5)
    with pytest.raises(DataError, match="not 0/1"):
        prepost_binary(pd.DataFrame({"pre": [0, 1, 2], "post": [1, 1, 0]}), pre="pre", post="post")
    with pytest.raises(InsufficientDataError, match="none of the 3 people changed"):
        prepost_binary(pd.DataFrame({"pre": [0, 1, 1], "post": [0, 1, 1]}), pre="pre", post="post")
    assert issubclass(DataError, EvalkitError)


def test_binary_accepts_booleans_and_missing():
    df = pd.DataFrame({"pre": [True, True, False, False, True, None] * 5,
                       "post": [False, True, True, False, False, True] * 5})
    res = prepost_binary(df, pre="pre", post="post")
    t = res.table
    assert (t.both_yes, t.yes_to_no, t.no_to_yes, t.both_no) == (5, 10, 5, 5)
    assert res.attrition.n_post_only == 5


# --------------------------------------------------------------------------- #
# Row order, evidence, result objects
# --------------------------------------------------------------------------- #
def test_row_order_never_changes_result():
    df = _scores(n=73, lost=9)
    kw = dict(pre="pre", post="post", higher_is_better=False, reliability=0.8, sd_norm=5, entry_threshold=10)
    a = prepost_continuous(df, **kw)
    b = prepost_continuous(df.sample(frac=1, random_state=11).reset_index(drop=True), **kw)
    assert a == b
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame(), check_exact=True)


def test_evidence_level_and_small_sample_warning():
    res = prepost_continuous(_scores(n=12), pre="pre", post="post", higher_is_better=False)
    assert res.evidence.sms == SMS.LEVEL_1 and "no comparison group" in res.evidence.reason
    assert res.warnings[0].startswith("Small sample")
    rb = prepost_binary(pd.DataFrame({"pre": [1, 0, 1, 0] * 20, "post": [0, 1, 1, 0] * 20}), pre="pre", post="post")
    assert rb.evidence.sms == SMS.LEVEL_1


def _walk(obj):
    yield obj
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            yield from _walk(getattr(obj, f.name))
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            yield from _walk(item)


def test_results_hold_aggregates_only():
    small = prepost_continuous(_scores(n=30), pre="pre", post="post", higher_is_better=False, reliability=0.8)
    big = prepost_continuous(_scores(n=3000), pre="pre", post="post", higher_is_better=False, reliability=0.8)
    assert len(small.to_frame()) == len(big.to_frame())
    for leaf in _walk(big):
        assert not isinstance(leaf, (np.ndarray, pd.Series, pd.DataFrame))
        if isinstance(leaf, (tuple, list)):
            assert len(leaf) < 20


def test_result_prints_well():
    res = prepost_continuous(_scores(n=40, lost=4), pre="pre", post="post", higher_is_better=False,
                             reliability=0.8, sd_norm=5, outcome_name="SDQ total difficulties")
    text = res.summary()
    assert text.startswith("Pre/post change in SDQ total difficulties (36 people")
    assert "Mean change" in text and "95% CI" in text and "Maryland SMS level 1" in text
    html = res._repr_html_()
    assert "<table" in html and "Hodges-Lehmann" in html and "after minus before" in html
    frame = res.to_frame()
    assert {"term", "estimate", "ci_low", "ci_high", "statistic", "df", "p_value", "method"} <= set(frame.columns)
    assert frame.loc[frame.term == "Mean change", "df"].item() == 35
    rb = prepost_binary(pd.DataFrame({"pre": [1, 0, 1, 0] * 10, "post": [0, 1, 1, 0] * 10}), pre="pre", post="post")
    assert "10 went from yes to no, 10 from no to yes" in rb.summary()


def test_plain_english_direction_and_no_causal_claim():
    better = prepost_continuous(_scores(n=60, shift=-3), pre="pre", post="post", higher_is_better=False)
    assert better.plain_english().startswith("On average scores fell by")
    assert "an improvement" in better.plain_english() and "cannot be attributed" in better.plain_english()
    worse = prepost_continuous(_scores(n=60, shift=-3), pre="pre", post="post", higher_is_better=True)
    assert "a deterioration" in worse.plain_english()
    flat = prepost_continuous(_scores(n=60, shift=0.0, seed=5), pre="pre", post="post", higher_is_better=True)
    assert flat.estimate("Mean change").ci_low < 0 < flat.estimate("Mean change").ci_high
    assert flat.plain_english().endswith("the interval includes no change.")
