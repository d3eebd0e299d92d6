"""Intention to treat from referral, beside the per-protocol matched comparison.

The matched design compares the young people who **started** with a matched
comparison group (per protocol). A commissioner pays for referrals, and a
service that loses a quarter of its referrals before the first session does
less for the referred population than its starters' result suggests. Where the
participants table holds referrals that never started (``start_date`` empty,
``exit_reason`` the configured ``not_started_exit_reason``), this module
estimates the effect of **being referred**:

* **Population** (everyone referred): the per-protocol population plus the
  referrals that never started whose referral date is inside the protocol's
  window and whose age at referral is in its age range. Nobody who started is
  added or dropped, so the per-protocol population is part of it.
* **Index date**: the referral date for everyone (the start date when a starter's
  referral date is empty), so follow-up starts at referral for those who started
  and those who did not. Covariates are those recorded (``prior_offences``
  counts the 24 months before the start date, or before the referral for a
  referral that never started); age is the age at referral.
* **Estimate**: the same matching, outcome model and inference as the
  per-protocol matched design (same protocol settings), on this population.
* **Effect on those who started** (complier average causal effect, CACE):
  Bloom's (1984) adjustment, the intention-to-treat estimate divided by the share
  of referrals who started. Valid only if being referred does nothing for those
  who never start (no effect without a single session) and nobody in the
  comparison group received the intervention; its interval comes from the delta
  method with the share treated as estimated (independent of the intention-to-
  treat estimate: a slight approximation). It is labelled as such wherever shown.

Results are aggregates only (:class:`IntentionToTreat`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.analysis import data as ad
from evalkit.data.schemas import completed_years
from evalkit.protocol import Protocol
from evalkit.analysis.results import IntentionToTreat
from evalkit.results import Estimate


def not_started_rows(protocol: Protocol, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The intervention's referrals that never started (no start date)."""
    rows = ad.participants_all(protocol, tables)
    if rows.empty or "start_date" not in rows:
        return rows.iloc[0:0]
    return rows.loc[pd.to_datetime(rows["start_date"]).isna()]


def referred_population(protocol: Protocol, tables: dict[str, pd.DataFrame], people: pd.DataFrame) -> pd.DataFrame:
    """Everyone referred (see the module docstring): ``people`` plus the referrals that never started, with
    ``index_date`` the referral date, ``age`` the age at referral and ``started`` 1/0."""
    pop = protocol.population
    ns = not_started_rows(protocol, tables).copy()
    referral = pd.to_datetime(ns.get("referral_date"))
    keep = referral.notna()
    if pop.start_from is not None:
        keep &= referral >= pd.Timestamp(pop.start_from)
    if pop.start_to is not None:
        keep &= referral <= pd.Timestamp(pop.start_to)
    ns = ns.loc[keep].assign(index_date=referral[keep])
    started = people.copy()
    ref = pd.to_datetime(started["referral_date"]) if "referral_date" in started else pd.Series(pd.NaT,
                                                                                                 index=started.index)
    started["index_date"] = ref.fillna(pd.to_datetime(started["start_date"]))
    both = pd.concat([started.assign(started=1), ns.assign(started=0)], ignore_index=True)
    age = pd.to_numeric(both.get("age_at_start"), errors="coerce").astype(float)
    if "date_of_birth" in both:
        from_dob = completed_years(both["date_of_birth"], both["index_date"]).astype("float")
        age = from_dob.fillna(age)
    both["age"] = age
    both = both.loc[(both["started"] == 1) | both["age"].between(pop.age_min, pop.age_max) | both["age"].isna()]
    return both.sort_values("person_id", kind="mergesort").reset_index(drop=True)


def share_interval(k: int, n: int, alpha: float) -> tuple[float, float]:
    """Wilson interval of k/n."""
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(k, n, alpha=alpha, method="wilson")
    return float(lo), float(hi)


