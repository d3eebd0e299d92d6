"""Readers for the public statistics that make the ``comparison_areas`` table.

Two published layouts are read (docs/comparison-areas.md says where a VRU
downloads each):

* :func:`read_ons_csp` - the Office for National Statistics' "Police recorded
  crime by Community Safety Partnership area" open data table: one row per
  financial year, financial quarter, force, CSP and offence, with columns
  ``Financial Year`` (``2019/20``), ``Financial Quarter`` (1-4), ``Force
  Name``, ``CSP Name``, ``Offence Description``, ``Offence Group``, ``Offence
  Subgroup``, ``Offence Code`` and ``Number of Offences``. Offences are summed
  to an indicator per CSP and quarter through ``subgroups`` (ONS subgroup ->
  indicator; default: "Violence with injury" -> ``violence_with_injury``).
* :func:`read_fingertips` - the Office for Health Improvement and Disparities'
  Fingertips indicator export (e.g. "Hospital admissions for violence
  (including sexual violence)"): columns ``Area Code``, ``Area Name``, ``Area
  Type``, ``Sex``, ``Age``, ``Time period``, ``Count`` and ``Denominator``
  (the population), one row per area and period (``2019/20`` financial
  years, or ``2019`` calendar years).

Neither file says which areas have a VRU, and the CSP table has no
populations: :func:`comparison_areas_table` joins the counts with a VRU list
(area name, VRU name, start) and, for the CSP table, a population table
(area name, year, population), and returns rows in the contract's columns.
Every problem names the file, row and column and says what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.errors import DataError, MissingDataError, Problem

ONS_CSP_COLUMNS = ("Financial Year", "Financial Quarter", "CSP Name", "Offence Subgroup", "Number of Offences")
FINGERTIPS_COLUMNS = ("Area Code", "Area Name", "Time period", "Count", "Denominator")
DEFAULT_SUBGROUPS = {"Violence with injury": "violence_with_injury"}


def _read(path: str | Path) -> pd.DataFrame:
    p = Path(path)
    if not p.exists():
        raise MissingDataError(f"{p.name}: file not found. Fix: check the path.")
    if p.suffix.lower() in (".xlsx", ".xls"):
        return pd.read_excel(p)
    return pd.read_csv(p, encoding_errors="replace")


def _need(df: pd.DataFrame, columns: tuple[str, ...], name: str, layout: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(Problem(name, f"the {layout} layout needs column(s) {', '.join(missing)}; the file has "
                                f"{', '.join(map(str, df.columns[:12]))}.",
                                "download the table again in its published layout, or rename the columns."))


def _financial_year(value: str) -> int | None:
    """2019 for '2019/20' (or '2019-20'); None if unreadable."""
    text = str(value).strip()
    head = text[:4]
    return int(head) if head.isdigit() and len(text) >= 4 else None


def read_ons_csp(path: str | Path, *, subgroups: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Offences by CSP and quarter from ONS's CSP open data table.

    Returns columns ``area_name``, ``period`` (first day of the quarter: financial quarter 1 of 2019/20 is
    2019-04-01), ``indicator`` and ``count``, summed over the offences in each mapped subgroup.
    """
    name = Path(path).name
    df = _read(path)
    _need(df, ONS_CSP_COLUMNS, name, "ONS police recorded crime by CSP")
    mapping = dict(subgroups or DEFAULT_SUBGROUPS)
    problems: list[Problem] = []
    year = df["Financial Year"].map(_financial_year)
    quarter = pd.to_numeric(df["Financial Quarter"], errors="coerce")
    count = pd.to_numeric(df["Number of Offences"], errors="coerce")
    for col, bad in (("Financial Year", year.isna()), ("Financial Quarter", ~quarter.isin([1, 2, 3, 4])),
                     ("Number of Offences", count.isna() | (count < 0))):
        for i in np.flatnonzero(bad.to_numpy())[:5]:
            problems.append(Problem(name, f"{col} {df[col].iloc[i]!r} cannot be read.",
                                    "use the published values (e.g. 2019/20, quarter 1-4, a whole number).",
                                    row=int(i) + 2, column=col))
    if problems:
        raise DataError(problems)
    keep = df["Offence Subgroup"].isin(list(mapping))
    if not keep.any():
        raise DataError(Problem(name, f"no rows have an Offence Subgroup among {sorted(mapping)}.",
                                "check the subgroup names (they are ONS's, e.g. 'Violence with injury').",
                                column="Offence Subgroup"))
    month = 4 + 3 * (quarter[keep].astype(int) - 1)
    yr = year[keep].astype(int) + (month > 12)
    period = pd.to_datetime(dict(year=yr, month=(month - 1) % 12 + 1, day=1))
    out = pd.DataFrame({"area_name": df.loc[keep, "CSP Name"].astype(str).str.strip(), "period": period,
                        "indicator": df.loc[keep, "Offence Subgroup"].map(mapping),
                        "count": count[keep].astype(np.int64)})
    out = out.groupby(["area_name", "period", "indicator"], as_index=False)["count"].sum()
    return out.sort_values(["indicator", "area_name", "period"], kind="mergesort").reset_index(drop=True)


