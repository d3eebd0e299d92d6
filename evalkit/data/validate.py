"""Check data files against the contract and list every problem at once.

The flow for one table read from a file (:mod:`evalkit.data.readers`):

1. columns: unknown columns (with a "did you mean"), missing required columns;
2. cells: each text cell is parsed to its field's type (date, number,
   true/false, code); a cell that cannot be parsed is a problem;
3. rows: the typed frame is validated by the table's pandera schema
   (:func:`evalkit.data.schemas.schema_for`) lazily, so required fields,
   allowed values, ranges, unique keys and cross-field rules are all checked
   in one pass; pandera's failure cases become plain-English problems;
4. across tables (when several are checked together, or against the store):
   references such as ``participants.intervention_id`` → ``interventions``.

Parsing (step 2) is hand-written because pandas' own coercion would turn a
typo into a silent NaN; here it becomes a problem naming the row and column.
"""

from __future__ import annotations

import datetime as dt
import difflib
import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from evalkit.data.config import VRUConfig, load_config
from evalkit.data.contract import TABLES, FieldSpec, TableSpec, alias_map, allowed_values
from evalkit.data.readers import RawTable, read_raw
from evalkit.data.schemas import RULES, as_datetime, completed_years, index_dates, schema_for, typed_dtype
from evalkit.errors import DataError, Problem

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]00:00(?::00(?:\.0+)?)?)?$")
_UK = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_INT = re.compile(r"^[+-]?\d+(?:\.0*)?$")
#: What spreadsheets, pandas, R and databases write for an empty cell: read as blank (casefolded, stripped),
#: except where the text is one of a category's own codes.
BLANK_SPELLINGS = frozenset({"nan", "null", "na", "n/a", "#n/a", "nat", "<na>"})
#: Years outside this range are typos (e.g. 2201 for 2021).
_YEAR_RANGE = (1900, 2100)
#: Lists longer than this are not spelt out in a message.
_MAX_LISTED = 25


@dataclass
class CheckedTable:
    """A table after checking: typed frame (index = source row) and problems."""

    raw: RawTable
    typed: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    n_failures: int = 0  # all problems found, including those not rendered (cap)
    cache: dict = field(default_factory=dict, repr=False)

    @property
    def spec(self) -> TableSpec:
        return TABLES[self.raw.table]


# ----------------------------------------------------------------- cell parsing
def _category_key(value: str) -> str:
    return re.sub(r"[\s\-_]+", "_", value.strip().casefold())


#: Excel's day numbers for 1954-2064 (what a date cell becomes when saved as General or Number).
_EXCEL_SERIAL = re.compile(r"^[2-5]\d{4}(\.0+)?$")


def _parse_date(text: str) -> object:
    """Timestamp, or an error string."""
    m = _ISO.match(text)
    if m:
        y, mo, d = (int(g) for g in m.groups())
    else:
        m = _UK.match(text)
        if not m:
            if _EXCEL_SERIAL.match(text):
                return ("is not a date; it looks like Excel's number for a date (format the column as a date "
                        "before saving)")
            return "is not a date"
        d, mo, y = (int(g) for g in m.groups())
    try:
        value = dt.date(y, mo, d)
    except ValueError:
        return "is not a real date"
    if not _YEAR_RANGE[0] <= y <= _YEAR_RANGE[1]:
        return f"has an unlikely year {y}"
    return pd.Timestamp(value)


