"""Love plot of covariate balance before and after matching (matplotlib)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .balance import WWC_ADJUST, WWC_SATISFIES, BalanceResult


def love_plot(balance: BalanceResult) -> Figure:
    """Absolute standardised differences per covariate, before (open) and after (filled) matching.

    Dashed lines mark the What Works Clearinghouse thresholds (0.05 and 0.25).
    """
    rows = list(balance.table)
    names = [r["covariate"] for r in rows]
    before = np.abs([r["diff_before"] for r in rows])
    after = np.abs([r["diff_after"] for r in rows])
    fig = Figure(figsize=(6, 0.35 * len(rows) + 1.5))
    ax = fig.add_subplot()
    y = np.arange(len(rows))[::-1]
    ax.scatter(before, y, facecolors="none", edgecolors="grey", label="before matching")
    ax.scatter(after, y, color="black", label="after matching")
    for x in (WWC_SATISFIES, WWC_ADJUST):
        ax.axvline(x, linestyle="--", color="grey", linewidth=0.8)
    ax.set_yticks(y, names)
    ax.set_xlabel("absolute standardised difference" + (" (binary: difference in proportions)"
                                                        if balance.binary == "raw" else ""))
    ax.legend(loc="lower right", frameon=False)
    fig.tight_layout()
    return fig
