"""The propensity logit reaches the MLE where plain Newton overshoots (step-halving fallback).

A rare category with few participants and long-tailed counts (the synthetic world's INT03 on seeds 3006 and
3019: "sex other or not known", 2 participants among 17) made the undamped Newton iterations diverge although
the MLE exists, so the whole matched analysis was reported as "could not be estimated". Reference:
statsmodels ``Logit`` (its own Newton with a convergence check), coefficients to 1e-8.
"""

import numpy as np
import pytest
import statsmodels.api as sm

from evalkit.designs.matching import propensity as P
from evalkit.errors import InsufficientDataError


def _data():
    rng = np.random.default_rng(0)
    n = 5000
    rare = np.zeros(n)
    rare[:17] = 1
    y = np.zeros(n)
    y[:2] = 1
    y[17:85] = 1
    counts = rng.negative_binomial(1, 0.5, size=(n, 2)).astype(float)
    return np.column_stack([rare, counts]), y


def test_plain_newton_diverges_on_this_design():
    X, y = _data()
    Z, _, _ = P._design([X[:, j] for j in range(3)], len(y), None)
    try:
        converged = P._newton(P._blocks(Z, y), 4, P._start(y, 3), ())[2]
    except InsufficientDataError:
        converged = False
    assert not converged   # the case the fallback exists for


def test_fallback_equals_statsmodels_mle():
    X, y = _data()
    fit, eta = P.fit_logit_eta(X, y)
    ref = sm.Logit(y, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-12, maxiter=100)
    assert np.max(np.abs(fit.coef - ref.params)) < 1e-8
    assert np.max(np.abs(eta - sm.add_constant(X) @ ref.params)) < 1e-8


def test_true_separation_still_reported():
    X, y = _data()
    X = np.column_stack([X, y])          # a covariate equal to the treatment: no finite MLE
    with pytest.raises(InsufficientDataError, match="perfect separation"):
        P.fit_logit_eta(X, y)
