"""Person-period offending panels for difference-in-differences.

Turns the data contract's offences table and an index table (participants'
``start_date`` or the comparison pool's ``index_date``) into a long panel of
proven offences in equal windows before and after each person's index date:
the input of :func:`~evalkit.designs.did.twobytwo.did_2x2`,
:func:`~evalkit.designs.did.twobytwo.matched_did` and
:func:`~evalkit.designs.did.event_study.event_study`.

"Proven" means an outcome listed in the configuration's ``proven_outcomes``
(Justice Data Lab: caution or conviction). People whose last post window ends
after ``data_end`` have incomplete follow-up and are left out (counted in
``attrs``), so the panel is balanced.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.designs.did._common import require_columns
from evalkit.errors import SpecError


def offending_panel(index: pd.DataFrame, offences: pd.DataFrame, *, windows_before: int = 1,
                    windows_after: int = 1, window_months: int = 12, data_end: str | pd.Timestamp | None = None,
                    groups: list[str] | None = None, proven_outcomes: list[str] | None = None,
                    keep_columns: tuple[str, ...] = ("treated", "intervention_id", "subclass")) -> pd.DataFrame:
    """Long panel of proven offences per person and window around the index date.

    Parameters
    ----------
    index
        One row per person: ``person_id`` and ``index_date`` (or
        ``start_date``), plus any of ``keep_columns`` to carry along.
    offences
        Data-contract offences (``person_id``, ``offence_date``, ``outcome``,
        ``offence_group``).
    windows_before, windows_after
        Number of windows before and after the index date.
    window_months
        Window length in calendar months.
    data_end
        Last date the offence extract covers (default: latest offence date).
    groups
        Offence groups to count (default: all), e.g. the configuration's
        ``violent_offence_groups``.
    proven_outcomes
        Outcomes that count as proven (default: from the VRU configuration).

    Returns
    -------
    DataFrame
        ``person_id``, ``window`` (-windows_before .. windows_after-1, 0 =
        first window after the index date), ``post`` (0/1), ``offences``
        (count), ``any_offence`` (0/1), and the carried columns. ``attrs``
        holds ``n_incomplete`` and ``data_end``.
    """
    what = "offending_panel"
    idx = index.copy()
    if "index_date" not in idx.columns and "start_date" in idx.columns:
        idx = idx.rename(columns={"start_date": "index_date"})
    require_columns(idx, ["person_id", "index_date"], what=what)
    require_columns(offences, ["person_id", "offence_date", "outcome"], what=what)
    if windows_before < 1 or windows_after < 1 or window_months < 1:
        raise SpecError(f"{what}: windows_before, windows_after and window_months must be at least 1.")
    if idx["person_id"].duplicated().any():
        raise SpecError(f"{what}: the index table repeats a person_id; give one index date per person.")
    if proven_outcomes is None:
        from evalkit.data.config import load_config

        proven_outcomes = list(load_config().proven_outcomes)
    idx["index_date"] = pd.to_datetime(idx["index_date"])
    off = offences.loc[offences["outcome"].isin(proven_outcomes), ["person_id", "offence_date"]
                       + (["offence_group"] if groups is not None else [])].copy()
    if groups is not None:
        off = off[off["offence_group"].isin(groups)]
    off["offence_date"] = pd.to_datetime(off["offence_date"])
    end = pd.Timestamp(data_end) if data_end is not None else pd.to_datetime(offences["offence_date"]).max()
    last = idx["index_date"] + pd.DateOffset(months=windows_after * window_months)
    complete = (last <= end).to_numpy()
    idx_c = idx.loc[complete]
    ks = np.arange(-windows_before, windows_after)
    panel = idx_c[["person_id"]].merge(pd.DataFrame({"window": ks}), how="cross")
    # Window k covers [index + k*m months, index + (k+1)*m months).
    merged = off.merge(idx_c[["person_id", "index_date"]], on="person_id", how="inner")
    months = ((merged["offence_date"].dt.year - merged["index_date"].dt.year) * 12
              + merged["offence_date"].dt.month - merged["index_date"].dt.month)
    before_day = merged["offence_date"].dt.day < merged["index_date"].dt.day
    months = months - before_day.astype(int)  # whole months elapsed (negative before the index date)
    merged["window"] = np.floor_divide(months.to_numpy(), window_months)
    counts = (merged[(merged["window"] >= ks[0]) & (merged["window"] <= ks[-1])]
              .groupby(["person_id", "window"]).size().rename("offences").reset_index())
    panel = panel.merge(counts, on=["person_id", "window"], how="left")
    panel["offences"] = panel["offences"].fillna(0).astype(int)
    panel["any_offence"] = (panel["offences"] > 0).astype(int)
    panel["post"] = (panel["window"] >= 0).astype(int)
    carry = [c for c in keep_columns if c in idx_c.columns]
    if carry:
        panel = panel.merge(idx_c[["person_id", *carry]], on="person_id", how="left")
    panel = panel.sort_values(["person_id", "window"], kind="mergesort").reset_index(drop=True)
    panel.attrs.update({"n_incomplete": int((~complete).sum()), "data_end": str(end.date())})
    return panel


__all__ = ["offending_panel"]
