"""The notebook-facing façade: one function per report section.

The report notebooks hold no statistics. Each cell calls one function here and
displays what it returns: a :class:`Section` (self-contained HTML, figures
embedded as PNG data URIs) built from aggregates only. The analysis runs in
:mod:`evalkit.analysis`; the context comes from :mod:`.context`, the section
bodies from :mod:`.render` (one intervention) and :mod:`.portfolio`; this module
titles them and passes every count through disclosure control.
:data:`REPORT_SECTIONS` and :data:`PORTFOLIO_SECTIONS` list the sections in
reading order (what the notebooks call).

Typical use (what ``notebooks/intervention_report.ipynb`` does)::

    ctx = load_context(protocol_path, data_src, output_dir=out)
    headline(ctx); participation(ctx); profile(ctx); design(ctx); balance(ctx)
    results(ctx); subgroups(ctx); sensitivity(ctx); limitations(ctx); appendix(ctx)
    save_findings(ctx)
"""

from __future__ import annotations

import html
import json
import platform
from collections.abc import Callable
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import pandas as pd

from evalkit.analysis import data as ad
from evalkit.analysis.designs import filled
from evalkit.errors import EvalkitError
from evalkit.labels import AREA_DESIGNS, DESIGN_WORDS, age_band, age_band_labels
from evalkit.report import portfolio, render
from evalkit.report.common import Section, figure_html, html_of
from evalkit.report.context import (PortfolioContext, ReportContext, data_fingerprint, load_context,
                                    load_portfolio)
from evalkit.report.disclosure import counts_html, safe_count, safe_flow, safe_html, suppress_counts
from evalkit.report.delivery import delivery
from evalkit.report.findings import findings
from evalkit.report.narrative import plain_html, reader_reason
from evalkit.report.plots import attrition_chevron

#: Packages whose versions the appendix lists.
VERSIONED = ("evalkit", "numpy", "pandas", "scipy", "statsmodels", "lifelines", "linearmodels", "matplotlib",
             "duckdb", "pydantic", "pandera", "papermill", "nbconvert")

def area_only(ctx: ReportContext) -> bool:
    """A report about whole areas: every design is an area design, or no young person is recorded as taking
    part (then there are no participant tables to show, rather than empty ones)."""
    area_types = ("area_trend", "area_did")
    if all(d.type in area_types for d in ctx.protocol.designs):
        return True
    part = ctx.tables.get("participants")
    return any(d.type in area_types for d in ctx.protocol.designs) and (
        part is None or "intervention_id" not in part
        or not (part["intervention_id"] == ctx.protocol.intervention_id).any())



def _section(title: str, body: str, *, anchor: str, threshold: int, lead: str = "") -> Section:
    """A titled section; every count of people in its text passes :func:`safe_html` (last line of defence)."""
    lead_html = f"<p class='lead'>{lead}</p>" if lead else ""
    return Section(safe_html(plain_html(f"<section id='{anchor}'><h2>{html.escape(title)}</h2>{lead_html}{body}"
                                        "</section>"), threshold))


def _pending(what: str) -> str:
    return f"<p class='pending'>{html.escape(what)}</p>"


# --------------------------------------------------------------------------- sections
def title(ctx: ReportContext) -> Section:
    """Title block: intervention, provider, question."""
    p, row = ctx.protocol, ctx.intervention
    facts = []
    for label, key in (("Provider", "provider"), ("Type", "intervention_type"), ("Prevention level", "prevention_level"),
                       ("Area", "area"), ("Funding", "funding_stream")):
        if row.get(key) is not None and str(row.get(key)) != "nan":
            text = ctx.cfg.label(row[key]) if ctx.cfg is not None else str(row[key]).replace('_', ' ')
            facts.append(f"<span><b>{label}:</b> {html.escape(text)}</span>")
    vru = f"{ctx.cfg.vru_name} · " if ctx.cfg is not None else ""
    return Section(
        f"<header class='report-title'><p class='kicker'>{html.escape(vru)}Evaluation report · "
        f"{html.escape(p.intervention_id)}</p>"
        f"<h1>{html.escape(p.title)}</h1><p class='facts'>{' '.join(facts)}</p>"
        f"<p class='question'><b>The question:</b> {html.escape(p.question)}</p></header>")


