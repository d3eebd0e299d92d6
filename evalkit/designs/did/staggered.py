"""Staggered roll-out: Callaway & Sant'Anna (2021) group-time ATTs and aggregations.

Unconditional estimator (no covariates), balanced panel, never-treated or
not-yet-treated controls, "varying" base period (pre-periods compare t with
t-1; post-periods compare t with g-1-anticipation), exactly as R ``did``
(``att_gt(..., xformla=~1, base_period="varying")``; identical there for the
"dr", "ipw" and "reg" methods). Aggregations ``simple``, ``group``,
``dynamic`` (event time) and ``calendar`` follow R ``aggte`` including the
influence-function term for the estimated group shares (``wif``); analytic
SEs are ``sqrt(sum_i IF_i^2) / n``. The pre-trend Wald test is R's
``W = att_pre' V_pre^-1 att_pre ~ chi2(q)``. The multiplier bootstrap follows
R ``mboot``: Mammen (or Rademacher) weights, SE from the bootstrap IQR /
(z_.75 - z_.25), uniform bands from the 1 - alpha quantile of the maximal
absolute t over the family.

Why hand-written rather than wrapping diff-diff (which is correct: it agrees
with R ``did`` on mpdta, see the tests): without covariates every unit's
influence function is an affine function of its own outcome vector with
coefficients that depend only on its cohort. So everything - ATT(g,t), all
aggregations, their covariances and the bootstrap draws - follows from per
cohort sums ``S_c = sum_i Y_i`` and cross-products ``Q_c = sum_i Y_i Y_i'``
(T x T). That is one pass over the data, memory of the wide outcome matrix,
no n x (number of cells) influence matrix, and results that hold aggregates
only. Measured in ``benchmarks/bench_did.py`` against diff-diff.

Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-differences with
multiple time periods. Journal of Econometrics 225(2), 200-230.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.designs.did._common import (
    PreTrendTest, did_evidence, numeric, require_columns, t_estimate, wald_test,
)
from evalkit.errors import InsufficientDataError, SpecError
from evalkit.results import DesignResult, Estimate, EvidenceLevel, ResultMixin

ControlGroup = Literal["never_treated", "not_yet_treated"]
AGGREGATIONS = ("simple", "group", "dynamic", "calendar")


@dataclass(frozen=True)
class Aggregation(ResultMixin):
    """One aggregation of the group-time ATTs: the overall estimate and its components."""

    kind: str
    overall: Estimate
    table: pd.DataFrame  # columns: level, estimate, se, ci_low, ci_high [, band_low, band_high]
    critical_value: float | None = None  # bootstrap uniform-band critical value
    title: str = "Aggregated ATT"

    def _rows(self) -> list[dict]:
        rows = [{"level": "overall", **{k: getattr(self.overall, k) for k in ("estimate", "se", "ci_low",
                                                                               "ci_high", "p_value")}}]
        rows += self.table.to_dict("records")
        return rows


@dataclass(frozen=True)
class CallawaySantAnnaResult(DesignResult):
    """Group-time ATTs, their four aggregations, the pre-trend test and the evidence level.

    The headline ``effect`` is the simple aggregation (``overall``); ``estimates`` are the four aggregations'
    overall ATTs (``"ATT (simple)"``, ``"ATT (group)"``, ...). ``n`` is the units of the panel (``n_units``);
    ``n_comparison`` is None (which units serve as comparisons changes with each group-time cell).
    """

    att_gt: pd.DataFrame
    aggregations: dict[str, Aggregation]
    pretrend: PreTrendTest | None
    evidence: EvidenceLevel
    control_group: str
    anticipation: int
    n_units: int
    cohorts: tuple[float, ...]
    n_boot: int = 0
    critical_value: float | None = None
    warnings: tuple[str, ...] = field(default=())
    title: str = "Callaway & Sant'Anna staggered difference-in-differences"

    def aggregate(self, kind: str) -> Aggregation:
        """The ``simple``, ``group``, ``dynamic`` or ``calendar`` aggregation."""
        if kind not in self.aggregations:
            raise SpecError(f"Unknown aggregation {kind!r}; choose one of {', '.join(AGGREGATIONS)}.")
        return self.aggregations[kind]

    @property
    def overall(self) -> Estimate:
        """The simple (group-size weighted) average of post-treatment ATT(g,t)."""
        return self.aggregations["simple"].overall

    @property
    def effect(self) -> Estimate:
        return self.overall

    @property
    def estimates(self) -> tuple[Estimate, ...]:
        return tuple(a.overall for a in self.aggregations.values())

    @property
    def n(self) -> int:
        return self.n_units

    @property
    def n_comparison(self) -> None:
        return None

    def _notes(self) -> list[str]:
        return [self.overall.method] + super()._notes()


@dataclass(frozen=True)
class _Stats:
    """Per-cohort sufficient statistics of the wide outcome matrix."""

    n: int
    times: np.ndarray
    cohort_values: np.ndarray  # 0 = never treated, else first treated period
    n_c: np.ndarray  # (C,)
    s_c: np.ndarray  # (C, T)
    q_c: np.ndarray  # (C, T, T)
    y_sorted: np.ndarray  # (n, T) rows ordered by cohort, for the bootstrap only
    bounds: np.ndarray  # cohort row boundaries in y_sorted


def _wide(df: pd.DataFrame, outcome: str, unit: str, time: str, cohort: str, what: str
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    require_columns(df, [outcome, unit, time, cohort], what=what)
    y = numeric(df, outcome, what=what)
    g = numeric(df, cohort, what=what)
    g = np.where(np.isnan(g), 0.0, g)
    tcol = numeric(df, time, what=what)
    ucodes, _ = pd.factorize(df[unit], sort=True)
    if (ucodes < 0).any():
        raise SpecError(f"{what}: column {unit!r} has missing unit ids.")
    times, tcodes = np.unique(tcol, return_inverse=True)
    nu, nt = int(ucodes.max()) + 1, len(times)
    if np.bincount(ucodes * nt + tcodes, minlength=nu * nt).max() > 1:
        raise SpecError(f"{what}: some unit has more than one row in the same period. "
                        "Fix: one row per unit and period.")
    gw = np.zeros(nu)
    gw[ucodes] = g
    if not np.array_equal(gw[ucodes], g):
        raise SpecError(f"{what}: the cohort column {cohort!r} (first treated period) must be the same "
                        "in every row of a unit.")
    yw = np.full((nu, nt), np.nan)
    yw[ucodes, tcodes] = y
    warnings: list[str] = []
    complete = ~np.isnan(yw).any(axis=1)
    if not complete.all():
        warnings.append(f"{int((~complete).sum())} unit(s) without an outcome in every period were dropped "
                        "(balanced panel needed, as R did).")
        yw, gw = yw[complete], gw[complete]
    return yw, gw, times, warnings


def _stats(yw: np.ndarray, gw: np.ndarray, times: np.ndarray) -> _Stats:
    order = np.argsort(gw, kind="stable")
    ys, gs = yw[order], gw[order]
    values, starts = np.unique(gs, return_index=True)
    bounds = np.append(starts, len(gs))
    n_c = np.diff(bounds).astype(float)
    s_c = np.vstack([ys[a:b].sum(axis=0) for a, b in zip(bounds[:-1], bounds[1:])])
    q_c = np.stack([ys[a:b].T @ ys[a:b] for a, b in zip(bounds[:-1], bounds[1:])])
    return _Stats(n=len(gs), times=times, cohort_values=values, n_c=n_c, s_c=s_c, q_c=q_c, y_sorted=ys,
                  bounds=bounds)


@dataclass
class _Linear:
    """Estimands whose influence function is IF_i = A[c(i)] + Y_i @ B[c(i)] (K columns)."""

    est: np.ndarray  # (K,)
    a: np.ndarray  # (C, K)
    b: np.ndarray  # (C, T, K)

    def combine(self, w: np.ndarray, extra_a: np.ndarray | None = None) -> _Linear:
        a = self.a @ w
        if extra_a is not None:
            a = a + extra_a
        return _Linear(self.est @ w, a, self.b @ w)


def _cov(lin: _Linear, st: _Stats) -> np.ndarray:
    """Covariance of the estimands: sum_i IF_i IF_i' / n^2 from cohort sums."""
    k = lin.a.shape[1]
    m = np.zeros((k, k))
    for c in range(len(st.n_c)):
        a, b = lin.a[c], lin.b[c]
        sb = st.s_c[c] @ b
        m += st.n_c[c] * np.outer(a, a) + np.outer(a, sb) + np.outer(sb, a) + b.T @ st.q_c[c] @ b
    return m / st.n ** 2


