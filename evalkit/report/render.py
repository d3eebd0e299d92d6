"""HTML for the per-intervention report sections, from :class:`InterventionAnalysis`.

:mod:`evalkit.report.sections` calls ``section_<name>(ctx)`` here; each returns HTML built from aggregates, plain
English first and detail after. Every count shown passes disclosure control
(:mod:`evalkit.report.disclosure`); shares whose numerator or its complement is
a small count are hidden too, since with the group size shown they would reveal
it. Figures are matplotlib, embedded as PNG.
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
import pandas as pd

from evalkit.analysis.results import InterventionAnalysis, OutcomeResult
from evalkit.report.disclosure import MARKER, is_small, safe_count, safe_flow, safe_steps
from evalkit.report.narrative import evidence_sentence, fmt_num

AREA = ("area_trend", "area_did")
CATEGORY_CLASS = {"expand": "good", "continue": "good", "improve_evidence": "neutral", "redesign": "warn",
                  "stop": "bad"}


def _e(text: Any) -> str:
    return html.escape(str(text))


def _fig(fig, alt: str) -> str:
    from evalkit.report.sections import figure_html

    return figure_html(fig, alt=alt)


def _analysis(ctx) -> InterventionAnalysis:
    return ctx.analysis


def _ci(lo: float, hi: float, digits: int = 1, unit: str = "") -> str:
    return f"{fmt_num(lo, digits)}{unit} to {fmt_num(hi, digits)}{unit}"


def _n(ctx, n: int) -> str:
    return safe_count(n, ctx.threshold)


def _is_percent(o: OutcomeResult) -> bool:
    return (o.design == "matched" and o.kind == "reoffending") or bool(o.extra.get("percent"))


def estimate_text(o: OutcomeResult) -> tuple[str, str]:
    """(estimate, interval) formatted in the outcome's own units."""
    e = o.estimate
    if _is_percent(o):
        return f"{100 * e.estimate:+.1f} points", _ci(100 * e.ci_low, 100 * e.ci_high, 1)
    if o.null == 1.0:
        return f"{e.estimate:.2f}", _ci(e.ci_low, e.ci_high, 2)
    if o.kind == "reoffending_frequency":
        return f"{e.estimate:+.2f}", _ci(e.ci_low, e.ci_high, 2)
    return f"{e.estimate:+.1f}", _ci(e.ci_low, e.ci_high, 1)


# --------------------------------------------------------------------------- headline
def section_headline(ctx) -> str | None:
    a = _analysis(ctx)
    if a.primary is None:
        return None
    p = a.primary
    cls = CATEGORY_CLASS.get(p.category, "neutral")
    if p.estimate is None:
        found = (f"<p class='big'>We could not estimate the effect on <b>{_e(p.label.lower())}</b>: "
                 f"{_e(p.reason)}.</p>")
    else:
        found = f"<p class='big'>{_e(_plain_verdict(ctx, p))}</p>"
        if p.per_100:
            found += f"<p class='per100'>{_e(p.per_100)}</p>"
    sure = evidence_sentence(p.sms, "")
    sig = {"improved": "The difference is statistically significant.",
           "worse": "The difference is statistically significant.",
           "inconclusive": "The result is not statistically significant: the evidence is inconclusive, which is "
                           "not the same as showing no effect.",
           "too few to tell": f"Fewer than {ctx.protocol.min_n_significance} young people contributed, so the "
                              "result cannot be called significant either way.",
           "could not be estimated": ""}[p.verdict]
    power = ""
    # Only where the result is inconclusive: there the sample size needed is the actionable fact. After a
    # significant result the same sentence would read as doubt about a finding the reader should act on.
    if math.isfinite(p.n_needed) and p.design not in AREA and p.verdict in ("inconclusive", "too few to tell"):
        power = (f" To detect a worthwhile effect ({_e(p.minimum_worthwhile)}) reliably, about "
                 f"{math.ceil(p.n_needed):,} young people per group would be needed; "
                 f"this evaluation had {_n(ctx, p.n)}.")
    facts = (f"<p><b>How sure can we be?</b> {_e(sure)} {_e(sig)}{power}</p>"
             f"<p class='category {cls}'><b>What it means for commissioning: {_e(p.category_label)}.</b> "
             f"{_e(p.category_meaning)} <span class='rule'>(rule: {_e(p.rule)})</span></p>")
    detail = f"<p class='small'>{_e(p.sentence)}</p>" if p.sentence else ""
    return found + _other_findings(ctx, a) + facts + detail


