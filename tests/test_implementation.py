"""Implementation and dose (evalkit.implementation) on a small frame computed by hand.

The Wilson interval is checked against its closed form (Wilson 1927), written out here, not statsmodels.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from evalkit.implementation import Share, implementation, implementation_html
from evalkit.protocol import load_protocol

P = load_protocol(Path(__file__).resolve().parents[1] / "protocols" / "INT03.yaml")


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_share_is_the_wilson_interval():
    s = Share.of(31, 80)
    assert (s.low, s.high) == pytest.approx(wilson(31, 80), abs=1e-12)
    assert s.text(10) == "39% (29% to 50%)"
    assert Share.of(5, 80).text(10) == "[c]" and Share.of(75, 80).text(10) == "[c]"  # the rest would be small


def _frames(n: int = 40):
    ids = [f"P{i:016x}" for i in range(n)]
    people = pd.DataFrame({"person_id": ids, "exit_reason": ["completed"] * 24 + ["disengaged"] * (n - 24),
                           "age": [12 + (i % 8) for i in range(n)],
                           "locality": ["Nottingham"] * 30 + ["Ashfield"] * (n - 30),
                           "ethnicity_group": ["white"] * 25 + ["black"] * 11 + ["asian"] * (n - 36)})
    # person i attended i % 16 sessions and missed 2
    rows = []
    for i, pid in enumerate(ids):
        one = {"person_id": pid, "intervention_id": "INT03", "contact_type": "one_to_one"}
        rows += [{**one, "attended": True}] * (i % 16)
        rows += [{**one, "attended": False}] * 2
    contacts = pd.DataFrame(rows)
    refs = pd.DataFrame({"person_id": ids[:20], "intervention_id": "INT03", "taken_up": [True] * 15 + [False] * 5})
    pool = pd.DataFrame({"person_id": [f"Q{i}" for i in range(200)], "pool_source": "at_risk_list",
                         "index_date": "2020-06-01", "date_of_birth": "2005-01-01",
                         "locality": ["Nottingham"] * 100 + ["Ashfield"] * 100, "ethnicity_group": "white"})
    return people, {"contacts": contacts, "onward_referrals": refs, "comparison_pool": pool,
                    "participants": people.assign(intervention_id="INT03", start_date="2020-05-01")}


def test_delivery_aggregates_by_hand():
    people, tables = _frames()
    imp = implementation(P, tables, people, intervention={"planned_places": 50, "completion_min_sessions": 12})
    assert imp.started == 40 and imp.planned_places == 50
    assert (imp.completed.k, imp.completed.n) == (24, 40)
    # sessions i % 16 for i = 0..39: 12 or more for i%16 in 12..15 -> 4 + 4 + 4 (i = 12-15, 28-31; 44+ absent)
    sessions = [i % 16 for i in range(40)]
    assert imp.reached_min.k == sum(s >= 12 for s in sessions) == 8
    assert imp.sessions_median == pd.Series(sessions).median()
    assert (imp.attended.k, imp.attended.n) == (sum(sessions), sum(sessions) + 80)
    assert (imp.onward.k, imp.onward_taken_up.k, imp.onward_taken_up.n) == (20, 15, 20)
    district = {g[0]: g[1:3] for g in imp.reach["District"]}
    assert district == {"Ashfield": (10, 100), "Nottingham": (30, 100)}
    assert imp.referred_not_started == 0


def test_html_hides_small_counts_and_says_dose_is_not_causal():
    people, tables = _frames()
    y = pd.Series([1.0] * 15 + [0.0] * 25, index=people["person_id"])
    imp = implementation(P, tables, people, intervention={"planned_places": 50, "completion_min_sessions": 12},
                         outcome_by_person=y, outcome_label="Reoffended")
    page = implementation_html(imp, 10)
    assert "40 young people started, against 50 planned places (80% of places)" in page
    assert "not a causal estimate" in page and "intention-to-treat" in page
    # ethnicity: asian = 4 is hidden, and black = 11 too (secondary: the total 40 would reveal it).
    eth = page.split("Reach by ethnicity")[1]
    assert ">Asian</td><td>[c]<" in eth and ">Black</td><td>[c]<" in eth and "11" not in eth.split("White")[0]
    assert "Attended at least the 12 sessions" in page


def test_dose_bands_do_not_give_a_small_band_away_by_subtraction():
    """The bands of sessions add up to those with a measured outcome (40 here, printed elsewhere): 8 people with
    12 or more sessions are hidden, so the 32 with fewer must be too (40 - 32 = 8)."""
    people, tables = _frames()
    y = pd.Series([1.0] * 15 + [0.0] * 25, index=people["person_id"])
    imp = implementation(P, tables, people, intervention={"planned_places": 50, "completion_min_sessions": 12},
                         outcome_by_person=y, outcome_label="Reoffended")
    assert [v.n for _, v in imp.dose_response] == [32, 8]
    table = implementation_html(imp, 10).split("Outcome by dose")[1].split("</table>")[0]
    import re

    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", table)
    assert [r[0] for r in rows] == ["fewer than 12 sessions", "12 sessions or more"]
    assert [r[1] for r in rows] == ["[c]", "[c]"] and [r[2] for r in rows] == ["[c]", "[c]"]


def test_number_who_started_is_not_given_away_when_the_report_withholds_it():
    """With started_shown=False (the report's flow withholds the number who started), the delivery section
    prints neither that number (40) nor what it follows from: the share of places, the reach counts (they add
    up to it), or the intervals of shares of it (0 of n has Wilson upper bound 3.84 / (n + 3.84))."""
    import re

    people, tables = _frames()
    imp = implementation(P, tables, people, intervention={"planned_places": 50, "completion_min_sessions": 12})
    shown = implementation_html(imp, 10)
    assert "40 young people started" in shown and "(80% of places)" in shown
    page = implementation_html(imp, 10, started_shown=False)
    assert "[c] young people started, against 50 planned places</td>" in page and "% of places" not in page
    assert not re.search(r"\b40\b", page)
    assert "<td>Completed</td><td>60%</td>" in page  # 24 of 40, no interval
    for table in re.findall(r"<h3>Reach by.*?</table>", page, flags=re.S):
        rows = re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td>", table)
        assert rows and all(count == "[c]" and "to" not in share for count, share in rows), rows
