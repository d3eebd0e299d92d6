"""Read CSV (plain or gzip-compressed), Excel and Parquet files into raw, string-preserving tables.

Every cell comes back as text exactly as the user wrote it (empty string for a
blank cell), and every row keeps the number the user sees in a spreadsheet
(header = row 1) as the frame's index, so that the validator can name file,
sheet, row and column. Typing happens later, in :mod:`evalkit.data.validate`.

Which table a file holds: ``table=`` if given; else a workbook sheet named
after a table; else a CSV/Parquet (or one-sheet workbook) whose file name is
the table name, optionally followed by ``_``/``-``/space and anything
(``participants_2021Q1.csv``). A ``.csv.gz`` file is read exactly as the CSV
it decompresses to; its table comes from the name without ``.csv.gz``.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import gzip
import io
import itertools
import math
import re
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from evalkit.data.contract import TABLES
from evalkit.errors import Problem

#: Template sheets that hold no data.
IGNORED_SHEETS = {"instructions", "field_guide", "lists", "readme", "notes"}
SUPPORTED_SUFFIXES = {".csv", ".csv.gz", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq"}
#: Two-part suffixes recognised before the last one (gzip-compressed CSV).
COMPOUND_SUFFIXES = (".csv.gz",)


@dataclass(frozen=True)
class RawTable:
    """One table as read from a file: every cell a string.

    ``frame.index`` is the row number the user sees (header = row 1).
    ``columns`` maps each normalised column name to the header as written.
    """

    table: str
    file: str
    sheet: str | None
    frame: pd.DataFrame
    headers: dict[str, str]


def normalise_name(name: object) -> str:
    """Column or sheet name as the contract spells it: ``"Start Date "`` → ``start_date``."""
    text = "" if name is None else str(name)
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


def data_suffix(path: str | Path) -> str:
    """A data file's type, lower case: ``".csv.gz"`` for ``offences.csv.gz``, else the last suffix."""
    name = Path(path).name.lower()
    for compound in COMPOUND_SUFFIXES:
        if name.endswith(compound) and len(name) > len(compound):
            return compound
    return Path(path).suffix.lower()


def data_stem(path: str | Path) -> str:
    """A data file's name without its type: ``offences`` for ``offences.csv.gz`` or ``offences.csv``."""
    name = Path(path).name
    return name[: len(name) - len(data_suffix(path))]


def is_table_file(path: str | Path) -> bool:
    """True for a readable data file (CSV, .csv.gz, Excel, Parquet) named after a contract table."""
    return data_suffix(path) in SUPPORTED_SUFFIXES - {".txt"} and table_from_name(data_stem(path)) is not None


def table_from_name(name: str) -> str | None:
    """The table a file or sheet name refers to, or None."""
    norm = normalise_name(name)
    if norm in TABLES:
        return norm
    for t in TABLES:
        if norm.startswith(t) and len(norm) > len(t) and norm[len(t)] in "_.":
            return t
    return None


