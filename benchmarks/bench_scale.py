"""Cost curves on this machine: comparison-pool preparation (DuckDB, out of core) and record linkage (Splink).

Run by hand, not in the tests (a full run takes tens of minutes)::

    .venv/bin/python benchmarks/bench_scale.py pool --sizes 100000,1000000,10000000 --memory-limit 1GB
    .venv/bin/python benchmarks/bench_scale.py link --sizes 10000,100000,1000000 [--link-memory-limit 4GB]

``pool``: writes a synthetic comparison pool of N people (Parquet) and an offences table (about 0.8
offences a person), then times :func:`evalkit.scale.pool.prepare_pool` in a fresh process, reporting
wall time and the process's peak resident memory (DuckDB spills beyond ``--memory-limit``).

``link``: makes N provider records and N police records (half of the provider records have a true
police record) with fake identities and recording errors at the synthetic layer's rates
(:mod:`evalkit.synth.identified`), then times standardising plus Splink's training and prediction on
DuckDB in a fresh process, with the national candidate rules
(:meth:`evalkit.link.model.LinkSettings.national`), and measures precision and recall against the
true links at the default threshold (and at lower match weights, :data:`SWEEP`).

Each measurement prints one CSV line (``kind,size,seconds,peak_mb,cpu_s=...,...``) to stdout: wall
seconds of the measured call, the process's peak resident memory, and its CPU seconds (user + system).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


# --------------------------------------------------------------------------- data
def write_pool(folder: Path, n: int, seed: int = 1) -> tuple[Path, Path]:
    """A synthetic comparison pool and offences table as Parquet (columns of the data contract)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    pool_path, off_path = folder / f"pool_{n}.parquet", folder / f"offences_{n}.parquet"
    if pool_path.exists() and off_path.exists():
        return pool_path, off_path
    ids = np.array([f"P{v:016x}" for v in rng.choice(2**62, size=n, replace=False)], dtype=object)
    start = np.datetime64("2020-04-01")
    index = start + rng.integers(0, 365, n).astype("timedelta64[D]")
    born = index - (rng.integers(10, 25, n) * 365.25 + rng.integers(0, 365, n)).astype("timedelta64[D]")
    pool = pa.table({
        "person_id": ids, "index_date": index, "pool_source": np.where(rng.random(n) < 0.3, "custody_no_referral",
                                                                       "at_risk_list"),
        "date_of_birth": born, "sex": np.where(rng.random(n) < 0.75, "male", "female"),
        "ethnicity_group": np.array(["white", "asian", "black", "mixed", "other"])[
            rng.choice(5, n, p=[0.75, 0.1, 0.07, 0.05, 0.03])],
        "prior_offences": rng.poisson(1.2, n),
    })
    pq.write_table(pool, pool_path)
    k = rng.poisson(0.8, n)
    who = np.repeat(ids, k)
    m = len(who)
    offence = np.repeat(index, k) + rng.integers(-500, 600, m).astype("timedelta64[D]")
    offences = pa.table({
        "person_id": who, "offence_date": offence,
        "offence_group": np.array(["violence_with_injury", "robbery", "theft", "drugs"])[rng.integers(0, 4, m)],
        "outcome": np.array(["conviction", "caution", "no_further_action", "youth_caution"])[rng.integers(0, 4, m)],
        "outcome_date": offence + rng.integers(1, 240, m).astype("timedelta64[D]"),
    })
    pq.write_table(offences, off_path)
    return pool_path, off_path