def _date_parser(values: list[str], cfg: VRUConfig):
    """The date parser for one column: day-first 31/01/2021 is read only when the configuration says so
    (``day_first_dates``, the default) and no value in the column is month-first (a second number over 12,
    as in 01/31/2021): then 05/04/2020 could be either, and is refused rather than guessed."""
    slashed = [m for m in (_UK.match(v) for v in values if v) if m]
    if not slashed:
        return _parse_date
    if not getattr(cfg, "day_first_dates", True):
        return lambda t: ("is not written YYYY-MM-DD (this configuration does not read day-first dates such as "
                          "31/01/2021)") if _UK.match(t) else _parse_date(t)
    us = next((m.group(0) for m in slashed if int(m.group(2)) > 12 and int(m.group(1)) <= 12), None)
    if us is None:
        return _parse_date

    def parse(text: str) -> object:
        m = _UK.match(text)
        if m and int(m.group(1)) <= 12 and int(m.group(2)) <= 12 and m.group(1) != m.group(2):
            return (f"is ambiguous: this column also holds month-first dates such as {us}, so it could be "
                    "either day or month first")
        return _parse_date(text)

    return parse


#: A number written with thousands separators ("1,400"): refused outside money fields, with a plain hint.
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_THOUSANDS_WHY = "is written with a comma; write the digits only (1,400 as 1400)"


def _parse_int(text: str, currency: bool = False) -> object:
    t = text.replace(",", "").replace("£", "").strip() if currency else text
    if not currency and _THOUSANDS.match(t):
        return _THOUSANDS_WHY
    if _INT.match(t):
        return int(float(t)) if "." in t else int(t)
    try:
        float(t)
    except ValueError:
        return "is not a number"
    return "is not a whole number"


def _parse_float(text: str, currency: bool = False) -> object:
    t = text.replace(",", "").replace("£", "").strip() if currency else text
    if not currency and _THOUSANDS.match(t):
        return _THOUSANDS_WHY
    try:
        value = float(t)
    except ValueError:
        return "is not a number"
    if not np.isfinite(value):
        return "is not a number"
    return value


def _parse_bool(text: str) -> object:
    key = text.casefold()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    return "is not true or false"


_KIND_FIX = {
    "date": "write dates as YYYY-MM-DD, e.g. 2021-03-31 (in Excel: format the column as yyyy-mm-dd before saving).",
    "int": "write a whole number without units, e.g. 3.",
    "float": "write a number without units, e.g. 2.5.",
    "bool": "write true or false.",
}


def category_lookup(spec: FieldSpec, cfg: VRUConfig) -> dict[str, str]:
    """Forgiving lookup for a category field: normalised spelling or alias → contract code."""
    lookup: dict[str, str] = {}
    for code in allowed_values(spec, cfg) or []:
        lookup.setdefault(_category_key(code), code)
    for alias, code in alias_map(spec, cfg).items():
        lookup.setdefault(_category_key(alias), code)
    return lookup


def normalise_categories(df: pd.DataFrame, table: str, cfg: VRUConfig) -> pd.DataFrame:
    """Map forgiven spellings and aliases of codes to contract codes (unknown values kept as written)."""
    df = df.copy()
    for fs in TABLES[table].fields:
        if fs.kind == "category" and fs.name in df:
            lookup = category_lookup(fs, cfg)
            col = df[fs.name]
            uniques = pd.unique(col[col.notna()])
            mapping = {u: lookup.get(_category_key(str(u)), u) for u in uniques}
            df[fs.name] = col.map(mapping).astype(object).where(col.notna(), None)
    return df