def headline(ctx: ReportContext) -> Section:
    """The headline box: what was found, how sure, and what it means for commissioning."""
    body = render.section_headline(ctx)
    if body is None:
        n = len(ctx.participants)
        body = (f"<p>{safe_count(n, ctx.threshold)} young people took part in the evaluation period.</p>"
                + _pending("There is no headline result: none of the protocol's designs estimates its first "
                           "primary outcome."))
    return Section(safe_html(plain_html(f"<div class='headline' id='headline'><h2>What we found</h2>"
                                        f"{html_of(body)}</div>"), ctx.threshold))


def attrition_steps(ctx: ReportContext) -> list[tuple[str, int]]:
    """Counts of young people at each step, from referral to measured outcome."""
    everyone = ad.participants_all(ctx.protocol, ctx.tables)
    part = ctx.participants
    steps = [("Referred", len(everyone)), ("Started in the period", len(part))]
    done = _completed_count(ctx, part)
    if done is not None:
        steps.append(("Completed", done))
    meas = ctx.tables.get("measurements")
    instruments = [o for o in ctx.protocol.primary_outcomes if o.kind == "instrument"]
    if instruments and meas is not None and len(part):
        o = instruments[0]
        ids = set(part["person_id"])
        m = meas.loc[(meas["instrument"] == o.instrument) & meas["person_id"].isin(ids)]
        pre = set(m.loc[m["timepoint"] == o.pre, "person_id"])
        post = set(m.loc[m["timepoint"] == o.post, "person_id"])
        steps.append((f"{o.instrument} at {o.pre.replace('_', ' ')}", len(pre)))
        steps.append((f"{o.instrument} at both", len(pre & post)))
    return steps


def _completed_count(ctx: ReportContext, part: pd.DataFrame) -> int | None:
    """Participants who completed, by the intervention's rule (completion_min_sessions, else the configured exit
    reason), or None when neither contacts nor exit reasons say."""
    from evalkit.analysis.engagement import person_engagement

    if not len(part):
        return None
    try:
        eng = person_engagement(ctx.protocol, ctx.tables, part)
        return int(eng["completed"].fillna(0).sum())
    except EvalkitError:
        if "exit_reason" not in part:
            return None
        reason = ctx.cfg.completion_exit_reason if ctx.cfg is not None else "completed"
        return int((part["exit_reason"] == reason).sum())


def participation(ctx: ReportContext) -> Section:
    """Who took part and who was lost at each step (attrition chevron), disclosure-controlled."""
    body = render.section_participation(ctx)
    if body is None:
        if area_only(ctx):
            return _section("Who took part", "<p>This report covers whole areas, not individual participants.</p>",
                            threshold=ctx.threshold, anchor="participation")
        steps = attrition_steps(ctx)
        shown = safe_flow(steps, ctx.threshold, spare_first=True)  # small steps and small differences hidden
        table = pd.DataFrame(shown, columns=["Step", "Young people"])
        body = (figure_html(attrition_chevron(shown), alt="Attrition: young people at each step")
                + counts_html(table.set_index("Step")))
    return _section("Who took part", html_of(body), threshold=ctx.threshold, anchor="participation",
                    lead="How many young people were referred, started, and had their outcomes measured. "
                         f"Counts below {ctx.threshold} are hidden ([c]).")


