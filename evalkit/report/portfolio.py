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
from pathlib import Path
from typing import Any

import pandas as pd

from evalkit.analysis import data as ad
from evalkit.analysis.commissioning import (Rules, finding_from_json, load_rules, portfolio_categories,
                                            secondary_worse_flags)
from evalkit.analysis.reasons import Reason, checks_from_json, comparison_secondary, explain
from evalkit.data.config import VRUConfig
from evalkit.errors import EvalkitError
from evalkit.labels import AREA_DESIGNS, age_band, age_band_labels
from evalkit.report.common import figure_html
from evalkit.report.board import (GLOSSARY, area_value_text, glossary_html, reason_text, secondary_words, value_numbers,
                                 value_text)
from evalkit.report.context import PortfolioContext
from evalkit.report.pages import render_template
from evalkit.report.disclosure import MARKER, SuppressedTable, counts_html, is_small, safe_count, suppress_counts
from evalkit.report.narrative import GLOSSES, category_reason, effect_in_words, effect_unit, lower_label, signed
from evalkit.report.plots import CATEGORY_COLOURS, CATEGORY_SYMBOLS, forest_plot

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
    own = {f["intervention_id"]: (f.get("primary") or {}) for f in pctx.findings}
    found = {f["intervention_id"]: f for f in decided_findings(pctx)}
    rules = load_rules()
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
        reason = decision_reason(prim, f.get("outcomes", []), rules)
        n_shown_text = str(prim.get("n_shown", prim.get("n", "")) or "")
        rows.append({
            "intervention_id": p.intervention_id, "title": p.title, "type": p.intervention_type or "",
            "reason_data": reason, "q_value": _num(prim.get("q_value")),
            "reason_text": _reason_words(reason, prim, f, n_shown_text, rules, p.min_n_significance),
            "reported": bool(f), "outcome": prim.get("label", ""), "design": prim.get("design_label", ""),
            "design_key": prim.get("design", ""),
            "sms": prim.get("sms"), "n": prim.get("n"), "n_shown": prim.get("n_shown", prim.get("n", "")),
            "std": _num(std.get("estimate")), "std_low": _num(std.get("ci_low")), "std_high": _num(std.get("ci_high")),
            "std_name": std.get("name", ""), "estimate": _num(est.get("estimate")), "ci_low": _num(est.get("ci_low")),
            "ci_high": _num(est.get("ci_high")), "scale": est.get("scale", ""),
            "level": _num(est.get("level", 0.95)),
            "direction": prim.get("direction", ""), "significant": bool(prim.get("significant")),
            "verdict": prim.get("verdict", "not reported"),
            "report_category": own.get(p.intervention_id, {}).get("category", ""),
            "report_category_label": own.get(p.intervention_id, {}).get("category_label", ""), "category": prim.get("category", "improve_evidence"),
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


def decided_findings(pctx: PortfolioContext) -> list[dict]:
    """Each report's findings with its primary result as the portfolio judges it: significance after
    multiplicity control across the portfolio's primary outcomes, the category that follows, and a verdict
    (and the primary outcome's entry in ``outcomes``) that agrees with them. Every portfolio section reads these,
    so the decision table and the theory-of-change map cannot disagree about a primary result."""
    found = {f["intervention_id"]: f for f in pctx.findings}
    protos = {p.intervention_id: p for p in pctx.protocols}
    decided = portfolio_categories({i: f.get("primary") for i, f in found.items()
                                    if i != VRU_ID and isinstance(f.get("primary"), dict)})
    out = []
    for i, f in found.items():
        if i not in decided or not isinstance(decided[i], dict):
            out.append(f)
            continue
        prim = dict(decided[i])
        prim["verdict"] = portfolio_verdict(prim)
        outcomes = [({**o, "verdict": prim["verdict"]} if o.get("primary") and o.get("outcome") == prim.get("outcome")
                     and o.get("ok") else o) for o in f.get("outcomes", [])]
        # a secondary outcome is "worse" only where the flag for review says so (false-discovery control within
        # the report's secondary outcomes), so the theory-of-change map and the decision table's flag agree
        proto = protos.get(i)
        worse = secondary_worse_flags(outcomes, alpha=proto.alpha if proto else 0.05,
                                      min_n=proto.min_n_significance if proto else 30)
        outcomes = [({**o, "verdict": "inconclusive"} if not o.get("primary") and o.get("verdict") == "worse"
                     and not w else o) for o, w in zip(outcomes, worse)]
        out.append({**f, "primary": prim, "outcomes": outcomes})
    return out


def portfolio_verdict(prim: dict) -> str:
    """'improved', 'worse', 'inconclusive' or 'too few to tell' from the portfolio's (adjusted) significance."""
    verdict = str(prim.get("verdict", ""))
    if verdict in ("could not be estimated", "too few to tell", "not reported") or "significant" not in prim:
        return verdict
    if not prim.get("significant"):
        return "inconclusive"
    return {"beneficial": "improved", "harmful": "worse"}.get(str(prim.get("direction")), "inconclusive")


def decision_reason(prim: dict, outcomes: list, rules: Rules) -> Reason | None:
    """The reason for the portfolio's decision on one intervention (its rule and the deciding numbers), from
    its primary entry as the portfolio re-judged it (:func:`portfolio_categories`); None without a finding."""
    finding = finding_from_json(prim) if prim else None
    if finding is None:
        return None
    checks = checks_from_json(prim.get("checks"))
    secondary = comparison_secondary(outcomes, finding.sms) if finding.sms < 3 else None
    return explain(finding, rules, q_value=_num(prim.get("q_value")), checks=checks, secondary=secondary)


def _reason_words(reason: Reason | None, prim: dict, found: dict, n_shown: str, rules: Rules, min_n: int) -> str:
    if reason is None:
        return ("The primary outcome could not be estimated" if found else "The report was not produced")
    labels = {k: str(v.get("label", k)) for k, v in rules.categories.items()}
    sec = ""
    if reason.secondary:
        est = reason.secondary.get("estimate") or {}
        effect = ""
        if isinstance(est.get("estimate"), (int, float)):
            effect = effect_in_words(scale=est.get("scale", ""), label=reason.secondary.get("label", ""),
                                     estimate=est["estimate"], ci_low=_num(est.get("ci_low")),
                                     ci_high=_num(est.get("ci_high")), outcome=False).split(" (")[0]
        sec = secondary_words(reason.secondary, SECONDARY_DESIGN_WORDS, effect)
    return reason_text(reason, n_shown=n_shown, labels=labels, min_n=min_n, secondary_words=sec)


#: How a secondary outcome's design reads in a reason ("a matched improvement in proven reoffending").
SECONDARY_DESIGN_WORDS = {"matched": "matched comparison", "did": "comparison-group design",
                          "area_did": "comparison-area design"}


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



_RECORDS: dict[int, tuple[PortfolioContext, pd.DataFrame]] = {}


def decision_records(pctx: PortfolioContext) -> pd.DataFrame:
    """The one decision record per intervention that every portfolio section reads (built once per context).

    :func:`portfolio_table` plus the words every section shows: the decision's reason, the effect in its own
    units, the evidence level and value for money, so the decision table, the theory-of-change map, cost and
    value, the forest plots and the exports cannot disagree about an intervention.
    """
    cached = _RECORDS.get(id(pctx))
    if cached is not None and cached[0] is pctx:
        return cached[1]
    tab = portfolio_table(pctx)
    if not tab.empty:
        order = {c: i for i, c in enumerate(CATEGORY_ORDER)}
        tab = tab.assign(_o=tab["category"].map(order).fillna(len(CATEGORY_ORDER)))
        tab = tab.sort_values(["_o", "intervention_id"], kind="mergesort").drop(columns="_o").reset_index(drop=True)
        tab["effect_text"] = [_effect_text(r) for _, r in tab.iterrows()]
        tab["evidence_text"] = [f"level {int(s)}" if _finite(s) else "–" for s in tab["sms"]]
        tab["area"] = tab["design_key"].isin(AREA_DESIGNS)
        tab["value_text"] = [("area programme: see cost per resident" if a else value_text(v))
                             for a, v in zip(tab["area"], tab["value"])]
        tab["area_value_text"] = [area_value_text(v) if a else "–" for a, v in zip(tab["area"], tab["value"])]
    _RECORDS.clear()  # one portfolio at a time
    _RECORDS[id(pctx)] = (pctx, tab)
    return tab


def _finite(v: Any) -> bool:
    try:
        return v is not None and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _effect_text(r: pd.Series) -> str:
    if math.isfinite(r["estimate"]):
        return effect_in_words(scale=r["scale"], label=r["outcome"], estimate=r["estimate"], ci_low=r["ci_low"],
                               ci_high=r["ci_high"], outcome=False)
    return "not estimated" if r["reported"] else "no report"


def _badge(key: str) -> tuple[str, str]:
    return CATEGORY_SYMBOLS.get(key, "\u25a0"), CATEGORY_COLOURS.get(key, "#333333")


def section_decisions(pctx: PortfolioContext) -> str:
    """One screen for the board: each intervention's decision and why, effect in its own units, evidence, value.

    Ordered by category (expand first) and, within one, by intervention id. The effect is the primary
    outcome's estimate on its natural scale (percentage points, points on a questionnaire, a rate) with its
    interval; evidence is the Maryland level of the design behind it; the reason names the rule and the number
    that decided it (:mod:`evalkit.analysis.reasons`).
    """
    tab = decision_records(pctx)
    if tab.empty:
        return "<p class='pending'>No interventions.</p>"
    counts = tab.groupby(["category", "category_label"], sort=False).size()
    tally = [{"key": k, "label": label, "count": int(n), "symbol": _badge(k)[0], "colour": _badge(k)[1]}
             for (k, label), n in counts.items()]
    rows = []
    for _, r in tab.iterrows():
        symbol, colour = _badge(r["category"])
        rows.append({"category": r["category"], "label": r["category_label"], "symbol": symbol, "colour": colour,
                     "harm": ", ".join(lower_label(h) for h in r["harms"]), "title": r["title"],
                     "id": r["intervention_id"], "outcome": short_outcome(str(r["outcome"])),
                     "effect": r["effect_text"], "evidence": r["evidence_text"], "reason": r["reason_text"],
                     "value": r["value_text"], "area_value": r["area_value_text"]})
    labels = " ".join(str(x) for x in tab["outcome"])
    glosses = " ".join(g for k, g in GLOSSES.items() if re.search(rf"\b{k}\b", labels))
    note = ("Effects are in the outcome's own units (percentage points of young people; points on a "
            "questionnaire; % change in a rate) with their interval; a fall in difficulties or reoffending is "
            "better, a rise in wellbeing is better. Evidence is the Maryland Scientific Methods Scale: level 1 is "
            "a before-and-after comparison, level 3 a matched or area comparison group, level 5 a randomised "
            "trial. " + glosses + " Value for money is the crime costs to victims and public services avoided for "
            "each £1 spent, with its range (a range alone where the effect is uncertain); below £1 an "
            "intervention costs more than it saves; 'not monetised' means the outcome has no agreed money value. "
            "Area programmes buy a whole area's change, so they are costed per resident, not per participant. "
            "Each decision is made on the primary outcome named in the protocol before the data were seen. "
            "Detail for each intervention follows below and in its own report.")
    terms = [(k, GLOSSARY[k][0]) for k in ("primary", "significant", "multiple", "p", "gamma", "e_value", "placebo")]
    return render_template("portfolio_decisions.html.j2", tally=tally, rows=rows, level=_level_text(tab),
                           any_area=bool(tab["area"].any()), note=note, terms=terms)


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


def chart_numbers(rows: pd.DataFrame, est: str, low: str, high: str, unit: str) -> str:
    """A chart's numbers as a table (its text alternative: WCAG 1.1.1), collapsed on screen, left off paper
    (the decision table carries them there)."""
    body = "".join(
        f"<tr><th scope='row'>{_e(r['intervention_id'])} {_e(r['title'])}</th><td>{_e(r['category_label'])}</td>"
        f"<td class='num'>{_signed_or_dash(r[est])}</td><td class='num'>{_signed_or_dash(r[low])} to "
        f"{_signed_or_dash(r[high])}</td><td class='num'>{_e(r['n_shown'])}</td></tr>" for _, r in rows.iterrows())
    return ("<details class='chart-data'><summary>The numbers in this chart</summary><table><thead><tr>"
            f"<th scope='col'>Intervention</th><th scope='col'>Decision</th><th scope='col'>Effect ({_e(unit)})</th>"
            "<th scope='col'>Interval</th><th scope='col'>Number analysed</th></tr></thead>"
            f"<tbody>{body}</tbody></table></details>")


def _signed_or_dash(v: Any) -> str:
    return signed(float(v), 2) if _finite(v) else "–"


def _natural_forests(tab: pd.DataFrame, level: str) -> str:
    out = []
    for outcome, rows, axis in natural_forest_panels(tab):
        fig = forest_plot(rows, estimate="value", ci_low="low", ci_high="high", xlabel=axis,
                          title=f"{outcome}: effect in its own units",
                          legend_labels=dict(zip(rows["category"], rows["category_label"])))
        out.append(_fig(fig, alt=f"Forest plot of the effect on {outcome} for each intervention that measured it; "
                                 "the numbers follow in a table")
                   + chart_numbers(rows, "value", "low", "high", axis.split(" (")[0]))
    if not out:
        return ""
    return ("<p>Each panel is one outcome, in its own units, with every intervention that had it as its primary "
            f"outcome and the {level} interval; a line crossing the dashed zero line is inconclusive. For "
            "reoffending, violence and difficulties scores negative is better; for wellbeing positive is better. "
            "Colours and marker shapes give the decision; each chart's numbers are in the table below it.</p>"
            + "".join(out))


def section_forest(pctx: PortfolioContext) -> str:
    tab = decision_records(pctx)
    natural = _natural_forests(tab, _level_text(tab))
    has = tab.loc[tab["std"].notna()].copy()
    if has.empty:
        return natural or "<p class='pending'>No intervention has a standardised primary effect yet.</p>"
    has["_order"] = has["category"].map({c: i for i, c in enumerate(CATEGORY_ORDER)})
    has = has.sort_values(["_order", "std"], ascending=[True, False], kind="mergesort")
    has["label"] = [f"{i} {t}" for i, t in zip(has["intervention_id"], has["title"])]
    numbers = chart_numbers(has, "std", "std_low", "std_high", "standardised")  # the interval as estimated, not cut
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
            + _fig(fig, alt="Forest plot of every intervention's primary effect on the standardised scale; the "
                            "numbers follow in a table")
            + numbers
            + f"<p>Each line is an intervention's primary outcome with its {_level_text(has)} interval; a line "
              "crossing the dashed "
              "zero line is inconclusive. Colours and marker shapes give the decision. Scales: "
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
    """Cost per participant, per outcome achieved and value for money, from the decision records.

    Area programmes get no cost per participant (their money buys a whole area's change, not the few young
    people they recorded): their cost per resident sits in its own column."""
    tab = decision_records(pctx)
    t = pctx.threshold
    rows = []
    for _, r in tab.iterrows():
        cost = r["annual_cost"]
        n = r["participants"]
        hidden = is_small(n, t) or r["participants_shown"] == MARKER  # a cost per head would reveal the count
        if r["area"]:
            per_part = "area programme: see cost per resident"
        else:
            per_part = "–" if not cost else (
                (cost_per_participant_at_most(r["found"], cost) or MARKER) if hidden
                else f"£{cost / n:,.0f}" if n else "–")
        cpo = cost_per_outcome(r)
        if cpo is None:
            per_out = "–"
            why = ("" if r["reported"] else "not reported")
        elif hidden:  # audited as a range from the published sample (evalkit.report.ledger), not a bare [c]
            from evalkit.report.ledger import cost_per_outcome_text

            per_out = cost_per_outcome_text(cost, (cost / (n * cpo[0]), cost / (n * cpo[1]), cost / (n * cpo[2])),
                                            int(n), _analysed(r["found"]), t)
            why = ("per additional young person not reoffending" if r["scale"] == "risk difference"
                   else "per point of improvement per young person") if per_out != MARKER else \
                "hidden: it would reveal a small number of participants"
        else:
            unit = ("per additional young person not reoffending" if r["scale"] == "risk difference"
                    else "per point of improvement per young person")
            per_out, why = f"£{cpo[0]:,.0f} (£{cpo[1]:,.0f} to £{cpo[2]:,.0f})", unit
        row = {"ID": r["intervention_id"], "Intervention": r["title"],
               "Annual cost": f"£{cost:,.0f}" if cost else "–",
               "Participants": "area programme" if r["area"] else r["participants_text"],
               "Cost per participant": per_part, "Cost per outcome achieved": per_out, "Which outcome": why,
               "Value for money (£ returned per £1 spent)": r["value_text"]}
        if tab["area"].any():
            row["Area programmes: cost per resident"] = r["area_value_text"]
        rows.append(row)
    return (pd.DataFrame(rows).to_html(index=False, border=0, escape=True)
            + "<p class='small'>– : no significant benefit on the primary outcome. Cost per outcome is shown only "
              "where the primary result is a significant benefit (after allowing for the number of interventions "
              "tested): annual cost / (participants × the estimated effect); the range comes from the "
              f"{_level_text(tab)} interval. For reoffending this is the cost of each additional young person who "
              "did not reoffend. Value for money: crime costs to victims and public services avoided (Home Office "
              "unit costs of crime) for each £1 spent, with its range, or a range alone where the effect is "
              "uncertain; below £1 an intervention costs more than it saves. Area programmes are costed per "
              "resident of the area. Each intervention's report sets out how its value was worked out.</p>")


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
    """Each intervention's category with what it means and the specific reason (from the decision records)."""
    tab = decision_records(pctx)
    if tab.empty:
        return "<p class='pending'>No interventions.</p>"
    counts = tab.groupby("category_label", sort=False).size()
    summary = " · ".join(f"<b>{_e(k)}</b>: {v}" for k, v in counts.items())
    rows = []
    for _, r in tab.iterrows():
        symbol, colour = _badge(r["category"])
        flag = (f"<br><span class='failed'>Review: significantly worse on {_e(', '.join(r['harms']))}</span>"
                if r["harms"] else "")
        finding = r["reason"] if r["verdict"] in ("could not be estimated", "not reported") else r["verdict"]
        rows.append(f"<tr><td>{_e(r['intervention_id'])}</td><th scope='row'>{_e(r['title'])}</th>"
                    f"<td>{_e(r['outcome'])}</td><td>{_e(r['design'])}{_sms(r['sms'])}</td>"
                    f"<td>{_e(finding)}</td>"
                    f"<td><span class='decision' style='color:{colour}'><span class='shape' aria-hidden='true'>"
                    f"{symbol}</span> <b>{_e(r['category_label'])}</b></span>{flag}</td>"
                    f"<td class='small'>{_e(r['reason_text'])}. {_e(_why(r, pctx))}</td></tr>")
    return (f"<p>{summary}</p><table><thead><tr><th scope='col'>ID</th><th scope='col'>Intervention</th>"
            "<th scope='col'>Primary outcome</th><th scope='col'>Design</th><th scope='col'>Finding</th>"
            "<th scope='col'>Category</th><th scope='col'>Why, and what it means</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table><p class='small'>The categories follow documented rules, applied "
            "in order (the VRU can change them; <a href='#method'>How the decisions were made</a> lists them with "
            "their thresholds); the first that fits decides. A result is significant only when its interval "
            "excludes no effect, enough young people took part, and it holds after allowing for the number of "
            "interventions tested.</p>")


# --------------------------------------------------------------------------- how the decisions were made
_METHOD_WORDS = {
    "bky": ("the two-stage Benjamini–Krieger–Yekutieli procedure",
            "it keeps the expected share of 'significant' findings that are due to chance at 5% or less, and, "
            "unlike the simpler Benjamini–Hochberg procedure, does not become needlessly strict when many "
            "interventions work"),
    "bh": ("the Benjamini–Hochberg procedure",
           "it keeps the expected share of 'significant' findings that are due to chance at 5% or less"),
    "holm": ("the Holm procedure", "it keeps the chance of even one chance finding at 5% or less (strict)"),
    "none": ("no adjustment", "each result is judged alone"),
}


def condition_rule_words(name: str, value: Any, rules: Rules, min_n: int) -> str:
    """A rule's condition as a board member reads it, with its threshold."""
    if name == "direction":
        return {"beneficial": "outcomes improved", "harmful": "outcomes got worse"}.get(str(value), "no change")
    if name == "significant":
        return "the result is significant" if value else "the result is not significant"
    if name == "sms_at_least":
        return f"evidence level {value} or more"
    if name == "sms_below":
        return f"evidence level below {value} (no comparison group)" if int(value) <= 2 else \
            f"evidence level below {value}"
    if name == "n_at_least":
        return f"at least {value} young people in the result"
    if name == "n_below_min":
        return (f"fewer young people than the protocol's minimum (usually {min_n})" if value
                else f"at least the protocol's minimum of young people (usually {min_n})")
    if name == "sensitivity_passed":
        checks = (f"a matched result must stay significant with hidden bias of Γ = {rules.rosenbaum_gamma:g} "
                  f"and have an E-value of at least {rules.e_value_ci_min:g}; an area comparison must stand out "
                  "from placebo areas")
        return f"the checks for hidden bias passed ({checks})" if value else "a check for hidden bias failed"
    if name == "worthwhile_unlikely":
        return "the whole interval lies below the smallest effect worth paying for"
    if name == "adequately_powered":
        return "enough young people to detect a worthwhile effect" if value else \
            "too few young people to detect a worthwhile effect"
    if name == "area_wide":
        return "the area-wide context report"
    return "a further condition of the VRU's rules"


def section_method(pctx: PortfolioContext) -> str:
    """How the decisions were made: the multiple-testing procedure in plain words, each category's rule with
    its thresholds, and the interventions whose category changed because of the portfolio-wide control."""
    rules = load_rules()
    tab = decision_records(pctx)
    min_n = min((p.min_n_significance for p in pctx.protocols), default=30)
    name, why = _METHOD_WORDS.get(rules.multiplicity, _METHOD_WORDS["bh"])
    m = int(tab["q_value"].notna().sum()) if not tab.empty else 0
    parts = [f"<h3>Allowing for the number of interventions tested</h3><p>With {m} interventions' primary "
             "outcomes tested, a few would look significant by chance alone. Before deciding, the portfolio "
             f"adjusts every primary result's p-value together, using {_e(name)}: {_e(why)}. A result counts as "
             "significant only if its adjusted p-value is below 0.05 (or the protocol's own level), its interval "
             "excludes no change, and enough young people took part. Each report judges its intervention alone; "
             f"<a class='term' href='#g-multiple'>the portfolio's allowance</a> can move a borderline result.</p>"]
    changed = category_changes(tab)
    if changed:
        items = "".join(
            f"<li><b>{_e(c['intervention_id'])}</b> {_e(c['title'])}: its report (judged alone) said "
            f"<i>{_e(c['report_category_label'])}</i>; allowing for every intervention tested it is "
            f"<i>{_e(c['category_label'])}</i>"
            + (f" (adjusted p = {c['q_value']:.3f})" if _finite(c["q_value"]) else "") + ".</li>"
            for c in changed)
        parts.append(f"<p>Interventions whose category changed because of this allowance:</p><ul>{items}</ul>")
    else:
        parts.append("<p>No intervention's category changed because of this allowance.</p>")
    labels = {k: str(v.get("label", k)) for k, v in rules.categories.items()}
    items = []
    for i, rule in enumerate(rules.rules, start=1):
        when = rule.get("when") or {}
        conds = "; ".join(condition_rule_words(k, v, rules, min_n) for k, v in when.items())
        items.append(f"<li><b>{_e(labels.get(rule['category'], rule['category']))}</b> "
                     f"(rule {i}): {_e(conds) if conds else 'every intervention no earlier rule decided'}.</li>")
    parts.append("<h3>The rules and their thresholds</h3><p>Read in order; the first rule whose every condition "
                 "holds decides. The VRU can change them (the appendix names the rules file).</p>"
                 f"<ol class='rules'>{''.join(items)}</ol>")
    return "".join(parts)


def category_changes(tab: pd.DataFrame) -> list[dict]:
    """The interventions whose category the portfolio-wide allowance changed: the report's own category (judged
    alone) differs from the portfolio's. Rows of the decision records, as dicts."""
    if tab.empty or "report_category" not in tab:
        return []
    moved = tab.loc[(tab["report_category"].astype(str) != "") & (tab["report_category"] != tab["category"])]
    cols = ["intervention_id", "title", "report_category_label", "category_label", "q_value"]
    return [dict(zip(cols, row)) for row in moved[cols].itertuples(index=False)]


def section_glossary(pctx: PortfolioContext) -> str:  # noqa: ARG001 - the same signature as every section
    """One line per technical term the page keeps; terms link here from their first use."""
    return glossary_html()


# --------------------------------------------------------------------------- exports
#: The export's columns, in order (one row per intervention).
EXPORT_COLUMNS = ("intervention_id", "title", "decision_id", "decision", "reason", "report_decision",
                  "primary_outcome", "design", "evidence_level_sms", "n_shown", "effect", "effect_low",
                  "effect_high", "effect_unit", "interval_level", "adjusted_p", "value_per_pound",
                  "value_per_pound_low", "value_per_pound_high", "value_unit", "value_text",
                  "area_cost_per_resident_gbp", "annual_cost_gbp", "plan_locked")


def export_table(pctx: PortfolioContext, protocol_dir: str | Path | None = None) -> pd.DataFrame:
    """The decision table as data (one row per intervention) for ``portfolio_decisions.csv`` / ``.xlsx``.

    Numbers stay numbers with their unit beside them; counts as the reports published them (a withheld
    count is the suppression marker, never the number); the effect in its natural units (percentage points for
    a risk difference, % change for a ratio, else the outcome's own units).
    """
    tab = decision_records(pctx)
    locked = _locked(pctx, protocol_dir)
    rows = []
    for _, r in tab.iterrows():
        est, lo, hi, unit = r["estimate"], r["ci_low"], r["ci_high"], ""
        if math.isfinite(est):
            est, lo, hi, unit = natural_units(str(r["scale"]), str(r["outcome"]), est, lo, hi)
            unit = unit.split(" (")[0]
        v = value_numbers(r["value"])
        rows.append({"intervention_id": r["intervention_id"], "title": r["title"], "decision_id": r["category"],
                     "decision": r["category_label"], "reason": r["reason_text"],
                     "report_decision": r["report_category_label"], "primary_outcome": r["outcome"],
                     "design": r["design"], "evidence_level_sms": int(r["sms"]) if _finite(r["sms"]) else None,
                     "n_shown": str(r["n_shown"]) if str(r["n_shown"]) else None,
                     "effect": _round(est), "effect_low": _round(lo), "effect_high": _round(hi),
                     "effect_unit": unit, "interval_level": r["level"] if _finite(r["level"]) else None,
                     "adjusted_p": _round(r["q_value"], 4),
                     "value_per_pound": None if r["area"] else _round(v["vfm_per_pound"], 2),
                     "value_per_pound_low": None if r["area"] else _round(v["vfm_low"], 2),
                     "value_per_pound_high": None if r["area"] else _round(v["vfm_high"], 2),
                     "value_unit": "" if r["area"] else v["vfm_unit"], "value_text": r["value_text"],
                     "area_cost_per_resident_gbp": _round(v["area_cost_per_resident"], 2) if r["area"] else None,
                     "annual_cost_gbp": _round(r["annual_cost"], 0),
                     "plan_locked": locked.get(r["intervention_id"])})
    return pd.DataFrame(rows, columns=list(EXPORT_COLUMNS))


def _round(v: Any, digits: int = 3) -> float | None:
    return round(float(v), digits) if _finite(v) else None


def _locked(pctx: PortfolioContext, protocol_dir: str | Path | None) -> dict[str, bool | None]:
    """Whether each protocol's analysis plan was locked (``evalkit lock``: a lock file beside the protocol);
    None where the protocol files are not known."""
    if protocol_dir is None:
        return {}
    from evalkit.lock import lock_path
    from evalkit.protocol import load_protocol

    out: dict[str, bool | None] = {}
    for path in sorted(Path(protocol_dir).glob("*.yaml")):
        try:
            out[load_protocol(path).intervention_id] = lock_path(path).is_file()
        except EvalkitError:
            continue
    return out


def write_exports(pctx: PortfolioContext, out_dir: str | Path | None = None, *,
                  protocol_dir: str | Path | None = None) -> list[Path]:
    """Write ``portfolio_decisions.csv`` and ``portfolio_decisions.xlsx`` into ``out_dir`` (default: the
    context's output folder); each file is written beside its final name and renamed into place."""
    folder = Path(out_dir or pctx.output_dir or ".")
    folder.mkdir(parents=True, exist_ok=True)
    table = export_table(pctx, protocol_dir)
    written = []
    from evalkit.io_safe import neutralise_frame, text_cells, write_atomic  # the one guarded write path

    def xlsx(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            table.to_excel(xl, index=False, sheet_name="Decisions")
            xl.sheets["Decisions"].freeze_panes = "C2"
            text_cells(xl.sheets["Decisions"])  # a title starting '=' stays text, never a formula

    for suffix in (".csv", ".xlsx"):
        final = folder / f"portfolio_decisions{suffix}"
        if suffix == ".csv":  # text a spreadsheet would run as a formula gets a leading '
            write_atomic(final, lambda tmp: neutralise_frame(table).to_csv(tmp, index=False, encoding="utf-8"),
                         private=False)
        else:
            write_atomic(final, xlsx, private=False)
        written.append(final)
    return written


def rules_name(pctx: Any) -> str:
    """The commissioning rules file in force: the configuration's own, else the packaged one."""
    path = getattr(pctx.cfg, "commissioning_rules_path", None)
    return path.name if path is not None else "commissioning_rules.yaml"


__all__ = ["portfolio_table", "decision_records", "decided_findings", "portfolio_verdict", "decision_reason",
           "section_method", "section_glossary", "category_changes", "export_table", "write_exports", "EXPORT_COLUMNS",
           "render_template", "cost_per_outcome", "reach_tables", "section_decisions", "section_forest",
           "natural_units", "natural_forest_panels",
           "section_value", "value_line", "published_participants",
           "section_reach", "section_commissioning"]
