"""Person-period offending panels for difference-in-differences.

Turns the data contract's offences table and an index table (participants'
``start_date`` or the comparison pool's ``index_date``) into a long panel of
proven offences in equal windows before and after each person's index date:
the input of :func:`~evalkit.designs.did.twobytwo.did_2x2`,
:func:`~evalkit.designs.did.twobytwo.matched_did` and
:func:`~evalkit.designs.did.event_study.event_study`.

"Proven" means an outcome listed in the configuration's ``proven_outcomes``
(Justice Data Lab: caution or conviction). Windows after the index date are
``(index + k*m, index + (k+1)*m]`` (the index-day offence, e.g. the arrest that
led to a custody referral, is not an outcome); windows before are
``[index - k*m, index - (k-1)*m)``, so the last one ends the day before the
index date, as ``prior_offences`` in the data contract. People whose last
window plus the waiting period ends after ``data_end`` have incomplete
follow-up and are left out (counted in ``attrs``), so the panel is balanced.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.designs.did._common import require_columns
from evalkit.errors import SpecError


def offending_panel(index: pd.DataFrame, offences: pd.DataFrame, *, windows_before: int = 1,
                    windows_after: int = 1, window_months: int = 12, waiting_months: int = 6,
                    data_end: str | pd.Timestamp | None = None,
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
    waiting_months
        After-window offences count only if proven (``outcome_date``) within
        this many months of the window's end, and people need that much time
        after their last window before ``data_end`` (Justice Data Lab: 6).
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
    cols = ["person_id", "offence_date"] + [c for c in ("outcome_date", "offence_group") if c in offences.columns]
    off = offences.loc[offences["outcome"].isin(proven_outcomes), cols].copy()
    if groups is not None:
        off = off[off["offence_group"].isin(groups)]
    off["offence_date"] = pd.to_datetime(off["offence_date"])
    end = pd.Timestamp(data_end) if data_end is not None else pd.to_datetime(offences["offence_date"]).max()
    last = idx["index_date"] + pd.DateOffset(months=windows_after * window_months + waiting_months)
    complete = (last <= end).to_numpy()
    idx_c = idx.loc[complete]
    ks = np.arange(-windows_before, windows_after)
    panel = idx_c[["person_id"]].merge(pd.DataFrame({"window": ks}), how="cross")
    merged = off.merge(idx_c[["person_id", "index_date"]], on="person_id", how="inner")
    merged["window"] = np.nan
    date = merged["offence_date"]
    for k in ks:
        lo = merged["index_date"] + pd.DateOffset(months=int(k) * window_months)
        hi = merged["index_date"] + pd.DateOffset(months=int(k + 1) * window_months)
        if k >= 0:  # after: (lo, hi], and proven within the waiting period (Justice Data Lab)
            inside = (date > lo) & (date <= hi)
            if "outcome_date" in merged.columns:
                od = pd.to_datetime(merged["outcome_date"])
                inside &= od.isna() | (od <= hi + pd.DateOffset(months=waiting_months))
        else:  # before: [lo, hi), i.e. up to the day before the index date
            inside = (date >= lo) & (date < hi)
        merged.loc[inside, "window"] = k
    counts = (merged.dropna(subset=["window"]).astype({"window": int})
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
