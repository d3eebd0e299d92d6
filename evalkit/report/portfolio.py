"""The portfolio summary for the commissioning board: effects, value, reach and categories.

:mod:`evalkit.report.sections` calls the ``section_*`` functions here with a
:class:`~evalkit.report.context.PortfolioContext`, whose ``findings`` are the
``findings.json`` files each intervention report saved (aggregates only; see
:func:`evalkit.report.findings.findings_dict`). The summary recomputes nothing
statistical; it reads those findings, the interventions table (costs) and, for
reach, counts people in the participants and comparison-pool tables.

Rules (stated on the page):

* **Forest plot**: each intervention's primary effect on the standardised scale
  (positive = better for young people) with its interval, evidence level and
  participants, coloured by commissioning category.
* **Cost per participant** = annual cost / participants who started in the
  protocol's period (hidden when that count is below the disclosure threshold,
  since it would reveal it).
* **Cost per outcome achieved**, only when the primary finding is beneficial and
  significant: for a yes/no outcome (reoffending), annual cost / (participants x
  risk difference) = cost per additional young person not reoffending; for a
  score, annual cost / (participants x change) = cost per point of improvement
  per young person. The range uses the interval's limits (the limit nearer
  zero gives the upper cost).
* **Reach and equity**: distinct young people who started any intervention,
  by ethnic group, sex, age band and each level of the configured areas, against the cohort at risk
  (distinct people on the comparison pool's at-risk list, or the whole pool if
  there is no such list); representation = share among participants / share in
  the cohort. Counts pass primary and secondary suppression.
* **Commissioning category** from :mod:`evalkit.analysis.commissioning`; an
  intervention with a statistically significant worsening on *any* outcome is
  flagged for review whatever its primary category.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

import pandas as pd

from evalkit.analysis import data as ad
from evalkit.analysis.commissioning import portfolio_categories, secondary_worse_flags
from evalkit.data.config import VRUConfig
from evalkit.labels import AREA_DESIGNS, age_band, age_band_labels
from evalkit.report.common import figure_html
from evalkit.report.context import PortfolioContext
from evalkit.report.disclosure import MARKER, SuppressedTable, counts_html, is_small, safe_count, suppress_counts
from evalkit.report.narrative import GLOSSES, category_reason, effect_in_words, effect_unit
from evalkit.report.plots import CATEGORY_COLOURS, forest_plot

CATEGORY_ORDER = ("expand", "expand_replicating", "continue", "stronger_design", "before_after_only", "redesign",
                  "stop", "safeguarding_review", "improve_evidence", "context")
VRU_ID = "VRU"
#: The forest plot's range: intervals reaching beyond it (tiny groups) are cut and marked.
FOREST_LIMITS = (-1.5, 2.5)


def _e(text: Any) -> str:
    return html.escape(str(text))


def _fig(fig: Any, alt: str) -> str:
    return figure_html(fig, alt=alt)


# --------------------------------------------------------------------------- the table behind every section
def portfolio_table(pctx: PortfolioContext) -> pd.DataFrame:
    """One row per intervention (not the VRU-wide protocol): primary finding, costs and participants."""
    found = {f["intervention_id"]: f for f in pctx.findings}
    # Multiplicity control across the portfolio's primary outcomes decides the categories shown here.
    decided = portfolio_categories({i: f.get("primary") for i, f in found.items()
                                    if i != VRU_ID and isinstance(f.get("primary"), dict)})
    found = {i: ({**f, "primary": decided[i]} if i in decided else f) for i, f in found.items()}
    inter = pctx.tables.get("interventions", pd.DataFrame())
    costs = dict(zip(inter["intervention_id"], inter["annual_cost"])) if "annual_cost" in inter else {}
    rows = []
    for p in pctx.protocols:
        if p.intervention_id == VRU_ID:
            continue
        f = found.get(p.intervention_id, {})
        prim = f.get("primary") or {}
        std = prim.get("standardised") or {}
        est = prim.get("estimate") or {}
        cost = p.costs.annual_cost if p.costs.source == "protocol" else costs.get(p.intervention_id)
        n_part = len(ad.population(p, pctx.tables))
        outs = f.get("outcomes", [])
        worse = secondary_worse_flags(outs, alpha=p.alpha, min_n=p.min_n_significance)  # FDR within the report
        harms = [o["label"] for o, w in zip(outs, worse) if w]
        rows.append({
            "intervention_id": p.intervention_id, "title": p.title, "type": p.intervention_type or "",
            "reported": bool(f), "outcome": prim.get("label", ""), "design": prim.get("design_label", ""),
            "design_key": prim.get("design", ""),
            "sms": prim.get("sms"), "n": prim.get("n"), "n_shown": prim.get("n_shown", prim.get("n", "")),
            "std": _num(std.get("estimate")), "std_low": _num(std.get("ci_low")), "std_high": _num(std.get("ci_high")),
            "std_name": std.get("name", ""), "estimate": _num(est.get("estimate")), "ci_low": _num(est.get("ci_low")),
            "ci_high": _num(est.get("ci_high")), "scale": est.get("scale", ""),
            "level": _num(est.get("level", 0.95)),
            "direction": prim.get("direction", ""), "significant": bool(prim.get("significant")),
            "verdict": prim.get("verdict", "not reported"), "category": prim.get("category", "improve_evidence"),
            "category_label": prim.get("category_label", "Improve the evidence"),
            "category_meaning": prim.get("category_meaning", ""), "rule": prim.get("rule", ""),
            "reason": prim.get("reason", "") or ("" if f else "the report was not produced"),
            "annual_cost": cost, "participants": n_part, "harms": harms, "value": f.get("value"),
            # as the report published it: a count the report withholds (not only a small one) stays hidden here
            "participants_shown": published_participants(f, n_part, pctx.threshold),
            "participants_text": participants_text(f, n_part, pctx.threshold), "found": f,
            "n_needed": _num(prim.get("n_needed")), "value_line": value_line(f),
        })
    return pd.DataFrame(rows)


def _level_text(tab: pd.DataFrame) -> str:
    """The confidence level(s) of the reported intervals, e.g. "95%" (each estimate carries its own)."""
    levels = sorted({round(100 * v, 4) for v in tab.get("level", pd.Series(dtype=float)) if v == v}) or [95.0]
    return " or ".join(f"{v:.4g}%" for v in levels)


def value_line(found: dict) -> str:
    """The intervention's value for money as a cell of the decision summary, if its findings carry one.

    The short form (``"value": {"short": ...}``: "£1.25 per £1 (£0.61 to £1.89)") keeps the summary on one
    screen; the report's own sentence (``"line"``, or a top-level ``"value_line"``) is the fallback.
    """
    if not found:
        return ""
    value = found.get("value")
    line = (value.get("short") or value.get("line")) if isinstance(value, dict) else found.get("value_line")
    return str(line) if line else ""


def published_participants(found: dict, n: int, threshold: int) -> str:
    """Participants who started, as the intervention's own report printed them (``findings.json``)."""
    shown = found.get("n_participants_shown") if found else None
    return str(shown) if shown is not None else safe_count(n, threshold)