def bloom(itt: Estimate, share: float, n_referred: int, alpha: float) -> Estimate:
    """Bloom's (1984) complier average causal effect: ``itt`` / ``share`` (share of referrals who started).

    Standard error by the delta method with the share estimated from ``n_referred`` referrals (binomial
    variance) and taken as independent of the intention-to-treat estimate:
    ``se^2 = se_itt^2 / c^2 + itt^2 * c (1 - c) / (n c^4)``. Interval: normal (or t with the ITT's df).
    """
    c = float(share)
    est = itt.estimate / c
    var_c = c * (1 - c) / n_referred
    se = math.sqrt(itt.se ** 2 / c ** 2 + itt.estimate ** 2 * var_c / c ** 4)
    q = stats.t.ppf(1 - alpha / 2, itt.df) if itt.df else stats.norm.ppf(1 - alpha / 2)
    z = est / se if se > 0 else math.nan
    p = float(2 * (stats.t.sf(abs(z), itt.df) if itt.df else stats.norm.sf(abs(z)))) if se > 0 else math.nan
    return Estimate("Effect on those who started (Bloom adjustment)", est, se, est - q * se, est + q * se, p,
                    itt.scale, f"intention-to-treat estimate / share of referrals who started ({c:.3f}); "
                    "delta-method standard error (Bloom 1984)", itt.df, itt.level)


def intention_to_treat(protocol: Protocol, tables: dict[str, pd.DataFrame], people: pd.DataFrame, design,
                       per_protocol: dict) -> dict[str, IntentionToTreat]:
    """Intention-to-treat results (by outcome name) for a matched design's binary and count outcomes.

    ``per_protocol`` maps outcome name to the per-protocol :class:`~evalkit.analysis.results.OutcomeResult`.
    Empty when the data hold no referral that never started in the population window, or the matching
    cannot be made (the report then says why the per-protocol result stands alone).
    """
    from evalkit.analysis import designs as dz
    from evalkit.errors import EvalkitError

    everyone = referred_population(protocol, tables, people)
    n_ns = int((everyone["started"] == 0).sum()) if len(everyone) else 0
    if n_ns == 0:
        return {}
    sample = dz.matched_sample(protocol, tables, everyone, design)
    n = len(everyone)
    share = (n - n_ns) / n
    lo, hi = share_interval(n - n_ns, n, protocol.alpha)
    out: dict[str, IntentionToTreat] = {}
    for name in design.outcomes:
        o = protocol.outcome(name)
        pp = per_protocol.get(name)
        if o.kind == "time_to_reoffend" or pp is None or not pp.ok:
            continue
        try:
            res = dz.matched_outcome(protocol, sample, o, False)
        except (EvalkitError, np.linalg.LinAlgError):
            continue
        est = res.estimate
        if est is None or pp.estimate is None:
            continue
        cace = bloom(est, share, n, protocol.alpha) if share > 0 else None
        # a matched result always counts its comparison group (None only for designs without one)
        out[name] = IntentionToTreat(outcome=name, label=res.label, kind=o.kind, estimate=est,
                                     per_protocol=pp.estimate, cace=cace, n_referred=n, n_not_started=n_ns,
                                     n_matched=res.n, n_comparison=res.n_comparison or 0, share_started=share,
                                     share_started_low=lo, share_started_high=hi,
                                     higher_is_better=o.higher_is_better)
    return out


def with_intention_to_treat(protocol: Protocol, tables: dict[str, pd.DataFrame], people: pd.DataFrame, design,
                            results: list) -> list:
    """The matched design's results with ``details.itt`` (:class:`IntentionToTreat`) where the data hold referrals
    that never started, or ``details.itt_reason`` when that analysis could not run. The per-protocol results
    themselves are unchanged."""
    from dataclasses import replace

    from evalkit.errors import EvalkitError, redact

    if not len(not_started_rows(protocol, tables)):
        return results
    try:
        itt = intention_to_treat(protocol, tables, people, design, {r.outcome: r for r in results})
    except EvalkitError as exc:
        reason = redact(str(exc)).strip().rstrip(".")
        return [replace(r, details=replace(r.details, itt_reason=reason)) if r.ok else r for r in results]
    return [replace(r, details=replace(r.details, itt=itt[r.outcome])) if r.outcome in itt else r for r in results]


__all__ = ["IntentionToTreat", "intention_to_treat", "with_intention_to_treat", "referred_population",
           "not_started_rows", "bloom"]