def _parse_column(raw: pd.Series, spec: FieldSpec, cfg: VRUConfig) -> tuple[pd.Series, pd.Series]:
    """Parse one text column. Returns (typed series, error series: message or None).

    Each distinct value is parsed once (``pd.factorize``), then spread back by
    its code: provider files repeat dates and codes thousands of times.
    """
    codes, uniques = pd.factorize(raw, sort=False)
    stripped = [u.strip() for u in uniques]
    lookup = category_lookup(spec, cfg) if spec.kind == "category" else {}
    # "nan", "NULL", "N/A", ... are blanks (unless a category has such a code)
    stripped = ["" if u.casefold() in BLANK_SPELLINGS and _category_key(u) not in lookup else u for u in stripped]
    n = len(stripped)
    errors = pd.Series(None, index=raw.index, dtype=object)
    if spec.kind in ("id", "text", "category"):
        if spec.kind == "category":
            stripped = [lookup.get(_category_key(u), u) if u else u for u in stripped]
        table = np.array([u if u else None for u in stripped] + [None], dtype=object)
        return pd.Series(table[codes], index=raw.index, dtype=object), errors
    parser = {"date": _date_parser(stripped, cfg), "bool": _parse_bool,
              "int": lambda t: _parse_int(t, spec.currency),
              "float": lambda t: _parse_float(t, spec.currency)}[spec.kind]
    parsed = [parser(u) if u else None for u in stripped]
    why = np.array([v if isinstance(v, str) else None for v in parsed] + [None], dtype=object)
    if any(w is not None for w in why[:n]):
        errors = pd.Series(why[codes], index=raw.index, dtype=object)
    good = [None if (v is None or isinstance(v, str)) else v for v in parsed] + [None]
    if spec.kind == "date":
        table = np.array([np.datetime64("NaT") if v is None else np.datetime64(v.date(), "ns") for v in good])
        typed = pd.Series(table[codes].astype("datetime64[ns]"), index=raw.index)
    elif spec.kind == "int":
        typed = pd.Series(pd.array(good, dtype="Int64").take(codes), index=raw.index)
    elif spec.kind == "float":
        table = np.array([np.nan if v is None else v for v in good], dtype="float64")
        typed = pd.Series(table[codes], index=raw.index)
    else:
        typed = pd.Series(pd.array(good, dtype="boolean").take(codes), index=raw.index)
    return typed, errors


# ----------------------------------------------------------------- messages
def _list_text(values: list[str]) -> str:
    if len(values) <= _MAX_LISTED:
        return "use one of " + ", ".join(values)
    return "use a code from the data contract (the template's drop-down lists them)"


def _allowed_message(value: object, spec: FieldSpec, cfg: VRUConfig) -> tuple[str, str]:
    values = allowed_values(spec, cfg) or []
    keys = {_category_key(v): v for v in values}
    close = difflib.get_close_matches(_category_key(str(value)), list(keys), n=1, cutoff=0.6)
    close = [keys[c] for c in close]
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"value '{value}' is not an allowed {spec.name}{hint}.", _list_text(values) + "."


def _range_message(value: object, spec: FieldSpec) -> tuple[str, str]:
    bounds = []
    if spec.min is not None:
        bounds.append(f"more than {spec.min:g}" if spec.min_exclusive else f"at least {spec.min:g}")
    if spec.max is not None:
        bounds.append(f"at most {spec.max:g}")
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    return f"value {shown} is out of range for {spec.name}.", f"{spec.name} must be {' and '.join(bounds)}."


# ----------------------------------------------------------------- one table
@dataclass(frozen=True)
class _Failure:
    """A problem before rendering (rendering needs row lookups; cap first)."""

    row: int | None
    column: str | None
    kind: str
    detail: object = None


def _column_problems(raw: RawTable, spec: TableSpec, cfg: VRUConfig | None = None
                     ) -> tuple[list[Problem], set[str]]:
    problems: list[Problem] = []
    known = set(spec.columns)
    for col in raw.frame.columns:
        if col not in known:
            close = difflib.get_close_matches(col, spec.columns, n=1, cutoff=0.6)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            problems.append(Problem(
                raw.file, f"column '{raw.headers.get(col, col)}' is not a column of the {spec.name} table.{hint}",
                f"rename it to a contract column ({', '.join(spec.columns)}) or delete it.", raw.sheet, 1, col))
    missing = {c for c in spec.required_columns if c not in raw.frame.columns}
    for col in spec.required_columns:
        if col in missing:
            meaning = spec.field(col).meaning_for(cfg or load_config())
            problems.append(Problem(raw.file, f"required column '{col}' is missing.",
                                    f"add a column '{col}' ({meaning})", raw.sheet, 1, col))
    return problems, missing