def participants_text(found: dict, n: int, threshold: int) -> str:
    """The portfolio's participants cell: the report's published count, or '[c] (at least 67)'."""
    shown = published_participants(found, n, threshold)
    floor = analysed_at_least(found) if shown == MARKER else None
    return f"{shown} ({floor})" if floor else shown


def cost_per_participant_at_most(found: dict, cost: float | None) -> str | None:
    """'at most £1,762' (the annual cost over the published sample, which is no more than the number who
    started) where the number who started is withheld; None where that sample is not known either."""
    n = _analysed(found)
    return f"at most £{cost / n:,.0f}" if cost and n else None


def _analysed(found: dict) -> int | None:
    """The primary result's published sample when it counts people (not an area's events), else None."""
    prim = (found or {}).get("primary") or {}
    analysed = str(prim.get("n_shown", ""))
    if prim.get("design") in AREA_DESIGNS or not re.fullmatch(r"\d{1,3}(?:,\d{3})*", analysed):
        return None
    return int(analysed.replace(",", ""))


def analysed_at_least(found: dict) -> str | None:
    """'at least 67' when the report withholds the number who started but prints its primary result's
    sample (people, not an area's events): they started, so the board still sees the scale. None otherwise.

    The report withholds the number who started when it is within the threshold of that sample; saying it
    is at least the sample adds nothing a reader of the report does not already know.
    """
    n = _analysed(found)
    return None if n is None else f"at least {n:,}"


