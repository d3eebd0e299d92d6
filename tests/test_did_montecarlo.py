"""Monte Carlo checks (slow): bias and coverage of the DiD estimators on known truths.

DGP: 300 units x 6 periods, cohorts 3 / 5 / never (1/3 each), unit and period
effects, AR-free noise, and effects that grow with time since treatment
(1 + 0.5 * e), so TWFE is biased while Callaway & Sant'Anna is not.
"""

import numpy as np
import pandas as pd
import pytest

from evalkit.designs.did import callaway_santanna, did_2x2, twfe

pytestmark = pytest.mark.slow


def _panel(rng, nu=300, nt=6):
    g = rng.choice([0, 3, 5], nu)
    u = np.repeat(np.arange(nu), nt)
    t = np.tile(np.arange(1, nt + 1), nu)
    gg = g[u]
    e = t - gg
    treated = (gg > 0) & (e >= 0)
    eff = np.where(treated, 1 + 0.5 * e, 0.0)
    y = rng.normal(size=nu)[u] + 0.2 * t + eff + rng.normal(size=len(u))
    return pd.DataFrame({"u": u, "t": t, "g": gg, "D": treated.astype(int), "y": y}), g


def _true_simple(g, nt=6):
    # Group-size weighted mean of ATT(g,t) = 1 + 0.5 (t - g) over post cells, as the simple aggregation.
    cells = [(gg, t) for gg in (3, 5) for t in range(gg, nt + 1)]
    w = np.array([np.mean(g == gg) for gg, _ in cells])
    att = np.array([1 + 0.5 * (t - gg) for gg, t in cells])
    return float(w @ att / w.sum())


def test_cs_unbiased_and_covers_twfe_biased():
    rng = np.random.default_rng(2024)
    reps, est, cover, tw = 400, [], 0, []
    for _ in range(reps):
        df, g = _panel(rng)
        r = callaway_santanna(df, outcome="y", unit="u", time="t", cohort="g")
        truth = _true_simple(g)
        est.append(r.overall.estimate - truth)
        cover += r.overall.ci_low < truth < r.overall.ci_high
        tw.append(twfe(df, outcome="y", unit="u", time="t", treatment="D", decompose=False).estimate.estimate - truth)
    bias, se_bias = np.mean(est), np.std(est) / np.sqrt(reps)
    assert abs(bias) < 3 * se_bias + 1e-3
    assert 0.92 <= cover / reps <= 0.98  # 95% nominal; MC SE about 0.011
    assert np.mean(tw) < -0.3  # TWFE understates growing effects (forbidden comparisons)


def test_cs_uniform_band_covers_all_event_times_jointly():
    rng = np.random.default_rng(7)
    reps, joint, pointwise = 150, 0, 0
    truth = {e: 1 + 0.5 * e for e in range(0, 4)}
    for i in range(reps):
        df, _ = _panel(rng)
        r = callaway_santanna(df, outcome="y", unit="u", time="t", cohort="g", n_boot=499, seed=i)
        tab = r.aggregate("dynamic").table.set_index("level")
        post = tab.loc[[0.0, 1.0, 2.0, 3.0]]
        tv = np.array([truth[int(e)] for e in post.index])
        pre = tab.loc[tab.index < 0]
        inside = np.r_[(post.band_low < tv) & (tv < post.band_high), (pre.band_low < 0) & (0 < pre.band_high)]
        joint += inside.all()
        pointwise += np.r_[(post.ci_low < tv) & (tv < post.ci_high)].all()
    assert joint / reps >= 0.90  # simultaneous 95% band; MC SE about 0.018
    assert pointwise / reps < joint / reps  # pointwise CIs cover all jointly less often


def test_2x2_cluster_coverage():
    rng = np.random.default_rng(99)
    reps, cover = 400, 0
    for _ in range(reps):
        n = 60
        d = rng.integers(0, 2, n)
        a = rng.normal(size=n)
        rows = [(i, p, d[i], a[i] + 0.3 * p + 0.5 * d[i] * p + rng.normal()) for i in range(n) for p in (0, 1)]
        df = pd.DataFrame(rows, columns=["i", "post", "d", "y"])
        r = did_2x2(df, outcome="y", post="post", treated="d", unit="i")
        cover += r.estimate.ci_low < 0.5 < r.estimate.ci_high
    assert 0.92 <= cover / reps <= 0.98