def _other_findings(ctx, a: InterventionAnalysis) -> str:
    """Significant results on other outcomes; a worsening is shown as a warning the reader cannot miss."""
    from evalkit.report.narrative import judge

    p = a.primary
    worse, better = [], []
    for o in a.outcomes:
        if not o.ok or (o.outcome == p.outcome and o.design == p.design) or o.design in AREA:
            continue
        e = o.estimate
        j = judge(e.estimate, e.ci_low, e.ci_high, null=o.null, higher_is_better=o.higher_is_better, n=o.n,
                  min_n=ctx.protocol.min_n_significance)
        if j.significant:
            est, ci = estimate_text(o)
            text = f"{o.label} ({o.design_label.lower()}, SMS {o.sms}): {est} ({ci})"
            (worse if j.direction == "harmful" else better).append(text)
    out = ""
    if worse:
        out += ("<p class='category bad'><b>Warning: significantly worse on "
                + "; ".join(_e(t) for t in worse) + ".</b> Review this before recommissioning, whatever the "
                "primary result.</p>")
    if better:
        out += "<p><b>Also significantly better:</b> " + "; ".join(_e(t) for t in better) + ".</p>"
    return out


#: How each design compares, as the opening words of the headline.
DESIGN_PHRASES = {
    "prepost": "Comparing young people's scores before and after taking part",
    "matched": "Compared with a matched group of similar young people who did not take part",
    "did": "Comparing the change in offending with that of a matched comparison group",
    "area_trend": "Compared with the years before the programme",
    "area_did": "Compared with similar districts where the programme did not run",
}


def _plain_verdict(ctx, p) -> str:
    """One plain sentence: what happened to the primary outcome, and against what."""
    label = p.label.split(" (")[0] if p.label else p.outcome
    label = label[0].lower() + label[1:] if len(label) > 1 and label[1].islower() else label
    how = DESIGN_PHRASES.get(p.design, p.design_label)
    if p.verdict == "improved":
        return f"{how}, {label} improved."
    if p.verdict == "worse":
        return f"{how}, {label} got worse."
    if p.verdict == "too few to tell":
        return f"Too few young people took part to tell whether {label} changed ({how[0].lower() + how[1:]})."
    direction = {"beneficial": "a possible improvement", "harmful": "a possible worsening"}.get(p.direction,
                                                                                                "no clear change")
    return f"{how}, the estimate for {label} points to {direction}, but the evidence is inconclusive."


# --------------------------------------------------------------------------- participation
def disclosed_steps(steps: list[tuple[str, int]], threshold: int) -> list[tuple[str, str]]:
    """Counts along the participation flow with small counts, and small differences, hidden.

    Each step is a count of young people and is hidden below the threshold. Two shown steps whose difference
    is 1 to threshold-1 would reveal that small group (those lost between them) by subtraction, so the later
    step is hidden too (:func:`evalkit.report.disclosure.safe_flow`; "Referred" rather than "Started in the
    period", which matters more). Steps labelled ``"<branch>: ..."`` form a
    branch from "Started in the period"; each is compared with its own branch's step before it.
    """
    return safe_flow(steps, threshold, parents=flow_parents([label for label, _ in steps]), spare_first=True)


