"""Load typed contract tables for analysis, from a store or a folder of files.

``load_tables`` is what reports and designs call. It returns, for each table,
a frame with exactly the contract's columns in contract order (an optional
column absent from a file is added empty), typed: dates ``datetime64[ns]``,
required integers ``int64`` and optional ones ``Int64``, required booleans
``bool`` and optional ones ``boolean``, numbers ``float64``, text ``object``.
Derived fields are filled (``ethnicity_group`` from ``ethnicity_detailed``,
``age_at_start``/``age_at_index`` from ``date_of_birth``). Provenance columns
are dropped. Rows come in a stable order (store: ingestion order, then source
row; folder: file order), so results never depend on how data were loaded.

A folder holds at most one file per table: ``<table>.parquet``, ``<table>.csv``
or ``<table>.csv.gz`` (gzip-compressed CSV, read as the CSV it holds); two
forms of one table are refused rather than one silently preferred, since they
may differ. A folder is read fast with pyarrow (explicit column types from the contract).
A file that does not parse cleanly that way (an unknown column, a non-ISO
date, ...) goes through the full validator instead, so the error names the
row and column to fix. A clean fast read is still checked against the
table's pandera schema (codes, ranges, keys, cross-field rules); only
references between tables are not checked here (``evalkit validate`` and
``ingest`` do). The store only ever holds validated data.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pandera.errors

from evalkit.data.config import VRUConfig, load_config
from evalkit.data.contract import TABLES, TableSpec, table_spec
from evalkit.data.store import INGESTS_TABLE, damaged_message, looks_like_duckdb, store_open_message
from evalkit.data.schemas import schema_for
from evalkit.data.validate import finish_typed, normalise_categories, read_valid
from evalkit.errors import DataError, EvalkitError, MissingDataError, Problem

_ARROW_TYPES = {"id": pa.string(), "text": pa.string(), "category": pa.string(), "date": pa.date32(),
                "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}
#: Blank cells, and the usual spellings of one (as the validator reads them: BLANK_SPELLINGS).
_NULLS = ["", "nan", "NaN", "NAN", "null", "NULL", "Null", "NA", "na", "N/A", "n/a", "#N/A", "NaT", "<NA>"]
_TRUE_VALUES = ["true", "True", "TRUE", "1", "yes", "Yes", "YES", "y", "Y"]
_FALSE_VALUES = ["false", "False", "FALSE", "0", "no", "No", "NO", "n", "N"]


def _wanted(tables: Iterable[str] | None) -> list[str]:
    if tables is None:
        return list(TABLES)
    if isinstance(tables, str):
        tables = [tables]
    return [table_spec(t).name for t in tables]


# ----------------------------------------------------------------- store
def _load_store(db: Path, names: list[str], explicit: bool, cfg: VRUConfig) -> dict[str, pd.DataFrame]:
    if not looks_like_duckdb(db):
        raise EvalkitError(f"{db}: is neither a DuckDB store nor a folder of data files. Fix: give the folder that "
                           "holds the data files (participants.csv, ...), or a store made by `evalkit ingest`.")
    try:
        con = duckdb.connect(str(db), read_only=True)
    except (duckdb.Error, OSError) as exc:
        raise EvalkitError(store_open_message(db, exc)) from None
    try:
        return _read_store(con, db, names, explicit, cfg)
    except duckdb.Error as exc:  # a truncated or corrupted block met half-way
        raise EvalkitError(damaged_message(db, exc)) from None
    finally:
        con.close()


def _read_store(con: duckdb.DuckDBPyConnection, db: Path, names: list[str], explicit: bool, cfg: VRUConfig
                ) -> dict[str, pd.DataFrame]:
    present = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if INGESTS_TABLE not in present:
        raise EvalkitError(damaged_message(db, why=f"it has no {INGESTS_TABLE} table"))
    out: dict[str, pd.DataFrame] = {}
    for name in names:
        spec = TABLES[name]
        n = con.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0] if name in present else 0
        if n == 0 and not explicit:
            continue
        if name not in present:
            raise MissingDataError(f"table '{name}' is not in the store {db}; ingest a {name} file first.")
        cols = ", ".join(f'"{c}"' for c in spec.columns)
        frame = con.execute(f'SELECT {cols} FROM "{name}" '
                            f'ORDER BY _ingested_at, _file_sha256, _source_sheet, _source_row').df()
        out[name] = finish_typed(frame, name, cfg)
    return out


# ----------------------------------------------------------------- folder
#: File forms a folder may hold a table in.
FOLDER_SUFFIXES = (".parquet", ".csv", ".csv.gz")


def _find_file(folder: Path, name: str) -> Path | None:
    """The one file holding table ``name`` in ``folder``, or None; two forms of it are an error."""
    found = [folder / f"{name}{suffix}" for suffix in FOLDER_SUFFIXES if (folder / f"{name}{suffix}").is_file()]
    if len(found) > 1:
        names = " and ".join(p.name for p in found)
        raise DataError(Problem(found[0].name, f"the folder {folder} holds {names}: two copies of the {name} table.",
                                "keep one of them (delete or move the others)."))
    return found[0] if found else None


def _fast_frame(path: Path, spec: TableSpec) -> pd.DataFrame | None:
    """Read with pyarrow and the contract's types; None if the file needs the validator."""
    try:
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            header = table.column_names
        else:
            opener = gzip.open if path.name.lower().endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8-sig") as fh:
                header = fh.readline().rstrip("\r\n").split(",")
            types = {f.name: _ARROW_TYPES[f.kind] for f in spec.fields if f.name in header}
            table = pacsv.read_csv(
                path,  # pyarrow decompresses a .gz path itself (compression inferred from the name)
                parse_options=pacsv.ParseOptions(newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True,
                                                     true_values=_TRUE_VALUES, false_values=_FALSE_VALUES,
                                                     null_values=_NULLS),
            )
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError, OSError, EOFError, zlib.error):
        return None
    if set(header) - set(spec.columns) or set(spec.required_columns) - set(header):
        return None  # unknown or missing columns: let the validator explain
    frame = table.to_pandas(date_as_object=False)
    for f in spec.fields:
        if f.name in frame and f.kind in ("id", "text", "category"):
            frame[f.name] = frame[f.name].astype(object)
    return frame


