"""The demo: the whole portfolio on the shipped synthetic data, in one call.

``run_demo`` validates and ingests ``synthetic_data/`` into a fresh DuckDB store
*beside* the output folder (``demo_output_store/`` for ``demo_output/``),
renders every protocol in ``protocols/`` (one report per intervention plus the
VRU-wide area report) and the portfolio summary, and says where to open the
result.

The store holds row-level records, the output folder only aggregates; keeping
them apart means the folder of reports can be zipped and shared as it is (with
real data, keep the store on the secure drive). A store left inside the output
folder by an older evalkit is removed.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from evalkit.errors import MissingDataError

ROOT = Path(__file__).resolve().parent.parent
SYNTHETIC = ROOT / "synthetic_data"
PROTOCOLS = ROOT / "protocols"
STORE_NAME = "evalkit_store.duckdb"


def demo_files(folder: Path = SYNTHETIC) -> list[Path]:
    """The data-contract table files in the synthetic data folder (not the truth file)."""
    from evalkit.data.readers import is_table_file

    files = sorted(p for p in folder.glob("*") if is_table_file(p))  # .csv, .csv.gz, .parquet, .xlsx
    if not files:
        raise MissingDataError(f"{folder}: no synthetic data files found. Fix: run `evalkit synth --out {folder}`.")
    return files


def build_store(out_dir: Path, files: list[Path]) -> Path:
    """Validate and ingest ``files`` into a fresh store ``out_dir/evalkit_store.duckdb`` (replaced atomically)."""
    from evalkit.data.store import ingest_files

    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / STORE_NAME
    tmp = out_dir / f".{STORE_NAME}.{uuid.uuid4().hex[:8]}"
    try:
        ingest_files(files, tmp)
        os.replace(tmp, final)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            if leftover.exists():
                leftover.unlink()
    return final


def store_dir(out_dir: str | Path) -> Path:
    """Where the demo keeps its store: a sibling of the output folder, ``<out>_store/`` (never inside it)."""
    out_dir = Path(out_dir)
    return out_dir.with_name(out_dir.name + "_store")


def run_demo(out_dir: str | Path = "demo_output", *, workers: int = 2, data_dir: str | Path | None = None,
             protocol_dir: str | Path | None = None) -> str:
    """Run the whole demo portfolio; return a message saying where to open ``index.html``."""
    from evalkit.run import run_all

    start = time.perf_counter()
    out_dir = Path(out_dir)
    files = demo_files(Path(data_dir) if data_dir else SYNTHETIC)
    store = build_store(store_dir(out_dir), files)
    for old in (out_dir / STORE_NAME, out_dir / f"{STORE_NAME}.wal"):  # left there by an older evalkit
        if old.is_file():
            old.unlink()
    ingest_s = time.perf_counter() - start
    result = run_all(Path(protocol_dir) if protocol_dir else PROTOCOLS, store, out_dir, workers=workers)
    total = time.perf_counter() - start
    ok = sum(r.ok for r in result.reports)
    lines = [f"Demo finished in {total:.0f} s (data checked and stored in {ingest_s:.1f} s; "
             f"{ok} of {len(result.reports)} reports rendered with {result.workers} worker(s)).",
             f"Open {Path(result.index).resolve()} in a browser; start with the portfolio summary.",
             f"The data store (row-level records, not for sharing) is {store.resolve()}."]
    for failure in result.failed:
        lines.append(f"failed: {failure.report_id}: {failure.error}")
    return "\n".join(lines)


__all__ = ["run_demo", "build_store", "demo_files", "store_dir"]
