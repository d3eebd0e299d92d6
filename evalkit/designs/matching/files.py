"""Matching straight from a file: a national comparison pool, without pandas.

``match_file("pool.csv", treatment=..., id_col=..., covariates=[...], out="matched.csv")``
(and ``evalkit match`` on the command line) reads the id, treatment and
covariate columns of a CSV, gzipped CSV or Parquet file, checks them, sorts by
id, codes the covariates and runs the same engine as
:func:`evalkit.designs.matching.match` (:func:`.core.match_arrays`), so both
give identical matched sets. The matched units (id, treated, distance, weight,
subclass) are written atomically to ``out``; the return value holds counts and
settings only.

Why a second front end: when the pool is a whole force's or a whole country's
records (a million rows), importing pandas and converting columns take longer
than the propensity fit and the matching together. pyarrow reads the file with
several threads into Arrow buffers, which are viewed as numpy arrays without a
copy (``Array.to_numpy`` is avoided: it imports pandas).

Checks name the file, the row as a spreadsheet shows it (header = row 1) and
the column: missing values, a treatment that is not 0/1, duplicate ids, a
covariate read as text with very many distinct values (usually a stray word in
a numeric column), an unreadable line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from evalkit.errors import DataError, EvalkitError, MissingDataError, Problem

from ._common import DEFAULT_MIN_TREATED, MatchSummary, check_options, without_huge_pages
from ._design import CovariateMatrix, no_variance, numeric_column

if TYPE_CHECKING:
    from .core import MatchArrays

#: A text covariate with more distinct values than this is refused (dummy-coding it would not make sense).
MAX_LEVELS = 100
_SUFFIXES = (".csv", ".csv.gz", ".parquet")


@dataclass(frozen=True, kw_only=True)
class MatchFileResult(MatchSummary):
    """What :func:`match_file` did: counts, settings and where the matched set went (no row-level data)."""

    source: str
    out: str
    balance_out: str | None = None  # where the balance table went (``balance=``), else None
    largest_diff_after: tuple[str, float] | None = None  # the covariate column least balanced after matching
    n_unbalanced: int | None = None  # columns with |difference| > 0.25 (WWC "fails") after matching

    def text(self) -> str:
        """Plain-English summary for the command line (no pandas needed)."""
        cal = ""
        if self.caliper_value is not None:
            scale = "logit of the propensity score" if self.settings["link"] == "linear.logit" else "propensity score"
            unit = " SD" if self.settings["std_caliper"] else ""
            cal = f" within a caliper of {self.settings['caliper']:g}{unit} ({self.caliper_value:.4g} on the {scale})"
        lines = [f"Matched {self.n_treated_matched:,} of {self.n_treated:,} participants to "
                 f"{self.n_control_matched:,} of {self.n_control:,} comparison records "
                 f"(1:{self.settings['ratio']}, {'with' if self.settings['replace'] else 'without'} replacement{cal}).",
                 *self.warnings,
                 f"Wrote the matched set ({self.n_treated_matched + self.n_control_matched:,} rows: id, treated, "
                 f"distance, weight, subclass) to {self.out}."]
        if self.balance_out is not None and self.largest_diff_after is not None:
            name, diff = self.largest_diff_after
            verdict = ("every covariate within 0.05 (What Works Clearinghouse: satisfies)" if abs(diff) <= 0.05
                       else "every covariate within 0.25 (What Works Clearinghouse: needs statistical adjustment)"
                       if not self.n_unbalanced else
                       f"{self.n_unbalanced} covariate column(s) beyond 0.25 (What Works Clearinghouse: fails)")
            lines.append(f"Balance after matching: {verdict}; largest difference {diff:+.3f} ({name}). "
                         f"Wrote the balance table to {self.balance_out}.")
        return "\n".join(lines)


def match_file(path: str | Path, *, treatment: str, id_col: str, covariates: list[str], out: str | Path,
               exact: list[str] | None = None, method: str = "nearest", distance: str = "glm",
               link: str = "logit", caliper: float | None = None, std_caliper: bool = True, ratio: int = 1,
               replace: bool = False, m_order: str | None = None, discard: str = "none", seed: int | None = None,
               min_treated: int = DEFAULT_MIN_TREATED, balance: str | Path | None = None) -> MatchFileResult:
    """Match the participants in a file to the comparison records in it; write the matched set.

    Parameters
    ----------
    path
        CSV (``.csv``, ``.csv.gz``) or Parquet file, one row per person, with a
        header row.
    treatment, id_col, covariates, exact, method, distance, link, caliper, std_caliper, ratio, replace,
    m_order, discard, seed, min_treated
        As :func:`evalkit.designs.matching.match`; text covariates are
        dummy-coded with the first level (code-point order) as reference.
    out
        Where to write the matched units (``.csv`` or ``.parquet``); written
        atomically: complete or absent.
    balance
        Optionally, where to write the covariate balance table before and after
        matching (``.csv``): :func:`evalkit.designs.matching.balance_table`'s
        statistics (cobalt conventions, WWC flags). It needs pandas and about a
        second per million rows.

    Returns
    -------
    MatchFileResult

    Raises
    ------
    DataError, MissingDataError
        The file breaks a rule (the message names file, row and column).
    SpecError, InsufficientDataError
        As :func:`evalkit.designs.matching.match`.
    """
    path, out = Path(path), Path(out)
    exact = list(exact) if exact else []
    check_options(method=method, distance=distance, link=link, caliper=caliper, ratio=ratio, m_order=m_order,
                  discard=discard)
    _check_suffix(out, "output")
    from evalkit.io_safe import is_formula_like

    if is_formula_like(id_col):
        raise EvalkitError(f"--id {id_col!r}: a column name cannot begin with {id_col[0]!r} (a spreadsheet would run "
                           "it as a formula). Fix: rename the column.")
    if balance is not None:
        balance = Path(balance)
        if not balance.name.lower().endswith(".csv"):
            raise EvalkitError(f"{balance}: the balance table is written as .csv. Fix: give a name ending .csv.")
    with without_huge_pages():
        cols = read_columns(path, list(dict.fromkeys([id_col, treatment, *covariates, *exact])),
                            as_float=tuple(c for c in covariates if c not in exact and c not in (id_col, treatment)))
        from .core import check_groups, match_arrays  # the engine (imported here: reading errors come first)
        treat = _treatment(cols[treatment], path, treatment)
        order = _id_order(cols[id_col], path, id_col)
        treat = treat if order is None else treat[order]
        check_groups(treat, min_treated)
        X = _covariates(cols, covariates, order, path)
        strata = _strata(cols, exact, order) if exact else None
        core = match_arrays(treat, X, strata=strata, exact=tuple(exact), method=method, distance=distance,
                            link=link, caliper=caliper, std_caliper=std_caliper, ratio=ratio, replace=replace,
                            m_order=m_order, discard=discard, seed=seed, min_treated=min_treated)
        rows = np.arange(treat.size) if order is None else order
        extra = {}
        if balance is not None:  # first, so that a failure leaves no matched set without its balance table
            bal = _balance_table(cols, rows, core, path=path, treatment=treatment, id_col=id_col,
                                 covariates=covariates)
            from evalkit.io_safe import neutralise_frame  # covariate names and levels are the file's own text

            _write_atomic(balance, lambda tmp: neutralise_frame(bal.to_frame()).to_csv(tmp, index=False))
            worst = max(bal.table, key=lambda r: abs(r["diff_after"]))
            extra = dict(balance_out=str(balance), largest_diff_after=(worst["covariate"], float(worst["diff_after"])),
                         n_unbalanced=sum(abs(r["diff_after"]) > 0.25 for r in bal.table))
        write_matched(out, cols[id_col], rows, core, id_col=id_col)
    return MatchFileResult(source=path.name, out=str(out), treatment=treatment, id_col=id_col,
                           covariates=tuple(covariates), **core.summary, **extra)


def _balance_table(cols: dict, rows: np.ndarray, core: MatchArrays, *, path: Path, treatment: str, id_col: str,
                   covariates: list[str]):
    """:func:`balance_table` on the file's covariates (id order), through the DataFrame result type."""
    import pandas as pd

    from .balance import balance_table
    from .match import _result

    def column(name: str):
        arr = cols[name]
        if _is_numeric(arr):
            return _numpy(arr)[rows]
        levels, codes = _text_codes(arr, path, name)
        return pd.Categorical.from_codes(codes[rows], categories=levels)

    ids = _numpy(cols[id_col])[rows] if _is_numeric(cols[id_col]) else np.asarray(
        cols[id_col].take(_arrow(rows)).to_pylist(), dtype=object)
    frame = pd.DataFrame({id_col: ids, **{c: column(c) for c in covariates}})
    return balance_table(frame, _result(ids, treatment, id_col, tuple(covariates), core))