def _num(v: Any) -> float:
    return float(v) if isinstance(v, (int, float)) and v is not None else math.nan


# --------------------------------------------------------------------------- the decision summary
def short_outcome(label: str) -> str:
    """'Mental wellbeing (SWEMWBS metric score, 7-35)' -> 'Mental wellbeing (SWEMWBS)'; others up to '('."""
    name, _, rest = label.partition(" (")
    acronym = next((w for w in re.findall(r"\b[A-Z]{3,}\b", rest) if w not in name), None)
    return f"{name} ({acronym})" if acronym else name



def section_decisions(pctx: PortfolioContext) -> str:
    """One screen for the board: each intervention's decision, effect in its own units, evidence and value.

    Ordered by category (expand first) and, within one, by intervention id. The effect is the primary
    outcome's estimate on its natural scale (percentage points, points on a questionnaire, a rate) with its
    95% interval; evidence is the Maryland level of the design behind it.
    """
    tab = portfolio_table(pctx)
    if tab.empty:
        return "<p class='pending'>No interventions.</p>"
    tab = tab.assign(_o=tab["category"].map({c: i for i, c in enumerate(CATEGORY_ORDER)}).fillna(len(CATEGORY_ORDER)))
    tab = tab.sort_values(["_o", "intervention_id"], kind="mergesort")
    counts = tab.groupby("category_label", sort=False).size()
    tally = " · ".join(f"<b>{_e(label)}</b> {k}" for label, k in counts.items())
    any_value = bool(tab["value_line"].astype(bool).any())
    rows = []
    for _, r in tab.iterrows():
        colour = CATEGORY_COLOURS.get(r["category"], "#333")
        if math.isfinite(r["estimate"]):
            effect = effect_in_words(scale=r["scale"], label=r["outcome"], estimate=r["estimate"],
                                     ci_low=r["ci_low"], ci_high=r["ci_high"], outcome=False)
        else:
            effect = "not estimated" if r["reported"] else "no report"
        harm = "<br><span class='failed small'>Review: worse on another outcome</span>" if r["harms"] else ""
        evidence = f"level {int(r['sms'])}" if r["sms"] and math.isfinite(float(r["sms"])) else "–"
        value = _e(r["value_line"]) if r["value_line"] else "–"
        outcome = short_outcome(str(r["outcome"]))
        rows.append(f"<tr><td><b style='color:{colour}'>{_e(r['category_label'])}</b>{harm}</td>"
                    f"<td>{_e(r['title'])} <span class='small'>{_e(r['intervention_id'])}</span></td>"
                    f"<td>{_e(outcome)}</td><td class='nowrap'>{_e(effect)}</td><td class='nowrap'>{evidence}</td>"
                    + (f"<td>{value}</td>" if any_value else "") + "</tr>")
    labels = " ".join(str(x) for x in tab["outcome"])
    glosses = " ".join(g for k, g in GLOSSES.items() if re.search(rf"\b{k}\b", labels))
    return (f"<p class='tally'>{tally}</p>"
            "<table class='decisions'><thead><tr><th>Decision</th><th>Intervention</th>"
            "<th>Primary outcome</th><th>Effect (95% interval)</th><th>Evidence (of 5)</th>"
            + ("<th>Value for money (crime costs avoided per £1 spent)</th>" if any_value else "")
            + "</tr></thead><tbody>" + "".join(rows)
            + "</tbody></table><p class='small'>Effects are in the outcome's own units (percentage points of "
              "young people; points on a questionnaire; % change in a rate) with their 95% interval; a fall in "
              "difficulties or reoffending is better, a rise in wellbeing is better. Evidence is the Maryland "
              "Scientific Methods Scale: level 1 is a before-and-after comparison, level 3 a matched or area "
              "comparison group, level 5 a randomised trial. " + _e(glosses)
            + (" Value for money is the crime costs to victims and public services avoided for each £1 spent, "
               "with its 95% range, and only the range where the effect is uncertain; area-wide programmes give "
               "the cost per resident and per offence prevented; 'not monetised' means the outcome has no agreed "
               "money value. Each report explains how it was worked out." if any_value else "")
            + " Detail for each intervention follows below and in its own report.</p>")


