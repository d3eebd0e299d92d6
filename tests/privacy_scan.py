"""What a privacy reviewer checks in a folder of rendered reports, as plain functions.

Shared by tests/test_run.py (a small fixture) and tests/test_reports_render.py
(the shipped synthetic data). Deliberately written independently of
``evalkit.report.disclosure`` (broader patterns, no shared regexes), so a gap
in the library's rules shows up here instead of being repeated.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

PERSON_ID = re.compile(r"P[0-9a-f]{16}")
#: A whole number as shown in a count table ("7", "1,234").
INTEGER = re.compile(r"\d{1,3}(,\d{3})*")
#: Nouns a number in a sentence can count (people, their records, events).
NOUNS = (r"(?:rows?|young people|people|persons?|participants?|participant\(s\)|individuals?|children|girls|boys|"
         r"referrals?|records?|events?|offenders?|victims?|cases?)")
#: A small number, up to two words, then a noun: "Only 4 participants", "3 more young people".
SMALL_NOUN = re.compile(r"(?<![\d.,£\-+/])\b([1-9])\b(?![.,/%]?\d)(?:\s+[a-z]+){0,2}?\s+" + NOUNS + r"\b", re.I)
#: "k of n <noun>" where the part, the whole or the rest is small.
K_OF_N = re.compile(r"(?<![\d.,])\b(\d[\d,]*) of (\d[\d,]*)\s+(?:[a-z]+\s+){0,2}?" + NOUNS + r"\b", re.I)


def visible_text(page: str) -> str:
    """What a reader of an HTML page sees as text: no tags, styles, images or the protocol listing."""
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    page = re.sub(r"<pre class=[\"']protocol[\"']>.*?</pre>", " ", page, flags=re.S)  # the protocol, as written
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(page))


def small_counts_in_text(text: str, threshold: int = 10) -> list[str]:
    """Phrases in ``text`` that state a count of people below ``threshold`` (or reveal one as k of n)."""
    hits = [m.group(0) for m in SMALL_NOUN.finditer(text)]
    hits += [m.group(0) for m in re.finditer(r"\bn\s?=\s?[1-9]\b(?![.,]?\d)", text)]
    for m in K_OF_N.finditer(text):
        k, n = int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))
        if any(0 < v < threshold for v in (k, n, n - k)):
            hits.append(m.group(0))
    return hits


def count_cells(page: str) -> list[str]:
    """Every cell of every count table (class 'counts'), tags stripped."""
    cells = []
    for table in re.findall(r"<table[^>]*class=[\"'][^\"']*counts[^\"']*[\"'].*?</table>", page, flags=re.S):
        cells += re.findall(r"<td[^>]*>(.*?)</td>", table, flags=re.S)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in cells]


def small_count_cells(page: str, threshold: int = 10) -> list[int]:
    """Whole numbers 1..threshold-1 shown in count tables."""
    values = [int(c.replace(",", "")) for c in count_cells(page) if INTEGER.fullmatch(c)]
    return [v for v in values if 0 < v < threshold]


def flow_differences(page: str, threshold: int = 10) -> list[tuple[str, str, int]]:
    """Small differences between shown steps of the participation table ("Step" / "Young people").

    A step is compared with the nearest shown step before it in its own branch (labels "<branch>: ...") or,
    for a branch's first step and for unbranched steps, with the nearest shown unbranched step before it.
    """
    m = re.search(r"<th>Step</th><th>Young people</th>.*?</table>", page, flags=re.S)
    if not m:
        return []
    rows = re.findall(r"<tr><td>(.*?)</td><td[^>]*>(.*?)</td></tr>", m.group(0), flags=re.S)
    shown: list[tuple[str, int]] = []
    bad = []
    for label, value in rows:
        label = html.unescape(label)
        if not INTEGER.fullmatch(value.strip()):
            continue
        n = int(value.replace(",", ""))
        branch = label.split(":")[0] if ":" in label else None
        before = [(lab, v) for lab, v in shown if (":" not in lab) or (branch and lab.split(":")[0] == branch)]
        if before and 0 < before[-1][1] - n < threshold:
            bad.append((before[-1][0], label, before[-1][1] - n))
        shown.append((label, n))
    return bad


def findings_leaks(findings: dict, threshold: int = 10) -> list[str]:
    """Small counts in a findings.json: numbers under count-like keys, and counts stated in its sentences."""
    bad = []

    def walk(value, key: str = "", area: bool = False) -> None:
        if isinstance(value, dict):
            area = area or value.get("design") in ("area_trend", "area_did")  # df there counts districts
            for k, v in value.items():
                walk(v, k, area)
        elif isinstance(value, list):
            for v in value:
                walk(v, key, area)
        elif isinstance(value, str):
            bad.extend(f"{key}: {hit}" for hit in small_counts_in_text(value, threshold))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if key == "df" and not area and 0 < value + 1 < threshold:  # df = n - 1 (or fewer)
                bad.append(f"df = {value}")
            elif (key in {"n", "n_comparison"} or key.startswith(("n_", "count"))) and key != "n_needed" \
                    and 0 < value < threshold:
                bad.append(f"{key} = {value}")

    walk(findings)
    return bad


def check_folder(out: Path, *, ids: set[str] = frozenset(), dobs: set[str] = frozenset(),
                 threshold: int = 10) -> None:
    """Assert that nothing written under ``out`` shows an id, a date of birth or a small count."""
    dob = re.compile("|".join(re.escape(d) for d in sorted(dobs))) if dobs else None
    for path in sorted(out.rglob("*")):
        if path.suffix not in {".html", ".ipynb", ".json"}:
            continue
        where = path.relative_to(out)
        text = path.read_text(encoding="utf-8")
        # ids in the contract's pseudonym format by pattern; a few others (e.g. a fixture's) one by one
        found = PERSON_ID.search(text) or next((re.search(re.escape(i), text) for i in ids
                                                if len(ids) < 2000 and i in text), None)
        assert not found, f"participant id {found.group(0)} in {where}"
        if dob is not None:
            hit = dob.search(text)
            assert not hit, f"a date of birth ({hit.group(0)}) in {where}"
        if path.suffix == ".html":
            assert not small_count_cells(text, threshold), f"{where}: small count in a table"
            hits = small_counts_in_text(visible_text(text), threshold)
            assert not hits, f"{where}: small count in the text: {hits[:3]}"
            diffs = flow_differences(text, threshold)
            assert not diffs, f"{where}: two shown steps differ by a small number: {diffs}"
        elif path.name == "findings.json":
            leaks = findings_leaks(json.loads(text), threshold)
            assert not leaks, f"{where}: {leaks[:3]}"
        elif path.suffix == ".ipynb":
            nb = json.loads(text)
            for cell in nb["cells"]:
                for o in cell.get("outputs", []):
                    assert o.get("output_type") != "error", f"{where}: a traceback is stored"
                    assert o.get("output_type") != "stream", f"{where}: printed output is stored: {o.get('text')}"
                    plain = "".join(o.get("data", {}).get("text/plain", ""))
                    assert plain.startswith("<report section"), f"{where}: an output that is not a section: " \
                                                                 f"{plain[:80]}"
            for cell in nb["cells"]:
                for o in cell.get("outputs", []):
                    page = "".join(o.get("data", {}).get("text/html", ""))
                    hits = small_counts_in_text(visible_text(page), threshold)
                    assert not hits, f"{where}: small count in the text: {hits[:3]}"
        elif path.name == "run_status.json":
            for rid, status in json.loads(text).items():
                assert not re.search(r"\d{4}-\d{2}-\d{2}", status.get("error", "")), f"{rid}: a date in its error"
