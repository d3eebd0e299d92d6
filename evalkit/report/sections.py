"""The notebook-facing façade: one function per report section.

The report notebooks hold no statistics. Each cell calls one function here and
displays what it returns: a :class:`Section` (self-contained HTML, figures
embedded as PNG data URIs) built from aggregates only. Per-design analysis lives
in ``evalkit.analysis.runner*``; this module loads the context, applies
disclosure control to every count it shows, and lays the sections out.

Typical use (what ``notebooks/intervention_report.ipynb`` does)::

    ctx = load_context(protocol_path, data_src, output_dir=out)
    headline(ctx); participation(ctx); profile(ctx); design(ctx); balance(ctx)
    results(ctx); subgroups(ctx); sensitivity(ctx); limitations(ctx); appendix(ctx)
    save_findings(ctx)
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from evalkit.errors import EvalkitError, MissingDataError, SpecError
from evalkit.protocol import Protocol, check_data, load_protocol
from evalkit.report.disclosure import counts_html, safe_count, safe_flow, safe_html, safe_json, suppress_counts

#: Packages whose versions the appendix lists.
VERSIONED = ("evalkit", "numpy", "pandas", "scipy", "statsmodels", "lifelines", "linearmodels", "matplotlib",
             "duckdb", "pydantic", "pandera", "papermill", "nbconvert")

#: Each design's name and what it does, in plain English (the report's design table).
DESIGN_WORDS = {
    "prepost": ("Before and after",
                "Participants' scores at the start and at the end are compared. There is no comparison group, so "
                "changes that would have happened anyway (growing up, regression to the mean) cannot be ruled out."),
    "matched": ("Matched comparison",
                "Each participant is compared with a similar young person who did not take part, chosen on age, sex, "
                "ethnicity, previous offending and risk factors. Differences that were not recorded may remain."),
    "did": ("Difference in differences",
            "Offending before and after the start is compared between participants and their matched comparison "
            "group, so stable differences between the groups cancel out."),
    "area_trend": ("Area trend against baseline",
                   "The area's indicators in the year are compared with the three years before. Other changes in "
                   "the area at the same time cannot be ruled out."),
    "area_did": ("Area difference in differences",
                 "The change in districts where the programme ran is compared with the change in similar districts "
                 "where it did not."),
}


# --------------------------------------------------------------------------- display objects
@dataclass(frozen=True, repr=False)
class Section:
    """A piece of the report: HTML built from aggregates, shown as-is by Jupyter."""

    html: str

    def __repr__(self) -> str:  # the plain-text twin Jupyter stores beside the HTML: keep it short
        return f"<report section, {len(self.html):,} characters of HTML>"

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:  # readable outside Jupyter
        return self.html


def figure_html(fig: Any, *, alt: str, width: str = "100%") -> str:
    """A matplotlib figure as an ``<img>`` with a PNG data URI (and closes the figure)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f"<figure><img alt='{html.escape(alt)}' style='max-width:{width}' "
            f"src='data:image/png;base64,{data}'/></figure>")


def html_of(obj: Any) -> str:
    """HTML for anything a section may show: a Section, a result object, a frame, a figure, an HTML
    string, or a list of these."""
    if obj is None:
        return ""
    if isinstance(obj, Section):
        return obj.html
    if hasattr(obj, "savefig"):
        return figure_html(obj, alt=getattr(obj, "_suptitle", None) and obj._suptitle.get_text() or "figure")
    if hasattr(obj, "_repr_html_"):
        return obj._repr_html_()
    if isinstance(obj, pd.DataFrame):
        return obj.to_html(border=0, index=False, escape=True)
    if isinstance(obj, str):  # already HTML (callers escape their text)
        return obj
    if isinstance(obj, (list, tuple)):
        return "".join(html_of(item) for item in obj)
    return f"<p>{html.escape(str(obj))}</p>"


def _section(title: str, body: str, *, anchor: str, threshold: int, lead: str = "") -> Section:
    """A titled section; every count of people in its text passes :func:`safe_html` (last line of defence)."""
    lead_html = f"<p class='lead'>{lead}</p>" if lead else ""
    return Section(safe_html(f"<section id='{anchor}'><h2>{html.escape(title)}</h2>{lead_html}{body}</section>",
                             threshold))


def _pending(what: str) -> str:
    return f"<p class='pending'>{html.escape(what)}</p>"