# --------------------------------------------------------------------------- forest
#: Ratio scales: drawn as the % change they imply (100 x (ratio - 1)), the way the decision table words them.
_RATIO_SCALES = {"rate ratio": "rate", "hazard ratio": "risk", "odds ratio": "odds"}


def _sms_short(level: Any) -> str:
    """'SMS 3' for a Maryland level held as a float (3.0) in the portfolio table."""
    try:
        return f"SMS {int(float(level))}"
    except (TypeError, ValueError):
        return "SMS –"


def natural_units(scale: str, label: str, estimate: float, ci_low: float, ci_high: float,
                  higher_is_better: bool | None = None) -> tuple[float, float, float, str]:
    """An effect and its interval in the outcome's own units, with the axis label that names them.

    Risk differences become percentage points, ratios the % change they imply, and other effects stay in
    the measure's units (points on a questionnaire, offences per person), the units the decision table uses.
    ``higher_is_better`` (when known) puts which side is better for young people in the label.
    """
    if scale == "risk difference":
        return 100 * estimate, 100 * ci_low, 100 * ci_high, "Percentage points (negative = fewer young people)"
    side = ("" if higher_is_better is None else
            " (positive = better)" if higher_is_better else " (negative = better)")
    if scale in _RATIO_SCALES:
        return (100 * (estimate - 1), 100 * (ci_low - 1), 100 * (ci_high - 1),
                f"% change in the {_RATIO_SCALES[scale]}{side or ' (negative = lower)'}")
    return estimate, ci_low, ci_high, f"Difference, {effect_unit(label)}{side or ' (negative = lower)'}"


def _higher_is_better(rows: pd.DataFrame) -> bool | None:
    """Which way is better for a panel's outcome, read off any result with a direction (beneficial or
    harmful) and an estimate off zero in its own units; None when no row says."""
    if "direction" not in rows:
        return None
    for direction, value in zip(rows["direction"], rows["value"]):
        if direction in ("beneficial", "harmful") and math.isfinite(value) and value != 0:
            return (value > 0) == (direction == "beneficial")
    return None


def natural_forest_panels(tab: pd.DataFrame) -> list[tuple[str, pd.DataFrame, str]]:
    """The primary effects grouped by outcome and scale, each group on its own axis in natural units.

    Returns (outcome, rows, axis label) per group, groups with the most interventions first; rows hold
    ``value``/``low``/``high`` and the plot's ``label`` and ``annotation``.
    """
    has = tab.loc[tab["estimate"].map(lambda v: isinstance(v, float) and math.isfinite(v))].copy()
    if has.empty:
        return []
    has["_outcome"] = [short_outcome(str(o)) for o in has["outcome"]]
    has["_o"] = has["category"].map({c: i for i, c in enumerate(CATEGORY_ORDER)}).fillna(len(CATEGORY_ORDER))
    panels = []
    for (outcome, scale), g in has.groupby(["_outcome", "scale"], sort=False):
        conv = [natural_units(str(scale), str(r.outcome), r.estimate, r.ci_low, r.ci_high) for r in g.itertuples()]
        g = g.assign(value=[c[0] for c in conv], low=[c[1] for c in conv], high=[c[2] for c in conv],
                     label=[f"{i} {t}" for i, t in zip(g["intervention_id"], g["title"])],
                     annotation=[f"n={n} · {_sms_short(s)}" for n, s in zip(g["n_shown"], g["sms"])])
        better = _higher_is_better(g)
        axis = natural_units(str(scale), str(g["outcome"].iloc[0]), 0.0, 0.0, 0.0, better)[3]
        panels.append((str(outcome), g.sort_values(["_o", "value"], kind="mergesort"), axis))
    return sorted(panels, key=lambda p: -len(p[1]))


