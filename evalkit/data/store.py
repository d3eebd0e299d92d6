"""The embedded store: validated provider returns appended to a DuckDB file.

Rules (so that the store is always trustworthy):

- every file in a call is validated fully first — cells, rows, keys against the
  store, references against the store and the other files; if any file has a
  problem, nothing is stored and :class:`~evalkit.errors.DataError` lists them;
- all new rows of a call are appended in ONE transaction: an interruption
  leaves the store exactly as it was (a store created by the failed call is
  removed);
- a file already ingested (same SHA-256 of its bytes) is skipped, so running
  the same ingest twice adds nothing;
- every row carries provenance: ``_source_file``, ``_source_sheet``,
  ``_source_row`` (as the user sees it), ``_file_sha256``, ``_ingested_at``
  (UTC). The ``_ingests`` table lists every file taken in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from evalkit.data.config import VRUConfig, load_config
from evalkit.data.contract import PROVENANCE_COLUMNS, TABLES
from evalkit.data.validate import CheckedTable, check_files, check_references, display_names, finish_typed
from evalkit.errors import DataError, EvalkitError, Problem
from evalkit.io_safe import WriteError, write_problem

SQL_TYPES = {"id": "VARCHAR", "text": "VARCHAR", "category": "VARCHAR", "date": "DATE", "int": "BIGINT",
             "float": "DOUBLE", "bool": "BOOLEAN"}
INGESTS_TABLE = "_ingests"
_PROVENANCE_SQL = {"_source_file": "VARCHAR", "_source_sheet": "VARCHAR", "_source_row": "BIGINT",
                   "_file_sha256": "VARCHAR", "_ingested_at": "TIMESTAMP"}


@dataclass(frozen=True)
class FileIngest:
    """What happened to one file."""

    file: str
    sha256: str
    status: str  # "added" or "skipped"
    rows: tuple[tuple[str, int], ...] = ()

    def __str__(self) -> str:
        if self.status == "skipped":
            return f"skipped {self.file}: already in the store (same contents, sha256 {self.sha256[:12]}…)"
        parts = ", ".join(f"{n:,} {t}" for t, n in self.rows) or "no rows"
        return f"added {self.file}: {parts}"


@dataclass(frozen=True)
class IngestReport:
    """Outcome of :func:`ingest_files` (counts only)."""

    db_path: str
    files: tuple[FileIngest, ...]
    seconds: float

    @property
    def rows_added(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.files:
            for t, n in f.rows:
                out[t] = out.get(t, 0) + n
        return out

    @property
    def n_added(self) -> int:
        return sum(f.status == "added" for f in self.files)

    @property
    def n_skipped(self) -> int:
        return sum(f.status == "skipped" for f in self.files)

    def __str__(self) -> str:
        lines = [str(f) for f in self.files]
        total = sum(self.rows_added.values())
        lines.append(f"store {self.db_path}: {self.n_added} file(s) added ({total:,} rows), "
                     f"{self.n_skipped} skipped, in {self.seconds:.1f} s")
        return "\n".join(lines)


# ----------------------------------------------------------------- helpers
def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# Every query below is fetched completely (fetchall): DuckDB 2 refuses new work on a
# connection that still has an unfinished result.
def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                            [name]).fetchall()[0][0])


def _create_tables(con: duckdb.DuckDBPyConnection) -> None:
    for spec in TABLES.values():
        cols = [f'"{f.name}" {SQL_TYPES[f.kind]}' for f in spec.fields]
        cols += [f'"{c}" {_PROVENANCE_SQL[c]}' for c in PROVENANCE_COLUMNS]
        con.execute(f'CREATE TABLE IF NOT EXISTS "{spec.name}" ({", ".join(cols)})')
    con.execute(f"CREATE TABLE IF NOT EXISTS {INGESTS_TABLE} (file VARCHAR, sha256 VARCHAR, table_name VARCHAR, "
                "sheet VARCHAR, n_rows BIGINT, ingested_at TIMESTAMP)")


def _check_db_path(db_path: Path) -> None:
    """A plain error for a --db path that can never be a store (missing folder, a folder)."""
    if not db_path.parent.is_dir():
        raise EvalkitError(f"{db_path}: the folder {db_path.parent} does not exist. Fix: create it first, or give "
                           "--db a path in an existing folder.")
    if db_path.is_dir():
        raise EvalkitError(f"{db_path}: is a folder. Fix: give --db a file name, e.g. {db_path / 'store.duckdb'}.")


def _connect(db_path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    _check_db_path(db_path)
    if not looks_like_duckdb(db_path):
        raise EvalkitError(store_open_message(db_path, ValueError("not a valid DuckDB database file")))
    try:
        return duckdb.connect(str(db_path), read_only=read_only)
    except (duckdb.Error, OSError) as exc:
        raise EvalkitError(store_open_message(db_path, exc)) from None


def looks_like_duckdb(db_path: Path) -> bool:
    """False for an existing, non-empty file without DuckDB's signature ('DUCK' at byte 8)."""
    try:
        if not db_path.is_file() or db_path.stat().st_size == 0:
            return True
        with open(db_path, "rb") as fh:
            return fh.read(12)[8:12] == b"DUCK"
    except OSError:
        return True  # let DuckDB report what it finds