# --------------------------------------------------------------------------- context
@dataclass
class ReportContext:
    """Everything one report needs: the protocol, the data tables and where they came from.

    Row-level tables live here, inside the kernel, and never reach an output:
    sections show aggregates only.
    """

    protocol: Protocol
    protocol_path: Path
    protocol_text: str
    data_src: Path
    tables: dict[str, pd.DataFrame] = field(repr=False)
    fingerprint: str
    output_dir: Path | None = None
    cfg: Any = None

    @property
    def threshold(self) -> int:
        return self.protocol.disclosure_threshold

    @property
    def intervention(self) -> dict:
        """The intervention's row in the interventions table (empty for the VRU-wide protocol)."""
        table = self.tables.get("interventions")
        if table is None or "intervention_id" not in table:
            return {}
        rows = table.loc[table["intervention_id"] == self.protocol.intervention_id]
        return rows.iloc[0].to_dict() if len(rows) else {}

    @cached_property
    def participants(self) -> pd.DataFrame:
        """This intervention's participants, population filter of the protocol applied.

        The same rows the analysis uses (:func:`evalkit.analysis.data.population`), so every count a
        report or its ``findings.json`` shows agrees: two counts of nearly the same group would reveal the
        small difference by subtraction.
        """
        from evalkit.analysis.data import population

        return population(self.protocol, self.tables)

    @cached_property
    def analysis(self) -> Any:
        """The per-design analysis (``evalkit.analysis.runner.analyse_intervention``), run once per report."""
        from evalkit.analysis.runner import analyse_intervention

        return analyse_intervention(self.protocol, self.tables, cfg=self.cfg)


_TABLE_CACHE: dict[tuple, tuple[dict[str, pd.DataFrame], str]] = {}


def load_context(protocol_path: str | Path, data_src: str | Path, *, output_dir: str | Path | None = None,
                 seed: int | None = None) -> ReportContext:
    """Read the protocol and the data for one report (``seed`` overrides the protocol's).

    Tables and the data fingerprint are cached per process, keyed on the data
    source's path, size and modification time, so a warm kernel rendering many
    reports reads the data once.
    """
    protocol_path = Path(protocol_path)
    protocol = load_protocol(protocol_path)
    if seed is not None:
        protocol = protocol.model_copy(update={"seed": int(seed)})
    data_src = Path(data_src)
    tables, fingerprint = _tables_and_fingerprint(data_src)
    check_data(protocol, tables, data_src)  # wrong data for this protocol: a plain error, not an empty report
    return ReportContext(protocol=protocol, protocol_path=protocol_path,
                         protocol_text=protocol_path.read_text(encoding="utf-8"), data_src=data_src,
                         tables=tables, fingerprint=fingerprint,
                         output_dir=Path(output_dir) if output_dir is not None else None, cfg=_config())


def _config() -> Any:
    try:
        from evalkit.data.config import load_config
    except ImportError:
        return None
    return load_config()


def data_files(src: Path) -> list[Path]:
    """The files a data source consists of: the store file, or a folder's table files (``<table>.csv`` etc.)."""
    if src.is_file():
        return [src]
    if not src.is_dir():
        raise MissingDataError(f"{src}: the data source does not exist. Fix: give a DuckDB store or a folder of "
                               "data files.")
    from evalkit.data.readers import is_table_file

    return sorted(p for p in src.iterdir() if p.is_file() and is_table_file(p))  # .csv, .csv.gz, .parquet, .xlsx


def data_fingerprint(src: str | Path) -> str:
    """SHA-256 identifying the data: the hash of the sorted SHA-256s of its table files.

    For a folder these are its table files; for a DuckDB store, the files it
    ingested (recorded in its ``_ingests`` table). So the same provider files give
    the same fingerprint whether a report read the folder or the store.
    """
    src = Path(src)
    if src.is_file():
        digests = _store_digests(src)
    else:
        from evalkit.data.store import file_sha256

        digests = sorted(file_sha256(p) for p in data_files(src))
    return hashlib.sha256("\n".join(digests).encode("ascii")).hexdigest()


def _store_digests(db: Path) -> list[str]:
    import duckdb

    from evalkit.data.store import INGESTS_TABLE, file_sha256

    try:
        con = duckdb.connect(str(db), read_only=True)
        try:
            rows = con.execute(f"SELECT DISTINCT sha256 FROM {INGESTS_TABLE}").fetchall()
        finally:
            con.close()
        return sorted(r[0] for r in rows)
    except duckdb.Error:  # not an evalkit store: hash the file itself
        return [file_sha256(db)]


