"""Plots for difference-in-differences results (matplotlib; return the Figure)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from evalkit.errors import SpecError


def _event_table(result: Any) -> tuple[pd.DataFrame, str]:
    """Event-time table (event_time, estimate, ci_low, ci_high[, band_low, band_high]) and a label."""
    from evalkit.designs.did.event_study import EventStudyResult
    from evalkit.designs.did.staggered import Aggregation, CallawaySantAnnaResult

    if isinstance(result, CallawaySantAnnaResult):
        result = result.aggregate("dynamic")
    if isinstance(result, EventStudyResult):
        return result.coefficients, "Event study (TWFE), reference period -1"
    if isinstance(result, Aggregation) and result.kind == "dynamic":
        return result.table.rename(columns={"level": "event_time"}), "Callaway & Sant'Anna dynamic ATT"
    raise SpecError("plot_event_study needs an event_study() result, a callaway_santanna() result or its "
                    "'dynamic' aggregation.")


def plot_event_study(result: Any, *, ax: plt.Axes | None = None, title: str | None = None,
                     ylabel: str = "Effect on outcome") -> Figure:
    """Coefficients by event time with pointwise CIs (and uniform bands when bootstrapped).

    A vertical line marks event time 0 (treatment start), a horizontal one no effect.
    """
    table, label = _event_table(result)
    table = table.sort_values("event_time")
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4))
    else:
        fig = ax.figure
    x = table["event_time"].to_numpy(dtype=float)
    pre = x < 0
    if {"band_low", "band_high"} <= set(table.columns):
        ax.vlines(x, table["band_low"], table["band_high"], color="0.8", linewidth=9,
                  label="uniform (simultaneous) band")
    for mask, colour, name in ((pre, "tab:grey", "before start"), (~pre, "tab:blue", "after start")):
        t = table[mask]
        ax.errorbar(t["event_time"], t["estimate"], yerr=[t["estimate"] - t["ci_low"], t["ci_high"] - t["estimate"]],
                    fmt="o", color=colour, capsize=3, label=name)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.axvline(0, color="tab:red", linestyle="--", linewidth=1)
    ax.set_xlabel("Periods relative to start (event time)")
    ax.set_ylabel(ylabel)
    ax.set_title(title or label)
    ax.legend(frameon=False, fontsize="small")
    fig.tight_layout()
    return fig


__all__ = ["plot_event_study"]
