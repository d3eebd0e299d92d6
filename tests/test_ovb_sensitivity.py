"""Cinelli & Hazlett (2020) sensitivity (evalkit.designs.sensitivity) on the darfur data.

References: the published values (Cinelli & Hazlett 2020, JRSS-B 82:39-67, section 3 and Table 3 / sensemakr's
printed example: estimate 0.0973, SE 0.0232, partial R² 2.19%, RV_q=1 13.9%, RV_q=1,alpha=0.05 7.6%; bounds for
1x, 2x, 3x female) to their printed precision, and sensemakr's Python port (tests/reference/
make_sensemakr_reference.py -> sensemakr_darfur.json) to 1e-6. The darfur data come from the PySensemakr
package (test extra); nothing is fetched.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import statsmodels.formula.api as smf

from evalkit.designs.sensitivity import (adjusted_estimate, benchmark_bounds, ovb_sensitivity, ovb_sensitivity_from_t,
                                         partial_r2, robustness_value)
from evalkit.errors import SpecError

REF = json.loads((Path(__file__).parent / "reference" / "sensemakr_darfur.json").read_text(encoding="utf-8"))
TOL = 1e-6


@pytest.fixture(scope="module")
def fit():
    sensemakr = pytest.importorskip("sensemakr")  # PySensemakr, in the test extra: the darfur data
    return smf.ols(REF["formula"], data=sensemakr.load_darfur()).fit()


@pytest.fixture(scope="module")
def result(fit):
    return ovb_sensitivity(fit, "directlyharmed", benchmarks=["female"], kd=[1, 2, 3], labels={"female": "being female"})


def test_published_values(result):
    # Cinelli & Hazlett (2020), printed to 4 significant figures / 1 decimal of a percentage.
    assert result.estimate == pytest.approx(0.0973, abs=5e-5)
    assert result.se == pytest.approx(0.0232, abs=1e-4)  # printed 0.0232 for 0.023257
    assert result.dof == 783
    assert 100 * result.partial_r2 == pytest.approx(2.19, abs=5e-3)
    assert 100 * result.rv_q == pytest.approx(13.9, abs=0.05)
    assert 100 * result.rv_qa == pytest.approx(7.6, abs=0.05)
    published = {1: (0.0092, 0.1246, 0.0752, 0.0219, 3.4389, 0.0323, 0.1182),
                 2: (0.0183, 0.2493, 0.0529, 0.0204, 2.6002, 0.0130, 0.0929),
                 3: (0.0275, 0.3741, 0.0304, 0.0187, 1.6281, -0.0063, 0.0670)}
    for k, vals in published.items():
        b = result.bound("female", k)
        got = (b.r2dz_x, b.r2yz_dx, b.adjusted_estimate, b.adjusted_se, b.adjusted_t, b.ci_low, b.ci_high)
        assert got == pytest.approx(vals, abs=5e-5)


def test_matches_sensemakr(result):
    assert result.estimate == pytest.approx(REF["estimate"], abs=TOL)
    assert result.se == pytest.approx(REF["se"], abs=TOL)
    assert result.t_statistic == pytest.approx(REF["t_statistic"], abs=TOL)
    assert result.partial_r2 == pytest.approx(REF["partial_r2"], abs=TOL)
    assert result.rv_q == pytest.approx(REF["rv_q1"], abs=TOL)
    assert result.rv_qa == pytest.approx(REF["rv_q1_alpha0.05"], abs=TOL)
    t, dof = REF["t_statistic"], REF["dof"]
    assert robustness_value(t, dof, q=0.5) == pytest.approx(REF["rv_q0.5"], abs=TOL)
    assert robustness_value(t, dof, q=0.5, alpha=0.1) == pytest.approx(REF["rv_q0.5_alpha0.1"], abs=TOL)
    for ref in (r for r in REF["bounds"] if r["benchmark"] == "female"):
        b = result.bound("female", ref["kd"])
        for key in ("r2dz_x", "r2yz_dx", "adjusted_estimate", "adjusted_se", "adjusted_t", "ci_low", "ci_high"):
            assert getattr(b, key) == pytest.approx(ref[key], abs=TOL), key


def test_unequal_multipliers_and_alpha_match_sensemakr(fit):
    refs = [r for r in REF["bounds"] if r["benchmark"] == "pastvoted"]
    res = ovb_sensitivity(fit, "directlyharmed", benchmarks=["pastvoted"], kd=[1, 2], ky=[2, 3], alpha=0.1)
    for ref, b in zip(refs, res.bounds):
        assert (b.kd, b.ky) == (ref["kd"], ref["ky"])
        for key in ("r2dz_x", "r2yz_dx", "adjusted_estimate", "adjusted_se", "adjusted_t", "ci_low", "ci_high"):
            assert getattr(b, key) == pytest.approx(ref[key], abs=TOL), key


def test_summary_route_equals_model_route(fit, result):
    # From the regression tables alone: female's t in the outcome (-9.789) and treatment (-2.680) regressions
    # (Cinelli & Hazlett 2020; sensemakr's documented example), with the estimate and SE.
    fem = {"female": (partial_r2(-2.680, 783), partial_r2(-9.789, 783))}
    res = ovb_sensitivity_from_t(estimate=result.estimate, se=result.se, dof=783, benchmarks=fem, kd=[1, 2, 3])
    for k in (1, 2, 3):
        assert res.bound("female", k).adjusted_estimate == pytest.approx(
            result.bound("female", k).adjusted_estimate, abs=2e-4)  # the t-statistics are printed to 3 decimals
    assert res.rv_q == pytest.approx(result.rv_q, abs=TOL)


def test_group_benchmark_is_the_f_statistic_form(fit):
    # A group benchmark (the village dummies would be too many; use two covariates): sensemakr's group partial R²
    # is F p / (F p + dof) with the classical F test, computed here independently with statsmodels.
    res = ovb_sensitivity(fit, "directlyharmed", benchmarks=[("female", "pastvoted")], kd=[1])
    ftest = fit.f_test("female = 0, pastvoted = 0")
    f, p = float(ftest.fvalue), 2
    assert res.bounds[0].r2yxj_dx == pytest.approx(f * p / (f * p + fit.df_resid), abs=1e-10)
    assert res.bounds[0].benchmark == "female+pastvoted"


def test_sentences_and_verdicts(result):
    assert not result.explained_away("female", 1)
    assert not result.explained_away("female", 2)
    assert result.explained_away("female", 3)          # the 3x interval includes 0 (-0.0063 to 0.0670)
    assert not result.explained_away("female", 3, by="estimate")
    assert result.sentence("female", 1).startswith("A hidden factor as strong as being female could not remove")
    assert "3 times as strong as being female could remove the effect" in result.sentence("female", 3)
    frame = result.to_frame()
    assert len(frame) == 4 and "Robustness value" in result.summary()
    with pytest.raises(SpecError):
        result.bound("age", 1)


def test_reduce_false_and_negative_estimates():
    a = adjusted_estimate(-0.5, 0.1, 100, 0.1, 0.1)
    b = adjusted_estimate(0.5, 0.1, 100, 0.1, 0.1)
    assert a == pytest.approx(-b)
    assert adjusted_estimate(0.5, 0.1, 100, 0.1, 0.1, reduce=False) > 0.5


def test_impossible_multiplier_is_refused():
    with pytest.raises(SpecError, match="smaller kd"):
        benchmark_bounds(0.3, 0.1, kd=5)


def test_rv_alpha_edge_cases():
    assert robustness_value(0.5, 100, alpha=0.05) == 0.0          # not significant to begin with
    # q |f| > 1/f*: the non-binding branch (sensemakr >= 0.1.4), continuous with the binding branch's value 0 at f*
    t = 60.0
    rv = robustness_value(t, 100, alpha=0.05)
    assert 0 < rv < 1
    assert np.isfinite(rv)


def test_no_effect_to_remove_and_units():
    res = ovb_sensitivity_from_t(estimate=0.02, se=0.05, dof=500, benchmarks={"prior": (0.02, 0.05)},
                                 labels={"prior": "prior offending"})
    assert not res.significant
    assert res.sentence("prior").startswith("There is no clear effect for a hidden factor to remove")
    sig = ovb_sensitivity_from_t(estimate=-0.15, se=0.04, dof=500, benchmarks={"prior": (0.01, 0.02)},
                                 labels={"prior": "prior offending"})
    text = sig.sentence("prior", scale=100, unit=" percentage points", digits=2)
    assert "could not remove the effect" in text and "percentage points" in text