def _pandera_failures(typed: pd.DataFrame, spec: TableSpec, cfg: VRUConfig) -> list[_Failure]:
    try:
        schema_for(spec, cfg).validate(typed, lazy=True)
        return []
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    out: list[_Failure] = []
    seen: set[tuple] = set()
    rule_names = {r.name for r in spec.rules}
    for col, check, value, idx in zip(cases["column"], cases["check"], cases["failure_case"], cases["index"]):
        row = None if pd.isna(idx) else int(idx)
        check = str(check)
        if check in rule_names:
            key = (check, row)
            if key not in seen:
                seen.add(key)
                out.append(_Failure(row, next(r.column for r in spec.rules if r.name == check), "rule", check))
        elif "uniqueness" in check or check == "duplicates":
            key = ("dup", row)
            if key not in seen:
                seen.add(key)
                out.append(_Failure(row, spec.key[-1] if spec.key else None, "duplicate"))
        elif check == "not_nullable":
            out.append(_Failure(row, col, "required"))
        elif check.startswith("isin"):
            out.append(_Failure(row, col, "allowed", value))
        elif check.startswith(("greater_than", "less_than", "in_range")):
            out.append(_Failure(row, col, "range", value))
        else:  # pragma: no cover - a check we did not expect; still report it
            out.append(_Failure(row, col, "other", f"{check}: {value}"))
    return out


def _render(f: _Failure, checked: CheckedTable, cfg: VRUConfig) -> Problem:
    raw, spec, typed = checked.raw, checked.spec, checked.typed
    if f.kind == "parse":
        value, why = f.detail
        fs = spec.field(f.column)
        return Problem(raw.file, f"value '{value}' in {f.column} {why}.", _KIND_FIX[fs.kind],
                       raw.sheet, f.row, f.column)
    if f.kind == "required":
        return Problem(raw.file, f"{f.column} is required but empty.",
                       f"fill in {f.column} ({spec.field(f.column).meaning_for(cfg)})", raw.sheet, f.row, f.column)
    if f.kind == "allowed":
        msg, fix = _allowed_message(f.detail, spec.field(f.column), cfg)
        return Problem(raw.file, msg, fix, raw.sheet, f.row, f.column)
    if f.kind == "range":
        msg, fix = _range_message(f.detail, spec.field(f.column))
        return Problem(raw.file, msg, fix, raw.sheet, f.row, f.column)
    if f.kind == "duplicate":
        key = list(spec.key)
        values = tuple(typed.loc[f.row, key])
        if "first_row" not in checked.cache:
            rows = pd.Series(typed.index, index=typed.index)
            checked.cache["first_row"] = rows.groupby([typed[k] for k in key], dropna=False).transform("min")
        first = int(checked.cache["first_row"].loc[f.row])
        shown = ", ".join(f"{k}={_show(v)}" for k, v in zip(key, values))
        return Problem(raw.file, f"duplicate row: {shown} already appears on row {first}.",
                       f"each ({', '.join(key)}) may appear once; remove or merge the duplicate.",
                       raw.sheet, f.row, f.column)
    if f.kind == "rule":
        msg, fix = RULES[f.detail].explain(typed.loc[f.row], cfg)
        return Problem(raw.file, msg, fix, raw.sheet, f.row, f.column)
    return Problem(raw.file, str(f.detail), "", raw.sheet, f.row, f.column)  # pragma: no cover


def _show(v: object) -> str:
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    return str(v)


def _drop_consequences(failures: list[_Failure], typed: pd.DataFrame, cfg: VRUConfig) -> list[_Failure]:
    """Drop rule failures caused only by a cell that already failed its own check.

    E.g. prior_offences = -1 is out of range; "prior_violent_offences is more
    than prior_offences" on the same row would only repeat it. The rules are
    re-run with the failing cells blanked (rules pass on missing values).
    """
    cell_fails = [f for f in failures if f.kind in ("allowed", "range") and f.row is not None]
    rule_fails = [f for f in failures if f.kind == "rule"]
    if not cell_fails or not rule_fails:
        return failures
    cleaned = typed.copy()
    for f in cell_fails:
        cleaned.loc[f.row, f.column] = None
    still: dict[str, pd.Series] = {}
    keep = []
    for f in failures:
        if f.kind == "rule":
            if f.detail not in still:
                still[f.detail] = RULES[f.detail].ok(cleaned, cfg)
            if bool(still[f.detail].loc[f.row]):
                continue
        keep.append(f)
    return keep


