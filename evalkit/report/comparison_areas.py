"""The VRU-wide report's "Compared with similar areas without a VRU" section (words and charts).

Turns :func:`evalkit.analysis.comparison_areas.compare_with_similar_areas`
findings into HTML: the VRU's areas against their synthetic twin, the donor
areas and their weights (public area statistics, named), the placebo
distribution, the fit before the start (with a plain warning when it is poor)
and the effect as offences (or admissions) prevented a year, per 100,000
residents, and costed. A finding that cannot be estimated says so, with the
reason, and shows no number.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from evalkit.analysis.comparison_areas import ComparisonFinding, area_names, compare_with_similar_areas
from evalkit.report.common import figure_html

INDICATOR_WORDS = {"violence_with_injury": ("violence with injury", "offences"),
                   "hospital_assault_admissions": ("hospital admissions for assault", "admissions"),
                   "homicide": ("homicide", "homicides"), "knife_crime": ("knife crime", "offences"),
                   "serious_violence": ("serious violence", "offences")}
MINUS = "\u2212"
DONORS_SHOWN = 10


def _num(x: float, digits: int = 0) -> str:
    text = f"{x:,.{digits}f}"
    return text.replace("-", MINUS, 1)


def _span(lo: float, hi: float, fmt: Callable[[float], str], up: str = "more", down: str = "fewer") -> str:
    """An interval of a fall (positive = prevented) in words, never as a bare negative number:
    'from 229 more to 2,734 fewer' when it spans no change, else 'from 51 to 340 fewer' (or 'more')."""
    if lo < 0 <= hi:
        return f"from {fmt(-lo)} {up} to {fmt(hi)} {down}"
    if hi < 0:
        return f"from {fmt(-hi)} to {fmt(-lo)} {up}"
    return f"from {fmt(lo)} to {fmt(hi)} {down}"


def _money(x: float) -> str:
    sign = MINUS if x < 0 else ""
    x = abs(x)
    if x >= 1e6:
        return f"{sign}£{x / 1e6:,.1f} million"
    return f"{sign}£{x:,.0f}"


def _words(indicator: str) -> tuple[str, str]:
    return INDICATOR_WORDS.get(indicator, (indicator.replace("_", " "), "events"))


def _path_chart(f: ComparisonFinding) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    assert f.sdid is not None
    path = f.sdid.path_frame()
    x = pd.to_datetime(path["period"])
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    ax.plot(x, path["treated"], color="#1b4f72", lw=2, label=f"{f.vru_name} (average of its areas)")
    ax.plot(x, path["synthetic"], color="#b9770e", lw=2, ls="--", label="synthetic twin (similar areas without a VRU)")
    start = pd.to_datetime(f.sdid.starts[0][1])
    ax.axvline(start, color="grey", lw=1)
    ax.text(start, ax.get_ylim()[1], " VRU funded", va="top", fontsize=8, color="grey")
    label, _ = _words(f.indicator)
    ax.set_ylabel(f"{label} per 100,000\nresidents per {'quarter' if f.periods_per_year == 4 else 'period'}")
    ax.legend(frameon=False, fontsize=8, loc="lower left")
    ax.spines[["top", "right"]].set_visible(False)
    return figure_html(fig, alt=f"{label} per 100,000 residents in {f.vru_name} and in its synthetic twin, by period")


def _placebo_chart(f: ComparisonFinding) -> str:
    import matplotlib.pyplot as plt

    assert f.sc is not None
    ratios = np.array(f.sc.placebo_ratios)
    fig, ax = plt.subplots(figsize=(7.5, 2.6))
    ax.hist(ratios[np.isfinite(ratios)], bins=30, color="#aab7b8")
    for r in f.sc.treated_ratios:
        ax.axvline(r, color="#1b4f72", lw=1.5)
    ax.set_xlabel("change after the start relative to the fit before it (post/pre RMSPE ratio)")
    ax.set_ylabel("areas without\na VRU")
    ax.spines[["top", "right"]].set_visible(False)
    return figure_html(fig, alt="How much each area without a VRU departed from its own synthetic twin after the "
                       "start, with the VRU's areas marked")


def finding_html(f: ComparisonFinding, names: dict[str, str]) -> str:
    """The block for one indicator (HTML)."""
    label, unit = _words(f.indicator)
    head = f"<h3>{html.escape(label[:1].upper() + label[1:])}</h3>"
    if not f.ok:
        reason = f.status.split(":", 1)[1].strip() if ":" in f.status else f.status
        return head + f"<p class='pending'><b>Cannot estimate:</b> {html.escape(reason)}.</p>"
    assert f.sdid is not None
    e = f.sdid.effect
    pv, lo, hi = f.prevented_per_year
    p100, plo, phi = f.prevented_per_100k
    level = e.level_label
    direction = "fewer" if pv > 0 else "more"
    clear = (lo > 0) or (hi < 0)
    lead = (f"<p><b>{_num(abs(pv))} {direction} {unit} a year</b> in {html.escape(f.vru_name)} than in a synthetic "
            f"twin built from similar areas without a VRU ({level} interval: {_span(lo, hi, _num)} a year; "
            f"{_num(abs(p100), 1)} {direction} per 100,000 residents, {_span(plo, phi, lambda x: _num(x, 1))}). "
            + ("The interval excludes no change." if clear else
               "The interval includes no change, so the comparison cannot tell this apart from chance.") + "</p>")
    value = ""
    if f.value_per_year is not None and f.unit_cost is not None:
        v, vlo, vhi = f.value_per_year
        value = (f"<p>At the Home Office unit cost of {_money(f.unit_cost)} per {unit[:-1]} "
                 f"({html.escape(f.unit_cost_year)} prices), that is {_money(abs(v))} of crime costs "
                 f"{'avoided' if v >= 0 else 'added'} a year ({_span(vlo, vhi, _money, 'added', 'avoided')}).</p>")
    fit_words = (f"Before the VRU was funded the twin followed the VRU's areas to within {_num(f.sdid.pre_rmse, 1)} "
                 f"per 100,000 a {'quarter' if f.periods_per_year == 4 else 'period'} (root mean square), against an "
                 f"average of {_num(f.sdid.pre_level, 1)}.")
    warn = ""
    if f.sdid.poor_fit:
        warn = ("<p class='warning'><b>Warning:</b> the synthetic twin did not follow the VRU's areas closely "
                "before the VRU was funded, so it may not show what would have happened without it. Read the "
                "number above with care.</p>")
    rows = "".join(f"<tr><td>{html.escape(names.get(a, a))}</td><td>{100 * w:.1f}%</td></tr>"
                   for a, w in f.sdid.donor_weights[:DONORS_SHOWN])
    more = len(f.sdid.donor_weights) - DONORS_SHOWN
    donors = (f"<table class='donors'><caption>Areas the twin is made of (largest weights; "
              f"{len(f.sdid.donor_weights)} areas in all{f', {more} not shown' if more > 0 else ''})</caption>"
              f"<thead><tr><th>Area</th><th>Weight</th></tr></thead><tbody>{rows}</tbody></table>")
    placebo = ""
    if f.sc is not None:
        sc = f.sc
        placebo = (f"<p>Check by a second method (synthetic control): {_num(-sc.effect.estimate * f.periods_per_year, 1)}"
                   f" fewer per 100,000 residents a year. Giving the VRU's start to each of the "
                   f"{len(sc.placebo_ratios)} areas without a VRU in turn, the VRU's areas departed from their twins "
                   f"more than {100 * (1 - sc.effect.p_value):.0f}% of them did (placebo p = "
                   f"{sc.effect.p_value:.2f}).</p>" + _placebo_chart(f))
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in (*f.left_out, *f.sdid.warnings))
    method = (f"<p class='method'>Method: synthetic difference-in-differences (Arkhangelsky et al. 2021) on the rate "
              f"per 100,000 residents, {len(f.areas)} of the VRU's areas against {f.sdid.n_comparison} areas without "
              f"a VRU, {f.sdid.n_periods} periods; interval from "
              f"{'leaving out one area at a time' if f.sdid.se_method == 'jackknife' else 'placebo areas'}.</p>")
    return (head + lead + value + _path_chart(f) + f"<p>{fit_words}</p>" + warn + donors + placebo
            + (f"<ul>{notes}</ul>" if notes else "") + method)


def section_comparison_areas(tables: dict[str, pd.DataFrame], vru_name: str, *,
                             indicators: tuple[str, ...] | None = None, replications: int = 200) -> str | None:
    """The section's body, or None when there is no ``comparison_areas`` table (nothing to show)."""
    table = tables.get("comparison_areas")
    if table is None or table.empty:
        return None
    present = [str(i) for i in pd.unique(table["indicator"])] if "indicator" in table else []
    wanted = list(indicators) if indicators else [i for i in INDICATOR_WORDS if i in present] or present
    names = area_names(table) if {"area_code", "area_name"} <= set(table.columns) else {}
    blocks = [finding_html(compare_with_similar_areas(table, vru_name=vru_name, indicator=i,
                                                       replications=replications), names) for i in wanted]
    intro = ("<p>Violence rises and falls nationally too. To ask whether it fell <i>because of</i> the VRU, its "
             "areas are compared with a synthetic twin: a weighted mix of areas without a VRU chosen so that, before "
             "the VRU was funded, the twin moved as the VRU's areas did (as the Home Office's national evaluation "
             "of VRUs does). This is the headline for the VRU's own funding case; for single interventions it is "
             "context.</p>")
    return intro + "".join(blocks)


def has_comparison(tables: dict[str, pd.DataFrame]) -> bool:
    t = tables.get("comparison_areas")
    return t is not None and not t.empty and math.isfinite(len(t))


__all__ = ["finding_html", "has_comparison", "section_comparison_areas"]
