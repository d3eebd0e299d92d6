"""Pseudonymise identifiers with a keyed hash (HMAC-SHA256, RFC 2104 / FIPS 198-1).

``pseudonym = "P" + first 16 hex characters of HMAC-SHA256(key, id)``, where
``id`` is the identifier as text with surrounding spaces removed (UTF-8).
The same id under the same key always gives the same pseudonym, in any file,
so records still link across tables and providers; without the key the id
cannot be recovered or confirmed by hashing guesses (unlike a plain hash of,
say, an NHS number, which can be reversed by trying every number).

Collisions: 16 hex characters are 64 bits; the chance that any two of *n*
distinct ids share a pseudonym is about n²/2⁶⁵ — about 3 in 100 million for a
million people, 3 in a million million (10¹²) for 10,000.

The key comes from a key file (``key_file=``) or the ``EVALKIT_PSEUDONYM_KEY``
environment variable; it must be at least 16 bytes, is never written to an
output, and the same key must be used by every party whose data are linked.
Plain HMAC (no extra prefix) is used on purpose, so a partner can reproduce
the pseudonyms with any standard HMAC tool.

Outputs are written atomically (temporary file in the same folder, then
rename): a failure never leaves a half-written file.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import hmac
import io
import os
import re
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from evalkit.data.readers import _cell_text, _other_separator, data_stem, data_suffix, normalise_name
from evalkit.errors import DataError, EvalkitError, Problem
from evalkit.io_safe import neutralise_cell, write_atomic

KEY_ENV_VAR = "EVALKIT_PSEUDONYM_KEY"
PREFIX = "P"
HEX_CHARS = 16
MIN_KEY_BYTES = 16
_LOOKS_PSEUDONYMISED = re.compile(rf"^{PREFIX}[0-9a-f]{{{HEX_CHARS}}}$")


class PseudonymKeyError(EvalkitError):
    """No usable pseudonymisation key."""


def load_key(key_file: str | Path | None = None) -> bytes:
    """The secret key: from ``key_file`` if given, else ``EVALKIT_PSEUDONYM_KEY``.

    A trailing newline in the key file is ignored. Raises
    :class:`~evalkit.errors.EvalkitError` if there is no key or it is shorter
    than 16 bytes.
    """
    if key_file is not None:
        try:
            key = Path(key_file).read_bytes().rstrip(b"\r\n")
        except OSError as exc:
            raise PseudonymKeyError(f"cannot read the key file {key_file} ({exc.strerror}).") from None
        where = f"key file {key_file}"
    else:
        text = os.environ.get(KEY_ENV_VAR)
        if not text:
            raise PseudonymKeyError(f"no pseudonymisation key: set the {KEY_ENV_VAR} environment variable or pass "
                            "--key-file (a file holding a secret of at least 16 characters, shared only with "
                            "the partners whose data must link).")
        key = text.encode("utf-8")
        where = KEY_ENV_VAR
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymKeyError(f"the key in {where} is {len(key)} bytes; use at least {MIN_KEY_BYTES} "
                        "(e.g. 32 random characters).")
    return key


def pseudonym(value: str, key: bytes) -> str:
    """Pseudonym of one identifier (see module docstring)."""
    digest = hmac.new(key, value.strip().encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:HEX_CHARS]


def _mapper(key: bytes) -> Callable[[str], str]:
    cache: dict[str, str] = {}

    def apply(value: str) -> str:
        if value.strip() == "":
            return value
        out = cache.get(value)
        if out is None:
            out = cache[value] = pseudonym(value, key)
        return out

    return apply


def pseudonymise_series(series: pd.Series, *, key: bytes | None = None,
                        key_file: str | Path | None = None) -> pd.Series:
    """Pseudonymise a column of identifiers; missing or blank values stay missing.

    Numbers are hashed as their text (``12345`` and ``"12345"`` agree).
    """
    key = key if key is not None else load_key(key_file)
    apply = _mapper(key)
    return series.map(lambda v: v if (v is None or (not isinstance(v, str) and pd.isna(v)))
                      else apply(_cell_text(v)))


# ----------------------------------------------------------------- files
def _atomic_write(out: Path, write: Callable[[Path], None]) -> None:
    """The one guarded write path (:func:`evalkit.io_safe.write_atomic`): complete or absent, a full disk named."""
    write_atomic(out, write)


def _match_columns(header: Sequence[object], columns: Sequence[str]) -> list[int]:
    wanted = {normalise_name(c) for c in columns}
    return [i for i, h in enumerate(header) if normalise_name(h) in wanted]


def _csv(src: Path, out: Path, columns: Sequence[str], apply: Callable[[str], str]) -> tuple[list[str], int]:
    zipped = data_suffix(src) == ".csv.gz"
    try:
        raw = gzip.decompress(src.read_bytes()) if zipped else src.read_bytes()
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(Problem(src.name, f"the compressed file cannot be read ({exc}).",
                                "compress the CSV again with gzip, or give the plain .csv file.")) from None
    try:
        text, encoding = raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = raw.decode("cp1252"), "cp1252"
    newline = "\r\n" if "\r\n" in text[:65536] else "\n"  # keep the file's line endings
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        raise DataError(Problem(src.name, "the file is empty.", "give a file with a header row."))
    idx = _match_columns(rows[0], columns)
    if not idx:
        other = _other_separator(rows[0])
        if other:
            raise DataError(Problem(src.name, f"the columns are separated by {other}, not commas.",
                                    "save it again from Excel as 'CSV UTF-8 (Comma delimited)'.", row=1))
        raise DataError(Problem(src.name, f"no column named {', '.join(columns)}.",
                                "name the identifier column person_id, or pass the column to pseudonymise.", row=1))
    n = 0
    for row in rows[1:]:
        for i in idx:
            if i < len(row) and row[i].strip():
                row[i] = apply(row[i])
                n += 1
    # every other cell as it came, except text a spreadsheet would run as a formula ('=cmd' written as "'=cmd")
    rows = [[str(neutralise_cell(c)) for c in row] for row in rows]

    def write(tmp: Path) -> None:
        if zipped:  # mtime 0: the same input and key give the same bytes
            with gzip.GzipFile(tmp, "wb", mtime=0) as gz, io.TextIOWrapper(gz, encoding=encoding, newline="") as fh:
                csv.writer(fh, lineterminator=newline).writerows(rows)
            return
        with open(tmp, "w", encoding=encoding, newline="") as fh:
            csv.writer(fh, lineterminator=newline).writerows(rows)

    _atomic_write(out, write)
    return [rows[0][i] for i in idx], n


def _parquet(src: Path, out: Path, columns: Sequence[str], apply: Callable[[str], str]) -> tuple[list[str], int]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(src)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid, OSError, ...
        raise DataError(Problem(src.name, f"the Parquet file cannot be read ({exc}).", "write it again.")) from None
    idx = _match_columns(table.column_names, columns)
    if not idx:
        raise DataError(Problem(src.name, f"no column named {', '.join(columns)}.",
                                "name the identifier column person_id, or pass the column to pseudonymise."))
    n = 0
    for i in idx:
        values = table.column(i).to_pylist()
        new = [None if v is None else apply(_cell_text(v)) for v in values]
        n += sum(v is not None and _cell_text(v).strip() != "" for v in values)
        table = table.set_column(i, table.column_names[i], pa.array(new, type=pa.string()))
    _atomic_write(out, lambda tmp: pq.write_table(table, tmp))
    return [table.column_names[i] for i in idx], n


def _xlsx(src: Path, out: Path, columns: Sequence[str], apply: Callable[[str], str]) -> tuple[list[str], int]:
    import openpyxl

    from evalkit.data.readers import workbook_bomb

    bomb = workbook_bomb(src)  # before anything is unpacked
    if bomb is not None:
        raise DataError(bomb)
    try:
        wb = openpyxl.load_workbook(src)  # full load keeps formats, notes and drop-downs
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a damaged file
        raise DataError(Problem(src.name, f"the workbook cannot be opened ({type(exc).__name__}: {exc}).",
                                "save it again from Excel as .xlsx.")) from None
    found: list[str] = []
    n = 0
    for ws in wb.worksheets:
        header = [c.value for c in ws[1]] if ws.max_row >= 1 else []
        for i in _match_columns(header, columns):
            found.append(f"{ws.title}!{header[i]}")
            for (cell,) in ws.iter_rows(min_row=2, min_col=i + 1, max_col=i + 1):
                if cell.value is not None and _cell_text(cell.value).strip():
                    cell.value = apply(_cell_text(cell.value))
                    cell.number_format = "@"
                    n += 1
    if not found:
        raise DataError(Problem(src.name, f"no sheet has a column named {', '.join(columns)}.",
                                "name the identifier column person_id, or pass the column to pseudonymise."))
    _atomic_write(out, lambda tmp: wb.save(tmp))
    return found, n


def pseudonymise_file(src: str | Path, out: str | Path, *, key_file: str | Path | None = None,
                      columns: Sequence[str] = ("person_id",)) -> str:
    """Copy a CSV (plain or .csv.gz), Excel or Parquet file with identifier columns replaced by pseudonyms.

    Every other cell is copied unchanged. ``out`` may equal ``src``. Returns
    a one-line summary (counts only; the key is never shown or written).
    """
    src, out = Path(src), Path(out)
    if not src.is_file():
        raise DataError(Problem(src.name, "the file does not exist.", "check the path."))
    key = load_key(key_file)
    seen: dict[str, str] = {}
    looked_done = 0

    def apply(value: str) -> str:
        nonlocal looked_done
        v = value.strip()
        if _LOOKS_PSEUDONYMISED.match(v):
            looked_done += 1
        got = seen.get(v)
        if got is None:
            got = seen[v] = pseudonym(v, key)
        return got

    suffix = data_suffix(src)
    kinds = {".csv": "csv", ".txt": "csv", ".csv.gz": "csv.gz", ".xlsx": "xlsx", ".xlsm": "xlsx",
             ".parquet": "parquet", ".pq": "parquet"}
    if suffix in kinds and kinds.get(data_suffix(out)) != kinds[suffix]:
        raise DataError(Problem(src.name, f"the output {out.name} would not be the same kind of file as the input "
                                f"(the copy keeps the input's format, {suffix}).",
                                "name the output with the same ending, e.g. "
                                f"--out {out.with_name(data_stem(out) + suffix)}."))
    if out.is_dir():
        raise DataError(Problem(out.name, "the output is a folder.", f"give a file name, e.g. {out / src.name}."))
    if suffix in (".csv", ".txt", ".csv.gz"):
        found, n = _csv(src, out, columns, apply)
    elif suffix in (".xlsx", ".xlsm"):
        found, n = _xlsx(src, out, columns, apply)
    elif suffix in (".parquet", ".pq"):
        found, n = _parquet(src, out, columns, apply)
    else:
        raise DataError(Problem(src.name, f"files of type '{suffix}' are not read.",
                                "use CSV (or .csv.gz), Excel (.xlsx) or Parquet."))
    text = (f"pseudonymised {n:,} value(s) ({len(seen):,} distinct) in {', '.join(found)} of {src} -> {out}")
    if looked_done:
        text += (f"; note: {looked_done:,} value(s) already looked pseudonymised and were hashed again - "
                 "check the file was not done before")
    return text


__all__ = ["pseudonymise_file", "pseudonymise_series", "pseudonym", "load_key", "PseudonymKeyError", "KEY_ENV_VAR",
           "PREFIX",
           "HEX_CHARS"]