def _load_folder(folder: Path, names: list[str], explicit: bool, cfg: VRUConfig) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    for name in names:
        path = _find_file(folder, name)
        if path is None:
            if explicit:
                raise MissingDataError(f"no {name}.csv, {name}.csv.gz or {name}.parquet in {folder}; add the file "
                                       "or choose other tables.")
            continue
        spec = TABLES[name]
        frame = _fast_frame(path, spec)
        if frame is not None:
            frame = normalise_categories(frame, name, cfg)
            try:  # the full contract (codes, ranges, keys, rules); on failure the validator explains
                schema_for(spec, cfg).validate(frame, lazy=False)
            except (pandera.errors.SchemaError, pandera.errors.SchemaErrors):
                frame = None
        if frame is None:
            out[name] = read_valid(path, table=name, cfg=cfg)[name]  # finished; raises DataError naming row and column
        else:
            out[name] = finish_typed(frame, name, cfg).reset_index(drop=True)
    return out


# ----------------------------------------------------------------- public API
def load_tables(src: str | Path, *, tables: Iterable[str] | str | None = None,
                cfg: VRUConfig | None = None) -> dict[str, pd.DataFrame]:
    """Typed contract tables from a DuckDB store or a folder of ``<table>.csv``/``.csv.gz``/``.parquet`` files.

    Parameters
    ----------
    src
        A store written by :func:`evalkit.data.store.ingest_files`, or a folder.
    tables
        Tables wanted (default: every table present with rows).
    cfg
        VRU configuration (for derived fields; default :func:`load_config`).

    Raises
    ------
    MissingDataError
        A requested table is not there.
    DataError
        A folder file breaks the contract (every problem listed), or a folder
        holds one table in two forms (e.g. ``offences.csv`` and ``offences.csv.gz``).
    """
    cfg = cfg or load_config()
    src = Path(src)
    names = _wanted(tables)
    explicit = tables is not None
    if src.is_dir():
        return _load_folder(src, names, explicit, cfg)
    if src.is_file():
        return _load_store(src, names, explicit, cfg)
    raise EvalkitError(f"{src}: neither a store nor a folder; check the path.")


__all__ = ["load_tables"]
