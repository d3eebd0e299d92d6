"""An attacker on a whole report's counts: every count printed anywhere, and what follows from them.

Written independently of :mod:`evalkit.report.disclosure` (its own extraction patterns, its own
relations between counts, scipy's LP solver), so a gap in the library's rules shows up here.

The attacker collects every count a rendered report and its ``findings.json`` print (count tables, the
key-value tables of results, numbers before a word for people, "k of n", "had n", "n=n", count fields of
the JSON), and treats every count of the analysis whose true value appears among them as known (the
reader cannot tell two 105s apart, so this is the cautious reading). The analysis says how the counts
nest: the participation flow (each step a subset of the one before, the branches of the one they
start from), each outcome's participants (a subset of those who started, for before-and-after results
of those with a baseline) and the subgroups (disjoint groups adding up to the primary result's
participants). For every withheld count and every group between two nested counts, two linear
programmes give the smallest and largest value consistent with everything known; a range narrower
than one person reveals it.
"""

from __future__ import annotations

import html
import math
import re

import numpy as np
from scipy.optimize import linprog

NOUN = (r"(?:young people|people|persons?|participants?|individuals?|children|girls|boys|referrals?|records?|"
        r"pairs?|events?|offenders?|victims?|cases?)")
_INT = r"(\d{1,3}(?:,\d{3})+|\d+)(?![.,]?\d|%)"
TEXT_COUNTS = (
    re.compile(r"(?<![\d.,£\-+])" + _INT + r"\s+(?:[a-z]+\s+){0,2}?" + NOUN + r"\b", re.I),
    re.compile(r"\bof\s+" + _INT + r"\s+(?:[a-z]+\s+){0,3}?" + NOUN, re.I),
    re.compile(r"(?<![\d.,£\-+])" + _INT + r"\s+of\s+[\d,]+\s+(?:[a-z]+\s+){0,3}?" + NOUN, re.I),
    re.compile(r"\bhad\s+" + _INT + r"(?=[.,;)]|\s|$)"),
    re.compile(r"\bn\s?=\s?" + _INT),
)
KV_LABELS = ("participants", "comparison group", "young people", "events")


def _ints(text: str) -> list[int]:
    return [int(m.replace(",", "")) for m in re.findall(r"\d{1,3}(?:,\d{3})+|\d+", text)]


def printed_counts(page: str, findings: dict | None = None) -> set[int]:
    """Every count of people (or events) a rendered page and its findings print."""
    out: set[int] = set()
    page = re.sub(r"<style.*?</style>|<pre class=[\"']protocol[\"']>.*?</pre>", " ", page, flags=re.S)
    for table in re.findall(r"<table[^>]*>.*?</table>", page, flags=re.S):
        kv = "class='kv'" in table or 'class="kv"' in table
        for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S):
            cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
                     for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)]
            if kv and cells and any(w in cells[0].lower() for w in KV_LABELS):
                out.update(_ints(" ".join(cells[1:])))
            elif not kv:
                out.update(int(c.replace(",", "")) for c in cells if re.fullmatch(r"\d{1,3}(?:,\d{3})*|\d+", c))
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    for pattern in TEXT_COUNTS:
        out.update(int(m.replace(",", "")) for m in pattern.findall(text))
    if findings is not None:
        out |= _json_counts(findings)
    return out


def _json_counts(value, key: str = "") -> set[int]:
    out: set[int] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            out |= _json_counts(v, k)
    elif isinstance(value, list):
        for v in value:
            out |= _json_counts(v, key)
    elif isinstance(value, str):
        out |= printed_counts(f"<p>{html.escape(value)}</p>")
        if key.startswith("n") and re.fullmatch(r"\d{1,3}(?:,\d{3})*", value):
            out.add(int(value.replace(",", "")))
    elif isinstance(value, int) and not isinstance(value, bool):
        if key == "df":
            out |= {value + 1, value + 2}  # n - 1 (paired), n1 + n2 - 2
        elif key.startswith("n") and key != "n_needed":
            out.add(value)
    return out


