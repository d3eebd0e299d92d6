"""Instrument scoring: SDQ (Goodman 1997; sdqinfo scoring syntax), WEMWBS, SWEMWBS,
configured Likert instruments. References: hand-computed examples,
tests/reference/sdq_official_r_reference.csv (sdqinfo official R logic, base R),
tests/reference/swemwbs_conversion_public_copy.csv (independent public copy)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import DataError, MissingDataError, SpecError
from evalkit.measures import instrument_info, score_instrument, wide_prepost
from evalkit.measures.definitions import get_definition, parse_definitions

REF = Path(__file__).parent / "reference"
SDQ_SCALES = ["emotional", "conduct", "hyperactivity", "peer", "prosocial",
              "total_difficulties", "externalising", "internalising"]


def long(responses: dict, instrument="SDQ_S", timepoint="baseline", intervention="INT01"):
    """responses: person -> list of responses (None = not answered) in item order."""
    rows = []
    for person, resp in responses.items():
        for i, r in enumerate(resp, 1):
            rows.append(dict(person_id=person, intervention_id=intervention, instrument=instrument, item=str(i),
                             response=r, timepoint=timepoint, measurement_date="2021-03-01"))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- SDQ
def test_sdq_worked_example_reverse_scoring():
    # items 1..25; hand scoring (reverse 7, 11, 14, 21, 25 -> 2 - x):
    # emotional 3,8,13,16,24 = 1+1+1+1+1 = 5
    # conduct 5,7r,12,18,22 = 1+(2-2)+0+0+1 = 2
    # hyperactivity 2,10,15,21r,25r = 0+0+2+(2-2)+(2-2) = 2
    # peer 6,11r,14r,19,23 = 0+(2-2)+(2-0)+0+0 = 2
    # prosocial 1,4,9,17,20 = 2+2+2+2+1 = 9
    resp = [2, 0, 1, 2, 1, 0, 2, 1, 2, 0, 2, 0, 1, 0, 2, 1, 2, 0, 0, 1, 2, 1, 0, 1, 2]
    s = score_instrument(long({"B": resp}), "SDQ_S").iloc[0]
    assert [s[c] for c in SDQ_SCALES] == [5, 2, 2, 2, 9, 11, 4, 7]
    assert s.n_items_answered == 25
    assert s.total_difficulties_band4 == "close_to_average" and s.prosocial_band4 == "close_to_average"


def test_sdq_all_twos_reverse_items():
    s = score_instrument(long({"X": [2] * 25}, instrument="SDQ_P"), "SDQ_P").iloc[0]
    # each difficulty scale: 3 normal items at 2 + reverse items at 0
    assert s.emotional == 10 and s.conduct == 8 and s.hyperactivity == 6 and s.peer == 6
    assert s.prosocial == 10 and s.total_difficulties == 30


@pytest.mark.parametrize(
    "answers, expected",
    [
        # emotional items 3, 8, 13, 16, 24 only; None = missing
        ({3: 1, 8: 1, 13: 2, 16: None, 24: None}, 7),  # mean 4/3 x 5 = 6.67 -> 7
        ({3: 1, 8: 1, 13: 0, 16: 0, 24: None}, 3),  # 2/4 x 5 = 2.5 -> 3 (half up, not to even)
        ({3: 2, 8: 2, 13: 1, 16: 1, 24: None}, 8),  # 6/4 x 5 = 7.5 -> 8
        ({3: 1, 8: 0, 13: 0, 16: 0, 24: None}, 1),  # 1/4 x 5 = 1.25 -> 1
        ({3: 2, 8: 1, 13: 0, 16: None, 24: None}, 5),  # 3/3 x 5 = 5
        ({3: 2, 8: 2, 13: None, 16: None, 24: None}, None),  # only 2 answered -> missing
        ({3: 0, 8: 0, 13: 0, 16: 0, 24: 0}, 0),
    ],
)
def test_sdq_prorating(answers, expected):
    resp = [0] * 25
    for item, v in answers.items():
        resp[item - 1] = v
    s = score_instrument(long({"P": resp}), "SDQ_S").iloc[0]
    if expected is None:
        assert pd.isna(s.emotional) and pd.isna(s.total_difficulties) and pd.isna(s.internalising)
        assert s.externalising == 6  # conduct 2 + hyperactivity 4 (reverse items at 0 score 2) still available
        assert pd.isna(s.emotional_band4)
    else:
        assert s.emotional == expected


def test_sdq_matches_official_r_logic_reference():
    ref = pd.read_csv(REF / "sdq_official_r_reference.csv")
    resp = {r.person_id: [None if pd.isna(getattr(r, f"i{i}")) else int(getattr(r, f"i{i}")) for i in range(1, 26)]
            for r in ref.itertuples()}
    got = score_instrument(long(resp, instrument="SDQ_T"), "SDQ_T").set_index("person_id").loc[ref.person_id]
    for col in SDQ_SCALES:
        np.testing.assert_array_equal(got[col].to_numpy(float), ref[col].to_numpy(float), err_msg=col)
    assert ref.total_difficulties.isna().sum() >= 3  # reference exercises missing totals
    assert (ref.total_difficulties.notna() & (got.n_items_answered.to_numpy() < 25)).sum() > 3  # and prorating


BAND_TABLES = {
    # informant: scale -> band4 upper bounds (close, slightly, high) and band3 upper bounds (normal, borderline)
    "SDQ_S": {"total_difficulties": ((14, 17, 19), (15, 19)), "emotional": ((4, 5, 6), (5, 6)),
              "conduct": ((3, 4, 5), (3, 4)), "hyperactivity": ((5, 6, 7), (5, 6)), "peer": ((2, 3, 4), (3, 5))},
    "SDQ_P": {"total_difficulties": ((13, 16, 19), (13, 16)), "emotional": ((3, 4, 6), (3, 4)),
              "conduct": ((2, 3, 5), (2, 3)), "hyperactivity": ((5, 7, 8), (5, 6)), "peer": ((2, 3, 4), (2, 3))},
    "SDQ_T": {"total_difficulties": ((11, 15, 18), (11, 15)), "emotional": ((3, 4, 5), (4, 5)),
              "conduct": ((2, 3, 4), (2, 3)), "hyperactivity": ((5, 7, 8), (5, 6)), "peer": ((2, 4, 5), (3, 4))},
}
PROSOCIAL = {"SDQ_S": ((4, 5, 6), (4, 5)), "SDQ_P": ((5, 6, 7), (4, 5)), "SDQ_T": ((3, 4, 5), (4, 5))}


@pytest.mark.parametrize("informant", list(BAND_TABLES))
def test_sdq_band_boundaries_every_cutoff(informant):
    from evalkit.measures.scoring import _band

    d = get_definition(informant)
    labels4 = ["close_to_average", "slightly_raised", "high", "very_high"]
    labels3 = ["normal", "borderline", "abnormal"]
    for scale, (b4, b3) in BAND_TABLES[informant].items():
        top = 40 if scale == "total_difficulties" else 10
        scores = pd.Series(np.arange(0, top + 1, dtype=float))
        got4 = _band(scores, d.scales[scale].bands["band4"])
        got3 = _band(scores, d.scales[scale].bands["band3"])
        for i, ub in enumerate(b4):  # at each cut-off and one above
            assert got4[ub] == labels4[i] and got4[ub + 1] == labels4[i + 1], (scale, ub)
        for i, ub in enumerate(b3):
            assert got3[ub] == labels3[i] and got3[ub + 1] == labels3[i + 1], (scale, ub)
        assert got4.notna().all() and got3.notna().all()  # bands cover the whole range
    b4, b3 = PROSOCIAL[informant]  # prosocial: low is bad
    scores = pd.Series(np.arange(0, 11, dtype=float))
    got4 = _band(scores, d.scales["prosocial"].bands["band4"])
    low4 = ["very_low", "low", "slightly_lowered", "close_to_average"]
    for i, ub in enumerate(b4):
        assert got4[ub] == low4[i] and got4[ub + 1] == low4[i + 1]
    got3 = _band(scores, d.scales["prosocial"].bands["band3"])
    low3 = ["abnormal", "borderline", "normal"]
    for i, ub in enumerate(b3):
        assert got3[ub] == low3[i] and got3[ub + 1] == low3[i + 1]


# ---------------------------------------------------------------- WEMWBS / SWEMWBS
def test_wemwbs_sum_and_missing_item():
    s = score_instrument(long({"A": [1] * 14, "B": [5] * 14, "C": [3] * 13 + [None], "D": list(range(1, 6)) * 2 + [1, 2, 3, 4]},
                              instrument="WEMWBS"), "WEMWBS").set_index("person_id")
    assert s.loc["A", "wemwbs"] == 14 and s.loc["B", "wemwbs"] == 70 and s.loc["D", "wemwbs"] == 40
    assert pd.isna(s.loc["C", "wemwbs"]) and s.loc["C", "n_items_answered"] == 13


def test_swemwbs_every_row_against_public_copy():
    ref = pd.read_csv(REF / "swemwbs_conversion_public_copy.csv")
    # build one person per raw score 7..35 with whole-number responses
    people = {}
    for raw in ref.raw:
        extra = raw - 7
        resp = [1 + min(4, max(0, extra - 4 * k)) for k in range(7)]
        assert sum(resp) == raw
        people[f"R{raw}"] = resp
    s = score_instrument(long(people, instrument="SWEMWBS"), "SWEMWBS").set_index("person_id")
    for row in ref.itertuples():
        assert s.loc[f"R{row.raw}", "swemwbs_raw"] == row.raw
        assert s.loc[f"R{row.raw}", "swemwbs"] == pytest.approx(row.metric, abs=1e-9)
    assert s["swemwbs"].is_monotonic_increasing or s.sort_values("swemwbs_raw")["swemwbs"].is_monotonic_increasing


def test_swemwbs_rows_quoted_in_german_norm_paper():
    # German adult SWEMWBS norms (GEDA 2022): low-wellbeing cut-off raw 23 = metric 20.73,
    # high-wellbeing cut-off raw 32 = metric 29.31 - a second published source for two rows.
    conv = get_definition("SWEMWBS").scales["swemwbs"].conversion
    assert conv[23] == 20.73 and conv[32] == 29.31


def test_swemwbs_missing_item_gives_no_score():
    s = score_instrument(long({"A": [3, 3, 3, 3, 3, 3, None]}, instrument="SWEMWBS"), "SWEMWBS").iloc[0]
    assert pd.isna(s.swemwbs_raw) and pd.isna(s.swemwbs)


# ---------------------------------------------------------------- bad input
def test_out_of_range_response_names_rows():
    m = long({"A": [1] * 25})
    m.loc[4, "response"] = 3
    m["response"] = m["response"].astype(float)
    m.loc[9, "response"] = 1.5
    with pytest.raises(DataError) as e:
        score_instrument(m, "SDQ_S")
    rows = {p.row for p in e.value.problems}
    assert rows == {6, 11} and "outside 0-2" in str(e.value)


def test_unknown_item_and_duplicates():
    m = long({"A": [1] * 25})
    m.loc[0, "item"] = "26"
    with pytest.raises(DataError, match="not an item of SDQ_S"):
        score_instrument(m, "SDQ_S")
    m = pd.concat([long({"A": [1] * 25}), long({"A": [1] * 25}).iloc[:1]])
    with pytest.raises(DataError, match="more than once"):
        score_instrument(m, "SDQ_S")


def test_missing_column_and_instrument():
    m = long({"A": [1] * 25})
    with pytest.raises(MissingDataError, match="'timepoint'"):
        score_instrument(m.drop(columns="timepoint"), "SDQ_S")
    with pytest.raises(MissingDataError, match="No 'WEMWBS' responses"):
        score_instrument(m, "WEMWBS")
    with pytest.raises(SpecError, match="Unknown instrument"):
        score_instrument(m, "NOPE")


def test_numeric_item_codes_and_empty_strings_accepted():
    m = long({"A": [1] * 25})
    m["item"] = m["item"].astype(int)
    m["response"] = m["response"].astype(object)
    m.loc[0, "response"] = ""
    s = score_instrument(m, "SDQ_S").iloc[0]
    assert s.n_items_answered == 24 and s.prosocial == 5  # 4 answered x 1, prorated to 5


def test_row_order_does_not_change_scores():
    ref = pd.read_csv(REF / "sdq_official_r_reference.csv").head(15)
    resp = {r.person_id: [None if pd.isna(getattr(r, f"i{i}")) else int(getattr(r, f"i{i}")) for i in range(1, 26)]
            for r in ref.itertuples()}
    m = long(resp)
    a = score_instrument(m, "SDQ_S")
    b = score_instrument(m.sample(frac=1, random_state=3), "SDQ_S")
    pd.testing.assert_frame_equal(a, b)


# ---------------------------------------------------------------- config-defined instrument
CUSTOM = {
    "instruments": {
        "RESILIENCE4": {
            "title": "Four-item resilience check",
            "items": ["a", "b", "c", "d"],
            "response_min": 1,
            "response_max": 5,
            "reverse_items": ["d"],
            "rounding": "none",
            "primary_scale": "total",
            "scales": {"total": {"items": ["a", "b", "c", "d"], "min_answered": 3, "higher_is_better": True,
                                 "reliability": 0.7, "norm_sd": 3.0,
                                 "bands": {"level": [["low", 4, 9], ["medium", 10, 15], ["high", 16, 20]]}}},
            "sources": ["made-up test instrument"],
        }
    }
}


def test_config_defined_instrument_needs_no_code():
    defs = parse_definitions(CUSTOM, source="test")
    rows = [dict(person_id="A", intervention_id="I", instrument="RESILIENCE4", item=i, response=v, timepoint="baseline",
                 measurement_date="2021-01-01") for i, v in zip("abcd", [5, 4, 3, 1])]
    rows += [dict(person_id="B", intervention_id="I", instrument="RESILIENCE4", item=i, response=v, timepoint="baseline",
                  measurement_date="2021-01-01") for i, v in zip("abc", [2, 2, 3])]
    s = score_instrument(pd.DataFrame(rows), "RESILIENCE4", definitions=defs).set_index("person_id")
    assert s.loc["A", "total"] == 5 + 4 + 3 + 5  # d reversed: 6 - 1
    assert s.loc["B", "total"] == pytest.approx(7 / 3 * 4)  # prorated, no rounding
    assert s.loc["A", "total_level"] == "high" and s.loc["B", "total_level"] == "low"
    info = instrument_info("RESILIENCE4", definitions=defs)
    assert info.range == (4.0, 20.0) and info.higher_is_better and info.reliability == 0.7


def test_custom_definition_errors_are_spec_errors():
    bad = {"instruments": {"X": {**CUSTOM["instruments"]["RESILIENCE4"], "reverse_items": ["z"]}}}
    with pytest.raises(SpecError, match="reverse_items"):
        parse_definitions(bad, source="x.yaml")
    overlap = {"instruments": {"X": {**CUSTOM["instruments"]["RESILIENCE4"]}}}
    overlap["instruments"]["X"]["scales"] = {"total": {"items": ["a"], "higher_is_better": True,
                                                       "bands": {"b": [["lo", 0, 3], ["hi", 3, 5]]}}}
    with pytest.raises(SpecError, match="overlap"):
        parse_definitions(overlap, source="x.yaml")


# ---------------------------------------------------------------- info and pairing
def test_instrument_info():
    info = instrument_info("SDQ_S")
    assert info.range == (0.0, 40.0) and not info.higher_is_better and info.reliability == 0.80 and info.norm_sd == 5.2
    sw = instrument_info("SWEMWBS")
    assert sw.range == (7.0, 35.0) and sw.higher_is_better and sw.primary_scale == "swemwbs"
    assert "SWEMWBS" in sw.summary() and "<table" in sw._repr_html_()
    assert len(info.sources) >= 2


def test_builtin_shapes_match_configuration():
    from evalkit.data.config import load_config

    cfg = load_config()
    for name, spec in cfg.instrument_specs.items():
        d = get_definition(name)
        assert (len(d.items), d.response_min, d.response_max) == (spec.items, spec.min, spec.max)


def test_wide_prepost():
    m = pd.concat([long({"A": [1] * 25, "B": [0] * 25}, timepoint="baseline"),
                   long({"A": [0] * 25, "C": [2] * 25}, timepoint="exit")])
    w = wide_prepost(score_instrument(m, "SDQ_S"), "total_difficulties")
    assert list(w.columns) == ["person_id", "intervention_id", "pre", "post"]
    assert list(w.person_id) == ["A", "B", "C"]
    assert w.loc[0, "pre"] == 20 and w.loc[0, "post"] == 10 and np.isnan(w.loc[1, "post"]) and np.isnan(w.loc[2, "pre"])
    with pytest.raises(MissingDataError, match="follow_up"):
        wide_prepost(score_instrument(m, "SDQ_S"), "total_difficulties", post="follow_up")
