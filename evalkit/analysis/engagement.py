"""Attendance as a protocol outcome: sessions attended, dose bands and completion.

An ``engagement`` design describes take-up; it has no comparison, so it says
nothing about impact (the report says so, and the result carries no
standardised effect, so the portfolio never ranks it beside effects).

Rules (stated in the report's method notes):

* Sessions are rows of ``contacts`` for the intervention; attended sessions
  have ``attended`` true (:func:`evalkit.measures.attendance.engagement`).
  Participants in the population with no contact rows attended none.
* **Completed** follows the intervention's ``completion_min_sessions`` when the
  interventions table sets it (attended at least that many sessions),
  otherwise the exit reason the configuration names (``completion_exit_reason``);
  people still ongoing are left out.
* **Share completed**: Wilson score interval (Newcombe 1998, method 3); with a
  ``target``, an exact two-sided binomial test against it.
* **Sessions attended** and **attendance rate**: mean with a t interval; with a
  ``target``, a one-sample t-test against it.
* **Dose bands**: people by sessions attended, bands from the protocol or the
  VRU configuration (``engagement.dose_bands``); counts are disclosure-controlled
  when shown.
* A share whose numerator or remainder is below the disclosure threshold is not
  estimated (showing it would reveal a small count of people).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.analysis import data as ad
from evalkit.analysis.results import OutcomeDetails, OutcomeResult
from evalkit.errors import EvalkitError, InsufficientDataError
from evalkit.protocol import Protocol
from evalkit.results import Estimate

LABEL = "Attendance"
MEASURE_WORDS = {"completed": "Completed the programme", "sessions_attended": "Sessions attended",
                 "attendance_rate": "Share of offered sessions attended"}
KEYS = ["person_id", "intervention_id"]


def dose_band_labels(edges: list[int]) -> list[str]:
    """Labels of the bands: ``none``, then ``1-3``, ``4-7``, ..., ``12 or more`` for edges [1, 4, 8, 12]."""
    out = ["none"] if edges[0] > 0 else []
    for lo, hi in zip(edges, [*edges[1:], None]):
        if hi is None:
            out.append(f"{lo} or more")
        elif hi - lo == 1:
            out.append(str(lo))
        else:
            out.append(f"{lo}-{hi - 1}")
    return out


def dose_bands(sessions: pd.Series, edges: list[int]) -> list[tuple[str, int]]:
    """People per band of sessions attended (raw counts; controlled when shown), every band listed."""
    bins = [-math.inf, *edges, math.inf] if edges[0] > 0 else [*edges, math.inf]
    cut = pd.cut(pd.to_numeric(sessions, errors="coerce").fillna(0), bins=bins, right=False,
                 labels=dose_band_labels(edges))
    counts = cut.value_counts().reindex(dose_band_labels(edges), fill_value=0)
    return [(str(k), int(v)) for k, v in counts.items()]


def wilson(k: int, n: int, alpha: float) -> tuple[float, float]:
    """Wilson score interval for k successes of n (Newcombe 1998, method 3)."""
    z = stats.norm.ppf(1 - alpha / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def person_engagement(protocol: Protocol, tables: dict, people: pd.DataFrame) -> pd.DataFrame:
    """Engagement per person of the population (one row each, zeros for people with no contacts)."""
    from evalkit.measures.attendance import engagement

    contacts = ad.table(tables, "contacts")
    mine = contacts.loc[contacts["intervention_id"] == protocol.intervention_id]
    cols = KEYS + (["exit_reason"] if "exit_reason" in people else [])
    who = people[cols].drop_duplicates(KEYS)
    if who.empty:
        raise InsufficientDataError("no participants in the evaluation period")
    if mine.empty:
        mine = contacts.iloc[0:0]
    eng = engagement(mine, who, interventions=tables.get("interventions"))
    return eng.loc[eng["person_id"].isin(set(who["person_id"]))].reset_index(drop=True)


def completion_rule(protocol: Protocol, tables: dict) -> str:
    """The completion rule in force for this intervention, in words."""
    inter = tables.get("interventions")
    if inter is not None and "completion_min_sessions" in inter:
        row = inter.loc[inter["intervention_id"] == protocol.intervention_id, "completion_min_sessions"]
        need = pd.to_numeric(row, errors="coerce").dropna()
        if len(need):
            return f"attended at least {int(need.iloc[0])} sessions (the intervention's completion_min_sessions)"
    from evalkit.data.config import load_config

    reason = load_config().completion_exit_reason
    return f"left with the exit reason '{reason}' (no completion_min_sessions is set for the intervention)"


def run_engagement(protocol: Protocol, tables: dict, people: pd.DataFrame, design: Any) -> list[OutcomeResult]:
    """Each engagement outcome of ``design`` (see the module docstring)."""
    from evalkit.analysis.designs import failed
    from evalkit.data.config import load_config

    cfg = load_config()
    first = protocol.primary_outcomes[0].name if protocol.primary_outcomes else None
    out: list[OutcomeResult] = []
    try:
        eng = person_engagement(protocol, tables, people)
    except EvalkitError as exc:
        for ref in design.outcomes:
            o = protocol.outcome(ref)
            out.append(failed("engagement", o, str(exc).split(". Fix:")[0], primary=o.name == first,
                              label=o.label or MEASURE_WORDS[o.measure]))
        return out
    for k, ref in enumerate(design.outcomes):
        o = protocol.outcome(ref)
        edges = list(o.dose_bands or cfg.engagement.dose_bands)
        bands = dose_bands(eng["sessions_attended"], edges)
        label = o.label or MEASURE_WORDS[o.measure]
        try:
            est, n, sentence, _ = _estimate(o, eng, protocol, tables)  # the method is est.method
        except InsufficientDataError as exc:
            out.append(failed("engagement", o, str(exc), primary=o.name == first, label=label))
            continue
        null = o.target if o.target is not None else est.estimate  # no target: nothing to compare with
        out.append(OutcomeResult(
            design="engagement", design_label=LABEL, outcome=o.name, label=label, kind="engagement",
            primary=o.name == first, estimate=est, higher_is_better=o.higher_is_better, null=null, n=n, sms=0,
            evidence="describes attendance only: with no comparison it is not a measure of effect",
            sentence=sentence, result=None,
            # the dose-band table is the design's, shown once (with its first outcome)
            details=OutcomeDetails(dose_bands=tuple(bands) if k == 0 else (),
                                   completion_rule=completion_rule(protocol, tables),
                                   sessions_total=int(eng["sessions_attended"].sum()))))
    return out


def _estimate(o: Any, eng: pd.DataFrame, protocol: Protocol, tables: dict) -> tuple[Estimate, int, str, str]:
    from evalkit.analysis.designs import filled

    alpha, t = protocol.alpha, filled(protocol.disclosure_threshold, "disclosure_threshold")
    level = round(100 * (1 - alpha))
    if o.measure == "completed":
        known = eng["completed"].dropna()
        n, k = len(known), int(known.sum())
        if n == 0:
            raise InsufficientDataError("no participant has a known completion status yet")
        if 0 < k < t or 0 < n - k < t:
            raise InsufficientDataError(f"not shown: fewer than {t} young people completed, or did not "
                                        "complete, and the share would reveal that number")
        lo, hi = wilson(k, n, alpha)
        p_value = stats.binomtest(k, n, o.target).pvalue if o.target is not None and 0 < o.target < 1 else math.nan
        rule = completion_rule(protocol, tables)
        method = f"Share completed (completed = {rule}); Wilson score interval" + (
            f"; exact binomial test against the target {o.target:.0%}" if o.target is not None else "")
        est = Estimate(o.name, k / n, math.sqrt(k / n * (1 - k / n) / n), lo, hi, p_value, "share completed",
                       method)
        sentence = (f"{100 * k / n:.0f}% of young people completed ({level}% confidence interval "
                    f"{100 * lo:.0f}% to {100 * hi:.0f}%); completing means having {rule.split(' (')[0]}.")
        if o.target is not None:
            sentence += f" The target was {o.target:.0%}."
        return est, n, sentence, method
    column = "sessions_attended" if o.measure == "sessions_attended" else "attendance_rate"
    x = pd.to_numeric(eng[column], errors="coerce").dropna().to_numpy(dtype=float)
    n = len(x)
    if n < 2:
        raise InsufficientDataError(f"{n} young people with attendance recorded; at least 2 are needed")
    mean, sd = float(np.mean(x)), float(np.std(x, ddof=1))
    se = sd / math.sqrt(n)
    q = stats.t.ppf(1 - alpha / 2, n - 1)
    lo, hi = (mean - q * se, mean + q * se) if se > 0 else (mean, mean)
    p_value = float(stats.ttest_1samp(x, o.target).pvalue) if o.target is not None and se > 0 else math.nan
    scale = "mean sessions attended" if column == "sessions_attended" else "mean share of sessions attended"
    method = f"Mean with a t interval ({n - 1} degrees of freedom)" + (
        f"; one-sample t-test against the target {o.target:g}" if o.target is not None else "")
    est = Estimate(o.name, mean, se, lo, hi, p_value, scale, method, float(n - 1))
    if column == "sessions_attended":
        sentence = (f"Young people attended {mean:.1f} sessions on average ({level}% confidence interval "
                    f"{lo:.1f} to {hi:.1f}).")
    else:
        sentence = (f"Young people attended {100 * mean:.0f}% of the sessions offered to them on average "
                    f"({level}% confidence interval {100 * lo:.0f}% to {100 * hi:.0f}%).")
    if o.target is not None:
        sentence += f" The target was {o.target:g}."
    return est, n, sentence, method


__all__ = ["run_engagement", "person_engagement", "dose_bands", "dose_band_labels", "wilson", "completion_rule"]