def count_relations(analysis) -> tuple[dict[str, int], list[tuple[str, str]], list[tuple[str, list[str]]]]:
    """(counts by name, (superset, subset) pairs, (total, parts) partitions) of one analysis."""
    values: dict[str, int] = {}
    nested: list[tuple[str, str]] = []
    partitions: list[tuple[str, list[str]]] = []
    steps = list(analysis.attrition)
    trunk = None
    last_in_branch: dict[str, str] = {}
    for _k, (label, n) in enumerate(steps):
        name = f"flow:{label}"
        values[name] = int(n)
        if ":" in label:
            branch = label.split(":")[0]
            parent = last_in_branch.get(branch, trunk)
            last_in_branch[branch] = name
        else:
            parent, trunk = trunk, name
        if parent is not None:
            nested.append((parent, name))
    started = "flow:Started in the period" if "flow:Started in the period" in values else None
    primary = None
    for o in analysis.outcomes:
        if not o.ok or o.design in ("area_trend", "area_did"):
            continue
        name = f"outcome:{o.design}:{o.outcome}"
        values[name] = int(o.n)
        parent = started
        att = getattr(o.result, "attrition", None)
        if o.design == "prepost" and att is not None:
            base = f"baseline:{o.outcome}"
            values[base] = int(att.n_baseline)
            if started:
                nested.append((started, base))
            parent = base
        if parent:
            nested.append((parent, name))
        p = analysis.primary
        if p is not None and p.outcome == o.outcome and p.design == o.design:
            primary = name
    for s in analysis.subgroups:
        if s.rows and primary:
            parts = []
            for r in s.rows:
                values[f"subgroup:{s.variable}:{r['group']}"] = int(r["n"])
                parts.append(f"subgroup:{s.variable}:{r['group']}")
            if sum(values[q] for q in parts) == values[primary]:
                partitions.append((primary, parts))
    return values, nested, partitions


def revealed(values: dict[str, int], nested, partitions, known: set[int], threshold: int = 10) -> list[str]:
    """Withheld counts and small groups between nested counts that the known counts pin down."""
    names = list(values)
    diffs = [f"{a} - {b}" for a, b in nested]
    var = {v: i for i, v in enumerate(names + diffs)}
    a_eq, b_eq = [], []

    def eq(terms: dict[str, float], rhs: float) -> None:
        row = np.zeros(len(var))
        for v, c in terms.items():
            row[var[v]] += c
        a_eq.append(row)
        b_eq.append(rhs)

    for name, value in values.items():
        if value in known:
            eq({name: 1}, value)
    for (a, b), d in zip(nested, diffs):
        eq({a: 1, b: -1, d: -1}, 0)  # a = b + those in a but not in b
    for total, parts in partitions:
        eq({total: 1, **{p: -1 for p in parts}}, 0)
    truth = {**values, **{d: values[a] - values[b] for (a, b), d in zip(nested, diffs)}}
    targets = [n for n in names if values[n] not in known] \
        + [d for d in diffs if 0 < truth[d] < threshold]
    out = []
    for t in targets:
        obj = np.zeros(len(var))
        obj[var[t]] = 1
        lo = linprog(obj, A_eq=np.array(a_eq), b_eq=b_eq, bounds=(0, None), method="highs")
        hi = linprog(-obj, A_eq=np.array(a_eq), b_eq=b_eq, bounds=(0, None), method="highs")
        assert lo.status == 0, f"the relations do not hold for the true counts ({t})"
        top = np.inf if hi.status == 3 else -hi.fun
        if top - lo.fun < 0.5:
            out.append(f"{t} = {truth[t]}")
    return out


def derived_counts(page: str, values: dict[str, int]) -> set[int]:
    """Counts a reader adds up or subtracts from what the delivery section prints.

    * a "Reach by ..." table lists every participant who started once, by group: with no group hidden, its
      counts add up to the number who started;
    * "n young people were referred but never started", beside the number referred, gives the number who
      started.
    """
    out: set[int] = set()
    for table in re.findall(r"<h3>Reach by[^<]*</h3>\s*<table.*?</table>", page, flags=re.S):
        cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
                 for c in re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td>", table)]
        if cells and all(re.fullmatch(r"\d{1,3}(?:,\d{3})*", c) for c in cells):
            out.add(sum(int(c.replace(",", "")) for c in cells))
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    referred = values.get("flow:Referred")
    for m in re.findall(r"(\d[\d,]*) young people were referred but never started", text):
        if referred is not None:
            out.add(referred - int(m.replace(",", "")))
    return out


def _cells(table: str) -> list[list[str]]:
    return [[html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row,
                                                                                  flags=re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)]


