"""Figures for the area designs (matplotlib; each function returns a Figure and shows nothing)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from evalkit.designs.area._data import Hierarchy, area_series, check_counts, check_rollout, month_of  # noqa: E402
from evalkit.designs.area.its import ITSResult  # noqa: E402
from evalkit.designs.area.rate_did import AreaDiDResult  # noqa: E402
from evalkit.errors import SpecError  # noqa: E402


def _ts(months: Sequence[str]) -> pd.DatetimeIndex:
    return pd.PeriodIndex(list(months), freq="M").to_timestamp()


def its_plot(result: ITSResult | pd.DataFrame, *, per: float = 100_000, ax=None, **its_kwargs) -> Figure:
    """Observed monthly rates, the fitted segmented model and the counterfactual (pre-trend projected).

    ``result`` is an :class:`ITSResult`, or ``area_counts`` together with the
    keyword arguments of :func:`interrupted_time_series` (indicator, area,
    interruption, ...), which is then fitted first. Rates are per ``per``
    population a month. The counterfactual is drawn from the interruption on
    (dashed); the interruption month is marked.
    """
    if isinstance(result, pd.DataFrame):
        from evalkit.designs.area.its import interrupted_time_series

        result = interrupted_time_series(result, **its_kwargs)
    elif its_kwargs:
        raise SpecError(f"its_plot got model options {sorted(its_kwargs)} with a fitted result; pass area_counts "
                        "instead, or drop them.")
    if not isinstance(result, ITSResult):
        raise SpecError("its_plot needs the result of interrupted_time_series() or area_counts with its options.")
    frame = result.series_frame()
    x = _ts(frame["month"])
    scale = per / frame["population"].to_numpy()
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(8, 4))
    ax.scatter(x, frame["observed"] * scale, s=14, color="0.35", label="observed", zorder=3)
    ax.plot(x, frame["fitted"] * scale, color="C0", lw=2, label="fitted")
    post = np.asarray(frame["month"] >= result.interruption)
    ax.plot(x[post], (frame["counterfactual"] * scale)[post], color="C3", lw=2, ls="--",
            label="counterfactual (pre-trend continued)")
    ax.axvline(pd.Period(result.interruption, "M").to_timestamp(), color="0.5", lw=1, ls=":")
    ax.set_ylabel(f"{result.indicator.replace('_', ' ')} per {per:,.0f} a month")
    # Named in full: a report may show this beside a different estimate (the change against a baseline period).
    ax.set_title(f"{result.area}: interrupted time series, step at the start as a rate ratio "
                 f"{result.step.estimate:.2f} ({result.step.ci_low:.2f} to {result.step.ci_high:.2f})", fontsize=10)
    ax.legend(frameon=False, fontsize=8)
    fig.autofmt_xdate()
    return fig


def trend_plot(area_counts: pd.DataFrame, *, indicator: str, areas: Sequence[str], per: float = 100_000,
               rolling: int = 12, area_rollout: pd.DataFrame | None = None, intervention_id: str | None = None,
               baseline: Sequence | None = None, hierarchy: Hierarchy | None = None, ax=None) -> Figure:
    """Monthly rates per ``per`` population for several areas, as a trailing rolling mean.

    ``rolling`` months (default 12) smooths seasonality; 1 shows raw monthly
    rates. With ``area_rollout`` and ``intervention_id`` the programme's start
    months are marked; ``baseline`` = (first, last) month shades that window.
    """
    counts = check_counts(area_counts)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(8, 4))
    for i, area in enumerate(areas):
        s = area_series(counts, indicator=indicator, area=area, hierarchy=hierarchy)
        rate = (s["count"] / s["population"] * per).rolling(max(1, int(rolling)), min_periods=max(1, int(rolling)))
        ax.plot(s.index.to_timestamp(), rate.mean(), color=f"C{i % 10}", lw=1.8, label=area)
    if area_rollout is not None and intervention_id is not None:
        ro = check_rollout(area_rollout)
        for start in sorted(ro.loc[ro["intervention_id"] == str(intervention_id), "start_month"].unique()):
            ax.axvline(start.to_timestamp(), color="0.4", lw=1, ls=":")
            ax.annotate(f"{intervention_id} starts", (start.to_timestamp(), 1), xycoords=("data", "axes fraction"),
                        fontsize=8, ha="left", va="top")
    if baseline is not None:
        lo, hi = month_of(baseline[0], what="baseline"), month_of(baseline[1], what="baseline")
        ax.axvspan(lo.to_timestamp(), (hi + 1).to_timestamp(), color="0.92", zorder=0, label="baseline")
    ax.set_ylabel(f"{indicator.replace('_', ' ')} per {per:,.0f} a month")
    if rolling > 1:
        ax.set_title(f"{rolling}-month rolling average of monthly rates", fontsize=9)
    ax.legend(frameon=False, fontsize=8, ncol=2)
    fig.autofmt_xdate()
    return fig


def event_study_plot(result: AreaDiDResult, *, ax=None) -> Figure:
    """Event-study rate ratios (treated vs comparison) by bin of months from the start, log scale."""
    frame = result.event_study_frame()
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 3.5))
    if frame.empty:
        ax.text(0.5, 0.5, "event study not estimable", ha="center", transform=ax.transAxes)
        return fig
    lo = frame["name"].str.extract(r"months (-?\d+) to")[0].astype(int).to_numpy()
    ax.errorbar(lo, frame["estimate"], yerr=[frame["estimate"] - frame["ci_low"], frame["ci_high"] - frame["estimate"]],
                fmt="o", color="C0", capsize=3)
    width = int(lo[1] - lo[0]) if len(lo) > 1 else 1
    ax.plot([-width], [1.0], "o", mfc="white", color="C0", label="reference bin")
    ax.axhline(1, color="0.5", lw=1)
    ax.axvline(-0.5, color="0.5", lw=1, ls=":")
    ax.set_yscale("log")
    lo_y, hi_y = ax.get_ylim()
    nice = np.array([0.25, 0.33, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 4.0])
    ax.set_yticks(nice[(nice >= lo_y) & (nice <= hi_y)])
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:.2g}"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("months from start (bin start; reference bin just before the start)")
    ax.set_ylabel("rate ratio")
    ax.set_title(f"{result.intervention_id}: event study ({result.indicator}); cluster-robust CIs (too narrow with few areas), "
                 f"{result.n_clusters} areas", fontsize=9)
    fig.tight_layout()
    return fig


__all__ = ["its_plot", "trend_plot", "event_study_plot"]
