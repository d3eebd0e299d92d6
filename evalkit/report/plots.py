"""Report figures that are not tied to one design: forest plot and attrition chevron.

Design-specific figures (love plot, event study, interrupted time series) live
beside their designs. Every function returns a matplotlib ``Figure`` built on
the non-interactive Agg backend and shows aggregates only.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Polygon  # noqa: E402

#: Colours per commissioning category (colour-blind safe, Okabe–Ito).
CATEGORY_COLOURS = {
    "expand": "#009E73",
    "continue": "#56B4E9",
    "improve_evidence": "#999999",
    "redesign": "#E69F00",
    "stop": "#D55E00",
    "before_after_only": "#0072B2",
    "safeguarding_review": "#CC79A7",
    "context": "#BBBBBB",
}


def forest_plot(
    rows: pd.DataFrame,
    *,
    label: str = "label",
    estimate: str = "estimate",
    ci_low: str = "ci_low",
    ci_high: str = "ci_high",
    colour_by: str | None = "category",
    annotate: str | None = "annotation",
    null: float = 0.0,
    xlabel: str = "Standardised effect (positive = better for young people)",
    title: str | None = None,
) -> Figure:
    """A forest plot: one row per estimate with its confidence interval.

    Rows are drawn top to bottom in the order given. ``annotate`` names a
    column of short text (e.g. "n=120 · SMS 3") printed at the right.
    """
    n = len(rows)
    fig, ax = plt.subplots(figsize=(9, 0.38 * n + 1.4))
    y = np.arange(n)[::-1]
    for yi, (_, r) in zip(y, rows.iterrows()):
        colour = CATEGORY_COLOURS.get(str(r.get(colour_by, "")), "#333333") if colour_by else "#333333"
        lo, hi, est = r[ci_low], r[ci_high], r[estimate]
        if np.isfinite(lo) and np.isfinite(hi):
            ax.plot([lo, hi], [yi, yi], color=colour, lw=2, solid_capstyle="butt")
        if np.isfinite(est):
            ax.plot(est, yi, "s", color=colour, ms=6)
    ax.axvline(null, color="#555555", lw=1, ls="--")
    ax.set_yticks(y)
    ax.set_yticklabels(rows[label].astype(str).tolist(), fontsize=8.5)
    ax.set_xlabel(xlabel)
    ax.set_ylim(-0.8, n - 0.2)
    ax.grid(axis="x", color="#e5e5e5")
    ax.spines[["top", "right"]].set_visible(False)
    if annotate and annotate in rows:
        for yi, text in zip(y, rows[annotate].astype(str)):
            ax.annotate(text, xy=(1.01, yi), xycoords=("axes fraction", "data"), va="center", fontsize=8,
                        color="#444444")
    if colour_by and colour_by in rows:
        present = [c for c in CATEGORY_COLOURS if c in set(rows[colour_by].astype(str))]
        handles = [plt.Line2D([], [], color=CATEGORY_COLOURS[c], marker="s", lw=2) for c in present]
        if handles:
            ax.legend(handles, [c.replace("_", " ") for c in present], loc="upper center",
                      bbox_to_anchor=(0.5, -0.12 - 0.4 / max(n, 1)), ncol=len(present), frameon=False, fontsize=8)
    if title:
        ax.set_title(title, loc="left", fontsize=11)
    fig.tight_layout()
    return fig


def attrition_chevron(steps: Sequence[tuple[str, str]], *, title: str | None = None) -> Figure:
    """Who took part and who was lost at each step, as a row of chevrons.

    Parameters
    ----------
    steps
        ``(label, count_text)`` pairs in order, e.g. ``("Referred", "132")``.
        Counts arrive as text so disclosure control (e.g. "<10") is applied
        before drawing.
    """
    k = len(steps)
    fig, ax = plt.subplots(figsize=(max(6, 1.9 * k), 1.9))
    w, tip = 1.0, 0.18
    shades = plt.cm.Blues(np.linspace(0.85, 0.45, max(k, 2)))
    for i, (lab, count) in enumerate(steps):
        x0 = i * (w + 0.04)
        pts = [(x0, 0), (x0 + w, 0), (x0 + w + tip, 0.5), (x0 + w, 1), (x0, 1)]
        if i > 0:
            pts.append((x0 + tip, 0.5))
        ax.add_patch(Polygon(pts, closed=True, color=shades[i]))
        ax.text(x0 + w / 2 + tip / 2, 0.62, count, ha="center", va="center", fontsize=14, weight="bold", color="white")
        ax.text(x0 + w / 2 + tip / 2, 0.3, lab, ha="center", va="center", fontsize=8.5, color="white", wrap=True)
    ax.set_xlim(-0.05, k * (w + 0.04) + tip)
    ax.set_ylim(-0.05, 1.05)
    ax.axis("off")
    if title:
        ax.set_title(title, loc="left", fontsize=11)
    fig.tight_layout()
    return fig


__all__ = ["forest_plot", "attrition_chevron", "CATEGORY_COLOURS"]
