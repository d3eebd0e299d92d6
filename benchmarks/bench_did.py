"""Speed and memory of evalkit's DiD estimators against the fastest peers (run by hand).

    .venv/bin/python benchmarks/bench_did.py [--units 100000] [--periods 10] [--repeat 3] [--linearmodels]

Data: ``units x periods`` rows (default 100,000 x 10 = 1,000,000), staggered
adoption (cohorts at periods 3..9 plus never treated), one thread (OMP, MKL,
OpenBLAS, numba and Rayon threads set to 1 before numpy loads). Each
estimator runs in its own subprocess: one warm-up call on a small panel (JIT
compilation, imports), then ``repeat`` timed calls on the full panel; the
minimum wall time is reported, and the peak resident memory of the process
minus its resident memory after loading the data (the estimator's own peak).

Compared (all with the same data, same run):
- TWFE, clustered by unit: evalkit ``twfe`` vs pyfixest ``feols("y ~ D | unit + time",
  vcov={"CRV1": "unit"})`` (and linearmodels PanelOLS with --linearmodels);
- Callaway & Sant'Anna, no covariates, never-treated controls, analytic SEs:
  evalkit ``callaway_santanna`` (ATT(g,t) and all four aggregations) vs
  diff-diff ``CallawaySantAnna().fit`` (ATT(g,t) and the overall ATT).
Also checks that the coefficients agree (TWFE to 1e-8; CS overall ATT and SE).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS",
           "RAYON_NUM_THREADS", "POLARS_MAX_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def make_panel(units: int, periods: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cohorts = np.concatenate([[0], np.arange(3, periods)])
    g = rng.choice(cohorts, size=units)
    u = np.repeat(np.arange(units, dtype=np.int64), periods)
    t = np.tile(np.arange(1, periods + 1, dtype=np.int64), units)
    gg = g[u]
    d = ((gg > 0) & (t >= gg)).astype(np.int64)
    y = rng.normal(size=units)[u] + 0.1 * t + d * (1 + 0.1 * (t - gg)) + rng.normal(size=len(u))
    return pd.DataFrame({"unit": u, "time": t, "first_treat": gg, "D": d, "y": y})


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _run(which: str, df: pd.DataFrame):
    warnings.simplefilter("ignore")
    if which == "evalkit_twfe":
        from evalkit.designs.did import twfe

        r = twfe(df, outcome="y", unit="unit", time="time", treatment="D", decompose=False)
        return {"coef": r.estimate.estimate, "se": r.estimate.se}
    if which == "pyfixest_twfe":
        import pyfixest as pf

        m = pf.feols("y ~ D | unit + time", df, vcov={"CRV1": "unit"})
        return {"coef": float(m.coef().iloc[0]), "se": float(m.se().iloc[0])}
    if which == "linearmodels_twfe":
        from linearmodels.panel import PanelOLS

        p = df.set_index(["unit", "time"])
        m = PanelOLS(p["y"], p[["D"]], entity_effects=True, time_effects=True).fit(
            cov_type="clustered", cluster_entity=True)
        return {"coef": float(m.params.iloc[0]), "se": float(m.std_errors.iloc[0])}
    if which == "evalkit_cs":
        from evalkit.designs.did import callaway_santanna

        r = callaway_santanna(df, outcome="y", unit="unit", time="time", cohort="first_treat")
        return {"coef": r.overall.estimate, "se": r.overall.se}
    if which == "diffdiff_cs":
        from diff_diff import CallawaySantAnna

        r = CallawaySantAnna().fit(df, outcome="y", unit="unit", time="time", first_treat="first_treat")
        return {"coef": float(r.overall_att), "se": float(r.overall_se)}
    raise ValueError(which)


def child(which: str, path: str, repeat: int) -> None:
    _run(which, make_panel(2000, 10, seed=2))  # warm-up: imports, JIT
    df = pd.read_parquet(path)
    base = _rss_mb()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = _run(which, df)
        times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"which": which, "seconds": min(times), "peak_mb": peak, "base_mb": base,
                      "own_peak_mb": peak - base, **out}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=100_000)
    ap.add_argument("--periods", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--linearmodels", action="store_true")
    ap.add_argument("--child", nargs=2)
    a = ap.parse_args()
    if a.child:
        child(a.child[0], a.child[1], a.repeat)
        return
    df = make_panel(a.units, a.periods)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "panel.parquet")
        df.to_parquet(path)
        runs = ["evalkit_twfe", "pyfixest_twfe"] + (["linearmodels_twfe"] if a.linearmodels else []) + \
               ["evalkit_cs", "diffdiff_cs"]
        res = {}
        for w in runs:
            out = subprocess.run([sys.executable, __file__, "--child", w, path, "--repeat", str(a.repeat)],
                                 capture_output=True, text=True, check=True)
            res[w] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{len(df):,} rows ({a.units:,} units x {a.periods} periods), one thread, min of {a.repeat} runs")
    print(f"{'estimator':<20}{'seconds':>10}{'own peak MB':>13}{'process peak MB':>17}{'estimate':>20}{'SE':>14}")
    for w, r in res.items():
        print(f"{w:<20}{r['seconds']:>10.3f}{r['own_peak_mb']:>13.0f}{r['peak_mb']:>17.0f}"
              f"{r['coef']:>20.13f}{r['se']:>14.10f}")
    e, p = res["evalkit_twfe"], res["pyfixest_twfe"]
    print(f"TWFE: evalkit/pyfixest time ratio {e['seconds'] / p['seconds']:.2f} (goal <= 1.5); "
          f"|coef diff| {abs(e['coef'] - p['coef']):.1e}; |SE diff| {abs(e['se'] - p['se']):.1e}")
    e, d = res["evalkit_cs"], res["diffdiff_cs"]
    print(f"CS:   evalkit/diff-diff time ratio {e['seconds'] / d['seconds']:.2f} (goal <= 1); "
          f"|ATT diff| {abs(e['coef'] - d['coef']):.1e}; |SE diff| {abs(e['se'] - d['se']):.1e}")


if __name__ == "__main__":
    main()