def profile_tables(ctx: ReportContext) -> dict[str, pd.DataFrame]:
    """Counts of participants (and of the comparison pool, where a design uses one) by characteristic."""
    part = ctx.participants  # has the age at start (analysis_data.population)
    groups = {"Participants": part.assign(age_band=age_band(part["age"], filled(ctx.protocol.age_bands, "age_bands")))}
    pool = ctx.tables.get("comparison_pool")
    matched = [d for d in ctx.protocol.designs if d.type == "matched"]
    if matched and pool is not None and len(pool):
        source = matched[0].pool_source
        if source != "any" and "pool_source" in pool:
            pool = pool.loc[pool["pool_source"] == source]
        groups["Comparison pool"] = pool.assign(age_band=age_band(ad._age(pool, "age_at_index", "index_date"),
                                                                  filled(ctx.protocol.age_bands, "age_bands")))
    out = {}
    word = ctx.cfg.area_words.locality if ctx.cfg is not None else "locality"
    for column, label in (("sex", "Sex"), ("ethnicity_group", "Ethnic group"), ("age_band", "Age band"),
                          ("locality", word[:1].upper() + word[1:])):
        parts = {name: frame[column].astype("string").fillna("not known").value_counts()
                 for name, frame in groups.items() if column in frame}
        if parts:
            table = pd.DataFrame(parts).fillna(0).astype("int64")
            # Age bands read youngest first ('5-9' before '10-13'), not in string order; the rest alphabetically.
            first = age_band_labels(filled(ctx.protocol.age_bands, "age_bands")) if column == "age_band" else []
            table = table.reindex([v for v in first if v in table.index]
                                  + sorted(v for v in table.index if v not in first))
            names = [ctx.cfg.label(i) if ctx.cfg is not None and column != "locality"
                     else str(i).replace("_", " ") for i in table.index]
            table.index = [n[:1].upper() + n[1:] for n in names]  # 'Female', 'Not known', as the reach tables
            table.index.name = label
            out[label] = table
    return out


def profile(ctx: ReportContext) -> Section:
    """Profile of participants (against the comparison pool where there is one), disclosure-controlled."""
    body = render.section_profile(ctx)
    if body is None:
        if area_only(ctx):
            return Section("")  # area-only: the participation section already says there are no participants
        parts = []
        # each table's total is the number who started: withheld here when the participation flow withholds it
        withhold = [] if _flow_shown(ctx, "Started in the period") else [("Total", "Participants")]
        for label, table in profile_tables(ctx).items():
            parts.append(f"<h3>{html.escape(label)}</h3>"
                         + suppress_counts(table, threshold=ctx.threshold, totals="row",
                                           withhold=withhold)._repr_html_())
        body = "".join(parts) or _pending("No participant characteristics were supplied.")
    return _section("Profile of participants", html_of(body), threshold=ctx.threshold, anchor="profile",
                    lead="Characteristics of the young people who took part, and of the group they are compared "
                         "with.")


def design(ctx: ReportContext) -> Section:
    """The design(s) and the strength of evidence each can give (Maryland Scientific Methods Scale)."""
    return _section("How we evaluated it", render.section_design(ctx), threshold=ctx.threshold, anchor="design",
                    lead="The design decides how sure we can be: level 1 (before and after only) is weakest, level 5 "
                         "(randomised) strongest.")


def _simple(ctx: ReportContext, body: Callable[[ReportContext], str], anchor: str, heading: str,
            lead: str) -> Section:
    return _section(heading, body(ctx), threshold=ctx.threshold, anchor=anchor, lead=lead)


def balance(ctx: ReportContext) -> Section:
    """Balance of the matched groups (standardised mean differences, love plot); none in an area report,
    whose comparison (areas, and their trends before the start) is judged in its results."""
    if area_only(ctx):
        return Section("")
    return _simple(ctx, render.section_balance, "balance", "Were the groups comparable?",
                   "After matching, the two groups should look alike on everything recorded before the start.")


def results(ctx: ReportContext) -> Section:
    """Results per outcome with confidence intervals and plots (the VRU-wide report adds :func:`comparison`)."""
    section = _simple(ctx, render.section_results, "results", "Results", "Each outcome in turn, with its confidence interval.")
    extra = comparison(ctx)
    return Section(section.html + extra.html) if extra.html else section


def comparison(ctx: ReportContext) -> Section:
    """The VRU-wide report's "Compared with similar areas without a VRU" (:mod:`evalkit.report.comparison_areas`)."""
    from evalkit.analysis.runner import is_area_wide
    from evalkit.report.comparison_areas import section_comparison_areas

    if ctx.cfg is None or not is_area_wide(ctx.protocol):
        return Section("")
    body = section_comparison_areas(ctx.tables, ctx.cfg.whole_area_name)
    if body is None:
        return Section("")
    return _section("Compared with similar areas without a VRU", body, anchor="comparison", threshold=ctx.threshold,
                    lead="Did violence fall because of the VRU, or would it have fallen anyway?")


