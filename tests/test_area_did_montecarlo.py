"""Monte Carlo check of area_did with 8 areas (2 treated): bias, CI coverage, bootstrap and placebo size. Slow.

Run directly for the figures quoted in the report:
    .venv/bin/python tests/test_area_did_montecarlo.py 500
"""

import sys

import numpy as np
import pandas as pd
import pytest

from evalkit.designs.area import area_did

AREAS = ["Nottingham", "Ashfield", "Bassetlaw", "Broxtowe", "Gedling", "Mansfield", "Newark and Sherwood",
         "Rushcliffe"]
ROLLOUT = pd.DataFrame({"intervention_id": "SIM", "area": ["Mansfield", "Ashfield"], "start_month": "2019-10-01"})


def simulate(rng: np.random.Generator, rr: float) -> pd.DataFrame:
    months = pd.period_range("2017-04", "2022-03", freq="M")
    month_eff = rng.normal(0, 0.08, len(months)) + 0.1 * np.sin(2 * np.pi * months.month / 12)
    rows = []
    for area in AREAS:
        pop = rng.integers(100_000, 330_000)
        level = np.log(rng.uniform(8, 28) * pop / 1e5)
        eff = np.where((months >= pd.Period("2019-10", "M")) & (area in ("Mansfield", "Ashfield")), np.log(rr), 0)
        mu = np.exp(level + month_eff + eff) * rng.gamma(20, 1 / 20, len(months))  # overdispersed
        rows.append(pd.DataFrame({"area": area, "month": months.to_timestamp(), "indicator": "sv",
                                  "count": rng.poisson(mu), "population": pop}))
    return pd.concat(rows, ignore_index=True)


def run(reps: int, rr: float, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    est, cover, boot_rej, cr_rej, placebo_rej = [], [], [], [], []
    for _ in range(reps):
        r = area_did(simulate(rng, rr), ROLLOUT, indicator="sv", intervention_id="SIM", bootstrap_ci=False,
                     n_boot=999)
        est.append(np.log(r.rate_ratio.estimate))
        cover.append(r.rate_ratio.ci_low <= rr <= r.rate_ratio.ci_high)
        boot_rej.append(r.bootstrap_p < 0.05)
        cr_rej.append(r.rate_ratio.p_value < 0.05)
        placebo_rej.append(r.placebo.p_value <= 0.05)
    return {"rr": rr, "reps": reps, "bias_log": float(np.mean(est) - np.log(rr)),
            "sd_log": float(np.std(est, ddof=1)), "cr_ci_coverage": float(np.mean(cover)),
            "cr_reject": float(np.mean(cr_rej)), "bootstrap_reject": float(np.mean(boot_rej)),
            "placebo_reject": float(np.mean(placebo_rej))}


@pytest.mark.slow
def test_null_size_and_effect_coverage():
    null = run(60, 1.0, seed=11)
    assert abs(null["bias_log"]) < 0.03
    assert null["bootstrap_reject"] <= 0.10  # conservative with 2 treated clusters (MacKinnon & Webb 2017)
    assert null["placebo_reject"] <= 0.12  # 1/28 = 0.036 if areas were exchangeable; they differ in size
    eff = run(60, 0.82, seed=12)
    assert abs(eff["bias_log"]) < 0.03 and eff["bootstrap_reject"] >= 0.25  # 0.52 measured with 200 reps


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    print(pd.DataFrame([run(n, 1.0, seed=11), run(n, 0.82, seed=12)]).to_string(index=False))


def _five_districts(rng: np.random.Generator) -> pd.DataFrame:
    """No effect; 5 districts, 3 of them treated (INT28's shape: few clusters, 2 comparison districts)."""
    months = pd.period_range("2017-04", "2022-03", freq="M")
    month_eff = rng.normal(0, 0.08, len(months)) + 0.1 * np.sin(2 * np.pi * months.month / 12)
    rows = []
    for area in AREAS[:5]:
        pop = rng.integers(100_000, 330_000)
        mu = np.exp(np.log(rng.uniform(8, 28) * pop / 1e5) + month_eff) * rng.gamma(20, 1 / 20, len(months))
        rows.append(pd.DataFrame({"area": area, "month": months.to_timestamp(), "indicator": "sv",
                                  "count": rng.poisson(mu), "population": pop}))
    return pd.concat(rows, ignore_index=True)


def test_bootstrap_interval_holds_exactly_the_values_the_test_accepts():
    """With few clusters the wild bootstrap interval is the test's inversion: it contains a rate ratio of 1
    exactly when the test at 1 accepts. A bound the data cannot set is nan (open), and an open bound
    covers: counting it as a miss made the interval look as if it disagreed with the test (issue 10's
    note on INT28: 86% coverage against 92% acceptance; re-measured, 40 of 40 null draws agree)."""
    rollout = pd.DataFrame({"intervention_id": "SIM", "area": AREAS[1:4], "start_month": "2019-10-01"})
    rng = np.random.default_rng(5)
    opened = 0
    for _ in range(14):
        r = area_did(_five_districts(rng), rollout, indicator="sv", intervention_id="SIM", n_boot=999)
        lo, hi = r.bootstrap_ci
        opened += int(np.isnan(lo) or np.isnan(hi))
        covers = (np.isnan(lo) or lo <= 1.0) and (np.isnan(hi) or 1.0 <= hi)
        assert covers == (r.bootstrap_p >= 0.05), (lo, hi, r.bootstrap_p)
    assert opened >= 1  # the seed includes a draw with an open bound (the case that was miscounted)