def _group_time(st: _Stats, control_group: ControlGroup, anticipation: int
                ) -> tuple[pd.DataFrame, _Linear, list[str]]:
    times, cv, n = st.times, st.cohort_values, st.n
    n_coh, nt = len(cv), len(times)
    rows, a_cols, b_cols, warnings = [], [], [], []
    for gi, g in enumerate(cv):
        if g == 0:
            continue
        before = np.flatnonzero(times + anticipation < g)
        if before.size == 0:
            warnings.append(f"Cohort {g:g} has no pre-treatment period and was left out.")
            continue
        pret_g = before[-1]
        for ti in range(1, nt):
            post = bool(g <= times[ti])
            base = pret_g if post else ti - 1
            if control_group == "never_treated":
                ctrl = cv == 0
            else:
                ctrl = (cv == 0) | ((cv > times[ti] + anticipation) & (cv != g))
            if not ctrl.any():
                warnings.append(f"ATT({g:g},{times[ti]:g}) skipped: no comparison units.")
                continue
            n_g, n_ctl = st.n_c[gi], st.n_c[ctrl].sum()
            mu_g = (st.s_c[gi, ti] - st.s_c[gi, base]) / n_g
            mu_c = (st.s_c[ctrl, ti] - st.s_c[ctrl, base]).sum() / n_ctl
            a = np.zeros(n_coh)
            b = np.zeros((n_coh, nt))
            a[gi] = -n * mu_g / n_g
            b[gi, ti] += n / n_g
            b[gi, base] -= n / n_g
            a[ctrl] = n * mu_c / n_ctl
            b[ctrl, ti] -= n / n_ctl
            b[ctrl, base] += n / n_ctl
            rows.append({"group": g, "time": times[ti], "event_time": times[ti] - g, "post": post,
                         "base_period": times[base], "att": mu_g - mu_c, "n_treated": int(n_g),
                         "n_control": int(n_ctl)})
            a_cols.append(a)
            b_cols.append(b)
    if not rows:
        raise InsufficientDataError("No group-time ATT could be estimated: check that some units start "
                                    "treatment after the first period and that comparison units exist.")
    table = pd.DataFrame(rows)
    lin = _Linear(table["att"].to_numpy(), np.column_stack(a_cols), np.stack(b_cols, axis=-1))
    return table, lin, warnings