def _tables_and_fingerprint(src: Path) -> tuple[dict[str, pd.DataFrame], str]:
    files = data_files(src)
    key = (str(src.resolve()), tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files))
    if key not in _TABLE_CACHE:
        from evalkit.data.load import load_tables

        _TABLE_CACHE.clear()  # keep one data source per process
        _TABLE_CACHE[key] = (load_tables(src), data_fingerprint(src))
    return _TABLE_CACHE[key]


# --------------------------------------------------------------------------- sections
def _delegate(ctx: ReportContext, name: str) -> str | None:
    """The body ``evalkit.report.render.section_<name>`` writes (None: nothing to show from the analysis)."""
    from evalkit.report import render as analysis_render

    return getattr(analysis_render, f"section_{name}")(ctx)


def title(ctx: ReportContext) -> Section:
    """Title block: intervention, provider, question."""
    p, row = ctx.protocol, ctx.intervention
    facts = []
    for label, key in (("Provider", "provider"), ("Type", "intervention_type"), ("Prevention level", "prevention_level"),
                       ("Area", "area"), ("Funding", "funding_stream")):
        if row.get(key) is not None and str(row.get(key)) != "nan":
            facts.append(f"<span><b>{label}:</b> {html.escape(str(row[key]).replace('_', ' '))}</span>")
    return Section(
        f"<header class='report-title'><p class='kicker'>Evaluation report · {html.escape(p.intervention_id)}</p>"
        f"<h1>{html.escape(p.title)}</h1><p class='facts'>{' '.join(facts)}</p>"
        f"<p class='question'><b>The question:</b> {html.escape(p.question)}</p></header>")


def headline(ctx: ReportContext) -> Section:
    """The headline box: what was found, how sure, and what it means for commissioning."""
    body = _delegate(ctx, "headline")
    if body is None:
        n = len(ctx.participants)
        body = (f"<p>{safe_count(n, ctx.threshold)} young people took part in the evaluation period.</p>"
                + _pending("None of the protocol's designs estimates its first primary outcome, so there is no "
                           "headline result. Fix: add that outcome to a design in the protocol."))
    return Section(safe_html(f"<div class='headline' id='headline'><h2>What we found</h2>{html_of(body)}</div>",
                             ctx.threshold))


def attrition_steps(ctx: ReportContext) -> list[tuple[str, int]]:
    """Counts of young people at each step, from referral to measured outcome."""
    from evalkit.analysis.data import participants_all

    everyone = participants_all(ctx.protocol, ctx.tables)
    part = ctx.participants
    steps = [("Referred", len(everyone)), ("Started in the period", len(part))]
    if "exit_reason" in part:
        steps.append(("Completed", int((part["exit_reason"] == "completed").sum())))
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


def participation(ctx: ReportContext) -> Section:
    """Who took part and who was lost at each step (attrition chevron), disclosure-controlled."""
    body = _delegate(ctx, "participation")
    if body is None:
        if ctx.protocol.intervention_id == "VRU":
            return _section("Who took part", "<p>This report covers whole areas, not individual participants.</p>",
                            threshold=ctx.threshold, anchor="participation")
        from evalkit.report.plots import attrition_chevron

        steps = attrition_steps(ctx)
        shown = safe_flow(steps, ctx.threshold, spare_first=True)  # small steps and small differences hidden
        table = pd.DataFrame(shown, columns=["Step", "Young people"])
        body = (figure_html(attrition_chevron(shown), alt="Attrition: young people at each step")
                + counts_html(table.set_index("Step")))
    return _section("Who took part", html_of(body), threshold=ctx.threshold, anchor="participation",
                    lead="How many young people were referred, started, and had their outcomes measured. "
                         f"Counts below {ctx.threshold} are hidden ([c]).")


def age_band_labels(edges: list[int]) -> list[str]:
    """The bands' labels, youngest first: [10, 14, 18, 26] → '10-13', '14-17', '18-25'."""
    return [f"{lo}-{hi - 1}" for lo, hi in zip(edges[:-1], edges[1:])]


def age_band(age: pd.Series, edges: list[int]) -> pd.Series:
    """Age bands from the protocol's edges (:func:`age_band_labels`); 'other' outside them or unknown."""
    return pd.cut(age, bins=edges, right=False, labels=age_band_labels(edges)).astype("string").fillna("other")


