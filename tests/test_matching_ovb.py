"""Cinelli & Hazlett sensitivity of a regression-adjusted matched estimate (evalkit.designs.matching.ovb).

Independent reference: the matched sample rebuilt by hand (units with positive weight joined to the data), the
weighted regression fitted with statsmodels' formula interface (its own dummy coding), and the partial R² and
bounds computed from that fit's t-statistics with the Cinelli & Hazlett formulas written out here.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from evalkit.designs.matching import estimate_att, match
from evalkit.designs.matching.ovb import matched_ovb


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(11)
    n_t, n_c = 200, 1200
    n = n_t + n_c
    t = np.r_[np.ones(n_t), np.zeros(n_c)].astype(int)
    prior = rng.poisson(np.where(t == 1, 2.4, 1.7))
    viol = rng.binomial(1, np.clip(0.1 + 0.08 * prior, 0, 0.9))
    sex = rng.choice(["F", "M"], n, p=[0.3, 0.7])
    age = rng.integers(12, 19, n)
    y = 0.1 * prior + 0.2 * viol - 0.25 * t + 0.02 * age + rng.normal(0, 1, n)
    return pd.DataFrame({"pid": np.arange(n), "treated": t, "prior": prior, "viol": viol, "sex": sex, "age": age,
                         "y": y})


def test_against_a_hand_built_weighted_regression(world):
    m = match(world, treatment="treated", covariates=["prior", "viol", "sex", "age"], id_col="pid", ratio=2)
    adj = ["prior", "viol", "sex", "age"]
    res = matched_ovb(world, m, outcome="y", covariates_adjust=adj, benchmarks=[("prior", "viol"), "sex"],
                      kd=[1, 2], labels={"prior+viol": "prior offending"})
    s = m.units[m.units["weight"] > 0].merge(world, on="pid", suffixes=("", "_d"))
    fit = smf.wls("y ~ treated + prior + viol + C(sex) + age", s, weights=s["weight"]).fit()
    t, dof = fit.tvalues["treated"], fit.df_resid
    assert res.estimate == pytest.approx(fit.params["treated"], rel=1e-9)
    assert res.estimate == pytest.approx(estimate_att(world, m, outcome="y", kind="continuous",
                                                      covariates_adjust=adj).effect.estimate, rel=1e-9)
    assert res.partial_r2 == pytest.approx(t ** 2 / (t ** 2 + dof), rel=1e-9)
    # The group benchmark's partial R² with the outcome: the classical F test of both coefficients.
    f = float(fit.f_test("prior = 0, viol = 0").fvalue)
    r2y = 2 * f / (2 * f + dof)
    # ... and with the treatment: the same test in the treatment regression (same weights).
    tfit = smf.wls("treated ~ prior + viol + C(sex) + age", s, weights=s["weight"]).fit()
    ft = float(tfit.f_test("prior = 0, viol = 0").fvalue)
    r2d = 2 * ft / (2 * ft + tfit.df_resid)
    b = res.bound("prior+viol", 1)
    assert (b.r2yxj_dx, b.r2dxj_x) == pytest.approx((r2y, r2d), rel=1e-7)
    r2dz = r2d / (1 - r2d)
    r2zxj = r2d ** 2 / ((1 - r2d) * (1 - r2d))
    r2yz = ((1 + math.sqrt(r2zxj)) / math.sqrt(1 - r2zxj)) ** 2 * r2y / (1 - r2y)
    se = fit.bse["treated"]
    bias = se * math.sqrt(dof) * math.sqrt(r2yz * r2dz / (1 - r2dz))
    assert b.adjusted_estimate == pytest.approx(np.sign(res.estimate) * (abs(res.estimate) - bias), rel=1e-7)
    assert b.label == "prior offending"
    assert res.bound("sex", 2).benchmark == "sex"
    assert res.sentence("prior+viol", 1).startswith("A hidden factor as strong as prior offending could")
