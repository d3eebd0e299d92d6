"""Time the demo reports: the naive loop against evalkit's warm-kernel runner, in one run.

Naive: for each protocol, ``papermill.execute_notebook`` (a fresh kernel per
report) then nbconvert's HTMLExporter (default template, code hidden), one
after the other — what a user would write by hand. evalkit: ``run_all`` with
``--workers`` processes, each holding one warm kernel.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_reports.py [--workers 2] [--limit N] [--data PATH]

``--limit N`` times the naive loop on N evenly spaced reports only and scales it
to the full set (per-report mean × count); evalkit always renders everything.
With no ``--data`` the synthetic data are ingested into a fresh store first
(not timed).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def naive(protocols: list[Path], data: Path, out: Path) -> float:
    """papermill + nbconvert per report, sequentially; returns seconds."""
    import papermill
    from nbconvert import HTMLExporter

    logging.getLogger("papermill").setLevel(logging.WARNING)
    start = time.perf_counter()
    for protocol in protocols:
        folder = out / protocol.stem
        folder.mkdir(parents=True, exist_ok=True)
        executed = folder / f"{protocol.stem}.ipynb"
        papermill.execute_notebook(str(ROOT / "notebooks" / "intervention_report.ipynb"), str(executed),
                                   parameters={"protocol_path": str(protocol), "data_src": str(data),
                                               "output_dir": str(folder)},
                                   progress_bar=False, cwd=str(ROOT))
        body, _ = HTMLExporter(exclude_input=True).from_filename(str(executed))
        (folder / f"{protocol.stem}.html").write_text(body, encoding="utf-8")
    return time.perf_counter() - start


def main() -> None:
    from evalkit.demo import PROTOCOLS, build_store, demo_files
    from evalkit.run import run_all

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="naive loop on N evenly spaced reports, scaled up")
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="evalkit-bench-") as tmp:
        tmp = Path(tmp)
        data = args.data or build_store(tmp / "store", demo_files())
        protocols = sorted(PROTOCOLS.glob("*.yaml"))

        start = time.perf_counter()
        result = run_all(PROTOCOLS, data, tmp / "evalkit", workers=args.workers, progress=False)
        fast = time.perf_counter() - start
        if result.failed:
            print(f"warning: {len(result.failed)} report(s) failed in the evalkit run", file=sys.stderr)

        # an evenly spaced sample, so cheap and expensive designs are both represented
        subset = protocols[:: max(1, len(protocols) // args.limit)][: args.limit] if args.limit else protocols
        slow_part = naive(subset, data, tmp / "naive")
        # the naive loop has no portfolio summary: count it as one more report of the mean cost
        per_report = slow_part / len(subset)
        slow = per_report * (len(protocols) + 1)

    print(f"reports: {len(protocols)} + portfolio summary; workers: {args.workers}")
    print(f"naive papermill + nbconvert loop: {slow:7.1f} s  ({per_report:.2f} s per report"
          + (f", measured on {len(subset)}" if args.limit else "") + ")")
    print(f"evalkit run_all (warm kernels):  {fast:7.1f} s  ({fast / (len(protocols) + 1):.2f} s per report)")
    print(f"speed-up: {slow / fast:.2f}x")


if __name__ == "__main__":
    main()
