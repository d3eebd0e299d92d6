"""Benchmark: evalkit matching vs R MatchIt on 10,000 participants and 1,000,000 comparison records.

The task, identical on both sides and on the same file: read the CSV
(``benchmarks/_data/matching_bench.csv``, all columns), fit the logistic
propensity score on six covariates, 1:1 nearest-neighbour matching with caliper
0.2 SD, no replacement (MatchIt defaults otherwise: m.order = "largest", link =
"logit"), and write the matched set. R reads with ``data.table::fread`` and
orders the rows by person_id (so MatchIt's "data order" tie rule means id
order, as in evalkit, which sorts by id inside ``match()``); Python reads with
``pyarrow.csv`` (multithreaded, like fread) into pandas.

Two ratios are printed, each from the best (minimum) of several runs per side:

* **end to end (headline)**: wall clock of a fresh process per run — ``python``
  vs ``Rscript``, interpreter start-up, library loading, reading, fitting,
  matching and writing the matched set all included;
* **in-process**: the read + fit + match time measured inside each process
  (``time.perf_counter`` around the same steps in Python, ``Sys.time()`` around
  fread + ``matchit()`` in R), i.e. start-up, library loading and writing
  excluded on both sides (also shown without the read: ``match()`` vs
  ``matchit()`` alone).

CPU time (user + system, from ``wait4`` of each child) and peak resident memory
are reported per run; on a shared machine CPU time is the steadier figure. If
``Rscript`` with MatchIt is available (``R_LIBS`` pointing at a library with
MatchIt >= 4.5.4), the matched sets are compared: same units, weights and
subclasses. Usage:

    python benchmarks/bench_matching.py [--repeat 5] [--r-repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
DATA = HERE / "_data" / "matching_bench.csv"
COVS = ["age", "prior_offences", "deprivation", "risk", "school_exclusion", "male"]

R_SCRIPT = r"""
t_start <- Sys.time()
suppressPackageStartupMessages({library(MatchIt); library(data.table)})
args <- commandArgs(TRUE)
t0 <- Sys.time()
d <- as.data.frame(fread(args[1]))
d <- d[order(d$person_id), ]
t1 <- Sys.time()
m <- matchit(treated ~ age + prior_offences + deprivation + risk + school_exclusion + male, data = d,
             method = "nearest", distance = "glm", caliper = 0.2, ratio = 1, replace = FALSE)
t2 <- Sys.time()
w <- m$weights > 0
fwrite(data.frame(person_id = d$person_id[w], weight = m$weights[w],
                  subclass = as.integer(as.character(m$subclass[w]))), args[2])
t3 <- Sys.time()
secs <- function(a, b) as.numeric(b - a, units = "secs")
cat(sprintf('{"load": %.4f, "read": %.4f, "match": %.4f, "write": %.4f, "version": "%s"}\n', secs(t_start, t0),
            secs(t0, t1), secs(t1, t2), secs(t2, t3), packageVersion("MatchIt")))
