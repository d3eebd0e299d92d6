"""Monte Carlo check of the pre/post estimators (slow; full run in
benchmarks/montecarlo_prepost.py, 2,000 repetitions).

With 400 repetitions the Monte Carlo SE of a 95% coverage is about 0.011, so
coverage must lie in [0.915, 0.985] (about 3 SE); bias of the unbiased
estimators (mean change, change in proportion) must be within 4 Monte Carlo
SE of 0; tests at 5% must reject a true null at most 8% of the time.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "montecarlo_prepost.py"


def _load():
    spec = importlib.util.spec_from_file_location("montecarlo_prepost", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_prepost_bias_and_coverage():
    table = _load().run(reps=400, seed=20240917)
    ci_rows = table[table.coverage_95.notna()]
    assert len(ci_rows) == 2 * (2 * 5 + 2)
    assert ci_rows.coverage_95.between(0.915, 0.985).all(), ci_rows[["n", "true_change", "quantity", "coverage_95"]]
    unbiased = ci_rows[ci_rows.quantity.isin(["Mean change", "Change in proportion (Newcombe CI)"])]
    assert (unbiased.bias.abs() <= 4 * unbiased.mc_se_bias).all()
    null_tests = table[(table.true_change == 0) & table.quantity.str.endswith("share p < 0.05")]
    assert (null_tests.mean_estimate <= 0.08).all()
    assert all(math.isfinite(v) for v in ci_rows.mean_estimate)