def _wif(keep_groups: np.ndarray, pg: np.ndarray, att: np.ndarray, cv: np.ndarray) -> np.ndarray:
    """R did's wif() %*% att per cohort: the IF of estimating the group shares (C,)."""
    spg = pg.sum()
    ind = (cv[:, None] == keep_groups[None, :]).astype(float) - pg[None, :]
    if1 = ind / spg
    if2 = ind.sum(axis=1, keepdims=True) * (pg / spg ** 2)[None, :]
    return (if1 - if2) @ att


def _aggregations(tab: pd.DataFrame, lin: _Linear, st: _Stats) -> dict[str, tuple[np.ndarray, _Linear, _Linear]]:
    """For each kind: (levels, component estimands, overall estimand)."""
    cv = st.cohort_values
    share = dict(zip(cv, st.n_c / st.n))
    grp = tab["group"].to_numpy()
    tt = tab["time"].to_numpy()
    ev = tab["event_time"].to_numpy()
    pg = np.array([share[g] for g in grp])
    post = grp <= tt
    out: dict[str, tuple[np.ndarray, _Linear, _Linear]] = {}

    def weighted(sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w = np.zeros(len(tab))
        w[sel] = pg[sel] / pg[sel].sum()
        return w, _wif(grp[sel], pg[sel], lin.est[sel], cv)

    def components(levels, selector, with_wif: bool) -> _Linear:
        ws, extras = [], []
        for lv in levels:
            w, extra = weighted(selector(lv))
            ws.append(w)
            extras.append(extra if with_wif else np.zeros(len(cv)))
        return lin.combine(np.column_stack(ws), np.column_stack(extras))

    w, extra = weighted(post)
    simple = lin.combine(w[:, None], extra[:, None])
    out["simple"] = (np.array(["overall"]), simple, simple)

    groups = np.unique(grp[post])
    comp = components(groups, lambda g: post & (grp == g), with_wif=False)
    pgg = np.array([share[g] for g in groups])
    overall = comp.combine((pgg / pgg.sum())[:, None], _wif(groups, pgg, comp.est, cv)[:, None])
    out["group"] = (groups, comp, overall)

    es = np.unique(ev)
    comp = components(es, lambda e: ev == e, with_wif=True)
    epos = (es >= 0).astype(float)
    out["dynamic"] = (es, comp, comp.combine((epos / epos.sum())[:, None]))

    cal = np.unique(tt[post])
    comp = components(cal, lambda t: post & (tt == t), with_wif=True)
    out["calendar"] = (cal, comp, comp.combine(np.full((len(cal), 1), 1 / len(cal))))
    return out


def _boot_weights(rng: np.random.Generator, size: tuple[int, int], kind: str) -> np.ndarray:
    if kind == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=size)
    s5 = np.sqrt(5.0)
    p = (s5 + 1) / (2 * s5)
    return np.where(rng.random(size) < p, (1 - s5) / 2, (1 + s5) / 2)


