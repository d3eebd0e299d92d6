"""Has violence fallen because of the VRU? The VRU's areas against similar areas without one.

Composes the synthetic designs (:func:`~evalkit.designs.area.synthetic_did` as
the headline, :func:`~evalkit.designs.area.synthetic_control` as the check
with its placebo-in-space distribution) on the ``comparison_areas`` table, the
way the Home Office's national VRU evaluation does: the VRU's own areas are the
treated units from its first funded period, areas never covered by a VRU are
the donors, and areas of other VRUs are left out. The outcome is the rate per
100,000 residents per period.

The effect is turned into offences (or admissions) prevented per year, for the
VRU's whole population and per 100,000 residents, with the interval, and costed
with the Home Office unit cost of the indicator where there is one
(:mod:`evalkit.value`). Anything that makes the comparison impossible (too few
periods before the start, no donors, missing periods, duplicated rows, the
indicator missing for the VRU's areas) gives a finding whose ``status`` says
"cannot estimate: ..." and carries no number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evalkit.designs.area.synthetic_control import SyntheticControlResult, synthetic_control
from evalkit.designs.area.synthetic_did import SyntheticDiDResult, synthetic_did
from evalkit.errors import EvalkitError

COLUMNS = ("area_code", "area_name", "period", "indicator", "count", "population", "vru", "vru_start", "vru_name")


@dataclass(frozen=True)
class ComparisonFinding:
    """The VRU against areas without one, for one indicator (aggregates of public area statistics only).

    ``status`` is ``"ok"`` or ``"cannot estimate: <reason>"``; when it is not ok every number is absent.
    ``prevented_per_year`` (low, high) are offences (or admissions) prevented a year across the VRU's areas
    (positive = fewer), ``prevented_per_100k`` the same per 100,000 residents; ``value_per_year`` the cost of
    crime avoided (low, high) at the unit cost ``unit_cost`` (None when the indicator has none).
    """

    indicator: str
    vru_name: str
    status: str
    sdid: SyntheticDiDResult | None = None
    sc: SyntheticControlResult | None = None
    areas: tuple[str, ...] = ()
    population: float = math.nan
    periods_per_year: int = 4
    prevented_per_year: tuple[float, float, float] = (math.nan, math.nan, math.nan)
    prevented_per_100k: tuple[float, float, float] = (math.nan, math.nan, math.nan)
    unit_cost: float | None = None
    unit_cost_year: str = ""
    value_per_year: tuple[float, float, float] | None = None
    left_out: tuple[str, ...] = field(default=())  # notes on areas left out of the donor pool

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _cannot(indicator: str, vru_name: str, reason: str) -> ComparisonFinding:
    return ComparisonFinding(indicator=indicator, vru_name=vru_name, status=f"cannot estimate: {reason}")


def compare_with_similar_areas(table: pd.DataFrame, *, vru_name: str, indicator: str, replications: int = 200,
                               seed: int = 20210401, alpha: float = 0.05, run_sc: bool = True,
                               ) -> ComparisonFinding:
    """The VRU's areas against areas without a VRU for one indicator (see the module docstring).

    Parameters
    ----------
    table
        The ``comparison_areas`` table (typed or as read from CSV).
    vru_name
        This VRU's name in the table's ``vru_name`` column.
    indicator
        The indicator to compare.
    replications, seed, alpha
        Placebo replications, their seed and 1 - the interval's level.
    run_sc
        Also run the synthetic control check (placebo-in-space).
    """
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        return _cannot(indicator, vru_name, f"the comparison areas table lacks column(s) {', '.join(missing)}")
    df = table.loc[table["indicator"] == indicator, list(COLUMNS)].reset_index(drop=True)
    if df.empty:
        return _cannot(indicator, vru_name, f"the comparison areas table has no {indicator.replace('_', ' ')} rows")
    df["period"] = pd.to_datetime(df["period"])
    df["vru_name"] = df["vru_name"].where(df["vru_name"].notna(), "").astype(str)
    vru_flag = df["vru"].astype(str).str.lower().isin(["true", "1", "yes"])
    mine = df["vru_name"] == vru_name
    all_mine = set(table.loc[table["vru_name"].astype(str) == vru_name, "area_code"].astype(str))
    have = set(df.loc[mine, "area_code"].astype(str))
    if not all_mine:
        return _cannot(indicator, vru_name, f"no area in the comparison areas table belongs to {vru_name}")
    if have != all_mine:
        return _cannot(indicator, vru_name, f"{indicator.replace('_', ' ')} is missing for {len(all_mine - have)} "
                       f"of the VRU's areas ({', '.join(sorted(all_mine - have)[:3])})")
    notes = []
    other = vru_flag & ~mine
    if other.any():
        notes.append(f"{df.loc[other, 'area_code'].nunique()} areas of other VRUs are left out of the comparison.")
    absent = set(table.loc[~table["vru"].astype(str).str.lower().isin(["true", "1", "yes"]), "area_code"]
                 .astype(str)) - set(df.loc[~vru_flag, "area_code"].astype(str))
    if absent:
        notes.append(f"{len(absent)} areas without a VRU have no {indicator.replace('_', ' ')} figures and are not "
                     "used.")
    keep = mine | ~vru_flag
    df, mine = df[keep].reset_index(drop=True), mine[keep].reset_index(drop=True)
    starts = pd.to_datetime(df.loc[mine, "vru_start"]).dropna().unique()
    if len(starts) == 0:
        return _cannot(indicator, vru_name, "the VRU's areas have no funding start (vru_start)")
    pop = pd.to_numeric(df["population"], errors="coerce")
    df["rate"] = 1e5 * pd.to_numeric(df["count"], errors="coerce") / pop
    df["treated"] = (mine & (df["period"] >= pd.to_datetime(df["vru_start"]))).astype(int)
    gaps = np.diff(np.sort(df["period"].unique())).astype("timedelta64[D]").astype(float)
    per_year = int(round(365.25 / np.median(gaps))) if gaps.size else 4
    try:
        sd = synthetic_did(df, outcome="rate", unit="area_code", time="period", treatment="treated",
                           replications=replications, seed=seed, alpha=alpha, unit_se=False)
        sc = synthetic_control(df, outcome="rate", unit="area_code", time="period", treatment="treated",
                               placebo_v="fixed", seed=seed, alpha=alpha) if run_sc else None
    except EvalkitError as exc:
        return _cannot(indicator, vru_name, str(exc))
    e = sd.effect
    if not (math.isfinite(e.ci_low) and math.isfinite(e.ci_high)):
        return _cannot(indicator, vru_name, "the interval could not be computed (too few donor areas)")
    post = df[df["treated"] == 1]
    population = float(post.groupby("period")["population"].sum().mean())
    per100k = tuple(-v * per_year for v in (e.estimate, e.ci_high, e.ci_low))
    total = tuple(v * population / 1e5 for v in per100k)
    cost, year, value = None, "", None
    try:
        from evalkit.value.costs import load_unit_costs

        uc = load_unit_costs().costs.get(indicator)
    except EvalkitError:
        uc = None
    if uc is not None:
        cost, year = float(uc.value), uc.price_year
        value = (total[0] * cost, total[1] * cost, total[2] * cost)
    return ComparisonFinding(
        indicator=indicator, vru_name=vru_name, status="ok", sdid=sd, sc=sc,
        areas=tuple(sorted(df.loc[mine, "area_name"].astype(str).unique())), population=population,
        periods_per_year=per_year, prevented_per_year=(total[0], total[1], total[2]),
        prevented_per_100k=(per100k[0], per100k[1], per100k[2]), unit_cost=cost, unit_cost_year=year,
        value_per_year=value, left_out=tuple(notes))


def area_names(table: pd.DataFrame) -> dict[str, str]:
    """Area code -> name (public statistics: the report names donor areas)."""
    pairs = table[["area_code", "area_name"]].drop_duplicates("area_code")
    return dict(zip(pairs["area_code"].astype(str), pairs["area_name"].astype(str)))


__all__ = ["ComparisonFinding", "area_names", "compare_with_similar_areas"]
