"""Input checks every design shares.

:func:`require_columns` is the one check that a design's input table has the
columns it was told to use; every design calls it before touching the data.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import pandas as pd

from evalkit.errors import MissingDataError, SpecError

#: How many of the table's columns a message lists.
_SHOWN = 15


def require_columns(df: object, columns: Iterable[str | None], *, what: str,
                    fix: str = "pass the right column names, or add the column(s) to the data") -> None:
    """Raise unless ``df`` is a DataFrame holding every one of ``columns`` (``None`` entries are skipped).

    Parameters
    ----------
    df
        The input table.
    columns
        The columns the design was told to use.
    what
        The design or table, for the message (e.g. ``"did_2x2"``, ``"area_counts"``).
    fix
        What the user should do, for the message.

    Raises
    ------
    SpecError
        ``df`` is not a pandas DataFrame.
    MissingDataError
        Naming every absent column and the columns present.
    """
    if not isinstance(df, pd.DataFrame):
        raise SpecError(f"{what} needs a pandas DataFrame, not {type(df).__name__}. Fix: pass the table as a "
                        "DataFrame (e.g. from pandas.read_csv).")
    missing = [c for c in dict.fromkeys(columns) if c is not None and c not in df.columns]
    if missing:
        present = [str(c) for c in df.columns]
        names = []
        for c in missing:
            near = difflib.get_close_matches(str(c), present, n=1)
            names.append(repr(c) + (f" (did you mean {near[0]!r}?)" if near else ""))
        have = ", ".join(present[:_SHOWN]) + (", ..." if len(present) > _SHOWN else "")
        raise MissingDataError(f"{what}: {'column' if len(missing) == 1 else 'columns'} "
                               f"{', '.join(names)} not found in the data "
                               f"(columns present: {have or 'none'}). Fix: {fix}.")


__all__ = ["require_columns"]