def profile_tables(ctx: ReportContext) -> dict[str, pd.DataFrame]:
    """Counts of participants (and of the comparison pool, where a design uses one) by characteristic."""
    from evalkit.analysis.data import _age

    part = ctx.participants  # has the age at start (analysis_data.population)
    groups = {"Participants": part.assign(age_band=age_band(part["age"], ctx.protocol.age_bands))}
    pool = ctx.tables.get("comparison_pool")
    matched = [d for d in ctx.protocol.designs if d.type == "matched"]
    if matched and pool is not None and len(pool):
        source = matched[0].pool_source
        if source != "any" and "pool_source" in pool:
            pool = pool.loc[pool["pool_source"] == source]
        groups["Comparison pool"] = pool.assign(age_band=age_band(_age(pool, "age_at_index", "index_date"),
                                                                  ctx.protocol.age_bands))
    out = {}
    for column, label in (("sex", "Sex"), ("ethnicity_group", "Ethnic group"), ("age_band", "Age band"),
                          ("locality", "Locality")):
        parts = {name: frame[column].astype("string").fillna("not known").value_counts()
                 for name, frame in groups.items() if column in frame}
        if parts:
            table = pd.DataFrame(parts).fillna(0).astype("int64")
            # Age bands read youngest first ('5-9' before '10-13'), not in string order; the rest alphabetically.
            first = age_band_labels(ctx.protocol.age_bands) if column == "age_band" else []
            table = table.reindex([v for v in first if v in table.index]
                                  + sorted(v for v in table.index if v not in first))
            table.index = [str(i).replace("_", " ") for i in table.index]
            table.index.name = label
            out[label] = table
    return out


def profile(ctx: ReportContext) -> Section:
    """Profile of participants (against the comparison pool where there is one), disclosure-controlled."""
    body = _delegate(ctx, "profile")
    if body is None:
        if ctx.protocol.intervention_id == "VRU":
            return _section("Who took part", "", threshold=ctx.threshold, anchor="profile")
        parts = []
        for label, table in profile_tables(ctx).items():
            parts.append(f"<h3>{html.escape(label)}</h3>"
                         + suppress_counts(table, threshold=ctx.threshold, totals="row")._repr_html_())
        body = "".join(parts) or _pending("No participant characteristics were supplied.")
    return _section("Profile of participants", html_of(body), threshold=ctx.threshold, anchor="profile",
                    lead="Characteristics of the young people who took part, and of the group they are compared "
                         "with.")


def design(ctx: ReportContext) -> Section:
    """The design(s) and the strength of evidence each can give (Maryland Scientific Methods Scale)."""
    return _section("How we evaluated it", _delegate(ctx, "design"), threshold=ctx.threshold, anchor="design",
                    lead="The design decides how sure we can be: level 1 (before and after only) is weakest, level 5 "
                         "(randomised) strongest.")


def _simple(ctx: ReportContext, name: str, heading: str, lead: str) -> Section:
    return _section(heading, _delegate(ctx, name), threshold=ctx.threshold, anchor=name, lead=lead)


def balance(ctx: ReportContext) -> Section:
    """Balance of the matched groups (standardised mean differences, love plot)."""
    return _simple(ctx, "balance", "Were the groups comparable?",
                   "After matching, the two groups should look alike on everything recorded before the start.")


def results(ctx: ReportContext) -> Section:
    """Results per outcome with confidence intervals and plots."""
    return _simple(ctx, "results", "Results", "Each outcome in turn, with its confidence interval.")


def subgroups(ctx: ReportContext) -> Section:
    """Results by sex, ethnic group, age band and locality, where numbers allow."""
    return _simple(ctx, "subgroups", "Results for groups of young people",
                   "Shown only where every group is large enough to report safely.")


def sensitivity(ctx: ReportContext) -> Section:
    """How robust the results are (hidden bias, attrition, alternative settings)."""
    return _simple(ctx, "sensitivity", "How robust is this?",
                   "Checks of how much the conclusions depend on assumptions.")


def limitations(ctx: ReportContext) -> Section:
    """Limitations written from the diagnostics."""
    return _simple(ctx, "limitations", "Limitations", "What the reader should keep in mind.")


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
        f"<h3>The protocol ({html.escape(ctx.protocol_path.name)})</h3>"
        f"<pre class='protocol'>{html.escape(ctx.protocol_text)}</pre>"
    )
    return _section("Appendix", body + _delegate(ctx, "appendix"), threshold=ctx.threshold, anchor="appendix",
                    lead="The pre-specified protocol and what is needed to reproduce this report.")


