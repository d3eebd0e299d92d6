"""Engagement and dosage per person: sessions offered and attended, minutes
attended, time engaged and completion.

Completion follows the intervention's own definition:

* if ``interventions.completion_min_sessions`` is set for the intervention,
  a participant completed when ``sessions_attended >= completion_min_sessions``;
* otherwise a participant completed when ``participants.exit_reason`` is
  the configured completion reason (``completion_exit_reason`` in the VRU
  configuration; ``"completed"`` by default).

Both ingredients are returned (``completed_by_sessions``,
``completed_by_exit_reason``) so an evaluator can apply the other rule.
A session is a row of ``contacts``: offered sessions are all rows, attended
ones have ``attended`` true. Participants with no contact rows get zeros.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.measures._common import as_bool, require_columns

KEYS = ["person_id", "intervention_id"]


def engagement(
    contacts: pd.DataFrame,
    participants: pd.DataFrame | None = None,
    *,
    interventions: pd.DataFrame | None = None,
    completed_reason: str | None = None,
) -> pd.DataFrame:
    """Engagement per person and intervention.

    Columns: ``sessions_offered``, ``sessions_attended``, ``attendance_rate``,
    ``minutes_attended`` (dosage; missing if durations are not recorded),
    ``first_contact``, ``last_contact``, ``days_engaged`` (first to last
    attended contact), ``completed_by_sessions``,
    ``completed_by_exit_reason``, ``completed``. ``completed_reason`` is the exit
    reason that means completed (default: the VRU configuration's
    ``completion_exit_reason``).
    """
    if completed_reason is None:
        from evalkit.data.config import load_config  # lazy: the configuration reads YAML

        completed_reason = load_config().completion_exit_reason
    require_columns(contacts, KEYS + ["contact_date", "attended"], table="contacts", purpose="Engagement")
    c = contacts.copy()
    c["attended"] = as_bool(c["attended"]).fillna(False).astype(bool)
    c["contact_date"] = pd.to_datetime(c["contact_date"], errors="coerce")
    has_minutes = "duration_minutes" in c.columns
    c["_min"] = pd.to_numeric(c["duration_minutes"], errors="coerce").where(c["attended"], 0.0) if has_minutes else np.nan
    g = c.groupby(KEYS)
    att = c[c["attended"]].groupby(KEYS)
    out = pd.DataFrame({"sessions_offered": g.size(), "sessions_attended": g["attended"].sum().astype(int)})
    out["minutes_attended"] = g["_min"].sum(min_count=1) if has_minutes else np.nan
    out["first_contact"] = att["contact_date"].min()
    out["last_contact"] = att["contact_date"].max()
    if participants is not None:
        require_columns(participants, KEYS, table="participants", purpose="Engagement")
        idx = pd.MultiIndex.from_frame(participants[KEYS].drop_duplicates())
        out = out.reindex(idx.union(out.index))
        out[["sessions_offered", "sessions_attended"]] = out[["sessions_offered", "sessions_attended"]].fillna(0).astype(int)
        if has_minutes:
            out["minutes_attended"] = out["minutes_attended"].where(out["sessions_offered"] > 0, 0.0)
    out.index.names = KEYS
    out["attendance_rate"] = (out["sessions_attended"] / out["sessions_offered"]).where(out["sessions_offered"] > 0)
    out["days_engaged"] = (out["last_contact"] - out["first_contact"]).dt.days.astype(float)
    out = out.reset_index()

    out["completed_by_sessions"] = np.nan
    if interventions is not None and "completion_min_sessions" in interventions.columns:
        require_columns(interventions, ["intervention_id"], table="interventions", purpose="Engagement")
        mins = pd.to_numeric(interventions.set_index("intervention_id")["completion_min_sessions"], errors="coerce")
        need = out["intervention_id"].map(mins)
        out["completed_by_sessions"] = np.where(need.notna(), (out["sessions_attended"] >= need).astype(float), np.nan)
    out["completed_by_exit_reason"] = np.nan
    if participants is not None and "exit_reason" in participants.columns:
        ex = participants.drop_duplicates(KEYS).set_index(KEYS)["exit_reason"].astype("string").str.strip().str.lower()
        reason = pd.Series(pd.MultiIndex.from_frame(out[KEYS]).map(ex.to_dict()), index=out.index)
        known = reason.notna() & (reason != "ongoing")
        out["completed_by_exit_reason"] = np.where(known, (reason == completed_reason.lower()).astype(float), np.nan)
    out["completed"] = np.where(out["completed_by_sessions"].notna(), out["completed_by_sessions"],
                                out["completed_by_exit_reason"])
    cols = KEYS + ["sessions_offered", "sessions_attended", "attendance_rate", "minutes_attended", "first_contact",
                   "last_contact", "days_engaged", "completed_by_sessions", "completed_by_exit_reason", "completed"]
    return out[cols].sort_values(KEYS, kind="mergesort").reset_index(drop=True)
