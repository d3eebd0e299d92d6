"""Area difference-in-differences on monthly counts: Poisson rate DiD.

Areas (the finest localities in the data: districts, or a one-district roll-up) that
ran an area-wide programme (``area_rollout``) are compared with areas that did
not, in a Poisson rate model with area and month fixed effects:

    log E[count_at] = a_a + m_t + b D_at + log(population_at),

D_at = 1 for a treated area from its start month on. exp(b) is the rate
ratio: the change in the treated areas' rate relative to the change in the
comparison areas' rate. Poisson fixed effects are consistent whatever the
distribution of the counts, given the mean model (Wooldridge 1999); month
fixed effects absorb anything that hit all areas at once (e.g. lockdowns).

Inference. Standard errors are cluster-robust by area (CR0 x G/(G-1)) with a
t(G-1) reference. **With about eight areas, cluster-robust standard errors
are unreliable** (too small; Cameron & Miller 2015), so the recommended
p-value and interval (``result.recommended``) are the wild cluster score
bootstrap (:mod:`evalkit.designs.area.bootstrap`, Webb weights by default).
With only one to three treated areas no cluster-based method is reliable
(MacKinnon & Webb 2017); results then say so, and a placebo-area check
(randomisation inference over which areas were treated,
:mod:`evalkit.designs.area.placebo`) is added to every result. Measured here
(tests/test_area_did_montecarlo.py, 8 areas of which 2 treated, 60 months,
overdispersed counts, 200 replications): bias in log rate ratio < 0.003;
the cluster-robust 95% CI covered the truth in only 80-82% of samples (18%
false positives under no effect), while the bootstrap rejected a true null in
3.5% of samples (conservative) and detected a rate ratio of 0.82 in 52%.

Parallel trends. Two checks use only months before the (earliest) start:
a differential linear trend (treated x years, with area and month fixed
effects), tested with the same bootstrap, and event-study leads/lags in bins
of ``event_bin_months`` relative to the start (bin -1, the months just
before the start, is the reference). The evidence level is SMS 3 when the
trend test does not reject at ``pretrend_alpha`` (default 0.10, lenient
because the test has little power with few areas), else SMS 2.

Other programmes. Areas that ran another area-wide programme are dropped
from the comparison from that programme's start (``other_programmes=
"drop_after_start"``, default), dropped entirely (``"exclude"``) or kept
(``"keep"``).

References
----------
Wooldridge JM (1999). Distribution-free estimation of some nonlinear panel
data models. J Econometrics 90:77-97.
Cameron AC, Miller DL (2015). A practitioner's guide to cluster-robust
inference. J Human Resources 50(2):317-372.
Kline P, Santos A (2012); Webb MD (2014); MacKinnon JG, Webb MD (2017): see
:mod:`evalkit.designs.area.bootstrap`.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evalkit.designs.area._data import (Hierarchy, _resolve_hierarchy, check_counts, check_rollout, expand_area,
                                        leaf_areas, month_of)
from evalkit.designs.area._glm import fit_rate, ratio_estimate
from evalkit.designs.area.bootstrap import wild_score_ci, wild_score_test
from evalkit.designs.area.placebo import PlaceboAreasResult, placebo_areas
from evalkit.errors import InsufficientDataError, MissingDataError, SpecError
from evalkit.results import SMS, DesignResult, Estimate, EvidenceLevel, estimate_row, stat_row

OTHER_PROGRAMMES = ("drop_after_start", "exclude", "keep")


@dataclass(frozen=True)
class AreaDiDResult(DesignResult):
    """Poisson rate DiD for one area-wide programme (aggregates only).

    ``group_rates`` holds, for treated and comparison areas before and after
    the start, the event count, person-months at risk and the annual rate per
    100,000: area totals for the report layer (which suppresses small counts).

    The headline ``effect`` is :attr:`recommended` (the rate ratio with the wild-bootstrap p-value and
    interval) when the bootstrap interval was computed, else the cluster-robust ``rate_ratio``. ``n`` and
    ``n_comparison`` are the events in the programme and the comparison areas over the whole window.
    """

    indicator: str
    intervention_id: str
    treated_areas: tuple[str, ...]
    comparison_areas: tuple[str, ...]
    start_months: tuple[str, ...]
    n_months: int
    n_clusters: int
    rate_ratio: Estimate
    bootstrap_p: float
    bootstrap_ci: tuple[float, float]
    bootstrap_weights: str
    n_boot: int
    pretrend: Estimate | None
    pretrend_bootstrap_p: float | None
    event_study: tuple[Estimate, ...]
    group_rates: tuple[dict, ...]
    method: str
    evidence: EvidenceLevel
    warnings: tuple[str, ...] = field(default=())
    placebo: PlaceboAreasResult | None = None  # placebo-area (randomisation) check; None if not run

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"Area difference-in-differences: {self.intervention_id}, {self.indicator}"

    @property
    def recommended(self) -> Estimate:
        """The rate ratio with the wild-bootstrap p-value and interval: the one to report with few areas.

        ``se`` stays the cluster-robust log-scale SE (for reference only); the
        interval is NaN when ``area_did`` was run with ``bootstrap_ci=False``.
        """
        rr = self.rate_ratio
        return Estimate(name=f"{rr.name}, wild bootstrap", estimate=rr.estimate, se=rr.se,
                        ci_low=self.bootstrap_ci[0], ci_high=self.bootstrap_ci[1], p_value=self.bootstrap_p,
                        scale=rr.scale, method=f"wild cluster score bootstrap ({self.bootstrap_weights}, "
                        f"{self.n_boot} draws); interval by test inversion", df=None, level=rr.level)

    @property
    def effect(self) -> Estimate:
        rec = self.recommended
        return rec if np.isfinite(rec.ci_low) and np.isfinite(rec.ci_high) else self.rate_ratio

    @property
    def estimates(self) -> tuple[Estimate, ...]:
        head = self.effect
        rest = [e for e in (self.rate_ratio, self.pretrend) if e is not None and e is not head]
        return (head, *rest)

    @property
    def n(self) -> int:
        return int(sum(g["count"] for g in self.group_rates if g["group"] == "treated"))

    @property
    def n_comparison(self) -> int:
        return int(sum(g["count"] for g in self.group_rates if g["group"] == "comparison"))

    @property
    def pct_change(self) -> float:
        """Percentage change attributed to the programme, 100 (rate ratio - 1)."""
        return 100.0 * (self.rate_ratio.estimate - 1.0)

    def _rows(self) -> list[dict]:
        rows = [estimate_row(e) for e in self.estimates]
        if self.pretrend is not None and self.pretrend_bootstrap_p is not None:
            rows.append(stat_row(f"{self.pretrend.name}, wild bootstrap p-value", p_value=self.pretrend_bootstrap_p,
                                 method=f"wild cluster score bootstrap ({self.bootstrap_weights})"))
        if self.placebo is not None:
            rows.append(stat_row("placebo-area p-value", p_value=self.placebo.p_value,
                                 method=f"{self.placebo.n_sets} sets of areas given the programme's start"))
        return rows

    def event_study_frame(self) -> pd.DataFrame:
        """Event-study rate ratios by bin of months relative to the start (reference bin omitted)."""
        return pd.DataFrame([e.as_dict() for e in self.event_study])

    def group_rates_frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.group_rates))


def _codes(values: pd.Series) -> tuple[np.ndarray, list]:
    cats = sorted(values.unique())
    return values.map({c: i for i, c in enumerate(cats)}).to_numpy(), cats


def _fe_design(panel: pd.DataFrame, extra: list[np.ndarray]) -> np.ndarray:
    """[extra columns, intercept, area dummies (first dropped), month dummies (first dropped)]."""
    a, _ = _codes(panel["area"])
    m, _ = _codes(panel["month"])
    A = np.eye(a.max() + 1)[a][:, 1:]
    M = np.eye(m.max() + 1)[m][:, 1:]
    return np.column_stack(extra + [np.ones(len(panel)), A, M])


def _panel(counts: pd.DataFrame, rollout: pd.DataFrame, *, indicator: str, intervention_id: str,
           comparison_areas, start, end, other_programmes: str, h) -> tuple[pd.DataFrame, dict, list[str]]:
    """Long panel of leaf areas with 'treated' start months; returns (panel, starts, notes)."""
    sub = counts[counts["indicator"] == indicator]
    if sub.empty:
        raise MissingDataError(f"area_counts has no rows for indicator {indicator!r}.")
    available = set(sub["area"].unique())
    leaves = leaf_areas(available, h) or sorted(available)
    mine = rollout[rollout["intervention_id"] == intervention_id]
    if mine.empty:
        raise MissingDataError(f"area_rollout has no rows for {intervention_id!r}; it lists "
                               f"{sorted(rollout['intervention_id'].unique())}.")
    starts: dict[str, pd.Period] = {}
    for _, row in mine.iterrows():
        for leaf in expand_area(row["area"], h, available):
            starts[leaf] = min(starts.get(leaf, row["start_month"]), row["start_month"])
    absent = sorted(set(starts) - set(leaves))
    if absent:
        raise MissingDataError(f"{intervention_id} ran in {', '.join(absent)} but area_counts has no "
                               f"{indicator!r} rows there.")
    notes: list[str] = []
    others: dict[str, pd.Period] = {}
    for _, row in rollout[rollout["intervention_id"] != intervention_id].iterrows():
        for leaf in expand_area(row["area"], h, available):
            others[leaf] = min(others.get(leaf, row["start_month"]), row["start_month"])
    controls = [a for a in leaves if a not in starts]
    if comparison_areas is not None:
        wanted = set()
        for a in comparison_areas:
            wanted.update(expand_area(str(a), h, available))
        bad = sorted(wanted & set(starts))
        if bad:
            raise SpecError(f"comparison_areas include treated area(s) {', '.join(bad)}; remove them.")
        controls = [a for a in controls if a in wanted]
    if other_programmes == "exclude":
        controls = [a for a in controls if a not in others]
    panel = sub[sub["area"].isin(list(starts) + controls)].copy()
    if other_programmes == "drop_after_start":
        other_ord = panel["area"].map({a: m.ordinal for a, m in others.items()}).astype(float)
        month_ord = panel["month"].map(lambda m: m.ordinal).astype(float)
        drop = ~panel["area"].isin(list(starts)) & other_ord.notna() & (month_ord >= other_ord)
        if drop.any():
            notes.append(f"{int(drop.sum())} area-months of comparison areas that ran other area-wide programmes "
                         "were dropped from those programmes' start.")
        panel = panel[~drop]
    overlap = sorted(set(starts) & set(others))
    if overlap:
        notes.append(f"Treated area(s) {', '.join(overlap)} also ran another area-wide programme; the estimate "
                     "mixes the two.")
    if start is not None:
        panel = panel[panel["month"] >= month_of(start, what="start")]
    if end is not None:
        panel = panel[panel["month"] <= month_of(end, what="end")]
    if not controls or panel[~panel["area"].isin(list(starts))].empty:
        raise InsufficientDataError(f"no comparison areas are left for {intervention_id}; every area ran the "
                                    "programme or another one. Pass comparison_areas or other_programmes='keep'.")
    panel["start"] = panel["area"].map(starts)
    panel["treated"] = panel["start"].notna()
    start_ord = panel["area"].map({a: m.ordinal for a, m in starts.items()}).astype(float)
    panel["D"] = panel["treated"] & (panel["month"].map(lambda m: m.ordinal).astype(float) >= start_ord)
    panel = panel.sort_values(["area", "month"], kind="mergesort").reset_index(drop=True)
    return panel, starts, notes


def _group_rates(panel: pd.DataFrame, first_start: pd.Period) -> tuple[dict, ...]:
    out = []
    for treated, label in ((True, "treated"), (False, "comparison")):
        for post, plabel in ((False, "before"), (True, "after")):
            rows = panel[(panel["treated"] == treated) & ((panel["month"] >= first_start) == post)]
            events, pm = int(rows["count"].sum()), float(rows["population"].sum())
            out.append({"group": label, "period": plabel, "count": events, "person_months": pm,
                        "rate_per_100k_year": 1e5 * 12 * events / pm if pm else float("nan")})
    return tuple(out)


def _event_study(panel: pd.DataFrame, bin_months: int, alpha: float) -> tuple[tuple[Estimate, ...], str]:
    """Event-study rate ratios by bin of months from the start, and a note when they cannot be estimated."""
    month_n = panel["month"].map(lambda m: m.ordinal).to_numpy(float)
    start_n = panel["start"].map(lambda m: m.ordinal if isinstance(m, pd.Period) else np.nan).to_numpy(float)
    bins = pd.Series(np.floor((month_n - start_n) / bin_months), index=panel.index)
    levels = sorted(b for b in bins.dropna().unique() if b != -1)
    extra = [((bins == b) & panel["treated"]).to_numpy(float) for b in levels]
    X = _fe_design(panel, extra)
    groups, _ = _codes(panel["area"])
    try:
        fit = fit_rate(panel["count"].to_numpy(float), X, np.log(panel["population"].to_numpy()), cov="cluster",
                       groups=groups)
    except InsufficientDataError as exc:
        return (), f"The event study by months from the start could not be estimated: {exc}"
    out = []
    for i, b in enumerate(levels):
        lo, hi = int(b) * bin_months, int(b) * bin_months + bin_months - 1
        out.append(ratio_estimate(f"months {lo} to {hi}", fit.params[i], float(np.sqrt(fit.cov[i, i])),
                                  alpha=alpha, df=fit.df, method="event study, reference = months "
                                  f"{-bin_months} to -1"))
    return tuple(out), ""


def area_did(area_counts: pd.DataFrame, area_rollout: pd.DataFrame, *, indicator: str, intervention_id: str,
             comparison_areas: list[str] | None = None, start: str | _dt.date | None = None,
             end: str | _dt.date | None = None, other_programmes: str = "drop_after_start",
             event_bin_months: int = 6, weights: str = "webb", n_boot: int = 9999, seed: int = 20210401,
             bootstrap_ci: bool = True, alpha: float = 0.05, pretrend_alpha: float = 0.10,
             placebo_check: bool = True, hierarchy: Hierarchy | None = None) -> AreaDiDResult:
    """Rate ratio of an area-wide programme: treated against comparison areas (Poisson rate DiD).

    Parameters
    ----------
    area_counts, area_rollout
        Data contract tables.
    indicator, intervention_id
        Outcome series and the programme (its rows in ``area_rollout``).
    comparison_areas
        Restrict the comparison to these areas (default: every area that did
        not run the programme).
    start, end
        Study window (default: all months in the data).
    other_programmes
        ``"drop_after_start"`` (default), ``"exclude"`` or ``"keep"``.
    event_bin_months
        Width of the event-study bins.
    weights, n_boot, seed
        Wild score bootstrap: ``"webb"`` (default) or ``"rademacher"``
        (enumerated when there are at most 12 areas); draws; seed.
    bootstrap_ci
        Also invert the bootstrap test for a confidence interval (~2 s).
    alpha, pretrend_alpha
        1 - confidence level; level of the pre-trend test that decides SMS 3.
    placebo_check
        Also refit with the start given to every other set of as many areas
        (:mod:`evalkit.designs.area.placebo`; its sentence is added to the
        warnings, as it matters most when few areas are treated).

    Returns
    -------
    AreaDiDResult
    """
    if other_programmes not in OTHER_PROGRAMMES:
        raise SpecError(f"other_programmes must be one of {OTHER_PROGRAMMES} (got {other_programmes!r}).")
    if event_bin_months < 1:
        raise SpecError("event_bin_months must be at least 1.")
    h = _resolve_hierarchy(hierarchy)
    panel, starts, notes = _panel(check_counts(area_counts), check_rollout(area_rollout), indicator=indicator,
                                  intervention_id=str(intervention_id), comparison_areas=comparison_areas,
                                  start=start, end=end, other_programmes=other_programmes, h=h)
    first_start = min(starts.values())
    months = panel["month"]
    if (months < first_start).sum() == 0 or (months >= first_start).sum() == 0:
        raise InsufficientDataError(f"{intervention_id}: the data have no months before or none after the start "
                                    f"({first_start}); a DiD needs both.")
    y = panel["count"].to_numpy(float)
    offset = np.log(panel["population"].to_numpy())
    groups, areas = _codes(panel["area"])
    X = _fe_design(panel, [panel["D"].to_numpy(float)])
    fit = fit_rate(y, X, offset, cov="cluster", groups=groups)
    b, se = float(fit.params[0]), float(np.sqrt(fit.cov[0, 0]))
    G = len(areas)
    treated = tuple(sorted(starts))
    comparison = tuple(a for a in areas if a not in starts)
    method = (f"Poisson rate DiD with area and month fixed effects and log(population) offset on "
              f"{len(panel)} area-months ({G} areas: {len(treated)} treated, {len(comparison)} comparison); "
              f"CI from {fit.cov_label}; recommended p-value and CI from the wild cluster score bootstrap "
              f"(Kline & Santos 2012, {weights} weights).")
    rr = ratio_estimate("rate ratio (treated vs comparison, after vs before)", b, se, alpha=alpha, df=fit.df,
                        method=method)
    boot = wild_score_test(y, X, offset, groups, 0, weights=weights, n_boot=n_boot, seed=seed)
    ci = (float("nan"), float("nan"))
    if bootstrap_ci:
        lo, hi = wild_score_ci(y, X, offset, groups, 0, estimate=b, se=se, alpha=alpha, weights=weights,
                               n_boot=n_boot, seed=seed)
        ci = (float(np.exp(lo)), float(np.exp(hi)))
    pre, pre_p, pre_note = _pretrend(panel[panel["month"] < first_start], weights=weights, n_boot=n_boot,
                                     seed=seed, alpha=alpha)
    if pre_note:
        notes.append(pre_note)
    notes.append(f"Only {G} areas: the usual cluster-robust interval is too narrow with so few areas, so the "
                 "wild bootstrap p-value and interval are the ones to report." if G < 30 else "")
    if len(treated) <= 3:
        notes.append(f"Only {len(treated)} treated area(s): with so few treated clusters no cluster-based "
                     "inference is reliable (MacKinnon & Webb 2017); read the interval as indicative.")
    placebo = None
    if placebo_check:
        placebo = placebo_areas(y, _fe_design(panel, []), offset, panel["area"].to_numpy(),
                                panel["month"].map(lambda m: m.ordinal).to_numpy(),
                                {a: m.ordinal for a, m in starts.items()}, estimate=b, seed=seed)
        notes.append(placebo.sentence())
    if len(set(starts.values())) > 1:
        notes.append("Treated areas started in different months: with effects that change over time a single "
                     "two-way fixed-effects ratio can mislead; see evalkit.designs.did for staggered estimators.")
    event_study, es_note = _event_study(panel, event_bin_months, alpha)
    notes.append(es_note)
    if pre is None:
        evidence = EvidenceLevel(SMS.LEVEL_2, "comparison areas present but too few months before the start to "
                                 "test parallel trends")
    elif pre_p is not None and pre_p >= pretrend_alpha:
        evidence = EvidenceLevel(SMS.LEVEL_3, f"before/after with comparison areas; no evidence of different "
                                 f"pre-trends (bootstrap p = {pre_p:.2f}; treated/comparison trend ratio "
                                 f"{pre.estimate:.3f} per year)")
    else:
        evidence = EvidenceLevel(SMS.LEVEL_2, f"comparison areas were on different trends before the start "
                                 f"(bootstrap p = {pre_p:.3f}; treated/comparison trend ratio {pre.estimate:.3f} "
                                 "per year), so they are not a comparable counterfactual")
    return AreaDiDResult(
        indicator=indicator, intervention_id=str(intervention_id), treated_areas=treated,
        comparison_areas=comparison, start_months=tuple(str(starts[a]) for a in treated),
        n_months=int(months.nunique()), n_clusters=G, rate_ratio=rr, bootstrap_p=boot.p_value,
        bootstrap_ci=ci, bootstrap_weights=weights if not boot.enumerated else "rademacher (all sign vectors)",
        n_boot=boot.n_draws, pretrend=pre, pretrend_bootstrap_p=pre_p,
        event_study=event_study, group_rates=_group_rates(panel, first_start),
        method=method, evidence=evidence, warnings=tuple(n for n in notes if n), placebo=placebo)


def _pretrend(pre: pd.DataFrame, *, weights: str, n_boot: int, seed: int, alpha: float,
              ) -> tuple[Estimate | None, float | None, str]:
    """Differential linear pre-trend (treated x years) with area and month fixed effects."""
    if pre["month"].nunique() < 6 or pre["treated"].all() or not pre["treated"].any():
        return None, None, "Fewer than 6 months before the start: parallel pre-trends cannot be checked."
    first = pre["month"].min()
    years = pre["month"].map(lambda m: (m - first).n / 12.0).to_numpy()
    X = _fe_design(pre, [years * pre["treated"].to_numpy(float)])
    y = pre["count"].to_numpy(float)
    offset = np.log(pre["population"].to_numpy())
    groups, _ = _codes(pre["area"])
    fit = fit_rate(y, X, offset, cov="cluster", groups=groups)
    est = ratio_estimate("pre-period trend ratio, treated vs comparison (per year)", fit.params[0],
                         float(np.sqrt(fit.cov[0, 0])), alpha=alpha, df=fit.df,
                         method="treated x linear time (years) before the start, area and month fixed effects")
    boot = wild_score_test(y, X, offset, groups, 0, weights=weights, n_boot=n_boot, seed=seed)
    return est, boot.p_value, ""


__all__ = ["AreaDiDResult", "area_did"]