def _natural_forests(tab: pd.DataFrame, level: str) -> str:
    out = []
    for outcome, rows, axis in natural_forest_panels(tab):
        fig = forest_plot(rows, estimate="value", ci_low="low", ci_high="high", xlabel=axis,
                          title=f"{outcome}: effect in its own units",
                          legend_labels=dict(zip(rows["category"], rows["category_label"])))
        out.append(_fig(fig, alt=f"Forest plot of the effect on {outcome} for each intervention that measured it"))
    if not out:
        return ""
    return ("<p>Each panel is one outcome, in its own units, with every intervention that had it as its primary "
            f"outcome and the {level} interval; a line crossing the dashed zero line is inconclusive. For "
            "reoffending, violence and difficulties scores negative is better; for wellbeing positive is better. "
            "Colours give the commissioning decision.</p>" + "".join(out))


def section_forest(pctx: PortfolioContext) -> str:
    tab = portfolio_table(pctx)
    natural = _natural_forests(tab, _level_text(tab))
    has = tab.loc[tab["std"].notna()].copy()
    if has.empty:
        return natural or "<p class='pending'>No intervention has a standardised primary effect yet.</p>"
    has["_order"] = has["category"].map({c: i for i, c in enumerate(CATEGORY_ORDER)})
    has = has.sort_values(["_order", "std"], ascending=[True, False], kind="mergesort")
    has["label"] = [f"{i} {t}" for i, t in zip(has["intervention_id"], has["title"])]
    lo_lim, hi_lim = FOREST_LIMITS
    cut = (has["std_low"] < lo_lim) | (has["std_high"] > hi_lim)
    has["std_low"], has["std_high"] = has["std_low"].clip(lower=lo_lim), has["std_high"].clip(upper=hi_lim)
    has["annotation"] = [f"n={n} · {_sms_short(s)}{' · interval cut' if c else ''}" for n, s, c in
                         zip(has["n_shown"], has["sms"], cut)]
    fig = forest_plot(has, estimate="std", ci_low="std_low", ci_high="std_high",
                      title="Primary effect of each intervention (standardised)",
                      legend_labels=dict(zip(has["category"], has["category_label"])))  # the rules' own names
    missing = tab.loc[tab["std"].isna()]
    note = ""
    if len(missing):
        items = "".join(f"<li><b>{_e(r.intervention_id)}</b> {_e(r.title)}: "
                        f"{_e(r.reason or 'no standardised effect for this outcome')}</li>"
                        for r in missing.itertuples())
        note = f"<p>Not in the plot:</p><ul>{items}</ul>"
    scales = sorted(set(has["std_name"]))
    return (natural + "<h3>All interventions on one scale</h3>"
            + _fig(fig, alt="Forest plot of every intervention's primary effect")
            + f"<p>Each line is an intervention's primary outcome with its {_level_text(has)} interval; a line "
              "crossing the dashed "
              "zero line is inconclusive. Colours give the commissioning category. Scales: "
            + _e(", ".join(scales)) + " (about 0.2 is a small effect, 0.5 medium). Area programmes are converted "
              "from rate ratios approximately. n = participants (or events, for area programmes).</p>" + note)


