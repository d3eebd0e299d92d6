"""What the averted offences would have been: the comparison group's offence mix.

An intervention's effect is estimated on all proven offences; to cost it, the
offences averted are shared between offence groups in the proportions the
matched comparison group committed them in the same follow-up window (the
offences participants would have committed without the intervention, under
the design's own assumption). Counting rules are the Justice Data Lab's, as in
:func:`evalkit.measures.offending_outcomes`: an offence committed after the
index date and within the window, proven (caution or conviction) within the
window plus the waiting period. Only aggregates leave this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from evalkit.errors import MissingDataError


@dataclass(frozen=True)
class OffenceMix:
    """Weighted proven offences by offence group in the window, and offences per person who reoffended.

    ``counts`` are the weighted offences by group (the Dirichlet draws of the mix in
    :func:`evalkit.value.value_for_money` start from them); ``offences_per_reoffender_se`` is the standard error
    of the weighted mean ``offences_per_reoffender`` over the ``n_reoffenders`` people who reoffended
    (``sqrt(Σ w² (x - m)²) / Σ w``, the sandwich variance of a weighted mean with fixed weights).
    """

    shares: Mapping[str, float]
    offences_per_reoffender: float
    n_offences: float
    n_people: float
    counts: Mapping[str, float] | None = None
    offences_per_reoffender_se: float | None = None
    n_reoffenders: float | None = None

    def as_json(self) -> dict:
        return {"shares": dict(self.shares), "offences_per_reoffender": self.offences_per_reoffender,
                "offences_per_reoffender_se": self.offences_per_reoffender_se}


def _add_months(d: pd.Series, months: int) -> pd.Series:
    return d + pd.DateOffset(months=months)


def offence_group_mix(offences: pd.DataFrame, index: pd.DataFrame, *, followup_months: int, waiting_months: int,
                      proven_outcomes: Iterable[str], weight: str | None = None) -> OffenceMix:
    """Shares of proven offences by group among ``index`` people (weighted by ``weight``, e.g. matching weights).

    Parameters
    ----------
    offences
        The offences table (person_id, offence_date, offence_group, outcome, outcome_date).
    index
        One row per person: person_id, index_date and optionally the weight column.
    followup_months, waiting_months
        The outcome's window and waiting period.
    proven_outcomes
        Offence outcomes that count as proven (configuration ``proven_outcomes``).

    Raises
    ------
    MissingDataError
        When the people committed no proven offence in the window (there is no mix to use).
    """
    idx = index[["person_id", "index_date"] + ([weight] if weight else [])].copy()
    idx["person_id"] = idx["person_id"].astype(str)
    idx["index_date"] = pd.to_datetime(idx["index_date"])
    idx["_w"] = idx[weight].astype(float) if weight else 1.0
    idx = idx.loc[idx["_w"] > 0].reset_index(drop=True)
    idx["_row"] = np.arange(len(idx))
    off = offences.loc[offences["outcome"].isin(set(proven_outcomes)),
                       ["person_id", "offence_date", "offence_group", "outcome_date"]].copy()
    off["person_id"] = off["person_id"].astype(str)
    off["offence_date"] = pd.to_datetime(off["offence_date"])
    off["outcome_date"] = pd.to_datetime(off["outcome_date"])
    j = idx.merge(off, on="person_id", how="inner")
    end = _add_months(j["index_date"], followup_months)
    proven_by = _add_months(j["index_date"], followup_months + waiting_months)
    j = j[(j["offence_date"] > j["index_date"]) & (j["offence_date"] <= end) & (j["outcome_date"] <= proven_by)]
    if j.empty:
        raise MissingDataError("the comparison group committed no proven offence in the follow-up window, so "
                               "there is no offence mix to cost the effect with")
    by_group = j.groupby("offence_group")["_w"].sum()
    total = float(by_group.sum())
    per_row = j.groupby("_row")["_w"].agg(["size", "first"])
    w = per_row["first"].to_numpy(float)
    x = per_row["size"].to_numpy(float)
    reoffenders_w = float(w.sum())
    per_reoffender = float((x * w).sum() / reoffenders_w)
    se = float(np.sqrt(np.sum(w ** 2 * (x - per_reoffender) ** 2)) / reoffenders_w)
    ordered = by_group.sort_index()
    return OffenceMix(shares={str(g): float(v / total) for g, v in ordered.items()},
                      offences_per_reoffender=per_reoffender, n_offences=total, n_people=float(idx["_w"].sum()),
                      counts={str(g): float(v) for g, v in ordered.items()}, offences_per_reoffender_se=se,
                      n_reoffenders=reoffenders_w)


__all__ = ["OffenceMix", "offence_group_mix"]