def subgroups(ctx: ReportContext) -> Section:
    """Results by sex, ethnic group, age band and locality, where numbers allow."""
    return _simple(ctx, render.section_subgroups, "subgroups", "Results for groups of young people",
                   "Shown only where every group is large enough to report safely.")


def sensitivity(ctx: ReportContext) -> Section:
    """How robust the results are (hidden bias, attrition, alternative settings)."""
    return _simple(ctx, render.section_sensitivity, "sensitivity", "How robust is this?",
                   "Checks of how much the conclusions depend on assumptions.")


def limitations(ctx: ReportContext) -> Section:
    """Limitations written from the diagnostics."""
    return _simple(ctx, render.section_limitations, "limitations", "Limitations", "What the reader should keep in mind.")


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages the analysis used."""
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _versions_html() -> str:
    items = " · ".join(f"{html.escape(k)} {html.escape(v)}" for k, v in package_versions().items())
    return f"<p class='versions'>{items}</p>"


def _itt_block(ctx: ReportContext, imp) -> str:
    """Intention to treat from referral beside the per-protocol results, when referrals that never started exist."""
    from evalkit.implementation import itt_html

    if not imp.referred_not_started:
        return ""
    outcomes = ctx.analysis.outcomes
    itts = [o.details.itt for o in outcomes if o.ok and o.details.itt is not None]
    reason = next((reader_reason(o.details.itt_reason) for o in outcomes if o.details.itt_reason is not None), "")
    if not itts and not reason and not any(o.design == "matched" for o in outcomes):
        reason = "this evaluation has no matched comparison group to compare everyone referred with"
    questionnaires = any(o.design == "prepost" and o.ok for o in outcomes)
    return itt_html(itts, ctx.threshold, n_not_started=imp.referred_not_started, reason=reason,
                    questionnaires=questionnaires,
                    count_shown=_flow_shown(ctx, "Started in the period") and _flow_shown(ctx, "Referred"))


def _flow_shown(ctx: ReportContext, step: str) -> bool:
    """Whether the report prints the participation flow's ``step`` (True when the flow has no such step)."""
    pub = render.published(ctx)
    key = f"step:{step}"
    return not any(c.key == key for c in pub.counts) or pub.shown(key) != pub.marker


def implementation(ctx: ReportContext) -> Section:
    """How it was delivered: reach, dose, fidelity, completion and outcome by dose (not causal)."""
    from evalkit.implementation import implementation_html

    imp = delivery(ctx)
    if imp is None:
        return Section("")
    body = implementation_html(imp, ctx.threshold, itt_block=_itt_block(ctx, imp),
                               label=ctx.cfg.label if ctx.cfg is not None else None,
                               locality=ctx.cfg.area_words.locality if ctx.cfg is not None else "district",
                               started_shown=_flow_shown(ctx, "Started in the period"),
                               published=render.published(ctx))
    body = render.published(ctx).html(body)  # a count the report withholds elsewhere is withheld here too
    return _section("How it was delivered", body,
                    threshold=ctx.threshold,
                    anchor="implementation", lead="Reach against planned places and the young people at risk, "
                    "how many sessions young people had, how many completed, how outcomes went with the number "
                    "of sessions (a description, not a cause)"
                    + (", and the results for everyone referred, including those who never started."
                       if imp.referred_not_started else "."))


def _lock_html(ctx: ReportContext) -> str:
    from evalkit.lock import lock_html, lock_status

    return lock_html(lock_status(ctx.protocol_path, ctx.protocol, ctx.data_src))