def flow_parents(labels: list[str]) -> list[int | None]:
    """The parent step of each step of :func:`evalkit.analysis.runner.attrition_flow`'s flow."""
    parents: list[int | None] = []
    for k, label in enumerate(labels):
        if k == 0:
            parents.append(None)
        elif ":" not in label:
            parents.append(k - 1)
        else:
            branch = label.split(":")[0]
            same = k > 0 and ":" in labels[k - 1] and labels[k - 1].split(":")[0] == branch
            trunk = max((j for j in range(k) if ":" not in labels[j]), default=0)
            parents.append(k - 1 if same else trunk)
    return parents


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def section_participation(ctx) -> str | None:
    a = _analysis(ctx)
    if not a.attrition:
        return None
    from evalkit.report.plots import attrition_chevron

    shown = disclosed_steps(list(a.attrition), ctx.threshold)
    area_only = all(o.design in AREA for o in a.outcomes)
    note = ("<p>This is an area-wide programme: it is judged on whole districts' indicators, not on the young "
            "people recorded as taking part, who are counted here for completeness.</p>" if area_only else "")
    primary_branch = shown[: 2 + 2] if len(shown) >= 4 else shown
    chevron = _fig(attrition_chevron([(_cap(lab.split(": ")[-1]) if ":" in lab else lab, n)
                                      for lab, n in primary_branch]),
                   alt="Young people at each step")
    rows = "".join(f"<tr><td>{_e(lab)}</td><td class='num'>{_e(n)}</td></tr>" for lab, n in shown)
    chevron += _linkage_note(ctx)
    return (note + chevron + f"<table class='counts'><thead><tr><th>Step</th><th>Young people</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            f"<p class='small'>{MARKER}: hidden because the number, or the number lost since the step before, "
            f"is below {ctx.threshold}.</p>")


def _linkage_note(ctx) -> str:
    """The intervention's record-linkage rate, beside the chevron, when the data came through ``evalkit link``."""
    from evalkit.link.quality import linkage_sentence  # numpy and pandas only: Splink is not needed here

    text = linkage_sentence(ctx.data_src, ctx.protocol.intervention_id)
    return f"<p class='linkage'>{_e(text)}</p>" if text else ""


# --------------------------------------------------------------------------- profile
def section_profile(ctx) -> str | None:
    a = _analysis(ctx)
    if a.profile is None or a.profile.empty:
        return None
    prof = a.profile
    groups = list(dict.fromkeys(c[0] for c in prof.columns if isinstance(c, tuple)))
    head = "".join(f"<th>{_e(g)}</th>" for g in groups)
    ns = "".join(f"<td class='num'>{_n(ctx, int(prof[(g, 'n')].iloc[0]))}</td>" for g in groups)
    body = f"<tr><td><i>Young people</i></td>{ns}</tr>"
    hidden = profile_hidden(prof, groups, ctx.threshold)
    for i, r in enumerate(prof.itertuples(index=False)):
        r = dict(zip(prof.columns, r))
        cells = []
        for g in groups:
            v, k = r[(g, "value")], r[(g, "count")]
            if hidden[i][g]:
                cells.append(MARKER)
            elif isinstance(k, float) and math.isnan(k):
                cells.append(fmt_num(v, 1))
            else:
                cells.append(f"{100 * v:.0f}%")
        body += f"<tr><td>{_e(r['characteristic'])}</td>" + "".join(f"<td class='num'>{c}</td>" for c in cells) \
            + "</tr>"
    lead = ("<p>The matched comparison group should look like the participants; the whole pool shows how "
            "different the young people who were not referred were before matching.</p>")
    return (lead + f"<table class='counts'><thead><tr><th>Characteristic</th>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table><p class='small'>{MARKER}: hidden because fewer than {ctx.threshold} "
            "young people have (or do not have) the characteristic, or because it would reveal such a number "
            "with the other shares of the same characteristic.</p>")


def _variable(label: str) -> str | None:
    """Which categorical variable a profile row belongs to (its rows share one group size)."""
    if label in ("Male", "Female"):
        return "sex"
    if label.startswith("Ethnic group:"):
        return "ethnicity"
    return None


