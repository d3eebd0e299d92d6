"""Analysis frames for one protocol: who is in, with which covariates and outcomes.

The report's per-design analysis (:mod:`evalkit.analysis.runner`) needs the
same few frames again and again: the protocol's population of participants, the
comparison pool it may draw on, the matching covariates coded as numbers or
categories, and each outcome built from the measures modules. Building them is
bookkeeping on data-contract tables (filters and joins), so it is written here
with pandas; every statistic is left to the design modules.

Rules (stated in the report's method notes):

* **Population** (per protocol): the intervention's participants who started,
  whose start date is in the protocol window, aged ``age_min``..``age_max`` at
  start, and whose exit reason is not excluded. Referrals that never started
  (no start date) are left out here and counted only by the intention-to-treat
  population (:func:`referred_population`).
* **Index date**: ``start_date``, or ``referral_date`` for the intervention
  types configured so (``intervention_types: {custody_diversion: {index_date:
  referral_date}}`` in the default configuration: the arrest); the comparison
  pool's ``index_date``.
* **Comparison pool**: rows of the named ``pool_source`` (all sources for
  ``any``) with an index date in the protocol window, excluding anyone who took
  part in this intervention; a person listed more than once keeps the earliest
  index date (then the first source in alphabetical order), so each person is
  one unit and results do not depend on row order.
* **Covariates**: ``age`` is the age at the index date; true/false risk flags
  become 0/1; an empty ethnic group or sex is coded ``not_known`` (a category of
  its own); people with another covariate missing are left out of matching and
  counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.data.schemas import completed_years
from evalkit.errors import MissingDataError
from evalkit.protocol import Protocol

#: Covariates treated as categories (dummy-coded by the matching design).
CATEGORICAL = ("sex", "ethnicity_group", "locality", "referral_source")
#: Protocol covariate names that are derived rather than read from a column.
DERIVED = {"age": "age at the index date"}

#: Offending measure columns (from :func:`evalkit.measures.offending_outcomes`) per outcome kind and scope.
OFFENCE_COLUMNS = {
    ("reoffending", "any"): "reoffended",
    ("reoffending", "violent"): "violent_reoffended",
    ("reoffending", "serious_violence"): "serious_reoffended",
    ("reoffending_frequency", "any"): "n_offences",
    ("reoffending_frequency", "violent"): "n_violent",
    ("reoffending_frequency", "serious_violence"): "n_serious",
}
FIRST_DAY_COLUMNS = {"any": "days_to_first", "violent": "days_to_first_violent",
                     "serious_violence": "days_to_first_serious"}
EVENT_COLUMNS = {"any": "reoffended", "violent": "violent_reoffended", "serious_violence": "serious_reoffended"}


def table(tables: dict[str, pd.DataFrame], name: str) -> pd.DataFrame:
    """A data table, or a MissingDataError naming it."""
    frame = tables.get(name)
    if frame is None or len(frame) == 0:
        raise MissingDataError(f"the '{name}' table is missing or empty. Fix: supply {name} data "
                               "(see docs/data-contract.md).")
    return frame


def _age(frame: pd.DataFrame, age_col: str, date_col: str) -> pd.Series:
    age = pd.to_numeric(frame.get(age_col), errors="coerce") if age_col in frame else None
    if age is None:
        age = pd.Series(np.nan, index=frame.index)
    age = age.astype("float")
    if "date_of_birth" in frame and age.isna().any():
        age = age.fillna(completed_years(frame["date_of_birth"], frame[date_col]).astype("float"))
    return age


def index_date_column(protocol: Protocol) -> str:
    """Participants' index date column: the intervention type's ``index_date`` in the VRU configuration
    (referral_date for custody diversion in the default one), else start_date."""
    from evalkit.data.config import load_config  # lazy: the configuration reads YAML

    return load_config().index_date_rule(protocol.intervention_type)


def participants_all(protocol: Protocol, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every participant row of the intervention (before the population filter)."""
    part = tables.get("participants")
    if part is None or "intervention_id" not in part:
        return pd.DataFrame(columns=["person_id"])
    return part.loc[part["intervention_id"] == protocol.intervention_id]


