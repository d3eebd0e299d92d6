"""The propensity fit on large pools: warm start, chord passes and id-order gathering, against statsmodels.

Below 400,000 rows the fit is plain Newton from zero slopes (checked against R
and statsmodels in test_matching_reference.py). Above, it starts from a
case-control subsample and reuses the Hessian once steps are small; these tests
make sure that path reaches the same MLE (statsmodels ``Logit``, Newton to
1e-12) and never depends on the order rows arrive in.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from evalkit.designs.matching import propensity as P
from evalkit.errors import InsufficientDataError

N = 450_000  # > 4 x the warm-start sample, so the large-data path runs


def _pool(share_treated: float, seed: int = 5):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(17, 3, N).round(2), rng.poisson(1.5, N), rng.integers(0, 2, N),
                         rng.normal(size=N)])
    eta = 0.06 * (X[:, 0] - 17) + 0.3 * X[:, 1] + 0.8 * X[:, 2] + 0.4 * X[:, 3]
    eta += np.log(share_treated / (1 - share_treated)) - eta.mean()
    y = (rng.random(N) < 1 / (1 + np.exp(-eta))).astype(np.int8)
    return X, y


@pytest.mark.parametrize("share", [0.01, 0.3, 0.985])  # rare treated, common, rare controls
def test_large_pool_fit_equals_statsmodels(share):
    X, y = _pool(share)
    ref = sm.Logit(y, sm.add_constant(X)).fit(method="newton", tol=1e-13, maxiter=100, disp=0)
    fit, eta = P.fit_logit_eta(X, y)
    np.testing.assert_allclose(fit.coef, ref.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(eta, sm.add_constant(X) @ fit.coef, rtol=0, atol=1e-11)


def test_warm_rows_are_a_case_control_sample_with_the_right_offset():
    _, y = _pool(0.01)
    rows, offset = P._warm_rows(y)
    assert np.all(np.diff(rows) > 0)
    assert y[rows].sum() == y.sum()  # every participant kept
    n0 = int((y == 0).sum())
    kept0 = int((y[rows] == 0).sum())
    assert 0.9 * P._WARM_ROWS < len(rows) <= P._WARM_ROWS
    assert offset == pytest.approx(np.log(kept0 / n0), rel=1e-15)
    # With controls rare the roles swap and so does the sign.
    rows, offset = P._warm_rows(1 - y)
    assert offset == pytest.approx(-np.log(kept0 / n0), rel=1e-15)


def test_case_control_offset_recovers_the_full_data_intercept():
    """Prentice & Pyke: a logit fitted to the subsample plus the offset estimates the full-data model."""
    X, y = _pool(0.01)
    rows, offset = P._warm_rows(y)
    sub = sm.Logit(y[rows], sm.add_constant(X[rows])).fit(method="newton", disp=0).params
    full = sm.Logit(y, sm.add_constant(X)).fit(method="newton", disp=0).params
    assert sub[0] + offset == pytest.approx(full[0], abs=0.05)
    np.testing.assert_allclose(sub[1:], full[1:], atol=0.05)


def test_rows_permutation_gives_bit_identical_fit():
    """Fitting shuffled columns through ``rows`` equals fitting the columns already in order, bit for bit."""
    X, y = _pool(0.02)
    perm = np.random.default_rng(1).permutation(N)
    shuffled = [np.ascontiguousarray(X[perm, j]) for j in range(X.shape[1])]
    rows = np.argsort(perm)  # row i of the fit is shuffled row rows[i], i.e. original row i
    a, eta_a = P.fit_logit_eta(X, y)
    b, eta_b = P.fit_logit_eta(shuffled, y, rows=rows)
    np.testing.assert_array_equal(a.coef, b.coef)
    np.testing.assert_array_equal(eta_a, eta_b)


def test_chord_passes_do_not_change_the_answer(monkeypatch):
    X, y = _pool(0.05)
    chord, _ = P.fit_logit_eta(X, y)
    monkeypatch.setattr(P, "_REUSE_BELOW", 0.0)  # a fresh Hessian every pass
    newton, _ = P.fit_logit_eta(X, y)
    np.testing.assert_allclose(chord.coef, newton.coef, rtol=1e-11, atol=1e-12)


def test_separation_in_a_large_pool_is_refused():
    X, y = _pool(0.02)
    X = np.column_stack([X, y])  # a covariate that is the treatment itself
    with pytest.raises(InsufficientDataError, match="perfect separation"):
        P.fit_logit_eta(X, y)
