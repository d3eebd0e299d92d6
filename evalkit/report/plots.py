"""Report figures that are not tied to one design: forest plot and attrition chevron.

Design-specific figures (love plot, event study, interrupted time series) live
beside their designs. Every function returns a matplotlib ``Figure`` built on
the non-interactive Agg backend and shows aggregates only.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Polygon  # noqa: E402

from evalkit.designs.area import event_study_plot  # noqa: E402

#: Colours per commissioning category: Okabe–Ito hues darkened until each reads at 4.5:1 or more on white (WCAG 2.2
#: AA for text; the decision table prints the label in this colour), so they also pass 3:1 for graphics.
CATEGORY_COLOURS = {
    "expand": "#00734F",
    "expand_replicating": "#005C3F",
    "continue": "#1B6CA8",
    "stronger_design": "#7A6A00",
    "improve_evidence": "#595959",
    "redesign": "#8F5600",
    "stop": "#B03A00",
    "before_after_only": "#5B4B9E",
    "safeguarding_review": "#A0306E",
    "context": "#6B6B6B",
}
#: A shape per category as well as a colour (a reader who cannot tell the colours apart still can the shapes):
#: the matplotlib marker in charts, and the same shape as a character beside the label on the page.
CATEGORY_MARKERS = {"expand": "^", "expand_replicating": ">", "continue": "D", "stronger_design": "*",
                    "before_after_only": "o", "improve_evidence": "s", "redesign": "v", "stop": "X", "safeguarding_review": "P", "context": "."}
CATEGORY_SYMBOLS = {"expand": "\u25b2", "expand_replicating": "\u25b6", "continue": "\u25c6",
                    "stronger_design": "\u2605", "before_after_only": "\u25cf", "improve_evidence": "\u25a0",
                    "redesign": "\u25bc", "stop": "\u2716", "safeguarding_review": "\u271a", "context": "\u25cb"}


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
    legend_labels: dict[str, str] | None = None,
) -> Figure:
    """A forest plot: one row per estimate with its confidence interval.

    Rows are drawn top to bottom in the order given. ``annotate`` names a
    column of short text (e.g. "n=120 · SMS 3") printed at the right.
    ``legend_labels`` names the colour categories (e.g. the commissioning
    rules' labels); labels are wrapped, never cut.
    """
    import textwrap

    n = len(rows)
    # Labels are wrapped, never cut: each row gets the height its longest label needs.
    labels = ["\n".join(textwrap.wrap(str(v), LABEL_WIDTH)) or str(v) for v in rows[label]]
    extra = sum(lab.count("\n") for lab in labels)  # second lines of wrapped labels
    fig, ax = plt.subplots(figsize=(9, 0.34 * n + 0.14 * extra + 1.3))
    y = np.arange(n)[::-1]
    for yi, (_, r) in zip(y, rows.iterrows()):
        colour = CATEGORY_COLOURS.get(str(r.get(colour_by, "")), "#333333") if colour_by else "#333333"
        lo, hi, est = r[ci_low], r[ci_high], r[estimate]
        if np.isfinite(lo) and np.isfinite(hi):
            ax.plot([lo, hi], [yi, yi], color=colour, lw=2, solid_capstyle="butt")
        if np.isfinite(est):
            marker = CATEGORY_MARKERS.get(str(r.get(colour_by, "")), "s") if colour_by else "s"
            ax.plot(est, yi, marker, color=colour, ms=7, markeredgecolor="white", markeredgewidth=0.6)
    ax.axvline(null, color="#555555", lw=1, ls="--")
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8.5)
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
        handles = [plt.Line2D([], [], color=CATEGORY_COLOURS[c], marker=CATEGORY_MARKERS.get(c, "s"), lw=2)
                   for c in present]
        if handles:
            # above the plot, under the title: below it the legend sat on the axis label for short plots
            names = [(legend_labels or {}).get(c, c.replace("_", " ").capitalize()) for c in present]
            ax.legend(handles, names, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=len(present),
                      frameon=False, fontsize=8, borderaxespad=0.2)
    if title:
        ax.set_title(title, loc="left", fontsize=11, pad=22 if colour_by and colour_by in rows else 6)
    fig.tight_layout()
    return fig


#: Forest-plot labels wrap at this many characters.
LABEL_WIDTH = 42


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
    fig, ax = plt.subplots(figsize=(max(6, 1.9 * k), 1.4))
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


def readable_event_study(result, label: str, localities: str = "districts") -> Figure:
    """The area event study (:func:`evalkit.designs.area.event_study_plot`) for a report reader.

    Each bin of months from the start is labelled by its range ("-12 to -7"), the title says what is drawn
    in words (not the design's identifiers, and ``localities`` is the VRU's word for its districts), and the
    axes say which way is better.
    """
    fig = event_study_plot(result)
    ax = fig.axes[0]
    frame = result.event_study_frame()
    if not frame.empty:
        bins = frame["name"].str.extract(r"months (-?\d+) to (-?\d+)").astype(int)
        ax.set_xticks(bins[0].to_numpy(), [f"{a} to {b}" for a, b in zip(bins[0], bins[1])], rotation=30,
                      ha="right", fontsize=8)
        ax.set_xlabel("Months from the start (the bin just before the start is the reference)")
    ax.set_ylabel("Rate ratio (below 1: fell more where the programme ran)")
    what = label if "against comparison" in label else \
        f"{label}: programme {localities} against comparison {localities}"
    retitle(ax, f"{what}, by months from the start", fontsize=9)
    fig.tight_layout()
    return fig


def retitle(ax, text: str, *, fontsize: float = 10) -> None:
    """Replace every title of ``ax`` (centre, left and right) by ``text`` on the left, wrapped to the axes.

    A design's own plot titles itself in the centre; a report that sets its own title on the left must
    clear that one, or Matplotlib draws both on top of each other.
    """
    for loc in ("center", "right"):
        ax.set_title("", loc=loc)
    # characters that fit across the axes at this font size (about 0.55 em per character)
    width_in = ax.get_position().width * ax.figure.get_figwidth()
    per_line = max(30, int(width_in * 72 / (0.55 * fontsize)))
    ax.set_title(textwrap.fill(text, per_line), loc="left", fontsize=fontsize)


__all__ = ["forest_plot", "attrition_chevron", "readable_event_study", "retitle", "CATEGORY_COLOURS",
           "CATEGORY_MARKERS", "CATEGORY_SYMBOLS"]