def appendix(ctx: ReportContext) -> Section:
    """The protocol as written, the data fingerprint, package versions and seed."""
    versions = _versions_html()
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = (
        "<h3>Reproducibility</h3><table class='kv'>"
        f"<tr><td>Data source</td><td>{html.escape(ctx.data_src.name)}</td></tr>"
        f"<tr><td>Data fingerprint (SHA-256)</td><td><code>{ctx.fingerprint}</code></td></tr>"
        f"<tr><td>Random seed</td><td>{ctx.protocol.seed}</td></tr>"
        f"<tr><td>Significance level</td><td>{ctx.protocol.alpha}</td></tr>"
        f"<tr><td>Disclosure threshold</td><td>counts below {ctx.threshold} hidden, with secondary suppression</td></tr>"
        f"<tr><td>Minimum sample for significance</td><td>{ctx.protocol.min_n_significance}</td></tr>"
        f"<tr><td>Rendered</td><td>{when}</td></tr></table>"
        f"<h3>Software</h3>{versions}"
        f"<h3>Was the plan fixed in advance?</h3>{_lock_html(ctx)}"
        f"<h3>The protocol ({html.escape(ctx.protocol_path.name)})</h3>"
        f"<pre class='protocol'>{html.escape(ctx.protocol_text)}</pre>"
    )
    return _section("Appendix", body + render.section_appendix(ctx), threshold=ctx.threshold, anchor="appendix",
                    lead="The pre-specified protocol and what is needed to reproduce this report.")


def save_findings(ctx: ReportContext) -> Section:
    """Write ``findings.json`` into the output folder for the portfolio summary; show nothing."""
    if ctx.output_dir is not None:
        Path(ctx.output_dir).mkdir(parents=True, exist_ok=True)  # papermill's -p output_dir may name a new folder
        path = Path(ctx.output_dir) / "findings.json"
        path.write_text(json.dumps(findings(ctx), indent=2, default=str), encoding="utf-8")
    return Section("")


def _portfolio_simple(pctx: PortfolioContext, body: Callable[[PortfolioContext], str], anchor: str, heading: str,
                      lead: str) -> Section:
    """A portfolio section whose body one of :mod:`evalkit.report.portfolio`'s ``section_*`` functions writes."""
    return _section(heading, body(pctx), threshold=pctx.threshold, anchor=anchor, lead=lead)


def portfolio_title(pctx: PortfolioContext) -> Section:
    """Title block of the portfolio summary."""
    vru = getattr(pctx.cfg, "vru_name", None) or "Violence Reduction Unit"
    n = sum(1 for p in pctx.protocols if p.intervention_id != "VRU")
    return Section(f"<header class='report-title'><p class='kicker'>Portfolio summary</p>"
                   f"<h1>{html.escape(str(vru))}: what works, for "
                   f"{html.escape(getattr(pctx.cfg, 'report_audience', None) or 'the commissioning board')}</h1>"
                   f"<p class='facts'>{n} intervention{'' if n == 1 else 's'} evaluated against "
                   "pre-specified protocols.</p></header>")


def portfolio_decisions(pctx: PortfolioContext) -> Section:
    """The decision summary that opens the portfolio: category, effect, evidence (and value) per intervention."""
    return _portfolio_simple(pctx, portfolio.section_decisions, "decisions", "The decisions on one page",
                             "What the evidence says for each intervention; the detail follows.")


def _decision_cell(found: dict, status: str) -> str:
    """The decision an intervention's report reached, or why there is none (the overview's last column)."""
    if status == "ok":
        return html.escape(str((found.get("primary") or {}).get("category_label") or "No decision"))
    return {"failed": "No report: it failed (see the appendix)", "not run": "Not run"}.get(status, status)


