"""Implementation and dose: was the intervention delivered as planned, to whom, and how much?

:func:`implementation` reads what the data contract holds and the outcome
analysis does not use (planned places, contacts and attendance, completion
rules, exit reasons, onward referrals, referral dates) and returns an immutable
:class:`Implementation` of aggregates: reach against planned places, reach
against the cohort at risk by district, age band and ethnicity (each share with
a Wilson 95% interval), dosage (sessions attended), fidelity (share reaching
the intervention's minimum sessions, share of scheduled contacts attended),
completion, onward referrals taken up, and the primary outcome by dose,
labelled **not causal** (young people who attend more differ in other ways).

Intention to treat from referral: only possible where the data hold referrals
that never started; the result says whether they exist and how many.
:func:`implementation_html` renders it with disclosure control: every count of
people below the threshold is hidden, and so is any share that would reveal one.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from evalkit.report.disclosure import MARKER, is_small, safe_count, safe_share, suppress_counts
from evalkit.report.narrative import signed


@dataclass(frozen=True)
class Share:
    """k of n with a Wilson interval (proportions)."""

    k: int
    n: int
    low: float
    high: float

    @classmethod
    def of(cls, k: int, n: int, alpha: float = 0.05) -> "Share":
        if n <= 0:
            return cls(int(k), int(n), math.nan, math.nan)
        lo, hi = proportion_confint(int(k), int(n), alpha=alpha, method="wilson")
        return cls(int(k), int(n), float(lo), float(hi))

    @property
    def p(self) -> float:
        return self.k / self.n if self.n else math.nan

    def text(self, threshold: int, *, interval: bool = True) -> str:
        """'80% (74% to 85%)' (or '80%' with ``interval=False``), or the suppression marker when the share
        would reveal a small count."""
        shown = safe_share(self.k, self.n, threshold)
        if shown == MARKER or shown == "–" or not interval:
            return shown
        return f"{shown} ({100 * self.low:.0f}% to {100 * self.high:.0f}%)"


@dataclass(frozen=True)
class Implementation:
    """Aggregates of delivery for one intervention (counts are raw here; the HTML applies disclosure control)."""

    started: int
    planned_places: float | None
    completed: Share
    min_sessions: float | None
    reached_min: Share | None
    sessions_median: float
    sessions_q1: float
    sessions_q3: float
    attended: Share | None
    contact_types: tuple[tuple[str, int], ...]
    onward: Share | None
    onward_taken_up: Share | None
    reach: dict[str, tuple[tuple[str, int, int, float, float], ...]] = field(default_factory=dict)
    dose_response: tuple[tuple[str, Share | tuple[float, float, float, int]], ...] = ()
    dose_outcome: str = ""
    referred_not_started: int = 0
    exit_reasons: tuple[tuple[str, int], ...] = ()
    dose_model: Any = None  # evalkit.analysis.dose.DoseResponse (not causal), or None


def _cohort(tables: dict) -> pd.DataFrame | None:
    pool = tables.get("comparison_pool")
    if pool is None or "pool_source" not in pool:
        return None
    risk = pool.loc[pool["pool_source"] == "at_risk_list"]
    return risk if len(risk) else None


def _age(frame: pd.DataFrame) -> pd.Series:
    """Age at the index date (whole years), from age_at_index when given, else the date of birth."""
    born = pd.to_datetime(frame.get("date_of_birth"), errors="coerce")
    at = pd.to_datetime(frame.get("index_date"), errors="coerce")
    years = np.floor((at - born).dt.days / 365.25)
    if "age_at_index" in frame:
        years = pd.to_numeric(frame["age_at_index"], errors="coerce").fillna(years)
    return years


def _reach_by(part: pd.DataFrame, cohort: pd.DataFrame, column: str, alpha: float
              ) -> tuple[tuple[str, int, int, float, float], ...]:
    """(group, participants, cohort at risk, participants' share low, high) per group."""
    pc = part[column].astype("string").fillna("not known").value_counts()
    cc = cohort[column].astype("string").fillna("not known").value_counts()
    n = int(pc.sum())
    out = []
    def order(level: str) -> tuple:  # age bands by their first year, other groups alphabetically
        head = level.split("-")[0]
        return (0, int(head), "") if head.isdigit() else (1, 0, level)

    for level in sorted(set(pc.index) | set(cc.index), key=order):
        k = int(pc.get(level, 0))
        s = Share.of(k, n, alpha)
        out.append((str(level), k, int(cc.get(level, 0)), s.low, s.high))
    return tuple(out)


def implementation(protocol: Any, tables: dict, people: pd.DataFrame, *, intervention: dict | None = None,
                   outcome_by_person: pd.Series | None = None, outcome_label: str = "",
                   outcome_is_rate: bool = True, age_bands: list[int] | None = None,
                   baseline_by_person: pd.Series | None = None, baseline_label: str = "") -> Implementation:
    """Delivery aggregates for ``people`` (the protocol's population of participants).

    ``outcome_by_person`` (indexed by person_id) gives the primary outcome per participant for the
    dose-response table and model: a 0/1 event (``outcome_is_rate``) or a change score;
    ``baseline_by_person`` the baseline the model adjusts for (:mod:`evalkit.analysis.dose`, not causal).
    """
    alpha = protocol.alpha
    inter = intervention or {}
    ids = set(people["person_id"].astype(str))
    started = len(people)
    planned = inter.get("planned_places")
    planned = float(planned) if planned is not None and not pd.isna(planned) else None
    completed = Share.of(int((people["exit_reason"] == "completed").sum()), started, alpha)
    exits = people["exit_reason"].astype("string").fillna("not recorded").value_counts()
    contacts = tables.get("contacts")
    sessions = pd.Series(0.0, index=sorted(ids))
    attended = None
    types: tuple[tuple[str, int], ...] = ()
    if contacts is not None and len(contacts):
        mine = contacts.loc[(contacts["intervention_id"] == protocol.intervention_id)
                            & contacts["person_id"].astype(str).isin(ids)]
        att = mine["attended"].astype("boolean").fillna(False).astype(bool)
        sessions = mine.loc[att].groupby(mine["person_id"].astype(str)).size().reindex(sorted(ids), fill_value=0)
        sessions = sessions.astype(float)
        attended = Share.of(int(att.sum()), len(mine), alpha) if len(mine) else None
        types = tuple((str(k), int(v)) for k, v in mine.loc[att, "contact_type"].value_counts().items())
    min_sessions = inter.get("completion_min_sessions")
    min_sessions = float(min_sessions) if min_sessions is not None and not pd.isna(min_sessions) else None
    reached = Share.of(int((sessions >= min_sessions).sum()), started, alpha) if min_sessions else None
    onward = taken = None
    refs = tables.get("onward_referrals")
    if refs is not None and len(refs):
        mine = refs.loc[(refs["intervention_id"] == protocol.intervention_id) & refs["person_id"].astype(str).isin(ids)]
        referred = set(mine["person_id"].astype(str))
        onward = Share.of(len(referred), started, alpha)
        taken = Share.of(int(mine["taken_up"].astype("boolean").fillna(False).sum()), len(mine), alpha)
    reach: dict = {}
    cohort = _cohort(tables)
    if cohort is not None:
        from evalkit.labels import age_band

        bands = age_bands or protocol.age_bands
        p = people.assign(age_band=age_band(people["age"], bands)) if "age" in people else people
        c = cohort.assign(age_band=age_band(_age(cohort), bands))
        for label, col in (("District", "locality"), ("Age", "age_band"), ("Ethnicity", "ethnicity_group")):
            if col in p and col in c:
                reach[label] = _reach_by(p, c, col, alpha)
    dose: list = []
    if outcome_by_person is not None and min_sessions:
        y = outcome_by_person.copy()
        y.index = y.index.astype(str)
        y = y.dropna()
        dose_ids = sessions.reindex(y.index).fillna(0)
        for name, mask in ((f"fewer than {min_sessions:g} sessions", dose_ids < min_sessions),
                           (f"{min_sessions:g} sessions or more", dose_ids >= min_sessions)):
            vals = y[mask.to_numpy()]
            if outcome_is_rate:
                dose.append((name, Share.of(int(vals.sum()), len(vals), alpha)))
            else:
                n = len(vals)
                m = float(vals.mean()) if n else math.nan
                half = (float(vals.std(ddof=1)) / math.sqrt(n) * _t(n - 1, alpha)) if n > 1 else math.nan
                dose.append((name, (m, m - half, m + half, n)))
    dose_model = None
    if outcome_by_person is not None and len(sessions):
        from evalkit.analysis.dose import dose_response

        dose_model = dose_response(sessions, outcome_by_person, baseline_by_person, alpha=alpha,
                                   is_rate=outcome_is_rate, outcome_label=outcome_label,
                                   baseline_label=baseline_label)
    not_started = 0
    part_all = tables.get("participants")
    if part_all is not None and "start_date" in part_all:
        mine = part_all.loc[part_all["intervention_id"] == protocol.intervention_id]
        not_started = int(mine["start_date"].isna().sum())
    return Implementation(started=started, planned_places=planned, completed=completed, min_sessions=min_sessions,
                          reached_min=reached, sessions_median=float(sessions.median()) if len(sessions) else math.nan,
                          sessions_q1=float(sessions.quantile(0.25)) if len(sessions) else math.nan,
                          sessions_q3=float(sessions.quantile(0.75)) if len(sessions) else math.nan,
                          attended=attended, contact_types=types, onward=onward, onward_taken_up=taken, reach=reach,
                          dose_response=tuple(dose), dose_outcome=outcome_label, referred_not_started=not_started,
                          exit_reasons=tuple((str(k), int(v)) for k, v in exits.items()), dose_model=dose_model)


def _t(df: int, alpha: float) -> float:
    from scipy.stats import t

    return float(t.ppf(1 - alpha / 2, df))


# --------------------------------------------------------------------------- HTML
def implementation_html(imp: Implementation, threshold: int, *, itt_block: str = "",
                        label: Callable[[Any], str] | None = None, locality: str = "district",
                        started_shown: bool = True, published: Any = None) -> str:
    """The report section body (disclosure-controlled).

    ``itt_block`` is the "Counting everyone referred" part (:func:`evalkit.analysis.itt.itt_html`), shown in
    place of the plain count of referrals that never started. ``label`` turns a category code into words
    (the VRU configuration's ``label``) and ``locality`` is the VRU's word for a district.
    ``started_shown=False``: the report withholds the number who started (its participation flow does, when
    it and the primary result's sample differ by fewer than the threshold), so this section prints neither
    that number nor anything it follows from: the share of places, and the reach tables' counts (they add
    up to it); their shares stay. ``published``: the report's audited ledger
    (:class:`evalkit.report.disclosure.PublishedCounts`), which decides the dose table and the dose model's
    count with every other number the report prints.
    """
    e = html.escape
    t = threshold
    rows = []
    n = imp.started
    if imp.planned_places:
        fill = "" if is_small(n, t) or not started_shown else f" ({100 * n / imp.planned_places:.0f}% of places)"
        rows.append(("Reach against planned places", f"{safe_count(n, t) if started_shown else MARKER} young "
                     f"people started, against {imp.planned_places:,.0f} planned places{fill}"))

    def of_started(share: Share, key: str = "") -> str:
        """A share of those who started; without its interval when that number is withheld (the interval's
        width gives it away: 0 of n has upper bound 3.84/(n + 3.84)); the marker when the report's ledger
        withholds it."""
        if published is not None and published.entry_text(f"delivery:{key}") == MARKER:
            return MARKER
        return share.text(t, interval=started_shown)

    rows.append(("Completed", of_started(imp.completed, "completed")))
    if imp.min_sessions and imp.reached_min is not None:
        rows.append((f"Attended at least the {imp.min_sessions:g} sessions the service counts as a full dose",
                     of_started(imp.reached_min, "full dose")))
    if math.isfinite(imp.sessions_median) and not is_small(n, t):
        rows.append(("Sessions attended per young person", f"median {imp.sessions_median:g} "
                     f"(middle half {imp.sessions_q1:g} to {imp.sessions_q3:g})"))
    if imp.attended is not None:
        rows.append(("Scheduled contacts attended", imp.attended.text(t) + " (interval ignores that contacts "
                     "of one young person are alike, so it is too narrow)"))
    if imp.onward is not None:
        rows.append(("Referred on to another service", of_started(imp.onward, "referred on")))
    if imp.onward_taken_up is not None and imp.onward_taken_up.n:
        rows.append(("Onward referrals taken up", imp.onward_taken_up.text(t)))
    table = "".join(f"<tr><td>{e(a)}</td><td>{e(b)}</td></tr>" for a, b in rows)
    out = [f"<table class='kv'>{table}</table>",
           "<p class='small'>Percentages have Wilson 95% intervals. Counts below "
           f"{t} are hidden ({MARKER}), and so is any percentage that would reveal one.</p>"]
    if imp.contact_types and not is_small(n, t):
        total = sum(v for _, v in imp.contact_types)
        kinds = ", ".join(f"{k.replace('_', ' ')} {safe_share(v, total, t)}" for k, v in imp.contact_types)
        out.append(f"<p>How sessions were delivered: {e(kinds)}.</p>")
    for table, groups in imp.reach.items():
        heading = locality.capitalize() if table == "District" else table
        out.append(_reach_table(heading, groups, t, label, counts_shown=started_shown, published=published,
                                key=f"reach:{table}"))
    if imp.dose_response:
        out.append(_dose_table(imp, t, published))
    if imp.dose_model is not None and imp.dose_model.n >= 2 * t:
        n_text = published.entry_text("dose:model") if published is not None else None
        out.append(_dose_model_html(imp.dose_model, t, n_text))
    if itt_block:
        out.append(itt_block)
    elif imp.referred_not_started:
        out.append(f"<p>{safe_count(imp.referred_not_started, t)} young people were referred but never started: "
                   "the results above are for those who started.</p>")
    else:
        out.append("<p class='small'>The data hold no referrals that did not start, so an intention-to-treat "
                   "estimate from referral cannot be made: every result in this report is for young people who "
                   "started.</p>")
    return "".join(out)


def _reach_table(label: str, groups: tuple, t: int, words: Callable[[Any], str] | None = None, *,
                 counts_shown: bool = True, published: Any = None, key: str = "") -> str:
    """Participants and the cohort at risk per group, with primary and secondary suppression of both columns.

    ``published`` (the report's audited ledger, where the table's counts are a partition of those who
    started) decides the participants' counts and shares with everything else the report prints: with the
    number who started withheld, one or two groups' counts are withheld, not all of them. Without it (a
    table on its own), ``counts_shown=False`` withholds every participants count (they add up to the number
    who started) and the shares' intervals (their width gives the number away)."""
    from evalkit.report.disclosure import suppress_counts

    e = html.escape
    counts = pd.DataFrame({"Participants": [g[1] for g in groups], "Cohort at risk": [g[2] for g in groups]},
                          index=[g[0] for g in groups])
    shown = suppress_counts(counts, threshold=t, totals="row")
    n_p, n_c = int(counts["Participants"].sum()), int(counts["Cohort at risk"].sum())
    ledger = published is not None and published.entry_text(f"{key}:{groups[0][0]}") is not None
    rows = []
    for level, k, c, lo, hi in groups:
        hidden_c = shown.hidden.loc[level, "Cohort at risk"] != ""
        # with the counts withheld, an interval would give their total away (0 of n has upper bound 3.84/(n + 3.84))
        interval = f" ({100 * lo:.0f}% to {100 * hi:.0f}%)" if counts_shown else ""
        if ledger:
            count = published.entry_text(f"{key}:{level}")
            hidden_p = published.entry_text(f"{key}:{level}:share") == MARKER or \
                (count == MARKER and 0 < k < t)
        else:
            hidden_p = shown.hidden.loc[level, "Participants"] != ""
            count = str(shown.display.loc[level, "Participants"]) if counts_shown else MARKER
        share = MARKER if hidden_p else (f"{100 * k / n_p:.0f}%{interval}" if n_p else "–")
        cshare = MARKER if hidden_c else (f"{100 * c / n_c:.0f}%" if n_c else "–")
        name = words(level) if words is not None else str(level).replace("_", " ")
        rows.append(f"<tr><td>{e(name[:1].upper() + name[1:])}</td><td>{e(count)}"
                    f"</td><td>{e(share)}</td><td>{e(cshare)}</td></tr>")
    return (f"<h3>Reach by {e(label.lower())}</h3><table><thead><tr><th>{e(label)}</th><th>Participants</th>"
            f"<th>Share of participants{' (95% interval)' if counts_shown else ''}</th>"
            "<th>Share of the cohort at risk</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _dose_model_html(d: Any, t: int, n_text: str | None = None) -> str:
    """The continuous dose-response model: a sentence, the fitted curve, and the caution (not causal)."""
    from evalkit.analysis.dose import dose_plot
    from evalkit.report.common import figure_html

    e = html.escape
    s = d.slope
    if d.is_rate:
        per = (f"{signed(100 * s.estimate, 1)} percentage points ({s.level_label} interval "
               f"{signed(100 * s.ci_low, 1)} to {signed(100 * s.ci_high, 1)})")
    else:
        per = f"{signed(s.estimate, 2)} points ({s.level_label} interval {signed(s.ci_low, 2)} to {signed(s.ci_high, 2)})"
    from evalkit.analysis.designs import lower_first

    among = f" among young people with the same {d.baseline_label}" if d.baseline_label else ""
    what = lower_first(d.outcome_label.replace(" (share)", ""))
    return ("<h3>Outcome by number of sessions (a description, not a causal estimate)</h3>"
            f"<p>Across the {n_text or safe_count(d.n, t)} young people with a measured outcome, each extra session "
            f"attended went with a difference of {e(per)} in {e(what)}{e(among)}. This describes who attended; it "
            "does not show that more sessions would change anyone's outcome.</p>"
            + figure_html(dose_plot(d), alt="Outcome by sessions attended, fitted curve with its interval "
                                           "(not a causal estimate)", width="34em")
            + f"<p class='small'>{e(d.method)} The change per extra session comes from the same model with "
              "sessions as a straight line; the curve lets the relation bend.</p>")


def _dose_table(imp: Implementation, t: int, published: Any = None) -> str:
    """The outcome by band of sessions attended. The bands' young people add up to those with a measured
    outcome, a number the report prints elsewhere (the flow's complete follow-up, the dose model's sample):
    the report's ledger decides them with every other count (INT17: 28 + 40 beside 67 matched gave the one
    unmatched young person away). Without a ledger (a table on its own) they are suppressed as one table
    with their total."""
    e = html.escape
    ns = [val.n if isinstance(val, Share) else int(val[3]) for _, val in imp.dose_response]
    bands = pd.DataFrame({"n": ns}, index=[f"band {k}" for k in range(len(ns))])
    alone = suppress_counts(bands, threshold=t, totals="row").hidden["n"] != ""
    rows = []
    for k, (name, val) in enumerate(imp.dose_response):
        n = ns[k]
        text = published.entry_text(f"dose:band:{k}") if published is not None else None
        share = published.entry_text(f"dose:band:{k}:share") if published is not None else None
        hidden = text == MARKER if text is not None else bool(alone.iloc[k])
        if hidden:
            count = cell = MARKER
        elif isinstance(val, Share):
            count = text or f"{n:,}"
            cell = MARKER if share == MARKER else val.text(t)
        else:
            m, lo, hi, _ = val
            count, cell = text or f"{n:,}", f"{signed(m, 1)} ({signed(lo, 1)} to {signed(hi, 1)})"
        rows.append(f"<tr><td>{e(name)}</td><td>{e(count)}</td><td>{e(cell)}</td></tr>")
    return ("<h3>Outcome by dose (not a causal estimate)</h3><p class='category warn'>Young people who attend more "
            "sessions differ from those who attend fewer in ways that also affect the outcome (motivation, "
            "stability, risk), so this table does not show what more sessions would achieve.</p>"
            f"<table><thead><tr><th>Sessions attended</th><th>Young people</th><th>{e(imp.dose_outcome)} "
            f"(95% interval)</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


# --------------------------------------------------------------------------- intention to treat (words)
def _itt_value(e: Any, kind: str) -> str:
    """'-3.9 percentage points (95% interval -11.8 to +4.1)' in the outcome's units."""
    if kind == "reoffending":
        return (f"{signed(100 * e.estimate, 1)} percentage points ({e.level_label} interval {signed(100 * e.ci_low, 1)} to "
                f"{signed(100 * e.ci_high, 1)})")
    return (f"{signed(e.estimate, 2)} offences per young person ({e.level_label} interval {signed(e.ci_low, 2)} to "
            f"{signed(e.ci_high, 2)})")


def itt_sentence(itt: Any) -> str:
    """One sentence for an outcome's result block: the intention-to-treat estimate beside the per-protocol one."""
    return ("Counting everyone referred, including those who never started, with follow-up from the date of "
            f"referral (intention to treat): {_itt_value(itt.estimate, itt.kind)}.")


def itt_html(itts: list, threshold: int, *, n_not_started: int = 0, reason: str = "",
             questionnaires: bool = False, count_shown: bool = True) -> str:
    """The "Counting everyone referred" part of the delivery section (disclosure-controlled).

    ``n_not_started`` counts the referrals that never started when no estimate could be made (``reason``);
    ``count_shown=False`` withholds that number and the share who started (the report withholds the number
    who started, or the number referred). ``questionnaires`` adds that before-and-after questionnaire results cannot include them.
    """
    e = html.escape
    out = ["<h3>Counting everyone referred (intention to treat)</h3>"]
    n_ns = itts[0].n_not_started if itts else n_not_started
    if is_small(n_ns, threshold):
        out.append("<p>A few young people were referred but never started (fewer than "
                   f"{threshold}, so the number is not shown).")
    elif not count_shown:  # with the number referred it would give away the number who started
        out.append("<p>Some young people were referred but never started (the number is not shown: with the "
                   "number referred it would reveal a small group elsewhere in this report).")
    else:
        share = f" ({100 * itts[0].share_started:.0f}% of those referred started)" if itts else ""
        out.append(f"<p>{safe_count(n_ns, threshold)} young people were referred but never started{share}.")
    if itts:
        out.append(" The other results in this report are for those who started. Counting everyone referred, from "
                   "the date of referral, shows what referring a young person to the service achieved, including "
                   "those it never reached.</p>")
    else:
        out.append(" The results in this report are for those who started.</p>")
    if itts:
        rows = []
        for itt in itts:
            cace = itt.cace
            rows.append(f"<tr><td>{e(itt.label)}</td><td>{e(_itt_value(itt.per_protocol, itt.kind))}</td>"
                        f"<td>{e(_itt_value(itt.estimate, itt.kind))}</td>"
                        f"<td>{e(_itt_value(cace, itt.kind)) if cace is not None else '–'}</td></tr>")
        out.append("<table><thead><tr><th>Outcome</th><th>Those who started, against their matched comparison "
                   "group</th><th>Everyone referred, against theirs</th><th>Worked out for those who started "
                   "(adjusted, see below)</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
        out.append("<p class='small'>Negative numbers mean fewer offences than the comparison group. The last "
                   "column divides the result for everyone referred by the share who started (Bloom adjustment). "
                   "It is only right if being referred without ever starting changed nothing, and it should come "
                   "out close to the first column; if it does not, the two comparison groups differ.</p>")
    elif reason:
        out.append(f"<p class='small'>A result for everyone referred (intention to treat) could not be worked out: "
                   f"{e(reason)}.</p>")
    if questionnaires:
        out.append("<p class='small'>Questionnaire results before and after cannot include those who never "
                   "started: they filled in no questionnaires.</p>")
    return "".join(out)


__all__ = ["Share", "Implementation", "implementation", "implementation_html", "itt_html", "itt_sentence"]