def write_link_files(folder: Path, n: int, seed: int = 1) -> tuple[Path, Path, Path]:
    """N provider records and N police records, half the provider records truly in the police extract."""
    import pandas as pd

    from evalkit.synth.identified import POLICE_ERRORS, PROVIDER_ERRORS, POSTCODE_DISTRICTS, add_errors, \
        fake_names, fake_postcodes

    paths = tuple(folder / f"{name}_{n}.parquet" for name in ("provider", "police", "truth"))
    if all(p.exists() for p in paths):
        return paths  # type: ignore[return-value]
    rng = np.random.default_rng(seed)
    people = int(n * 1.5)  # n/2 in both lists, n/2 provider only, n/2 police only
    sex = np.where(rng.random(people) < 0.6, "male", "female").astype(object)
    group = np.array(["white", "asian", "black", "mixed", "other"], dtype=object)[
        rng.choice(5, people, p=[0.75, 0.1, 0.07, 0.05, 0.03])]
    first, last, locale = fake_names(rng, sex, group)
    localities = np.array(sorted(POSTCODE_DISTRICTS), dtype=object)[rng.integers(0, len(POSTCODE_DISTRICTS), people)]
    born = np.datetime64("1996-01-01") + rng.integers(0, 16 * 365, people).astype("timedelta64[D]")
    base = pd.DataFrame({"person": np.arange(people), "first_name": first, "surname": last,
                         "date_of_birth": [d.item() for d in born], "sex": sex,
                         "postcode": fake_postcodes(rng, localities), "locale": locale})
    half = n // 2
    prov = base.iloc[:n].reset_index(drop=True)
    pol = base.iloc[half:half + n].reset_index(drop=True)
    prov_shown, _ = add_errors(rng, prov, PROVIDER_ERRORS, prov["locale"].to_numpy())
    pol_shown, _ = add_errors(rng, pol, POLICE_ERRORS, pol["locale"].to_numpy())
    prov_shown["record_id"] = [f"R{i:08d}" for i in range(n)]
    pol_shown["record_id"] = [f"NP{i:08d}" for i in rng.permutation(n)]
    cols = ["record_id", "first_name", "surname", "date_of_birth", "sex", "postcode"]
    for frame, path in ((prov_shown, paths[0]), (pol_shown, paths[1])):
        out = frame[cols].assign(date_of_birth=pd.to_datetime(frame["date_of_birth"]).dt.strftime("%Y-%m-%d"))
        out.to_parquet(path, index=False)
    truth = prov_shown[["record_id", "person"]].merge(pol_shown[["record_id", "person"]], on="person", how="left",
                                                      suffixes=("", "_police"))
    truth[["record_id", "record_id_police"]].to_parquet(paths[2], index=False)
    return paths  # type: ignore[return-value]


# --------------------------------------------------------------------------- measured runs (child processes)
def _child_pool(pool: str, offences: str, out: str, memory_limit: str) -> dict:
    from evalkit.scale.pool import prepare_pool

    t0 = time.perf_counter()
    r = prepare_pool(pool, offences, out, data_end="2022-08-31", memory_limit=memory_limit, age_min=10, age_max=25)
    return {"seconds": time.perf_counter() - t0, "people_out": r.people_out, "rows_in": r.rows_in}


#: Match-weight thresholds at which precision and recall are also reported: the default (8) includes the
#: prior, which falls as the lists grow, so a national run may need a lower one (down to the review band).
SWEEP = (2.0, 4.0, 6.0)


def _child_link(provider: str, police: str, truth: str, memory_limit: str = "") -> dict:
    import pandas as pd

    from evalkit.link.model import LinkSettings, fit_and_link
    from evalkit.link.prepare import read_identified, standardise

    t0 = time.perf_counter()
    left = standardise(read_identified(provider), "provider")
    right = standardise(read_identified(police), "police")
    t1 = time.perf_counter()
    s = LinkSettings.national()
    db_api = None
    if memory_limit:  # DuckDB's default is 80% of the machine's memory
        import duckdb
        from splink import DuckDBAPI

        con = duckdb.connect()
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute("SET enable_progress_bar = false")
        db_api = DuckDBAPI(connection=con)
    fit = fit_and_link(left, right, s, right_name="police", db_api=db_api)
    t2 = time.perf_counter()
    t = pd.read_parquet(truth).set_index("record_id")["record_id_police"]
    best = fit.best.set_index("unique_id_l")

    def scores(threshold: float) -> tuple[float, float]:
        got = best.loc[best["match_weight"] >= threshold, "unique_id_r"]
        tp = int((got == t.reindex(got.index)).sum())
        return tp / max(len(got), 1), tp / int(t.notna().sum())

    precision, recall = scores(fit.threshold)  # chosen from the fitted model (national settings)
    sweep = {f"{w:g}": [round(v, 4) for v in scores(w)] for w in SWEEP}
    return {"seconds": t2 - t0, "prepare_seconds": t1 - t0, "splink_seconds": t2 - t1,
            "candidate_pairs": fit.candidate_pairs, "precision": precision, "recall": recall,
            "prior": fit.prior, "sweep": sweep, "threshold": fit.threshold}


