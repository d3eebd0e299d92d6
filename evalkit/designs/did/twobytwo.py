"""Two-group, two-period difference-in-differences (the 2x2 design).

The estimate is the interaction coefficient of the saturated (weighted) least
squares regression ``y ~ 1 + treated + post + treated:post``, which equals the
difference of the four (weighted) cell means, ``(T_after - T_before) - (C_after
- C_before)``, also when the panel is unbalanced. Standard errors are
cluster-robust (CR1: G/(G-1)·(N-1)/(N-K), K = 4) on the t distribution with
G - 1 degrees of freedom; with no unit or cluster column they are
heteroskedasticity-robust (HC1, each row its own cluster, df = N - K), which is
what Stata's ``regress, vce(robust)`` reports.

Hand-written (a 4-column regression) so that cell means, weights and the
correction come from one place; verified against statsmodels OLS/WLS
``cov_type="cluster"`` and Card & Krueger (1994, Table 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evalkit.designs.did._common import (
    PreTrendTest, binary, cluster_vcov, codes, did_evidence, numeric, require_columns, t_estimate,
)
from evalkit.errors import InsufficientDataError, MissingDataError, SpecError
from evalkit.results import DesignResult, Estimate, EvidenceLevel, UnknownTermError, estimate_row, stat_row


@dataclass(frozen=True)
class CellMean:
    """Mean outcome in one of the four cells (aggregate only)."""

    group: str  # "treated" / "comparison"
    period: str  # "before" / "after"
    mean: float
    se: float  # cluster-robust SE of the cell mean, same correction as the DiD
    n_obs: int
    sum_weights: float


@dataclass(frozen=True)
class DiD2x2Result(DesignResult):
    """A 2x2 difference-in-differences estimate, its four cell means and the evidence level.

    The headline ``effect`` is the DiD (also ``estimate``). ``n`` / ``n_comparison`` are the observations of
    the treated and the comparison group (both periods; person-periods in a panel); ``n_obs`` is their sum.
    """

    estimate: Estimate
    cells: tuple[CellMean, ...]
    n_obs: int
    n_clusters: int
    cluster: str
    correction: str
    evidence: EvidenceLevel
    pretrend: PreTrendTest | None = None
    pre_coefficients: pd.DataFrame | None = None  # event-study leads behind ``pretrend``, if any
    warnings: tuple[str, ...] = field(default=())
    title: str = "Difference-in-differences (2x2)"

    @property
    def effect(self) -> Estimate:
        return self.estimate

    @property
    def estimates(self) -> tuple[Estimate, ...]:
        return (self.estimate,)

    @property
    def n(self) -> int:
        return sum(c.n_obs for c in self.cells if c.group == "treated")

    @property
    def n_comparison(self) -> int:
        return sum(c.n_obs for c in self.cells if c.group == "comparison")

    def cell(self, group: str, period: str) -> CellMean:
        """The cell mean for ``group`` ("treated"/"comparison") and ``period`` ("before"/"after")."""
        for c in self.cells:
            if c.group == group and c.period == period:
                return c
        raise UnknownTermError(f"{self.title} has no cell ({group!r}, {period!r}). Fix: use group 'treated' or "
                               "'comparison' and period 'before' or 'after'.")

    def _rows(self) -> list[dict]:
        rows = [estimate_row(self.estimate)]
        rows += [stat_row(f"mean {c.group} {c.period}", estimate=c.mean, se=c.se, scale="cell mean",
                          n=c.n_obs if c.group == "treated" else None,
                          n_comparison=c.n_obs if c.group == "comparison" else None) for c in self.cells]
        return rows

    def _notes(self) -> list[str]:
        notes = [f"Standard errors: {self.correction}"]
        if self.pre_coefficients is not None:
            pre = ", ".join(f"{int(r.event_time)}: {r.estimate:.3g} ({r.se:.3g})"
                            for r in self.pre_coefficients.itertuples())
            notes.append(f"Pre-period differences relative to the last pre-period (SE): {pre}.")
        return notes + super()._notes()


def did_2x2(df: pd.DataFrame, *, outcome: str, post: str, treated: str, unit: str | None = None,
            cluster: str | None = None, weights: str | None = None, alpha: float = 0.05,
            pretrend: PreTrendTest | None = None) -> DiD2x2Result:
    """Two-group, two-period difference-in-differences with cluster-robust SEs.

    Parameters
    ----------
    df
        Long data: one row per unit and period (or repeated cross-sections).
    outcome, post, treated
        Outcome column; 0/1 after-period indicator; 0/1 treated-group indicator.
    unit
        Unit identifier; SEs are clustered on it unless ``cluster`` is given.
    cluster
        Cluster column (e.g. matched set). Without ``unit`` and ``cluster``:
        HC1 robust SEs.
    weights
        Non-negative analytic weights (e.g. matching weights); rows with weight
        0 are dropped.
    alpha
        1 - confidence level.
    pretrend
        Parallel-trends evidence computed elsewhere (e.g. by ``event_study``),
        used for the evidence level.

    Returns
    -------
    DiD2x2Result

    References
    ----------
    Card, D. & Krueger, A. B. (1994). Minimum wages and employment. AER 84(4), 772-793.
    Cameron, A. C. & Miller, D. L. (2015). A practitioner's guide to cluster-robust inference. JHR 50(2).
    """
    what = "Difference-in-differences (2x2)"
    require_columns(df, [outcome, post, treated, unit, cluster, weights], what=what)
    y = numeric(df, outcome, what=what)
    p = binary(df, post, what=what)
    d = binary(df, treated, what=what)
    w = np.ones(len(df)) if weights is None else numeric(df, weights, what=what)
    if np.any(w[~np.isnan(w)] < 0):
        raise SpecError(f"{what}: weights in {weights!r} must not be negative.")
    clus_col = cluster or unit
    keep = ~(np.isnan(y) | np.isnan(p) | np.isnan(d) | np.isnan(w)) & (w > 0)
    if clus_col is not None:
        keep &= df[clus_col].notna().to_numpy()
    warnings: list[str] = []
    dropped = int((~keep).sum())
    if dropped:
        warnings.append(f"{dropped} row(s) with a missing value or zero weight were left out.")
    y, p, d, w = y[keep], p[keep], d[keep], w[keep]
    n = len(y)
    cell_n = {(gi, pi): int(np.sum((d == gi) & (p == pi))) for gi in (0, 1) for pi in (0, 1)}
    empty = [k for k, v in cell_n.items() if v == 0]
    if empty:
        names = ", ".join(f"{'treated' if g else 'comparison'} {'after' if t else 'before'}" for g, t in empty)
        raise InsufficientDataError(f"{what}: no observations in cell(s): {names}. "
                                    "Fix: each group needs outcomes before and after.")
    x = np.column_stack([np.ones(n), d, p, d * p])
    xtwx = x.T @ (x * w[:, None])
    bread = np.linalg.inv(xtwx)
    beta = bread @ (x.T @ (w * y))
    resid = y - x @ beta
    if clus_col is None:
        ccodes = np.arange(n)
        cname, corr = "none (each row)", "HC1 heteroskedasticity-robust: N/(N-K), K = 4; t with N - K df"
    else:
        ccodes, _ = codes(df.loc[keep, clus_col].to_numpy())
        cname = clus_col
        corr = f"cluster-robust by {clus_col!r}, CR1: G/(G-1)·(N-1)/(N-K), K = 4; t with G - 1 df"
    cv = cluster_vcov(x, resid, ccodes, weights=w, k=4, bread=bread)
    df_t = (n - 4) if clus_col is None else cv.df
    se = float(np.sqrt(cv.vcov[3, 3]))
    est = t_estimate("difference-in-differences", float(beta[3]), se, df_t, alpha=alpha,
                     scale="mean difference", method="2x2 DiD, " + corr)
    # Cell means are linear combinations of the coefficients: c' beta.
    combos = {(0, 0): [1, 0, 0, 0], (0, 1): [1, 0, 1, 0], (1, 0): [1, 1, 0, 0], (1, 1): [1, 1, 1, 1]}
    cells = []
    for (gi, pi), c in combos.items():
        c = np.asarray(c, dtype=float)
        m = (d == gi) & (p == pi)
        cells.append(CellMean(group="treated" if gi else "comparison", period="after" if pi else "before",
                              mean=float(c @ beta), se=float(np.sqrt(c @ cv.vcov @ c)), n_obs=int(m.sum()),
                              sum_weights=float(w[m].sum())))
    ev = did_evidence(pretrend, alpha=alpha, design="Difference-in-differences")
    return DiD2x2Result(estimate=est, cells=tuple(cells), n_obs=n, n_clusters=cv.n_clusters, cluster=cname,
                        correction=corr, evidence=ev, pretrend=pretrend, warnings=tuple(warnings))


_WEIGHT_NAMES = ("weights", "weight", "match_weight")
_SUBCLASS_NAMES = ("subclass", "matched_set", "pair", "set_id")
_TREAT_NAMES = ("treated", "treat", "is_treated")


def _first(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    return next((c for c in names if c in frame.columns), None)


def matched_frame(match_result: Any, *, unit: str) -> pd.DataFrame:
    """The matched sample (one row per matched unit) from a matching result, by duck typing.

    Accepts a DataFrame, or an object with a DataFrame attribute ``matched``,
    ``matched_data``, ``data`` or ``units`` (e.g.
    :class:`evalkit.designs.matching.match.MatchResult`, whose ``id_col``
    names the id column), or one with
    array attributes ``ids``/``weights`` (and optional ``subclass``,
    ``treated``). The frame must hold the unit id (``unit`` or ``id``) and a
    weight column (``weights``/``weight``); ``subclass`` and ``treated`` are
    used when present.
    """
    frame = None
    if isinstance(match_result, pd.DataFrame):
        frame = match_result
    else:
        for name in ("matched", "matched_data", "data", "units"):
            obj = getattr(match_result, name, None)
            obj = obj() if callable(obj) else obj
            if isinstance(obj, pd.DataFrame):
                frame = obj
                break
        if frame is None and getattr(match_result, "ids", None) is not None:
            cols = {unit: np.asarray(match_result.ids), "weights": np.asarray(match_result.weights)}
            for attr in ("subclass", "treated"):
                val = getattr(match_result, attr, None)
                if val is not None:
                    cols[attr] = np.asarray(val)
            frame = pd.DataFrame(cols)
    if frame is None:
        raise SpecError("matched_did: could not read the matched sample from the matching result "
                        f"({type(match_result).__name__}). Fix: pass the result of the matching design "
                        "or a DataFrame with the unit id and a 'weights' column.")
    id_col = getattr(match_result, "id_col", None)
    if unit not in frame.columns and isinstance(id_col, str) and id_col in frame.columns:
        frame = frame.rename(columns={id_col: unit})
    if unit not in frame.columns and "id" in frame.columns:
        frame = frame.rename(columns={"id": unit})
    if unit not in frame.columns:
        raise MissingDataError(f"matched_did: the matched sample has no {unit!r} (or 'id') column.")
    if _first(frame, _WEIGHT_NAMES) is None:
        raise MissingDataError("matched_did: the matched sample has no 'weights' column.")
    return frame


def matched_did(panel: pd.DataFrame, match_result: Any, *, outcome: str, unit: str, post: str,
                treated: str | None = None, time: str | None = None, cluster: str = "auto",
                alpha: float = 0.05, pretrend: PreTrendTest | None = None) -> DiD2x2Result:
    """2x2 DiD on a matched sample ("matched DiD") in one call.

    Joins the before/after ``panel`` (e.g. proven offences in the 12 months
    before and after the index date) to the matched sample, weights each unit
    by its matching weight and clusters by matched set when every unit sits in
    exactly one set (matching without replacement), else by unit (MatchIt's
    advice; Austin 2011; Abadie & Spiess 2022).

    Parameters
    ----------
    panel
        Long panel with ``unit``, ``post`` (0/1) and ``outcome``; ``treated``
        too unless the matched sample carries it.
    match_result
        The matching design's result, or anything :func:`matched_frame` reads.
    time
        Period column (e.g. ``window`` of :func:`~evalkit.designs.did.panel.offending_panel`).
        With two or more pre-periods, a weighted event study on the same
        sample gives the joint pre-trend test (F, G - 1 df) and the lead
        coefficients, which set the evidence level. The DiD itself pools all
        pre- and all post-periods.
    cluster
        ``"auto"``, ``"subclass"`` or ``"unit"``.
    """
    m = matched_frame(match_result, unit=unit)
    wcol = _first(m, _WEIGHT_NAMES)
    scol = _first(m, _SUBCLASS_NAMES)
    tcol = _first(m, _TREAT_NAMES)
    m = m[m[wcol] > 0]
    unit_once = not m[unit].duplicated().any()
    if cluster not in ("auto", "subclass", "unit"):
        raise SpecError("matched_did: cluster must be 'auto', 'subclass' or 'unit'.")
    use_sub = scol is not None and unit_once and cluster in ("auto", "subclass")
    if cluster == "subclass" and not use_sub:
        raise SpecError("matched_did: cannot cluster by matched set: the matched sample has no subclass "
                        "column, or units appear in more than one set (matching with replacement).")
    agg: dict[str, Any] = {"_w": (wcol, "sum")}
    if tcol is not None:
        agg["_t"] = (tcol, "first")
    if use_sub:
        agg["_set"] = (scol, "first")
    per_unit = m.groupby(unit, sort=True).agg(**agg).reset_index()
    data = panel.merge(per_unit, on=unit, how="inner", validate="many_to_one")
    if data.empty:
        raise InsufficientDataError("matched_did: no unit of the panel is in the matched sample. "
                                    "Fix: check that both use the same person ids.")
    tr = treated
    if tr is None:
        if tcol is None:
            raise MissingDataError("matched_did: give `treated=` or a matched sample with a 'treated' column.")
        tr = "_t"
    clus = "_set" if use_sub else unit
    pre_coefs = None
    if time is not None and pretrend is None:
        pretrend, pre_coefs = _matched_pretrend(data, outcome=outcome, unit=unit, post=post, treated=tr, time=time,
                                                cluster=clus, alpha=alpha)
    res = did_2x2(data, outcome=outcome, post=post, treated=tr, unit=unit, cluster=clus,
                  weights="_w", alpha=alpha, pretrend=pretrend)
    label = "matched set" if use_sub else f"unit {unit!r}"
    note = f"Matched DiD on {per_unit.shape[0]} matched units; clustered by {label}."
    return DiD2x2Result(estimate=res.estimate, cells=res.cells, n_obs=res.n_obs, n_clusters=res.n_clusters,
                        cluster=label, correction=res.correction.replace("'_set'", "matched set"),
                        evidence=did_evidence(pretrend, alpha=alpha, design="Matched difference-in-differences"),
                        pretrend=pretrend, pre_coefficients=pre_coefs, warnings=res.warnings + (note,),
                        title="Matched difference-in-differences (2x2)")


def _matched_pretrend(data: pd.DataFrame, *, outcome: str, unit: str, post: str, treated: str, time: str,
                      cluster: str, alpha: float) -> tuple[PreTrendTest | None, pd.DataFrame | None]:
    """Weighted event study on the matched sample: joint test of the pre-period leads."""
    from evalkit.designs.did.event_study import event_study

    require_columns(data, [time], what="matched_did")
    pre_times = np.unique(data.loc[data[post] == 0, time].dropna())
    post_times = np.unique(data.loc[data[post] == 1, time].dropna())
    if len(pre_times) < 2 or len(post_times) == 0:
        return None, None
    # Periods re-based to start at 1 so that cohort 0 can mean "comparison unit".
    first = float(min(pre_times.min(), post_times.min()))
    tmp = data.assign(_period=data[time] - first + 1)
    tmp["_g"] = np.where(tmp[treated] == 1, float(post_times.min()) - first + 1, 0.0)
    es = event_study(tmp, outcome=outcome, unit=unit, time="_period", cohort="_g", weights="_w", cluster=cluster,
                     alpha=alpha)
    coefs = es.coefficients
    return es.pretrend, coefs[coefs["event_time"] < -1].reset_index(drop=True)


__all__ = ["CellMean", "DiD2x2Result", "did_2x2", "matched_did", "matched_frame"]
