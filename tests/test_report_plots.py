"""Report figures draw what they are given, and nothing row-level."""

import numpy as np
import pandas as pd

from evalkit.report.plots import CATEGORY_COLOURS, attrition_chevron, forest_plot


def test_forest_plot_rows_and_colours():
    rows = pd.DataFrame({
        "label": ["A", "B", "C"], "estimate": [0.3, -0.2, np.nan], "ci_low": [0.1, -0.4, np.nan],
        "ci_high": [0.5, 0.0, np.nan], "category": ["expand", "stop", "improve_evidence"],
        "annotation": ["n=100", "n=90", "n<10"],
    })
    fig = forest_plot(rows)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "B", "C"]
    # Row A is drawn at the top (y=2) with its CI from 0.1 to 0.5 in the expand colour.
    seg = [l for l in ax.lines if list(l.get_xdata()) == [0.1, 0.5]]
    assert seg and seg[0].get_ydata()[0] == 2 and seg[0].get_color() == CATEGORY_COLOURS["expand"]
    assert any(t.get_text() == "n<10" for t in ax.texts)


def test_chevron_shows_suppressed_text():
    fig = attrition_chevron([("Referred", "132"), ("Started", "120"), ("Completed", "<10")])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts[::2] == ["132", "120", "<10"] and "Completed" in texts
    assert len(fig.axes[0].patches) == 3


def _titles(ax) -> list[str]:
    return [t for t in (ax.get_title(loc) for loc in ("left", "center", "right")) if t]


def test_report_titles_replace_the_designs_own_title():
    """A report's figure carries one title: the design's own centred title is cleared, not drawn underneath
    the report's (the two overlapped in the area reports), and a long title wraps within the figure."""
    from pathlib import Path

    from evalkit.designs.area import area_did, interrupted_time_series, its_plot
    from evalkit.report.plots import readable_event_study, retitle

    ref = Path(__file__).parent / "reference" / "area"
    counts = pd.read_csv(ref / "area_fixture.csv")
    rollout = pd.read_csv(ref / "area_rollout_fixture.csv")
    its = interrupted_time_series(counts, indicator="serious_violence", area="County", interruption="2019-10")
    fig = its_plot(its)
    assert len(_titles(fig.axes[0])) == 1  # the design's own, centred
    retitle(fig.axes[0], "Serious violence in County: monthly rate, with the trend before the start carried on")
    assert _titles(fig.axes[0]) == [fig.axes[0].get_title("left")]
    did = area_did(counts, rollout, indicator="serious_violence", intervention_id="FIX27")
    label = "Serious violence (programme districts against comparison districts)"
    ax = readable_event_study(did, label).axes[0]
    (title,) = _titles(ax)
    assert title == ax.get_title("left") and title.count("against comparison") == 1
    assert max(len(line) for line in title.splitlines()) <= 100 and "\n" in title
