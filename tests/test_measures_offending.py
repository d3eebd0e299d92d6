"""Proven reoffending (Justice Data Lab rules): hand-built timelines at every
boundary, plus an independent DuckDB SQL implementation of the same rules on
random data (date + INTERVAL arithmetic, a different code path from pandas)."""

import duckdb
import numpy as np
import pandas as pd
import pytest

from evalkit.errors import DataError, MissingDataError, SpecError
from evalkit.measures.offending import offending_outcomes, prior_offending, summarise_offending

END = "2023-12-31"


def off(person, date, group="theft_offences", outcome="conviction", outcome_date=None, sentence="community"):
    return dict(person_id=person, offence_date=date, offence_group=group, outcome=outcome,
                outcome_date=outcome_date or date, sentence=sentence)


def run(index_dates: dict, offences: list, **kw):
    idx = pd.DataFrame({"person_id": list(index_dates), "index_date": list(index_dates.values())})
    cols = ["person_id", "offence_date", "offence_group", "outcome", "outcome_date", "sentence"]
    o = pd.DataFrame(offences, columns=cols)
    kw.setdefault("data_end", END)
    return offending_outcomes(idx, o, **kw).set_index("person_id")


def test_window_boundaries():
    # index 2021-03-10: window (2021-03-10, 2022-03-10]; proven by 2022-09-10
    r = run(
        {"ON_INDEX": "2021-03-10", "LAST_DAY": "2021-03-10", "DAY_AFTER": "2021-03-10", "BEFORE": "2021-03-10",
         "PROVEN_LAST": "2021-03-10", "PROVEN_LATE": "2021-03-10", "NONE": "2021-03-10"},
        [
            off("ON_INDEX", "2021-03-10"),
            off("LAST_DAY", "2022-03-10"),
            off("DAY_AFTER", "2022-03-11"),
            off("BEFORE", "2021-01-01"),
            off("PROVEN_LAST", "2021-06-01", outcome_date="2022-09-10"),
            off("PROVEN_LATE", "2021-06-01", outcome_date="2022-09-11"),
        ],
    )
    expected = {"ON_INDEX": 0, "LAST_DAY": 1, "DAY_AFTER": 0, "BEFORE": 0, "PROVEN_LAST": 1, "PROVEN_LATE": 0, "NONE": 0}
    for p, v in expected.items():
        assert r.loc[p, "reoffended"] == v, p
    assert r.loc["LAST_DAY", "days_to_first"] == 365
    assert np.isnan(r.loc["NONE", "days_to_first"])
    assert r["followup_complete"].all()


@pytest.mark.parametrize("outcome,proven", [("no_further_action", 0), ("pending", 0), ("charge", 0), ("summons", 0),
                                            ("community_resolution", 0), ("caution", 1), ("youth_caution", 1),
                                            ("youth_conditional_caution", 1), ("conviction", 1)])
def test_only_proven_outcomes_count(outcome, proven):
    r = run({"A": "2021-01-01"}, [off("A", "2021-05-01", outcome=outcome)])
    assert r.loc["A", "reoffended"] == proven and r.loc["A", "n_offences"] == proven


def test_incomplete_followup_is_excluded_not_a_non_reoffender():
    # index 2022-06-01: proven_by 2023-12-01 <= END -> complete
    # index 2022-07-01: proven_by 2024-01-01 > END -> incomplete, one day short
    r = run({"OK": "2022-06-30", "SHORT": "2022-07-01", "SHORT_OFF": "2023-01-01"},
            [off("SHORT_OFF", "2023-03-01", outcome_date="2023-05-01")])
    assert r.loc["OK", "followup_complete"] and r.loc["OK", "reoffended"] == 0
    assert not r.loc["SHORT", "followup_complete"] and np.isnan(r.loc["SHORT", "reoffended"])
    assert np.isnan(r.loc["SHORT", "n_offences"]) and np.isnan(r.loc["SHORT", "custody"])
    attrs = offending_outcomes(
        pd.DataFrame({"person_id": ["OK", "SHORT"], "index_date": ["2022-06-30", "2022-07-01"]}),
        pd.DataFrame([off("X", "2020-01-01")]), data_end=END).attrs
    assert attrs["n_incomplete"] == 1 and attrs["n_total"] == 2 and "excluded" in attrs["note"]
    # censored survival for incomplete people: event known by data_end still counts
    assert r.loc["SHORT_OFF", "event"] == 1 and r.loc["SHORT_OFF", "time_to_event"] == 59
    assert r.loc["SHORT", "event"] == 0
    assert r.loc["SHORT", "time_to_event"] == 365  # window ends 2023-07-01, before data_end
    s = summarise_offending(r.reset_index())
    assert s.n_incomplete == 2 and s.n_complete == 1 and s.reoffending_rate == 0.0


