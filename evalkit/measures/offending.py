"""Proven (re)offending outcomes in the style of the Justice Data Lab.

Rules (Ministry of Justice, *Justice Data Lab: methodology*, and the proven
reoffending statistics definitions):

* the follow-up window is ``(index_date, index_date + followup_months]``: an
  offence committed **on** the index date is the index event, not a
  reoffence, and the last day of the window counts;
* an offence is *proven* when its outcome is one of ``proven_outcomes`` in
  the VRU configuration (caution, youth caution, youth conditional caution,
  conviction) with ``outcome_date <= index_date + followup_months +
  waiting_months`` (the waiting period lets court outcomes arrive);
* a person's follow-up is complete when ``data_end >= index_date +
  followup_months + waiting_months``. People with incomplete follow-up are
  **excluded** from the binary, frequency, severity and custody measures
  (their values are NaN and they are counted in ``attrs``), never counted as
  non-reoffenders. For survival analysis they are censored:
  ``time_to_event``/``event`` use only what is known by ``data_end``.

Measures per index row: any proven reoffence (``reoffended``), number of
proven reoffences (``n_offences``), days from index to the first proven
reoffence among reoffenders (``days_to_first``), the same for violent and
serious-violence offence groups (groups from the configuration), a
harm-weighted total (sum of user-supplied weights per offence group, e.g. a
crime severity score), and ``custody`` (any proven reoffence in the window
sentenced to custody).

The window arithmetic is a few date comparisons, so it is written with pandas
here rather than borrowed from a library.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.errors import DataError, MissingDataError, Problem, SpecError
from evalkit.measures._common import MAX_PROBLEMS, get_config, require_columns, spreadsheet_row
from evalkit.results import ResultMixin

OFFENCE_COLUMNS = ["person_id", "offence_date", "offence_group", "outcome", "outcome_date"]


def _dates(s: pd.Series, *, table: str, column: str, required: bool) -> pd.Series:
    out = pd.to_datetime(s, errors="coerce")
    given = s.notna() & (s.astype("string").str.strip() != "")
    bad = given & out.isna()
    if required:
        bad |= ~given
    if bad.any():
        rows = s.index[bad]
        raise DataError(
            [Problem(file=table, row=spreadsheet_row(i), column=column,
                     message=f"'{s[i]}' is not a date" if given[i] else "date is missing",
                     fix="Give dates as YYYY-MM-DD.") for i in rows[:MAX_PROBLEMS]],
            truncated=max(0, len(rows) - MAX_PROBLEMS),
        )
    return out.dt.normalize()


def _codes(s: pd.Series, allowed: list[str], *, table: str, column: str) -> pd.Series:
    norm = s.astype("string").str.strip().str.lower()
    bad = norm.notna() & ~norm.isin(allowed) | norm.isna()
    if bad.any():
        rows = s.index[bad]
        raise DataError(
            [Problem(file=table, row=spreadsheet_row(i), column=column,
                     message=f"'{s[i]}' is not an allowed {column}",
                     fix=f"Use one of: {', '.join(allowed)}.") for i in rows[:MAX_PROBLEMS]],
            truncated=max(0, len(rows) - MAX_PROBLEMS),
        )
    return norm


def _prepare_index(index: pd.DataFrame, purpose: str) -> tuple[pd.DataFrame, list[str]]:
    require_columns(index, ["person_id", "index_date"], table="index", purpose=purpose)
    keys = ["person_id"] + (["intervention_id"] if "intervention_id" in index.columns else [])
    idx = index.copy()
    idx["index_date"] = _dates(idx["index_date"], table="index", column="index_date", required=True)
    dup = idx.duplicated(keys, keep=False)
    if dup.any():
        raise DataError(Problem(file="index", column="person_id",
                                message=f"{int(dup.sum())} rows repeat a {' + '.join(keys)}; each needs one index date.",
                                fix="Keep one index date per person (and intervention)."))
    return idx.reset_index(drop=True), keys


def _prepare_offences(offences: pd.DataFrame, cfg, purpose: str) -> pd.DataFrame:
    require_columns(offences, OFFENCE_COLUMNS, table="offences", purpose=purpose)
    off = offences.copy()
    off["offence_date"] = _dates(off["offence_date"], table="offences", column="offence_date", required=True)
    off["outcome_date"] = _dates(off["outcome_date"], table="offences", column="outcome_date", required=False)
    off["offence_group"] = _codes(off["offence_group"], list(cfg.offence_groups), table="offences", column="offence_group")
    off["outcome"] = _codes(off["outcome"], list(cfg.offence_outcomes), table="offences", column="outcome")
    if "sentence" in off.columns:
        off["sentence"] = off["sentence"].astype("string").str.strip().str.lower()
    return off


def _add_months(d: pd.Series, months: int) -> pd.Series:
    # Calendar months: 2020-01-31 + 1 month = 2020-02-29 (end-of-month clipping).
    return d + pd.DateOffset(months=months)


def offending_outcomes(
    index: pd.DataFrame,
    offences: pd.DataFrame,
    *,
    followup_months: int | None = None,
    waiting_months: int | None = None,
    data_end=None,
    harm_weights: pd.DataFrame | None = None,
    cfg=None,
) -> pd.DataFrame:
    """Proven reoffending outcomes per person (Justice Data Lab rules).

    Parameters
    ----------
    index
        One row per person (optionally per person and intervention_id) with
        ``person_id`` and ``index_date`` (participants: ``start_date``;
        comparison pool: ``index_date``).
    offences
        The offences table of the data contract.
    followup_months, waiting_months
        Window and waiting period; default to the configuration (12 and 6).
    data_end
        Last date the offence extract covers. If omitted, the latest
        offence or outcome date in ``offences`` is used (and recorded in
        ``attrs['data_end_source']``); give it explicitly when you know it.
    harm_weights
        Optional table with ``offence_group`` and ``weight``; adds
        ``harm_weighted`` (sum of weights of proven reoffences).
    cfg
        VRU configuration (proven outcomes, offence groups); loaded if omitted.

    Returns
    -------
    DataFrame
        One row per index row, in index order of ``person_id`` (then
        ``intervention_id``), with columns ``index_date``, ``followup_end``,
        ``proven_by``, ``followup_complete``, ``reoffended``, ``n_offences``,
        ``days_to_first``, ``violent_reoffended``, ``n_violent``,
        ``days_to_first_violent``, ``serious_reoffended``, ``n_serious``,
        ``days_to_first_serious``, ``custody``, [``harm_weighted``],
        ``time_to_event``, ``event``. ``attrs`` holds ``n_total``,
        ``n_incomplete`` (excluded from binary/frequency measures),
        ``data_end``, ``data_end_source``, ``followup_months``,
        ``waiting_months`` and ``n_proven_without_outcome_date``.
    """
    cfg = get_config(cfg)
    purpose = "Offending outcomes"
    fu = cfg.thresholds.followup_months if followup_months is None else int(followup_months)
    wait = cfg.thresholds.waiting_months if waiting_months is None else int(waiting_months)
    if fu < 1 or wait < 0:
        raise SpecError(f"followup_months must be >= 1 and waiting_months >= 0 (got {fu} and {wait}).")
    idx, keys = _prepare_index(index, purpose)
    off = _prepare_offences(offences, cfg, purpose)

    if data_end is None:
        latest = pd.concat([off["offence_date"], off["outcome_date"]]).max()
        if pd.isna(latest):
            raise MissingDataError("Offending outcomes need data_end (the date the offence extract ends) "
                                   "when the offences table is empty.")
        end, end_source = pd.Timestamp(latest).normalize(), "latest offence or outcome date in the offences table"
    else:
        end, end_source = pd.Timestamp(data_end).normalize(), "given"

    idx["followup_end"] = _add_months(idx["index_date"], fu)
    idx["proven_by"] = _add_months(idx["index_date"], fu + wait)
    idx["followup_complete"] = idx["proven_by"] <= end
    idx["_row"] = np.arange(len(idx))

    proven_outcomes = set(cfg.proven_outcomes)
    is_proven_outcome = off["outcome"].isin(proven_outcomes)
    no_date = is_proven_outcome & off["outcome_date"].isna()
    cols = ["person_id", "offence_date", "offence_group", "outcome_date"] + (["sentence"] if "sentence" in off else [])
    cand = off.loc[is_proven_outcome & ~no_date, cols]
    j = idx[["_row", "person_id", "index_date", "followup_end", "proven_by"]].merge(cand, on="person_id", how="inner")
    in_window = (j["offence_date"] > j["index_date"]) & (j["offence_date"] <= j["followup_end"])
    j = j[in_window]
    # What the complete-follow-up measures count: proven within the waiting period.
    full = j[j["outcome_date"] <= j["proven_by"]]
    # What is known by data_end, for censored time-to-event.
    known = j[(j["outcome_date"] <= j["proven_by"].clip(upper=end)) & (j["offence_date"] <= end)]

    violent = set(cfg.violent_offence_groups)
    serious = set(cfg.serious_violence_groups)
    out = idx  # already a private copy (_prepare_index)
    n = len(out)

    def counts(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        g = frame.groupby("_row")
        cnt = g.size().reindex(range(n), fill_value=0).to_numpy()
        first = g["offence_date"].min().reindex(range(n))
        days = (first - out["index_date"].to_numpy()).dt.days.to_numpy(dtype=float)
        return cnt, days

    complete = out["followup_complete"].to_numpy()
    for prefix, frame in [("", full), ("violent_", full[full["offence_group"].isin(violent)]),
                          ("serious_", full[full["offence_group"].isin(serious)])]:
        cnt, days = counts(frame)
        name_n = "n_offences" if prefix == "" else f"n_{prefix.rstrip('_')}"
        first_col = "days_to_first" if prefix == "" else f"days_to_first_{prefix.rstrip('_')}"
        out[f"{prefix}reoffended"] = np.where(complete, (cnt > 0).astype(float), np.nan)
        out[name_n] = np.where(complete, cnt.astype(float), np.nan)
        out[first_col] = np.where(complete & (cnt > 0), days, np.nan)

    if "sentence" in full:
        cust = full[full["sentence"] == "custody"].groupby("_row").size().reindex(range(n), fill_value=0).to_numpy()
        out["custody"] = np.where(complete, (cust > 0).astype(float), np.nan)
    else:
        out["custody"] = np.nan

    if harm_weights is not None:
        out["harm_weighted"] = np.where(complete, _harm(full, harm_weights, cfg, n), np.nan)

    # Survival: event = first proven reoffence known by data_end; censor at the
    # end of the window or at data_end, whichever comes first.
    kcnt, kdays = counts(known)
    censor = np.minimum((out["followup_end"] - out["index_date"]).dt.days.to_numpy(float),
                        (end - out["index_date"]).dt.days.to_numpy(float))
    out["event"] = (kcnt > 0).astype(int)
    out["time_to_event"] = np.where(kcnt > 0, kdays, np.maximum(censor, 0.0))

    out = out.drop(columns="_row").sort_values(keys, kind="mergesort").reset_index(drop=True)
    out.attrs.update(
        n_total=int(n),
        n_incomplete=int((~complete).sum()),
        data_end=end.date().isoformat(),
        data_end_source=end_source,
        followup_months=fu,
        waiting_months=wait,
        n_proven_without_outcome_date=int(no_date.sum()),
        note=(f"{int((~complete).sum())} of {n} people have less than {fu}+{wait} months of follow-up by "
              f"{end.date().isoformat()} and are excluded from the reoffending rate and frequency "
              "(censored in time_to_event)."),
    )
    return out


def _harm(full: pd.DataFrame, harm_weights: pd.DataFrame, cfg, n: int) -> np.ndarray:
    require_columns(harm_weights, ["offence_group", "weight"], table="harm_weights", purpose="Harm-weighted offending")
    w = harm_weights.assign(offence_group=harm_weights["offence_group"].astype(str).str.strip().str.lower())
    if w["offence_group"].duplicated().any():
        raise SpecError("harm_weights lists an offence_group more than once; give one weight per group.")
    weights = pd.to_numeric(w["weight"], errors="coerce")
    if weights.isna().any() or (weights < 0).any():
        raise SpecError("harm_weights.weight must be numbers >= 0 for every offence group.")
    table = dict(zip(w["offence_group"], weights))
    missing = sorted(set(full["offence_group"]) - set(table))
    if missing:
        raise SpecError(f"harm_weights has no weight for offence group(s) {', '.join(missing)}; add them "
                        f"(groups in the configuration: {', '.join(cfg.offence_groups)}).")
    vals = full["offence_group"].map(table)
    return vals.groupby(full["_row"]).sum().reindex(range(n), fill_value=0.0).to_numpy(float)


def prior_offending(
    index: pd.DataFrame,
    offences: pd.DataFrame,
    *,
    months: int = 24,
    known_at_index: bool = True,
    cfg=None,
) -> pd.DataFrame:
    """Proven offences in the ``months`` before the index date (covariates).

    Counts offences with ``index_date - months <= offence_date < index_date``
    and a proven outcome, as ``prior_offences`` and
    ``prior_violent_offences``, plus ``days_since_last`` (NaN when none).
    With ``known_at_index=True`` (default) only outcomes proven on or before
    the index date count — the history a caseworker could have seen, as the
    Justice Data Lab uses. ``known_at_index=False`` also counts offences
    committed before the index date but proven later (by the extract date);
    the synthetic data's ``prior_offences`` column follows that definition.
    """
    cfg = get_config(cfg)
    idx, keys = _prepare_index(index, "Prior offending")
    off = _prepare_offences(offences, cfg, "Prior offending")
    idx["_row"] = np.arange(len(idx))
    idx["_start"] = _add_months(idx["index_date"], -int(months))
    proven = off[off["outcome"].isin(set(cfg.proven_outcomes)) & off["outcome_date"].notna()]
    j = idx[["_row", "person_id", "index_date", "_start"]].merge(
        proven[["person_id", "offence_date", "offence_group", "outcome_date"]], on="person_id")
    j = j[(j["offence_date"] >= j["_start"]) & (j["offence_date"] < j["index_date"])]
    if known_at_index:
        j = j[j["outcome_date"] <= j["index_date"]]
    n = len(idx)
    g = j.groupby("_row")
    out = idx.drop(columns=["_start"]).copy()
    out["prior_offences"] = g.size().reindex(range(n), fill_value=0).to_numpy()
    out["prior_violent_offences"] = (
        j[j["offence_group"].isin(set(cfg.violent_offence_groups))].groupby("_row").size()
        .reindex(range(n), fill_value=0).to_numpy()
    )
    last = g["offence_date"].max().reindex(range(n))
    out["days_since_last"] = (out["index_date"] - last.to_numpy()).dt.days.astype(float)
    return out.drop(columns="_row").sort_values(keys, kind="mergesort").reset_index(drop=True)


@dataclass(frozen=True)
class OffendingSummary(ResultMixin):
    """Aggregate proven reoffending measures for one group (aggregates only)."""

    n_total: int
    n_complete: int
    n_incomplete: int
    reoffending_rate: float
    offences_per_person: float
    offences_per_reoffender: float
    mean_days_to_first: float
    violent_rate: float
    serious_rate: float
    custody_rate: float
    followup_months: int
    waiting_months: int
    data_end: str
    title: str = "Proven reoffending (Justice Data Lab rules)"

    def _rows(self) -> list[dict]:
        return [
            {"measure": "people with complete follow-up", "value": self.n_complete},
            {"measure": "excluded: follow-up incomplete", "value": self.n_incomplete},
            {"measure": "proven reoffending rate", "value": self.reoffending_rate},
            {"measure": "proven reoffences per person", "value": self.offences_per_person},
            {"measure": "proven reoffences per reoffender", "value": self.offences_per_reoffender},
            {"measure": "mean days to first proven reoffence (reoffenders)", "value": self.mean_days_to_first},
            {"measure": "violent proven reoffending rate", "value": self.violent_rate},
            {"measure": "serious violence proven reoffending rate", "value": self.serious_rate},
            {"measure": "custodial sentence rate", "value": self.custody_rate},
        ]

    def _notes(self) -> list[str]:
        return [f"{self.followup_months}-month follow-up plus {self.waiting_months} months for outcomes to be proven; "
                f"data to {self.data_end}. People without complete follow-up are excluded, not counted as non-reoffenders."]


def summarise_offending(outcomes: pd.DataFrame) -> OffendingSummary:
    """Aggregate the output of :func:`offending_outcomes` for one group."""
    c = outcomes[outcomes["followup_complete"]]
    reoff = c[c["reoffended"] == 1]

    def mean(s: pd.Series) -> float:
        return float(s.mean()) if len(s.dropna()) else float("nan")

    return OffendingSummary(
        n_total=len(outcomes),
        n_complete=len(c),
        n_incomplete=int((~outcomes["followup_complete"]).sum()),
        reoffending_rate=mean(c["reoffended"]),
        offences_per_person=mean(c["n_offences"]),
        offences_per_reoffender=mean(reoff["n_offences"]),
        mean_days_to_first=mean(reoff["days_to_first"]),
        violent_rate=mean(c["violent_reoffended"]),
        serious_rate=mean(c["serious_reoffended"]),
        custody_rate=mean(c["custody"]),
        followup_months=int(outcomes.attrs.get("followup_months", 0)),
        waiting_months=int(outcomes.attrs.get("waiting_months", 0)),
        data_end=str(outcomes.attrs.get("data_end", "")),
    )
