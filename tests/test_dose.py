"""The dose-response model (evalkit.analysis.dose) against statsmodels and known properties.

References and tolerances:

* coefficients, HC3 covariance, the slope's t interval and p-value: statsmodels
  ``OLS(y, X).fit(cov_type="HC3", use_t=True)`` (t with n - p degrees of freedom), to 1e-9 (relative);
* the fitted curve and its pointwise interval: statsmodels' ``get_prediction`` on the same design, to 1e-9;
* the restricted cubic spline basis: linear beyond the outer knots (its defining property, Harrell 2015 s.2.4.5;
  second differences below 1e-9) and equal to Harrell's formula written out for three knots;
* a simulation with a known slope: the 95% interval covers it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from evalkit.analysis.dose import dose_response, ols_hc3, rcs_basis


def _data(n: int = 300, seed: int = 4, binary: bool = False):
    rng = np.random.default_rng(seed)
    ids = [f"P{i:016x}" for i in range(n)]
    sessions = rng.poisson(6, n).astype(float)
    base = rng.normal(20, 4, n)
    lin = 2 + 0.5 * sessions + 0.3 * base
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1 + 0.1 * sessions - 0.05 * base)))).astype(float) if binary \
        else lin + rng.normal(0, 1 + 0.2 * sessions, n)  # heteroskedastic on purpose
    return (pd.Series(sessions, index=ids), pd.Series(y, index=ids), pd.Series(base, index=ids))


def test_ols_hc3_equals_statsmodels():
    s, y, b = _data()
    x = np.column_stack([np.ones(len(s)), s, b])
    beta, cov = ols_hc3(x, y.to_numpy())
    ref = sm.OLS(y.to_numpy(), x).fit(cov_type="HC3")
    np.testing.assert_allclose(beta, ref.params, rtol=1e-9)
    np.testing.assert_allclose(cov, ref.cov_params(), rtol=1e-9)


@pytest.mark.parametrize("binary", [False, True])
def test_slope_and_curve_equal_statsmodels(binary):
    s, y, b = _data(binary=binary)
    d = dose_response(s, y, b, is_rate=binary, outcome_label="y", baseline_label="the baseline")
    x = np.column_stack([np.ones(len(s)), s, b])
    ref = sm.OLS(y.to_numpy(), x).fit(cov_type="HC3", use_t=True)
    assert d.slope.estimate == pytest.approx(ref.params[1], rel=1e-9)
    assert d.slope.se == pytest.approx(ref.bse[1], rel=1e-9)
    lo, hi = ref.conf_int(alpha=0.05)[1]
    assert (d.slope.ci_low, d.slope.ci_high) == pytest.approx((lo, hi), rel=1e-9)
    assert d.slope.p_value == pytest.approx(ref.pvalues[1], rel=1e-7, abs=1e-300)
    assert d.slope.df == ref.df_resid == len(s) - 3
    # The curve: the same spline design fitted by statsmodels, predicted at the mean baseline.
    knots = np.asarray(d.knots)
    assert knots.tolist() == pytest.approx(np.quantile(s, [0.1, 0.5, 0.9]).tolist())
    xc = np.column_stack([np.ones(len(s)), rcs_basis(s.to_numpy(), knots), b])
    fit = sm.OLS(y.to_numpy(), xc).fit(cov_type="HC3", use_t=True)
    g = np.asarray(d.grid)
    gc = np.column_stack([np.ones(len(g)), rcs_basis(g, knots), np.full(len(g), b.mean())])
    pred = fit.get_prediction(gc).summary_frame(alpha=0.05)
    np.testing.assert_allclose(d.fitted, pred["mean"], rtol=1e-9)
    np.testing.assert_allclose(d.low, pred["mean_ci_lower"], rtol=1e-9)
    np.testing.assert_allclose(d.high, pred["mean_ci_upper"], rtol=1e-9)


def test_rcs_basis_is_harrells_and_linear_in_the_tails():
    t = np.array([2.0, 5.0, 11.0])
    x = np.linspace(-5, 25, 301)
    basis = rcs_basis(x, t)
    pos = np.maximum(x - t[0], 0) ** 3 - np.maximum(x - t[1], 0) ** 3 * (t[2] - t[0]) / (t[2] - t[1]) \
        + np.maximum(x - t[2], 0) ** 3 * (t[1] - t[0]) / (t[2] - t[1])
    np.testing.assert_allclose(basis[:, 1], pos / (t[2] - t[0]) ** 2, rtol=1e-12, atol=1e-12)
    for tail in (x <= t[0], x >= t[2]):
        second = np.diff(basis[tail, 1], 2)
        assert np.abs(second).max() < 1e-9


def test_known_slope_is_covered_and_row_order_does_not_matter():
    s, y, b = _data(n=2000, seed=11)
    d = dose_response(s, y, b, is_rate=False)
    assert d.slope.ci_low < 0.5 < d.slope.ci_high
    perm = np.random.default_rng(0).permutation(len(s))
    d2 = dose_response(s.iloc[perm], y.iloc[perm], b.iloc[perm], is_rate=False)
    assert d2.slope == d.slope and d2.fitted == d.fitted


def test_too_few_or_no_variation_gives_none():
    s, y, b = _data(n=15)
    assert dose_response(s, y, b) is None
    s, y, b = _data(n=50)
    assert dose_response(s * 0 + 3, y, b) is None