# --------------------------------------------------------------------------- value
def cost_per_outcome(row: pd.Series | dict) -> tuple[float, float, float] | None:
    """(cost, low, high) per outcome achieved, or None when the rule does not apply (see module docstring)."""
    cost, n = row["annual_cost"], row["participants"]
    if not (row["significant"] and row["direction"] == "beneficial") or not cost or not n:
        return None
    if row["design_key"] in AREA_DESIGNS:
        return None
    est, lo, hi = abs(row["estimate"]), abs(row["ci_low"]), abs(row["ci_high"])
    if not all(math.isfinite(v) and v > 0 for v in (est, lo, hi)):
        return None
    near, far = min(lo, hi), max(lo, hi)
    return cost / (n * est), cost / (n * far), cost / (n * near)


def section_value(pctx: PortfolioContext) -> str:
    tab = portfolio_table(pctx)
    t = pctx.threshold
    rows = []
    for _, r in tab.iterrows():
        cost = r["annual_cost"]
        n = r["participants"]
        hidden = is_small(n, t) or r["participants_shown"] == MARKER  # a cost per head would reveal the count
        per_part = "–" if not cost else (
            (cost_per_participant_at_most(r["found"], cost) or MARKER) if hidden else f"£{cost / n:,.0f}" if n else "–")
        cpo = cost_per_outcome(r)
        if cpo is None:
            per_out = "–"
            why = ("" if r["reported"] else "not reported")
        elif hidden:
            per_out, why = MARKER, "hidden: it would reveal a small number of participants"
        else:
            unit = ("per additional young person not reoffending" if r["scale"] == "risk difference"
                    else "per point of improvement per young person")
            per_out, why = f"£{cpo[0]:,.0f} (£{cpo[1]:,.0f} to £{cpo[2]:,.0f})", unit
        rows.append({"ID": r["intervention_id"], "Intervention": r["title"],
                     "Annual cost": f"£{cost:,.0f}" if cost else "–",
                     "Participants": r["participants_text"],
                     "Cost per participant": per_part, "Cost per outcome achieved": per_out, "Which outcome": why,
                     "Value for money": (r.get("value") or {}).get("short", "–")})
    return (pd.DataFrame(rows).to_html(index=False, border=0, escape=True)
            + "<p class='small'>– : no significant benefit on the primary outcome. Cost per outcome is shown only "
              "where the primary result is a significant benefit: "
              f"annual cost / (participants × the estimated effect); the range comes from the {_level_text(tab)} "
              "interval. "
              "For reoffending this is the cost of each additional young person who did not reoffend. "
              "Value for money: crime costs avoided (Home Office unit costs of crime) per £1 "
              "spent, with its range, or a range alone where the effect is uncertain; area programmes: cost "
              "per resident and per offence prevented (docs/value.md).</p>")


# --------------------------------------------------------------------------- reach
def _group_columns(frame: pd.DataFrame, edges: list[int], cfg: VRUConfig | None) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    label = cfg.label if cfg is not None else (lambda v: str(v).replace("_", " "))
    out["Ethnic group"] = frame.get("ethnicity_group", pd.Series(index=frame.index, dtype=object)) \
        .astype("string").fillna("not_known").map(label)
    out["Sex"] = frame["sex"].astype("string").fillna("not_known").map(label)
    out["Age band"] = age_band(frame["age"], edges)
    if cfg is not None and "locality" in frame:
        for heading, area_of in area_levels(cfg):
            out[heading] = frame["locality"].map(lambda v, a=area_of: a.get(v, label("not_known")))
    return out


