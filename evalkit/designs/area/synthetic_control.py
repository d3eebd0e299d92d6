"""Synthetic control (Abadie, Diamond & Hainmueller 2010) with placebo-in-space inference.

``synthetic_control(data, outcome=, unit=, time=, treatment=)`` builds, for
each treated area, a weighted average of areas that never had the programme
(weights W non-negative and summing to one) whose *predictors* match the
treated area's before the start; the effect in a period is the gap between
the area and its synthetic twin.

Predictors and their weights (the nested optimisation). Predictors are the
pre-period outcome averaged over ``outcome_blocks`` consecutive blocks of the
pre-period (the last block ends just before the start) plus the pre-period
mean of any ``covariates``; each is divided by its standard deviation across
areas (as R ``Synth`` does). For a diagonal predictor-weight matrix V
(non-negative, summing to one)

    W(V) = argmin_W (X1 - X0 W)' V (X1 - X0 W)  over the simplex,            (inner)
    V*   = argmin_V  mean over pre-periods of (Z1 - Z0 W(V))^2               (outer)

with Z the outcome in every pre-period: the predictor weights are those whose
synthetic control best reproduces the outcome path before the start (ADH 2010
section 2.3; Synth's default "data-driven" V). The inner problem is a
non-negative least-squares problem with the sum-to-one constraint as a heavily
weighted extra row (Lawson-Hanson active set, exact; R ``Synth`` uses a
quadratic-programming solver for the same problem) with a vanishing ridge
(1e-6 of the predictors' scale) that makes W unique when several weightings fit
equally well. The outer problem is searched as Synth does: V = |v| / sum |v|,
Nelder-Mead from equal weights and from weights proportional to each
predictor's univariate fit of the pre-period outcome, keeping the better.

Inference. Placebo-in-space (ADH 2010 section 2.4; Abadie 2021): each donor in
turn is treated as if it had started when the treated area did, with the other
donors as its pool, and the ratio of post- to pre-period root mean squared
prediction error (RMSPE) is computed for it and for the treated area. The
p-value is the treated area's rank among all ratios, (1 + #placebos with a
ratio at least as large) / (1 + #placebos). The smallest possible p-value is
1 / (1 + donors). Placebos refit V (``placebo_v="refit"``, ADH) or keep the
treated area's V (``"fixed"``, much faster; default when there are more than
40 donors). An SE is also given: the standard deviation of the placebo
effects (mean post-period gaps), the placebo variance of Arkhangelsky et al.
(2021), with a normal interval.

Several treated areas. Each gets its own synthetic control from the donors
(never-treated areas) with its own start. The pooled effect is the average of
the areas' effects weighted by their post-period lengths; its p-value compares
the mean of the treated areas' RMSPE ratios with the means of ``n_sets``
random sets of placebos (one donor for each treated area, with its start).

References
----------
Abadie A, Diamond A, Hainmueller J (2010). Synthetic control methods for
comparative case studies. JASA 105(490):493-505.
Abadie A (2021). Using synthetic controls: feasibility, data requirements,
and methodological aspects. J Economic Literature 59(2):391-425.
Cavallo E, Galiani S, Noy I, Pantano J (2013). Catastrophic natural disasters
and economic growth. Rev Econ Stat 95(5):1549-1561 (pooled placebo p-values).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize

from evalkit.designs.area._synth_panel import MIN_PRE_PERIODS, wide_panel
from evalkit.designs.area.synthetic_did import POOR_FIT_SHARE, _normal
from evalkit.errors import SpecError
from evalkit.results import SMS, DesignResult, Estimate, EvidenceLevel, estimate_row, stat_row

PLACEBO_V = ("auto", "refit", "fixed")
#: Above this many donors ``placebo_v="auto"`` keeps the treated area's predictor weights for the placebos.
REFIT_MAX_DONORS = 40


@dataclass(frozen=True)
class SCFit:
    """One synthetic control: donor weights W, predictor weights V and its path."""

    w: np.ndarray
    v: np.ndarray
    gap: np.ndarray  # treated minus synthetic, every period
    start: int

    @property
    def pre_rmspe(self) -> float:
        return float(np.sqrt(np.mean(self.gap[:self.start] ** 2)))

    @property
    def post_rmspe(self) -> float:
        return float(np.sqrt(np.mean(self.gap[self.start:] ** 2)))

    @property
    def ratio(self) -> float:
        pre = self.pre_rmspe
        return self.post_rmspe / pre if pre > 0 else math.inf

    @property
    def effect(self) -> float:
        return float(np.mean(self.gap[self.start:]))


def _predictors(Y: np.ndarray, start: int, blocks: int, cov: np.ndarray | None) -> tuple[np.ndarray, list[str]]:
    """Predictor matrix (predictors x units): block means of the pre-period outcome, covariate means."""
    edges = np.linspace(0, start, min(blocks, start) + 1).round().astype(int)
    rows = [Y[:, a:b].mean(axis=1) for a, b in zip(edges[:-1], edges[1:]) if b > a]
    names = [f"outcome, pre-periods {a + 1}-{b}" for a, b in zip(edges[:-1], edges[1:]) if b > a]
    if cov is not None:
        for k in range(cov.shape[2]):
            rows.append(cov[:, :start, k].mean(axis=1))
            names.append(f"covariate {k + 1}")
    return np.array(rows), names


def _inner(X1: np.ndarray, X0: np.ndarray, v: np.ndarray) -> np.ndarray:
    """W(V): argmin ||sqrt(V)(X0 W - X1)||^2 + ridge ||W||^2 over the simplex, by non-negative least squares.

    The sum-to-one constraint is a heavily weighted extra row (weight 1e4 x the predictors' scale, so it holds to
    about 1e-8 before W is renormalised) and the vanishing ridge (1e-6 of the scale) makes W unique when several
    weightings fit equally well. Lawson-Hanson NNLS is an exact active-set method: no tuning, no tolerance.
    """
    s = np.sqrt(v)[:, None]
    A = s * X0
    b = s[:, 0] * X1
    scale = float(np.sqrt(np.mean(A ** 2))) or 1.0
    big = 1e4 * scale
    n = X0.shape[1]
    M = np.vstack([A, np.full((1, n), big), 1e-6 * scale * np.eye(n)])
    rhs = np.concatenate([b, [big], np.zeros(n)])
    w, _ = optimize.nnls(M, rhs, maxiter=50 * n)
    total = w.sum()
    return w / total if total > 0 else np.full(n, 1.0 / n)


def fit_one(Y: np.ndarray, treated: int, donors: Sequence[int], start: int, *, blocks: int,
            cov: np.ndarray | None = None, v: np.ndarray | None = None, max_evals: int = 100) -> SCFit:
    """The ADH synthetic control of row ``treated`` from rows ``donors`` (``v`` given: V held fixed)."""
    donors = list(donors)
    X, _ = _predictors(Y, start, blocks, cov)
    units = [treated, *donors]
    sd = X[:, units].std(axis=1, ddof=1)
    sd[~(sd > 0)] = 1.0
    Xs = X / sd[:, None]
    X1, X0 = Xs[:, treated], Xs[:, donors]
    Z1, Z0 = Y[treated, :start], Y[donors, :start]

    def weights(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = np.abs(x)
        vv = a / a.sum() if a.sum() > 0 else np.full(x.size, 1.0 / x.size)
        return vv, _inner(X1, X0, vv)

    def loss(x: np.ndarray) -> float:
        _, w = weights(x)
        return float(np.mean((Z1 - w @ Z0) ** 2))

    k = X.shape[0]
    if v is not None or k == 1:
        vv = np.ones(1) if k == 1 else v
        assert vv is not None
        _, w = weights(vv)
        vbest = vv / vv.sum()
    else:
        starts = [np.full(k, 1.0 / k)]
        fitq = np.array([abs(np.corrcoef(Xs[p, donors], Z0.mean(axis=1))[0, 1]) if Z0.shape[0] > 2 else 1.0
                         for p in range(k)])
        fitq = np.nan_to_num(fitq, nan=0.0)
        if fitq.sum() > 0:
            starts.append(fitq / fitq.sum())
        best: tuple[float, np.ndarray] | None = None
        for x0 in starts:
            res = optimize.minimize(loss, x0, method="Nelder-Mead",
                                    options={"xatol": 1e-4, "fatol": 1e-8 * float(np.mean(Z1 ** 2)),
                                             "maxiter": max_evals * k})
            if best is None or res.fun < best[0]:
                best = (float(res.fun), np.asarray(res.x))
        assert best is not None
        vbest, w = weights(best[1])
    gap = Y[treated] - w @ Y[donors]
    return SCFit(w=w, v=vbest, gap=gap, start=start)


@dataclass(frozen=True)
class SyntheticControlResult(DesignResult):
    """ADH synthetic control for one or more treated areas (aggregates only).

    ``effect`` is the pooled effect (mean post-period gap, averaged over treated areas by post-period length)
    with the placebo-in-space p-value and a placebo-variance interval; ``per_unit`` each area's. ``placebo_ratios``
    are the donors' post/pre RMSPE ratios (for the first treated area's start; the distribution a report shows),
    ``treated_ratios`` the treated areas'. ``path`` holds, per period, the treated mean and the synthetic mean.
    ``n`` is the number of treated areas, ``n_comparison`` the number of donor areas.
    """

    outcome: str
    pooled: Estimate
    per_unit: tuple[Estimate, ...]
    treated_units: tuple[str, ...]
    donor_units: tuple[str, ...]
    starts: tuple[tuple[str, str], ...]
    donor_weights: tuple[tuple[str, float], ...]
    predictor_weights: tuple[tuple[str, float], ...]
    path: tuple[tuple[str, float, float], ...]
    pre_rmspe: float
    pre_level: float
    treated_ratios: tuple[float, ...]
    placebo_ratios: tuple[float, ...]
    placebo_effects: tuple[float, ...]
    placebo_v: str
    n_periods: int
    method: str
    evidence: EvidenceLevel
    warnings: tuple[str, ...] = field(default=())
    title: str = "Synthetic control"

    @property
    def effect(self) -> Estimate:
        return self.pooled

    @property
    def estimates(self) -> tuple[Estimate, ...]:
        return (self.pooled, *(self.per_unit if len(self.per_unit) > 1 else ()))

    @property
    def n(self) -> int:
        return len(self.treated_units)

    @property
    def n_comparison(self) -> int:
        return len(self.donor_units)

    @property
    def min_p(self) -> float:
        """Smallest p-value the placebo test can give for one treated area: 1 / (1 + placebos)."""
        return 1.0 / (1 + len(self.placebo_ratios))

    @property
    def poor_fit(self) -> bool:
        return bool(self.pre_rmspe > POOR_FIT_SHARE * abs(self.pre_level))

    def _rows(self) -> list[dict]:
        rows = [estimate_row(e) for e in self.estimates]
        rows.append(stat_row("pre-period RMSPE", estimate=self.pre_rmspe,
                             method="root mean squared gap before the start"))
        return rows

    def path_frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.path), columns=["period", "treated", "synthetic"])

    def weights_frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.donor_weights), columns=["area", "weight"])


def _rank_p(value: float, placebos: np.ndarray) -> float:
    tol = 1e-9 * max(1.0, abs(value))
    return float((1 + np.sum(placebos >= value - tol)) / (1 + placebos.size))


def synthetic_control(data: pd.DataFrame, *, outcome: str, unit: str, time: str, treatment: str,
                      covariates: Sequence[str] = (), outcome_blocks: int = 4, placebo_v: str = "auto",
                      n_sets: int = 999, seed: int = 20210401, alpha: float = 0.05,
                      min_pre_periods: int = MIN_PRE_PERIODS) -> SyntheticControlResult:
    """Synthetic control of each treated area from never-treated donors, with placebo-in-space inference.

    Parameters
    ----------
    data
        Long panel: one row per area and period (balanced; no duplicates).
    outcome, unit, time, treatment
        Outcome (e.g. a rate per 100,000), area, period (sortable) and 0/1 programme columns; areas never
        treated are the donors.
    covariates
        Further predictor columns (their pre-period means are matched).
    outcome_blocks
        The pre-period outcome enters as its means over this many consecutive blocks.
    placebo_v
        ``"refit"`` (placebos choose their own predictor weights, ADH), ``"fixed"`` (they keep the treated
        area's) or ``"auto"`` (refit with at most 40 donors).
    n_sets
        Random placebo sets for the pooled p-value (several treated areas).
    seed, alpha
        Seed of the placebo sets; 1 - the interval's level.
    min_pre_periods
        Fewest periods before any start.

    Returns
    -------
    SyntheticControlResult
    """
    if placebo_v not in PLACEBO_V:
        raise SpecError(f"placebo_v must be one of {PLACEBO_V} (got {placebo_v!r}).")
    if outcome_blocks < 1:
        raise SpecError("outcome_blocks must be at least 1.")
    what = "synthetic_control"
    panel = wide_panel(data, outcome=outcome, unit=unit, time=time, treatment=treatment, what=what,
                       min_pre_periods=min_pre_periods)
    cov = None
    if covariates:
        from evalkit.designs._checks import require_columns

        require_columns(data, covariates, what=what)
        mats = []
        for c in covariates:
            w = data.assign(**{unit: data[unit].astype(str)}).pivot(index=unit, columns=time, values=c)
            w = w.reindex(index=list(panel.units), columns=list(panel.periods))
            vals = pd.DataFrame(w).apply(pd.to_numeric, errors="coerce")
            if vals.isna().any().any():
                raise SpecError(f"{what}: covariate {c!r} is missing or not a number for some area-periods. "
                                "Fix: fill it in every row, or leave it out of covariates.")
            mats.append(vals.to_numpy(float))
        cov = np.stack(mats, axis=2)
    Y, n0 = panel.Y, panel.n_controls
    T = Y.shape[1]
    donors = list(range(n0))
    if n0 < 2:
        raise SpecError(f"{what}: only {n0} donor area(s); a synthetic control needs at least two.")
    mode = placebo_v if placebo_v != "auto" else ("refit" if n0 <= REFIT_MAX_DONORS else "fixed")
    fits: dict[str, SCFit] = {}
    placebo: dict[int, list[SCFit]] = {}
    names: list[str] = []
    for k, u in enumerate(panel.treated):
        row = n0 + k
        start = panel.adoption[u]
        fit = fit_one(Y, row, donors, start, blocks=outcome_blocks, cov=cov)
        fits[u] = fit
        _, names = _predictors(Y, start, outcome_blocks, cov)
        if start not in placebo:
            placebo[start] = [fit_one(Y, j, [d for d in donors if d != j], start, blocks=outcome_blocks, cov=cov,
                                      v=None if mode == "refit" else fit.v) for j in donors]
    post = {u: T - panel.adoption[u] for u in panel.treated}
    per_unit = []
    for u, fit in fits.items():
        pl = placebo[panel.adoption[u]]
        ratios = np.array([p.ratio for p in pl])
        effects = np.array([p.effect for p in pl])
        se = float(np.std(effects, ddof=1))
        per_unit.append(_normal(f"effect in {u}", fit.effect, se, alpha, p=_rank_p(fit.ratio, ratios), method=
                                  "mean post-period gap; p from the rank of the post/pre RMSPE ratio among "
                                  f"{len(pl)} placebo areas; SE from the placebo effects"))
    wts = np.array([post[u] for u in panel.treated], dtype=float)
    wts /= wts.sum()
    tau = float(np.dot(wts, [fits[u].effect for u in panel.treated]))
    rng = np.random.default_rng(seed)
    if len(fits) == 1:
        p_pool, se_pool = per_unit[0].p_value, per_unit[0].se
    else:
        stat = float(np.mean([fits[u].ratio for u in panel.treated]))
        sets_r = np.empty(n_sets)
        sets_e = np.empty(n_sets)
        for s in range(n_sets):
            picks = [placebo[panel.adoption[u]][int(rng.integers(n0))] for u in panel.treated]
            sets_r[s] = np.mean([p.ratio for p in picks])
            sets_e[s] = float(np.dot(wts, [p.effect for p in picks]))
        p_pool, se_pool = _rank_p(stat, sets_r), float(np.std(sets_e, ddof=1))
    method = (f"synthetic control (Abadie, Diamond & Hainmueller 2010): {len(fits)} treated area(s), {n0} donor "
              f"areas, {T} periods; predictor weights chosen to fit the pre-period outcome; placebo-in-space p-value "
              f"(post/pre RMSPE ratio; placebos {'refit' if mode == 'refit' else 'keep'} the predictor weights); "
              "SE = sd of placebo effects, normal interval.")
    pooled = _normal("synthetic control, pooled over treated areas", tau, se_pool, alpha, method, p=p_pool)
    omega = sum(wt * np.asarray(fits[u].w) for wt, u in zip(wts, panel.treated))
    assert isinstance(omega, np.ndarray)
    order = sorted(range(n0), key=lambda i: (-omega[i], panel.units[i]))
    donor_weights = tuple((panel.units[i], float(omega[i])) for i in order if omega[i] > 1e-6)
    v_first = fits[panel.treated[0]].v
    treated_mean = sum(wt * Y[n0 + k] for k, wt in enumerate(wts))
    synth_mean = sum(wt * (Y[n0 + k] - fits[u].gap) for k, (wt, u) in enumerate(zip(wts, panel.treated)))
    path = tuple((str(p), float(a), float(b)) for p, a, b in zip(panel.periods, np.asarray(treated_mean),
                                                                np.asarray(synth_mean)))
    pre_gaps = np.concatenate([f.gap[:f.start] for f in fits.values()])
    pre_levels = np.concatenate([Y[n0 + k, :fits[u].start] for k, u in enumerate(panel.treated)])
    first_start = panel.adoption[panel.treated[0]]
    res = SyntheticControlResult(
        outcome=outcome, pooled=pooled, per_unit=tuple(per_unit), treated_units=panel.treated,
        donor_units=panel.controls, starts=tuple((u, str(panel.periods[panel.adoption[u]])) for u in panel.treated),
        donor_weights=donor_weights, predictor_weights=tuple((n, float(v)) for n, v in zip(names, v_first)),
        path=path, pre_rmspe=float(np.sqrt(np.mean(pre_gaps ** 2))), pre_level=float(np.mean(pre_levels)),
        treated_ratios=tuple(fits[u].ratio for u in panel.treated),
        placebo_ratios=tuple(p.ratio for p in placebo[first_start]),
        placebo_effects=tuple(p.effect for p in placebo[first_start]), placebo_v=mode, n_periods=T,
        method=method, evidence=EvidenceLevel(SMS.LEVEL_3, ""))
    notes = []
    if res.min_p > alpha:
        notes.append(f"With {n0} donor areas the placebo test cannot give a p-value below {res.min_p:.2f}.")
    if res.poor_fit:
        notes.append(f"Poor fit before the start: the synthetic twin missed by {res.pre_rmspe:.3g} (root mean "
                     f"square) against a level of {res.pre_level:.3g}; the comparison may not show what would "
                     "have happened.")
        ev = EvidenceLevel(SMS.LEVEL_2, "synthetic comparison from areas without the programme, but it matched "
                           "the treated areas poorly before the start")
    else:
        ev = EvidenceLevel(SMS.LEVEL_3, "synthetic comparison from areas without the programme that matched the "
                           "treated areas before the start")
    return dataclasses.replace(res, evidence=ev, warnings=tuple(notes))


__all__ = ["PLACEBO_V", "REFIT_MAX_DONORS", "SCFit", "SyntheticControlResult", "fit_one", "synthetic_control"]
