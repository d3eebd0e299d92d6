"""Status, referral and engagement measures: hand-computed small tables."""

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import DataError, MissingDataError
from evalkit.measures.attendance import engagement
from evalkit.measures.status import referral_outcomes, status_change, status_outcomes


def st(rows):
    return pd.DataFrame(rows, columns=["person_id", "intervention_id", "timepoint", "status_date", "domain", "value"])


STATUSES = st([
    ("A", "I1", "baseline", "2021-01-01", "ete", "neet"),
    ("A", "I1", "exit", "2021-06-01", "ete", "in_training"),
    ("A", "I1", "baseline", "2021-01-01", "substance_use", "daily"),
    ("A", "I1", "exit", "2021-06-01", "substance_use", "monthly"),
    ("A", "I1", "baseline", "2021-01-01", "peer_relationships", "2"),
    ("A", "I1", "exit", "2021-06-01", "peer_relationships", 4),
    ("B", "I1", "baseline", "2021-01-01", "ete", "employed"),
    ("B", "I1", "exit", "2021-05-01", "ete", "neet"),
    ("B", "I1", "exit", "2021-06-01", "ete", "in_education"),  # later date wins
    ("C", "I1", "baseline", "2021-01-01", "ete", "other"),
    ("C", "I1", "exit", "2021-06-01", "ete", "neet"),
    ("C", "I1", "exit", "2021-06-01", "family_relationships", "3"),
])


def test_status_outcomes():
    s = status_outcomes(STATUSES).set_index(["person_id", "timepoint"])
    assert s.loc[("A", "baseline"), "neet"] == 1 and s.loc[("A", "exit"), "neet"] == 0
    assert s.loc[("A", "exit"), "in_ete"] == 1
    assert s.loc[("A", "baseline"), "substance_use_level"] == 4 and s.loc[("A", "exit"), "substance_use_level"] == 2
    assert s.loc[("B", "exit"), "ete_status"] == "in_education"
    assert np.isnan(s.loc[("C", "baseline"), "neet"])  # "other" cannot be classified
    assert s.loc[("C", "exit"), "family_relationships"] == 3
    assert np.isnan(s.loc[("B", "baseline"), "peer_relationships"])
    assert list(status_outcomes(STATUSES).timepoint[:2]) == ["baseline", "exit"]


def test_status_change_directions():
    s = status_outcomes(STATUSES)
    neet = status_change(s, "neet").set_index("person_id")
    assert neet.loc["A", "direction"] == "improved" and neet.loc["B", "direction"] == "same"
    assert pd.isna(neet.loc["C", "direction"])  # baseline "other"
    sub = status_change(s, "substance_use_level").set_index("person_id")
    assert sub.loc["A", "change"] == -2 and sub.loc["A", "direction"] == "improved"
    peer = status_change(s, "peer_relationships").set_index("person_id")
    assert peer.loc["A", "change"] == 2 and peer.loc["A", "direction"] == "improved"
    with pytest.raises(MissingDataError):
        status_change(s, "happiness")


def test_status_conflicts_and_bad_values():
    bad = pd.concat([STATUSES, st([("A", "I1", "exit", "2021-06-01", "ete", "employed")])])
    with pytest.raises(DataError, match="same latest date"):
        status_outcomes(bad)
    bad = pd.concat([STATUSES, st([("D", "I1", "exit", "2021-06-01", "substance_use", "sometimes")])])
    with pytest.raises(DataError, match="not allowed"):
        status_outcomes(bad)


def test_status_row_order():
    a = status_outcomes(STATUSES)
    b = status_outcomes(STATUSES.sample(frac=1, random_state=4))
    pd.testing.assert_frame_equal(a, b)


def test_referrals():
    refs = pd.DataFrame({"person_id": ["A", "A", "A", "B"], "intervention_id": "I1",
                         "service": ["camhs", "housing", "camhs", "ete_provider"],
                         "referral_date": "2021-02-01", "taken_up": [True, "no", "yes", False]})
    parts = pd.DataFrame({"person_id": ["A", "B", "C"], "intervention_id": "I1"})
    r = referral_outcomes(refs, participants=parts).set_index("person_id")
    assert (r.loc["A", "n_referrals"], r.loc["A", "n_taken_up"]) == (3, 2)
    assert r.loc["A", "take_up_rate"] == pytest.approx(2 / 3) and r.loc["A", "services"] == "camhs, housing"
    assert r.loc["B", "take_up_rate"] == 0 and not r.loc["B", "any_taken_up"]
    assert r.loc["C", "n_referrals"] == 0 and np.isnan(r.loc["C", "take_up_rate"]) and not r.loc["C", "any_referral"]


def test_engagement_and_completion_rules():
    contacts = pd.DataFrame({
        "person_id": ["A"] * 5 + ["B"] * 3 + ["D"] * 2,
        "intervention_id": ["I1"] * 5 + ["I1"] * 3 + ["I2"] * 2,
        "contact_date": ["2021-01-05", "2021-01-12", "2021-01-19", "2021-01-26", "2021-02-02",
                         "2021-01-05", "2021-01-12", "2021-01-19", "2021-03-01", "2021-03-08"],
        "contact_type": "one_to_one",
        "duration_minutes": [60, 60, 30, 60, 45, 60, 60, 60, 90, 90],
        "attended": [True, True, False, True, True, True, "false", 0, 1, 1],
    })
    parts = pd.DataFrame({"person_id": ["A", "B", "C", "D"], "intervention_id": ["I1", "I1", "I1", "I2"],
                          "exit_reason": ["disengaged", "completed", "ongoing", "completed"]})
    ints = pd.DataFrame({"intervention_id": ["I1", "I2"], "completion_min_sessions": [4, None]})
    e = engagement(contacts, parts, interventions=ints).set_index("person_id")
    a, b, c, d = (e.loc[p] for p in "ABCD")
    assert (a.sessions_offered, a.sessions_attended, a.attendance_rate, a.minutes_attended) == (5, 4, 0.8, 225)
    assert a.days_engaged == 28 and a.completed == 1 and a.completed_by_exit_reason == 0  # I1 uses sessions
    assert (b.sessions_attended, b.completed, b.completed_by_exit_reason) == (1, 0, 1)
    assert (c.sessions_offered, c.minutes_attended) == (0, 0) and np.isnan(c.attendance_rate) and c.completed == 0
    assert np.isnan(c.completed_by_exit_reason)  # ongoing: not known
    assert np.isnan(d.completed_by_sessions) and d.completed == 1  # I2 has no session rule: exit reason
    with pytest.raises(MissingDataError, match="attended"):
        engagement(contacts.drop(columns="attended"))