def findings(ctx: ReportContext) -> dict:
    """Aggregates the portfolio summary reads (JSON-safe; no row-level data).

    ``findings.json`` sits in the report folder that gets shared, so it follows the report's disclosure rule:
    a count below the threshold is ``null`` with ``"[c]"`` beside it, and every sentence passes
    :func:`~evalkit.report.disclosure.safe_json`.
    """
    n = int(len(ctx.participants))
    small = 0 < n < ctx.threshold
    base = {"intervention_id": ctx.protocol.intervention_id, "title": ctx.protocol.title,
            "intervention_type": ctx.protocol.intervention_type, "n_participants": None if small else n,
            "n_participants_shown": safe_count(n, ctx.threshold), "fingerprint": ctx.fingerprint}
    from evalkit.analysis.runner import findings as analysis_findings

    base.update(analysis_findings(ctx))
    return safe_json(base, ctx.threshold)


def save_findings(ctx: ReportContext) -> Section:
    """Write ``findings.json`` into the output folder for the portfolio summary; show nothing."""
    if ctx.output_dir is not None:
        path = Path(ctx.output_dir) / "findings.json"
        path.write_text(json.dumps(findings(ctx), indent=2, default=str), encoding="utf-8")
    return Section("")


# --------------------------------------------------------------------------- portfolio
@dataclass
class PortfolioContext:
    """The portfolio summary's inputs: every protocol, the data, and each report's saved findings."""

    protocols: list[Protocol]
    data_src: Path
    tables: dict[str, pd.DataFrame] = field(repr=False)
    fingerprint: str
    reports_dir: Path
    findings: list[dict]
    statuses: dict[str, dict]
    output_dir: Path | None = None
    cfg: Any = None
    threshold: int = 10


def load_portfolio(protocol_dir: str | Path, data_src: str | Path, reports_dir: str | Path, *,
                   output_dir: str | Path | None = None) -> PortfolioContext:
    """Read every protocol in ``protocol_dir``, the data, and the findings each report saved."""
    protocol_dir, reports_dir, data_src = Path(protocol_dir), Path(reports_dir), Path(data_src)
    protocols = []
    for path in sorted(protocol_dir.glob("*.yaml")):
        try:
            protocols.append(load_protocol(path))
        except SpecError:
            continue  # an invalid protocol is listed as a failed report on the index page
    tables, fingerprint = _tables_and_fingerprint(data_src)
    found = []
    for p in protocols:
        path = reports_dir / p.intervention_id / "findings.json"
        if path.is_file():
            found.append(json.loads(path.read_text(encoding="utf-8")))
    status_path = reports_dir / "run_status.json"
    statuses = json.loads(status_path.read_text(encoding="utf-8")) if status_path.is_file() else {}
    threshold = min((p.disclosure_threshold for p in protocols), default=10)
    return PortfolioContext(protocols=protocols, data_src=data_src, tables=tables, fingerprint=fingerprint,
                            reports_dir=reports_dir, findings=found, statuses=statuses,
                            output_dir=Path(output_dir) if output_dir else None, cfg=_config(), threshold=threshold)


def _portfolio_simple(pctx: PortfolioContext, name: str, heading: str, lead: str) -> Section:
    """A portfolio section whose body ``evalkit.report.portfolio.section_<name>`` writes."""
    from evalkit.report import portfolio

    return _section(heading, getattr(portfolio, f"section_{name}")(pctx), threshold=pctx.threshold, anchor=name,
                    lead=lead)


def portfolio_title(pctx: PortfolioContext) -> Section:
    """Title block of the portfolio summary."""
    vru = getattr(pctx.cfg, "vru_name", None) or "Violence Reduction Unit"
    n = sum(1 for p in pctx.protocols if p.intervention_id != "VRU")
    return Section(f"<header class='report-title'><p class='kicker'>Portfolio summary</p>"
                   f"<h1>{html.escape(str(vru))}: what works, for the commissioning board</h1>"
                   f"<p class='facts'>{n} interventions evaluated against their pre-specified protocols.</p></header>")


