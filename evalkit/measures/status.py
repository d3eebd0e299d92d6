"""Status outcomes: education/training/employment (NEET), substance use,
peer and family relationships, and onward referrals (pathways of support).

Statuses come from the ``statuses`` table (one row per person, intervention,
timepoint and domain). Rules:

* ETE: ``neet`` is 1 for ``neet``, 0 for ``in_education``, ``in_training``
  or ``employed``, and missing for ``other`` (it cannot be classified);
  ``in_ete`` is its complement on the same rows.
* Substance use is ordinal: none (0) < less than monthly (1) < monthly (2) <
  weekly (3) < daily (4), lower is better.
* Relationship ratings are 1-5, higher is better.
* If a domain is recorded more than once at a timepoint, the latest
  ``status_date`` is used; two different values on that same latest date are
  a :class:`~evalkit.errors.DataError` (the rule must not depend on row order).

Referrals come from ``onward_referrals``: per person and intervention the
number of referrals made, the number taken up and the take-up rate; people
in ``participants`` with no referral get zeros.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.errors import DataError, MissingDataError, Problem
from evalkit.measures._common import as_bool, get_config, require_columns, sort_by_timepoint

KEYS = ["person_id", "intervention_id", "timepoint"]
ETE_IN = ("in_education", "in_training", "employed")
SUBSTANCE_LEVELS = ("none", "less_than_monthly", "monthly", "weekly", "daily")

#: Direction of each status measure (True: higher is better).
HIGHER_IS_BETTER = {"neet": False, "in_ete": True, "substance_use_level": False,
                    "peer_relationships": True, "family_relationships": True}


def _latest(st: pd.DataFrame) -> pd.DataFrame:
    st = st.copy()
    st["status_date"] = pd.to_datetime(st["status_date"], errors="coerce")
    st["value"] = st["value"].astype("string").str.strip().str.lower().str.removesuffix(".0")
    last = st.groupby(KEYS + ["domain"])["status_date"].transform("max")
    top = st[(st["status_date"] == last) | (last.isna() & st["status_date"].isna())]
    clash = top.groupby(KEYS + ["domain"])["value"].nunique() > 1
    if clash.any():
        k = clash[clash].index[0]
        raise DataError(Problem(
            file="statuses", column="value",
            message=f"{int(clash.sum())} person/timepoint/domain(s) have different values on the same latest date "
                    f"(first: person {k[0]}, intervention {k[1]}, {k[2]}, {k[3]}).",
            fix="Keep one status per domain and timepoint, or give the later one a later status_date."))
    return top.drop_duplicates(KEYS + ["domain"])


def status_outcomes(statuses: pd.DataFrame, *, cfg=None) -> pd.DataFrame:
    """One row per person, intervention and timepoint with status measures.

    Columns: ``ete_status``, ``neet``, ``in_ete``, ``substance_use``,
    ``substance_use_level``, ``peer_relationships``,
    ``family_relationships`` (missing where not recorded).
    """
    cfg = get_config(cfg)
    require_columns(statuses, KEYS + ["status_date", "domain", "value"], table="statuses", purpose="Status outcomes")
    st = _latest(statuses)
    allowed = pd.MultiIndex.from_tuples([(d, v) for d, vals in cfg.status_domains.items() for v in vals])
    bad = ~pd.MultiIndex.from_frame(st[["domain", "value"]].astype(object)).isin(allowed)
    if bad.any():
        r = st[bad].iloc[0]
        raise DataError(Problem(file="statuses", column="value",
                                message=f"{int(bad.sum())} status value(s) are not allowed for their domain "
                                        f"(first: '{r['value']}' for '{r['domain']}').",
                                fix="Use the domain values of the VRU configuration (status_domains)."))
    wide = st.pivot(index=KEYS, columns="domain", values="value")
    out = pd.DataFrame(index=wide.index)
    ete = wide.get("ete", pd.Series(pd.NA, index=wide.index, dtype="string"))
    out["ete_status"] = ete
    out["neet"] = np.select([ete.eq("neet").fillna(False), ete.isin(ETE_IN).fillna(False)], [1.0, 0.0], np.nan)
    out["in_ete"] = 1.0 - out["neet"]
    sub = wide.get("substance_use", pd.Series(pd.NA, index=wide.index, dtype="string"))
    out["substance_use"] = pd.Categorical(sub, categories=list(SUBSTANCE_LEVELS), ordered=True)
    out["substance_use_level"] = sub.map({v: float(i) for i, v in enumerate(SUBSTANCE_LEVELS)}).astype(float)
    for dom in ("peer_relationships", "family_relationships"):
        out[dom] = pd.to_numeric(wide.get(dom, pd.Series(np.nan, index=wide.index)), errors="coerce").astype(float)
    return sort_by_timepoint(out.reset_index(), cfg)


def status_change(outcomes: pd.DataFrame, measure: str, *, pre: str = "baseline", post: str = "exit") -> pd.DataFrame:
    """Pre/post values of one status measure with the change and its direction.

    ``measure`` is a column of :func:`status_outcomes` (``neet``, ``in_ete``,
    ``substance_use_level``, ``peer_relationships``, ``family_relationships``).
    Returns person_id, intervention_id, pre, post, change (post - pre) and
    ``direction`` (improved / same / worse, missing unless both are known).
    For ``neet``, improved means moving out of NEET.
    """
    if measure not in HIGHER_IS_BETTER:
        raise MissingDataError(f"Unknown status measure '{measure}'; use one of {', '.join(HIGHER_IS_BETTER)}.")
    from evalkit.measures.scoring import wide_prepost

    w = wide_prepost(outcomes, measure, pre=pre, post=post)
    w["change"] = w["post"] - w["pre"]
    better = w["change"] if HIGHER_IS_BETTER[measure] else -w["change"]
    w["direction"] = pd.Categorical(
        np.select([better > 0, better < 0, better == 0], ["improved", "worse", "same"], default=None),
        categories=["worse", "same", "improved"], ordered=True)
    return w


def referral_outcomes(onward_referrals: pd.DataFrame, *, participants: pd.DataFrame | None = None) -> pd.DataFrame:
    """Referrals made and taken up per person and intervention.

    Columns: ``n_referrals``, ``n_taken_up``, ``any_referral``,
    ``any_taken_up``, ``take_up_rate`` (taken up / made; missing with no
    referral) and ``services`` (sorted, comma-separated). With
    ``participants``, everyone in it appears (zeros when never referred);
    referrals of people not in it are kept.
    """
    keys = ["person_id", "intervention_id"]
    require_columns(onward_referrals, keys + ["service", "referral_date", "taken_up"], table="onward_referrals",
                    purpose="Referral outcomes")
    r = onward_referrals.copy()
    r["taken_up"] = as_bool(r["taken_up"]).fillna(False).astype(bool)
    g = r.groupby(keys)
    out = pd.DataFrame({
        "n_referrals": g.size(),
        "n_taken_up": g["taken_up"].sum().astype(int),
        "services": g["service"].agg(lambda s: ", ".join(sorted(set(map(str, s))))),
    })
    if participants is not None:
        require_columns(participants, keys, table="participants", purpose="Referral outcomes")
        base = pd.MultiIndex.from_frame(participants[keys].drop_duplicates())
        out = out.reindex(base.union(out.index))
        out["n_referrals"] = out["n_referrals"].fillna(0).astype(int)
        out["n_taken_up"] = out["n_taken_up"].fillna(0).astype(int)
        out["services"] = out["services"].fillna("")
    out["any_referral"] = out["n_referrals"] > 0
    out["any_taken_up"] = out["n_taken_up"] > 0
    out["take_up_rate"] = (out["n_taken_up"] / out["n_referrals"]).where(out["n_referrals"] > 0)
    out.index.names = keys
    return out.reset_index().sort_values(keys, kind="mergesort").reset_index(drop=True)