def test_censoring_at_data_end():
    r = run({"A": "2023-06-01"}, [], data_end="2023-09-01")
    assert r.loc["A", "event"] == 0 and r.loc["A", "time_to_event"] == 92
    r = run({"A": "2023-06-01"}, [off("A", "2023-08-01", outcome_date="2023-10-01")], data_end="2023-09-01")
    assert r.loc["A", "event"] == 0  # committed before data_end but not yet proven by it


def test_leap_day_and_month_end():
    r = run({"LEAP": "2020-02-29", "JAN31": "2021-01-31"},
            [off("LEAP", "2021-02-28"), off("JAN31", "2022-01-31")])
    assert r.loc["LEAP", "followup_end"] == pd.Timestamp("2021-02-28") and r.loc["LEAP", "reoffended"] == 1
    assert r.loc["JAN31", "proven_by"] == pd.Timestamp("2022-07-31") and r.loc["JAN31", "reoffended"] == 1


def test_frequency_groups_custody_and_harm():
    offences = [
        off("A", "2021-02-01", group="robbery", sentence="custody"),
        off("A", "2021-02-01", group="possession_of_weapons"),
        off("A", "2021-05-01", group="violence_without_injury"),
        off("A", "2021-06-01", group="theft_offences", outcome="no_further_action", sentence="custody"),
        off("B", "2021-03-01", group="theft_offences"),
    ]
    harm = pd.DataFrame({"offence_group": ["robbery", "possession_of_weapons", "violence_without_injury", "theft_offences"],
                         "weight": [100.0, 40.0, 20.0, 5.0]})
    r = run({"A": "2021-01-01", "B": "2021-01-01"}, offences, harm_weights=harm)
    a, b = r.loc["A"], r.loc["B"]
    assert (a.n_offences, a.n_violent, a.n_serious) == (3, 2, 2)
    assert (a.reoffended, a.violent_reoffended, a.serious_reoffended, a.custody) == (1, 1, 1, 1)
    assert a.days_to_first == 31 and a.days_to_first_violent == 31 and a.days_to_first_serious == 31
    assert a.harm_weighted == 160.0
    assert (b.n_offences, b.violent_reoffended, b.custody, b.harm_weighted) == (1, 0, 0, 5.0)
    with pytest.raises(SpecError, match="no weight for offence group"):
        run({"A": "2021-01-01"}, offences, harm_weights=harm.iloc[:2])


def test_proven_without_outcome_date_is_not_counted_but_reported():
    o = [off("A", "2021-02-01")]
    o[0]["outcome_date"] = None
    idx = pd.DataFrame({"person_id": ["A"], "index_date": ["2021-01-01"]})
    r = offending_outcomes(idx, pd.DataFrame(o), data_end=END)
    assert r.loc[0, "reoffended"] == 0 and r.attrs["n_proven_without_outcome_date"] == 1


def test_bad_input():
    idx = pd.DataFrame({"person_id": ["A"], "index_date": ["2021-01-01"]})
    with pytest.raises(DataError, match="not an allowed outcome"):
        offending_outcomes(idx, pd.DataFrame([off("A", "2021-02-01", outcome="Convicted")]), data_end=END)
    with pytest.raises(DataError, match="not a date"):
        offending_outcomes(idx, pd.DataFrame([off("A", "31/02/2021")]), data_end=END)
    with pytest.raises(MissingDataError, match="outcome_date"):
        offending_outcomes(idx, pd.DataFrame([off("A", "2021-02-01")]).drop(columns="outcome_date"), data_end=END)
    with pytest.raises(DataError, match="index date"):
        offending_outcomes(pd.concat([idx, idx]), pd.DataFrame([off("A", "2021-02-01")]), data_end=END)


def test_per_intervention_index_rows():
    idx = pd.DataFrame({"person_id": ["A", "A"], "intervention_id": ["INT02", "INT01"],
                        "index_date": ["2021-01-01", "2022-01-01"]})
    r = offending_outcomes(idx, pd.DataFrame([off("A", "2021-06-01")]), data_end=END)
    assert list(r.intervention_id) == ["INT01", "INT02"] and list(r.reoffended) == [0, 1]