def portfolio_overview(pctx: PortfolioContext) -> Section:
    """One row per intervention: type, participants (disclosure-controlled), cost, report status."""
    inter = pctx.tables.get("interventions", pd.DataFrame()).set_index("intervention_id", drop=False) \
        if "interventions" in pctx.tables else pd.DataFrame()
    # Participants who started in each protocol's period, the same count as each report's "Started in
    # the period" and the cost table: an all-time count beside it would reveal the difference by
    # subtraction (those referred outside the period), which the report hides when small.
    from evalkit.analysis import data as ad

    counts = {}
    for p in pctx.protocols:
        try:
            counts[p.intervention_id] = len(ad.population(p, pctx.tables))
        except EvalkitError:
            counts[p.intervention_id] = 0
    rows = []
    for p in pctx.protocols:
        if p.intervention_id == "VRU":
            continue
        i = p.intervention_id
        n = int(counts.get(i, 0))
        cost = inter.loc[i, "annual_cost"] if i in inter.index and "annual_cost" in inter else None
        status = pctx.statuses.get(i, {}).get("status", "not run")
        link = f"<a href='{i}/{i}.html'>{html.escape(p.title)}</a>" if status == "ok" else html.escape(p.title)
        rows.append({"ID": i, "Intervention": link, "Type": str(p.intervention_type or "").replace("_", " "),
                     "Participants": safe_count(n, pctx.threshold),
                     "Annual cost": f"£{cost:,.0f}" if cost is not None else "–",
                     "Cost per participant": (f"£{cost / n:,.0f}" if cost is not None and n >= pctx.threshold
                                              else "[c]" if cost is not None and n else "–"),
                     "Report": status})
    body = pd.DataFrame(rows).to_html(index=False, border=0, escape=False)
    return _section("The interventions", body, threshold=pctx.threshold, anchor="overview",
                    lead="Young people who started in each protocol's period; counts below "
                         f"{pctx.threshold} are hidden ([c]), and so is a cost per participant that would reveal one.")


def portfolio_forest(pctx: PortfolioContext) -> Section:
    """Forest plot of every intervention's primary effect (standardised) with CIs."""
    return _portfolio_simple(pctx, "forest", "Effects on the primary outcome",
                             "Standardised so that different outcomes can be compared; right of the line is better "
                             "for young people.")


def portfolio_value(pctx: PortfolioContext) -> Section:
    """Cost per participant and per outcome achieved."""
    return _portfolio_simple(pctx, "value", "Cost and value", "What each intervention costs per young person and "
                             "per improved outcome.")


def portfolio_reach(pctx: PortfolioContext) -> Section:
    """Reach and equity: participants by group against the cohort at risk."""
    return _portfolio_simple(pctx, "reach", "Reach and equity", "Who the portfolio reaches, against the young "
                             "people at risk.")


def portfolio_commissioning(pctx: PortfolioContext) -> Section:
    """A commissioning category per intervention, from documented rules."""
    return _portfolio_simple(pctx, "commissioning", "What this means for commissioning",
                             "A category per intervention from documented, configurable rules.")


def portfolio_appendix(pctx: PortfolioContext) -> Section:
    """Data fingerprint, versions and the reports that failed."""
    failed = {k: v for k, v in pctx.statuses.items() if v.get("status") != "ok"}
    fails = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(str(v.get('error', '')))}</li>"
                    for k, v in sorted(failed.items()))
    versions = _versions_html()
    body = (f"<table class='kv'><tr><td>Data fingerprint (SHA-256)</td><td><code>{pctx.fingerprint}</code></td></tr>"
            f"<tr><td>Protocols</td><td>{len(pctx.protocols)}</td></tr></table>"
            + (f"<h3>Reports that could not be produced</h3><ul>{fails}</ul>" if fails else "")
            + f"<h3>Software</h3>{versions}")
    return _section("Appendix", body, threshold=pctx.threshold, anchor="appendix")


__all__ = [
    "PortfolioContext", "load_portfolio", "portfolio_title", "portfolio_overview", "portfolio_forest",
    "portfolio_value", "portfolio_reach", "portfolio_commissioning", "portfolio_appendix",
    "Section", "ReportContext", "load_context", "data_fingerprint", "figure_html", "html_of", "title", "headline",
    "participation", "profile", "design", "balance", "results", "subgroups", "sensitivity", "limitations",
    "appendix", "findings", "save_findings", "attrition_steps", "profile_tables", "age_band", "age_band_labels",
    "package_versions",
]
