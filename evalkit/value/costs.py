"""Unit costs of crime with their provenance, and inflation to a chosen price year.

The default table (``unit_costs.yaml`` beside this module) holds the Home Office
*Economic and social costs of crime*, second edition (Heeks et al. 2018,
Research Report 99), each value with the table it comes from, its price year
and whether it was verified against a second copy. :func:`load_unit_costs`
reads that file (or a VRU's own copy) into an immutable :class:`UnitCostTable`;
:func:`inflate` moves a value from one price year to another with a
user-supplied deflator series (e.g. HM Treasury's GDP deflators), and
:func:`read_deflator` reads such a series from a two-column CSV.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Mapping

import yaml

from evalkit.errors import SpecError

DEFAULT_UNIT_COSTS = Path(__file__).with_name("unit_costs.yaml")
#: The shipped GDP deflator series by financial year (see the file's header for its source and construction).
DEFAULT_GDP_DEFLATOR = Path(__file__).with_name("gdp_deflator.csv")
GDP_DEFLATOR_SOURCE = ("GDP deflator at market prices by financial year: ONS series YBGB (Quarterly National "
                       "Accounts, 30 June 2025), mean of each financial year's four quarters, 2022 = 100")
_VERIFIED = ("yes", "rounded", "no")


@dataclass(frozen=True)
class UnitCost:
    """The average cost of one crime of a type, with where the number comes from."""

    key: str
    label: str
    value: float
    price_year: str
    table: str
    verified: str

    @property
    def is_verified(self) -> bool:
        """True when a second copy agreed (to the pound, or to its rounding)."""
        return self.verified in ("yes", "rounded")


@dataclass(frozen=True)
class UnitCostTable:
    """Unit costs and the mapping from the data contract's offence groups to them.

    ``group_costs`` maps an offence group to a unit-cost key, or to None when
    the group is not costed (it then counts as £0).
    """

    costs: Mapping[str, UnitCost]
    group_costs: Mapping[str, str | None]
    source: Mapping[str, str] = field(default_factory=dict)
    path: str = ""

    def cost_of_group(self, group: str) -> UnitCost | None:
        """The unit cost used for an offence group (None: not costed)."""
        if group not in self.group_costs:
            raise SpecError(f"{self.path}: offence group '{group}' is not in offence_group_costs. "
                            "Fix: add it, with a unit-cost key or null (not costed).")
        key = self.group_costs[group]
        return None if key is None else self.costs[key]

    @property
    def price_years(self) -> set[str]:
        return {c.price_year for c in self.costs.values()}

    def verification(self) -> list[dict]:
        """One row per unit cost: key, label, value, price year, table and verification status."""
        return [{"key": c.key, "label": c.label, "value": c.value, "price_year": c.price_year, "table": c.table,
                 "verified": c.verified} for c in self.costs.values()]

    def citation(self) -> str:
        """The source in one line, for a report's notes."""
        s = self.source
        parts = [s.get("authors", ""), f"({s['published']})" if s.get("published") else "",
                 s.get("title", ""), s.get("publisher", ""), s.get("series", "")]
        return " ".join(p for p in parts[:2] if p) + ". " + ", ".join(p for p in parts[2:] if p) + "."