def read_fingertips(path: str | Path, *, indicator: str = "hospital_assault_admissions") -> pd.DataFrame:
    """Counts and populations by area and year from a Fingertips indicator export.

    Returns ``area_code``, ``area_name``, ``period`` (1 April of a financial year ``2019/20``, 1 January of a
    calendar year ``2019``), ``indicator``, ``count`` and ``population`` (the export's denominator). Rows
    without a count (suppressed small numbers) are an error: the synthetic designs need every period.
    """
    name = Path(path).name
    df = _read(path)
    _need(df, FINGERTIPS_COLUMNS, name, "Fingertips indicator export")
    problems: list[Problem] = []
    count = pd.to_numeric(df["Count"], errors="coerce")
    denom = pd.to_numeric(df["Denominator"], errors="coerce")
    text = df["Time period"].astype(str).str.strip()
    start = text.map(_financial_year)
    for col, bad in (("Count", count.isna() | (count < 0)), ("Denominator", denom.isna() | (denom <= 0)),
                     ("Time period", start.isna())):
        for i in np.flatnonzero(bad.to_numpy())[:5]:
            problems.append(Problem(name, f"{col} {df[col].iloc[i]!r} for {df['Area Name'].iloc[i]} is missing "
                                    "or cannot be read.", "use an export with counts for every area and period "
                                    "(suppressed values cannot be used; leave the area out).",
                                    row=int(i) + 2, column=col))
    if problems:
        raise DataError(problems)
    fy = text.str.contains("/")
    period = pd.to_datetime(dict(year=start.astype(int), month=np.where(fy, 4, 1), day=1))
    out = pd.DataFrame({"area_code": df["Area Code"].astype(str).str.strip(),
                        "area_name": df["Area Name"].astype(str).str.strip(), "period": period,
                        "indicator": indicator, "count": count.astype(np.int64),
                        "population": denom.round().astype(np.int64)})
    return out.sort_values(["area_code", "period"], kind="mergesort").reset_index(drop=True)


def comparison_areas_table(counts: pd.DataFrame, vrus: pd.DataFrame, *,
                           populations: pd.DataFrame | None = None, codes: Mapping[str, str] | None = None,
                           ) -> pd.DataFrame:
    """Rows of the ``comparison_areas`` table from a reader's counts, a VRU list and (if needed) populations.

    Parameters
    ----------
    counts
        :func:`read_ons_csp` or :func:`read_fingertips` output.
    vrus
        One row per area covered by a VRU: ``area_name``, ``vru_name``, ``vru_start`` (first funded period).
    populations
        ``area_name``, ``year`` (the mid-year of the estimate) and ``population``; needed when ``counts`` has
        no ``population`` (the CSP table). A period takes the estimate of its calendar year.
    codes
        Area name -> official code, when ``counts`` has no ``area_code``.
    """
    out = counts.copy()
    if "population" not in out:
        if populations is None:
            raise MissingDataError("the counts have no population: pass populations (area_name, year, "
                                   "population), e.g. ONS mid-year estimates.")
        pops = populations.assign(year=pd.to_numeric(populations["year"], errors="coerce"))
        out["year"] = pd.to_datetime(out["period"]).dt.year
        out = out.merge(pops[["area_name", "year", "population"]], on=["area_name", "year"], how="left")
        gap = out["population"].isna()
        if gap.any():
            r = out[gap].iloc[0]
            raise DataError(Problem("populations", f"no population for {r['area_name']} in {r['year']} "
                                    f"({int(gap.sum())} area-period(s) lack one).",
                                    "add the area's mid-year estimate for that year."))
        out = out.drop(columns="year")
    if "area_code" not in out:
        codes = dict(codes or {})
        out["area_code"] = out["area_name"].map(codes)
        if out["area_code"].isna().any():
            missing = sorted(out.loc[out["area_code"].isna(), "area_name"].unique())[:5]
            raise MissingDataError(f"no area code for {', '.join(missing)}; pass codes (area name -> code).")
    v = vrus.set_index("area_name")
    out["vru"] = out["area_name"].isin(v.index)
    out["vru_start"] = out["area_name"].map(pd.to_datetime(v["vru_start"]).dt.strftime("%Y-%m-%d"))
    out["vru_name"] = out["area_name"].map(v["vru_name"])
    out["period"] = pd.to_datetime(out["period"]).dt.strftime("%Y-%m-%d")
    out["population"] = out["population"].astype(np.int64)
    cols = ["area_code", "area_name", "period", "indicator", "count", "population", "vru", "vru_start", "vru_name"]
    return out[cols].sort_values(["indicator", "area_code", "period"], kind="mergesort").reset_index(drop=True)


__all__ = ["DEFAULT_SUBGROUPS", "FINGERTIPS_COLUMNS", "ONS_CSP_COLUMNS", "comparison_areas_table",
           "read_fingertips", "read_ons_csp"]
