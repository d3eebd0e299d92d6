"""A comparison record far out in a long tail is fitted, not refused as "separation" (issue 24).

Its fitted probability of treatment is numerically 0 (logit below -30): R's ``glm`` warns and MatchIt matches,
so evalkit must fit the same MLE (statsmodels ``Logit``, Newton to 1e-13, as the reference) and match. A fitted
probability numerically 1 (a pattern only participants have) is still refused.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from evalkit.designs.matching import match
from evalkit.designs.matching import propensity as P
from evalkit.errors import InsufficientDataError


def _pool(n: int = 20_000, seed: int = 3):
    rng = np.random.default_rng(seed)
    income = rng.lognormal(0.0, 0.6, n)
    age = rng.normal(17, 3, n)
    income[0] = 25.0  # one comparison record far out in the tail (P(treated) ~ 1e-16)
    eta = -2.0 - 1.5 * income + 0.05 * (age - 17)
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.int8)
    y[0] = 0
    return np.column_stack([income, age]), y


def test_long_tail_record_is_fitted_like_statsmodels():
    X, y = _pool()
    ref = sm.Logit(y, sm.add_constant(X)).fit(method="newton", tol=1e-13, maxiter=100, disp=0)
    fit, eta = P.fit_logit_eta(X, y)
    assert eta.min() < -P._ETA_LIMIT  # the case: a fitted probability numerically 0
    np.testing.assert_allclose(fit.coef, ref.params, rtol=1e-9, atol=1e-12)


def test_long_tail_record_does_not_stop_matching():
    X, y = _pool()
    frame = pd.DataFrame({"id": np.arange(y.size), "t": y, "income": X[:, 0], "age": X[:, 1]})
    m = match(frame, treatment="t", covariates=["income", "age"], id_col="id", caliper=0.2)
    assert m.n_treated_matched > 0.9 * int(y.sum())


def test_probability_one_is_still_refused():
    X, y = _pool()
    X = np.column_stack([X, y * 40.0])  # only participants have a large value: no finite MLE
    with pytest.raises(InsufficientDataError, match="perfect separation"):
        P.fit_logit_eta(X, y)
