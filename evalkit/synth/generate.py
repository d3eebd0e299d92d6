"""Synthetic VRU monitoring data with known true effects (``evalkit synth``).

:func:`generate` writes one gzip-compressed CSV per data-contract table
(``<table>.csv.gz``, read by every evalkit reader like plain CSV) plus an
uncompressed ``truth.csv`` and a README explaining the scenario. The generator
lives in :mod:`evalkit.synth` (people, offending, questionnaires, engagement,
status, area, world, writer);
every number that defines the scenario is in :mod:`evalkit.synth.settings`.
Only numpy's PCG64 generator is used, streams are seeded per part, rows are in a
fixed order, floats have a fixed format and the gzip stream carries no time or
file name (:func:`evalkit.synth.writer.gzip_bytes`), so the same seed gives the
same bytes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from evalkit.results import ResultMixin
from evalkit.synth.readme import readme_text
from evalkit.synth.settings import WorldOptions
from evalkit.synth.world import World, simulate
from evalkit.synth.writer import COLUMNS, check_out_folder, to_csv_text, write_atomically

#: Data tables in the order they are written (truth.csv and README.md follow).
#: Each is written as ``<table>.csv.gz``.
TABLES = ("interventions", "participants", "contacts", "measurements", "statuses", "onward_referrals", "offences",
          "comparison_pool", "area_counts", "area_rollout", "comparison_areas")


@dataclass(frozen=True)
class TableSize:
    """Rows and bytes of one written file."""

    file: str
    rows: int
    bytes: int


@dataclass(frozen=True)
class GenerationSummary(ResultMixin):
    """What :func:`generate` wrote: folder, seed, each file's rows and size, time taken."""

    out: str
    seed: int
    files: tuple[TableSize, ...]
    seconds: float
    title: str = "Synthetic data"

    @property
    def total_bytes(self) -> int:
        return sum(f.bytes for f in self.files)

    def _rows(self) -> list[dict]:
        return [{"file": f.file, "rows": f.rows, "size_kb": round(f.bytes / 1024, 1)} for f in self.files]

    def _notes(self) -> list[str]:
        return [f"seed {self.seed}; written to {self.out}; {self.total_bytes / 1e6:.1f} MB in {self.seconds:.1f} s"]


def generate(*, seed: int, out: Path, options: WorldOptions | None = None) -> GenerationSummary:
    """Generate the synthetic portfolio (data, truth file, README) into folder ``out``.

    Parameters
    ----------
    seed
        Seed of every random stream; the same seed gives byte-identical files.
    out
        Folder to (re)write; created if missing. A folder holding files evalkit
        did not write is refused (:class:`~evalkit.errors.SpecError`).
    options
        Off-by-default options of the world (:class:`evalkit.synth.settings.WorldOptions`: selection on an
        unrecorded trait, a harmful comparison-design programme); without them, the shipped demo's world.

    Returns
    -------
    GenerationSummary
        Rows and bytes of each file written.
    """
    t0 = time.perf_counter()
    known = {data_file_name(t) for t in (*TABLES, "truth")} | {"README.md"}
    known |= {f"{t}.csv" for t in TABLES}         # plain CSVs of an older generate: ours to replace
    check_out_folder(Path(out), known)            # fail before the work, not after
    world = simulate(int(seed)) if options is None or options.is_default else simulate(int(seed), options=options)
    texts, rows = render(world, seed=int(seed))
    sizes = write_atomically(Path(out), texts, known)
    files = tuple(TableSize(name, rows.get(name, 0), sizes[name]) for name in texts)
    return GenerationSummary(str(out), int(seed), files, round(time.perf_counter() - t0, 2))


def data_file_name(table: str) -> str:
    """The file a table is written to: ``<table>.csv.gz``, but ``truth.csv`` (small, read by people)."""
    return "truth.csv" if table == "truth" else f"{table}.csv.gz"


def render(world: World, *, seed: int) -> tuple[dict[str, str], dict[str, int]]:
    """File name -> CSV/Markdown text (before compression), and data rows per file, for a simulated world."""
    texts: dict[str, str] = {}
    rows: dict[str, int] = {}
    for table in (*TABLES, "truth"):
        frame = world.truth if table == "truth" else world.tables[table]
        name = data_file_name(table)
        texts[name] = to_csv_text(frame, table)
        rows[name] = len(frame)
    texts["README.md"] = readme_text(world, seed=seed)
    return texts, rows


__all__ = ["GenerationSummary", "TableSize", "generate", "render", "data_file_name", "TABLES", "COLUMNS"]
