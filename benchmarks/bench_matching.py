"""Benchmark: evalkit matching vs R MatchIt on 10,000 participants and 1,000,000 comparison records.

The task, identical on both sides and on the same file: read the id, treatment
and six covariate columns, fit the logistic propensity score, 1:1
nearest-neighbour matching with caliper 0.2 SD, no replacement (MatchIt
defaults otherwise: m.order = "largest", link = "logit"), and write the matched
set (id, weight, subclass, ...). Both sides put the rows in id order first, so
MatchIt's "data order" tie rule means id order, as in evalkit: R with
``data.table::fread(select = ...)`` then ``order(person_id)``; evalkit inside
``match_file``.

Two data files, made by ``make_matching_data.py`` (so that the claim holds on
data the code was not tuned to):

* ``binary``: ``benchmarks/_data/matching_bench.csv``, the original file (four
  continuous covariates, two binary, independent);
* ``continuous``: ``benchmarks/_data/matching_bench_continuous.csv``: four
  full-precision continuous covariates (correlated, two of them skewed), age
  and an over-dispersed count of prior offences.

For each file the two commands run alternately, each in a fresh process, the
way a user runs them: ``evalkit match FILE ... --out matched.csv`` vs
``Rscript`` with fread + ``matchit()`` + fwrite (interpreter start-up, library
loading, reading, fitting, matching, writing and exit all included). The
headline ratio is the ratio of the medians of the wall-clock times; minima, CPU
time (user + system, from ``wait4``) and peak resident memory are reported too.
The 1-minute load average is recorded before every run: a ratio measured while
the machine was busy is marked as such. Optionally (``--library``) the
in-process breakdown of evalkit's library is timed as well.

If ``Rscript`` with MatchIt and data.table is available, the matched sets are
compared (same units, weights and subclasses); if not, the results say that the
peer could not be measured, and no ratio is given.

Results go to ``benchmarks/results/matching.json`` (ratios, medians, data
files, load, machine, date, versions); the README and docs/scale.md quote
that file, and ``tests/test_benchmark_claims.py`` keeps them in step with it.
Usage:

    python benchmarks/bench_matching.py [--data binary|continuous|both] [--repeat 5] [--r-repeat 5]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from make_matching_data import KINDS  # noqa: E402  (the generators and their files)

RESULTS = HERE / "results" / "matching.json"
ROOT = HERE.parent

R_SCRIPT = r"""
t_start <- Sys.time()
suppressPackageStartupMessages({library(MatchIt); library(data.table)})
args <- commandArgs(TRUE)
covs <- strsplit(args[3], ",")[[1]]
t0 <- Sys.time()
d <- as.data.frame(fread(args[1], select = c("person_id", "treated", covs)))
d <- d[order(d$person_id), ]
t1 <- Sys.time()
m <- matchit(reformulate(covs, response = "treated"), data = d,
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


def cli_command(data: Path, covs: list[str], out: Path) -> list[str]:
    return [*_cli(), "match", str(data), "--treatment", "treated", "--id", "person_id", "--covariates",
            ",".join(covs), "--caliper", "0.2", "--out", str(out)]


def worker(data: str, covs: str, out: str) -> None:
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
    res = files.match_file(data, treatment="treated", id_col="person_id", covariates=covs.split(","), caliper=0.2,
                           out=out)
    t2 = time.perf_counter()
    print(json.dumps({"load": t1 - t0, "read_fit_match": t2 - t1 - written[0], "write": written[0],
                      "pairs": res.n_treated_matched}))


@dataclass(frozen=True)
class Run:
    wall: float  # fresh process, parent's clock
    cpu: float  # user + system of the child
    peak_mb: float  # child's maximum resident set size
    load_1min: float  # the machine's 1-minute load average just before the run
    info: dict  # the child's own timings (or its output, for the command line)


def _run(cmd: list[str], parse: bool = True) -> Run | None:
    """Run ``cmd`` in a fresh process; its own rusage comes from wait4 (not the children's aggregate)."""
    load = os.getloadavg()[0]
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
        return Run(wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, load, info)


def _report(name: str, runs: list[Run]) -> None:
    for i, r in enumerate(runs, 1):
        line = (f"{name} run {i}: {r.wall:.2f} s wall, {r.cpu:.2f} s CPU, peak RSS {r.peak_mb:.0f} MB, "
                f"load {r.load_1min:.2f}")
        if "version" in r.info:
            line += (f" | in process: libraries {r.info['load']:.2f} s, read {r.info['read']:.2f} s, "
                     f"fit + match {r.info['match']:.2f} s, write {r.info['write']:.2f} s, MatchIt {r.info['version']}")
        elif "read_fit_match" in r.info:
            line += (f" | in process: libraries {r.info['load']:.2f} s, read + fit + match "
                     f"{r.info['read_fit_match']:.2f} s, write {r.info['write']:.2f} s")
        print(line)


def _compare(ev_out: Path, r_out: Path) -> dict:
    """Whether the two matched sets are the same (units, weights, subclasses), and their sizes."""
    import numpy as np
    import pandas as pd

    e = pd.read_csv(ev_out).sort_values("person_id").reset_index(drop=True)
    r = pd.read_csv(r_out).sort_values("person_id").reset_index(drop=True)
    same = bool(len(e) == len(r) and (e.person_id.to_numpy() == r.person_id.to_numpy()).all()
                and np.allclose(e.weight, r.weight, rtol=0, atol=1e-12)
                and (e.subclass.to_numpy() == r.subclass.to_numpy()).all())
    return {"identical_matched_set": same, "evalkit_matched_rows": len(e), "matchit_matched_rows": len(r),
            "shared_units": int(np.isin(e.person_id.to_numpy(), r.person_id.to_numpy()).sum())}


def _summary(runs: list[Run]) -> dict:
    walls = [r.wall for r in runs]
    return {"runs": len(runs), "wall_median_s": round(statistics.median(walls), 3), "wall_min_s": round(min(walls), 3),
            "wall_s": [round(w, 3) for w in walls], "cpu_median_s": round(statistics.median(r.cpu for r in runs), 3),
            "peak_rss_mb_max": round(max(r.peak_mb for r in runs)), "load_1min": [round(r.load_1min, 2) for r in runs]}


def _machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model or platform.processor(), "cores": os.cpu_count(), "system": platform.platform(),
            "python": platform.python_version()}


