"""Benchmark: evalkit matching vs R MatchIt on 10,000 participants and 1,000,000 comparison records.

End to end for both, each in a fresh process (interpreter start-up and library
loading included, as for Rscript): read the CSV, fit the logistic propensity
score on six covariates, 1:1 nearest-neighbour matching with caliper 0.2 SD,
no replacement (MatchIt defaults otherwise: m.order = "largest", link =
"logit"). If Rscript with MatchIt is available (set R_LIBS to a library holding
MatchIt >= 4.5.4), MatchIt runs on the same file in the same run and the
matched sets are compared.

    python benchmarks/bench_matching.py [--repeat 3] [--r-repeat 1]

Wall-clock and CPU times (user + system, from getrusage of the child process)
are printed for both; on a shared machine CPU time is the steadier comparison.
Each side's best run is compared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
DATA = HERE / "_data" / "matching_bench.csv"
COVS = ["age", "prior_offences", "deprivation", "risk", "school_exclusion", "male"]

R_SCRIPT = r"""
suppressPackageStartupMessages({library(MatchIt); library(data.table)})
args <- commandArgs(TRUE)
t0 <- Sys.time()
d <- as.data.frame(fread(args[1]))
d <- d[order(d$person_id), ]
t1 <- Sys.time()
m <- matchit(treated ~ age + prior_offences + deprivation + risk + school_exclusion + male, data = d,
             method = "nearest", distance = "glm", caliper = 0.2, ratio = 1, replace = FALSE)
t2 <- Sys.time()
md <- data.frame(person_id = d$person_id, weight = m$weights, subclass = as.integer(as.character(m$subclass)))
fwrite(md[md$weight > 0, ], args[2])
cat(sprintf("read %.2f s, matchit %.2f s, MatchIt %s\n", as.numeric(t1 - t0, units = "secs"),
            as.numeric(t2 - t1, units = "secs"), packageVersion("MatchIt")))
"""


def worker(out: str) -> None:
    """One cold evalkit run (called in a fresh interpreter)."""
    t0 = time.perf_counter()
    import pyarrow.csv as pacsv

    from evalkit.designs.matching import match

    t1 = time.perf_counter()
    data = pacsv.read_csv(DATA).to_pandas()
    t2 = time.perf_counter()
    m = match(data, treatment="treated", covariates=COVS, id_col="person_id", caliper=0.2)
    t3 = time.perf_counter()
    m.matched[["person_id", "weight", "subclass"]].to_csv(out, index=False)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"import": t1 - t0, "read": t2 - t1, "match": t3 - t2, "peak_mb": peak_mb,
                      "pairs": m.n_treated_matched}))


def _run(cmd: list[str]) -> tuple[float, float, str] | None:
    u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
    wall = time.perf_counter() - t0
    u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        print(f"{cmd[0]} failed: {proc.stderr.strip()[-800:]}")
        return None
    return wall, (u1.ru_utime - u0.ru_utime) + (u1.ru_stime - u0.ru_stime), proc.stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3, help="evalkit runs")
    ap.add_argument("--r-repeat", type=int, default=1, help="MatchIt runs")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(a.worker)
        return
    import numpy as np
    import pandas as pd

    if not DATA.exists():
        subprocess.run([sys.executable, str(HERE / "make_matching_data.py")], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        ev_out, r_out = Path(tmp) / "evalkit.csv", Path(tmp) / "matchit.csv"
        ev = [r for r in (_run([sys.executable, __file__, "--worker", str(ev_out)]) for _ in range(a.repeat)) if r]
        for i, (wall, cpu, out) in enumerate(ev, 1):
            info = json.loads(out)
            print(f"evalkit run {i}: {wall:.2f} s wall, {cpu:.2f} s CPU (start-up + imports {info['import']:.2f} s, "
                  f"read {info['read']:.2f} s, PS + matching {info['match']:.2f} s), peak RSS "
                  f"{info['peak_mb']:.0f} MB, {info['pairs']} pairs")
        if shutil.which("Rscript") is None:
            print("Rscript not available: skipped the MatchIt comparison.")
            return
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT)
        rr = [r for r in (_run(["Rscript", str(script), str(DATA), str(r_out)]) for _ in range(a.r_repeat)) if r]
        if not rr:
            return
        for i, (wall, cpu, out) in enumerate(rr, 1):
            print(f"MatchIt run {i}: {wall:.2f} s wall, {cpu:.2f} s CPU ({out})")
        e = pd.read_csv(ev_out).sort_values("person_id").reset_index(drop=True)
        r = pd.read_csv(r_out).sort_values("person_id").reset_index(drop=True)
        same = (len(e) == len(r) and (e.person_id.to_numpy() == r.person_id.to_numpy()).all()
                and np.allclose(e.weight, r.weight) and (e.subclass.to_numpy() == r.subclass.to_numpy()).all())
        print(f"matched sets identical: {same}")
        best_e, best_r = min(ev), min(rr)
        print(f"speed-up (best runs): {best_r[0] / best_e[0]:.1f}x wall clock, "
              f"{min(x[1] for x in rr) / min(x[1] for x in ev):.1f}x CPU time")


if __name__ == "__main__":
    main()