def test_prior_offending():
    idx = pd.DataFrame({"person_id": ["A"], "index_date": ["2021-01-01"]})
    o = pd.DataFrame([off("A", "2018-12-31", group="robbery"), off("A", "2019-01-01", group="robbery"),
                      off("A", "2020-06-01", outcome="pending"), off("A", "2020-12-01", outcome_date="2021-02-01"),
                      off("A", "2020-11-01")])
    r = prior_offending(idx, o).iloc[0]
    # 2019-01-01 is exactly 24 months before (included); 2020-12-01 proven after index (excluded)
    assert (r.prior_offences, r.prior_violent_offences, r.days_since_last) == (2, 1, 61)
    r = prior_offending(idx, o, known_at_index=False).iloc[0]
    assert (r.prior_offences, r.days_since_last) == (3, 31)


def _random_data(seed=7, n=400):
    rng = np.random.default_rng(seed)
    groups = ["robbery", "theft_offences", "violence_with_injury", "possession_of_weapons", "public_order"]
    outcomes = ["conviction", "caution", "no_further_action", "pending", "charge", "youth_caution"]
    base = pd.Timestamp("2019-01-01")
    idx = pd.DataFrame({"person_id": [f"P{i:04d}" for i in range(n)],
                        "index_date": base + pd.to_timedelta(rng.integers(0, 1400, n), "D")})
    m = 3 * n
    od = base + pd.to_timedelta(rng.integers(-200, 1800, m), "D")
    o = pd.DataFrame({"person_id": rng.choice(idx.person_id, m), "offence_date": od,
                      "offence_group": rng.choice(groups, m), "outcome": rng.choice(outcomes, m),
                      "outcome_date": od + pd.to_timedelta(rng.integers(0, 400, m), "D"),
                      "sentence": rng.choice(["custody", "community", "none"], m)})
    return idx, o


def test_matches_independent_duckdb_sql():
    idx, o = _random_data()
    r = offending_outcomes(idx, o, data_end="2023-06-30").set_index("person_id")
    con = duckdb.connect()
    con.register("idx", idx)
    con.register("off", o)
    sql = """
    SELECT i.person_id,
           (CAST(i.index_date AS DATE) + INTERVAL 18 MONTH) <= DATE '2023-06-30' AS complete,
           COUNT(o.person_id) AS n,
           SUM(CASE WHEN o.offence_group IN ('robbery','violence_with_injury') THEN 1 ELSE 0 END) AS n_violent,
           SUM(CASE WHEN o.offence_group IN ('robbery','violence_with_injury','possession_of_weapons') THEN 1 ELSE 0 END) AS n_serious,
           MIN(CAST(o.offence_date AS DATE) - CAST(i.index_date AS DATE)) AS days_first
    FROM idx i LEFT JOIN off o
      ON o.person_id = i.person_id
     AND o.outcome IN ('caution','youth_caution','youth_conditional_caution','conviction')
     AND CAST(o.offence_date AS DATE) > CAST(i.index_date AS DATE)
     AND CAST(o.offence_date AS DATE) <= CAST(i.index_date AS DATE) + INTERVAL 12 MONTH
     AND CAST(o.outcome_date AS DATE) <= CAST(i.index_date AS DATE) + INTERVAL 18 MONTH
    GROUP BY 1, 2 ORDER BY 1
    """
    ref = con.execute(sql).df().set_index("person_id")
    assert (r["followup_complete"] == ref["complete"]).all()
    c = ref[ref["complete"]]
    assert len(c) > 100 and (c.n > 0).sum() > 30  # the comparison has teeth
    np.testing.assert_array_equal(r.loc[c.index, "n_offences"].to_numpy(), c.n.to_numpy())
    np.testing.assert_array_equal(r.loc[c.index, "n_violent"].to_numpy(), c.n_violent.to_numpy())
    np.testing.assert_array_equal(r.loc[c.index, "n_serious"].to_numpy(), c.n_serious.to_numpy())
    np.testing.assert_array_equal(r.loc[c.index, "days_to_first"].to_numpy(), c.days_first.astype(float).to_numpy())
    assert r.loc[ref.index[~ref.complete], "reoffended"].isna().all()


def test_row_order_does_not_change_result():
    idx, o = _random_data(seed=11, n=150)
    a = offending_outcomes(idx, o, data_end="2023-06-30")
    b = offending_outcomes(idx.sample(frac=1, random_state=1), o.sample(frac=1, random_state=2), data_end="2023-06-30")
    pd.testing.assert_frame_equal(a, b)
