"""Reliable change index and change categories (Jacobson & Truax, 1991).

Hand-computed values: with sd = 10 and reliability = 0.8,
SE = 10 * sqrt(0.2) = 4.47214, S_diff = sqrt(2) * SE = 6.32456, so a reliable
change needs |post - pre| > 1.96 * 6.32456 = 12.3961 points.
Reference values for other inputs come from tests/reference/rci_reference.R
(base R arithmetic, written independently of the Python) stored in rci_reference.csv.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import SpecError
from evalkit.measures.change import (
    CHANGE_CATEGORIES,
    classify_change,
    clinical_cutoff,
    rci_se_diff,
    reliable_change_index,
    reliable_change_threshold,
)

REF = Path(__file__).parent / "reference"


def test_se_diff_hand_computed():
    assert rci_se_diff(reliability=0.8, sd=10) == pytest.approx(6.324555320, abs=1e-9)
    assert reliable_change_threshold(reliability=0.8, sd=10) == pytest.approx(12.39612843, abs=1e-8)


def test_rci_hand_computed_and_missing():
    rci = reliable_change_index([20, 20, np.nan], [33, 8, 5], reliability=0.8, sd=10)
    assert rci[0] == pytest.approx(13 / 6.324555320, abs=1e-9)  # 2.05548
    assert rci[1] == pytest.approx(-12 / 6.324555320, abs=1e-9)  # -1.89737
    assert np.isnan(rci[2])


def test_rci_matches_r_reference():
    ref = pd.read_csv(REF / "rci_reference.csv")
    for row in ref.itertuples():
        val = reliable_change_index([row.pre], [row.post], reliability=row.reliability, sd=row.sd)[0]
        assert val == pytest.approx(row.rci, abs=1e-10)


def test_classify_change_lower_is_better_with_cutoff():
    # SDQ-like: lower is better, cutoff 14 = last "close to average" score.
    pre = pd.Series([30, 30, 20, 20, 10, 16], index=list("abcdef"))
    post = pd.Series([14, 16, 33, 19, np.nan, 15])
    post.index = pre.index
    out = classify_change(pre, post, reliability=0.8, sd=10, higher_is_better=False, cutoff=14)
    assert list(out.index) == list("abcdef")
    assert out["a"] == "recovered"  # -16 > 12.396 and 30 -> 14 crosses into functional range
    assert out["b"] == "improved"  # reliable but ends at 16, still dysfunctional
    assert out["c"] == "deteriorated"  # +13
    assert out["d"] == "no_reliable_change"
    assert pd.isna(out["e"])
    assert out["f"] == "no_reliable_change"  # crosses cutoff but change not reliable
    assert list(out.cat.categories) == list(CHANGE_CATEGORIES)


def test_classify_change_higher_is_better_boundary():
    # threshold is 12.396 points: +12.39 is not reliable, +12.40 is
    out = classify_change([40.0, 40.0], [52.39, 52.40], reliability=0.8, sd=10, higher_is_better=True)
    assert list(out) == ["no_reliable_change", "improved"]
    # already functional at baseline: improved, not recovered
    out = classify_change([45], [60], reliability=0.8, sd=10, higher_is_better=True, cutoff=44)
    assert list(out) == ["improved"]
    out = classify_change([40], [60], reliability=0.8, sd=10, higher_is_better=True, cutoff=44)
    assert list(out) == ["recovered"]


def test_row_order_does_not_change_result():
    rng = np.random.default_rng(1)
    pre = rng.integers(0, 40, 50).astype(float)
    post = rng.integers(0, 40, 50).astype(float)
    perm = rng.permutation(50)
    a = classify_change(pre, post, reliability=0.8, sd=5, higher_is_better=False, cutoff=15)
    b = classify_change(pre[perm], post[perm], reliability=0.8, sd=5, higher_is_better=False, cutoff=15)
    assert list(np.asarray(a)[perm]) == list(b)


def test_clinical_cutoffs_hand_computed():
    # dysfunctional M0=20, s0=5; functional M1=8, s1=4; lower is better
    kw = dict(dysfunctional_mean=20, dysfunctional_sd=5, functional_mean=8, functional_sd=4, higher_is_better=False)
    assert clinical_cutoff("a", **kw) == pytest.approx(10.0)
    assert clinical_cutoff("b", **kw) == pytest.approx(16.0)
    assert clinical_cutoff("c", **kw) == pytest.approx((5 * 8 + 4 * 20) / 9)  # 13.333


@pytest.mark.parametrize("rel,sd", [(1.0, 5), (-0.1, 5), (0.8, 0), (np.nan, 5)])
def test_bad_psychometrics_raise(rel, sd):
    with pytest.raises(SpecError):
        reliable_change_index([1], [2], reliability=rel, sd=sd)


def test_length_mismatch_raises():
    with pytest.raises(SpecError):
        reliable_change_index([1, 2], [2], reliability=0.8, sd=5)


def test_published_worked_example_wodrich_piers_harris():
    """Wodrich, *Evidence-based approaches...*, Appendix E "How to calculate
    reliable change indexes" (Univ. of Arizona open textbook): Piers-Harris-2
    total SEM 3.07 -> S_diff 4.34 -> reliable change threshold 4.34 x 1.96 = 8.51;
    pre 24, post 35 (change 11) is a reliable change. We express SEM 3.07 as
    sd * sqrt(1 - r) with r = 0.91, sd = 3.07 / 0.3 (any such pair gives the same SEM).
    The source rounds to 2 decimals at each step, hence abs tolerance 0.01."""
    r, sd = 0.91, 3.07 / 0.3
    assert rci_se_diff(reliability=r, sd=sd) == pytest.approx(4.34, abs=0.005)
    assert reliable_change_threshold(reliability=r, sd=sd) == pytest.approx(8.51, abs=0.01)
    assert reliable_change_index([24], [35], reliability=r, sd=sd)[0] == pytest.approx(11 / 4.3417, abs=1e-3)
    assert list(classify_change([24], [35], reliability=r, sd=sd, higher_is_better=True)) == ["improved"]