def population(protocol: Protocol, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The protocol's population of participants, with ``age`` and ``index_date`` derived.

    Sorted by ``person_id`` so that nothing downstream depends on row order.
    """
    rows = participants_all(protocol, tables).copy()
    if rows.empty:
        return rows.assign(age=pd.Series(dtype=float), index_date=pd.Series(dtype="datetime64[ns]"))
    pop = protocol.population
    start = pd.to_datetime(rows["start_date"])
    keep = start.notna()  # a referral that never started is not in the per-protocol population
    if pop.start_from is not None:
        keep &= start >= pd.Timestamp(pop.start_from)
    if pop.start_to is not None:
        keep &= start <= pd.Timestamp(pop.start_to)
    rows["age"] = _age(rows, "age_at_start", "start_date")
    keep &= rows["age"].between(pop.age_min, pop.age_max) | rows["age"].isna()
    if pop.exclude_exit_reasons and "exit_reason" in rows:
        keep &= ~rows["exit_reason"].isin(pop.exclude_exit_reasons)
    rows = rows.loc[keep].copy()
    col = index_date_column(protocol)
    idx = pd.to_datetime(rows[col]) if col in rows else pd.Series(pd.NaT, index=rows.index)
    rows["index_date"] = idx.fillna(pd.to_datetime(rows["start_date"]))
    return rows.sort_values("person_id", kind="mergesort").reset_index(drop=True)


def comparison_pool(protocol: Protocol, tables: dict[str, pd.DataFrame], pool_source: str,
                    exclude_ids: pd.Series | None = None) -> pd.DataFrame:
    """The comparison pool for a matched design (see the module docstring for the rules)."""
    pool = table(tables, "comparison_pool").copy()
    if pool_source != "any":
        pool = pool.loc[pool["pool_source"] == pool_source]
        if pool.empty:
            raise MissingDataError(f"the comparison pool has no '{pool_source}' rows. Fix: supply them, or set "
                                   "pool_source to one that is present (or 'any').")
    pop = protocol.population
    when = pd.to_datetime(pool["index_date"])
    if pop.start_from is not None:
        pool = pool.loc[when >= pd.Timestamp(pop.start_from)]
    when = pd.to_datetime(pool["index_date"])
    if pop.start_to is not None:
        pool = pool.loc[when <= pd.Timestamp(pop.start_to)]
    if exclude_ids is not None:
        pool = pool.loc[~pool["person_id"].isin(set(exclude_ids))]
    pool = pool.assign(index_date=pd.to_datetime(pool["index_date"]))
    pool = (pool.sort_values(["person_id", "index_date", "pool_source"], kind="mergesort")
            .drop_duplicates("person_id", keep="first"))
    pool["age"] = _age(pool, "age_at_index", "index_date")
    pool = pool.loc[pool["age"].between(pop.age_min, pop.age_max)]
    return pool.reset_index(drop=True)


@dataclass(frozen=True)
class MatchingFrame:
    """Participants and pool stacked for matching (row-level: stays inside the analysis)."""

    data: pd.DataFrame
    covariates: list[str]
    n_participants_missing: int
    n_pool_missing: int


def coded_covariates(frame: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:
    """Covariates coded for the propensity model (categories as strings, flags as 0/1)."""
    out = pd.DataFrame(index=frame.index)
    for cov in covariates:
        if cov not in frame:
            raise MissingDataError(f"covariate '{cov}' is not a column of participants and comparison_pool. "
                                   f"Fix: use data-contract columns or one of {sorted(DERIVED)}.")
        s = frame[cov]
        if cov in CATEGORICAL or not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            out[cov] = s.astype("string").fillna("not_known").astype(object)
        else:
            out[cov] = pd.to_numeric(s.astype("Float64"), errors="coerce").astype(float)
    return out


def matching_frame(part: pd.DataFrame, pool: pd.DataFrame, covariates: list[str], exact: list[str],
                   outcomes: pd.DataFrame | None = None) -> MatchingFrame:
    """Stack participants (treated = 1) and pool (0) with coded covariates, dropping incomplete rows.

    ``outcomes`` (one row per person, indexed by person_id) adds outcome columns. The frame is row-level: it
    feeds the matching and stays inside the analysis (:class:`evalkit.analysis.designs.MatchedSample`).
    """
    cols = list(dict.fromkeys([*covariates, *exact]))
    frames = []
    for treated, rows in ((1, part), (0, pool)):
        coded = coded_covariates(rows, cols)
        coded.insert(0, "person_id", rows["person_id"].astype(str).to_numpy())
        coded.insert(1, "treated", treated)
        coded["index_date"] = pd.to_datetime(rows["index_date"]).to_numpy()
        frames.append(coded)
    data = pd.concat(frames, ignore_index=True)
    data = common_levels(data, [c for c in cols if data[c].dtype == object])
    complete = data[cols].notna().all(axis=1)
    n_part_missing = int((~complete & (data["treated"] == 1)).sum())
    n_pool_missing = int((~complete & (data["treated"] == 0)).sum())
    data = data.loc[complete]
    if outcomes is not None:
        data = data.merge(outcomes, left_on="person_id", right_index=True, how="left")
    data = data.sort_values("person_id", kind="mergesort").reset_index(drop=True)
    return MatchingFrame(data, cols, n_part_missing, n_pool_missing)


#: A category with fewer participants than this is merged into "other or not known".
MIN_LEVEL = 5
OTHER = "other_or_not_known"


def common_levels(data: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    """Make categories estimable in a propensity model (no level seen in only one group).

    Pool rows in a category no participant has are dropped (they resemble no participant); categories with
    fewer than MIN_LEVEL participants, or absent from the pool, are merged into "other or not known"; participants
    whose merged category the pool still lacks are dropped too (no one resembles them). Applied again to the rows
    actually matched (complete follow-up), where a category can have lost its only participants.
    """
    for col in categorical:
        treated = data["treated"] == 1
        part_counts = data.loc[treated, col].value_counts()
        pool_counts = data.loc[~treated, col].value_counts()
        data = data.loc[treated | data[col].isin(part_counts.index)]
        rare = [lev for lev, k in part_counts.items() if k < MIN_LEVEL or pool_counts.get(lev, 0) == 0]
        if rare:
            data = data.assign(**{col: data[col].where(~data[col].isin(rare), OTHER)})
            # The merged level can still be one-sided when the pool has none of the levels merged into it: those
            # participants resemble no one in the pool, so they go unmatched (counted as such), as pool rows do.
            seen_in_pool = data.loc[data["treated"] == 0, col].unique()
            data = data.loc[(data["treated"] == 0) | data[col].isin(seen_in_pool)]
    return data


def offending_index(frame: pd.DataFrame) -> pd.DataFrame:
    """The index table offending measures need: person_id and index_date (and intervention_id if present)."""
    cols = ["person_id", "index_date"] + (["intervention_id"] if "intervention_id" in frame else [])
    return frame[cols].assign(person_id=lambda d: d["person_id"].astype(str))


__all__ = ["CATEGORICAL", "DERIVED", "OFFENCE_COLUMNS", "FIRST_DAY_COLUMNS", "EVENT_COLUMNS", "MatchingFrame",
           "table", "index_date_column", "participants_all", "population", "comparison_pool",
           "coded_covariates", "matching_frame", "common_levels", "offending_index"]