def _bootstrap(lin: _Linear, st: _Stats, n_boot: int, seed: int | None, kind: str) -> np.ndarray:
    """Multiplier-bootstrap draws of sqrt(n)·(estimate* - estimate) for every column (n_boot, K)."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n_boot, lin.a.shape[1]))
    chunk = max(1, int(2e7 // max(st.n, 1)))  # keep each weight block near 160 MB or less
    for lo in range(0, n_boot, chunk):
        b = min(chunk, n_boot - lo)
        xi = _boot_weights(rng, (b, st.n), kind)
        z = np.zeros((b, lin.a.shape[1]))
        for c, (s, e) in enumerate(zip(st.bounds[:-1], st.bounds[1:])):
            xc = xi[:, s:e]
            z += np.outer(xc.sum(axis=1), lin.a[c]) + (xc @ st.y_sorted[s:e]) @ lin.b[c]
        out[lo:lo + b] = z / np.sqrt(st.n)
    return out


def _boot_summary(draws: np.ndarray, n: int, alpha: float) -> tuple[np.ndarray, float]:
    """Bootstrap SEs (IQR-based, as R mboot) and the uniform critical value of the family."""
    q75, q25 = np.quantile(draws, [0.75, 0.25], axis=0)
    sigma = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    ok = sigma > np.sqrt(np.finfo(float).eps) * 10
    if not ok.any():
        return sigma / np.sqrt(n), float("nan")
    tmax = np.max(np.abs(draws[:, ok] / sigma[ok]), axis=1)
    crit = float(np.sort(tmax)[int(np.ceil((1 - alpha) * len(tmax))) - 1])  # R quantile type 1
    return sigma / np.sqrt(n), crit


def _table(levels: np.ndarray, lin: _Linear, se: np.ndarray, alpha: float,
           band: tuple[np.ndarray, float] | None) -> pd.DataFrame:
    z = stats.norm.ppf(1 - alpha / 2)
    t = pd.DataFrame({"level": levels, "estimate": lin.est, "se": se, "ci_low": lin.est - z * se,
                      "ci_high": lin.est + z * se})
    if band is not None:
        bse, crit = band
        t["boot_se"] = bse
        t["band_low"] = lin.est - crit * bse
        t["band_high"] = lin.est + crit * bse
    return t


def callaway_santanna(df: pd.DataFrame, *, outcome: str, unit: str, time: str, cohort: str,
                      control_group: ControlGroup = "never_treated", anticipation: int = 0,
                      alpha: float = 0.05, n_boot: int = 0, boot_weights: str = "mammen",
                      seed: int | None = None) -> CallawaySantAnnaResult:
    """Callaway & Sant'Anna (2021) DiD for staggered roll-out (no covariates).

    Parameters
    ----------
    df
        Long balanced panel, one row per unit and period (numeric periods).
    outcome, unit, time
        Column names.
    cohort
        First treated period of the unit's group (R ``gname``); 0 or missing
        for never treated. Cohorts after the last period count as never
        treated; units treated in the first period are dropped (as R did).
    control_group
        ``"never_treated"`` or ``"not_yet_treated"``.
    anticipation
        Periods of anticipation (R ``anticipation``).
    n_boot
        Multiplier-bootstrap draws (0 = analytic SEs only). With draws, every
        table gains bootstrap SEs and uniform (simultaneous) bands.
    boot_weights
        ``"mammen"`` (R did's choice) or ``"rademacher"``.
    seed
        Seed of the bootstrap; same seed, same bands.

    Returns
    -------
    CallawaySantAnnaResult
    """
    what = "Callaway & Sant'Anna DiD"
    if control_group not in ("never_treated", "not_yet_treated"):
        raise SpecError(f"{what}: control_group must be 'never_treated' or 'not_yet_treated'.")
    if boot_weights not in ("mammen", "rademacher"):
        raise SpecError(f"{what}: boot_weights must be 'mammen' or 'rademacher'.")
    yw, gw, times, warnings = _wide(df, outcome, unit, time, cohort, what)
    late = gw > times.max()
    if late.any():
        warnings.append(f"{int(late.sum())} unit(s) first treated after the last period count as never treated.")
        gw = np.where(late, 0.0, gw)
    always = (gw > 0) & (gw <= times.min() + anticipation)
    if always.any():
        warnings.append(f"{int(always.sum())} unit(s) treated from the first period were dropped (no pre-period).")
        yw, gw = yw[~always], gw[~always]
    if control_group == "never_treated" and not (gw == 0).any():
        raise InsufficientDataError(f"{what}: there are no never-treated units. "
                                    "Fix: use control_group='not_yet_treated'.")
    st = _stats(yw, gw, times)
    tab, lin, w2 = _group_time(st, control_group, anticipation)
    warnings += w2
    aggs = _aggregations(tab, lin, st)
    # Stack every estimand so the bootstrap uses the same draws for all.
    blocks = [("att_gt", lin)] + [(k, aggs[k][1]) for k in AGGREGATIONS] + \
             [(k + "_overall", aggs[k][2]) for k in AGGREGATIONS]
    ses = {name: np.sqrt(np.clip(np.diag(_cov(b, st)), 0, None)) for name, b in blocks}
    boot: dict[str, tuple[np.ndarray, float]] = {}
    if n_boot:
        stacked = _Linear(np.concatenate([b.est for _, b in blocks]), np.hstack([b.a for _, b in blocks]),
                          np.concatenate([b.b for _, b in blocks], axis=-1))
        draws = _bootstrap(stacked, st, n_boot, seed, boot_weights)
        pos = 0
        for name, b in blocks:
            k = len(b.est)
            boot[name] = _boot_summary(draws[:, pos:pos + k], st.n, alpha)
            pos += k
    z = stats.norm.ppf(1 - alpha / 2)
    se = ses["att_gt"]
    tab = tab.assign(se=se, ci_low=tab.att - z * se, ci_high=tab.att + z * se)
    if n_boot:
        bse, crit = boot["att_gt"]
        tab = tab.assign(boot_se=bse, band_low=tab.att - crit * bse, band_high=tab.att + crit * bse)
    pre = ~tab["post"].to_numpy() & (se > 0)
    pretrend = None
    if pre.any():
        idx = np.flatnonzero(pre)
        v = _cov(_Linear(lin.est[idx], lin.a[:, idx], lin.b[:, :, idx]), st)
        if 1 / np.linalg.cond(v) <= np.finfo(float).eps:  # as R did: no test on a singular covariance
            warnings.append("No pre-trend test: the covariance of the pre-period ATT(g,t) is singular.")
        else:
            pretrend = wald_test(lin.est[idx], v, df_den=None)
    method = (f"Callaway & Sant'Anna (2021), unconditional, {control_group.replace('_', '-')} controls, "
              "varying base period, analytic influence-function SEs")
    aggregations = {}
    for kind in AGGREGATIONS:
        levels, comp, overall = aggs[kind]
        se_o = float(ses[kind + "_overall"][0])
        est = t_estimate(f"ATT ({kind})", float(overall.est[0]), se_o, None, alpha=alpha,
                         scale="mean difference", method=method)
        table = _table(levels, comp, ses[kind], alpha, boot.get(kind))
        aggregations[kind] = Aggregation(kind=kind, overall=est, table=table,
                                         critical_value=boot[kind][1] if n_boot else None,
                                         title=f"ATT aggregated: {kind}")
    untested = ("the pre-period estimates' covariance is singular: too few units for a joint test" if pre.any()
                else "no pre-treatment periods to test")
    ev = did_evidence(pretrend, alpha=alpha, design="Staggered DiD (Callaway & Sant'Anna)", untested=untested)
    return CallawaySantAnnaResult(
        att_gt=tab, aggregations=aggregations, pretrend=pretrend, evidence=ev, control_group=control_group,
        anticipation=anticipation, n_units=st.n, cohorts=tuple(float(c) for c in st.cohort_values if c != 0),
        n_boot=n_boot, critical_value=boot["att_gt"][1] if n_boot else None, warnings=tuple(warnings))


__all__ = ["AGGREGATIONS", "Aggregation", "CallawaySantAnnaResult", "callaway_santanna"]
