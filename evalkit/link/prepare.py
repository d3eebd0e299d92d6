"""Read identified files and standardise the fields linkage compares.

An identified file has a ``record_id`` column (the holder's own id) and
``first_name``, ``surname``, ``date_of_birth`` (ISO ``YYYY-MM-DD`` or
``DD/MM/YYYY``); ``sex``, ``postcode`` and ``town`` are used when present.

Names are transliterated to ASCII first (`Unidecode`_: ``Núñez`` → ``nunez``,
``Иван`` → ``ivan``, ``李`` → ``li``), so accents and scripts never count as
differences, then lower-cased with everything but letters removed
(``O'Neil-Smith`` → ``oneilsmith``). A surname's parts (split at hyphens and
spaces: ``García López`` → ``garcia``, ``lopez``) are kept too, so a
double-barrelled surname recorded by one part still agrees in part.

Postcodes are kept only when they are UK-shaped (``NG7 2QX``; the outward
code alone, ``NG7``, is kept as a district): a foreign or garbled postcode is
*missing*, never "the same sector" as another garbled one. (``postcode_text``,
any postcode's letters and digits, serves the optional exact comparison of
non-UK postcodes, ``LinkSettings.foreign_postcodes``.) Sex is
``male``/``female`` or missing.

A date of birth that is not a real date (``31/02/2007``), is in the future or
before 1900 is *missing for linkage*: the rows are counted and listed (by row
number, never by value) in the quality report. ``strict=True`` refuses the
file instead, as before.

Errors name the file, row and column but never quote a value: these files hold
names and dates of birth, and an error message may end up in a log.

.. _Unidecode: https://pypi.org/project/Unidecode/
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.errors import DataError, Problem
from evalkit.link.nicknames import name_groups

REQUIRED = ("record_id", "first_name", "surname", "date_of_birth")
OPTIONAL = ("sex", "postcode", "town")
#: Columns handed to Splink (``town`` is added when an input has it).
LINK_COLUMNS = ["unique_id", "first_name", "first_name_group", "surname", "surname_parts", "date_of_birth", "sex",
                "postcode", "postcode_sector", "postcode_district", "postcode_text"]
_NOT_LETTER = re.compile(r"[^a-z]+")
#: A full UK postcode (outward code, inward code) once spaces are removed (BS 7666 shapes).
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_OUTWARD = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
#: Surname particles that are not a surname on their own (``de la Cruz`` agrees with ``Cruz`` in part).
_PARTICLES = frozenset({"de", "del", "la", "le", "da", "das", "dos", "di", "du", "van", "von", "der", "den", "ter",
                        "al", "el", "bin", "ben", "ibn", "mac", "st"})
_EARLIEST_BIRTH = "1900-01-01"


@lru_cache(maxsize=200_000)
def ascii_letters(text: str) -> str:
    """``text`` transliterated to ASCII (Unidecode), lower case, words separated by single spaces."""
    from unidecode import unidecode

    return " ".join(_NOT_LETTER.sub(" ", unidecode(text).lower()).split())


def _transliterate(values: pd.Series) -> pd.Series:
    """Each text transliterated (:func:`ascii_letters`); missing stays missing, computed once per distinct value."""
    text = values.astype("string")
    uniq = text.dropna().unique()
    mapping = {v: ascii_letters(str(v)) for v in uniq}
    return text.map(mapping).astype("string")


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
                                "date_of_birth (sex, postcode and town are used when present).", row=1))
    return frame


def _dates(values: pd.Series, file: str, strict: bool) -> tuple[pd.Series, list[int]]:
    """ISO date text (DD/MM/YYYY turned round) and the file rows (1 = header) whose date is unusable.

    Unusable: not a calendar date, after today or before 1900. ``strict`` raises naming the rows, not the values.
    """
    text = values.astype("string").str.strip()
    iso = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    uk = pd.to_datetime(text, format="%d/%m/%Y", errors="coerce")
    out = iso.fillna(uk).dt.strftime("%Y-%m-%d").astype("string")
    given = text.notna() & (text != "")
    bad = given & (out.isna() | (out > date.today().isoformat()) | (out < _EARLIEST_BIRTH))
    rows = [int(r) + 2 for r in np.flatnonzero(bad.to_numpy(dtype=bool))]
    if rows and strict:
        problems = [Problem(file, "the date of birth is not a possible date of birth.",
                            "write it as YYYY-MM-DD or DD/MM/YYYY (or link without --strict: such dates are then "
                            "treated as missing).", row=r, column="date_of_birth") for r in rows[:20]]
        raise DataError(problems, truncated=max(0, len(rows) - 20))
    return out.where(~bad), rows


def _postcodes(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Full UK postcode (``NG7 2QX``), its sector (``NG7 2``) and district (``NG7``); missing unless UK-shaped.

    An outward code alone (``NG7``) gives the district only; anything else (a foreign postcode, a town name,
    a partial inward code) is missing, so two garbled postcodes never agree.
    """
    compact = values.astype("string").str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)
    parts = compact.str.extract(_POSTCODE)
    full = (parts[0] + " " + parts[1]).astype("string")
    sector = (parts[0] + " " + parts[1].str[0]).astype("string")
    outward_only = compact.where(compact.str.fullmatch(_OUTWARD).fillna(False).astype(bool))
    district = parts[0].astype("string").fillna(outward_only.astype("string"))
    return full, sector, district