def area_levels(cfg: Any) -> list[tuple[str, dict[str, str]]]:
    """Each level of the configured area tree above the localities: (heading, locality -> area at that level).

    The top level is headed with the VRU's own word for an area; deeper levels add "level 2", "level 3", ...
    A level whose areas each hold one locality adds nothing and is left out.
    """
    word = cfg.area_words.area[:1].upper() + cfg.area_words.area[1:]
    paths: dict[str, list[str]] = {}  # locality -> area names from the top down

    def walk(tree: Any, above: list[str]) -> None:
        for name, sub in tree.items():
            if isinstance(sub, dict):
                walk(sub, [*above, str(name)])
            else:
                for loc in sub:
                    paths[str(loc)] = [*above, str(name)]
    walk(cfg.areas, [])
    out: list[tuple[str, dict[str, str]]] = []
    for depth in range(1, max((len(p) for p in paths.values()), default=1) + 1):
        # a locality with no area at this depth keeps its deepest one, so every level covers everyone
        area_of = {loc: p[min(depth, len(p)) - 1] for loc, p in paths.items()}
        if depth == 1 or area_of != out[-1][1]:
            out.append((word if depth == 1 else f"{word} (level {depth})", area_of))
    return out


def reach_tables(pctx: PortfolioContext) -> dict[str, pd.DataFrame]:
    """Counts of distinct participants and of the cohort at risk by group (raw; suppressed when shown)."""
    protos = [p for p in pctx.protocols if p.intervention_id != VRU_ID]
    if not protos:
        return {}
    part = pd.concat([ad.population(p, pctx.tables) for p in protos], ignore_index=True)
    part = part.sort_values(["person_id", "index_date"], kind="mergesort").drop_duplicates("person_id")
    pool = pctx.tables.get("comparison_pool")
    if pool is None or pool.empty:
        return {}
    source = getattr(pctx.cfg, "reach_cohort", None)  # the configured cohort at risk; else the whole pool
    cohort = pool.loc[pool["pool_source"] == source] if source and (pool["pool_source"] == source).any() else pool
    cohort = cohort.assign(age=ad._age(cohort, "age_at_index", "index_date"))
    cohort = cohort.sort_values(["person_id", "index_date"], kind="mergesort").drop_duplicates("person_id")
    edges = protos[0].age_bands
    gp, gc = _group_columns(part, edges, pctx.cfg), _group_columns(cohort, edges, pctx.cfg)
    out = {}
    for col in gp.columns:
        table = pd.DataFrame({"Participants": gp[col].value_counts(), "Cohort at risk": gc[col].value_counts()})
        table = table.fillna(0).astype("int64")
        order = (age_band_labels(edges) + ["other"]
                 if col == "Age band" else sorted(table.index, key=lambda v: (v in ("not known", "other"), v)))
        table = table.reindex([o for o in order if o in table.index])
        table.index.name = col
        out[col] = table
    return out


def section_reach(pctx: PortfolioContext) -> str:
    tables = reach_tables(pctx)
    if not tables:
        return "<p class='pending'>Reach needs the participants and comparison pool tables.</p>"
    t = pctx.threshold
    source = getattr(pctx.cfg, "reach_cohort", None)
    cohort = f"the comparison pool's {source.replace('_', ' ')} records" if source else "the whole comparison pool"
    parts = ["<p>Young people who started any intervention in the period, against the cohort at risk ("
             f"{_e(cohort)}). Representation above 1 means a group is a larger share of participants than of the "
             "young people at risk; below 1, a smaller share. Counts below "
             f"{t} are hidden ({MARKER}), with further cells hidden where totals would reveal them.</p>"]
    for name, table in tables.items():
        shown = suppress_counts(table, threshold=t, totals="row")
        parts.append(f"<h3>By {_e(name[:1].lower() + name[1:])}</h3>" + reach_html(table, shown))
    return "".join(parts)


