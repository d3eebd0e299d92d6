"""ADH synthetic control: the inner weights against an independent solver, V's search, placebo-in-space."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from evalkit.designs.area import synthetic_control
from evalkit.designs.area.synthetic_control import _inner, _predictors, fit_one
from evalkit.errors import InsufficientDataError


def _panel(n_units=20, n_periods=20, treated=(("a00", 14),), effect=-6.0, seed=1):
    rng = np.random.default_rng(seed)
    load = rng.uniform(0.5, 1.5, size=n_units)
    factor = 5 * np.sin(np.arange(n_periods) / 3) + np.arange(n_periods) * 0.3
    starts = dict(treated)
    rows = []
    for i in range(n_units):
        u = f"a{i:02d}"
        for t in range(n_periods):
            d = int(u in starts and t >= starts[u])
            rows.append({"area": u, "year": 2000 + t, "rate": 40 + 10 * load[i] + load[i] * factor[t]
                         + rng.normal(scale=0.3) + effect * d, "vru": d})
    return pd.DataFrame(rows)


def test_inner_weights_match_a_general_solver():
    rng = np.random.default_rng(0)
    X0, X1 = rng.normal(size=(5, 12)), rng.normal(size=5)
    v = np.array([0.4, 0.1, 0.2, 0.2, 0.1])
    w = _inner(X1, X0, v)

    def loss(x):
        r = X1 - X0 @ x
        return float(r @ (v * r))

    ref = optimize.minimize(loss, np.full(12, 1 / 12), method="SLSQP", bounds=[(0, 1)] * 12,
                            constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1}],
                            options={"ftol": 1e-14, "maxiter": 1000})
    assert w.min() >= 0 and w.sum() == pytest.approx(1.0)
    # same minimum (the minimiser may differ only where the loss is flat); tolerance: solver precision
    assert loss(w) == pytest.approx(ref.fun, abs=1e-6)


def test_predictor_weights_fit_the_pre_period_better_than_equal_weights():
    df = _panel()
    Y = df.pivot(index="area", columns="year", values="rate").to_numpy()
    donors = list(range(1, Y.shape[0]))
    best = fit_one(Y, 0, donors, 14, blocks=4)
    k = _predictors(Y, 14, 4, None)[0].shape[0]
    equal = fit_one(Y, 0, donors, 14, blocks=4, v=np.full(k, 1 / k))
    assert best.pre_rmspe <= equal.pre_rmspe + 1e-9
    assert best.v.sum() == pytest.approx(1.0) and best.w.sum() == pytest.approx(1.0)


def test_known_effect_and_placebo_rank():
    res = synthetic_control(_panel(), outcome="rate", unit="area", time="year", treatment="vru")
    assert res.effect.estimate == pytest.approx(-6.0, abs=1.0)
    # the p-value is the rank of the treated ratio among all ratios
    ratios = np.array(res.placebo_ratios)
    expected = (1 + np.sum(ratios >= res.treated_ratios[0] - 1e-9)) / (1 + ratios.size)
    assert res.effect.p_value == pytest.approx(expected)
    assert res.effect.p_value == pytest.approx(1 / 20)  # a large effect ranks first of 20
    assert res.placebo_v == "refit"


def test_several_treated_areas_pooled_and_per_area():
    df = _panel(treated=(("a00", 14), ("a01", 15)))
    res = synthetic_control(df, outcome="rate", unit="area", time="year", treatment="vru", placebo_v="fixed")
    assert len(res.per_unit) == 2 and res.n == 2 and res.n_comparison == 18
    assert res.effect.estimate == pytest.approx(-6.0, abs=1.0)
    assert 0 < res.effect.p_value <= 1


def test_too_few_pre_periods():
    df = _panel(treated=(("a00", 2),))
    with pytest.raises(InsufficientDataError, match="before its start"):
        synthetic_control(df, outcome="rate", unit="area", time="year", treatment="vru")
