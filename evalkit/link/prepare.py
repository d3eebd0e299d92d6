"""Read identified files and standardise the fields linkage compares.

An identified file has a ``record_id`` column (the holder's own id) and
``first_name``, ``surname``, ``date_of_birth`` (ISO ``YYYY-MM-DD`` or
``DD/MM/YYYY``); ``sex`` and ``postcode`` are used when present. Names are
lower-cased with everything but letters removed (``O'Neil-Smith`` →
``oneilsmith``), so punctuation and spacing never count as differences;
postcodes are upper-cased and re-spaced (``ng72qx`` → ``NG7 2QX``); sex is
``male``/``female`` or missing.

Errors name the file, row and column but never quote a value: these files hold
names and dates of birth, and an error message may end up in a log.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.errors import DataError, Problem
from evalkit.link.nicknames import name_groups

REQUIRED = ("record_id", "first_name", "surname", "date_of_birth")
OPTIONAL = ("sex", "postcode")
#: Columns handed to Splink.
LINK_COLUMNS = ["unique_id", "first_name", "first_name_group", "surname", "date_of_birth", "sex", "postcode"]
_NOT_LETTER = re.compile(r"[^a-z]")
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")


def read_identified(path: str | Path) -> pd.DataFrame:
    """An identified file (CSV, .csv.gz or Parquet) as text columns with lower-case names."""
    path = Path(path)
    if not path.is_file():
        raise DataError(Problem(path.name, "the file does not exist.", "check the path."))
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            frame = pd.read_parquet(path).astype("string")
        elif name.endswith((".csv", ".csv.gz", ".txt")):
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
        else:
            raise DataError(Problem(path.name, "files of this type are not read for linkage.",
                                    "give a CSV (or .csv.gz) or Parquet file."))
    except (UnicodeDecodeError, pd.errors.ParserError, OSError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(Problem(path.name, f"the file cannot be read ({type(exc).__name__}).",
                                "save it again as CSV UTF-8 with a header row.")) from None
    frame.columns = [str(c).strip().lower().replace(" ", "_") for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise DataError(Problem(path.name, f"no column named {', '.join(missing)}.",
                                "give every identified file the columns record_id, first_name, surname and "
                                "date_of_birth (sex and postcode are used when present).", row=1))
    return frame


def _dates(values: pd.Series, file: str) -> pd.Series:
    """ISO date text; DD/MM/YYYY is turned round. Unreadable dates raise naming the row, not the value."""
    text = values.astype("string").str.strip()
    iso = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    uk = pd.to_datetime(text, format="%d/%m/%Y", errors="coerce")
    out = iso.fillna(uk)
    bad = text.notna() & (text != "") & out.isna()
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        problems = [Problem(file, "the date of birth is not a date.", "write it as YYYY-MM-DD or DD/MM/YYYY.",
                            row=int(r) + 2, column="date_of_birth") for r in rows[:20]]
        raise DataError(problems, truncated=max(0, len(rows) - 20))
    return out.dt.strftime("%Y-%m-%d").astype("string")


def standardise(frame: pd.DataFrame, file: str) -> pd.DataFrame:
    """The fields Splink compares (:data:`LINK_COLUMNS`), cleaned; ``unique_id`` is the record_id."""
    ids = frame["record_id"].astype("string").str.strip()
    blank = ids.isna() | (ids == "")
    if blank.any():
        r = int(np.flatnonzero(blank.to_numpy())[0])
        raise DataError(Problem(file, "the record_id is empty.", "give every record its id.", row=r + 2,
                                column="record_id"))
    dup = ids.duplicated()
    if dup.any():
        r = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError(Problem(file, "this record_id is used by an earlier row too.",
                                "give each record its own id (one row per record).", row=r + 2, column="record_id"))

    def letters(col: str) -> pd.Series:
        s = frame[col].astype("string").str.lower().str.replace(_NOT_LETTER, "", regex=True)
        return s.where(s != "")

    first = letters("first_name")
    groups = name_groups()
    out = pd.DataFrame({
        "unique_id": ids,
        "first_name": first,
        "first_name_group": first.map(lambda v: groups.get(v, v) if isinstance(v, str) else None).astype("string"),
        "surname": letters("surname"),
        "date_of_birth": _dates(frame["date_of_birth"], file),
    })
    if "sex" in frame:
        sex = frame["sex"].astype("string").str.strip().str.lower().map({"male": "male", "m": "male",
                                                                           "female": "female", "f": "female"})
        out["sex"] = sex.astype("string")
    else:
        out["sex"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    if "postcode" in frame:
        compact = frame["postcode"].astype("string").str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)
        out["postcode"] = compact.str.replace(_POSTCODE, r"\1 \2", regex=True).where(compact != "")
    else:
        out["postcode"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    return out[LINK_COLUMNS].reset_index(drop=True)


__all__ = ["read_identified", "standardise", "LINK_COLUMNS", "REQUIRED"]
