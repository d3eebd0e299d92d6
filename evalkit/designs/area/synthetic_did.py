"""Synthetic difference-in-differences (Arkhangelsky, Athey, Hirshberg, Imbens & Wager 2021).

``synthetic_did(data, outcome=, unit=, time=, treatment=)`` compares treated
areas with a weighted set of areas that never had the programme. Unit weights
omega make the donors' pre-period path parallel to the treated areas' (an
intercept is allowed, so levels may differ); time weights lambda pick the
pre-periods that best predict the post-period for the donors. The effect is
the weighted double difference

    tau = (Ybar_tr,post - sum_t lambda_t Ybar_tr,t) - sum_i omega_i (Ybar_i,post - sum_t lambda_t Y_i,t).

The weights, their regularisation (zeta_omega = (N_tr T_post)^(1/4) x the sd
of first differences of the donors' pre-period outcomes; a vanishing ridge for
lambda) and the Frank-Wolfe solver with its stopping rule and sparsification
are R ``synthdid``'s exactly (:mod:`evalkit.designs.area._synthdid`); on R's
``california_prop99`` data this module gives R's published estimates (SDID
-15.60, SC -19.62, DiD -27.35; ``tests/test_synthetic_did.py``).

Several treated areas and staggered starts. Treated areas are grouped into
cohorts by their first treated period; each cohort is compared with the
never-treated donors over all periods (its own pre-period before its start),
and the pooled effect is the average of cohort effects weighted by their
treated area-periods N_g x T_post,g (Arkhangelsky et al. 2021, appendix; Clarke,
Pailanir, Athey & Imbens 2023, Stata ``sdid``). Each treated area also gets
its own estimate (itself against the donors).

Standard errors. With one treated area, or a cohort of one, the jackknife is
undefined and the *placebo* variance is used (Algorithm 4: donors permuted,
the last ones given the treated cohorts' starts, weights re-estimated, the SE
the standard deviation of the placebo estimates x sqrt((r-1)/r)); it assumes
the treated areas' noise is like the donors'. With at least two treated areas
in every cohort the fixed-weight *jackknife* (Algorithm 3: each area left out
in turn, weights held) is used. ``se_method`` overrides the choice.
Intervals are normal (estimate +- z se), as in the package. A per-area SE is
the placebo SE of one pseudo-treated donor with that area's start.

References
----------
Arkhangelsky D, Athey S, Hirshberg DA, Imbens GW, Wager S (2021). Synthetic
difference-in-differences. American Economic Review 111(12):4088-4118.
Clarke D, Pailanir D, Athey S, Imbens G (2023). On synthetic
difference-in-differences and related estimation methods in Stata. Stata
Journal (sdid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.designs.area import _synthdid as core
from evalkit.designs.area._synth_panel import MIN_PRE_PERIODS, WidePanel, wide_panel
from evalkit.errors import SpecError
from evalkit.results import SMS, DesignResult, Estimate, EvidenceLevel, estimate_row, stat_row

SE_METHODS = ("auto", "placebo", "jackknife")
ESTIMATORS = ("sdid", "sc", "did")
_NAMES = {"sdid": "synthetic difference-in-differences", "sc": "synthetic control (synthdid weights)",
          "did": "difference-in-differences"}
#: Pre-period fit is called poor when its root mean squared gap exceeds this share of the treated pre-period level.
POOR_FIT_SHARE = 0.10


@dataclass(frozen=True)
class SyntheticDiDResult(DesignResult):
    """Synthetic DiD (or its SC / DiD special cases) for one or more treated areas (aggregates only).

    ``effect`` is the pooled effect over treated area-periods; ``per_unit`` each treated area's own estimate;
    ``cohorts`` each adoption cohort's. ``path`` holds, per period, the treated areas' mean outcome and their
    synthetic twin's (donor-weighted, shifted by the pre-period gap as SDID allows). ``donor_weights`` are the
    pooled unit weights (the cohort weights averaged with the cohort shares; they sum to one). ``n`` is the
    number of treated areas and ``n_comparison`` the number of donor areas.
    """

    estimator: str
    outcome: str
    pooled: Estimate
    per_unit: tuple[Estimate, ...]
    cohorts: tuple[Estimate, ...]
    treated_units: tuple[str, ...]
    donor_units: tuple[str, ...]
    starts: tuple[tuple[str, str], ...]
    donor_weights: tuple[tuple[str, float], ...]
    time_weights: tuple[tuple[str, float], ...]
    path: tuple[tuple[str, float, float], ...]
    pre_rmse: float
    pre_level: float
    se_method: str
    replications: int
    placebo_estimates: tuple[float, ...]
    n_periods: int
    method: str
    evidence: EvidenceLevel
    warnings: tuple[str, ...] = field(default=())

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"{_NAMES[self.estimator][:1].upper()}{_NAMES[self.estimator][1:]}: {self.outcome}"

    @property
    def effect(self) -> Estimate:
        return self.pooled

    @property
    def estimates(self) -> tuple[Estimate, ...]:
        extra = self.cohorts if len(self.cohorts) > 1 else ()
        units = self.per_unit if len(self.per_unit) > 1 else ()
        return (self.pooled, *extra, *units)

    @property
    def n(self) -> int:
        return len(self.treated_units)

    @property
    def n_comparison(self) -> int:
        return len(self.donor_units)

    @property
    def poor_fit(self) -> bool:
        """True when the pre-period gap is large against the level (see :data:`POOR_FIT_SHARE`)."""
        return bool(self.pre_rmse > POOR_FIT_SHARE * abs(self.pre_level))

    def _rows(self) -> list[dict]:
        rows = [estimate_row(e) for e in self.estimates]
        rows.append(stat_row("pre-period root mean squared gap", estimate=self.pre_rmse,
                             method="treated mean minus synthetic twin, periods before the start"))
        return rows

    def path_frame(self) -> pd.DataFrame:
        """Period, treated mean and synthetic twin (the chart's data)."""
        return pd.DataFrame(list(self.path), columns=["period", "treated", "synthetic"])

    def weights_frame(self) -> pd.DataFrame:
        """Donor areas with a non-zero weight, largest first."""
        return pd.DataFrame(list(self.donor_weights), columns=["area", "weight"])


def _normal(name: str, est: float, se: float, alpha: float, method: str, p: float | None = None) -> Estimate:
    """A normal-theory interval around ``est``; the p-value is the normal one unless given (placebo rank)."""
    z = float(stats.norm.ppf(1 - alpha / 2))
    ok = np.isfinite(se) and se > 0
    if p is None:
        p = float(2 * stats.norm.sf(abs(est / se))) if ok else math.nan
    return Estimate(name=name, estimate=float(est), se=float(se), ci_low=float(est - z * se) if ok else math.nan,
                    ci_high=float(est + z * se) if ok else math.nan, p_value=float(p), scale="difference in outcome",
                    method=method, df=None, level=1 - alpha)


@dataclass(frozen=True)
class _CohortFit:
    start: int
    rows: tuple[int, ...]
    fit: core.Fit
    weight: float  # N_g x T_post,g


def _fit_cohorts(Y: np.ndarray, n0: int, cohorts: dict[int, list[int]], kind: str, max_iter: int,
                 ) -> list[_CohortFit]:
    out = []
    T = Y.shape[1]
    for start, rows in cohorts.items():
        Yg = np.vstack([Y[:n0], Y[rows]])
        fit = core.estimate(Yg, n0, start, kind, max_iter=max_iter)
        out.append(_CohortFit(start, tuple(rows), fit, float(len(rows) * (T - start))))
    return out


def _pooled(fits: list[_CohortFit]) -> float:
    w = np.array([f.weight for f in fits])
    return float(np.dot(w, [f.fit.tau for f in fits]) / w.sum())


def _placebo(Y: np.ndarray, n0: int, cohorts: dict[int, list[int]], fits: list[_CohortFit], kind: str,
             max_iter: int, replications: int, rng: np.random.Generator) -> np.ndarray:
    """Placebo pooled estimates: donors permuted, the last ones given the cohorts' sizes and starts.

    As R's ``placebo_se``, weights are re-estimated from the fitted ones (omega restricted to the remaining
    donors and renormalised, lambda as fitted); all replications of a cohort are solved as one batch.
    """
    sizes = [len(rows) for rows in cohorts.values()]
    n_tr = sum(sizes)
    k = n0 - n_tr
    perms = np.array([rng.permutation(n0) for _ in range(replications)])
    pooled = np.zeros(replications)
    total = sum(cf.weight for cf in fits)
    pos = k
    for cf, size in zip(fits, sizes):
        rows = np.concatenate([perms[:, :k], perms[:, pos:pos + size]], axis=1)
        pos += size
        init = np.array([core._sum_normalize(cf.fit.omega[p[:k]]) for p in perms])
        lam = np.repeat(cf.fit.lam[None], replications, axis=0)
        tau, _, _ = core.estimate_batch(Y[rows], k, cf.start, kind, omega=init, lam=lam, max_iter=max_iter,
                                        zetas=cf.fit.zetas)
        pooled += cf.weight / total * tau
    return pooled


def _jackknife(Y: np.ndarray, n0: int, fits: list[_CohortFit]) -> float:
    """Fixed-weight jackknife of the pooled estimate: each area left out, weights held (Algorithm 3)."""
    N, T = Y.shape
    u = np.empty(N)
    for i in range(N):
        parts = []
        for cf in fits:
            rows = [r for r in cf.rows if r != i]
            keep = [j for j in range(n0) if j != i]
            om = core._sum_normalize(cf.fit.omega[keep])
            Yg = np.vstack([Y[keep], Y[rows]])
            tau = core.estimate(Yg, len(keep), cf.start, cf.fit.kind, omega=om, lam=cf.fit.lam,
                                update_omega=False, update_lambda=False).tau
            parts.append(_CohortFit(cf.start, tuple(rows), core.Fit(tau, om, cf.fit.lam, cf.fit.kind),
                                    float(len(rows) * (T - cf.start))))
        u[i] = _pooled(parts)
    return core.jackknife_se(u)


def _label(p) -> str:
    return str(p)


def synthetic_did(data: pd.DataFrame, *, outcome: str, unit: str, time: str, treatment: str,
                  estimator: str = "sdid", se_method: str = "auto", replications: int = 200,
                  unit_se: bool = True, seed: int = 20210401, alpha: float = 0.05,
                  min_pre_periods: int = MIN_PRE_PERIODS, max_iter: int = 10_000) -> SyntheticDiDResult:
    """Synthetic difference-in-differences of treated areas against never-treated donor areas.

    Parameters
    ----------
    data
        Long panel: one row per area and period (balanced; no duplicates).
    outcome, unit, time, treatment
        Column names: the outcome (e.g. a rate per 100,000), the area, the period (sortable) and a 0/1 column
        that is 1 from an area's first programme period on. Areas never treated are the donors.
    estimator
        ``"sdid"`` (default), ``"sc"`` (synthdid's synthetic control: no intercept, no time weights) or
        ``"did"`` (uniform weights), all on R ``synthdid``'s solver.
    se_method
        ``"auto"`` (jackknife when every cohort has two or more treated areas, else placebo),
        ``"placebo"`` or ``"jackknife"``.
    replications
        Placebo replications (R's default 200).
    unit_se
        Also give each treated area a placebo SE (one pseudo-treated donor per replication).
    seed, alpha
        Seed of the placebo draws; 1 - the interval's level.
    min_pre_periods
        Fewest periods before any start.
    max_iter
        Frank-Wolfe iteration cap (R's default 10,000).

    Returns
    -------
    SyntheticDiDResult
    """
    if estimator not in ESTIMATORS:
        raise SpecError(f"estimator must be one of {ESTIMATORS} (got {estimator!r}).")
    if se_method not in SE_METHODS:
        raise SpecError(f"se_method must be one of {SE_METHODS} (got {se_method!r}).")
    if replications < 2:
        raise SpecError("replications must be at least 2.")
    what = "synthetic_did"
    panel = wide_panel(data, outcome=outcome, unit=unit, time=time, treatment=treatment, what=what,
                       min_pre_periods=min_pre_periods)
    return _synthetic_did(panel, outcome=outcome, estimator=estimator, se_method=se_method,
                          replications=replications, unit_se=unit_se, seed=seed, alpha=alpha, max_iter=max_iter)


def _synthetic_did(panel: WidePanel, *, outcome: str, estimator: str, se_method: str, replications: int,
                   unit_se: bool, seed: int, alpha: float, max_iter: int) -> SyntheticDiDResult:
    Y, n0 = panel.Y, panel.n_controls
    T = Y.shape[1]
    cohorts = panel.cohorts()
    n_tr = Y.shape[0] - n0
    notes: list[str] = []
    fits = _fit_cohorts(Y, n0, cohorts, estimator, max_iter)
    tau = _pooled(fits)
    jack_ok = all(len(rows) >= 2 for rows in cohorts.values())
    method_used = se_method if se_method != "auto" else ("jackknife" if jack_ok else "placebo")
    rng = np.random.default_rng(seed)
    draws = np.array([])
    if method_used == "jackknife":
        if not jack_ok:
            raise SpecError("se_method='jackknife' needs at least two treated areas in every start cohort; use "
                            "'placebo' or 'auto'.")
        se = _jackknife(Y, n0, fits)
    else:
        if n0 <= n_tr:
            raise SpecError(f"the placebo standard error needs more donor areas ({n0}) than treated areas "
                            f"({n_tr}); use se_method='jackknife'.")
        draws = _placebo(Y, n0, cohorts, fits, estimator, max_iter, replications, rng)
        se = core.placebo_se(draws)
    name = _NAMES[estimator]
    se_text = ("fixed-weight jackknife over areas" if method_used == "jackknife"
               else f"placebo variance ({replications} replications over donor areas)")
    method = (f"{name} (R synthdid's weights and Frank-Wolfe solver); {n_tr} treated area(s) in "
              f"{len(cohorts)} start cohort(s), {n0} donor areas, {T} periods; SE by {se_text}; normal interval.")
    pooled = _normal(f"{name}, pooled over treated areas", tau, se, alpha, method)
    cohort_est = tuple(_normal(f"cohort starting {_label(panel.periods[cf.start])}", cf.fit.tau, math.nan, alpha,
                               "cohort estimate (pooled SE only)") for cf in fits) if len(fits) > 1 else ()
    # per-area estimates: each treated area alone against the donors; placebo SE by start
    unit_draws: dict[int, float] = {}
    per_unit = []
    for cf in fits:
        for r in cf.rows:
            u = panel.units[r]
            one = _fit_cohorts(Y, n0, {cf.start: [r]}, estimator, max_iter)[0]
            se_u = math.nan
            if unit_se and n0 >= 2:
                if cf.start not in unit_draws:
                    if len(panel.treated) == 1 and draws.size:
                        unit_draws[cf.start] = se
                    else:
                        d = _placebo(Y, n0, {cf.start: [r]}, [one], estimator, max_iter, replications,
                                     np.random.default_rng([seed, cf.start]))
                        unit_draws[cf.start] = core.placebo_se(d)
                se_u = unit_draws[cf.start]
            per_unit.append(_normal(f"effect in {u}", one.fit.tau, se_u, alpha,
                                    "this area against the donors; placebo SE"))
    # pooled donor weights, path and pre-period fit
    shares = np.array([cf.weight for cf in fits]) / sum(cf.weight for cf in fits)
    omega = sum(s * cf.fit.omega for s, cf in zip(shares, fits))
    assert isinstance(omega, np.ndarray)
    order = sorted(range(n0), key=lambda i: (-omega[i], panel.units[i]))
    donor_weights = tuple((panel.units[i], float(omega[i])) for i in order if omega[i] > 1e-12)
    treated_path = np.zeros(T)
    synth_path = np.zeros(T)
    gaps_pre: list[np.ndarray] = []
    levels_pre: list[np.ndarray] = []
    for s, cf in zip(shares, fits):
        tr = Y[list(cf.rows)].mean(axis=0)
        sc = cf.fit.omega @ Y[:n0]
        shift = float((tr[:cf.start] - sc[:cf.start]) @ cf.fit.lam) if estimator != "sc" else 0.0
        twin = sc + shift
        treated_path += s * tr
        synth_path += s * twin
        gaps_pre.append(tr[:cf.start] - twin[:cf.start])
        levels_pre.append(tr[:cf.start])
    gaps = np.concatenate(gaps_pre)
    pre_rmse = float(np.sqrt(np.mean(gaps ** 2)))
    pre_level = float(np.mean(np.concatenate(levels_pre)))
    first = min(cohorts)
    lam = fits[0].fit.lam if len(fits) == 1 else np.array([])
    time_weights = tuple((_label(panel.periods[t]), float(w)) for t, w in enumerate(lam) if w > 1e-12)
    path = tuple((_label(p), float(a), float(b)) for p, a, b in zip(panel.periods, treated_path, synth_path))
    if n0 < 5:
        notes.append(f"Only {n0} donor areas: the synthetic comparison rests on very few areas.")
    if method_used == "placebo":
        notes.append("The placebo standard error treats the donor areas as if they could have been treated: it "
                     "assumes the treated areas' year-to-year noise is like the donors'.")
    res = SyntheticDiDResult(
        estimator=estimator, outcome=outcome, pooled=pooled, per_unit=tuple(per_unit), cohorts=cohort_est,
        treated_units=panel.treated, donor_units=panel.controls,
        starts=tuple((u, _label(panel.periods[panel.adoption[u]])) for u in panel.treated),
        donor_weights=donor_weights, time_weights=time_weights, path=path, pre_rmse=pre_rmse,
        pre_level=pre_level, se_method=method_used, replications=replications if method_used == "placebo" else 0,
        placebo_estimates=tuple(float(x) for x in draws), n_periods=T, method=method,
        evidence=EvidenceLevel(SMS.LEVEL_3, ""), warnings=())
    if res.poor_fit:
        notes.append(f"Poor fit before the start: the synthetic twin missed the treated areas by "
                     f"{pre_rmse:.3g} on average (root mean square) against a level of {pre_level:.3g}; the "
                     "comparison may not show what would have happened.")
        evidence = EvidenceLevel(SMS.LEVEL_2, "comparison areas weighted to match the treated areas before the "
                                 "start, but the match was poor")
    else:
        evidence = EvidenceLevel(SMS.LEVEL_3, "before/after with a weighted comparison of areas without the "
                                 f"programme that tracked the treated areas before the start (from {panel.periods[0]}"
                                 f" to {panel.periods[first - 1]})")
    return _replace(res, evidence=evidence, warnings=tuple(notes))


def _replace(res: SyntheticDiDResult, **kw) -> SyntheticDiDResult:
    import dataclasses

    return dataclasses.replace(res, **kw)


__all__ = ["ESTIMATORS", "POOR_FIT_SHARE", "SE_METHODS", "SyntheticDiDResult", "synthetic_did"]