def store_open_message(db_path: Path, exc: Exception) -> str:
    """One plain line for a store DuckDB would not open: in use, not a DuckDB file, or other."""
    text = str(exc)
    if re.search(r"\block\b|conflicting lock|being used by", text, re.I):  # not "block" (a damaged block)
        holder = re.search(r"\(PID (\d+)\)", text)
        who = f" (process {holder.group(1)})" if holder else ""
        return (f"{db_path}: the store is in use by another program{who}. Fix: close it (another evalkit command, "
                "a notebook or a DuckDB session) and run the command again.")
    if "not a valid DuckDB database" in text:
        return (f"{db_path}: is not a DuckDB store. Fix: give the store made by `evalkit ingest`, or a new file "
                "name (e.g. store.duckdb) to start one.")
    if isinstance(exc, PermissionError) or "permission denied" in text.lower():
        return f"{db_path}: cannot open the store (permission denied). Fix: check you may read and write it."
    return damaged_message(db_path, exc)


def damaged_message(db_path: Path | str, exc: BaseException | None = None, *, why: str = "") -> str:
    """One plain line for a store that cannot be read: truncated, corrupted, or another program's DuckDB file."""
    why = f" ({why or ' '.join(str(exc).split())[:160]})" if (exc is not None or why) else ""
    return (f"{db_path}: the store is damaged or not an evalkit store{why}. Fix: restore it from a backup, or ingest "
            "the provider files again into a new store (`evalkit ingest FILES --db new.duckdb`).")


def check_store(db_path: str | Path) -> None:
    """Refuse, in one line, a store that is damaged or not an evalkit store (before any report starts).

    Reads every block of every table (a checksum error in any of them surfaces here, not half-way through
    a report): the ``_ingests`` table must exist and each contract table present must be readable in full.
    """
    db_path = Path(db_path)
    con = _connect(db_path, read_only=True)
    try:
        present = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if INGESTS_TABLE not in present:
            raise EvalkitError(damaged_message(db_path, why=f"it has no {INGESTS_TABLE} table"))
        for name in [INGESTS_TABLE, *(t for t in TABLES if t in present)]:
            con.execute(f'SELECT count(*), sum(hash(s)) FROM "{name}" AS s').fetchall()
    except duckdb.Error as exc:
        raise EvalkitError(damaged_message(db_path, exc)) from None
    finally:
        con.close()