def load_unit_costs(path: str | Path | None = None) -> UnitCostTable:
    """Read a unit-cost table (default: the Home Office RR99 values shipped with evalkit).

    Raises
    ------
    SpecError
        Naming the file, the entry and what to fix, when an entry lacks a value,
        price year or table, or a group maps to an unknown unit cost.
    """
    path = Path(path) if path is not None else DEFAULT_UNIT_COSTS
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"{path}: cannot be read ({exc.strerror}). Fix: check the unit_costs path.") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: is not valid YAML ({exc}).") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("unit_costs"), dict):
        raise SpecError(f"{path}: has no 'unit_costs' section. Fix: copy evalkit/value/unit_costs.yaml and edit it.")
    costs: dict[str, UnitCost] = {}
    for key, entry in raw["unit_costs"].items():
        where = f"{path}, unit_costs.{key}"
        if not isinstance(entry, dict):
            raise SpecError(f"{where}: must be a mapping with value, price_year and table.")
        missing = [f for f in ("value", "price_year", "table") if entry.get(f) in (None, "")]
        if missing:
            raise SpecError(f"{where}: {', '.join(missing)} missing. Fix: every unit cost needs its value, "
                            "price year and source table.")
        value = entry["value"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise SpecError(f"{where}: value must be a number of pounds, 0 or more (got {value!r}).")
        verified = str(entry.get("verified", "no"))
        if verified not in _VERIFIED:
            raise SpecError(f"{where}: verified must be one of {', '.join(_VERIFIED)} (got {verified!r}).")
        costs[str(key)] = UnitCost(key=str(key), label=str(entry.get("label", key)), value=float(value),
                                   price_year=str(entry["price_year"]), table=str(entry["table"]),
                                   verified=verified)
    groups = raw.get("offence_group_costs") or {}
    for group, key in groups.items():
        if key is not None and key not in costs:
            raise SpecError(f"{path}, offence_group_costs.{group}: '{key}' is not a unit cost in this file. "
                            f"Fix: use one of {sorted(costs)} or null.")
    if len({c.price_year for c in costs.values()}) > 1:
        raise SpecError(f"{path}: unit costs are in more than one price year "
                        f"({sorted({c.price_year for c in costs.values()})}). Fix: inflate them to one year first.")
    return UnitCostTable(costs=costs, group_costs={str(g): k for g, k in groups.items()},
                         source={k: str(v) for k, v in (raw.get("source") or {}).items()}, path=str(path))


# --------------------------------------------------------------------------- inflation
def inflate(value: float, from_year: str, to_year: str, deflator: Mapping[str, float]) -> float:
    """``value`` at ``from_year`` prices expressed at ``to_year`` prices.

    value x deflator[to_year] / deflator[from_year] (the Green Book's
    conversion to real terms with a GDP deflator index).

    Raises
    ------
    SpecError
        When either year is missing from the deflator series.
    """
    if from_year == to_year:
        return float(value)
    for year in (from_year, to_year):
        if year not in deflator:
            raise SpecError(f"the deflator series has no value for {year} (it covers {', '.join(sorted(deflator))}). "
                            "Fix: add that year to the deflator file.")
    return float(value) * float(deflator[to_year]) / float(deflator[from_year])


def read_deflator(path: str | Path) -> dict[str, float]:
    """A deflator series from a CSV with columns ``year`` and ``index`` (e.g. 2015/16,92.1).

    Raises
    ------
    SpecError
        Naming the file, row and column of a missing or non-numeric index.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SpecError(f"{path}: cannot be read ({exc.strerror}). Fix: check the deflator path.") from None
    rows = list(csv.DictReader(line for line in text.splitlines() if line.strip() and not line.startswith("#")))
    if not rows or not {"year", "index"} <= set(rows[0]):
        raise SpecError(f"{path}: needs the columns 'year' and 'index'. Fix: write a header line 'year,index'.")
    out: dict[str, float] = {}
    for i, row in enumerate(rows, start=2):
        try:
            v = float(row["index"])
            if not math.isfinite(v) or v <= 0:
                raise ValueError
        except (TypeError, ValueError):
            raise SpecError(f"{path}, row {i}, column 'index': must be a positive number "
                            f"(got {row['index']!r}).") from None
        out[str(row["year"]).strip()] = v
    return out


def load_gdp_deflator(path: str | Path | None = None) -> dict[str, float]:
    """The GDP deflator series by financial year ("2015/16" -> index): the shipped one, or a VRU's own CSV.

    The shipped series (``gdp_deflator.csv``, :data:`GDP_DEFLATOR_SOURCE`) covers 2014/15 to 2024/25; its file
    header gives the source and how the financial years were formed.
    """
    return read_deflator(DEFAULT_GDP_DEFLATOR if path is None else path)


__all__ = ["UnitCost", "UnitCostTable", "load_unit_costs", "inflate", "read_deflator", "load_gdp_deflator",
           "DEFAULT_UNIT_COSTS", "DEFAULT_GDP_DEFLATOR", "GDP_DEFLATOR_SOURCE"]