def bench_file(kind: str, a: argparse.Namespace, tmp: Path, script: Path, have_r: bool) -> dict:
    data, covs = KINDS[kind]
    if not data.exists():
        subprocess.run([sys.executable, str(HERE / "make_matching_data.py"), "--kind", kind], check=True)
    ev_out, lib_out, r_out = tmp / f"{kind}_evalkit.csv", tmp / f"{kind}_library.csv", tmp / f"{kind}_matchit.csv"
    cmd: list[Run] = []
    rr: list[Run] = []
    lib: list[Run] = []
    print(f"\n== {kind}: {data.relative_to(ROOT)} (covariates {', '.join(covs)})")
    # Alternate the two commands so that a change in the machine's load hits both alike.
    for i in range(max(a.repeat, a.r_repeat if have_r else 0)):
        if i < a.repeat and (run := _run(cli_command(data, covs, ev_out), parse=False)):
            cmd.append(run)
        if have_r and i < a.r_repeat and (run := _run(["Rscript", str(script), str(data), str(r_out),
                                                        ",".join(covs)])):
            rr.append(run)
    if a.library:  # afterwards: they hold ~500 MB, and reclaiming it slowed whichever command ran next
        for _ in range(a.repeat):
            if run := _run([sys.executable, __file__, "--worker", str(data), ",".join(covs), str(lib_out)]):
                lib.append(run)
    if not cmd:
        raise SystemExit("evalkit match failed")
    print(cmd[-1].info["output"])
    _report("evalkit match (command)", cmd)
    _report("evalkit (library, in process)", lib)
    out: dict = {"kind": kind, "file": str(data.relative_to(ROOT)), "covariates": covs,
                 "evalkit": _summary(cmd)}
    if lib:
        out["evalkit_library_read_fit_match_median_s"] = round(statistics.median(r.info["read_fit_match"] for r in lib),
                                                               3)
    first = cmd[-1].info["output"].splitlines()[0]
    out["evalkit_output"] = first
    if not (have_r and rr):
        return out
    _report("MatchIt", rr)
    cmp = _compare(ev_out, r_out)
    same = cmp["identical_matched_set"]
    e_med, r_med = out["evalkit"]["wall_median_s"], statistics.median(r.wall for r in rr)
    out.update({
        "matchit": _summary(rr) | {"version": rr[0].info["version"]},
        **cmp,
        "ratio_median": round(r_med / e_med, 1),
        "ratio_min": round(min(r.wall for r in rr) / min(r.wall for r in cmd), 1),
        "ratio_cpu_median": round(statistics.median(r.cpu for r in rr) / statistics.median(r.cpu for r in cmd), 1),
    })
    print(f"matched sets identical to MatchIt (units, weights, subclasses): {same} (rows: evalkit "
          f"{cmp['evalkit_matched_rows']:,}, MatchIt {cmp['matchit_matched_rows']:,}, shared {cmp['shared_units']:,})")
    print(f"speed-up end to end, fresh processes, medians of wall clock: MatchIt {r_med:.2f} s / evalkit "
          f"{e_med:.2f} s = {out['ratio_median']:.1f}x  (minima: {out['ratio_min']:.1f}x, CPU time: "
          f"{out['ratio_cpu_median']:.1f}x)")
    print(f"evalkit peak RSS {out['evalkit']['peak_rss_mb_max']} MB (goal <= 1536 MB); "
          f"MatchIt {out['matchit']['peak_rss_mb_max']} MB")
    return out