def reach_html(table: pd.DataFrame, shown: SuppressedTable) -> str:
    """Suppressed counts with each group's share and its representation (hidden with its count)."""
    disp = shown.display.copy()
    tot = table.sum()
    shares_p, shares_c, rep = [], [], []
    for level in disp.index:
        if level not in table.index:  # the total row
            shares_p.append("100%"), shares_c.append("100%"), rep.append("")
            continue
        hidden_p = shown.hidden.loc[level, "Participants"] != ""
        hidden_c = shown.hidden.loc[level, "Cohort at risk"] != ""
        sp = table.loc[level, "Participants"] / tot["Participants"] if tot["Participants"] else math.nan
        sc = table.loc[level, "Cohort at risk"] / tot["Cohort at risk"] if tot["Cohort at risk"] else math.nan
        shares_p.append(MARKER if hidden_p else f"{100 * sp:.0f}%")
        shares_c.append(MARKER if hidden_c else f"{100 * sc:.0f}%")
        rep.append(MARKER if hidden_p or hidden_c else (f"{sp / sc:.2f}" if sc else "–"))
    disp.insert(1, "Share of participants", shares_p)
    disp["Share of cohort"] = shares_c
    disp["Representation"] = rep
    return counts_html(disp) + "".join(f"<p class='evalkit-note'>{n}</p>" for n in shown._notes())


# --------------------------------------------------------------------------- commissioning
def _sms(level: Any) -> str:
    """' (SMS 3)', or nothing for an intervention without a reported result (no 'SMS nan')."""
    try:
        return f" ({_sms_short(level)})" if level and math.isfinite(float(level)) else ""
    except (TypeError, ValueError):
        return ""


def _why(r: pd.Series, pctx: PortfolioContext) -> str:
    min_n = min((p.min_n_significance for p in pctx.protocols), default=30)
    return category_reason(r["category"], r["category_meaning"], verdict=r["verdict"], design=r["design_key"],
                           sms=int(r["sms"]) if r["sms"] and math.isfinite(float(r["sms"])) else 1,
                           n_text=str(r["n_shown"]), n_needed=r["n_needed"], min_n=min_n,
                           localities=pctx.cfg.area_words.localities if pctx.cfg is not None else "districts")


def section_commissioning(pctx: PortfolioContext) -> str:
    tab = portfolio_table(pctx)
    if tab.empty:
        return "<p class='pending'>No interventions.</p>"
    counts = tab["category_label"].value_counts()
    summary = " · ".join(f"<b>{_e(k)}</b>: {v}" for k, v in counts.items())
    rows = []
    tab = tab.assign(_o=tab["category"].map({c: i for i, c in enumerate(CATEGORY_ORDER)}))
    for _, r in tab.sort_values(["_o", "intervention_id"], kind="mergesort").iterrows():
        colour = CATEGORY_COLOURS.get(r["category"], "#333")
        flag = (f"<br><span class='failed'>Review: significant worsening on {_e(', '.join(r['harms']))}</span>"
                if r["harms"] else "")
        finding = r["reason"] if r["verdict"] in ("could not be estimated", "not reported") else r["verdict"]
        rows.append(f"<tr><td>{_e(r['intervention_id'])}</td><td>{_e(r['title'])}</td><td>{_e(r['outcome'])}</td>"
                    f"<td>{_e(r['design'])}{_sms(r['sms'])}</td>"
                    f"<td>{_e(finding)}</td>"
                    f"<td><b style='color:{colour}'>{_e(r['category_label'])}</b>{flag}</td>"
                    f"<td class='small'>{_e(_why(r, pctx))}</td></tr>")
    return (f"<p>{summary}</p><table><thead><tr><th>ID</th><th>Intervention</th><th>Primary outcome</th>"
            "<th>Design</th><th>Finding</th><th>Category</th><th>Why</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table><p class='small'>The categories follow documented rules, applied "
            "in order (the VRU can change them; the appendix names the rules file); the first that fits "
            "decides. A result is significant only when its interval excludes no effect and enough young people "
            "took part.</p>")


def rules_name(pctx: Any) -> str:
    """The commissioning rules file in force: the configuration's own, else the packaged one."""
    path = getattr(pctx.cfg, "commissioning_rules_path", None)
    return path.name if path is not None else "commissioning_rules.yaml"


__all__ = ["portfolio_table", "cost_per_outcome", "reach_tables", "section_decisions", "section_forest",
           "natural_units", "natural_forest_panels",
           "section_value", "value_line", "published_participants",
           "section_reach", "section_commissioning"]
