"""Worst/best-case bounds for missing end scores (analysis.designs.attrition_bounds), by hand arithmetic."""

import math

import pandas as pd
import pytest

from evalkit.analysis.designs import attrition_bounds


def test_bounds_by_hand():
    # 4 measured twice (changes +1, +2, +3, +6), 2 with a start score only, 1 with an end score only.
    wide = pd.DataFrame({"pre": [10, 10, 10, 10, 12, 14, math.nan], "post": [11, 12, 13, 16, math.nan, math.nan, 9]})
    b = attrition_bounds(wide)
    assert b is not None
    assert b.n_baseline == 6 and b.n_lost == 2 and b.share_lost == pytest.approx(1 / 3)
    assert b.completers == pytest.approx(3.0)
    assert b.no_change == pytest.approx(12 / 6)
    assert b.low == pytest.approx((12 + 2 * 1) / 6)
    assert b.high == pytest.approx((12 + 2 * 6) / 6)
    assert b.low <= b.completers <= b.high   # "no change" may lie outside: here every change was positive


def test_no_bounds_at_or_below_20_percent():
    wide = pd.DataFrame({"pre": [1, 2, 3, 4, 5], "post": [2, 3, 4, 5, math.nan]})   # exactly 20% missing
    assert attrition_bounds(wide) is None
