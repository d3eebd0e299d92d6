"""Long area panel to the wide matrix the synthetic designs need, with checks that speak to evaluators.

Both synthetic designs (:mod:`~evalkit.designs.area.synthetic_control`,
:mod:`~evalkit.designs.area.synthetic_did`) take a long table with one row per
unit (area) and period, an outcome column and a 0/1 treatment column that is 1
from the period a unit's programme started (absorbing: once treated, treated).
Units that are never treated are the donor (control) pool; the treated units
form adoption cohorts by their first treated period.

Every problem is located (row as a spreadsheet shows it, header = row 1, and
the column) and says what to fix: duplicated unit-period rows, missing
periods (the panel must be balanced), a missing or non-numeric outcome, a
treatment that is not 0/1 or switches off, no donors, too few pre-periods.
Units and periods are sorted, so row order never changes a result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.designs._checks import require_columns
from evalkit.errors import DataError, InsufficientDataError, Problem

#: Fewest pre-periods a synthetic design will use (weights fitted on fewer are not credible).
MIN_PRE_PERIODS = 4


@dataclass(frozen=True)
class WidePanel:
    """A balanced panel as a matrix: rows = units (controls first, then treated by cohort), columns = periods."""

    Y: np.ndarray
    units: tuple[str, ...]
    periods: tuple  # sorted period labels
    n_controls: int
    adoption: dict[str, int]  # treated unit -> index of its first treated period

    @property
    def controls(self) -> tuple[str, ...]:
        return self.units[: self.n_controls]

    @property
    def treated(self) -> tuple[str, ...]:
        return self.units[self.n_controls:]

    def cohorts(self) -> dict[int, list[int]]:
        """First treated period index -> row indices of its treated units."""
        out: dict[int, list[int]] = {}
        for k, u in enumerate(self.treated):
            out.setdefault(self.adoption[u], []).append(self.n_controls + k)
        return dict(sorted(out.items()))


def wide_panel(data: pd.DataFrame, *, outcome: str, unit: str, time: str, treatment: str, what: str,
               min_pre_periods: int = MIN_PRE_PERIODS) -> WidePanel:
    """Check a long panel and return it wide (see the module docstring for the rules).

    Raises
    ------
    MissingDataError
        A named column is absent.
    DataError
        Duplicated rows, missing periods, missing/non-numeric outcome, bad treatment coding.
    InsufficientDataError
        No never-treated unit, no treated unit, or fewer than ``min_pre_periods`` periods before a start.
    """
    require_columns(data, [outcome, unit, time, treatment], what=what)
    df = data.loc[:, [unit, time, outcome, treatment]].copy()
    df["_row"] = np.arange(len(df)) + 2  # as a spreadsheet shows it (header = row 1)
    df[unit] = df[unit].astype(str)
    problems: list[Problem] = []
    y = pd.to_numeric(df[outcome], errors="coerce")
    for i in np.flatnonzero(y.isna().to_numpy())[:10]:
        problems.append(Problem(what, f"{outcome} {df[outcome].iloc[i]!r} for {df[unit].iloc[i]}, "
                                f"{df[time].iloc[i]} is missing or not a number.",
                                "give a number for every area and period (0 when nothing happened).",
                                row=int(df['_row'].iloc[i]), column=outcome))
    d = pd.to_numeric(df[treatment].astype(float) if df[treatment].dtype == bool else df[treatment],
                      errors="coerce")
    for i in np.flatnonzero(~d.isin([0, 1]).to_numpy())[:10]:
        problems.append(Problem(what, f"{treatment} {df[treatment].iloc[i]!r} is not 0 or 1.",
                                "write 1 from the period the programme started, else 0.",
                                row=int(df['_row'].iloc[i]), column=treatment))
    if problems:
        raise DataError(problems)
    df[outcome], df[treatment] = y.astype(float), d.astype(int)
    dup = df.duplicated([unit, time], keep="first")
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError(Problem(what, f"{df[unit].iloc[i]}, period {df[time].iloc[i]} appears more than once "
                                f"({int(dup.sum())} duplicated area-period row(s)).",
                                "keep one row per area and period.", row=int(df['_row'].iloc[i]), column=time))
    periods = sorted(df[time].unique())
    counts = df.groupby(unit)[time].nunique()
    short = counts[counts < len(periods)]
    if len(short):
        u = str(short.index[0])
        have = set(df.loc[df[unit] == u, time])
        gap = next(p for p in periods if p not in have)
        raise DataError(Problem(what, f"{u} has no row for period {gap} ({len(short)} area(s) miss "
                                f"{int((len(periods) - short).sum())} area-period(s) in all); the synthetic "
                                "designs need every area in every period.",
                                "add the missing rows, or drop the area from the comparison.", column=time))
    wide = df.pivot(index=unit, columns=time, values=outcome).reindex(columns=periods)
    dw = df.pivot(index=unit, columns=time, values=treatment).reindex(columns=periods).to_numpy()
    switched_off = (np.diff(dw, axis=1) < 0).any(axis=1)
    if switched_off.any():
        u = str(wide.index[int(np.flatnonzero(switched_off)[0])])
        raise DataError(Problem(what, f"{treatment} for {u} goes from 1 back to 0.",
                                "treatment is 1 from the first period of the programme onwards; an area that "
                                "stopped stays treated here.", column=treatment))
    ever = dw.any(axis=1)
    names = wide.index.astype(str).to_numpy()
    if not ever.any():
        raise InsufficientDataError(f"{what}: no area is ever treated ({treatment} is 0 everywhere); there is "
                                    "nothing to estimate.")
    if ever.all():
        raise InsufficientDataError(f"{what}: every area is treated at some point, so no donor areas are left "
                                    "to build a synthetic comparison from. Add areas without the programme.")
    first = np.where(ever, dw.argmax(axis=1), len(periods))
    too_early = ever & (first < min_pre_periods)
    if too_early.any():
        u = names[int(np.flatnonzero(too_early)[0])]
        raise InsufficientDataError(f"{what}: {u} has only {int(first[too_early].min())} period(s) before its "
                                    f"start; at least {min_pre_periods} are needed to fit weights. Add earlier "
                                    "periods or leave the area out.")
    order = sorted(range(len(names)), key=lambda i: (bool(ever[i]), int(first[i]), names[i]))
    units = tuple(str(names[i]) for i in order)
    adoption = {str(names[i]): int(first[i]) for i in order if ever[i]}
    return WidePanel(Y=wide.to_numpy(dtype=float)[order], units=units, periods=tuple(periods),
                     n_controls=int((~ever).sum()), adoption=adoption)


__all__ = ["MIN_PRE_PERIODS", "WidePanel", "wide_panel"]
