"""What a report is rendered from: :class:`ReportContext` (one intervention) and :class:`PortfolioContext`.

Loading reads the protocol(s) and the data tables once per process (cached on
the data source's files) and checks that the data fit the protocol. The per-design
analysis is run lazily, once per report (:attr:`ReportContext.analysis`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import duckdb
import pandas as pd

from evalkit.analysis.data import population
from evalkit.analysis.results import InterventionAnalysis
from evalkit.analysis.runner import analyse_intervention
from evalkit.data.config import VRUConfig, load_config
from evalkit.data.load import load_tables
from evalkit.data.readers import is_table_file
from evalkit.data.store import INGESTS_TABLE, file_sha256
from evalkit.errors import MissingDataError, SpecError
from evalkit.protocol import Protocol, check_data, load_protocol


@dataclass
class ReportContext:
    """Everything one report needs: the protocol, the data tables and where they came from.

    Row-level tables live here, inside the kernel, and never reach an output:
    sections show aggregates only.
    """

    protocol: Protocol
    protocol_path: Path
    protocol_text: str
    data_src: Path
    tables: dict[str, pd.DataFrame] = field(repr=False)
    fingerprint: str
    output_dir: Path | None = None
    cfg: VRUConfig | None = None

    @property
    def threshold(self) -> int:
        return self.protocol.disclosure_threshold

    @property
    def intervention(self) -> dict:
        """The intervention's row in the interventions table (empty for the VRU-wide protocol)."""
        table = self.tables.get("interventions")
        if table is None or "intervention_id" not in table:
            return {}
        rows = table.loc[table["intervention_id"] == self.protocol.intervention_id]
        return rows.iloc[0].to_dict() if len(rows) else {}

    @cached_property
    def participants(self) -> pd.DataFrame:
        """This intervention's participants, population filter of the protocol applied.

        The same rows the analysis uses (:func:`evalkit.analysis.data.population`), so every count a
        report or its ``findings.json`` shows agrees: two counts of nearly the same group would reveal the
        small difference by subtraction.
        """
        return population(self.protocol, self.tables)

    @cached_property
    def analysis(self) -> InterventionAnalysis:
        """The per-design analysis (:func:`evalkit.analysis.runner.analyse_intervention`), run once per report."""
        return analyse_intervention(self.protocol, self.tables, cfg=self.cfg)


_TABLE_CACHE: dict[tuple, tuple[dict[str, pd.DataFrame], str]] = {}


def load_context(protocol_path: str | Path, data_src: str | Path, *, output_dir: str | Path | None = None,
                 seed: int | None = None) -> ReportContext:
    """Read the protocol and the data for one report (``seed`` overrides the protocol's).

    Tables and the data fingerprint are cached per process, keyed on the data
    source's path, size and modification time, so a warm kernel rendering many
    reports reads the data once.
    """
    protocol_path = Path(protocol_path)
    protocol = load_protocol(protocol_path)
    if seed is not None:
        protocol = protocol.model_copy(update={"seed": int(seed)})
    data_src = Path(data_src)
    tables, fingerprint = _tables_and_fingerprint(data_src)
    check_data(protocol, tables, data_src)  # wrong data for this protocol: a plain error, not an empty report
    return ReportContext(protocol=protocol, protocol_path=protocol_path,
                         protocol_text=protocol_path.read_text(encoding="utf-8"), data_src=data_src,
                         tables=tables, fingerprint=fingerprint,
                         output_dir=Path(output_dir) if output_dir is not None else None, cfg=_config())


def _config() -> VRUConfig:
    return load_config()


def data_files(src: Path) -> list[Path]:
    """The files a data source consists of: the store file, or a folder's table files (``<table>.csv`` etc.)."""
    if src.is_file():
        return [src]
    if not src.is_dir():
        raise MissingDataError(f"{src}: the data source does not exist. Fix: give a DuckDB store or a folder of "
                               "data files.")
    return sorted(p for p in src.iterdir() if p.is_file() and is_table_file(p))  # .csv, .csv.gz, .parquet, .xlsx


def data_fingerprint(src: str | Path) -> str:
    """SHA-256 identifying the data: the hash of the sorted SHA-256s of its table files.

    For a folder these are its table files; for a DuckDB store, the files it
    ingested (recorded in its ``_ingests`` table). So the same provider files give
    the same fingerprint whether a report read the folder or the store.
    """
    src = Path(src)
    if src.is_file():
        digests = _store_digests(src)
    else:
        digests = sorted(file_sha256(p) for p in data_files(src))
    return hashlib.sha256("\n".join(digests).encode("ascii")).hexdigest()


def _store_digests(db: Path) -> list[str]:
    try:
        con = duckdb.connect(str(db), read_only=True)
        try:
            rows = con.execute(f"SELECT DISTINCT sha256 FROM {INGESTS_TABLE}").fetchall()
        finally:
            con.close()
        return sorted(r[0] for r in rows)
    except duckdb.Error:  # not an evalkit store: hash the file itself
        return [file_sha256(db)]


def _tables_and_fingerprint(src: Path) -> tuple[dict[str, pd.DataFrame], str]:
    files = data_files(src)
    key = (str(src.resolve()), tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files))
    if key not in _TABLE_CACHE:
        _TABLE_CACHE.clear()  # keep one data source per process
        _TABLE_CACHE[key] = (load_tables(src), data_fingerprint(src))
    return _TABLE_CACHE[key]


@dataclass
class PortfolioContext:
    """The portfolio summary's inputs: every protocol, the data, and each report's saved findings."""

    protocols: list[Protocol]
    data_src: Path
    tables: dict[str, pd.DataFrame] = field(repr=False)
    fingerprint: str
    reports_dir: Path
    findings: list[dict]
    statuses: dict[str, dict]
    output_dir: Path | None = None
    cfg: VRUConfig | None = None
    threshold: int = 10


def load_portfolio(protocol_dir: str | Path, data_src: str | Path, reports_dir: str | Path, *,
                   output_dir: str | Path | None = None) -> PortfolioContext:
    """Read every protocol in ``protocol_dir``, the data, and the findings each report saved."""
    protocol_dir, reports_dir, data_src = Path(protocol_dir), Path(reports_dir), Path(data_src)
    protocols = []
    for path in sorted(protocol_dir.glob("*.yaml")):
        try:
            protocols.append(load_protocol(path))
        except SpecError:
            continue  # an invalid protocol is listed as a failed report on the index page
    tables, fingerprint = _tables_and_fingerprint(data_src)
    found = []
    for p in protocols:
        path = reports_dir / p.intervention_id / "findings.json"
        if path.is_file():
            found.append(json.loads(path.read_text(encoding="utf-8")))
    status_path = reports_dir / "run_status.json"
    statuses = json.loads(status_path.read_text(encoding="utf-8")) if status_path.is_file() else {}
    cfg = _config()
    floor = cfg.thresholds.disclosure_min_count
    # each protocol may only raise the VRU's threshold, so the smallest is never below the VRU's own
    threshold = max(floor, min((p.disclosure_threshold for p in protocols), default=floor))
    return PortfolioContext(protocols=protocols, data_src=data_src, tables=tables, fingerprint=fingerprint,
                            reports_dir=reports_dir, findings=found, statuses=statuses,
                            output_dir=Path(output_dir) if output_dir else None, cfg=cfg, threshold=threshold)


__all__ = ["ReportContext", "PortfolioContext", "load_context", "load_portfolio", "data_files", "data_fingerprint"]