def profile_hidden(prof: pd.DataFrame, groups: list[str], threshold: int) -> list[dict[str, bool]]:
    """Which cells of the profile table to hide: shares that reveal a small count, and their complements.

    A share is hidden when its count, or the count without the characteristic, is small (with the group
    size shown, the share reveals both). Within one categorical variable (sex; ethnic group) the shares of
    a column add up to the group, less any category not listed: if exactly one entry is unknown to the
    reader (one hidden share, or only the unlisted remainder) and it is small or leaves a small rest, it
    could be worked out by subtraction, so the smallest shown share of that variable is hidden too.
    """
    labels = [str(x) for x in prof["characteristic"]]
    hidden = [{g: False for g in groups} for _ in labels]
    for g in groups:
        n = int(prof[(g, "n")].iloc[0]) if len(prof) else 0
        for i in range(len(labels)):
            k = prof[(g, "count")].iloc[i]
            if is_small(n, threshold):
                hidden[i][g] = True
            elif not (isinstance(k, float) and math.isnan(k)):
                hidden[i][g] = is_small(int(k), threshold) or is_small(n - int(k), threshold)
        for var in {_variable(lab) for lab in labels} - {None}:
            rows = [i for i, lab in enumerate(labels) if _variable(lab) == var]
            counts = {i: int(prof[(g, "count")].iloc[i]) for i in rows}
            rest = n - sum(counts.values())  # people in categories not listed
            while True:
                unknown = [counts[i] for i in rows if hidden[i][g]] + ([rest] if rest > 0 else [])
                if len(unknown) != 1 or not (is_small(unknown[0], threshold) or is_small(n - unknown[0], threshold)):
                    break
                shown = [i for i in rows if not hidden[i][g]]
                if not shown:
                    break
                hidden[min(shown, key=lambda i: (counts[i] == 0, counts[i], labels[i]))][g] = True
    return hidden


