"""Slow Monte Carlo check: matched ATT estimators are nearly unbiased with ~95% CI coverage."""

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _load():
    path = Path(__file__).parents[1] / "benchmarks" / "montecarlo_matching.py"
    spec = importlib.util.spec_from_file_location("montecarlo_matching", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bias_small_and_coverage_near_nominal():
    res = _load().run(reps=120, seed=7).set_index(["design", "estimator"])
    naive = res.loc[("naive", "continuous")]
    assert naive["bias"] > 1.0  # selection on observables: the unmatched comparison is badly biased
    for design in ("1:1 caliper 0.2", "1:2 with replacement"):
        cont = res.loc[(design, "continuous")]
        rd = res.loc[(design, "risk difference")]
        adj = res.loc[(design, "continuous, regression-adjusted")]
        assert abs(adj["bias"]) < 0.05  # doubly robust: residual imbalance removed (500 reps: |bias| < 0.01)
        assert 0.88 <= adj["coverage"] <= 0.995
        # 500 reps (see benchmarks/montecarlo_matching.py): 1:1 caliper bias 0.065 (residual imbalance)
        assert abs(cont["bias"]) < 0.15  # |bias| < 15% of the effect (-1.0); MC SE ~0.013
        assert abs(rd["bias"]) < 0.02  # effect ~ -0.13
        # 120 reps: binomial SE of coverage ~0.02; allow 0.88-0.995
        # with replacement HC3 ignores pair membership and is conservative (500 reps: 0.998)
        assert 0.88 <= cont["coverage"] <= (1.0 if "replacement" in design else 0.995)
        assert 0.88 <= rd["coverage"] <= 0.995
