"""Placebo (negative-control) outcome for a matched comparison (evalkit.designs.matching.placebo).

Independent reference: the difference in means and its cluster-robust standard error by matched set from
statsmodels OLS (``cov_type="cluster"``, whose default small-sample correction G/(G-1)·(n-1)/(n-k) is
sandwich::vcovCL's for a linear model), with a t interval on the residual degrees of freedom computed by hand;
and planted worlds: a pre-index difference the matching did not use is caught, none is not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from evalkit.designs.matching import match
from evalkit.designs.matching.placebo import placebo_outcome
from evalkit.errors import SpecError


def _world(selection: float, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_t, n_c = 150, 900
    n = n_t + n_c
    treated = np.r_[np.ones(n_t), np.zeros(n_c)].astype(int)
    prior = rng.poisson(np.where(treated == 1, 2.5, 1.8))
    age = rng.integers(12, 19, n)
    # A hidden trait that also showed before the index date (lower older offending among participants).
    hidden = rng.normal(0, 1, n) - selection * treated
    older = rng.poisson(np.exp(0.2 + 0.3 * np.log1p(prior) + 0.5 * hidden))
    any_older = (older > 0).astype(int)
    return pd.DataFrame({"pid": np.arange(n), "treated": treated, "prior": prior, "age": age, "older": older,
                         "any_older": any_older})


def _fit(data):
    return match(data, treatment="treated", covariates=["prior", "age"], id_col="pid")


def test_estimate_and_se_match_statsmodels_cluster():
    data = _world(selection=0.0)
    m = _fit(data)
    p = placebo_outcome(data, m, outcome="older", kind="count", label="offending 24 to 48 months before")
    units = m.units[m.units["weight"] > 0].merge(data[["pid", "older"]], on="pid")
    X = sm.add_constant(units["treated"].to_numpy(float))
    ols = sm.OLS(units["older"].to_numpy(float), X).fit(cov_type="cluster",
                                                          cov_kwds={"groups": units["subclass"].to_numpy()})
    assert p.estimate.estimate == pytest.approx(ols.params[1], abs=1e-10)
    assert p.estimate.se == pytest.approx(ols.bse[1], rel=1e-8)
    q = stats.t.ppf(0.975, len(units) - 2)
    assert p.estimate.ci_low == pytest.approx(ols.params[1] - q * ols.bse[1], rel=1e-8)
    assert p.ratio is not None and p.ratio.scale == "rate ratio"
    lo, hi = p.tost_interval()
    q90 = stats.t.ppf(0.95, len(units) - 2)
    assert (lo, hi) == pytest.approx((ols.params[1] - q90 * ols.bse[1], ols.params[1] + q90 * ols.bse[1]), rel=1e-8)
    assert p.n_treated == 150 and p.n_control == 150


def test_planted_selection_is_caught_and_its_absence_passes():
    caught = []
    passed = []
    for seed in range(5):
        sel = _world(selection=0.8, seed=seed)
        caught.append(not placebo_outcome(sel, _fit(sel), outcome="any_older", kind="binary").passed)
        null = _world(selection=0.0, seed=seed)
        passed.append(placebo_outcome(null, _fit(null), outcome="any_older", kind="binary").passed)
    assert sum(caught) >= 4      # a strong planted difference shows in (nearly) every world
    assert sum(passed) >= 4      # and its absence passes at 95% (4+ of 5)


def test_sentence_equivalence_and_refusals():
    data = _world(selection=0.0)
    m = _fit(data)
    p = placebo_outcome(data, m, outcome="older", kind="count", label="offending 24 to 48 months before")
    text = p.sentence()
    assert text.startswith("On offending 24 to 48 months before, which the programme cannot have changed")
    assert ("found no sign" in text) == p.passed
    lo, hi = p.tost_interval()
    big = 2 * max(abs(lo), abs(hi))
    assert p.equivalent(big) and not p.equivalent(min(abs(lo), abs(hi)) / 2)
    with pytest.raises(SpecError, match="matched on"):
        placebo_outcome(data, m, outcome="prior", kind="count")
    with pytest.raises(SpecError):
        p.equivalent(0)
    assert len(p.to_frame()) == 2