def dose_sums(page: str) -> set[int]:
    """The "Outcome by dose" table: with every band's count printed, their sum is the number with a measured
    outcome (the flow's complete follow-up, or both questionnaires)."""
    out: set[int] = set()
    for table in re.findall(r"<h3>Outcome by dose[^<]*</h3>.*?(<table.*?</table>)", page, flags=re.S):
        counts = [r[1] for r in _cells(table)[1:] if len(r) > 1]
        if counts and all(re.fullmatch(r"\d{1,3}(?:,\d{3})*", c) for c in counts):
            out.add(sum(int(c.replace(",", "")) for c in counts))
    return out


def _whole(lo: float, hi: float) -> int | None:
    """The one whole number in [lo, hi], if there is exactly one."""
    a, b = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
    return a if a == b else None


def profile_attack(page: str, profile, exact: tuple[str, ...], threshold: int = 10) -> tuple[int, list[str]]:
    """Shares x published bases in the profile table, with exact matching copying the comparison group's share.

    For every share of a characteristic among the participants: printed, or (for a variable matched exactly)
    read off the matched comparison group's column, times the participants' printed number, pins the count
    when only one whole number fits the rounding; with two categories of sex known, the rest (other or not
    known) follows. A recovery is a count of 1 to threshold-1 (or a rest of that size) the report hid.
    Returns (derivations tried, recoveries).
    """
    tried, found = 0, []
    if profile is None or profile.empty:
        return 0, []
    m = re.search(r"<th>Characteristic</th>.*?</table>", page, flags=re.S)
    if not m:
        return 0, []
    rows = _cells("<tr>" + m.group(0))
    head = rows[0]
    try:
        n = int(rows[1][1].replace(",", ""))
    except (IndexError, ValueError):
        return 0, []
    part, comp = 1, next((i for i, h in enumerate(head) if h.lower() == "matched comparison"), None)
    part_group = head[1]
    truth = {str(c): int(k) for c, k in zip(profile["characteristic"], profile[(part_group, "count")])
             if not (isinstance(k, float) and math.isnan(k))}
    known: dict[str, int] = {}
    for r in rows[2:]:
        label = r[0]
        if label not in truth:
            continue
        text = r[part]
        sex = label in ("Male", "Female")
        if not text.endswith("%") and comp is not None and sex and "sex" in exact:
            text = r[comp]
        if not text.endswith("%"):
            continue
        tried += 1
        p = float(text[:-1])
        k = _whole((p - 0.5) / 100 * n, (p + 0.5) / 100 * n)
        if k is None:
            continue
        known[label] = k
        hid = r[part] == "[c]"
        if hid and k == truth[label] and (0 < k < threshold or 0 < n - k < threshold):
            found.append(f"profile {label}: {k} of {n}")
    if "Male" in known and "Female" in known:
        tried += 1
        rest = n - known["Male"] - known["Female"]
        true_rest = n - truth.get("Male", 0) - truth.get("Female", 0)
        if rest == true_rest and 0 < rest < threshold:
            found.append(f"profile other or not known sex: {rest}")
    return tried, found


def attack_report(analysis, page: str, findings: dict, threshold: int = 10) -> list[str]:
    """What the whole report gives away: [] when nothing withheld or small can be worked out."""
    return attack_counted(analysis, page, findings, threshold)[1]


def attack_counted(analysis, page: str, findings: dict, threshold: int = 10, exact: tuple[str, ...] = ()
                   ) -> tuple[int, list[str]]:
    """(derivations tried, what they recover): the counts' LP (every withheld count and every small group
    between nested counts, from every printed count, the reach tables' and the dose table's sums), and the
    profile's shares x bases with exact matching."""
    values, nested, partitions = count_relations(analysis)
    known = printed_counts(page, findings) | dose_sums(page)
    if values.get("flow:Referred") in known:
        known |= derived_counts(page, values)
    else:
        known |= derived_counts(page, {k: v for k, v in values.items() if k != "flow:Referred"})
    tried = len([n for n in values if values[n] not in known]) + sum(1 for a, b in nested
                                                                     if 0 < values[a] - values[b] < threshold)
    found = revealed(values, nested, partitions, known, threshold)
    more, prof = profile_attack(page, getattr(analysis, "profile", None), exact, threshold)
    return tried + more, found + prof


__all__ = ["printed_counts", "derived_counts", "count_relations", "revealed", "attack_report", "attack_counted",
           "dose_sums", "profile_attack"]