def derive_fields(df: pd.DataFrame, table: str, cfg: VRUConfig) -> pd.DataFrame:
    """Fill derivable fields: ethnicity_group from ethnicity_detailed, age from date of birth.

    Returns a new frame; values already given are kept.
    """
    df = df.copy()
    if "ethnicity_group" in df and "ethnicity_detailed" in df:
        derived = df["ethnicity_detailed"].map(cfg.ethnicity_group_map())
        df["ethnicity_group"] = df["ethnicity_group"].where(df["ethnicity_group"].notna(), derived)
        df["ethnicity_group"] = df["ethnicity_group"].astype(object).where(df["ethnicity_group"].notna(), None)
    index_col, age_col = {"participants": ("start_date", "age_at_start"),
                          "comparison_pool": ("index_date", "age_at_index")}.get(table, (None, None))
    if index_col and "date_of_birth" in df and age_col in df:
        age = completed_years(df["date_of_birth"], index_dates(df, index_col))
        df[age_col] = df[age_col].astype("Int64").fillna(age)
    return df


def check_raw(raw: RawTable, cfg: VRUConfig | None = None, *, limit: int = 200) -> CheckedTable:
    """Check one raw table; returns the typed frame and up to ``limit`` rendered problems."""
    cfg = cfg or load_config()
    spec = TABLES[raw.table]
    problems, missing = _column_problems(raw, spec, cfg)
    failures: list[_Failure] = []
    columns: dict[str, pd.Series] = {}
    bad_cells: set[tuple[int, str]] = set()
    empty = pd.Series("", index=raw.frame.index, dtype=object)
    for fs in spec.fields:
        raw_col = raw.frame[fs.name] if fs.name in raw.frame.columns else empty
        typed_col, errors = _parse_column(raw_col.astype(str), fs, cfg)
        columns[fs.name] = typed_col
        for row in errors.index[errors.notna()]:
            failures.append(_Failure(int(row), fs.name, "parse", (raw_col[row].strip(), errors[row])))
            bad_cells.add((int(row), fs.name))
    typed = pd.DataFrame(columns, index=raw.frame.index)
    if len(typed):
        found = _drop_consequences(_pandera_failures(typed, spec, cfg), typed, cfg)
        for f in found:
            if f.column in missing or (f.row, f.column) in bad_cells:
                continue  # already reported as a missing column or an unreadable cell
            if f.kind == "rule" and any((f.row, c) in bad_cells for c in RULES[f.detail].presence_of):
                continue  # "neither given" over an unreadable cell would only repeat that problem
            failures.append(f)
    order = {c: i for i, c in enumerate(spec.columns)}
    failures.sort(key=lambda f: (f.row if f.row is not None else -1, order.get(f.column, -1)))
    groups = _group(failures)
    checked = CheckedTable(raw, typed, problems, n_failures=len(problems) + len(groups))
    room = max(limit - len(problems), 0)
    checked.problems.extend(_render_group(g, checked, cfg) for g in groups[:room])
    return checked


def _group_key(f: _Failure) -> tuple:
    """Failures that say the same thing about one column (one line for all their rows)."""
    if f.kind == "parse":
        return (f.column, f.kind, f.detail[1])  # the same reason; the values may differ
    if f.kind in ("required", "allowed", "range", "duplicate"):
        return (f.column, f.kind)
    if f.kind == "rule":
        return (f.column, f.kind, f.detail)
    return (f.column, f.kind, id(f))


