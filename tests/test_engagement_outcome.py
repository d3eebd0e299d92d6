"""Attendance as a protocol outcome: Wilson interval, t interval, dose bands, the completion rule.

References: Newcombe RG (1998) "Two-sided confidence intervals for the single
proportion: comparison of seven methods", Stat Med 17:857-872, Table I,
method 3 (Wilson score, no continuity correction): 81/263 -> 0.2553 to 0.3662
and 15/148 -> 0.0624 to 0.1605 (4 decimals, so tolerance 5e-5). The t interval
is checked against statsmodels' DescrStatsW.tconfint_mean (1e-12).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.analysis.engagement import dose_band_labels, dose_bands, run_engagement, wilson
from evalkit.protocol import Protocol


@pytest.mark.parametrize("k, n, lo, hi", [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605)])
def test_wilson_matches_newcombe_1998(k, n, lo, hi):
    got = wilson(k, n, 0.05)
    assert got == pytest.approx((lo, hi), abs=5e-5)


def test_dose_bands_cover_every_person_once():
    assert dose_band_labels([1, 4, 8, 12]) == ["none", "1-3", "4-7", "8-11", "12 or more"]
    assert dose_band_labels([1, 2]) == ["none", "1", "2 or more"]
    sessions = pd.Series([0, 0, 1, 3, 4, 7, 8, 11, 12, 30])
    assert dose_bands(sessions, [1, 4, 8, 12]) == [("none", 2), ("1-3", 2), ("4-7", 2), ("8-11", 2),
                                                    ("12 or more", 2)]


def _tables(n: int = 60, min_sessions: float | None = 6, seed: int = 3) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [f"P{i:016x}" for i in range(n)]
    part = pd.DataFrame({"person_id": ids, "intervention_id": "INT05", "start_date": pd.Timestamp("2020-06-01"),
                         "sex": "male", "locality": "x", "age_at_start": 15,
                         "exit_reason": rng.choice(["completed", "disengaged"], size=n)})
    rows = []
    attended_n = rng.integers(0, 12, size=n)
    for pid, k in zip(ids, attended_n):
        for j in range(12):
            rows.append({"person_id": pid, "intervention_id": "INT05",
                         "contact_date": pd.Timestamp("2020-06-01") + pd.Timedelta(days=7 * j),
                         "contact_type": "group", "attended": j < k})
    inter = pd.DataFrame({"intervention_id": ["INT05"], "completion_min_sessions": [min_sessions]})
    return {"participants": part, "contacts": pd.DataFrame(rows), "interventions": inter}, attended_n, part


def _protocol(measure: str, **extra) -> Protocol:
    return Protocol.model_validate({
        "intervention_id": "INT05", "title": "t", "question": "q",
        "designs": [{"type": "engagement", "outcomes": ["att"]}],
        "primary_outcomes": [{"kind": "engagement", "name": "att", "measure": measure, **extra}]})


def _run(protocol, tables, part):
    people = part.assign(age=15.0, index_date=part["start_date"])
    return run_engagement(protocol, tables, people, protocol.designs[0])


def test_completion_follows_completion_min_sessions():
    tables, attended, part = _tables()
    (res,) = _run(_protocol("completed", target=0.5), tables, part)
    k, n = int((attended >= 6).sum()), len(attended)
    assert res.ok and res.n == n
    assert res.estimate.estimate == pytest.approx(k / n, abs=1e-12)
    assert (res.estimate.ci_low, res.estimate.ci_high) == pytest.approx(wilson(k, n, 0.05), abs=1e-12)
    from scipy.stats import binomtest

    assert res.estimate.p_value == pytest.approx(binomtest(k, n, 0.5).pvalue, abs=1e-12)
    assert "at least 6 sessions" in res.details.completion_rule and "at least 6" in res.sentence
    assert sum(c for _, c in res.details.dose_bands) == n
    assert res.standardised is None and res.sms == 0  # describes take-up; never ranked as an effect
    assert res.n_comparison is None  # no comparison group: not a count of 0


def test_completion_falls_back_to_the_exit_reason():
    tables, _, part = _tables(min_sessions=None)
    tables["interventions"] = tables["interventions"].drop(columns="completion_min_sessions")
    (res,) = _run(_protocol("completed"), tables, part)
    k = int((part["exit_reason"] == "completed").sum())
    assert res.estimate.estimate == pytest.approx(k / len(part))
    assert "exit reason 'completed'" in res.details.completion_rule


def test_sessions_attended_mean_and_t_interval_match_statsmodels():
    from statsmodels.stats.weightstats import DescrStatsW

    tables, attended, part = _tables()
    (res,) = _run(_protocol("sessions_attended"), tables, part)
    ref = DescrStatsW(attended.astype(float))
    assert res.estimate.estimate == pytest.approx(ref.mean, abs=1e-12)
    assert (res.estimate.ci_low, res.estimate.ci_high) == pytest.approx(ref.tconfint_mean(0.05), abs=1e-12)


def test_a_share_that_would_reveal_a_small_count_is_not_estimated():
    tables, _, part = _tables(n=40, min_sessions=12)  # nobody attends 12 of 12: 0 completed is fine...
    tables["contacts"].loc[tables["contacts"]["person_id"] == part["person_id"].iloc[0], "attended"] = True
    (res,) = _run(_protocol("completed"), tables, part)  # ... but exactly 1 completed would show a count of 1
    assert not res.ok and "fewer than 10" in res.reason


def test_engagement_design_only_takes_engagement_outcomes(tmp_path):
    from evalkit.protocol import validate_protocol_file

    path = tmp_path / "p.yaml"
    path.write_text("intervention_id: INT05\ntitle: t\nquestion: q\ndesigns:\n  - type: engagement\n"
                    "    outcomes: [wb]\nprimary_outcomes:\n  - {kind: instrument, name: wb, instrument: SWEMWBS, "
                    "higher_is_better: true}\n")
    problems = validate_protocol_file(path)
    assert problems and problems[0].field == "designs[0].outcomes[0]" and problems[0].line == 6
