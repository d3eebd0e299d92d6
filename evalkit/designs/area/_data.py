"""Input checks and area roll-up for the area-level designs.

``area_counts`` rows may be districts (the leaves of the configured
hierarchy), the roll-up areas themselves (any level of the configured tree) or
both. :func:`area_series` returns one monthly series for any named area: the
rows for that name when the data hold them, otherwise the sum over its member
districts (counts and populations both summed, month by month). The whole VRU
is named by the configuration (``whole_area``; :func:`whole_area`). Nothing
here depends on row order: every output is sorted by area and month.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from evalkit.designs._checks import require_columns
from evalkit.errors import DataError, MissingDataError, Problem, SpecError


COUNT_COLUMNS = ("area", "month", "indicator", "count", "population")
ROLLOUT_COLUMNS = ("intervention_id", "area", "start_month")
_FIX = "the data contract (docs/data-contract.md) names the columns; rename or add them"

Hierarchy = Mapping[str, Sequence[str]]


def default_hierarchy() -> dict[str, tuple[str, ...]]:
    """Every configured area (any depth) -> its districts, from the VRU configuration."""
    from evalkit.data.config import load_config  # lazy: the config module reads YAML on first use

    return {str(k): tuple(str(v) for v in vals) for k, vals in load_config().hierarchy.items()}


def whole_area() -> str:
    """Name of the whole-VRU roll-up (every configured area together), from the VRU configuration."""
    from evalkit.data.config import load_config

    return load_config().whole_area_name


def _resolve_hierarchy(hierarchy: Hierarchy | None) -> dict[str, tuple[str, ...]]:
    return default_hierarchy() if hierarchy is None else {str(k): tuple(v) for k, v in hierarchy.items()}


def to_month(values: pd.Series | Sequence, *, what: str) -> pd.PeriodIndex:
    """Parse dates or ``YYYY-MM`` strings to monthly periods; raise SpecError/DataError on failure."""
    try:
        return pd.PeriodIndex(pd.to_datetime(pd.Series(values).astype(str), format="mixed"), freq="M")
    except (ValueError, TypeError) as exc:
        raise SpecError(f"{what}: could not read {list(values)[:3]!r} as months ({exc}); "
                        "use ISO dates such as '2020-04-01' or '2020-04'.") from None


def month_of(value, *, what: str) -> pd.Period:
    """One month from a date, ``datetime.date`` or ``YYYY-MM[-DD]`` string."""
    return to_month([value], what=what)[0]


def check_counts(area_counts: pd.DataFrame) -> pd.DataFrame:
    """Validate ``area_counts`` and return a clean copy with a monthly ``month`` period column.

    Raises
    ------
    MissingDataError
        A required column is missing.
    DataError
        Negative or non-integer counts, non-positive populations, unreadable
        months, or the same area, month and indicator given twice.
    """
    require_columns(area_counts, COUNT_COLUMNS, what="area_counts", fix=_FIX)
    df = area_counts.loc[:, list(COUNT_COLUMNS)].copy()
    problems: list[Problem] = []
    month = pd.to_datetime(df["month"].astype(str), errors="coerce", format="mixed")
    for i in np.flatnonzero(month.isna().to_numpy())[:20]:
        problems.append(Problem("area_counts", f"month {df['month'].iloc[i]!r} is not a date.",
                                "write the first day of the month, e.g. 2020-04-01.", row=int(i) + 2,
                                column="month"))
    count = pd.to_numeric(df["count"], errors="coerce")
    bad = count.isna() | (count < 0) | (count != np.round(count))
    for i in np.flatnonzero(bad.to_numpy())[:20]:
        problems.append(Problem("area_counts", f"count {df['count'].iloc[i]!r} is not a whole number >= 0.",
                                "give the number of events in the month.", row=int(i) + 2, column="count"))
    pop = pd.to_numeric(df["population"], errors="coerce")
    for i in np.flatnonzero((pop.isna() | (pop <= 0)).to_numpy())[:20]:
        problems.append(Problem("area_counts", f"population {df['population'].iloc[i]!r} is not a number > 0.",
                                "give the population at risk for the area and month.", row=int(i) + 2,
                                column="population"))
    if problems:
        raise DataError(problems)
    df["month"] = pd.PeriodIndex(month, freq="M")
    df["count"] = count.astype("int64")
    df["population"] = pop.astype("float64")
    df["area"] = df["area"].astype(str)
    df["indicator"] = df["indicator"].astype(str)
    dup = df.duplicated(["area", "month", "indicator"], keep="first")
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError(Problem("area_counts", f"area {df['area'].iloc[i]!r}, month {df['month'].iloc[i]}, "
                                f"indicator {df['indicator'].iloc[i]!r} appears more than once "
                                f"({int(dup.sum())} duplicate row(s)).",
                                "keep one row per area, month and indicator.", row=i + 2))
    return df.sort_values(["indicator", "area", "month"], kind="mergesort").reset_index(drop=True)


def check_rollout(area_rollout: pd.DataFrame) -> pd.DataFrame:
    """Validate ``area_rollout``; return a copy with ``start_month`` as a monthly period."""
    require_columns(area_rollout, ROLLOUT_COLUMNS, what="area_rollout", fix=_FIX)
    df = area_rollout.loc[:, list(ROLLOUT_COLUMNS)].copy()
    start = pd.to_datetime(df["start_month"].astype(str), errors="coerce", format="mixed")
    if start.isna().any():
        i = int(np.flatnonzero(start.isna().to_numpy())[0])
        raise DataError(Problem("area_rollout", f"start_month {df['start_month'].iloc[i]!r} is not a date.",
                                "write the first month the programme ran, e.g. 2019-10-01.", row=i + 2,
                                column="start_month"))
    df["start_month"] = pd.PeriodIndex(start, freq="M")
    df["intervention_id"] = df["intervention_id"].astype(str)
    df["area"] = df["area"].astype(str)
    return df.sort_values(["intervention_id", "area"], kind="mergesort").reset_index(drop=True)


def leaf_areas(available: set[str], hierarchy: Hierarchy) -> list[str]:
    """The finest non-overlapping areas the data hold: configured districts, or a
    single-district roll-up where only the roll-up name is present."""
    leaves: list[str] = []
    for parent, members in hierarchy.items():
        present = [m for m in members if m in available]
        if present:
            leaves.extend(present)
        elif len(members) == 1 and parent in available:
            leaves.append(parent)
    return sorted(set(leaves))


def expand_area(area: str, hierarchy: Hierarchy, available: set[str]) -> list[str]:
    """Leaf areas that make up ``area`` (itself when the data hold it as a leaf)."""
    if area == whole_area():
        # every configured area's leaves, without recursing: the whole area may share its name with a node
        # (a one-force VRU whose tree has a single root, areas: {West Midlands: {...}})
        out: list[str] = []
        for parent in hierarchy:
            out.extend(_expand_node(parent, hierarchy, available))
        return sorted(set(out))
    return _expand_node(area, hierarchy, available)


def _expand_node(area: str, hierarchy: Hierarchy, available: set[str]) -> list[str]:
    if area in hierarchy:
        members = list(hierarchy[area])
        if len(members) == 1 and members[0] not in available and area in available:
            return [area]
        return sorted(members)
    for parent, members in hierarchy.items():
        if area in members and len(members) == 1 and area not in available and parent in available:
            return [parent]  # a one-district area's district asked for, data hold it under the area's name
    return [area]


def area_level(area: str, hierarchy: Hierarchy) -> str:
    """'vru' (the whole area), 'area' (a configured roll-up) or 'district'."""
    if area == whole_area():
        return "vru"
    return "area" if area in hierarchy else "district"


def area_series(counts: pd.DataFrame, *, indicator: str, area: str, hierarchy: Hierarchy | None = None,
                ) -> pd.DataFrame:
    """Monthly ``count`` and ``population`` for one indicator and area (rows or district sum).

    ``counts`` must already have passed :func:`check_counts`. Returns a frame
    indexed by monthly period with integer ``count`` and float ``population``.
    """
    h = _resolve_hierarchy(hierarchy)
    sub = counts[counts["indicator"] == indicator]
    if sub.empty:
        raise MissingDataError(f"area_counts has no rows for indicator {indicator!r}; it holds "
                               f"{sorted(counts['indicator'].unique())}.")
    available = set(sub["area"].unique())
    if area in available:
        rows = sub[sub["area"] == area]
        return rows.set_index("month")[["count", "population"]].sort_index()
    members = expand_area(area, h, available)
    if members == [area]:
        raise MissingDataError(f"area_counts has no {indicator!r} rows for area {area!r}; areas present: "
                               f"{sorted(available)} (roll-ups: {sorted(h)} and {whole_area()!r}).")
    absent = [m for m in members if m not in available]
    if absent:
        raise MissingDataError(f"cannot build {area!r} for {indicator!r}: no rows for {', '.join(absent)}. "
                               "Provide every district or a row for the area itself.")
    rows = sub[sub["area"].isin(members)]
    per_month = rows.groupby("month")["area"].nunique()
    short = per_month[per_month < len(members)]
    if len(short):
        raise DataError(Problem("area_counts", f"{area!r} ({indicator}) cannot be summed for month "
                                f"{short.index[0]}: only {int(short.iloc[0])} of {len(members)} districts "
                                f"have a row ({len(short)} month(s) affected).",
                                "give every district a row for every month (0 when there were no events)."))
    out = rows.groupby("month")[["count", "population"]].sum().sort_index()
    out["count"] = out["count"].astype("int64")
    return out


def all_areas(counts: pd.DataFrame, hierarchy: Hierarchy | None = None) -> list[str]:
    """Areas for a full table: the whole VRU, each roll-up, then each district, in that order."""
    h = _resolve_hierarchy(hierarchy)
    available = set(counts["area"].unique())
    districts = [a for a in leaf_areas(available, h) if a not in h]
    out = list(dict.fromkeys([whole_area(), *h.keys()]))  # the whole area may also be a node's name
    return out + [d for d in sorted(districts) if d not in out]