def portfolio_overview(pctx: PortfolioContext) -> Section:
    """One row per intervention: type, participants (disclosure-controlled), cost, report status."""
    inter = pctx.tables.get("interventions", pd.DataFrame()).set_index("intervention_id", drop=False) \
        if "interventions" in pctx.tables else pd.DataFrame()
    # Participants who started in each protocol's period, the same count as each report's "Started in
    # the period" and the cost table: an all-time count beside it would reveal the difference by
    # subtraction (those referred outside the period), which the report hides when small.
    counts = {}
    for p in pctx.protocols:
        try:
            counts[p.intervention_id] = len(ad.population(p, pctx.tables))
        except EvalkitError:
            counts[p.intervention_id] = 0
    from evalkit.report.portfolio import cost_per_participant_at_most, participants_text, published_participants

    found = {f.get("intervention_id"): f for f in pctx.findings}
    rows = []
    for p in pctx.protocols:
        if p.intervention_id == "VRU":
            continue
        i = p.intervention_id
        n = int(counts.get(i, 0))
        shown = published_participants(found.get(i, {}), n, pctx.threshold)  # as its report printed it
        cost = inter.loc[i, "annual_cost"] if i in inter.index and "annual_cost" in inter else None
        status = pctx.statuses.get(i, {}).get("status", "not run")
        # an area-wide programme's cost buys the whole area's change, not the few young people it recorded
        area_wide = (found.get(i, {}).get("primary") or {}).get("design") in AREA_DESIGNS
        link = f"<a href='{i}/{i}.html'>{html.escape(p.title)}</a>" if status == "ok" else html.escape(p.title)
        kind = pctx.cfg.label(p.intervention_type) if pctx.cfg is not None and p.intervention_type else \
            str(p.intervention_type or "").replace("_", " ")
        rows.append({"ID": i, "Intervention": link, "Type": kind,
                     "Participants": participants_text(found.get(i, {}), n, pctx.threshold),
                     "Annual cost": f"£{cost:,.0f}" if cost is not None else "–",
                     "Cost per participant": (
                         "area programme: see cost per resident" if area_wide
                         else f"£{cost / n:,.0f}" if cost is not None and shown != "[c]" and n
                         else (cost_per_participant_at_most(found.get(i, {}), cost) or "[c]")
                         if cost is not None and n else "–"),
                     "Decision": _decision_cell(found.get(i, {}), status)})
    body = pd.DataFrame(rows).to_html(index=False, border=0, escape=False)
    return _section("The interventions", body, threshold=pctx.threshold, anchor="overview",
                    lead="Young people who started in each protocol's period; counts below "
                         f"{pctx.threshold} are hidden ([c]), and so is a cost per participant that would reveal one. "
                         "Where a report hides the number who started because it is within "
                         f"{pctx.threshold} of the number analysed for the primary outcome, the cell says at least "
                         "how many took part (those analysed).")


def portfolio_forest(pctx: PortfolioContext) -> Section:
    """Forest plot of every intervention's primary effect (standardised) with CIs."""
    return _portfolio_simple(pctx, portfolio.section_forest, "forest", "Effects on the primary outcome",
                             "First each outcome in its own units, then all of them standardised so that different "
                             "outcomes can be compared (on that scale right of the line is better for young "
                             "people).")


def portfolio_value(pctx: PortfolioContext) -> Section:
    """Cost per participant and per outcome achieved."""
    return _portfolio_simple(pctx, portfolio.section_value, "value", "Cost and value", "What each intervention costs per young person and "
                             "per improved outcome.")


def portfolio_theory(pctx: PortfolioContext) -> Section:
    """The VRU's theory of change: its priorities and outcomes, the evidence for each, and the gaps."""
    from evalkit.theory import evidence_map, load_theory_of_change, theory_html

    # the primary results as the portfolio judged them (multiplicity control), as in the decision table
    emap = evidence_map(load_theory_of_change(cfg=pctx.cfg), pctx.protocols, portfolio.decided_findings(pctx))
    return _section("Where the evidence sits in the theory of change", theory_html(emap), threshold=pctx.threshold,
                    anchor="theory", lead="Each outcome of the VRU's theory of change, the interventions whose "
                    "evaluations speak to it (verdict and Maryland SMS level of the strongest design), and the "
                    "outcomes nothing yet evidences.")


def portfolio_reach(pctx: PortfolioContext) -> Section:
    """Reach and equity: participants by group against the cohort at risk."""
    return _portfolio_simple(pctx, portfolio.section_reach, "reach", "Reach and equity", "Who the portfolio reaches, against the young "
                             "people at risk.")


def portfolio_commissioning(pctx: PortfolioContext) -> Section:
    """A commissioning category per intervention, from documented rules."""
    return _portfolio_simple(pctx, portfolio.section_commissioning, "commissioning", "What this means for commissioning",
                             "A category per intervention from documented, configurable rules.")


