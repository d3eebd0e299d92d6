"""Small helpers shared by the measure modules: configuration and input checks."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from evalkit.errors import MissingDataError


def get_config(cfg=None):
    """Return ``cfg`` or the VRU configuration loaded by :func:`evalkit.data.config.load_config`."""
    if cfg is not None:
        return cfg
    from evalkit.data.config import load_config

    return load_config()


def sort_by_timepoint(df: pd.DataFrame, cfg=None) -> pd.DataFrame:
    """Sort by person_id, intervention_id and timepoint in configured order (other timepoints after, A-Z)."""
    order = list(get_config(cfg).timepoints)
    extra = sorted(set(df["timepoint"].astype(str)) - set(order))
    rank = {t: i for i, t in enumerate(order + extra)}
    df = df.assign(_t=df["timepoint"].astype(str).map(rank))
    df = df.sort_values(["person_id", "intervention_id", "_t"], kind="mergesort").drop(columns="_t")
    return df.reset_index(drop=True)


def require_columns(df: pd.DataFrame, columns: Iterable[str], *, table: str, purpose: str) -> None:
    """Raise :class:`MissingDataError` naming any required column ``df`` lacks."""
    if not isinstance(df, pd.DataFrame):
        raise MissingDataError(f"{purpose} needs the '{table}' table as a DataFrame (got {type(df).__name__}).")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MissingDataError(
            f"{purpose} needs column(s) {', '.join(repr(c) for c in missing)} in the '{table}' table, "
            f"which has {', '.join(map(str, df.columns)) or 'no columns'}. Add the column(s) (see docs/data-contract.md)."
        )


#: Most problems one :class:`DataError` lists; the rest are only counted.
MAX_PROBLEMS = 50


def spreadsheet_row(label) -> int | None:
    """Spreadsheet row (header is row 1) of a default-index row label; None for any other label."""
    return int(label) + 2 if isinstance(label, (int, np.integer)) else None


def as_code(series: pd.Series) -> pd.Series:
    """Normalise item codes to strings: 3, 3.0 and " 3 " all become "3"."""

    def one(v):
        if pd.isna(v):
            return pd.NA
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v).strip()

    return series.map(one).astype("string")


def as_bool(series: pd.Series) -> pd.Series:
    """Interpret booleans given as bool, 0/1 or yes/no/true/false text; missing stays missing."""
    mapping = {"true": True, "yes": True, "y": True, "1": True, "false": False, "no": False, "n": False, "0": False}

    def one(v):
        if pd.isna(v):
            return pd.NA
        if isinstance(v, bool):
            return v
        return mapping.get(str(v).strip().lower().removesuffix(".0"), pd.NA)

    return series.map(one).astype("boolean")