def _have_matchit() -> tuple[bool, str]:
    if shutil.which("Rscript") is None:
        return False, "Rscript is not installed on this machine"
    probe = subprocess.run(["Rscript", "-e", "suppressPackageStartupMessages({library(MatchIt); library(data.table)})"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return False, "R is installed but MatchIt or data.table is not"
    return True, ""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", choices=[*KINDS, "both"], default="both")
    ap.add_argument("--repeat", type=int, default=5, help="evalkit command runs per file")
    ap.add_argument("--r-repeat", type=int, default=5, help="MatchIt runs per file")
    ap.add_argument("--library", action="store_true", help="also time the library in process")
    ap.add_argument("--results", type=Path, default=RESULTS, help="where to write the results (JSON)")
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(*a.worker)
        return
    # Byte-compile evalkit first, as an installed package is (and R packages are): otherwise, with
    # PYTHONDONTWRITEBYTECODE set or after an edit, every run would pay for compiling evalkit's source.
    import compileall

    import evalkit

    compileall.compile_dir(Path(evalkit.__file__).parent, quiet=1)
    have_r, why_not = _have_matchit()
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT)
        files = [bench_file(k, a, Path(tmp), script, have_r) for k in (KINDS if a.data == "both" else [a.data])]
    loads = [x for f in files for side in ("evalkit", "matchit") if side in f for x in f[side]["load_1min"]]
    result = {
        "benchmark": "benchmarks/bench_matching.py",
        "task": "1:1 nearest-neighbour propensity-score matching, caliper 0.2 SD, no replacement, 6 covariates, "
                "10,000 participants x 1,000,000 comparison records, end to end (start-up, CSV read, fit, match, "
                "write), fresh processes, runs alternated",
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(),
        "load_1min_before": round(load_before, 2),
        "load_1min_max": round(max(loads, default=load_before), 2),
        "idle": max(loads, default=load_before) < 1.5,
        "peer": ({"name": "MatchIt", "measured": True,
                  "version": next((f["matchit"]["version"] for f in files if "matchit" in f), "")}
                 if have_r and all("matchit" in f for f in files) else
                 {"name": "MatchIt", "measured": False, "reason": why_not or "the MatchIt runs failed"}),
        "files": files,
    }
    a.results.parent.mkdir(parents=True, exist_ok=True)
    a.results.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nload (1 minute) before {result['load_1min_before']}, highest during {result['load_1min_max']}"
          f"{'' if result['idle'] else ' (NOT idle: ratios measured under load)'}; wrote {a.results}")
    if not result["peer"]["measured"]:
        print(f"MatchIt could not be measured here ({result['peer']['reason']}): no ratio.")


if __name__ == "__main__":
    main()
