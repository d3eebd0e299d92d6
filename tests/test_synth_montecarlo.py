"""Known-truth simulation of the synthetic DiD on the generator's national panel (slow).

Each draw is a fresh national panel (:func:`evalkit.synth.national.simulate_national_panel`, 80 areas to keep
the run short: the demo VRU's 8 areas, other VRUs' areas and about 55 donors) with the planted VRU rate ratio;
the truth is the draw's own expected rate difference in the VRU's areas (truth.csv's ``rate_difference`` row).
Run: ``python -m pytest tests/test_synth_montecarlo.py -m slow -s``; the summary is in the note of issue 23.
"""

from __future__ import annotations

import numpy as np
import pytest

DRAWS = 200


def run(draws: int = DRAWS, n_areas: int = 80, indicator: str = "violence_with_injury") -> dict[str, float]:
    from evalkit.analysis.comparison_areas import compare_with_similar_areas
    from evalkit.synth.national import simulate_national_panel
    from evalkit.synth.settings import CITY_LOCALITY, county_districts

    est, lo, hi, truth = [], [], [], []
    for d in range(draws):
        rng = np.random.default_rng([2023, d])
        table, rows = simulate_national_panel(rng, own_vru="City and County",
                                              own_areas=[CITY_LOCALITY, *county_districts()], n_areas=n_areas)
        f = compare_with_similar_areas(table, vru_name="City and County", indicator=indicator, run_sc=False,
                                       replications=50)
        assert f.ok, f.status
        assert f.sdid is not None
        e = f.sdid.effect
        est.append(e.estimate)
        lo.append(e.ci_low)
        hi.append(e.ci_high)
        truth.append(next(r["true_effect"] for r in rows if r["outcome"] == f"comparison_areas:{indicator}:rate_difference"))
    est_a, lo_a, hi_a, tr = map(np.array, (est, lo, hi, truth))
    err = est_a - tr
    return {"draws": draws, "truth_mean": float(tr.mean()), "bias": float(err.mean()),
            "bias_mc_se": float(err.std(ddof=1) / np.sqrt(draws)), "rmse": float(np.sqrt(np.mean(err ** 2))),
            "coverage": float(np.mean((lo_a <= tr) & (tr <= hi_a))), "mean_se": float(np.mean((hi_a - lo_a) / 3.92))}


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=(
    "measured 2026-12-08 (200 draws, 80 areas): on this panel the synthetic DiD on rates is biased towards no "
    "effect (bias +16.4, Monte Carlo SE 1.4, on a true -26.6 per 100,000 a quarter) and its 95% interval covers "
    "73.5%: the VRU areas sit at the top of the level distribution with a multiplicative trend, outside the "
    "donors' convex hull. Open: estimate on the log rate, or add covariates. Remove this mark when it passes."))
def test_bias_and_coverage_of_synthetic_did():
    out = run()
    print(out)
    # bias within 3 Monte Carlo SEs of zero or under 10% of the true effect; 95% interval covering 88-99%
    assert abs(out["bias"]) < max(3 * out["bias_mc_se"], 0.1 * abs(out["truth_mean"]))
    assert 0.88 <= out["coverage"] <= 0.99
