"""Two-way fixed effects (unit and period) difference-in-differences.

``y_it = a_i + l_t + b D_it + x_it'g + e_it``, estimated by OLS on the
within-transformed data (:mod:`evalkit.designs.did.within`), with
cluster-robust standard errors (default: by unit).

Degrees of freedom, stated because packages differ (Cameron & Miller 2015,
section VI; Correia 2015): the CR1 factor is G/(G-1)·(N-1)/(N-K) with

    K = (number of slope coefficients)
        + for each fixed-effect dimension: 1 if it is nested in the clusters,
          else its number of levels
        - (number of fixed-effect dimensions - 1)

i.e. unit effects nested in unit (or coarser) clusters are *not* counted;
period effects are (T - 1 plus the intercept). This is Stata ``reghdfe`` and
R ``fixest``/pyfixest's default (``ssc(k_fixef="nonnested")``), and the
reference distribution is t with G - 1 degrees of freedom. Singleton units
are dropped first (as pyfixest and reghdfe do). Checked to 1e-8 against
pyfixest ``feols(vcov={"CRV1": unit})`` and, after rescaling by the stated
factor, against linearmodels ``PanelOLS`` (whose own default counts every
effect in K) and statsmodels OLS with dummies.

With staggered adoption the TWFE coefficient is a weighted average of all
2x2 comparisons, including "forbidden" ones that use already-treated units as
controls (Goodman-Bacon 2021); the result then carries the decomposition and
a warning pointing to :func:`~evalkit.designs.did.staggered.callaway_santanna`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from evalkit.designs.did._common import codes, cluster_vcov, did_evidence, numeric, require_columns, t_estimate
from evalkit.designs.did.within import FixedEffects, demean, drop_singletons, recode
from evalkit.errors import InsufficientDataError, SpecError
from evalkit.results import DesignResult, Estimate, EvidenceLevel

if TYPE_CHECKING:  # pragma: no cover
    from evalkit.designs.did.bacon import BaconResult


@dataclass(frozen=True)
class TWFEResult(DesignResult):
    """Two-way fixed-effects estimate with its degrees-of-freedom bookkeeping.

    The headline ``effect`` is the treatment coefficient (also ``estimate``); ``n`` is the units of the panel
    (``n_units``, treated and not: the regression does not split them), so ``n_comparison`` is None;
    ``n_obs`` counts unit-periods.
    """

    estimate: Estimate
    covariates: tuple[Estimate, ...]
    n_obs: int
    n_units: int
    n_periods: int
    n_clusters: int
    k_counted: int
    dof_note: str
    staggered: bool
    evidence: EvidenceLevel
    bacon: BaconResult | None = None
    warnings: tuple[str, ...] = field(default=())
    title: str = "Two-way fixed effects difference-in-differences"

    @property
    def effect(self) -> Estimate:
        return self.estimate

    @property
    def estimates(self) -> tuple[Estimate, ...]:
        return (self.estimate, *self.covariates)

    @property
    def n(self) -> int:
        return self.n_units

    @property
    def n_comparison(self) -> None:
        return None

    def _notes(self) -> list[str]:
        return [self.dof_note] + super()._notes()


@dataclass(frozen=True)
class _Panel:
    y: np.ndarray
    x: np.ndarray
    fe: FixedEffects
    unit_codes: np.ndarray  # before singleton removal, for the kept rows
    cluster_codes: np.ndarray
    times: np.ndarray  # sorted period values
    kept_index: np.ndarray
    n_dropped_missing: int
    n_singletons: int
    w: np.ndarray | None = None  # analytic weights of the kept rows


def _nested(fe_codes: np.ndarray, cluster_codes: np.ndarray, levels: int) -> bool:
    lo = np.full(levels, np.iinfo(np.intp).max)
    hi = np.full(levels, -1)
    np.minimum.at(lo, fe_codes, cluster_codes)
    np.maximum.at(hi, fe_codes, cluster_codes)
    return bool(np.all(lo == hi))


def prepare_panel(df: pd.DataFrame, *, outcome: str, unit: str, time: str, regressors: Sequence[str],
                  cluster: str | None, what: str, extra: np.ndarray | None = None,
                  weights: str | None = None) -> _Panel:
    """Validate, drop incomplete rows (and zero weights) and singletons; code unit/period/cluster."""
    require_columns(df, [outcome, unit, time, cluster, weights, *regressors], what=what)
    y = numeric(df, outcome, what=what)
    w = None if weights is None else numeric(df, weights, what=what)
    if w is not None and np.any(w[~np.isnan(w)] < 0):
        raise SpecError(f"{what}: weights in {weights!r} must not be negative.")
    n_extra = 0 if extra is None else extra.shape[1]
    # Column-major storage: the demeaning and score sums work column by column.
    x = np.empty((len(df), n_extra + len(regressors)), order="F")
    if extra is not None:
        x[:, :n_extra] = extra
    for j, c in enumerate(regressors):
        x[:, n_extra + j] = numeric(df, c, what=what)
    keep = ~np.isnan(y) & df[unit].notna().to_numpy() & df[time].notna().to_numpy()
    for j in range(x.shape[1]):  # column by column: x is column-major
        keep &= ~np.isnan(x[:, j])
    if cluster is not None:
        keep &= df[cluster].notna().to_numpy()
    if w is not None:
        keep &= ~np.isnan(w) & (w > 0)
    n_missing = int((~keep).sum())
    idx = np.flatnonzero(keep)
    ucodes, _ = codes(df[unit].to_numpy()[idx])
    tcodes, times = codes(df[time].to_numpy()[idx])
    if len(idx) and np.bincount(ucodes * len(times) + tcodes).max() > 1:
        raise SpecError(f"{what}: some unit has more than one row in the same period ({unit!r} x {time!r}). "
                        "Fix: aggregate to one row per unit and period.")
    ccodes = ucodes if cluster is None or cluster == unit else codes(df[cluster].to_numpy()[idx])[0]
    single_keep = drop_singletons([ucodes, tcodes]) if len(idx) else np.zeros(0, bool)
    n_single = int((~single_keep).sum())
    idx = idx[single_keep]
    fe = recode([ucodes, tcodes], single_keep)
    cc = np.unique(ccodes[single_keep], return_inverse=True)[1].astype(np.intp)
    if len(idx) == 0 or fe.levels[1] < 2:
        raise InsufficientDataError(f"{what}: needs at least two periods with outcomes for the same units.")
    if len(idx) < len(y):
        y, x = y[idx], np.asfortranarray(x[idx])
        w = None if w is None else w[idx]
    return _Panel(y=y, x=x, fe=fe, unit_codes=fe.codes[0], cluster_codes=cc,
                  times=times[np.unique(tcodes[single_keep])], kept_index=idx, n_dropped_missing=n_missing,
                  n_singletons=n_single, w=w)


@dataclass(frozen=True)
class FEFit:
    """Coefficients and CR1 covariance of a fixed-effects regression."""

    beta: np.ndarray
    vcov: np.ndarray
    n_obs: int
    n_clusters: int
    k_counted: int
    factor: float
    dof_note: str


def fit_fe(panel: _Panel, *, cluster_name: str) -> FEFit:
    """OLS of demeaned y on demeaned x with the stated CR1 correction."""
    z = np.empty((len(panel.y), 1 + panel.x.shape[1]), order="F")
    z[:, 0] = panel.y
    z[:, 1:] = panel.x
    z = demean(z, panel.fe, weights=panel.w)
    yd, xd = z[:, 0], z[:, 1:]
    xtx = xd.T @ xd if panel.w is None else xd.T @ (xd * panel.w[:, None])
    if np.linalg.matrix_rank(xtx) < xd.shape[1]:
        raise InsufficientDataError("A regressor is collinear with the unit and period effects (for example a "
                                    "treatment that every unit gets at the same time, or a covariate that never "
                                    "changes within a unit). Fix: drop it or use a comparison group.")
    bread = np.linalg.inv(xtx)
    beta = bread @ (xd.T @ (yd if panel.w is None else yd * panel.w))
    resid = yd - xd @ beta
    n_fe = len(panel.fe.codes)
    counted = []
    k = xd.shape[1]
    for name, c, lv in zip(("unit", "period"), panel.fe.codes, panel.fe.levels):
        nested = _nested(c, panel.cluster_codes, lv)
        k += 1 if nested else lv
        counted.append(f"{name} effects {'nested in clusters, counted as 1' if nested else f'counted as {lv}'}")
    k -= n_fe - 1
    cv = cluster_vcov(xd, resid, panel.cluster_codes, weights=panel.w, k=k, bread=bread)
    note = (f"Cluster-robust SEs by {cluster_name!r} (G = {cv.n_clusters}), CR1 G/(G-1)·(N-1)/(N-K) with "
            f"N = {len(yd)}, K = {k} ({xd.shape[1]} slope(s); {'; '.join(counted)}; minus {n_fe - 1} for the "
            "shared intercept) as Stata reghdfe and fixest/pyfixest; t with G - 1 df.")
    return FEFit(beta=beta, vcov=cv.vcov, n_obs=len(yd), n_clusters=cv.n_clusters, k_counted=k,
                 factor=cv.factor, dof_note=note)


def unit_cohorts(df: pd.DataFrame, *, unit: str, time: str, treatment: str) -> tuple[pd.Series, bool]:
    """First treated period per unit (NaN if never) and whether treatment is absorbing (never switches off)."""
    d = df[[unit, time, treatment]].dropna().sort_values([unit, time], kind="mergesort")
    treated = d[treatment].to_numpy(dtype=float) > 0
    first = d.loc[treated].groupby(unit, sort=True)[time].min()
    cohort = pd.Series(np.nan, index=pd.Index(np.sort(d[unit].unique()), name=unit), dtype=float)
    cohort.loc[first.index] = first.to_numpy(dtype=float)
    onset = d[unit].map(cohort).to_numpy()
    absorbing = bool(np.all(treated == (~np.isnan(onset) & (d[time].to_numpy(dtype=float) >= onset))))
    return cohort, absorbing


def twfe(df: pd.DataFrame, *, outcome: str, unit: str, time: str, treatment: str,
         covariates: Sequence[str] = (), cluster: str | None = None, weights: str | None = None,
         alpha: float = 0.05, decompose: bool = True) -> TWFEResult:
    """Two-way fixed-effects DiD with cluster-robust SEs (clustered by ``unit`` unless ``cluster``).

    Parameters
    ----------
    df
        Long panel, one row per unit and period.
    outcome, unit, time, treatment
        Column names; ``treatment`` is 0/1 (on in the periods a unit is treated).
    covariates
        Time-varying controls.
    cluster
        Cluster column (default: ``unit``).
    weights
        Non-negative analytic weights (e.g. matching weights; rows with 0 are
        dropped and N counts rows with positive weight, as Stata and pyfixest).
    decompose
        With staggered timing, attach the Goodman-Bacon decomposition (balanced
        panel, no covariates) and a warning.

    Returns
    -------
    TWFEResult
    """
    what = "Two-way fixed effects"
    cname = cluster or unit
    panel = prepare_panel(df, outcome=outcome, unit=unit, time=time, regressors=[treatment, *covariates],
                          cluster=cluster, what=what, weights=weights)
    fit = fit_fe(panel, cluster_name=cname)
    df_t = fit.n_clusters - 1
    se = np.sqrt(np.diag(fit.vcov))
    method = f"TWFE (unit and period effects), CR1 cluster-robust by {cname!r}, t(G-1)"
    est = t_estimate(f"treatment effect ({treatment})", fit.beta[0], se[0], df_t, alpha=alpha,
                     scale="mean difference", method=method)
    covs = tuple(t_estimate(c, fit.beta[j + 1], se[j + 1], df_t, alpha=alpha, scale="coefficient")
                 for j, c in enumerate(covariates))
    warnings: list[str] = []
    if panel.n_dropped_missing:
        warnings.append(f"{panel.n_dropped_missing} row(s) with a missing value were left out.")
    if panel.n_singletons:
        warnings.append(f"{panel.n_singletons} singleton row(s) (a unit or period seen once) were dropped.")
    cohorts, absorbing = unit_cohorts(df.iloc[panel.kept_index], unit=unit, time=time, treatment=treatment)
    n_cohorts = cohorts.dropna().nunique()
    staggered = n_cohorts > 1
    bacon = None
    if staggered:
        msg = (f"Treatment starts at {n_cohorts} different times (staggered roll-out): the TWFE estimate mixes "
               "in comparisons against already-treated units and can be biased when effects change over time "
               "(Goodman-Bacon 2021). Prefer callaway_santanna().")
        if decompose and absorbing and not covariates and weights is None and panel.fe.balanced():
            from evalkit.designs.did.bacon import bacon_decomposition

            bacon = bacon_decomposition(df.iloc[panel.kept_index], outcome=outcome, unit=unit, time=time,
                                        treatment=treatment)
            msg += (f" Goodman-Bacon decomposition attached: {bacon.forbidden_weight:.1%} of the weight is on "
                    "later-vs-earlier-treated comparisons.")
        elif decompose:
            msg += (" (No decomposition: it needs a balanced panel, no covariates or weights and a treatment "
                    "that stays on.)")
        warnings.append(msg)
    ev = did_evidence(None, alpha=alpha, design="Two-way fixed effects",
                      untested="use event_study() or callaway_santanna() for a pre-trend test")
    return TWFEResult(estimate=est, covariates=covs, n_obs=fit.n_obs, n_units=panel.fe.levels[0],
                      n_periods=panel.fe.levels[1], n_clusters=fit.n_clusters, k_counted=fit.k_counted,
                      dof_note=fit.dof_note, staggered=staggered, evidence=ev, bacon=bacon,
                      warnings=tuple(warnings))


__all__ = ["FEFit", "TWFEResult", "fit_fe", "prepare_panel", "twfe", "unit_cohorts"]
