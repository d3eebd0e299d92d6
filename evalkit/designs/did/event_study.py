"""Event study: leads and lags of the treatment start in a two-way fixed-effects regression.

``y_it = a_i + l_t + sum_{e != ref} b_e 1[t - g_i = e] + e_it`` with ``g_i``
the unit's first treated period (never-treated units have every indicator 0)
and the reference period ``e = -1``. End points can be binned (all ``e <= lo``
in one indicator, all ``e >= hi`` in another) or the rows outside the window
dropped; they are never silently pooled with the reference period. SEs as
:func:`~evalkit.designs.did.twfe.twfe` (CR1, unit FE nested in clusters not
counted, t with G - 1 df). The pre-trend test is the joint Wald test that
all lead coefficients are zero, reported as F(q, G - 1) = W/q (Stata's
``test`` after a clustered regression).

With staggered timing and effects that differ by cohort the lead and lag
coefficients mix cohorts with non-convex weights (Sun & Abraham 2021); use
:func:`~evalkit.designs.did.staggered.callaway_santanna` (its ``dynamic``
aggregation) there. Without never-treated units the most negative event
time is also dropped, since otherwise the indicators are collinear with the
period effects (Borusyak, Jaravel & Spiess 2024).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evalkit.designs.did._common import PreTrendTest, did_evidence, numeric, require_columns, t_estimate, wald_test
from evalkit.designs.did.twfe import fit_fe, prepare_panel, unit_cohorts
from evalkit.errors import InsufficientDataError, SpecError
from evalkit.results import EvidenceLevel, ResultMixin


@dataclass(frozen=True)
class EventStudyResult(ResultMixin):
    """Lead and lag coefficients relative to the reference period, and the pre-trend test."""

    coefficients: pd.DataFrame  # event_time, estimate, se, ci_low, ci_high, p_value
    reference: int
    pretrend: PreTrendTest | None
    evidence: EvidenceLevel
    n_obs: int
    n_clusters: int
    dof_note: str
    binned: bool
    warnings: tuple[str, ...] = field(default=())
    title: str = "Event study (two-way fixed effects)"

    def _rows(self) -> list[dict]:
        return self.coefficients.to_dict("records")

    def _notes(self) -> list[str]:
        notes = [f"Reference period: event time {self.reference} (fixed at 0). {self.dof_note}"]
        if self.pretrend is not None:
            notes.append(f"Joint test that all pre-period coefficients are 0: {self.pretrend}.")
        return notes + super()._notes()


def event_study(df: pd.DataFrame, *, outcome: str, unit: str, time: str, cohort: str | None = None,
                treatment: str | None = None, window: tuple[int, int] | None = None, bin_endpoints: bool = True,
                reference: int = -1, covariates: Sequence[str] = (), cluster: str | None = None,
                weights: str | None = None, alpha: float = 0.05) -> EventStudyResult:
    """Event-study regression with a joint pre-trend test.

    Parameters
    ----------
    df
        Long panel with numeric periods.
    outcome, unit, time
        Column names.
    cohort, treatment
        Either the first treated period per unit (0/missing = never), or a 0/1
        treatment column from which it is derived.
    window
        ``(lo, hi)`` event times to estimate, e.g. ``(-4, 4)``; default: all.
    bin_endpoints
        Pool event times beyond the window into the end points (default), or
        drop those rows.
    reference
        Omitted event time (default -1).
    covariates, cluster, weights, alpha
        As :func:`~evalkit.designs.did.twfe.twfe`.
    """
    what = "Event study"
    if (cohort is None) == (treatment is None):
        raise SpecError(f"{what}: give exactly one of `cohort` (first treated period) or `treatment` (0/1).")
    require_columns(df, [outcome, unit, time, cohort, treatment, cluster, weights, *covariates], what=what)
    data = df
    if treatment is not None:
        coh, absorbing = unit_cohorts(df, unit=unit, time=time, treatment=treatment)
        if not absorbing:
            raise SpecError(f"{what}: treatment in {treatment!r} switches off again for some unit; an event "
                            "study needs a start date that stays. Fix: pass `cohort=` (first treated period).")
        g = df[unit].map(coh).to_numpy(dtype=float)
    else:
        g = numeric(df, cohort, what=what)
    g = np.where(np.isnan(g) | (g == 0), np.nan, g)
    t = numeric(df, time, what=what)
    e = t - g  # NaN for never treated
    if np.all(np.isnan(e)):
        raise InsufficientDataError(f"{what}: no unit is ever treated.")
    finite = e[~np.isnan(e)]
    if np.any(finite != np.round(finite)):
        raise SpecError(f"{what}: periods and first-treated periods must be whole numbers (e.g. years, "
                        "month numbers) so that event time t - g is an integer.")
    lo, hi = (int(finite.min()), int(finite.max())) if window is None else (int(window[0]), int(window[1]))
    if not lo <= reference <= hi or lo >= hi:
        raise SpecError(f"{what}: window ({lo}, {hi}) must contain the reference period {reference}.")
    warnings: list[str] = []
    keep = np.ones(len(df), dtype=bool)
    if bin_endpoints:
        e = np.where(np.isnan(e), np.nan, np.clip(e, lo, hi))
    else:
        outside = ~np.isnan(e) & ((e < lo) | (e > hi))
        if outside.any():
            warnings.append(f"{int(outside.sum())} treated-unit row(s) outside event times [{lo}, {hi}] were dropped.")
        keep = ~outside
    has_never = bool(np.isnan(g).any())
    omit = {reference}
    if not has_never:
        omit.add(lo)
        warnings.append(f"No never-treated units: event time {lo} is also omitted (needed for identification); "
                        "estimates are relative to both omitted periods.")
    levels = [k for k in range(lo, hi + 1) if k not in omit and np.any(e[keep] == k)]
    col = {k: j for j, k in enumerate(levels)}
    ek = e[keep]
    dummies = np.zeros((len(ek), len(levels)), order="F")
    hit = np.flatnonzero(np.isin(ek, levels))
    dummies[hit, [col[int(v)] for v in ek[hit]]] = 1.0
    data = df.loc[keep] if not keep.all() else df
    panel = prepare_panel(data, outcome=outcome, unit=unit, time=time, regressors=list(covariates),
                          cluster=cluster, what=what, extra=dummies, weights=weights)
    fit = fit_fe(panel, cluster_name=cluster or unit)
    df_t = fit.n_clusters - 1
    se = np.sqrt(np.diag(fit.vcov))
    rows = []
    for j, k in enumerate(levels):
        est = t_estimate(f"e={k}", fit.beta[j], se[j], df_t, alpha=alpha, scale="mean difference")
        rows.append({"event_time": k, "estimate": est.estimate, "se": est.se, "ci_low": est.ci_low,
                     "ci_high": est.ci_high, "p_value": est.p_value})
    ref_row = {"event_time": reference, "estimate": 0.0, "se": 0.0, "ci_low": 0.0, "ci_high": 0.0,
               "p_value": np.nan}
    coefs = pd.DataFrame(rows + [ref_row]).sort_values("event_time", kind="stable").reset_index(drop=True)
    pre_idx = [j for j, k in enumerate(levels) if k < 0]
    pretrend = None
    if pre_idx:
        pretrend = wald_test(fit.beta[pre_idx], fit.vcov[np.ix_(pre_idx, pre_idx)], df_den=df_t)
    if panel.n_dropped_missing:
        warnings.append(f"{panel.n_dropped_missing} row(s) with a missing value were left out.")
    if np.unique(g[~np.isnan(g)]).size > 1:
        warnings.append("Staggered timing: lead/lag coefficients can mix cohorts with odd weights when effects "
                        "differ by cohort (Sun & Abraham 2021); check against callaway_santanna().")
    ev = did_evidence(pretrend, alpha=alpha, design="Event-study DiD")
    return EventStudyResult(coefficients=coefs, reference=reference, pretrend=pretrend, evidence=ev,
                            n_obs=fit.n_obs, n_clusters=fit.n_clusters, dof_note=fit.dof_note,
                            binned=bin_endpoints, warnings=tuple(warnings))


__all__ = ["EventStudyResult", "event_study"]