def _store_state(db_path: Path) -> tuple[set[str], dict[str, pd.DataFrame]]:
    """Hashes already ingested, and the key/reference columns of stored tables."""
    if not db_path.exists():
        return set(), {}
    con = _connect(db_path, read_only=True)
    try:
        hashes: set[str] = set()
        if _table_exists(con, INGESTS_TABLE):
            hashes = {r[0] for r in con.execute(f"SELECT DISTINCT sha256 FROM {INGESTS_TABLE}").fetchall()}
        elif con.execute("SELECT count(*) FROM information_schema.tables").fetchall()[0][0]:
            # another program's database: evalkit's tables are not added to it
            raise EvalkitError(damaged_message(db_path, why=f"it holds tables but no {INGESTS_TABLE} table"))
        known: dict[str, pd.DataFrame] = {}
        for name in ("interventions", "participants"):
            if _table_exists(con, name):
                cols = ["intervention_id"] if name == "interventions" else ["person_id", "intervention_id"]
                known[name] = con.execute(f'SELECT DISTINCT {", ".join(cols)} FROM "{name}"').df()
        return hashes, known
    finally:
        con.close()


def _key_clashes(checked: Sequence[CheckedTable], db_path: Path, limit: int) -> list[Problem]:
    """Keys that repeat across the files of this call or clash with rows already stored."""
    problems: list[Problem] = []
    con = _connect(db_path, read_only=True) if db_path.exists() else None
    try:
        by_table: dict[str, list[CheckedTable]] = {}
        for ct in checked:
            if ct.spec.key and len(ct.typed):
                by_table.setdefault(ct.raw.table, []).append(ct)
        for name, cts in by_table.items():
            key = list(TABLES[name].key)
            seen: dict[tuple, str] = {}
            if con is not None and _table_exists(con, name):
                batch = pd.concat([ct.typed[key] for ct in cts]).drop_duplicates()
                con.register("_batch_keys", batch)
                on = " AND ".join(f's."{k}" = b."{k}"' for k in key)
                stored = con.execute(f'SELECT b.*, min(s._source_file) AS f, min(s._source_row) AS r FROM '
                                     f'"_batch_keys" b JOIN "{name}" s ON {on} GROUP BY ALL').df()
                con.unregister("_batch_keys")
                for rec in stored.itertuples(index=False):
                    seen[tuple(rec[: len(key)])] = f"the store ({rec.f}, row {rec.r})"
            for ct in cts:
                for row, values in zip(ct.typed.index, ct.typed[key].itertuples(index=False, name=None)):
                    where = seen.get(values)
                    if where is not None and not where.startswith(f"{ct.raw.file}:"):
                        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in zip(key, values))
                        problems.append(Problem(ct.raw.file, f"{shown} is already in {where}.",
                                                "remove rows that were sent before; each key may be stored once.",
                                                ct.raw.sheet, int(row), key[-1]))
                        if len(problems) >= limit:
                            return problems
                    elif where is None:
                        seen[values] = f"{ct.raw.file}: row {int(row)}"
        return problems
    finally:
        if con is not None:
            con.close()