def _surname_parts(surname: pd.Series) -> pd.Series:
    """Each surname's parts (list of words, particles dropped unless nothing else is left); None when missing."""
    def split(v: object) -> list[str] | None:
        if not isinstance(v, str) or not v:
            return None
        words = v.split()
        kept = [w for w in words if w not in _PARTICLES and len(w) >= 2]
        return kept or words
    uniq = {v: split(v) for v in surname.dropna().unique()}
    return pd.Series([uniq.get(v) if isinstance(v, str) else None for v in surname], index=surname.index,
                     dtype=object)


@dataclass(frozen=True)
class Prepared:
    """A standardised file and what could not be used: the file rows (1 = header) whose date of birth was unusable."""

    frame: pd.DataFrame
    unusable_dob_rows: tuple[int, ...]


def prepare(frame: pd.DataFrame, file: str, *, strict: bool = False) -> Prepared:
    """The fields Splink compares (:data:`LINK_COLUMNS`, plus ``town`` when given), cleaned.

    ``unique_id`` is the record_id. Unusable dates of birth become missing and are listed by row (``strict``:
    refused, naming the rows).
    """
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

    def joined(words: pd.Series) -> pd.Series:
        s = words.str.replace(" ", "", regex=False)
        return s.where(s != "")

    first_words = _transliterate(frame["first_name"])
    surname_words = _transliterate(frame["surname"])
    first = joined(first_words)
    groups = name_groups()
    # a name group is looked up on the first given name ("mary ann" -> mary's group)
    first_key = first_words.str.split(" ").str[0]
    dob, bad_rows = _dates(frame["date_of_birth"], file, strict)
    out = pd.DataFrame({
        "unique_id": ids,
        "first_name": first,
        "first_name_group": first_key.map(lambda v: groups.get(v, v) if isinstance(v, str) and v else None)
                                     .astype("string"),
        "surname": joined(surname_words),
        "surname_parts": _surname_parts(surname_words.where(surname_words != "")),
        "date_of_birth": dob,
    })
    if "sex" in frame:
        sex = frame["sex"].astype("string").str.strip().str.lower().map({"male": "male", "m": "male",
                                                                           "female": "female", "f": "female"})
        out["sex"] = sex.astype("string")
    else:
        out["sex"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    if "postcode" in frame:
        out["postcode"], out["postcode_sector"], out["postcode_district"] = _postcodes(frame["postcode"])
        # any postcode's letters and digits, for the optional exact comparison of non-UK postcodes
        text = frame["postcode"].astype("string").str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)
        out["postcode_text"] = text.where(text.str.len() >= 3)
    else:
        for col in ("postcode", "postcode_sector", "postcode_district", "postcode_text"):
            out[col] = pd.Series(pd.NA, index=frame.index, dtype="string")
    columns = list(LINK_COLUMNS)
    if "town" in frame:
        out["town"] = joined(_transliterate(frame["town"]))
        columns.append("town")
    return Prepared(out[columns].reset_index(drop=True), tuple(bad_rows))


def standardise(frame: pd.DataFrame, file: str, *, strict: bool = False) -> pd.DataFrame:
    """The standardised frame of :func:`prepare` (unusable dates of birth missing; ``strict``: refused)."""
    return prepare(frame, file, strict=strict).frame


__all__ = ["read_identified", "standardise", "prepare", "Prepared", "ascii_letters", "LINK_COLUMNS", "REQUIRED"]