"""


def worker(out: str) -> None:
    """One cold evalkit run (called in a fresh interpreter)."""
    t0 = time.perf_counter()
    import pyarrow.csv as pacsv

    from evalkit.designs.matching import match

    t1 = time.perf_counter()
    data = pacsv.read_csv(DATA).to_pandas(split_blocks=True)  # one block per column: no consolidation copy
    t2 = time.perf_counter()
    m = match(data, treatment="treated", covariates=COVS, id_col="person_id", caliper=0.2)
    t3 = time.perf_counter()
    m.matched[["person_id", "weight", "subclass"]].to_csv(out, index=False)
    t4 = time.perf_counter()
    print(json.dumps({"load": t1 - t0, "read": t2 - t1, "match": t3 - t2, "write": t4 - t3,
                      "pairs": m.n_treated_matched}))


@dataclass(frozen=True)
class Run:
    wall: float  # fresh process, parent's clock
    cpu: float  # user + system of the child
    peak_mb: float  # child's maximum resident set size
    info: dict  # the child's own timings

    @property
    def inproc(self) -> float:
        return self.info["read"] + self.info["match"]


def _run(cmd: list[str]) -> Run | None:
    """Run ``cmd`` in a fresh process; its own rusage comes from wait4 (not the children's aggregate)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=os.environ)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            print(f"{cmd[0]} failed: {err.read().strip()[-800:]}")
            return None
        info = json.loads(out.read().strip().splitlines()[-1])
        return Run(wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, info)


def _report(name: str, runs: list[Run]) -> None:
    for i, r in enumerate(runs, 1):
        extra = f", MatchIt {r.info['version']}" if "version" in r.info else f", {r.info['pairs']} pairs"
        print(f"{name} run {i}: {r.wall:.2f} s wall, {r.cpu:.2f} s CPU, peak RSS {r.peak_mb:.0f} MB | in process: "
              f"libraries {r.info['load']:.2f} s, read {r.info['read']:.2f} s, "
              f"fit + match {r.info['match']:.2f} s, write {r.info['write']:.2f} s{extra}")


def _same_matched_set(ev_out: Path, r_out: Path) -> bool:
    import numpy as np
    import pandas as pd

    e = pd.read_csv(ev_out).sort_values("person_id").reset_index(drop=True)
    r = pd.read_csv(r_out).sort_values("person_id").reset_index(drop=True)
    return (len(e) == len(r) and (e.person_id.to_numpy() == r.person_id.to_numpy()).all()
            and np.allclose(e.weight, r.weight, rtol=0, atol=1e-12)
            and (e.subclass.to_numpy() == r.subclass.to_numpy()).all())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5, help="evalkit runs")
    ap.add_argument("--r-repeat", type=int, default=3, help="MatchIt runs")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(a.worker)
        return
    if not DATA.exists():
        subprocess.run([sys.executable, str(HERE / "make_matching_data.py")], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        ev_out, r_out = Path(tmp) / "evalkit.csv", Path(tmp) / "matchit.csv"
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT)
        have_r = shutil.which("Rscript") is not None
        ev: list[Run] = []
        rr: list[Run] = []
        # Interleave the two sides so that a change in the machine's load hits both alike.
        for i in range(max(a.repeat, a.r_repeat if have_r else 0)):
            if i < a.repeat and (run := _run([sys.executable, __file__, "--worker", str(ev_out)])):
                ev.append(run)
            if have_r and i < a.r_repeat and (run := _run(["Rscript", str(script), str(DATA), str(r_out)])):
                rr.append(run)
        _report("evalkit", ev)
        if not have_r:
            print("Rscript not available: skipped the MatchIt comparison.")
            return
        _report("MatchIt", rr)
        if not (ev and rr):
            return
        print(f"matched sets identical (units, weights, subclasses): {_same_matched_set(ev_out, r_out)}")
        best = {k: (min(f(r) for r in ev), min(f(r) for r in rr))
                for k, f in [("wall", lambda r: r.wall), ("cpu", lambda r: r.cpu), ("inproc", lambda r: r.inproc),
                             ("match", lambda r: r.info["match"])]}
        for label, key in [("end to end, fresh process, wall clock (headline)", "wall"),
                           ("end to end, fresh process, CPU time", "cpu"),
                           ("in process, read + fit + match, wall clock", "inproc"),
                           ("in process, fit + match only (match() vs matchit()), wall clock", "match")]:
            e, r = best[key]
            print(f"speed-up {label}: MatchIt {r:.2f} s / evalkit {e:.2f} s = {r / e:.1f}x")
        print(f"evalkit peak RSS {max(r.peak_mb for r in ev):.0f} MB (goal < 1536 MB); "
              f"MatchIt {max(r.peak_mb for r in rr):.0f} MB")


if __name__ == "__main__":
    main()