def _group(failures: list[_Failure]) -> list[list[_Failure]]:
    """Failures grouped by :func:`_group_key`, in the order of each group's first row."""
    groups: dict[tuple, list[_Failure]] = {}
    for f in failures:
        if f.row is None:
            groups[(id(f),)] = [f]
        else:
            groups.setdefault(_group_key(f), []).append(f)
    return list(groups.values())


def _render_group(group: list[_Failure], checked: CheckedTable, cfg: VRUConfig) -> Problem:
    first = _render(group[0], checked, cfg)
    if len(group) == 1:
        return first
    rows = tuple(f.row for f in group if f.row is not None)
    message = first.message
    if group[0].kind in ("parse", "allowed", "range"):
        values = {str(f.detail[0] if f.kind == "parse" else f.detail) for f in group}
        if len(values) > 1:  # "value 'x' in col is not a date" -> "... (and 12 other values) ..."
            message = message.replace("' in ", f"' (and {len(values) - 1:,} other value(s)) in ", 1) \
                if "' in " in message else message.rstrip(".") + f" (and {len(values) - 1:,} other value(s))."
    elif group[0].kind == "duplicate":
        message = "duplicate rows: each repeats a row above it (the first one: " + message[0].lower() + message[1:]
        message = message.rstrip(".") + ")."
    return dataclasses.replace(first, message=message, rows=rows)


# ----------------------------------------------------------------- across tables
def check_references(tables: Sequence[CheckedTable], known: dict[str, pd.DataFrame] | None = None,
                     *, limit: int = 200) -> list[Problem]:
    """Check that referenced rows exist (e.g. participants.intervention_id in interventions).

    A reference is only checked when the target table has rows among
    ``tables`` or in ``known`` (e.g. frames already in the store); a file
    holding only participants is not blamed for interventions it was not sent
    with.
    """
    known = known or {}
    problems: list[Problem] = []
    for ct in tables:
        for ref in ct.spec.references:
            cols = list(ref.columns)
            targets = [t.typed[cols] for t in tables if t.raw.table == ref.table and len(t.typed)]
            if ref.table in known and len(known[ref.table]):
                targets.append(known[ref.table][cols])
            if not targets or not len(ct.typed):
                continue
            valid = set(pd.concat(targets).dropna().itertuples(index=False, name=None))
            have = ct.typed[cols]
            for row, values in zip(have.index, have.itertuples(index=False, name=None)):
                if any(pd.isna(v) for v in values) or values in valid:
                    continue
                shown = ", ".join(f"{c}={v}" for c, v in zip(cols, values))
                problems.append(Problem(ct.raw.file, f"{shown} is not in the {ref.table} table.",
                                        f"correct the id, or add the row to {ref.table} first.",
                                        ct.raw.sheet, int(row), cols[-1]))
                if len(problems) >= limit:
                    return problems
    return problems


# ----------------------------------------------------------------- public API
def display_names(paths: Iterable[str | Path]) -> list[str]:
    """How each file is named in messages: its name, or the path as given when two files share a name."""
    paths = [Path(p) for p in paths]
    counts: dict[str, int] = {}
    for p in paths:
        counts[p.name] = counts.get(p.name, 0) + 1
    return [p.name if counts[p.name] == 1 else str(p) for p in paths]


def check_files(paths: Iterable[str | Path], *, table: str | None = None, cfg: VRUConfig | None = None,
                max_problems: int = 200, known: dict[str, pd.DataFrame] | None = None,
                names: Sequence[str] | None = None) -> tuple[list[CheckedTable], list[Problem], int]:
    """Check several files together (references checked across them).

    ``names`` are how the files are called in messages (default :func:`display_names`).
    Returns (checked tables, problems capped at ``max_problems``, total problem count).
    """
    cfg = cfg or load_config()
    checked: list[CheckedTable] = []
    problems: list[Problem] = []
    total = 0
    paths = list(paths)
    for path, label in zip(paths, names if names is not None else display_names(paths)):
        raws, file_problems = read_raw(path, table=table)
        if label != Path(path).name:  # two files share a name: say which one
            raws = [dataclasses.replace(r, file=label) for r in raws]
            file_problems = [dataclasses.replace(q, file=label) for q in file_problems]
        problems.extend(file_problems)
        total += len(file_problems)
        for raw in raws:
            ct = check_raw(raw, cfg, limit=max(max_problems - len(problems), 0))
            checked.append(ct)
            problems.extend(ct.problems)
            total += ct.n_failures
    ref_problems = check_references(checked, known, limit=max_problems + 1)
    problems.extend(ref_problems)
    total += len(ref_problems)
    return checked, problems[:max_problems], total


