"""Subgroup interaction test (runner.interaction_test) against statsmodels' meta-analysis Q statistic."""

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from evalkit.analysis.runner import interaction_test


@pytest.mark.parametrize("est, se", [([1.0, 2.5, -0.5], [0.8, 0.9, 1.1]), ([-0.12, -0.02], [0.05, 0.06]),
                                     ([3.0, 3.1, 2.9, 3.05], [1.0, 1.2, 0.9, 1.5])])
def test_q_matches_statsmodels(est, se):
    res = combine_effects(np.array(est), np.array(se) ** 2)
    expected = stats.chi2.sf(res.q, len(est) - 1)   # statsmodels gives Q; its chi-square p-value by hand
    assert interaction_test(est, se) == pytest.approx(expected, rel=1e-10)


def test_needs_two_usable_groups():
    assert interaction_test([1.0, 2.0], [0.5, float("nan")]) is None
    assert interaction_test([1.0], [0.5]) is None