def _fmt(v: object) -> str:
    return v.strftime("%Y-%m-%d") if isinstance(v, pd.Timestamp) else str(v)


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Append one typed frame (contract columns + provenance) to a table."""
    con.register("_incoming", frame)
    try:
        con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM "_incoming"')
    except (duckdb.InterruptException, RuntimeError) as exc:
        if "interrupted" in str(exc).lower():  # DuckDB turns Ctrl-C during a query into its own error
            raise KeyboardInterrupt from None
        raise
    finally:
        try:
            con.unregister("_incoming")
        except duckdb.Error:  # the transaction is aborted; the rollback drops the view anyway
            pass


def _with_provenance(ct: CheckedTable, sha: str, now: dt.datetime, cfg: VRUConfig) -> pd.DataFrame:
    frame = finish_typed(ct.typed, ct.raw.table, cfg)
    frame["_source_file"] = ct.raw.file
    frame["_source_sheet"] = ct.raw.sheet
    frame["_source_row"] = ct.typed.index.to_numpy(dtype="int64")
    frame["_file_sha256"] = sha
    frame["_ingested_at"] = pd.Timestamp(now)
    return frame.reset_index(drop=True)


# ----------------------------------------------------------------- public API
def ingest_files(paths: Iterable[str | Path], db_path: str | Path, *, table: str | None = None,
                 cfg: VRUConfig | None = None, max_problems: int = 200) -> IngestReport:
    """Validate files and append them to the DuckDB store, all or nothing.

    Parameters
    ----------
    paths
        CSV, Excel or Parquet files (a workbook may hold several tables).
    db_path
        The store; created if it does not exist.
    table
        The table the files hold (default: from sheet or file name).

    Raises
    ------
    DataError
        If any file has a problem; the store is not changed.
    """
    start = time.perf_counter()
    cfg = cfg or load_config()
    db_path = Path(db_path)
    _check_db_path(db_path)  # before validating, so a wrong --db costs no time
    paths = [Path(p) for p in paths]
    try:
        stored_hashes, known = _store_state(db_path)
    except duckdb.Error as exc:  # opened, but a table cannot be read
        raise EvalkitError(damaged_message(db_path, exc)) from None

    plan: list[tuple[Path, str]] = []
    skipped: list[FileIngest] = []
    seen_now: set[str] = set()
    for p in paths:
        if p.is_dir():
            raise DataError(Problem(p.name, "is a folder, not a file.", "give the data files inside it."))
        if not p.is_file():
            raise DataError(Problem(p.name, "the file does not exist.", "check the path."))
        try:
            sha = file_sha256(p)
        except OSError as exc:
            raise DataError(Problem(p.name, f"the file cannot be read ({exc.strerror or exc}).",
                                    "check you may read it and that no other program (e.g. Excel) has it locked.")
                            ) from None
        if sha in stored_hashes or sha in seen_now:
            skipped.append(FileIngest(str(p), sha, "skipped"))
        else:
            seen_now.add(sha)
            plan.append((p, sha))

    results: list[FileIngest] = []
    if plan:
        checked_by_file: list[list[CheckedTable]] = []
        all_checked: list[CheckedTable] = []
        label = dict(zip(paths, display_names(paths)))
        for p, _ in plan:
            cts, problems, total = check_files([p], table=table, cfg=cfg, max_problems=max_problems,
                                               names=[label[p]])
            if problems:
                raise DataError(problems, truncated=total - len(problems))
            checked_by_file.append(cts)
            all_checked.extend(cts)
        problems = check_references(all_checked, known, limit=max_problems)
        try:
            problems += _key_clashes(all_checked, db_path, max_problems)
        except duckdb.Error as exc:
            raise EvalkitError(damaged_message(db_path, exc)) from None
        if problems:
            raise DataError(problems[:max_problems], truncated=max(len(problems) - max_problems, 0))
        results = _append(db_path, plan, checked_by_file, cfg)
    return IngestReport(str(db_path), tuple(results + skipped), time.perf_counter() - start)


def _append(db_path: Path, plan: list[tuple[Path, str]], checked_by_file: list[list[CheckedTable]],
            cfg: VRUConfig) -> list[FileIngest]:
    created = not db_path.exists()
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    results: list[FileIngest] = []
    con = None
    committed = False
    try:  # everything from the connect on: an interruption anywhere leaves no new, empty store behind
        con = _connect(db_path, read_only=False)
        con.begin()
        _create_tables(con)
        for (p, sha), cts in zip(plan, checked_by_file):
            rows: list[tuple[str, int]] = []
            for ct in sorted(cts, key=lambda c: list(TABLES).index(c.raw.table)):
                frame = _with_provenance(ct, sha, now, cfg)
                _insert(con, ct.raw.table, frame)
                con.execute(f"INSERT INTO {INGESTS_TABLE} VALUES (?, ?, ?, ?, ?, ?)",
                            [p.name, sha, ct.raw.table, ct.raw.sheet, len(frame), now])
                rows.append((ct.raw.table, len(frame)))
            results.append(FileIngest(str(p), sha, "added", tuple(rows)))
        con.commit()
        committed = True
    except BaseException:
        try:
            if con is not None and not committed:
                con.rollback()
        except duckdb.Error:  # already aborted by DuckDB: nothing was committed, so nothing to undo
            pass
        finally:
            if con is not None:
                con.close()
            if created and not committed:
                for leftover in (db_path, db_path.with_name(db_path.name + ".wal")):
                    leftover.unlink(missing_ok=True)
        failure = sys.exc_info()[1]
        if isinstance(failure, (duckdb.Error, OSError)) and not committed and not _interrupted(failure):
            # disk full (DuckDB: "File too large", "No space left"), file removed, read-only folder, ...
            if isinstance(failure, OSError) or re.search(r"no space|too large|quota|read-only|could not (write|"
                                                         r"truncate|fsync)", str(failure), re.I):
                raise WriteError(write_problem(db_path, failure).replace(
                    "nothing was written", "nothing of this ingest was stored" + _removed(created))) from None
            if isinstance(failure, duckdb.IOException):
                raise EvalkitError(f"{db_path}: could not write to the store ({failure}); nothing of this "
                                   "ingest was stored. Fix: free disk space or check the folder, then run it "
                                   "again.") from None
            if not created and isinstance(failure, (duckdb.SerializationException, duckdb.InternalException,
                                                    duckdb.FatalException)):
                raise EvalkitError(damaged_message(db_path, failure)) from None
        raise
    con.close()
    return results


def _interrupted(exc: BaseException) -> bool:
    return "interrupted" in str(exc).lower()


def _removed(created: bool) -> str:
    return " (the new store was removed)" if created else " (the store is as it was)"


def summarise_store(db_path: str | Path) -> str:
    """Plain-text summary of a store: tables, row counts, date ranges, sources (counts only)."""
    db_path = Path(db_path)
    if not db_path.is_file():
        raise EvalkitError(f"{db_path}: no store here; create one with `evalkit ingest FILES --db {db_path}`.")
    check_store(db_path)
    con = _connect(db_path, read_only=True)
    try:
        return _summary_lines(con, db_path)
    except duckdb.Error as exc:
        raise EvalkitError(damaged_message(db_path, exc)) from None
    finally:
        con.close()


def _summary_lines(con: duckdb.DuckDBPyConnection, db_path: Path) -> str:
    if not _table_exists(con, INGESTS_TABLE):
        raise EvalkitError(damaged_message(db_path, why=f"it has no {INGESTS_TABLE} table"))
    lines = [f"store {db_path} ({db_path.stat().st_size / 1e6:.1f} MB)", "",
             f"{'table':<18} {'rows':>10} {'files':>6}  period"]
    for spec in TABLES.values():
        if not _table_exists(con, spec.name):
            continue
        n, files = con.execute(f'SELECT count(*), count(DISTINCT _file_sha256) FROM "{spec.name}"').fetchall()[0]
        period = ""
        if n and spec.period_column:
            lo, hi = con.execute(f'SELECT min("{spec.period_column}"), max("{spec.period_column}") '
                                 f'FROM "{spec.name}"').fetchall()[0]
            if lo is not None:
                period = f"{spec.period_column} {lo:%Y-%m-%d} to {hi:%Y-%m-%d}"
        lines.append(f"{spec.name:<18} {n:>10,} {files:>6}  {period}")
    sources = con.execute(f"SELECT file, min(ingested_at), sum(n_rows), count(*) FROM {INGESTS_TABLE} "
                          "GROUP BY file, sha256 ORDER BY min(ingested_at), file").fetchall()
    lines += ["", f"{len(sources)} source file(s):"]
    lines += [f"  {f}  ingested {t:%Y-%m-%d %H:%M} UTC, {int(r):,} rows in {k} table(s)"
              for f, t, r, k in sources]
    return "\n".join(lines)


__all__ = ["ingest_files", "summarise_store", "store_open_message", "check_store", "damaged_message",
           "looks_like_duckdb", "IngestReport", "FileIngest", "file_sha256", "SQL_TYPES", "INGESTS_TABLE"]
