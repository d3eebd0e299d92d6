"""The measured-covariate benchmark for Rosenbaum's Γ and the E-value (evalkit.designs.matching.benchmark).

Independent references: closed forms on 2x2 tables (odds ratio ad/bc, ratio of proportions), data built to lie
exactly in the logistic / log-linear model (so the fitted coefficient is known), published values (Rosenbaum's
amplification Γ = 2 for Λ = 3, Δ = 5; VanderWeele & Ding 2017: E-value 7.26 for a risk ratio of 3.9), and
statsmodels' discrete-choice Logit / Poisson fitted by hand through formulas (a different code path from the
GLM fits the module uses).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from evalkit.designs.matching.benchmark import amplify, bias_factor, covariate_benchmark, e_value_of
from evalkit.designs.matching.sensitivity import EValueResult, RosenbaumResult
from evalkit.errors import InsufficientDataError, SpecError


def _cells(spec: list[tuple[int, int, int, list[float]]]) -> pd.DataFrame:
    """Rows from (treated, u, n, outcome values cycled over the n rows)."""
    rows = []
    for d, u, n, ys in spec:
        for i in range(n):
            rows.append({"treated": d, "u": u, "y": ys[i % len(ys)]})
    return pd.DataFrame(rows)


# D x U: 180, 120 (treated); 280, 900 (pool). Y within cells: odds 0.25 x 3^U x 2^D exactly (logistic, no X).
BINARY = _cells([(1, 1, 180, [1] * 3 + [0] * 2), (1, 0, 120, [1, 0, 0]), (0, 1, 280, [1] * 3 + [0] * 4),
                 (0, 0, 900, [1, 0, 0, 0, 0])])
# Counts with means 0.5 x 2^U x 0.5^D exactly (log-linear, no X).
COUNT = _cells([(1, 1, 180, [1, 0]), (1, 0, 120, [1, 0, 0, 0]), (0, 1, 280, [0, 2]), (0, 0, 900, [1, 0])])


def test_closed_forms_on_a_table():
    b = covariate_benchmark(BINARY, treatment="treated", outcome="y", covariates=["u"], benchmark="u")
    assert b.threshold == 0.5 and b.share_above == pytest.approx(460 / 1480)
    assert b.or_treatment == pytest.approx(180 * 900 / (120 * 280), rel=1e-7)      # ad / bc
    assert b.rr_treatment == pytest.approx((180 / 300) / (280 / 1180), rel=1e-7)    # P(U=1|D=1) / P(U=1|D=0)
    assert b.or_outcome == pytest.approx(3.0, rel=1e-7)                              # built in
    lam, delta = b.or_treatment, 3.0
    assert b.gamma == pytest.approx((lam * delta + 1) / (lam + delta), rel=1e-7)


def test_count_outcome_rate_ratio_and_e_value_scale():
    b = covariate_benchmark(COUNT, treatment="treated", outcome="y", covariates=["u"], benchmark="u",
                            outcome_kind="count")
    assert b.rr_outcome == pytest.approx(2.0, rel=1e-7)
    rr_eu = (180 / 300) / (280 / 1180)
    bias = rr_eu * 2 / (rr_eu + 2 - 1)
    assert b.bias == pytest.approx(bias, rel=1e-7)
    assert b.e_value == pytest.approx(bias + math.sqrt(bias * (bias - 1)), rel=1e-7)


def test_published_conversions():
    assert amplify(3, 5) == pytest.approx(2.0)                   # Rosenbaum & Silber (2009); Rosenbaum (2017)
    assert e_value_of(3.9) == pytest.approx(7.26, abs=5e-3)      # VanderWeele & Ding (2017), the E-value of 3.9
    e = e_value_of(1.7)
    assert bias_factor(e, e) == pytest.approx(1.7)               # E-value: both associations equal to E
    assert amplify(1, 7) == pytest.approx(1.0)                   # no link with treatment: no bias
    with pytest.raises(SpecError):
        amplify(0.5, 2)


@pytest.fixture(scope="module")
def world() -> pd.DataFrame:
    rng = np.random.default_rng(19)
    n = 3000
    prior = rng.poisson(2.0, n)
    age = rng.integers(12, 19, n)
    sex = rng.choice(["F", "M"], n, p=[0.3, 0.7])
    lp_d = -2.5 + 0.35 * prior + 0.1 * (age - 15) + 0.3 * (sex == "M")
    d = rng.random(n) < 1 / (1 + np.exp(-lp_d))
    lp_y = -1.2 + 0.3 * prior - 0.3 * d + 0.05 * (age - 15)
    y = rng.random(n) < 1 / (1 + np.exp(-lp_y))
    return pd.DataFrame({"treated": d.astype(int), "prior": prior, "age": age, "sex": sex, "y": y.astype(int)})


def test_against_statsmodels_by_hand(world):
    b = covariate_benchmark(world, treatment="treated", outcome="y", covariates=["age", "sex", "prior"],
                            benchmark="prior", label="prior offending")
    w = world.assign(u=(world["prior"] > np.median(world["prior"])).astype(int))
    w = w.assign(nu=1 - w["u"])
    lam = math.exp(abs(smf.logit("treated ~ u + age + C(sex)", w).fit(disp=0).params["u"]))
    delta = math.exp(abs(smf.logit("y ~ u + treated + age + C(sex)", w).fit(disp=0).params["u"]))
    p0 = w.loc[w["treated"] == 0, "u"].mean()
    rr1, rr0 = lam / (1 - p0 + lam * p0), 1 / (1 - p0 + lam * p0)   # Zhang & Yu (1998), written out
    rr_uy = math.exp(abs(smf.poisson("y ~ u + treated + age + C(sex)", w).fit(disp=0).params["u"]))
    assert b.or_treatment == pytest.approx(lam, rel=1e-5)
    assert b.or_outcome == pytest.approx(delta, rel=1e-5)
    assert b.rr_treatment == pytest.approx(max(rr1, rr0), rel=1e-5)
    assert b.rr_outcome == pytest.approx(rr_uy, rel=1e-5)
    assert b.gamma == pytest.approx((lam * delta + 1) / (lam + delta), rel=1e-5)
    assert b.adjusted_for == ("age", "sex") and b.n == len(world)
    # k times as strong scales the log associations.
    b2 = covariate_benchmark(world, treatment="treated", outcome="y", covariates=["age", "sex", "prior"],
                             benchmark="prior", k=2)
    assert b2.or_treatment == pytest.approx(lam ** 2, rel=1e-5) and b2.gamma > b.gamma


def _rb(g):
    return RosenbaumResult(kind="binary", n_pairs=50, statistic=30.0, alpha=0.05, gamma_critical=g, grid=())


def _ev(e_ci):
    return EValueResult(rr=0.7, rr_ci=(0.5, 0.9), e_value=2.2, e_value_ci=e_ci, source="risk ratio")


def test_verdicts_and_sentence(world):
    b = covariate_benchmark(world, treatment="treated", outcome="y", covariates=["age", "sex", "prior"],
                            benchmark="prior", label="prior offending")
    assert b.withstands(rosenbaum=_rb(b.gamma + 0.1), e_value=_ev(b.e_value + 0.1))
    assert not b.withstands(rosenbaum=_rb(b.gamma - 0.01), e_value=_ev(b.e_value + 0.1))
    assert not b.withstands(e_value=_ev(b.e_value - 0.01))
    assert not b.withstands(rosenbaum=_rb(None))            # not significant even at Γ = 1
    assert b.withstands(rosenbaum=_rb(float("inf")))
    s = b.sentence(rosenbaum=_rb(b.gamma - 0.01))
    assert s.startswith("A hidden factor as strong as prior offending could remove the effect")
    assert "could not remove" in b.sentence(rosenbaum=_rb(b.gamma + 1), e_value=_ev(b.e_value + 1))
    with pytest.raises(SpecError):
        b.withstands()


def test_bad_inputs(world):
    with pytest.raises(SpecError):
        covariate_benchmark(world, treatment="treated", outcome="y", covariates=["age"], benchmark="prior")
    with pytest.raises(InsufficientDataError):
        covariate_benchmark(world, treatment="treated", outcome="y", covariates=["age", "prior"], benchmark="prior",
                            threshold=1000)
    with pytest.raises(SpecError):
        covariate_benchmark(world, treatment="treated", outcome="prior", covariates=["age", "prior"],
                            benchmark="age")  # a count outcome called binary


def test_group_benchmark_is_one_indicator_and_adjusts_for_neither(world):
    w = world.assign(prior_violent=(world["prior"] > 3).astype(int))
    b = covariate_benchmark(w, treatment="treated", outcome="y", covariates=["age", "sex", "prior", "prior_violent"],
                            benchmark=("prior", "prior_violent"), label="prior offending")
    u = ((w["prior"] > np.median(w["prior"])) | (w["prior_violent"] > 0.5)).astype(int)
    lam = math.exp(abs(smf.logit("treated ~ u + age + C(sex)", w.assign(u=u)).fit(disp=0).params["u"]))
    assert b.or_treatment == pytest.approx(lam, rel=1e-5)
    assert b.benchmark == "prior+prior_violent" and b.adjusted_for == ("age", "sex")