def _with_tail(problems: list[Problem], total: int, file: str) -> list[Problem]:
    if total > len(problems):
        problems = problems + [Problem(file, f"... and {total - len(problems)} more problem(s) not listed.",
                                       "fix the problems above and validate again.")]
    return problems


def validate_file(path: str | Path, *, table: str | None = None, max_problems: int = 200,
                  cfg: VRUConfig | None = None) -> list[Problem]:
    """Every problem in one data file (CSV, Excel or Parquet), at most ``max_problems``.

    An empty list means the file is valid. When more problems exist than are
    listed, a last entry says how many more. A workbook's sheets are checked
    against each other (e.g. participants' interventions exist).
    """
    _, problems, total = check_files([path], table=table, cfg=cfg, max_problems=max_problems)
    return _with_tail(problems, total, Path(path).name)


def validate_files(paths: Iterable[str | Path], *, table: str | None = None, max_problems: int = 200,
                   cfg: VRUConfig | None = None) -> list[Problem]:
    """Like :func:`validate_file` for several files checked together (references across files)."""
    paths = list(paths)
    _, problems, total = check_files(paths, table=table, cfg=cfg, max_problems=max_problems)
    return _with_tail(problems, total, Path(paths[0]).name if paths else "")


def finish_typed(df: pd.DataFrame, table: str, cfg: VRUConfig) -> pd.DataFrame:
    """Final dtypes (see :func:`~evalkit.data.schemas.typed_dtype`) and derived fields, contract column order."""
    spec = TABLES[table]
    df = derive_fields(df, table, cfg)
    out = {}
    for fs in spec.fields:
        col = df[fs.name] if fs.name in df else pd.Series(None, index=df.index, dtype=object)
        dtype = typed_dtype(fs)
        if dtype == "object":
            col = col.astype(object).where(col.notna(), None)
        elif dtype == "datetime64[ns]":
            col = as_datetime(col)
        else:
            col = col.astype(dtype)
        out[fs.name] = col
    return pd.DataFrame(out, index=df.index)


def read_valid(path: str | Path, *, table: str | None = None, cfg: VRUConfig | None = None,
               ) -> dict[str, pd.DataFrame]:
    """Read a file and return its tables typed, or raise :class:`DataError` listing every problem.

    Returns
    -------
    dict
        Table name → frame with the contract's columns in order, typed
        (dates datetime64, required ints int64, optional Int64, booleans
        bool/boolean, text object) and derived fields filled; fresh index.
    """
    cfg = cfg or load_config()
    checked, problems, total = check_files([path], table=table, cfg=cfg)
    if problems:
        raise DataError(problems, truncated=total - len(problems))
    return typed_tables(checked, cfg)


def typed_tables(checked: Sequence[CheckedTable], cfg: VRUConfig) -> dict[str, pd.DataFrame]:
    """Combine checked tables by table name into finished typed frames (fresh index)."""
    by_table: dict[str, list[pd.DataFrame]] = {}
    for ct in checked:
        by_table.setdefault(ct.raw.table, []).append(ct.typed)
    return {t: finish_typed(pd.concat(frames, ignore_index=True), t, cfg) for t, frames in by_table.items()}


__all__ = ["normalise_categories", "validate_file", "validate_files", "read_valid", "check_files", "check_raw",
           "check_references",
           "CheckedTable", "derive_fields", "finish_typed", "typed_tables"]
