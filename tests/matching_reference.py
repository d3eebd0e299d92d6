"""The MatchIt reference cases in tests/reference/matching/ (shared by the matching test modules)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

REF = Path(__file__).parent / "reference" / "matching"
ALL = ["age", "prior_offences", "school_exclusion", "sex", "locality", "risk"]
NUMERIC = ["age", "prior_offences", "school_exclusion", "risk"]
CONFIGS = pd.read_csv(REF / "configs.csv", keep_default_na=False)


def options(c: dict) -> dict:
    """evalkit keyword arguments for one row of configs.csv (MatchIt's settings)."""
    kw = dict(distance=c["distance"], link=c["link"], ratio=int(c["ratio"]), replace=bool(c["replace"]),
              discard=c["discard"])
    if c["caliper"] not in ("NA", ""):
        kw.update(caliper=float(c["caliper"]), std_caliper=bool(c["std_caliper"]))
    if c["exact"]:
        kw["exact"] = c["exact"].split(";")
    if c["m_order"]:
        kw["m_order"] = c["m_order"]
    return kw


def covariates(c: dict) -> list[str]:
    """The covariates MatchIt was given: numeric ones only for Mahalanobis (see the R script)."""
    return NUMERIC if c["distance"] == "mahalanobis" else ALL
