"""The linkage quality report: one HTML page from a :class:`~evalkit.link.quality.LinkageRun`.

Aggregates only, already disclosure-controlled in the summary; hidden values show as ``[c]``.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone

from evalkit.link.quality import GROUPINGS, LinkageRun, LinkageSummary
from evalkit.report.disclosure import MARKER

_LEVEL_WORDS = (("Exact match", "exactly the same"), ("All other comparisons", "different"),
                ("Damerau-Levenshtein", "one keying error apart"), ("Jaro-Winkler", "similar spelling"),
                ("Array intersection", "a surname part in common"))


def _num(value: float | None, spec: str) -> str:
    return "not estimated" if value is None else format(value, spec)


def _e(value: object) -> str:
    return html.escape(str(value))


def _pct(value: float | None, digits: int = 1) -> str:
    return MARKER if value is None else f"{100 * value:.{digits}f}%"


def _count(value: int | None) -> str:
    return MARKER if value is None else f"{value:,}"


def _interval(low: float | None, high: float | None) -> str:
    return MARKER if low is None or high is None else f"{100 * low:.1f}% to {100 * high:.1f}%"


def _level(text: str) -> str:
    """A comparison level in words (Splink's labels name its string functions)."""
    for start, words in _LEVEL_WORDS:
        if text.startswith(start):
            return words
    return text.lower()


def _floored_words(entry: str) -> str:
    """'date_of_birth: Same year' -> 'date of birth, same year'."""
    field, _, level = entry.partition(": ")
    return f"{field.replace('_', ' ')}, {_level(level)}"


def _summary_section(s: LinkageSummary) -> str:
    if s.rate is None:
        lead = (f"<p>The share of provider records linked to the <b>{_e(s.target)}</b> extract is hidden because "
                "the numbers are small.</p>")
    else:
        lead = (f"<p><b>{_pct(s.rate)}</b> of provider records ({_count(s.linked)} of {_count(s.records)}) were "
                f"linked to a record in the <b>{_e(s.target)}</b> extract (95% interval "
                f"{_interval(s.low, s.high)}). A record is linked when its best-matching record scores a match "
                f"weight of at least {s.threshold:.2f} (odds of about {2 ** s.threshold:,.1f} to 1 that the two "
                "records are the same person).</p>")
    if s.estimated_precision is None or s.estimated_recall is None:
        est = ("<p>The model could not estimate precision and recall at this threshold (no record had a "
               "candidate pair to estimate from).</p>")
    else:
        est = (f"<p>At this threshold the model estimates that <b>{_pct(s.estimated_precision)}</b> of the links "
               f"are correct (precision) and that <b>{_pct(s.estimated_recall)}</b> of the true links were found "
               "(recall). These estimates assume the model's probabilities are right; the clerical-review sample "
               "checks that.</p>")
    if s.threshold_rule:
        est += f"<p>The threshold is {_e(s.threshold_rule)}.</p>"
    if s.blocking_coverage is not None:
        est += (f"<p>Only pairs of records agreeing on at least one field were compared. To see what that "
                f"misses, {s.coverage_sample:,} provider records drawn at random were compared with every record "
                f"of the extract: the compared pairs held an estimated {_pct(s.blocking_coverage)} of their "
                "true links, and the recall above allows for the rest.</p>")
    if s.bands:
        rows = "".join(f"<tr><td>{_e(label)}</td><td class='num'>"
                       f"{'fewer than ' + str(s.disclosure_threshold) if n is None else f'{n:,}'}</td></tr>"
                       for label, n in s.bands)
        review = (f" The clerical-review sample (<code>{_e(s.review_file)}</code>, kept in the secure "
                  "environment because it shows names) is drawn from these bands." if s.review_file else "")
        est += ("<h3>Uncertain pairs</h3><p>Provider records whose best-matching record scored near the "
                f"threshold, by band of match weight (links at or above {s.threshold:.2f}).{review}</p>"
                "<table class='counts'><thead><tr><th>Match weight</th><th>Records</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>")
    for file, n, listed in s.unusable_dob:
        if n:
            more = f" and {n - len(listed):,} more" if n > len(listed) else ""
            est += (f"<p>{_e(file)}: {n:,} date(s) of birth are not possible dates (for example 31 February) and "
                    "were treated as missing, so those records were linked on their other details. Rows "
                    f"{_e(', '.join(str(r) for r in listed))}{more} (row 1 is the header).</p>")
    records_not_found = ("<p class='small'>A record that is not linked may belong to someone the "
                         f"{_e(s.target)} extract does not hold (no record is expected for everyone), or to someone "
                         "whose details were recorded too differently to be sure.</p>")
    warn = ""
    if s.warnings:
        items = "".join(f"<li>{_e(w)}</li>" for w in s.warnings)
        warn = (f"<div class='headline'><h3>Linkage differs between groups</h3><ul>{items}</ul>"
                "<p>Outcomes from police or health records can only be counted for linked young people. Where "
                "linkage differs by group, results for the groups linked less often rest on fewer people, and "
                "a difference between groups may partly reflect linkage. Check these groups in the clerical "
                "review before relying on comparisons between them.</p></div>")
    else:
        warn = (f"<p>No group's linkage rate differs from the overall rate by more than "
                f"{100 * s.margin:.0f} percentage points (groups of at least 30 records checked).</p>")
    tables = []
    for column, label in GROUPINGS:
        rows = [g for g in s.groups if g.variable == column]
        if not rows:
            continue
        body = "".join(f"<tr><td>{_e(g.group.replace('_', ' '))}</td><td class='num'>{_count(g.records)}</td>"
                       f"<td class='num'>{_count(g.linked)}</td><td class='num'>{_pct(g.rate)}</td>"
                       f"<td class='num'>{_interval(g.low, g.high)}</td></tr>" for g in rows)
        tables.append(f"<h3>By {label.lower()}</h3><table class='counts'><thead><tr><th>{_e(label)}</th>"
                      "<th>Records</th><th>Linked</th><th>Match rate</th><th>95% interval</th></tr></thead>"
                      f"<tbody>{body}</tbody></table>")
    params = "".join(
        f"<tr><td>{_e(c.replace('_', ' '))}</td><td>{_e(_level(level))}</td><td class='num'>{_num(m, '.4g')}</td>"
        f"<td class='num'>{_num(u, '.3g')}</td>"
        f"<td class='num'>{_num(m / u if (m is not None and u) else None, ',.2f')}</td></tr>"
        for c, level, m, u in s.parameters)
    if s.floored_levels:
        floored = ("<p class='small'>Where the data showed almost no true matches at a level of agreement, its "
                   "estimate was set so that it counts neither for nor against a match (and a disagreement "
                   "counts against a match by at most about 6.6), so that no single field can veto a link: "
                   f"{_e('; '.join(_floored_words(lvl) for lvl in s.floored_levels))}.</p>")
    else:
        floored = ""
    model = ("<h3>What the model learned (m and u)</h3><p>For each way two records can compare, <i>m</i> is how "
             "often it happens when the records are the same person and <i>u</i> when they are not; m divided by "
             "u is how much that comparison shifts the odds of a match. The model learned these from the data "
             "without any known links. The prior chance that two random records are the same person is "
             f"{s.prior:.3g}; {s.candidate_pairs:,} candidate pairs scored near or above the threshold.</p>"
             "<table class='params'><thead><tr><th>Field</th><th>Comparison</th><th>m</th><th>u</th>"
             f"<th>m / u</th></tr></thead><tbody>{params}</tbody></table>{floored}")
    return (f"<section><h2>Linkage to the {_e(s.target)} extract</h2>{lead}{est}{records_not_found}{warn}"
            f"{''.join(tables)}{model}</section>")


def linkage_report_html(run: LinkageRun) -> str:
    """The one-page linkage quality report."""
    from evalkit.run import wrap_page

    when = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    rules = "".join(f"<li><code>{_e(r)}</code></li>" for r in run.settings.get("blocking", []))
    body = ("<header class='report-title'><p class='kicker'>evalkit</p><h1>Record linkage quality</h1>"
            f"<p class='facts'><span>{when}</span></p>"
            "<p class='question'>How many young people on the provider returns could be found in the police and "
            "health records, how sure the links are, and whether some groups were found less often.</p></header>"
            + "".join(_summary_section(s) for s in run.summaries)
            + "<section><h2>How the records were linked</h2><p>Names were first written in plain letters "
            "(accents and other scripts transliterated, so José and Jose agree). Records were compared on first "
            "name (allowing nicknames, keying errors and an initial), surname (allowing keying errors and one "
            "part of a double-barrelled surname), first name and surname swapped, date of birth (allowing day "
            "and month swapped and one wrong digit), postcode (UK postcodes only, allowing a recent move "
            "nearby), sex and, where both files give it, town, with Splink's probabilistic model (Fellegi and "
            "Sunter). Only pairs agreeing on at least one of these were compared:</p>"
            f"<ul>{rules}</ul><p>The linked files hold keyed pseudonymous ids only: no name, date of birth or "
            f"postcode leaves the linkage step. {MARKER}: hidden because a count, or the number not linked, is "
            "below the disclosure threshold, or because it would reveal such a count.</p></section>")
    return wrap_page(body, title="Record linkage quality")


__all__ = ["linkage_report_html"]