# --- reading ---------------------------------------------------------------------------------------------------


def _check_suffix(path: Path, what: str) -> None:
    name = path.name.lower()
    if not name.endswith(_SUFFIXES) or (what == "output" and name.endswith(".gz")):
        allowed = ".csv or .parquet" if what == "output" else ".csv, .csv.gz or .parquet"
        raise EvalkitError(f"{path}: the {what} file must be {allowed}. Fix: save it in one of those formats "
                           "(Excel: File > Save As > CSV).")


def read_columns(path: Path, columns: list[str], as_float: tuple[str, ...] = ()) -> dict[str, object]:
    """The named columns of a CSV or Parquet file as pyarrow arrays (one chunk each), in file row order.

    Columns named in ``as_float`` that hold whole numbers are read as float64
    (a CSV's types are otherwise inferred; Parquet keeps its own).

    Raises
    ------
    MissingDataError
        A named column is absent (with the nearest names in the file).
    DataError
        A line cannot be parsed, or a column has a missing value.
    """
    _check_suffix(path, "input")
    if not path.is_file():
        raise FileNotFoundError(2, "No such file", str(path))
    if path.name.lower().endswith(".parquet"):
        table = _read_parquet(path, columns)
    else:
        table = _read_csv(path, columns, as_float)
    cols = {name: table.column(name).combine_chunks() for name in columns}
    for name, arr in cols.items():
        _no_missing(arr, path, name)
    return cols