# --------------------------------------------------------------------------- design
def section_design(ctx) -> str:
    a = _analysis(ctx)
    from evalkit.report.sections import DESIGN_WORDS

    rows = []
    seen = set()
    for o in a.outcomes:
        if o.design in seen:
            continue
        seen.add(o.design)
        name, words = DESIGN_WORDS[o.design]
        got = [x for x in a.outcomes if x.design == o.design and x.ok]
        level = max((x.sms for x in got), default=None)
        why = next((x.evidence for x in got if x.sms == level), "") if got else "could not be estimated"
        rows.append(f"<tr><td><b>{_e(name)}</b></td><td>{_e(words)}</td>"
                    f"<td>{'level ' + str(level) if level else '–'}</td><td>{_e(why)}</td></tr>")
    return ("<table class='design'><thead><tr><th>Design</th><th>What it does</th><th>Evidence reached "
            "(Maryland SMS)</th><th>Why</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


# --------------------------------------------------------------------------- balance
def section_balance(ctx) -> str:
    a = _analysis(ctx)
    if not a.balance:
        return "<p>This evaluation has no matched comparison group, so there is no balance to check.</p>"
    from evalkit.designs.matching import love_plot

    parts = []
    for _, bal in a.balance:
        ok = bal.balanced
        lead = ("After matching, every recorded characteristic was within" if ok
                else "After matching, some characteristics still differed by more than")
        parts.append(f"<p>{lead} "
                     f"{bal.threshold:g} standard deviations between the groups"
                     f"{'' if ok else ': ' + _e(', '.join(bal.unbalanced))}.</p>")
        parts.append(_fig(love_plot(bal), alt="Balance before and after matching (love plot)"))
        table = pd.DataFrame([{"Covariate": r["covariate"], "Difference before": f"{r['diff_before']:+.2f}",
                               "Difference after": f"{r['diff_after']:+.2f}", "Reading": r["wwc_after"]}
                              for r in bal.table])
        parts.append("<details><summary>Balance table</summary>" + table.to_html(index=False, border=0)
                     + "<p class='small'>Standardised mean differences for numbers; differences in proportions for "
                       "yes/no characteristics. What Works Clearinghouse: up to 0.05 satisfies, up to 0.25 needs "
                       "adjustment (done here by regression), above 0.25 fails.</p></details>")
    return "".join(parts)


# --------------------------------------------------------------------------- results
def section_results(ctx) -> str:
    a = _analysis(ctx)
    parts = [_forest(a)] if sum(1 for o in a.outcomes if o.standardised is not None) > 1 else []
    for o in a.outcomes:
        parts.append(_outcome_block(ctx, o))
    return "".join(parts)


def _forest(a: InterventionAnalysis) -> str:
    from evalkit.report.plots import forest_plot

    rows = [{"label": f"{o.label} ({o.design_label.lower()})"[:70], "estimate": o.standardised.estimate,
             "ci_low": o.standardised.ci_low, "ci_high": o.standardised.ci_high,
             "annotation": f"SMS {o.sms}"} for o in a.outcomes if o.standardised is not None]
    return _fig(forest_plot(pd.DataFrame(rows), colour_by=None, title="All outcomes on one scale"),
                alt="Standardised effects of every outcome")


def _outcome_block(ctx, o: OutcomeResult) -> str:
    tag = " (primary outcome)" if o.primary else ""
    head = f"<h3>{_e(o.label)} — {_e(o.design_label.lower())}{tag}</h3>"
    if not o.ok:
        return head + f"<p class='failed'>Could not be estimated: {_e(o.reason)}.</p>"
    est, ci = estimate_text(o)
    level = round(100 * (1 - ctx.protocol.alpha))
    n_txt = _n(ctx, o.n) if o.design not in AREA else f"{_n(ctx, o.n)} events"
    table = (f"<table class='kv'><tr><td>Estimate ({_e(o.estimate.scale)})</td><td>{_e(est)}</td></tr>"
             f"<tr><td>{level}% confidence interval</td><td>{_e(ci)}</td></tr>"
             + (f"<tr><td>Standardised effect</td><td>{o.standardised.estimate:+.2f} "
                f"({_ci(o.standardised.ci_low, o.standardised.ci_high, 2)})</td></tr>"
                if o.standardised is not None else "")
             + f"<tr><td>{'Participants' if o.design not in AREA else 'Events in the programme areas'}</td>"
               f"<td>{n_txt}</td></tr>"
             + (f"<tr><td>Comparison group</td><td>{_n(ctx, o.n_comparison)}</td></tr>" if o.n_comparison else "")
             + f"<tr><td>Evidence</td><td>Maryland SMS level {o.sms}: {_e(o.evidence)}</td></tr></table>")
    small_cells = _small_event_counts(ctx, o)
    per100 = o.per_100 if o.per_100 and not small_cells else None
    body = f"<p>{_e(o.sentence)}</p>" + (f"<p class='per100'>{_e(per100)}</p>" if per100 else "")
    fig = "" if small_cells else _outcome_figure(ctx, o)
    if small_cells:
        body += (f"<p class='small'>The rates and curves are not shown: fewer than {ctx.threshold} young people "
                 "in a group had (or did not have) the outcome, and showing them would reveal that number.</p>")
    notes = ([f"Method: {o.estimate.method}"] if o.estimate.method else []) + list(o.warnings)
    items = "".join(f"<li>{_e(w)}</li>" for w in notes)
    return head + body + fig + table + (f"<details><summary>Method and notes</summary><ul>{items}</ul></details>"
                                        if items else "")


def _small_event_counts(ctx, o: OutcomeResult) -> bool:
    """Whether showing rates, per-100 numbers or survival curves would reveal a small count of people."""
    t = ctx.threshold
    if o.design == "matched" and o.kind == "time_to_reoffend":
        r = o.result
        return any(is_small(k, t) or is_small(n - k, t) for k, n in ((r.events_treated, r.n_treated),
                                                                       (r.events_control, r.n_control)))
    if o.design == "matched" and "rates" in o.extra:
        k = round(o.extra["rates"]["participants"] * o.n)
        return is_small(k, t) or is_small(o.n - k, t)
    if o.design == "did" and o.extra.get("percent"):
        # each cell's share of person-periods with an offence, times its size, is a count
        for c in getattr(o.result, "cells", ()):
            size = c.sum_weights or c.n_obs
            k = round(c.mean * size)
            if is_small(k, t) or is_small(round(size) - k, t):
                return True
    return False


def _outcome_figure(ctx, o: OutcomeResult) -> str:
    import matplotlib.pyplot as plt

    try:
        if o.design == "prepost" and not o.extra.get("binary"):
            return _fig(_prepost_plot(o), alt=f"{o.label}: average before and after")
        if o.design == "matched" and o.kind == "time_to_reoffend":
            return _fig(_km_plot(o, ctx.threshold), alt=f"{o.label}: share not yet reoffended")
        if o.design == "matched" and o.kind == "reoffending" and "rates" in o.extra:
            return _fig(_rates_plot(o), alt=f"{o.label}: participants against the estimate without the intervention")
        if o.design == "did":
            return _fig(_did_plot(o), alt=f"{o.label}: before and after, both groups")
        if o.design == "area_trend" and o.extra.get("its") is not None:
            from evalkit.designs.area import its_plot

            return _fig(its_plot(o.extra["its"]), alt=f"{o.label}: monthly rate and trend")
        if o.design == "area_did":
            from evalkit.designs.area import event_study_plot

            return _fig(event_study_plot(o.result), alt=f"{o.label}: programme against comparison districts")
    except Exception:  # a figure must never stop the report  # noqa: BLE001
        plt.close("all")
    return ""


def _prepost_plot(o: OutcomeResult):
    import matplotlib.pyplot as plt
    from scipy import stats

    r = o.result
    n = r.n_pairs
    t = stats.t.ppf(0.975, max(n - 1, 1))
    means = [r.pre_mean, r.post_mean]
    errs = [t * r.pre_sd / math.sqrt(n), t * r.post_sd / math.sqrt(n)]
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.errorbar([0, 1], means, yerr=errs, fmt="o-", color="#0072B2", capsize=6, lw=2)
    ax.set_xticks([0, 1], ["At the start", "At the end"])
    ax.set_xlim(-0.4, 1.4)
    ax.set_ylabel("Average score")
    better = "higher is better" if o.higher_is_better else "lower is better"
    ax.set_title(f"Average score with 95% interval ({better})", loc="left", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def _rates_plot(o: OutcomeResult):
    import matplotlib.pyplot as plt

    r = o.extra["rates"]
    fig, ax = plt.subplots(figsize=(5.5, 2.4))
    vals = [100 * r["participants"], 100 * r["counterfactual"]]
    ax.barh([1, 0], vals, color=["#0072B2", "#999999"])
    ax.set_yticks([1, 0], ["Participants", "Estimated without\nthe intervention"])
    for y, v in zip([1, 0], vals):
        ax.text(v + 1, y, f"{v:.0f} in 100", va="center", fontsize=9)
    ax.set_xlim(0, max(vals) * 1.35 + 5)
    ax.set_xlabel("Young people per 100 with a proven reoffence")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def km_points(times: np.ndarray, survival: np.ndarray, n: int, threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """The points of a survival curve that may be drawn without revealing a small count of events.

    Follow-up is complete up to the last grid time (those without it are left out of the sample), so
    ``n * (1 - S(t))`` is the number who have had the event by ``t`` (for the weighted comparison curve,
    its weighted equivalent). Only points where each step down covers at least ``threshold`` of them are
    kept (:func:`evalkit.report.disclosure.safe_steps`).
    """
    keep = safe_steps(n * (1 - np.asarray(survival, dtype=float)), threshold)
    t = np.concatenate([[0.0], np.asarray(times, dtype=float)[keep]])
    s = np.concatenate([[1.0], np.asarray(survival, dtype=float)[keep]])
    return t, s


def _km_plot(o: OutcomeResult, threshold: int = 10):
    import matplotlib.pyplot as plt

    curves = o.result.curves_frame()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for col, lab, c, n in (("survival_participants", "Participants", "#0072B2", o.result.n_treated),
                           ("survival_comparison", "Matched comparison", "#999999", o.result.n_control)):
        if col in curves:
            t, s = km_points(curves["time"].to_numpy(), curves[col].to_numpy(), n, threshold)
            # straight lines between the points kept: when in between people reoffended is not shown
            ax.plot(t / 30.4375, 100 * s, "o-", label=lab, color=c, lw=2, ms=4)
    ax.set_xlabel("Months since the start")
    ax.set_ylabel("% not yet reoffended")
    ax.set_title(f"Points at least {threshold} young people apart (disclosure control)", loc="left", fontsize=8)
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def _did_plot(o: OutcomeResult):
    import matplotlib.pyplot as plt

    cells = {(c.group, c.period): c.mean for c in o.result.cells}
    scale = 100 if o.extra.get("percent") else 1
    fig, ax = plt.subplots(figsize=(5, 3))
    for g, lab, c in (("treated", "Participants", "#0072B2"), ("comparison", "Matched comparison", "#999999")):
        ys = [scale * cells.get((g, "before"), math.nan), scale * cells.get((g, "after"), math.nan)]
        ax.plot([0, 1], ys, "o-", color=c, label=lab, lw=2)
    ax.set_xticks([0, 1], ["Before the start", "After the start"])
    ax.set_ylabel("% with a proven offence per period" if scale == 100 else "Offences per period")
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- subgroups, sensitivity, limitations
def section_subgroups(ctx) -> str:
    a = _analysis(ctx)
    if not a.subgroups:
        return "<p>No subgroup analysis applies to this evaluation's primary result.</p>"
    parts = ["<p>Results in small groups are uncertain; a difference between groups is not evidence that the "
             "intervention works differently for them unless the intervals barely overlap.</p>"]
    for s in a.subgroups:
        parts.append(f"<h3>By {_e(s.variable.replace('_', ' '))}</h3>")
        if s.suppressed_reason:
            parts.append(f"<p class='pending'>{_e(s.suppressed_reason[0].upper() + s.suppressed_reason[1:])}.</p>")
            continue
        unit = " (percentage points)" if "reoffending" in s.outcome.lower() and "matched" in s.design_label.lower() \
            else " (points)"
        rows = "".join(f"<tr><td>{_e(r['group'])}</td><td class='num'>{_n(ctx, r['n'])}</td>"
                       f"<td class='num'>{r['estimate']:+.1f}</td><td>{_ci(r['ci_low'], r['ci_high'])}</td>"
                       f"<td>{_e(r['verdict'])}</td></tr>" for r in s.rows)
        parts.append(f"<table class='counts'><thead><tr><th>Group</th><th>Young people</th><th>Estimate{unit}"
                     f"</th><th>95% interval</th><th>Reading</th></tr></thead><tbody>{rows}</tbody></table>")
    return "".join(parts)


def section_sensitivity(ctx) -> str:
    a = _analysis(ctx)
    if not a.sensitivity:
        return "<p>No sensitivity analysis applies to these designs.</p>"
    items = "".join(f"<li><b>{_e(h)}</b>: {_e(t)}</li>" for h, t in a.sensitivity)
    return f"<ul>{items}</ul>"


def section_limitations(ctx) -> str:
    a = _analysis(ctx)
    if not a.limitations:
        return "<p>No particular limitations were found in the diagnostics.</p>"
    return "<ul>" + "".join(f"<li>{_e(t)}</li>" for t in a.limitations) + "</ul>"


def section_appendix(ctx) -> str:
    a = _analysis(ctx)
    std = sorted({o.standardisation for o in a.outcomes if o.standardisation})
    rows = "".join(f"<li>{_e(s)}</li>" for s in std)
    return ("<h3>How the primary finding is chosen and standardised</h3><p>The protocol's first primary outcome, "
            "from the strongest design that estimated it (Maryland SMS). Positive standardised effects are better "
            "for young people.</p>" + (f"<ul>{rows}</ul>" if rows else "")
            + "<p>Significant only when the interval excludes no effect and at least "
            f"{ctx.protocol.min_n_significance} young people contributed. The minimum worthwhile effect is a "
            "standardised 0.2 (Cohen's small effect).</p>")


__all__ = ["section_headline", "section_participation", "section_profile", "section_design", "section_balance",
           "section_results", "section_subgroups", "section_sensitivity", "section_limitations", "section_appendix",
           "disclosed_steps", "estimate_text"]