def portfolio_method(pctx: PortfolioContext) -> Section:
    """How the decisions were made: multiple testing in plain words, the rules' thresholds, what changed."""
    return _portfolio_simple(pctx, portfolio.section_method, "method", "How the decisions were made",
                             "The allowance for testing many interventions, and each category's rule.")


def portfolio_glossary(pctx: PortfolioContext) -> Section:
    """One line per technical term the page keeps."""
    return _portfolio_simple(pctx, portfolio.section_glossary, "glossary", "Glossary",
                             "The technical terms this page keeps, one line each.")


def portfolio_exports(pctx: PortfolioContext, protocol_dir: str | Path | None = None) -> Section:
    """Write ``portfolio_decisions.csv`` and ``.xlsx`` into the output folder; show nothing."""
    if pctx.output_dir is not None:
        portfolio.write_exports(pctx, pctx.output_dir, protocol_dir=protocol_dir)
    return Section("")


def portfolio_appendix(pctx: PortfolioContext) -> Section:
    """Data fingerprint, versions and the reports that failed."""
    failed = {k: v for k, v in pctx.statuses.items() if v.get("status") != "ok"}
    fails = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(str(v.get('error', '')))}</li>"
                    for k, v in sorted(failed.items()))
    versions = _versions_html()
    body = (f"<table class='kv'><tr><td>Data fingerprint (SHA-256)</td><td><code>{pctx.fingerprint}</code></td></tr>"
            f"<tr><td>Protocols</td><td>{len(pctx.protocols)}</td></tr>"
            f"<tr><td>Commissioning rules</td><td><code>{html.escape(portfolio.rules_name(pctx))}</code></td></tr>"
            "</table>"
            + (f"<h3>Reports that could not be produced</h3><ul>{fails}</ul>" if fails else "")
            + f"<h3>Software</h3>{versions}")
    return _section("Appendix", body, threshold=pctx.threshold, anchor="appendix")


#: The intervention report's sections in reading order: what ``notebooks/intervention_report.ipynb`` calls, one
#: cell each (``save_findings`` writes ``findings.json`` and shows nothing).
REPORT_SECTIONS: dict[str, Callable[[ReportContext], Section]] = {
    "title": title, "headline": headline, "participation": participation, "implementation": implementation,
    "profile": profile, "design": design,
    "balance": balance, "results": results, "subgroups": subgroups, "sensitivity": sensitivity,
    "limitations": limitations, "appendix": appendix, "save_findings": save_findings,
}

#: The portfolio summary's sections in reading order (``notebooks/portfolio_summary.ipynb``).
PORTFOLIO_SECTIONS: dict[str, Callable[[PortfolioContext], Section]] = {
    "portfolio_title": portfolio_title, "portfolio_decisions": portfolio_decisions,
    "portfolio_overview": portfolio_overview,
    "portfolio_forest": portfolio_forest, "portfolio_value": portfolio_value, "portfolio_theory": portfolio_theory,
    "portfolio_reach": portfolio_reach,
    "portfolio_commissioning": portfolio_commissioning, "portfolio_method": portfolio_method,
    "portfolio_glossary": portfolio_glossary, "portfolio_appendix": portfolio_appendix,
}


__all__ = [
    "REPORT_SECTIONS", "PORTFOLIO_SECTIONS",
    "PortfolioContext", "load_portfolio", "portfolio_title", "portfolio_decisions", "portfolio_overview",
    "portfolio_forest", "portfolio_value", "portfolio_theory", "portfolio_reach", "portfolio_commissioning",
    "portfolio_method", "portfolio_glossary", "portfolio_exports", "portfolio_appendix",
    "Section", "ReportContext", "load_context", "data_fingerprint", "figure_html", "html_of", "title", "headline",
    "participation", "implementation", "profile", "design", "balance", "results", "subgroups", "sensitivity",
    "limitations", "appendix", "findings", "save_findings", "attrition_steps", "profile_tables", "age_band", "age_band_labels",
    "package_versions", "DESIGN_WORDS",
]
