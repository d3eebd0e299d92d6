"""HTML for the per-intervention report sections, from :class:`InterventionAnalysis`.

:mod:`evalkit.report.sections` calls the ``section_*`` functions here; each returns HTML built from aggregates, plain
English first and detail after. Every count shown passes disclosure control
(:mod:`evalkit.report.disclosure`); shares whose numerator or its complement is
a small count are hidden too, since with the group size shown they would reveal
it. Figures are matplotlib, embedded as PNG.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import html
import math
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from evalkit.analysis.commissioning import adjust_pvalues, load_rules
from evalkit.analysis.narrative import evidence_sentence, fmt_num, judge
from evalkit.analysis.designs import min_n
from evalkit.analysis.results import InterventionAnalysis, OutcomeResult, PrimaryResult
from evalkit.designs.area import its_plot
from evalkit.designs.matching import love_plot
from evalkit.labels import AREA_DESIGNS, design_phrase, design_words
from evalkit.report.common import figure_html
from evalkit.report.context import ReportContext
from evalkit.report.disclosure import (MARKER, Count, PublishedCounts, is_small, safe_flow, safe_steps,
                                       suppress_counts)
from evalkit.report.ledger import Ledger, audit
from evalkit.report.narrative import MINUS, category_reason, plain_text, reader_reason, signed
from evalkit.report.plots import attrition_chevron, forest_plot, readable_event_study, retitle
from evalkit.results import Estimate

AREA = AREA_DESIGNS
CATEGORY_CLASS = {"expand": "good", "expand_replicating": "good", "stronger_design": "warn", "continue": "good",
                  "improve_evidence": "neutral", "redesign": "warn", "stop": "bad", "before_after_only": "neutral", "safeguarding_review": "bad", "context": "neutral"}


def _e(text: Any) -> str:
    return html.escape(str(text))


def _fig(fig: Figure, alt: str) -> str:
    return figure_html(fig, alt=alt)


def _analysis(ctx: ReportContext) -> InterventionAnalysis:
    return ctx.analysis


def _ci(lo: float, hi: float, digits: int = 1, unit: str = "") -> str:
    """'−21.8 to −2.2' (true minus signs, as in the headline's numbers)."""
    def num(x: float) -> str:
        return fmt_num(x, digits).replace("-", MINUS, 1)
    return f"{num(lo)}{unit} to {num(hi)}{unit}"


def _n(ctx: ReportContext, n: int) -> str:
    return published(ctx).show(n)


# --------------------------------------------------------------------------- the counts a report publishes
def _controlled(section):
    """Pass a section's HTML through the report's published counts: no sentence prints a withheld count."""
    @functools.wraps(section)
    def wrapper(ctx: ReportContext):
        body = section(ctx)
        return None if body is None else published(ctx).html(body)
    return wrapper


def published(ctx: ReportContext) -> PublishedCounts:
    """The report's one set of published numbers (:func:`report_counts`, audited as one ledger), decided once
    per report: the participation flow, samples, profile shares, subgroups and the delivery section's dose
    table all read from it."""
    cached = getattr(ctx, "_published", None)
    if cached is None:
        from evalkit.report.delivery import delivery  # the delivery aggregates (dose bands) of this report

        a = _analysis(ctx)
        exact = tuple(x for d in ctx.protocol.designs if d.type == "matched" for x in getattr(d, "exact", ()) or ())
        # a bare context (tests) has no data tables, so no delivery section to register
        imp = delivery(ctx) if a.attrition and getattr(ctx, "tables", None) is not None else None
        cached = report_counts(a, ctx.threshold, delivery=imp, exact=exact)
        ctx._published = cached  # type: ignore[attr-defined]  # a per-report cache on the context
    return cached


#: Which count stays shown when one of two must go: the primary result's sample first, then who started.
PRIORITY = {"primary": 4, "started": 3, "outcome": 2, "step": 1, "referred": 0}

#: Profile rows whose shares are counts of people (the rest are averages), by the matching column they describe.
PROFILE_COLUMNS = {"Male": "sex", "Female": "sex"}


def report_ledger(a: InterventionAnalysis, threshold: int, *, delivery: Any = None,
                  exact: tuple[str, ...] = ()) -> Ledger:
    """Every number of people a report on ``a`` prints, with how they relate (:mod:`evalkit.report.ledger`).

    * the participation flow, each step a subset of its parent step;
    * each outcome's participants (a subset of those who started; for before-and-after results of those with
      a baseline) and comparison group (of the whole comparison pool);
    * the profile's group sizes (the matched participants are the flow's matched step) and every share of a
      characteristic, with its base; categories of one variable (sex, ethnic group) are parts of the group,
      and where the design matches exactly on a variable the comparison group's printed share is the
      participants' share (exact matching copies it);
    * the subgroups, adding up to the primary result's participants;
    * the delivery section's dose bands, adding up to those with a measured outcome (within who started,
      and containing the flow's complete follow-up or questionnaire step of the same size), each with its
      share who had the outcome.
    """
    led = Ledger(threshold=threshold)
    has: set[str] = set()

    def add(key: str, value: int | float | None, parent: str | None, priority: int, *, published: bool = True) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return key
        if key not in has:
            has.add(key)
            led.count(key, int(value), priority=priority, published=published)
            if parent in has:
                led.subset(key, parent)
        return key

    steps = list(a.attrition)
    parents = flow_parents([label for label, _ in steps])
    started = None
    matched_step = None
    for k, (label, n) in enumerate(steps):
        kind = "referred" if k == 0 else "started" if label == "Started in the period" else "step"
        up = parents[k]
        key = add(f"step:{label}", n, f"step:{steps[up][0]}" if up is not None else None, PRIORITY[kind])
        started = key if kind == "started" else started
        matched_step = key if label.startswith("Offending: matched") else matched_step
    pool = None
    if a.profile is not None and not a.profile.empty:
        pool = _profile_entries(led, add, a.profile, started, matched_step, exact)
    primary_key = None
    for o in a.outcomes:
        if not o.ok:
            continue
        if o.design in AREA:  # events in the programme districts, not people; small ones still hidden
            add(f"events:{o.design}:{o.outcome}", o.n, None, PRIORITY["step"])
            continue
        parent = started
        attrition = getattr(o.result, "attrition", None)
        if o.design == "prepost" and attrition is not None:
            parent = add(f"baseline:{o.outcome}", attrition.n_baseline, started, PRIORITY["step"])
        is_primary = a.primary is not None and o.outcome == a.primary.outcome and o.design == a.primary.design
        key = add(f"n:{o.design}:{o.outcome}", o.n, parent, PRIORITY["primary" if is_primary else "outcome"])
        # the flow counts the same people: the matched step, or the questionnaire's steps
        same = {"matched": ("Offending: matched",), "prepost": (": at the start and the end",)}.get(o.design, ())
        for label, n in steps:
            if int(n) == o.n and any(w in label for w in same):
                led.equal(key, f"step:{label}")
            if o.design == "prepost" and attrition is not None and label.endswith(": at the start") and \
                    int(n) == int(attrition.n_baseline):
                led.equal(f"baseline:{o.outcome}", f"step:{label}")
        primary_key = key if is_primary else primary_key
        if o.details.dose_bands:  # an engagement outcome's sessions attended: bands adding up to its sample
            bands = [add(f"sessions:{o.outcome}:{band}", n, key, PRIORITY["step"]) for band, n in o.details.dose_bands]
            if sum(int(n) for _, n in o.details.dose_bands) == o.n:
                led.partition(key, bands)
        if o.n_comparison:
            add(f"comparison:{o.design}:{o.outcome}", o.n_comparison, pool, PRIORITY["outcome"])
    for s in a.subgroups:
        if not s.rows or primary_key is None:
            continue
        parts = [add(f"subgroup:{s.variable}:{r['group']}", r["n"], primary_key, PRIORITY["step"]) for r in s.rows]
        if sum(int(r["n"]) for r in s.rows) == led.entries[primary_key].value:
            led.partition(primary_key, parts)
    if delivery is not None:
        _delivery_entries(led, add, delivery, started)
        if delivery.dose_response:
            _dose_entries(led, add, delivery, steps, started)
    return led


def _delivery_entries(led: Ledger, add, delivery: Any, started: str | None) -> None:
    """The delivery section's shares of those who started (completed, a full dose, referred on) and its reach
    tables (every participant once per table, by group: a partition of those who started, each with its share)."""
    if started is None or led.entries[started].value != delivery.started:
        return
    for name, share in (("completed", delivery.completed), ("full dose", delivery.reached_min),
                        ("referred on", delivery.onward)):
        if share is not None and share.n == delivery.started:
            k = add(f"delivery:{name}:count", share.k, started, PRIORITY["step"], published=False)
            led.share(f"delivery:{name}", k, started)
    for table, groups in delivery.reach.items():
        parts = []
        for level, k, *_ in groups:
            key = add(f"reach:{table}:{level}", k, started, PRIORITY["referred"])
            parts.append(key)
            led.share(f"reach:{table}:{level}:share", key, started)
        if sum(int(g[1]) for g in groups) == delivery.started:
            led.partition(started, parts)


def _profile_entries(led: Ledger, add, prof: pd.DataFrame, started: str | None, matched_step: str | None,
                     exact: tuple[str, ...]) -> str | None:
    """The profile table's numbers in the ledger; returns the comparison pool's key."""
    groups = list(dict.fromkeys(c[0] for c in prof.columns if isinstance(c, tuple)))
    pool_group = next((g for g in groups if "pool" in g.lower()), None)
    pool = add(f"profile:{pool_group}", prof[(pool_group, "n")].iloc[0], None, PRIORITY["step"]) if pool_group \
        else None
    comparison_group = next((g for g in groups if g != pool_group and "comparison" in g.lower()), None)
    part_group = next((g for g in groups if g not in (pool_group, comparison_group)), None)
    for g in groups:
        if g != pool_group:
            key = add(f"profile:{g}", prof[(g, "n")].iloc[0], pool if g == comparison_group else started,
                      PRIORITY["step"])
            if g == part_group and matched_step is not None and \
                    led.entries[key].value == led.entries[matched_step].value:
                led.equal(key, matched_step)  # the matched participants are the flow's matched step
    labels = [str(x) for x in prof["characteristic"]]
    by_var: dict[tuple[str, str], list[str]] = {}
    for i, label in enumerate(labels):
        for g in groups:
            k, v = prof[(g, "count")].iloc[i], prof[(g, "value")].iloc[i]
            if isinstance(k, float) and math.isnan(k):
                continue  # an average, not a share of people
            base = f"profile:{g}"
            num = add(f"profile:{g}:{label}:count", int(k), None, PRIORITY["step"], published=False)
            led.subset(num, base)
            var = _variable(label)
            if var is not None:
                by_var.setdefault((g, var), []).append(num)
            n = led.entries[base].value
            key = f"profile:{g}:{label}"
            if g == comparison_group and (var or "") in exact and part_group is not None:
                # exact matching: the comparison group's share is the matched participants' share
                led.share(key, f"profile:{part_group}:{label}:count", f"profile:{part_group}", value=float(v))
            elif n and abs(int(k) / n - float(v)) < 0.005:
                led.share(key, num, base, value=float(v))
            else:  # a weighted share (matching with replacement): no whole-number reading of it
                led.share(key, num, base, value=float(v), weighted=True)
    for (g, _), nums in by_var.items():
        base = f"profile:{g}"
        total = sum(led.entries[x].value for x in nums)
        led.partition(base, nums, complete=total == led.entries[base].value)
    return pool


def _dose_entries(led: Ledger, add, delivery: Any, steps: list[tuple[str, int]], started: str | None) -> None:
    """The dose table: bands adding up to those with a measured outcome, each with its share with the outcome."""
    from evalkit.implementation import Share

    ns = [val.n if isinstance(val, Share) else int(val[3]) for _, val in delivery.dose_response]
    total = add("dose:measured", sum(ns), started, PRIORITY["step"])
    for label, n in steps:  # the flow step counting the same people (complete follow-up; both questionnaires)
        if int(n) == sum(ns) and (label.startswith("Offending: complete") or label.endswith("the start and the end")):
            led.equal(total, f"step:{label}")
    parts = []
    for i, (_, val) in enumerate(delivery.dose_response):
        band = add(f"dose:band:{i}", ns[i], total, PRIORITY["step"])
        parts.append(band)
        if isinstance(val, Share) and val.n:
            k = add(f"dose:band:{i}:outcome", val.k, band, PRIORITY["step"], published=False)
            led.share(f"dose:band:{i}:share", k, band)
    led.partition(total, parts)
    if delivery.dose_model is not None:
        add("dose:model", delivery.dose_model.n, started, PRIORITY["step"])
        if delivery.dose_model.n == sum(ns):
            led.equal("dose:model", total)


def report_counts(a: InterventionAnalysis, threshold: int, *, delivery: Any = None,
                  exact: tuple[str, ...] = ()) -> PublishedCounts:
    """The audited ledger of a report on ``a`` (:func:`report_ledger`, :func:`evalkit.report.ledger.audit`) as
    the report's published counts: every printed count of people asks it (by key, or by value for the
    sentences' last line of defence)."""
    led = report_ledger(a, threshold, delivery=delivery, exact=exact)
    pub = audit(led)
    counts = tuple(Count(k, int(x.value), None, x.priority) for k, x in led.entries.items()
                   if x.kind == "count" and k not in led.unpublished)
    hidden = frozenset(c.key for c in counts if pub.hidden(c.key))
    return PublishedCounts(threshold=threshold, counts=counts, hidden_keys=hidden, ledger=pub)


def _is_percent(o: OutcomeResult) -> bool:
    return (o.design == "matched" and o.kind == "reoffending") or o.details.percent


def _estimate(o: OutcomeResult) -> Estimate:
    """The estimate of a result that was estimated (callers check ``o.ok`` first)."""
    if o.estimate is None:
        raise ValueError(f"{o.label}: no estimate to show ({o.reason})")
    return o.estimate


def estimate_text(o: OutcomeResult) -> tuple[str, str]:
    """(estimate, interval) formatted in the outcome's own units."""
    e = _estimate(o)
    if o.design == "engagement":  # a level, not a change: no sign
        if e.scale != "mean sessions attended":
            return f"{100 * e.estimate:.0f}%", _ci(100 * e.ci_low, 100 * e.ci_high, 0, "%")
        return f"{e.estimate:.1f} sessions", _ci(e.ci_low, e.ci_high, 1)
    if _is_percent(o):
        return f"{signed(100 * e.estimate)} percentage points", _ci(100 * e.ci_low, 100 * e.ci_high, 1)
    if o.null == 1.0:
        return f"{e.estimate:.2f}", _ci(e.ci_low, e.ci_high, 2)
    if o.kind == "reoffending_frequency":
        return f"{signed(e.estimate, 2)} per person", _ci(e.ci_low, e.ci_high, 2)
    return signed(e.estimate), _ci(e.ci_low, e.ci_high, 1)


# --------------------------------------------------------------------------- headline
@_controlled
def section_headline(ctx: ReportContext) -> str | None:
    a = _analysis(ctx)
    if a.primary is None:
        return None
    p = a.primary
    cls = CATEGORY_CLASS.get(p.category, "neutral")
    if p.estimate is None:
        found = (f"<p class='big'>We could not estimate the effect on <b>{_e(p.label[:1].lower() + p.label[1:])}</b>: "
                 f"{_e(p.reason)}.</p>")
    else:
        found = f"<p class='big'>{_e(_plain_verdict(ctx, p))}</p>"
        if p.per_100:
            found += f"<p class='per100'>{_e(p.per_100)}</p>"
    sure = evidence_sentence(p.sms, "", area=p.design in AREA)
    if p.design == "engagement":
        found = f"<p class='big'>{_e(p.sentence)}</p>" if p.estimate is not None else found
        p = replace(p, sentence="", verdict="could not be estimated")  # attendance is not an effect to judge
        sure = ("This describes attendance only: with no comparison group it cannot show whether the programme "
                "changed anything.")
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
    why = category_reason(p.category, p.category_meaning, verdict=p.verdict, design=p.design, sms=p.sms,
                          n_text=_n(ctx, p.n), n_needed=p.n_needed, min_n=min_n(ctx.protocol),
                          localities=_places(ctx))
    facts = (f"<p><b>How sure can we be?</b> {_e(sure)} {_e(sig)}{power}</p>"
             f"<p class='category {cls}'><b>What it means for commissioning: {_e(p.category_label)}.</b> "
             f"{_e(why)}</p>"
             + _decision_notes(p))
    detail = f"<p class='small'>{_e(p.sentence)}</p>" if p.sentence else ""
    return found + _other_findings(ctx, a) + value_line(a) + facts + plan_line(ctx) + detail


def plan_line(ctx) -> str:
    """Whether the analysis plan was locked before the data were first loaded (evalkit lock)."""
    from evalkit.lock import lock_status

    path = getattr(ctx, "protocol_path", None)
    if path is None:
        return ""
    status = lock_status(path, ctx.protocol, getattr(ctx, "data_src", None))
    return f"<p class='small'><b>Was the plan fixed in advance?</b> {_e(status.sentence())}</p>"


def value_line(a: InterventionAnalysis) -> str:
    """The value-for-money line of the "What we found" box (evalkit.value; a range when inconclusive)."""
    v = getattr(a, "value", None)
    if v is None:
        return ""
    how = ""
    if hasattr(v, "assumptions"):
        how = (f"<details class='small'><summary>How the value was worked out</summary><p>{_e(v.assumptions())} "
               f"Source: {_e(v.source)}</p></details>")
    return f"<p class='value'><b>Value for money:</b> {_e(v.line())}</p>{how}"


def _decision_notes(p: PrimaryResult) -> str:
    """The probability of a worthwhile benefit, and how the portfolio re-judges the category."""
    f = p.finding or {}
    parts = []
    pw, mwe = f.get("p_worthwhile"), f.get("mwe")
    if pw is not None and mwe is not None and p.verdict != "too few to tell":
        parts.append(f"Chance that the true effect is at least the smallest worthwhile effect ({p.minimum_worthwhile}): "
                     f"about {100 * pw:.0f}% (a rough guide from the interval, not a guarantee).")
    if not f.get("area_wide"):
        parts.append("This category judges the intervention alone. The portfolio summary judges every primary result "
                     "together, allowing for the number of interventions tested at once, so its category can be "
                     "more cautious.")
    return "<p class='small'>" + " ".join(_e(t) for t in parts) + "</p>" if parts else ""


def _other_findings(ctx: ReportContext, a: InterventionAnalysis) -> str:
    """Significant results on other outcomes; a worsening is shown as a warning the reader cannot miss.

    The secondary outcomes are judged together: a result counts only if it stays significant after
    false-discovery control across them (:func:`evalkit.analysis.commissioning.adjust_pvalues`).
    """
    p = a.primary
    worse: list[str] = []
    better: list[str] = []
    others = [o for o in a.outcomes if o.ok and o.design not in AREA
              and not (p is not None and o.outcome == p.outcome and o.design == p.design)]
    q = adjust_pvalues([_estimate(o).p_value for o in others], load_rules().secondary_multiplicity)
    for o, qi in zip(others, q):
        e = _estimate(o)
        j = judge(e.estimate, e.ci_low, e.ci_high, null=o.null, higher_is_better=o.higher_is_better, n=o.n,
                  min_n=min_n(ctx.protocol))
        if j.significant and math.isfinite(qi) and qi < ctx.protocol.alpha:
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


def _plain_verdict(ctx: ReportContext, p: PrimaryResult) -> str:
    """One plain sentence: what happened to the primary outcome, and against what."""
    label = p.label.split(" (")[0] if p.label else p.outcome
    label = label[0].lower() + label[1:] if len(label) > 1 and label[1].islower() else label
    how = design_phrase(p.design, getattr(ctx, "cfg", None), p.design_label)
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


@_controlled
def section_participation(ctx: ReportContext) -> str | None:
    a = _analysis(ctx)
    if not a.attrition:
        return None
    counts = published(ctx)
    shown = [(label, counts.shown(f"step:{label}")) for label, _ in a.attrition]
    area_only = all(o.design in AREA for o in a.outcomes)
    note = (f"<p>This is an area-wide programme: it is judged on whole {_places(ctx)}' indicators, not on the young "
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
            f"is below {ctx.threshold}, or because with another count in this report it would give such a number "
            "away.</p>")


def _places(ctx) -> str:
    """The VRU's own word for its districts (configuration ``area_words.localities``)."""
    cfg = getattr(ctx, "cfg", None)
    return cfg.area_words.localities if cfg is not None else "districts"


def _linkage_note(ctx) -> str:
    """The intervention's record-linkage rate, beside the chevron, when the data came through ``evalkit link``."""
    from evalkit.link.quality import linkage_sentence  # numpy and pandas only: Splink is not needed here

    src = getattr(ctx, "data_src", None)  # a bare context (tests) has no data source: no linkage to report
    text = linkage_sentence(src, ctx.protocol.intervention_id) if src is not None else ""
    return f"<p class='linkage'>{_e(text)}</p>" if text else ""


# --------------------------------------------------------------------------- profile
@_controlled
def section_profile(ctx: ReportContext) -> str | None:
    a = _analysis(ctx)
    if a.profile is None or a.profile.empty:
        return None
    prof = a.profile
    groups = list(dict.fromkeys(c[0] for c in prof.columns if isinstance(c, tuple)))
    head = "".join(f"<th>{_e(g)}</th>" for g in groups)
    pub = published(ctx)
    ns = "".join(f"<td class='num'>{pub.shown(f'profile:{g}')}</td>" for g in groups)
    body = f"<tr><td><i>Young people</i></td>{ns}</tr>"
    for r in prof.itertuples(index=False):
        r = dict(zip(prof.columns, r))
        cells = []
        for g in groups:
            v, k = r[(g, "value")], r[(g, "count")]
            if isinstance(k, float) and math.isnan(k):  # an average: hidden only with its group's size
                cells.append(MARKER if pub.hides(int(prof[(g, "n")].iloc[0])) else fmt_num(v, 1))
            else:  # a share of people, as the audited ledger prints it
                cells.append(pub.entry_text(f"profile:{g}:{r['characteristic']}") or MARKER)
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
@_controlled
def section_design(ctx: ReportContext) -> str:
    a = _analysis(ctx)
    rows = []
    seen = set()
    for o in a.outcomes:
        if o.design in seen:
            continue
        seen.add(o.design)
        name, words = design_words(o.design, getattr(ctx, "cfg", None))
        got = [x for x in a.outcomes if x.design == o.design and x.ok]
        level = max((x.sms for x in got), default=None)
        why = next((x.evidence for x in got if x.sms == level), "") if got else "could not be estimated"
        rows.append(f"<tr><td><b>{_e(name)}</b></td><td>{_e(words)}</td>"
                    f"<td>{'level ' + str(level) if level else '–'}</td><td>{_e(why)}</td></tr>")
    return ("<table class='design'><thead><tr><th>Design</th><th>What it does</th><th>Evidence reached "
            "(Maryland SMS)</th><th>Why</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


# --------------------------------------------------------------------------- balance
@_controlled
def section_balance(ctx: ReportContext) -> str:
    a = _analysis(ctx)
    if not a.balance:
        return "<p>This evaluation has no matched comparison group, so there is no balance to check.</p>"
    parts = []
    for _, bal in a.balance:
        ok = bal.balanced
        lead = ("After matching, every recorded characteristic was within" if ok
                else "After matching, some characteristics still differed by more than")
        parts.append(f"<p>{lead} "
                     f"{bal.threshold:g} standard deviations between the groups"
                     f"{'' if ok else ': ' + _e(', '.join(_covariate(c) for c in bal.unbalanced))}.</p>")
        fig = love_plot(bal)
        ax = fig.axes[0]
        ax.set_yticks(ax.get_yticks(), [_covariate(t.get_text()) for t in ax.get_yticklabels()])
        # the legend above the plot, not over the points
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, frameon=False, fontsize=8)
        fig.tight_layout()
        parts.append(_fig(fig, alt="Balance before and after matching (love plot)"))
        table = pd.DataFrame([{"Characteristic": _covariate(r["covariate"]),
                               "Difference before": f"{signed(r['diff_before'], 2)}",
                               "Difference after": f"{signed(r['diff_after'], 2)}", "Reading": r["wwc_after"]}
                              for r in bal.table])
        parts.append("<details><summary>Balance table</summary>" + table.to_html(index=False, border=0)
                     + "<p class='small'>Standardised mean differences for numbers; differences in proportions for "
                       "yes/no characteristics. What Works Clearinghouse: up to 0.05 satisfies, up to 0.25 needs "
                       "adjustment (done here by regression), above 0.25 fails.</p></details>")
    return "".join(parts)


def _covariate(name: str) -> str:
    """A matching covariate as a reader says it: 'sex[female]' -> 'Sex: female', 'prior_offences' ->
    'Prior offences'."""
    return _cap(plain_text(str(name)))


# --------------------------------------------------------------------------- results
@_controlled
def section_results(ctx: ReportContext) -> str:
    a = _analysis(ctx)
    parts = [_multiple_comparisons(ctx, a)]
    parts += [_forest(a)] if sum(1 for o in a.outcomes if o.standardised is not None) > 1 else []
    # the result the headline reports comes first; the rest in the protocol's order
    ordered = sorted(a.outcomes, key=lambda o: not _is_headline(a, o))
    listed = _listed_area_trends(ordered)
    parts += [_outcome_block(ctx, o) for o in ordered if not any(o is x for x in listed)]
    if listed:
        parts.append(_area_trend_table(ctx, listed))
    return "".join(parts)


#: From this many secondary area trends on, they are one table, not a block (chart, table, notes) each.
LIST_AREA_TRENDS = 4


def _listed_area_trends(outcomes: list[OutcomeResult]) -> list[OutcomeResult]:
    """The secondary area-against-baseline results a report lists in one table instead of one block each.

    A VRU-wide report has one per indicator and place (about 50): as blocks they made a page of 16,000
    pixels that no board member reads. The primary result, every other design and every result that could
    not be estimated keep their own block.
    """
    trends = [o for o in outcomes if o.design == "area_trend" and o.ok and not o.primary]
    return trends if len(trends) >= LIST_AREA_TRENDS else []


def _area_trend_table(ctx: ReportContext, outcomes: list[OutcomeResult]) -> str:
    """The secondary area trends as one table per indicator: change in the rate against the baseline."""
    level = round(100 * (1 - ctx.protocol.alpha))
    by_indicator: dict[str, list[OutcomeResult]] = {}
    for o in outcomes:
        by_indicator.setdefault(o.outcome.split(":", 1)[0], []).append(o)
    design = next((d for d in ctx.protocol.designs if d.type == "area_trend"), None)
    when = (f" ({design.period[0]} to {design.period[1]} against {design.baseline[0]} to {design.baseline[1]})"
            if design is not None and design.period and design.baseline else "")
    parts = ["<h3>The other indicators and places, against the baseline</h3>"
             f"<p>Each row is the change in the rate{_e(when)}, with its {level}% confidence interval. Like the "
             "results above, these describe change and do not attribute it to any service (Maryland SMS level 1); "
             "read them as the backdrop to the primary result, not as findings of their own.</p>"]
    for indicator, rows in by_indicator.items():
        label = ctx.cfg.indicator_label(indicator) if ctx.cfg is not None else indicator
        body = "".join(
            f"<tr><td>{_e(o.outcome.split(':', 1)[1])}</td>"
            f"<td>{signed(o.result.pct_change)}% ({_ci(o.result.pct_ci_low, o.result.pct_ci_high, 1, '%')})</td>"
            f"<td>{_e(_trend_reading(o))}</td><td class='num'>{_n(ctx, o.n)}</td></tr>" for o in rows)
        parts.append(f"<h4>{_e(label)}</h4><table class='trends'><thead><tr><th>Place</th>"
                     f"<th>Change in the rate ({level}% CI)</th><th>Reading</th><th>Events in the period</th>"
                     f"</tr></thead><tbody>{body}</tbody></table>")
    return "".join(parts)


def _trend_reading(o: OutcomeResult) -> str:
    """'Fell' / 'Rose' (the interval excludes no change) or 'No clear change', said for young people."""
    r = o.result
    if not (r.pct_ci_low > 0 or r.pct_ci_high < 0):
        return "No clear change"
    up = r.pct_ci_low > 0
    better = up == o.higher_is_better
    return f"{'Rose' if up else 'Fell'} ({'better' if better else 'worse'})"


def _is_headline(a: InterventionAnalysis, o: OutcomeResult) -> bool:
    return a.primary is not None and o.outcome == a.primary.outcome and o.design == a.primary.design


#: From this many results on, the report says how many would look significant by chance alone.
MANY_RESULTS = 5


def _multiple_comparisons(ctx, a: InterventionAnalysis) -> str:
    ok = [o for o in a.outcomes if o.ok]
    if len(ok) < MANY_RESULTS:
        return ""
    alpha = ctx.protocol.alpha
    k = len(ok)
    any_by_chance = 1 - (1 - alpha) ** k  # independent tests: an upper-end guide, not an exact figure
    return (f"<p class='note'><b>Reading {k} results together.</b> Each result is tested at the "
            f"{100 * alpha:g}% level: even if nothing had changed, each has a 1 in {round(1 / alpha)} chance of "
            f"looking statistically significant, so among {k} results about {k * alpha:.2g} would be expected to "
            f"(a {100 * any_by_chance:.0f}% chance of at least one). The decision rests on the pre-specified "
            f"primary outcome{' (first below)' if a.primary is not None else ''}; treat a single significant result "
            "among the others as a lead to follow up, not as a finding.</p>")


def _forest(a: InterventionAnalysis) -> str:
    rows = [{"label": f"{o.label} ({o.design_label.lower()})", "estimate": o.standardised.estimate,
             "ci_low": o.standardised.ci_low, "ci_high": o.standardised.ci_high,
             "annotation": f"SMS {o.sms}"} for o in a.outcomes if o.standardised is not None]
    return _fig(forest_plot(pd.DataFrame(rows), colour_by=None, title="All outcomes on one scale"),
                alt="Standardised effects of every outcome")


def _outcome_block(ctx: ReportContext, o: OutcomeResult) -> str:
    a = _analysis(ctx)
    if _is_headline(a, o):
        tag = " (primary outcome: the headline result)"
    elif o.primary:  # the same (or another area's) primary outcome from another design: not the headline
        tag = f" (primary outcome; the headline uses the {a.primary.design_label.lower()} result)" \
            if a.primary is not None else " (primary outcome)"
    else:
        tag = ""
    head = f"<h3>{_e(o.label)} — {_e(o.design_label.lower())}{_e(tag)}</h3>"
    if not o.ok:  # what to fix is for the analyst (appendix), not the commissioner
        return head + f"<p class='pending'>Could not be estimated: {_e(reader_reason(o.reason))}.</p>"
    est, ci = estimate_text(o)
    e = _estimate(o)
    level = round(100 * (1 - ctx.protocol.alpha))
    n_txt = _n(ctx, o.n) if o.design not in AREA else f"{_n(ctx, o.n)} events"
    table = (f"<table class='kv'><tr><td>Estimate ({_e(e.scale)})</td><td>{_e(est)}</td></tr>"
             f"<tr><td>{level}% confidence interval</td><td>{_e(ci)}</td></tr>"
             + (f"<tr><td>Standardised effect</td><td>{signed(o.standardised.estimate, 2)} "
                f"({_ci(o.standardised.ci_low, o.standardised.ci_high, 2)})</td></tr>"
                if o.standardised is not None else "")
             + f"<tr><td>{'Participants' if o.design not in AREA else 'Events in the programme areas'}</td>"
               f"<td>{n_txt}</td></tr>"
             + (f"<tr><td>Comparison group</td><td>{_n(ctx, o.n_comparison)}</td></tr>" if o.n_comparison else "")
             + f"<tr><td>Evidence</td><td>Maryland SMS level {o.sms}: {_e(o.evidence)}</td></tr></table>")
    small_cells = _small_event_counts(ctx, o)
    per100 = o.per_100 if o.per_100 and not small_cells else None
    body = f"<p>{_e(o.sentence)}</p>" + (f"<p class='per100'>{_e(per100)}</p>" if per100 else "")
    if o.details.itt is not None:  # intention to treat from referral, beside this per-protocol result
        from evalkit.implementation import itt_sentence

        body += f"<p>{_e(itt_sentence(o.details.itt))}</p>"
    body += _reliable_change(ctx, o)
    fig = "" if small_cells else _outcome_figure(ctx, o)
    if o.details.dose_bands:
        fig += _dose_table(ctx, o)
    if small_cells:
        body += (f"<p class='small'>The rates and curves are not shown: fewer than {ctx.threshold} young people "
                 "in a group had (or did not have) the outcome, and showing them would reveal that number.</p>")
    notes = ([f"Method: {e.method}"] if e.method else []) + list(o.warnings)
    items = "".join(f"<li>{_e(w)}</li>" for w in notes)
    return head + body + fig + table + (f"<details><summary>Method and notes</summary><ul>{items}</ul></details>"
                                        if items else "")


def _dose_table(ctx: ReportContext, o: OutcomeResult) -> str:
    """Young people by sessions attended (engagement outcomes), as the report's ledger prints them: the bands
    add up to the outcome's participants (:func:`report_ledger`)."""
    pub = published(ctx)
    rows = [(band, pub.entry_text(f"sessions:{o.outcome}:{band}")) for band, _ in o.details.dose_bands]
    if any(text is None for _, text in rows):  # not in the ledger: a table on its own, with its total
        table = pd.DataFrame({"Young people": dict(o.details.dose_bands)})
        table.index.name = "Sessions attended"
        return "<h4>Sessions attended</h4>" + suppress_counts(table, threshold=ctx.threshold, totals="row")._repr_html_()
    body = "".join(f"<tr><td>{_e(band)}</td><td class='num'>{_e(text)}</td></tr>" for band, text in rows)
    total = pub.shown(f"n:{o.design}:{o.outcome}")
    return ("<h4>Sessions attended</h4><table class='counts'><thead><tr><th>Sessions attended</th><th>Young people"
            f"</th></tr></thead><tbody>{body}<tr><td>Total</td><td class='num'>{_e(total)}</td></tr></tbody></table>")


#: Reliable-change categories as a reader says them, in the order shown.
CHANGE_WORDS = (("reliably_improved", "Reliably improved"), ("no_reliable_change", "No reliable change"),
                ("reliably_deteriorated", "Reliably deteriorated"))


def _reliable_change(ctx: ReportContext, o: OutcomeResult) -> str:
    """Shares of young people who reliably improved, stayed the same and deteriorated (Jacobson-Truax).

    Shown when the protocol asks (``reliable_change: true``) and the questionnaire's reliability is known. A
    share with the group size shown gives its count, so the three are disclosure-controlled as a column of
    counts with its total (a small count, or one the other two would give back, is hidden).
    """
    shares = getattr(o.result, "change_shares", None) if o.design == "prepost" else None
    # ``reliable_change`` is a setting of the before-and-after design that analyses this outcome
    design = next((d for d in ctx.protocol.designs if d.type == "prepost" and o.outcome in d.outcomes), None)
    if shares is None or not getattr(design, "reliable_change", False) or not shares.n:
        return ""
    rows = {c: (k, lo, hi) for c, k, _, lo, hi in shares.counts}
    present = [(key, words) for key, words in CHANGE_WORDS if key in rows]
    counts = pd.Series({words: rows[key][0] for key, words in present})
    shown = suppress_counts(counts, threshold=ctx.threshold, totals="row")
    hidden = (shown.hidden.iloc[:, 0] != "") | published(ctx).hides(shares.n)
    cells = []
    for key, words in present:
        k, lo, hi = rows[key]
        text = MARKER if hidden[words] else (f"{100 * k / shares.n:.0f}% <span class='small'>"
                                            f"({100 * lo:.0f}% to {100 * hi:.0f}%)</span>")
        cells.append(f"<tr><td>{_e(words)}</td><td class='num'>{text}</td></tr>")
    return ("<table class='kv change'><thead><tr><th>Young people whose score changed by more than measurement "
            f"error alone explains (more than {shares.threshold:.1f} points)</th><th>Share (95% interval)</th>"
            f"</tr></thead><tbody>{''.join(cells)}</tbody></table>")


def _small_event_counts(ctx: ReportContext, o: OutcomeResult) -> bool:
    """Whether showing rates, per-100 numbers or survival curves would reveal a small count of people."""
    t = ctx.threshold
    if o.design == "matched" and o.kind == "time_to_reoffend":
        r = o.result
        return any(is_small(k, t) or is_small(n - k, t) for k, n in ((r.events_treated, r.n_treated),
                                                                       (r.events_control, r.n_control)))
    if o.design == "matched" and o.details.rates is not None:
        k = round(o.details.rates.participants * o.n)
        return is_small(k, t) or is_small(o.n - k, t)
    if o.design == "did" and o.details.percent:
        # each cell's share of person-periods with an offence, times its size, is a count
        for c in getattr(o.result, "cells", ()):
            size = c.sum_weights or c.n_obs
            k = round(c.mean * size)
            if is_small(k, t) or is_small(round(size) - k, t):
                return True
    return False


def _outcome_figure(ctx: ReportContext, o: OutcomeResult) -> str:
    try:
        if o.design == "prepost" and not o.details.binary:
            return _fig(_prepost_plot(o), alt=f"{o.label}: average before and after")
        if o.design == "matched" and o.kind == "time_to_reoffend":
            return _fig(_km_plot(o, ctx.threshold), alt=f"{o.label}: share not yet reoffended")
        if o.design == "matched" and o.kind == "reoffending" and o.details.rates is not None:
            return _fig(_rates_plot(o), alt=f"{o.label}: participants against the estimate without the intervention")
        if o.design == "did":
            return _fig(_did_plot(o), alt=f"{o.label}: before and after, both groups")
        if o.design == "area_trend" and o.details.its is not None:
            fig = its_plot(o.details.its)
            # The design's own title gives the interrupted-time-series step, a different estimate from the
            # change against the baseline in the table below: the report's title says what is drawn instead.
            retitle(fig.axes[0], f"{o.label}: monthly rate, with the trend before the start carried on "
                    "(dashed)")
            if ctx.cfg is not None:  # the indicator in the VRU's words, not its code
                fig.axes[0].set_ylabel(f"{ctx.cfg.indicator_label(o.outcome.split(':', 1)[0])} per 100,000 a month")
            return _fig(fig, alt=f"{o.label}: monthly rate and trend")
        if o.design == "area_did":
            return _fig(readable_event_study(o.result, o.label, localities=_places(ctx)),
                        alt=f"{o.label}: programme against comparison {_places(ctx)}")
    except Exception:  # a figure must never stop the report  # noqa: BLE001
        plt.close("all")
    return ""


def _prepost_plot(o: OutcomeResult) -> Figure:
    r = o.result
    n = r.n_pairs
    level = o.estimate.level if o.estimate is not None else 0.95  # the analysis's own confidence level
    t = stats.t.ppf(0.5 + level / 2, max(n - 1, 1))
    means = [r.pre_mean, r.post_mean]
    errs = [t * r.pre_sd / math.sqrt(n), t * r.post_sd / math.sqrt(n)]
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.errorbar([0, 1], means, yerr=errs, fmt="o-", color="#0072B2", capsize=6, lw=2)
    ax.set_xticks([0, 1], ["At the start", "At the end"])
    ax.set_xlim(-0.4, 1.4)
    ax.set_ylabel("Average score")
    better = "higher is better" if o.higher_is_better else "lower is better"
    ax.set_title(f"Average score with {100 * level:.4g}% interval ({better})", loc="left", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def _rates_plot(o: OutcomeResult) -> Figure:
    r = o.details.rates
    if r is None:
        raise ValueError(f"{o.label}: no rates to draw")
    fig, ax = plt.subplots(figsize=(5.5, 2.4))
    vals = [100 * r.participants, 100 * r.counterfactual]
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


def _km_plot(o: OutcomeResult, threshold: int = 10) -> Figure:
    curves = o.result.curves_frame()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for col, lab, c, n in (("survival_participants", "Participants", "#0072B2", o.result.n_treated),
                           ("survival_comparison", "Matched comparison", "#999999", o.result.n_control)):
        if col in curves:
            t, s = km_points(curves["time"].to_numpy(), curves[col].to_numpy(), n, threshold)
            # a survival curve is a step function; only the steps kept by disclosure control are drawn, so
            # each step down covers at least `threshold` young people
            ax.step(t / 30.4375, 100 * s, where="post", label=lab, color=c, lw=2)
    ax.set_xlabel("Months since the start")
    ax.set_ylabel("% not yet reoffended")
    ax.set_title(f"Each step down is at least {threshold} young people (disclosure control)", loc="left", fontsize=8)
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def _did_plot(o: OutcomeResult) -> Figure:
    cells = {(c.group, c.period): c.mean for c in o.result.cells}
    scale = 100 if o.details.percent else 1
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
@_controlled
def section_subgroups(ctx: ReportContext) -> str:
    a = _analysis(ctx)
    if not a.subgroups:
        return "<p>No subgroup analysis applies to this evaluation's primary result.</p>"
    parts = ["<p>Results in small groups are uncertain. Whether the effect differs between groups is judged by a "
             "test of the difference (an interaction test), not by comparing the groups' intervals by eye; "
             "with several groupings tested, one 'significant' difference can be chance.</p>"]
    for s in a.subgroups:
        parts.append(f"<h3>By {_e(s.variable.replace('_', ' '))}</h3>")
        if s.suppressed_reason:
            parts.append(f"<p class='pending'>{_e(s.suppressed_reason[0].upper() + s.suppressed_reason[1:])}.</p>")
            continue
        unit = " (percentage points)" if "reoffending" in s.outcome.lower() and "matched" in s.design_label.lower() \
            else " (points)"
        rows = "".join(f"<tr><td>{_e(r['group'])}</td><td class='num'>{_n(ctx, r['n'])}</td>"
                       f"<td class='num'>{signed(r['estimate'], 1)}</td><td>{_ci(r['ci_low'], r['ci_high'])}</td>"
                       f"<td>{_e(r['verdict'])}</td></tr>" for r in s.rows)
        if s.interaction_p is not None:
            differ = s.interaction_p < ctx.protocol.alpha
            parts.append(f"<p>Test that the effect is the same in every group (Cochran's Q): p = "
                         f"{s.interaction_p:.2f}; " + ("the groups' effects differ." if differ else
                                                        "no evidence that the effect differs between groups.")
                         + "</p>")
        parts.append(f"<table class='counts'><thead><tr><th>Group</th><th>Young people</th><th>Estimate{unit}"
                     f"</th><th>{100 * (1 - ctx.protocol.alpha):.4g}% interval</th><th>Reading</th></tr></thead>"
                     f"<tbody>{rows}</tbody></table>")
    return "".join(parts)


@_controlled
def section_sensitivity(ctx: ReportContext) -> str:
    a = _analysis(ctx)
    if not a.sensitivity:
        return "<p>No sensitivity analysis applies to these designs.</p>"
    items = "".join(f"<li><b>{_e(h)}</b>: {_e(t)}</li>" for h, t in a.sensitivity)
    return f"<ul>{items}</ul>"


@_controlled
def section_limitations(ctx: ReportContext) -> str:
    a = _analysis(ctx)
    if not a.limitations:
        return "<p>No particular limitations were found in the diagnostics.</p>"
    return "<ul>" + "".join(f"<li>{_e(reader_reason(t))}</li>" for t in a.limitations) + "</ul>"


@_controlled
def section_appendix(ctx: ReportContext) -> str:
    a = _analysis(ctx)
    std = sorted({o.standardisation for o in a.outcomes if o.standardisation})
    rows = "".join(f"<li>{_e(s)}</li>" for s in std)
    fixes = [f"{o.label} ({o.design_label.lower()}): {o.reason}" for o in a.outcomes
             if not o.ok and reader_reason(o.reason) != o.reason]
    analyst = ("<h3>For the analyst: what would let the missing results be estimated</h3><ul>"
               + "".join(f"<li>{_e(t)}</li>" for t in fixes) + "</ul>") if fixes else ""
    return analyst + ("<h3>How the primary finding is chosen and standardised</h3><p>The protocol's first primary outcome, "
            "from the strongest design that estimated it (Maryland SMS). Positive standardised effects are better "
            "for young people.</p>" + (f"<ul>{rows}</ul>" if rows else "")
            + "<p>Significant only when the interval excludes no effect and at least "
            f"{ctx.protocol.min_n_significance} young people contributed. The minimum worthwhile effect is a "
            "standardised 0.2 (Cohen's small effect).</p>")


__all__ = ["section_headline", "section_participation", "section_profile", "section_design", "section_balance",
           "section_results", "section_subgroups", "section_sensitivity", "section_limitations", "section_appendix",
           "disclosed_steps", "estimate_text"]