def _read_parquet(path: Path, columns: list[str]):
    import pyarrow.parquet as pq

    present = pq.read_schema(path).names
    _require(columns, present, path)
    return pq.read_table(path, columns=columns)


def _read_csv(path: Path, columns: list[str], as_float: tuple[str, ...]):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    _require(columns, _csv_header(path), path)
    convert = pacsv.ConvertOptions(include_columns=columns, strings_can_be_null=True,
                                   column_types=_sniffed_types(path, columns, as_float))
    try:
        # 4 MB blocks (default 1 MB): fewer chunks to stitch together, same parallelism on a few cores
        return pacsv.read_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 22), convert_options=convert)
    except pa.ArrowInvalid as exc:
        raise _csv_problem(path, columns, convert, exc) from None


def _sniffed_types(path: Path, columns: list[str], as_float: tuple[str, ...]) -> dict:
    """float64 for the ``as_float`` columns that hold numbers in the first 64 KB (other columns: inferred).

    Declaring the types saves pyarrow's per-block inference (about a tenth of
    the read); a covariate that holds whole numbers early in the file and
    decimals later is read as numbers throughout; and a stray word further
    down a numeric covariate is an error naming its row, rather than turning
    the whole column into text. Ids, the treatment and exact-matching columns
    are left to pyarrow (an id may be a number early on and text later).
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        with pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 16, use_threads=False),
                            convert_options=pacsv.ConvertOptions(include_columns=columns,
                                                                 strings_can_be_null=True)) as reader:
            schema = reader.schema
    except pa.ArrowInvalid:
        return {}  # the full read reports the problem with its line
    numeric = (pa.types.is_integer, pa.types.is_floating)
    # True/False (as evalkit itself writes yes/no columns) stay yes/no: declared float they would not parse
    return {f.name: pa.bool_() if pa.types.is_boolean(f.type) else pa.float64() for f in schema
            if f.name in as_float and (pa.types.is_boolean(f.type) or any(t(f.type) for t in numeric))}


def _csv_header(path: Path) -> list[str]:
    import csv
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh), [])
    return header


def _require(columns: list[str], present: list[str], path: Path) -> None:
    missing = [c for c in columns if c not in present]
    if missing:
        import difflib

        hints = []
        for c in missing:
            near = difflib.get_close_matches(c, present, n=1)
            hints.append(f"'{c}'" + (f" (did you mean '{near[0]}'?)" if near else ""))
        raise MissingDataError(f"{path}: no column {', '.join(hints)}. Fix: check the spelling against the "
                               f"file's header ({', '.join(present[:12])}{', ...' if len(present) > 12 else ''}).")


def _csv_problem(path: Path, columns: list[str], convert, exc: Exception) -> DataError:
    """A DataError naming the first bad line (found by a single-threaded re-read that reports line numbers)."""
    import pyarrow.csv as pacsv

    bad: list[tuple[int | None, int, int]] = []

    def handler(row) -> str:
        bad.append((row.number, row.expected_columns, row.actual_columns))
        return "error"

    try:
        pacsv.read_csv(path, read_options=pacsv.ReadOptions(use_threads=False),
                       parse_options=pacsv.ParseOptions(invalid_row_handler=handler), convert_options=convert)
    except Exception:  # noqa: BLE001 - only the handler's record is wanted
        pass
    if bad:
        number, expected, actual = bad[0]
        return DataError(Problem(file=str(path), row=number, message=f"has {actual} field(s); the header has "
                                 f"{expected}.", fix="Remove stray commas or quote the field that holds one."))
    # A conversion error: a value that does not fit the column's type. pyarrow names the column by its
    # position in the file; find the first such value by reading that column as text (this path only).
    import re

    header = _csv_header(path)
    found = re.search(r"In CSV column #(\d+)", str(exc))
    if found and int(found.group(1)) < len(header):
        name = header[int(found.group(1))]
        values = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            include_columns=[name], column_types={name: "string"})).column(name).to_pylist()
        for row, value in enumerate(values):
            if value not in (None, "") and not _is_number(value):
                return DataError(Problem(file=str(path), row=row + 2, column=name,
                                         message=f"{value!r} is not a number.",
                                         fix="Correct the value, or leave the cell empty if it is missing."))
    text = str(exc).split(": invalid value")[0]
    return DataError(Problem(file=str(path), message=f"cannot be read ({text}).",
                             fix="Make every value in a numeric column a number; leave missing values empty."))


def _no_missing(arr, path: Path, name: str) -> None:
    first = None
    if arr.null_count and (arr.null_count == len(arr) or arr.buffers()[0] is None):
        # blank for everyone (a CSV column with no values is read as Arrow's null type, which has no bitmap)
        raise DataError(Problem(file=str(path), row=2, column=name,
                                message=f"missing value ({len(arr):,} in this column: it is blank for everyone).",
                                fix="Fill the column, or leave it out of --covariates/--exact."))
    if arr.null_count:
        valid = np.unpackbits(np.frombuffer(arr.buffers()[0], dtype=np.uint8), bitorder="little")
        first = int(np.argmin(valid[arr.offset:arr.offset + len(arr)]))
    elif _is_float(arr) and len(arr) and np.isnan(np.min(_numpy(arr))):  # min is NaN iff a NaN is present
        first = int(np.argmax(np.isnan(_numpy(arr))))
    if first is not None:
        n_missing = arr.null_count or int(np.isnan(_numpy(arr)).sum())
        raise DataError(Problem(file=str(path), row=first + 2, column=name,
                                message=f"missing value ({n_missing:,} in this column).",
                                fix="Fill or drop the rows with missing values before matching."))


def _is_float(arr) -> bool:
    import pyarrow as pa

    return pa.types.is_floating(arr.type)


def _is_numeric(arr) -> bool:
    import pyarrow as pa

    t = arr.type
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)


def _numpy(arr) -> np.ndarray:
    """A numeric pyarrow array (no nulls) as numpy, without a copy where possible (and without pandas)."""
    import pyarrow as pa

    if pa.types.is_boolean(arr.type):  # bit-packed: unpack
        bits = np.unpackbits(np.frombuffer(arr.buffers()[1], dtype=np.uint8), bitorder="little")
        return bits[arr.offset:arr.offset + len(arr)].astype(bool)
    t = arr.type
    kind = "f" if pa.types.is_floating(t) else "u" if pa.types.is_unsigned_integer(t) else "i"
    dtype = np.dtype(f"{kind}{t.bit_width // 8}")
    return np.frombuffer(arr.buffers()[1], dtype=dtype, count=len(arr), offset=arr.offset * dtype.itemsize)


#: Treatment codes as text: 0/1, and True/False as evalkit (pandas) and R write them, so that one stray value
#: (which makes pyarrow read the column as text) is the value reported, not the first True.
_TREATMENT_TEXT = {"0": 0, "1": 1, "False": 0, "True": 1, "false": 0, "true": 1, "FALSE": 0, "TRUE": 1}


def _treatment(arr, path: Path, name: str) -> np.ndarray:
    """The treatment column as int8 0/1; the first other value is reported with its row."""
    if not _is_numeric(arr):  # text (pyarrow reads a column of 0s and 1s, or of True/False, as numbers)
        values = arr.to_pylist()
        first = next((i for i, v in enumerate(values) if v not in _TREATMENT_TEXT), None)
        if first is None:
            return np.array([_TREATMENT_TEXT[v] for v in values], dtype=np.int8)
        raise _bad_treatment(path, name, first, values[first])
    v = _numpy(arr)
    if v.size and v.dtype.kind in "iub" and v.min() >= 0 and v.max() <= 1:  # two passes, no temporaries
        return v.astype(np.int8)
    bad = (v != 0) & (v != 1)
    if bad.any():
        first = int(np.argmax(bad))
        raise _bad_treatment(path, name, first, v[first].item())
    return v.astype(np.int8)


def _bad_treatment(path: Path, name: str, row: int, value) -> DataError:
    return DataError(Problem(file=str(path), row=row + 2, column=name,
                             message=f"treatment must be 0 or 1 (or True/False); found {value!r}.",
                             fix="Code participants 1 and comparison records 0."))


def _id_order(arr, path: Path, name: str) -> np.ndarray | None:
    """Row order that sorts the ids (None: already sorted); refuse duplicate ids.

    Integer ids in a compact range are placed by counting (one pass) rather
    than sorted; other ids are sorted by pyarrow (text ids in code-point order,
    as the DataFrame front end sorts them).
    """
    import pyarrow as pa

    if _is_numeric(arr) and not _is_bool(arr):
        ids = _numpy(arr)
        if ids.size < 2 or bool(np.all(ids[1:] > ids[:-1])):
            return None
        order = None if _is_float(arr) else _counting_order(ids)
        if order is not None:
            return order  # placement succeeded, so every id is distinct
        order = np.argsort(ids)
        sorted_ids = ids[order]
        dup = sorted_ids[1:] == sorted_ids[:-1]
    else:
        import pyarrow.compute as pc

        _refuse_formula_ids(arr, path, name)
        order = _numpy(pc.sort_indices(arr)).astype(np.int64)
        sorted_ids = arr.take(_arrow(order))
        dup = _numpy(pc.equal(sorted_ids.slice(1), sorted_ids.slice(0, len(arr) - 1)))
    if dup.any():
        at = int(np.argmax(dup))
        rows = sorted(int(order[i]) + 2 for i in (at, at + 1))
        value = sorted_ids[at].as_py() if isinstance(sorted_ids, pa.Array) else sorted_ids[at].item()
        raise DataError(Problem(file=str(path), row=rows[0], column=name,
                                message=f"id {value!r} appears more than once (also row {rows[1]}).",
                                fix="Each person must appear once; keep one row per person."))
    return order


def _refuse_formula_ids(arr, path: Path, name: str) -> None:
    """An id a spreadsheet would run as a formula (``=HYPERLINK(...)``, ``@SUM(...)``) is refused, located:
    the matched set is opened in Excel, and no real id starts that way (a plain signed number is fine)."""
    import pyarrow.compute as pc

    from evalkit.io_safe import is_formula_like

    text = pc.cast(arr, "string") if not (arr.type == "string" or arr.type == "large_string") else arr
    suspect = pc.match_substring_regex(text, r"^[=+\-@\t\r]")  # (fill_null would import pandas: nulls are refused later)
    if not pc.any(suspect).as_py():
        return
    for i in np.flatnonzero(np.asarray(suspect.to_pylist(), dtype=bool)):
        value = text[int(i)].as_py()
        if is_formula_like(value):
            raise DataError(Problem(file=str(path), row=int(i) + 2, column=name,
                                    message=f"id {value[:40]!r} begins with {value[0]!r}, which a spreadsheet runs "
                                            "as a formula when the matched set is opened.",
                                    fix="ids may not start with =, +, -, @, a tab or a line break; correct the id "
                                        "(or pseudonymise the ids first with `evalkit pseudonymise`)."))


def _arrow(values: np.ndarray, valid: np.ndarray | None = None):
    """A numpy array as a pyarrow array sharing its memory (``pa.array`` would import pandas)."""
    import pyarrow as pa

    values = np.ascontiguousarray(values)
    mask = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), values.size, [mask, pa.py_buffer(values)])


def _is_bool(arr) -> bool:
    import pyarrow as pa

    return pa.types.is_boolean(arr.type)


def _counting_order(ids: np.ndarray) -> np.ndarray | None:
    """Sorting permutation of integer ids spanning at most 4n values, by placement (None if wider or repeated).

    Duplicates are left for the caller to report: with a repeat the placement
    loses a row, so None is returned and the caller sorts.
    """
    lo, hi = int(ids.min()), int(ids.max())
    if hi - lo >= 4 * ids.size:
        return None
    slot = np.full(hi - lo + 1, -1, dtype=np.int64)
    step = 1 << 16  # in pieces: no million-row temporaries (fresh pages cost more than the arithmetic)
    for i in range(0, ids.size, step):
        slot[ids[i:i + step] - lo] = np.arange(i, min(i + step, ids.size))
    if slot.size == ids.size:  # ids are lo..hi: every slot filled unless an id repeats
        return slot if slot.min() >= 0 else None
    order = slot[slot >= 0]
    return order if order.size == ids.size else None


def _covariates(cols: dict, covariates: list[str], order: np.ndarray | None, path: Path) -> CovariateMatrix:
    """Design columns: numbers as they are, text dummy-coded (first level the reference); id order via ``rows``."""
    design: list[np.ndarray] = []
    names: list[str] = []
    source: list[str] = []
    binary: list[bool] = []
    for cov in covariates:
        arr = cols[cov]
        if _is_numeric(arr):
            v, is_binary = numeric_column(cov, _numpy(arr))
            design.append(v)
            names.append(cov)
            source.append(cov)
            binary.append(is_binary)
            continue
        levels, codes = _text_codes(arr, path, cov)
        if len(levels) < 2:
            raise no_variance(cov)
        for k, lev in enumerate(levels[1:], start=1):
            design.append((codes == k).view(np.uint8))
            names.append(f"{cov}[{lev}]")
            source.append(cov)
            binary.append(True)
    n = len(cols[covariates[0]]) if covariates else 0
    return CovariateMatrix(design=tuple(design), columns=tuple(names), source=tuple(source), binary=tuple(binary),
                           n=n, rows=order)


def _text_codes(arr, path: Path | None = None, name: str | None = None, *, max_levels: int | None = MAX_LEVELS
                ) -> tuple[list[str], np.ndarray]:
    """Sorted distinct values (code-point order) and each row's index into them.

    More than ``max_levels`` distinct values (None: no limit) is refused, naming ``path`` and ``name``.
    """
    import pyarrow.compute as pc

    enc = pc.dictionary_encode(arr)
    values = [str(v) for v in enc.dictionary.to_pylist()]
    if max_levels is not None and len(values) > max_levels:
        example = next((v for v in values if not _is_number(v)), values[0])
        raise DataError(Problem(file=str(path), column=name,
                                message=f"is read as text with {len(values):,} different values (for example "
                                        f"{example!r}), too many to match on as categories.",
                                fix="If it should hold numbers, correct the values that are not numbers; "
                                    "otherwise group it into fewer categories."))
    rank = np.empty(len(values), dtype=np.int64)
    rank[np.argsort(np.array(values, dtype=object), kind="stable")] = np.arange(len(values))
    return sorted(values), rank[_numpy(enc.indices)]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _strata(cols: dict, exact: list[str], order: np.ndarray | None) -> np.ndarray:
    """Code of each row's combination of exact-matching values, numbered in sorted order (as pandas ngroup).

    Each column becomes ranks that keep its sort order (whole numbers: value
    minus minimum, in one pass; otherwise by sorting), the columns combine in
    mixed radix (lexicographic order), and the codes are made dense by
    counting when there are not too many combinations (else by sorting).
    """
    n = len(next(iter(cols.values())))
    codes = np.zeros(n, dtype=np.int64)
    size = 1  # number of possible combinations so far
    for name in exact:
        ranks, k = _ranks(cols[name])
        codes = codes * k + ranks
        size *= k
    if size <= 4 * max(n, 1):
        present = np.bincount(codes, minlength=size) > 0
        codes = (np.cumsum(present) - 1)[codes]
    else:
        codes = np.unique(codes, return_inverse=True)[1].ravel()
    return codes if order is None else codes[order]


def _ranks(arr) -> tuple[np.ndarray, int]:
    """Order-preserving integer codes of one column and how many codes there can be."""
    if _is_numeric(arr):
        v = _numpy(arr)
        if v.dtype.kind in "iub" and v.size:
            lo, hi = int(v.min()), int(v.max())
            if hi - lo < 4 * v.size:
                return v.astype(np.int64) - lo, hi - lo + 1
        values, inv = np.unique(v, return_inverse=True)
        return inv.ravel(), values.size
    levels, codes = _text_codes(arr, max_levels=None)  # exact strata may have many levels (e.g. postcodes)
    return codes, len(levels)


# --- writing ---------------------------------------------------------------------------------------------------


def write_matched(out: Path, ids, rows: np.ndarray, core: MatchArrays, *, id_col: str) -> None:
    """Write the matched units (weight > 0) in id order; atomically (a temporary file renamed into place).

    ``ids`` is the file's id column (pyarrow) and ``rows`` maps each unit of
    ``core`` (id order) to its row in the file.
    """
    import pyarrow as pa

    keep = core.matched_rows
    dist = core.distance[keep]
    subclass = core.matched_subclass
    has_subclass = ~np.isnan(subclass)
    table = pa.Table.from_arrays([
        _arrow(_numpy(ids)[rows[keep]]) if _is_numeric(ids) else ids.take(_arrow(rows[keep])),
        _arrow(core.treat[keep]),
        _arrow(np.nan_to_num(dist), valid=~np.isnan(dist)),  # empty for Mahalanobis matching (no score)
        _arrow(core.matched_weight),
        # whole numbers; empty when matching with replacement (MatchIt has no subclasses then)
        _arrow(np.where(has_subclass, subclass, 0).astype(np.int64), valid=has_subclass),
    ], names=[id_col, "treated", "distance", "weight", "subclass"])
    if out.name.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        _write_atomic(out, lambda tmp: pq.write_table(table, str(tmp)))
    else:
        import pyarrow.csv as pacsv

        _write_atomic(out, lambda tmp: pacsv.write_csv(table, str(tmp)))


def _write_atomic(out: Path, write) -> None:
    """Call ``write(tmp)`` on a private temporary file beside ``out``, then rename it into place (the one
    guarded write path: a full disk or a read-only folder is a plain error naming ``out``)."""
    from evalkit.io_safe import write_atomic

    write_atomic(out, write)