def _measure(kind: str, args: list[str]) -> dict:
    """Run one measurement in a fresh interpreter; its peak resident memory comes from the OS."""
    code = (f"import json, sys; sys.path.insert(0, {str(HERE)!r}); import bench_scale as b; "
            f"print(json.dumps(b._child_{kind}(*sys.argv[1:])))")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # None: not above an earlier child's peak (the counter keeps the largest child's)
    result["peak_mb"] = round(after.ru_maxrss / 1024) if after.ru_maxrss > usage.ru_maxrss else None
    # CPU seconds (user + system, all threads) include the interpreter's start and imports; on a shared machine
    # they say more than wall time, which also counts the time other people's processes held the cores
    result["cpu_s"] = (after.ru_utime + after.ru_stime) - (usage.ru_utime + usage.ru_stime)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["pool", "link"])
    parser.add_argument("--sizes", required=True, help="comma-separated record counts")
    parser.add_argument("--memory-limit", default="1GB", help="pool: DuckDB's memory limit")
    parser.add_argument("--link-memory-limit", default="",
                        help="link: DuckDB's memory limit for Splink (default: DuckDB's own, 80%% of memory)")
    parser.add_argument("--work", default=None, help="folder for generated files (kept for reruns)")
    a = parser.parse_args()
    work = Path(a.work or tempfile.mkdtemp(prefix="evalkit-bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"# {a.kind} on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; files in {work}",
          flush=True)
    for n in (int(v) for v in a.sizes.split(",")):
        t0 = time.perf_counter()
        if a.kind == "pool":
            pool, off = write_pool(work, n)
            made = time.perf_counter() - t0
            r = _measure("pool", [str(pool), str(off), str(work / f"prepared_{n}.parquet"), a.memory_limit])
            print(f"pool,{n},{r['seconds']:.2f},{r['peak_mb']},cpu_s={r['cpu_s']:.1f},rows_in={r['rows_in']},people_out={r['people_out']},"
                  f"memory_limit={a.memory_limit},input_mb={(pool.stat().st_size + off.stat().st_size) / 1e6:.0f},"
                  f"generate_s={made:.1f},load={os.getloadavg()[0]:.1f}", flush=True)
        else:
            provider, police, truth = write_link_files(work, n)
            made = time.perf_counter() - t0
            r = _measure("link", [str(provider), str(police), str(truth), a.link_memory_limit])
            sweep = ";".join(f"w{w}:{p:.4f}/{rc:.4f}" for w, (p, rc) in r["sweep"].items())
            print(f"link,{n},{r['seconds']:.2f},{r['peak_mb']},cpu_s={r['cpu_s']:.1f},prepare_s={r['prepare_seconds']:.1f},"
                  f"splink_s={r['splink_seconds']:.1f},pairs={r['candidate_pairs']},precision={r['precision']:.4f},"
                  f"recall={r['recall']:.4f},prior={r['prior']:.3g},precision/recall_at_lower_weights={sweep},"
                  f"memory_limit={a.link_memory_limit or 'default'},generate_s={made:.1f},"
                  f"load={os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
