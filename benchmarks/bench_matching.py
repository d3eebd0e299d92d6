"""Benchmark: evalkit matching vs R MatchIt on 10,000 participants and 1,000,000 comparison records.

The task, identical on both sides and on the same file
(``benchmarks/_data/matching_bench.csv``, made by ``make_matching_data.py``):
read the id, treatment and six covariate columns, fit the logistic propensity
score, 1:1 nearest-neighbour matching with caliper 0.2 SD, no replacement
(MatchIt defaults otherwise: m.order = "largest", link = "logit"), and write
the matched set (id, weight, subclass, ...). Both sides put the rows in id
order first, so MatchIt's "data order" tie rule means id order, as in evalkit:
R with ``data.table::fread(select = ...)`` then ``order(person_id)``; evalkit
inside ``match_file``.

Ratios are printed from the best (minimum) of several fresh-process runs per
side, interleaved so that a change in the machine's load hits both alike (the
headline is also given from medians):

* **end to end (headline)**: wall clock of one command each, the way a user
  runs it: ``evalkit match FILE ... --out matched.csv`` vs ``Rscript`` with
  fread + ``matchit()`` + fwrite; interpreter start-up, library loading,
  reading, fitting, matching, writing and exit all included;
* **in process, read + fit + match**: inside each process (``perf_counter`` in
  Python around ``match_file`` minus its write; ``Sys.time()`` around fread +
  ``matchit()`` in R), start-up, library loading and writing excluded;
* **fit + match only**: evalkit's ``match()`` on a pandas DataFrame already in
  memory (the library API notebooks use) vs ``matchit()`` alone.

CPU time (user + system, from ``wait4``) and peak resident memory are reported
per run; on a shared machine CPU time is the steadier figure. If ``Rscript``
with MatchIt is available (``R_LIBS`` pointing at a library with MatchIt >=
4.5.4), the matched sets are compared: same units, weights and subclasses.
Usage:

    python benchmarks/bench_matching.py [--repeat 9] [--r-repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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
d <- as.data.frame(fread(args[1], select = c("person_id", "treated", "age", "prior_offences", "deprivation",
                                             "risk", "school_exclusion", "male")))
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


def _cli() -> list[str]:
    """The ``evalkit`` command of this interpreter's environment (the console script users run)."""
    script = Path(sys.executable).with_name("evalkit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "evalkit"]


def cli_command(out: Path) -> list[str]:
    return [*_cli(), "match", str(DATA), "--treatment", "treated", "--id", "person_id", "--covariates",
            ",".join(COVS), "--caliper", "0.2", "--out", str(out)]


def worker(out: str) -> None:
    """In-process timings of the same task through the library (called in a fresh interpreter)."""
    t0 = time.perf_counter()
    from evalkit.designs.matching import files

    t1 = time.perf_counter()
    written: list[float] = []
    write = files.write_matched

    def timed_write(*args, **kwargs):
        t = time.perf_counter()
        write(*args, **kwargs)
        written.append(time.perf_counter() - t)

    files.write_matched = timed_write
    res = files.match_file(DATA, treatment="treated", id_col="person_id", covariates=COVS, caliper=0.2, out=out)
    t2 = time.perf_counter()
    # The DataFrame API on data already in memory: fit + match only.
    import pyarrow.csv as pacsv

    from evalkit.designs.matching import match

    frame = pacsv.read_csv(DATA).to_pandas(split_blocks=True)
    t3 = time.perf_counter()
    m = match(frame, treatment="treated", covariates=COVS, id_col="person_id", caliper=0.2)
    t4 = time.perf_counter()
    assert m.n_treated_matched == res.n_treated_matched
    print(json.dumps({"load": t1 - t0, "read_fit_match": t2 - t1 - written[0], "write": written[0],
                      "match": t4 - t3, "pairs": res.n_treated_matched}))


@dataclass(frozen=True)
class Run:
    wall: float  # fresh process, parent's clock
    cpu: float  # user + system of the child
    peak_mb: float  # child's maximum resident set size
    info: dict  # the child's own timings (or its output, for the command line)


def _run(cmd: list[str], parse: bool = True) -> Run | None:
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
        text = out.read().strip()
        info = json.loads(text.splitlines()[-1]) if parse else {"output": text}
        return Run(wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, info)


def _report(name: str, runs: list[Run]) -> None:
    for i, r in enumerate(runs, 1):
        line = f"{name} run {i}: {r.wall:.2f} s wall, {r.cpu:.2f} s CPU, peak RSS {r.peak_mb:.0f} MB"
        if "version" in r.info:
            line += (f" | in process: libraries {r.info['load']:.2f} s, read {r.info['read']:.2f} s, "
                     f"fit + match {r.info['match']:.2f} s, write {r.info['write']:.2f} s, MatchIt {r.info['version']}")
        elif "read_fit_match" in r.info:
            line += (f" | in process: libraries {r.info['load']:.2f} s, read + fit + match "
                     f"{r.info['read_fit_match']:.2f} s, write {r.info['write']:.2f} s; match() on a DataFrame "
                     f"{r.info['match']:.2f} s")
        print(line)


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
    ap.add_argument("--repeat", type=int, default=9, help="evalkit runs (each: the command, then the library)")
    ap.add_argument("--r-repeat", type=int, default=3, help="MatchIt runs")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(a.worker)
        return
    if not DATA.exists():
        subprocess.run([sys.executable, str(HERE / "make_matching_data.py")], check=True)
    # Byte-compile evalkit first, as an installed package is (and R packages are): otherwise, with
    # PYTHONDONTWRITEBYTECODE set or after an edit, every run would pay for compiling evalkit's source.
    import compileall

    import evalkit

    compileall.compile_dir(Path(evalkit.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        ev_out, lib_out, r_out = Path(tmp) / "evalkit.csv", Path(tmp) / "library.csv", Path(tmp) / "matchit.csv"
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT)
        have_r = shutil.which("Rscript") is not None
        cmd: list[Run] = []
        lib: list[Run] = []
        rr: list[Run] = []
        # Interleave the two commands so that a change in the machine's load hits both alike. The
        # library runs (the in-process breakdown) come afterwards: they hold ~500 MB, and the kernel's
        # reclaiming of that memory slowed whichever command ran next.
        for i in range(max(a.repeat, a.r_repeat if have_r else 0)):
            if i < a.repeat and (run := _run(cli_command(ev_out), parse=False)):
                cmd.append(run)
            if have_r and i < a.r_repeat and (run := _run(["Rscript", str(script), str(DATA), str(r_out)])):
                rr.append(run)
        for _ in range(a.repeat):
            if run := _run([sys.executable, __file__, "--worker", str(lib_out)]):
                lib.append(run)
        print(cmd[-1].info["output"] if cmd else "evalkit match failed")
        _report("evalkit match (command)", cmd)
        _report("evalkit (library, in process)", lib)
        if cmd and lib:
            print(f"command and library wrote the same matched set: {_same_matched_set(ev_out, lib_out)}")
        if not have_r:
            print("Rscript not available: skipped the MatchIt comparison.")
            return
        _report("MatchIt", rr)
        if not (cmd and lib and rr):
            return
        print(f"matched sets identical to MatchIt (units, weights, subclasses): {_same_matched_set(ev_out, r_out)}")
        best = {
            "wall": (min(r.wall for r in cmd), min(r.wall for r in rr)),
            "cpu": (min(r.cpu for r in cmd), min(r.cpu for r in rr)),
            "inproc": (min(r.info["read_fit_match"] for r in lib), min(r.info["read"] + r.info["match"] for r in rr)),
            "match": (min(r.info["match"] for r in lib), min(r.info["match"] for r in rr)),
        }
        med_e, med_r = statistics.median(r.wall for r in cmd), statistics.median(r.wall for r in rr)
        for label, key in [("end to end, fresh process, wall clock (headline)", "wall"),
                           ("end to end, fresh process, CPU time", "cpu"),
                           ("in process, read + fit + match, wall clock", "inproc"),
                           ("in process, fit + match only (match() on a DataFrame vs matchit()), wall clock",
                            "match")]:
            e, r = best[key]
            print(f"speed-up {label}: MatchIt {r:.2f} s / evalkit {e:.2f} s = {r / e:.1f}x")
        print(f"(medians instead of minima, end to end: MatchIt {med_r:.2f} s / evalkit {med_e:.2f} s = "
              f"{med_r / med_e:.1f}x)")
        print(f"evalkit peak RSS {max(r.peak_mb for r in cmd):.0f} MB for the command, "
              f"{max(r.peak_mb for r in lib):.0f} MB for the library run (goal < 1536 MB); "
              f"MatchIt {max(r.peak_mb for r in rr):.0f} MB")


if __name__ == "__main__":
    main()