def _did_you_mean(name: str, options) -> str:
    close = difflib.get_close_matches(normalise_name(name), list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _frame(header: list[str], rows: list[list[str]] | pd.DataFrame, row_numbers: list[int] | None, file: str,
           sheet: str | None, table: str) -> tuple[RawTable | None, list[Problem]]:
    """Build a RawTable, reporting empty or duplicate headers.

    ``rows`` is a list of rows or a frame with positional columns (then its
    index holds the row numbers and ``row_numbers`` is None).
    """
    problems: list[Problem] = []
    body = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(
        [(r + [""] * (len(header) - len(r)))[: len(header)] for r in rows],
        columns=range(len(header)), index=row_numbers, dtype=object)
    if len(body.columns) < len(header):  # a header wider than every row (pandas path)
        for j in range(len(body.columns), len(header)):
            body[j] = ""
    names = [normalise_name(h) for h in header]
    # trailing empty header cells with no data are just spreadsheet padding
    while names and names[-1] == "" and (body.iloc[:, len(names) - 1] == "").all():
        names.pop()
        header = header[:-1]
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        col_letter = _col_letter(i)
        if name == "":
            problems.append(Problem(file, f"column {col_letter} has data but no header.",
                                    "give it a header from the data contract, or delete the column.", sheet, 1))
        elif name in seen:
            problems.append(Problem(file, f"column '{header[i]}' appears twice (columns {_col_letter(seen[name])} "
                                    f"and {col_letter}).", "keep one of them.", sheet, 1, name))
        else:
            seen[name] = i
    if problems:
        return None, problems
    frame = body.iloc[:, : len(names)].copy()
    frame.columns = names
    frame.index = pd.Index(frame.index.astype("int64"), name="row")
    return RawTable(table, file, sheet, frame, dict(zip(names, header))), []


def _col_letter(i: int) -> str:
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


# ----------------------------------------------------------------- CSV
def _read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed if it is a ``.csv.gz`` (raises OSError/EOFError/zlib.error if damaged)."""
    if data_suffix(path) == ".csv.gz":
        with gzip.open(path, "rb") as fh:
            return fh.read()
    return path.read_bytes()


def _read_csv(path: Path, table: str) -> tuple[list[RawTable], list[Problem]]:
    file = path.name
    try:
        data = _read_bytes(path)
    except PermissionError as exc:
        return [], [Problem(file, f"the file cannot be read ({exc.strerror}).",
                            "check you may read it and that no other program (e.g. Excel) has it locked.")]
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError; EOFError: cut short
        if data_suffix(path) != ".csv.gz":
            return [], [Problem(file, f"the file cannot be read ({exc}).", "check the path and copy the file again.")]
        return [], [Problem(file, f"the compressed file cannot be read ({type(exc).__name__}: {exc}).",
                            "compress the CSV again with gzip, or give the plain .csv file.")]
    disguised = _disguised_kind(data)
    if disguised:
        return [], [Problem(file, f"this is {disguised[0]}, not a CSV file (only its name ends in .csv).",
                            disguised[1])]
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes nearly everything
        return [], [Problem(file, "the file is not readable text.", "save it as CSV (UTF-8).")]
    try:  # the first rows once: the header, and where a misplaced header might be
        head = list(itertools.islice(csv.reader(io.StringIO(text, newline="")), HEADER_SEARCH_ROWS + 1))
    except csv.Error as exc:
        return [], [Problem(file, f"the file is not valid CSV ({exc}).", "save it again as CSV (comma separated).")]
    header = head[0] if head else None
    if not header:
        return [], [Problem(file, "the file is empty.", "add a header row with the column names.")]
    found = _header_row_elsewhere(head, table)
    if found:
        return [], [_header_problem(file, None, head, found)]
    if text.count('"') % 2:  # an odd number of quotes: one was opened and never closed
        stray = _unclosed_quote_row(text)
        if stray is not None:
            return [], [Problem(file, "a quote mark (\") opens a cell here and is never closed, so every row after it "
                                "is read as part of that one cell.", "remove the stray quote mark, or close it.",
                                None, stray)]
    other = _other_separator(header)
    if other:
        return [], [Problem(file, f"the columns are separated by {other}, not commas.",
                            "save it again from Excel as 'CSV UTF-8 (Comma delimited)', or export with a comma "
                            "as the separator.", None, 1)]
    try:
        # pandas' C parser for speed; every cell kept as text, blank lines kept so rows keep their numbers
        with warnings.catch_warnings():
            # pandas only warns (and drops cells) when a row is wider than the header; make it an error
            warnings.simplefilter("error", pd.errors.ParserWarning)
            body = pd.read_csv(io.StringIO(text), header=None, skiprows=1, names=range(len(header)), dtype=str,
                               keep_default_na=False, na_filter=False, skip_blank_lines=False, engine="c",
                               index_col=False)
    except (pd.errors.ParserError, pd.errors.ParserWarning):  # wider rows: real data, or empty trailing cells?
        problems = _ragged_rows(text, header, file)
        if problems:
            return [], problems
        records = list(csv.reader(io.StringIO(text, newline="")))[1:]
        body = pd.DataFrame([(r + [""] * len(header))[: len(header)] for r in records],
                            columns=range(len(header)), dtype=object)
    except pd.errors.EmptyDataError:
        body = pd.DataFrame(columns=range(len(header)), dtype=object)
    body = body.fillna("")
    body.index = body.index + 2  # header is row 1
    body = body[(body != "").any(axis=1)]
    raw, problems = _frame(header, body, None, file, None, table)
    return ([raw] if raw else []), problems


#: File signatures of things that are not CSV but get saved or renamed as .csv.
_SIGNATURES = (
    (b"PK\x03\x04", "an Excel workbook (or another zip file)", "give it its real name ending in .xlsx, or save it "
                                                               "from Excel as 'CSV UTF-8 (Comma delimited)'."),
    (b"\xd0\xcf\x11\xe0", "an old-style Excel (.xls) file", "open it in Excel and save it as .xlsx or as CSV."),
    (b"%PDF", "a PDF document", "ask the provider for the data as CSV or Excel; a PDF table cannot be read."),
    (b"PAR1", "a Parquet file", "give it its real name ending in .parquet."),
)


def _disguised_kind(data: bytes) -> tuple[str, str] | None:
    """(what it is, what to do) when a file's first bytes show it is not text at all."""
    for magic, what, fix in _SIGNATURES:
        if data.startswith(magic):
            return what, fix
    return None


#: How far down a sheet to look for column names written below a title.
HEADER_SEARCH_ROWS = 10


def _header_row_elsewhere(rows: list[list[str]], table: str) -> int | None:
    """The 1-based row holding the table's column names when row 1 does not (a title above them), else None."""
    known = set(TABLES[table].columns)

    def hits(row: list) -> int:
        return sum(normalise_name(c) in known for c in row)

    if not rows or hits(rows[0]) > 0:
        return None
    for i, row in enumerate(rows[1:HEADER_SEARCH_ROWS + 1], start=2):
        if hits(row) >= min(2, len(known)):
            return i
    return None


def _header_problem(file: str, sheet: str | None, rows: list[list[str]], found: int) -> Problem:
    above = next((str(c).strip() for r in rows[: found - 1] for c in r if str(c or "").strip()), "")
    shown = f" (row 1 holds '{above[:40]}')" if above else ""
    return Problem(file, f"the column names are in row {found}, not row 1{shown}.",
                   f"delete the {found - 1} row(s) above the column names, so that they are row 1.", sheet, found)


def _unclosed_quote_row(text: str) -> int | None:
    """The row (header = 1) where a never-closed quote starts, or None if the CSV reads cleanly."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    n = 0
    try:
        for n, _ in enumerate(reader, start=1):  # noqa: B007 (n is read after the loop)
            pass
    except csv.Error:
        return n + 1
    return None


def _other_separator(header: list[str]) -> str | None:
    """'semicolons' or 'tabs' when a one-cell header is really several columns split another way."""
    if len(header) != 1:
        return None
    for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
        if len(header[0].split(sep)) > 1:
            return name
    return None


def _ragged_rows(text: str, header: list[str], file: str) -> list[Problem]:
    """Rows with more cells than the header (slow path, only when pandas refuses the file)."""
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        return [Problem(file, f"the file is not valid CSV ({exc}).", "save it again as CSV (comma separated).")]
    problems = [
        Problem(file, f"row has {len(r)} cells but the header has {len(header)}.",
                "check for unquoted commas in text, or a missing separator.", None, n)
        for n, r in enumerate(records[1:], start=2)
        if len(r) > len(header) and any(c.strip() for c in r[len(header):])
    ]
    return problems


# ----------------------------------------------------------------- Excel
def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()  # a date field typed into Excel may carry 00:00 time
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def _sheet_rows(ws) -> tuple[list[list[str]], list[list[str]], list[int]]:
    """(the first rows as they are, for finding the header; the non-blank rows below row 1; their numbers).

    Blank rows are dropped while reading, so a sheet padded with a million empty rows costs no memory.
    """
    head: list[list[str]] = []
    body: list[list[str]] = []
    numbers: list[int] = []
    for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
        cells = [_cell_text(v) for v in row]
        if n <= HEADER_SEARCH_ROWS + 1:
            head.append(cells)
        if n > 1 and any(c.strip() for c in cells):
            body.append(cells)
            numbers.append(n)
    while head and not any(c.strip() for c in head[-1]) and len(head) > 1:
        head.pop()  # trailing blank rows say nothing about where the header is
    if head and not body and not any(c.strip() for c in head[0]) and len(head) == 1:
        return [], [], []
    return head, body, numbers


def _is_blank(ws) -> bool:
    """True for a worksheet with no value in any cell."""
    return not any(v not in (None, "") for row in ws.iter_rows(values_only=True) for v in row)


#: Limits checked on a workbook's zip directory before anything is unpacked (an .xlsx is a zip of XML files).
#: Environment variables raise them for an unusually large, genuine workbook.
XLSX_MAX_MB = "EVALKIT_XLSX_MAX_MB"  # total unpacked size, MB (default 200)
XLSX_MAX_RATIO = "EVALKIT_XLSX_MAX_RATIO"  # unpacked / packed size of one part over 1 MB (default 200)
XLSX_MAX_ENTRIES = "EVALKIT_XLSX_MAX_ENTRIES"  # parts in the zip (default 10000)
_XLSX_DEFAULTS = {XLSX_MAX_MB: 200.0, XLSX_MAX_RATIO: 200.0, XLSX_MAX_ENTRIES: 10000.0}


def _limit(name: str) -> float:
    import os

    try:
        value = float(os.environ.get(name, ""))
        return value if value > 0 else _XLSX_DEFAULTS[name]
    except ValueError:
        return _XLSX_DEFAULTS[name]


def workbook_bomb(path: Path) -> Problem | None:
    """A problem when a workbook's zip directory shows it would unpack to too much (an archive bomb, or a
    damaged zip), read from the directory alone: nothing is decompressed, so this takes milliseconds.

    The sizes the directory declares bound what can be unpacked: Python's zip reader stops at the declared
    size (and a part that holds more fails its checksum), so a workbook that passes cannot grow past them.
    """
    import zipfile

    file = path.name
    fix = ("open it in Excel and save only the data sheets; if it is genuine, raise the limit with the "
           "environment variable {var}.")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        return Problem(file, f"the workbook cannot be opened ({type(exc).__name__}: {exc}).",
                       "save it again from Excel as .xlsx.")
    if len(infos) > _limit(XLSX_MAX_ENTRIES):
        return Problem(file, f"the workbook is made of {len(infos):,} parts, more than the {int(_limit(XLSX_MAX_ENTRIES)):,} "
                       "a workbook of data needs (it may be an archive bomb).", fix.format(var=XLSX_MAX_ENTRIES))
    total = sum(max(i.file_size, 0) for i in infos)
    if total > _limit(XLSX_MAX_MB) * 1e6:
        return Problem(file, f"the workbook would unpack to {total / 1e6:,.0f} MB, more than the limit of "
                       f"{_limit(XLSX_MAX_MB):,.0f} MB (it may be an archive bomb).",
                       fix.format(var=XLSX_MAX_MB) + " A table this large is better sent as CSV.")
    for i in infos:
        if i.file_size > 1e6 and i.file_size > _limit(XLSX_MAX_RATIO) * max(i.compress_size, 1):
            return Problem(file, f"part {i.filename[:60]!r} of the workbook would unpack to {i.file_size / 1e6:,.0f} MB "
                           f"from {i.compress_size / 1e3:,.0f} KB ({i.file_size / max(i.compress_size, 1):,.0f} times "
                           "its size: an archive bomb, or padding no data sheet has).", fix.format(var=XLSX_MAX_RATIO))
    return None


def _read_excel(path: Path, table: str | None) -> tuple[list[RawTable], list[Problem]]:
    import openpyxl

    file = path.name
    try:
        with open(path, "rb") as fh:
            start = fh.read(8)
    except OSError as exc:
        return [], [Problem(file, f"the file cannot be read ({exc.strerror}).",
                            "check you may read it and that no other program (e.g. Excel) has it locked.")]
    if start.startswith(b"\xd0\xcf\x11\xe0"):  # OLE: an encrypted workbook or an old .xls renamed
        return [], [Problem(file, "the workbook is password-protected (or is an old .xls file renamed .xlsx).",
                            "open it in Excel, remove the password (File > Info > Protect Workbook) or save it as "
                            ".xlsx, and send it by a secure route instead.")]
    if not start.startswith(b"PK"):
        what = _disguised_kind(start)
        kind = what[0] if what else "not an Excel workbook"
        return [], [Problem(file, f"the workbook cannot be opened: this is {kind}, whatever its name says.",
                            "save it again from Excel as .xlsx.")]
    bomb = workbook_bomb(path)
    if bomb is not None:
        return [], [bomb]
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        return [], [Problem(file, f"the workbook cannot be opened ({type(exc).__name__}: {exc}).",
                            "save it again from Excel as .xlsx.")]
    try:
        sheets = [ws for ws in wb.worksheets if normalise_name(ws.title) not in IGNORED_SHEETS]
        plan: list[tuple[object, str]] = []
        problems: list[Problem] = []
        if table is not None:
            named = [ws for ws in sheets if table_from_name(ws.title) == table]
            if named:
                plan = [(named[0], table)]
            elif len(sheets) == 1:
                plan = [(sheets[0], table)]
            else:
                problems.append(Problem(file, f"no sheet is named '{table}'.",
                                        f"name the sheet '{table}' or pass the right table."))
        else:
            # a sheet with no cells at all (Excel's spare 'Sheet2') holds nothing to lose: pass over it
            sheets = [ws for ws in sheets if table_from_name(ws.title) is not None or not _is_blank(ws)]
            for ws in sheets:
                t = table_from_name(ws.title)
                if t is None and len(sheets) == 1:
                    t = table_from_name(path.stem)
                if t is None:
                    problems.append(Problem(
                        file, f"sheet '{ws.title}' is not named after a table{_did_you_mean(ws.title, TABLES)}.",
                        f"rename it to one of {', '.join(TABLES)}, or delete it.", ws.title))
                else:
                    plan.append((ws, t))
        raws: list[RawTable] = []
        for ws, t in plan:
            head, body, numbers = _sheet_rows(ws)
            if not head:
                continue  # an empty sheet is an empty table
            found = _header_row_elsewhere(head, t)
            if found:
                problems.append(_header_problem(file, ws.title, head, found))
                continue
            header = head[0]
            raw, probs = _frame(header, body, numbers, file, ws.title, t)
            problems.extend(probs)
            if raw:
                raws.append(raw)
        if not raws and not problems:  # nothing at all, not even column names: as an empty CSV is refused
            problems.append(Problem(file, "the workbook holds no data: every sheet is empty.",
                                    "fill in a sheet named after its table (row 1: the column names), or send the "
                                    "workbook that holds the data."))
        return raws, problems
    finally:
        wb.close()


# ----------------------------------------------------------------- Parquet
def _parquet_text(series: pd.Series) -> list[str]:
    if pd.api.types.is_datetime64_any_dtype(series):
        return [("" if pd.isna(v) else v.date().isoformat()) for v in series]
    return [_cell_text(None if (v is None or (not isinstance(v, str) and pd.isna(v))) else
                       (v.item() if hasattr(v, "item") else v)) for v in series]


def _read_parquet(path: Path, table: str) -> tuple[list[RawTable], list[Problem]]:
    import pyarrow.parquet as pq

    file = path.name
    try:
        frame = pq.read_table(path).to_pandas()
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
        return [], [Problem(file, f"the Parquet file cannot be read ({exc}).", "write it again.")]
    header = [str(c) for c in frame.columns]
    cols = [_parquet_text(frame[c]) for c in frame.columns]
    body = [list(r) for r in zip(*cols)] if cols else []
    numbers = list(range(2, len(body) + 2))  # as if exported to CSV with a header row
    raw, problems = _frame(header, body, numbers, file, None, table)
    return ([raw] if raw else []), problems


# ----------------------------------------------------------------- entry point
def read_raw(path: str | Path, *, table: str | None = None) -> tuple[list[RawTable], list[Problem]]:
    """Read every table in a file as raw text.

    Parameters
    ----------
    path
        CSV (plain or ``.csv.gz``), Excel (.xlsx) or Parquet file.
    table
        The table the file holds; default: from sheet or file name.

    Returns
    -------
    (tables, problems)
        Problems are file-level (cannot open, unknown sheet, duplicate
        header, ...); row-level checks are the validator's job.
    """
    path = Path(path)
    file = path.name
    if table is not None and table not in TABLES:
        return [], [Problem(file, f"'{table}' is not a table{_did_you_mean(table, TABLES)}.",
                            f"use one of {', '.join(TABLES)}.")]
    suffix = data_suffix(path)
    if path.is_dir():
        return [], [Problem(file, "is a folder, not a file.", "give the data files inside it, e.g. "
                            f"{path / 'participants.csv'}.")]
    if not path.is_file():
        return [], [Problem(file, "the file does not exist.", "check the path.")]
    if suffix not in SUPPORTED_SUFFIXES:
        return [], [Problem(file, f"files of type '{suffix or '(none)'}' are not read.",
                            "save it as CSV (or gzip-compressed .csv.gz), Excel (.xlsx) or Parquet.")]
    if suffix in (".xlsx", ".xlsm"):
        return _read_excel(path, table)
    stem = data_stem(path)
    resolved = table or table_from_name(stem)
    if resolved is None:
        return [], [Problem(file, f"cannot tell which table this file holds{_did_you_mean(stem, TABLES)}.",
                            f"name the file after its table (e.g. participants.csv) or give the table "
                            f"(--table); tables: {', '.join(TABLES)}.")]
    if suffix in (".parquet", ".pq"):
        return _read_parquet(path, resolved)
    return _read_csv(path, resolved)


__all__ = ["RawTable", "read_raw", "normalise_name", "table_from_name", "data_suffix", "data_stem", "is_table_file",
           "IGNORED_SHEETS", "SUPPORTED_SUFFIXES"]
