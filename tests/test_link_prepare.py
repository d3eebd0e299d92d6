"""Standardising identified fields for linkage, choosing the threshold, and assignment (no Splink run)."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("unidecode")

from evalkit.errors import DataError  # noqa: E402
from evalkit.link.model import FittedLink, LinkSettings, assign, choose_threshold, one_to_one  # noqa: E402
from evalkit.link.prepare import ascii_letters, prepare  # noqa: E402


def _frame(**cols: list[str]) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = {"record_id": [f"R{i}" for i in range(n)], "first_name": ["Ann"] * n, "surname": ["Lee"] * n,
            "date_of_birth": ["2005-01-02"] * n}
    return pd.DataFrame({**base, **cols})


def test_names_are_transliterated_not_deleted():
    assert ascii_letters("Núñez") == "nunez" and ascii_letters("José") == "jose"
    assert ascii_letters("李") == "li" and ascii_letters("Иван") == "ivan" and ascii_letters("Σοφία") == "sophia"
    assert ascii_letters("O'Neil-Smith") == "o neil smith"
    out = prepare(_frame(first_name=["José", "Zoë", "李"], surname=["Núñez García", "Smith-Jones", "de la Cruz"]),
                  "f.csv").frame
    assert list(out["first_name"]) == ["jose", "zoe", "li"]
    assert list(out["surname"]) == ["nunezgarcia", "smithjones", "delacruz"]
    assert [list(p) for p in out["surname_parts"]] == [["nunez", "garcia"], ["smith", "jones"], ["cruz"]]


def test_only_uk_postcodes_are_compared():
    out = prepare(_frame(postcode=["ng7 2qx", "75011", "D02 X285", "NG7", "", "SW1A1AA"]), "f.csv").frame
    assert list(out["postcode"].fillna("-")) == ["NG7 2QX", "-", "-", "-", "-", "SW1A 1AA"]
    assert list(out["postcode_sector"].fillna("-")) == ["NG7 2", "-", "-", "-", "-", "SW1A 1"]
    assert list(out["postcode_district"].fillna("-")) == ["NG7", "-", "-", "NG7", "-", "SW1A"]


def test_impossible_dates_of_birth_are_missing_and_listed_unless_strict():
    frame = _frame(date_of_birth=["31/02/2007", "2007-02-03", "2007-13-01", "", "3000-01-01", "1850-01-01"])
    p = prepare(frame, "f.csv")
    assert list(p.frame["date_of_birth"].fillna("-")) == ["-", "2007-02-03", "-", "-", "-", "-"]
    assert p.unusable_dob_rows == (2, 4, 6, 7)  # file rows (1 = header); a blank date is simply missing
    with pytest.raises(DataError) as err:
        prepare(frame, "f.csv", strict=True)
    assert "f.csv, row 2, column 'date_of_birth'" in str(err.value) and "31/02" not in str(err.value)


def test_town_is_kept_when_given():
    assert "town" in prepare(_frame(town=["Nottingham"]), "f.csv").frame
    assert "town" not in prepare(_frame(sex=["F"]), "f.csv").frame


def test_threshold_is_the_lowest_weight_reaching_the_target_precision():
    best = pd.DataFrame({"match_weight": [20.0, 10.0, 5.0, 3.0, 1.0, -2.0],
                         "match_probability": [1.0, 0.999, 0.99, 0.98, 0.6, 0.2]})
    # cumulative mean probability: 1, .9995, .9963, .9943, .9138, .7948
    assert choose_threshold(best, 0.995)[0] == 5.0
    assert choose_threshold(best, 0.99)[0] == 3.0
    assert choose_threshold(best, 0.5, floor=0.0)[0] == 1.0  # never below the floor
    weight, rule = choose_threshold(best.iloc[3:], 0.999)
    assert weight == 8.0 and "no threshold reached" in rule


def test_one_to_one_assignment_within_a_group():
    links = pd.DataFrame({"unique_id_l": ["a", "a", "b", "c"], "unique_id_r": ["X", "Y", "X", "X"],
                          "match_weight": [12.0, 6.0, 9.0, 7.0], "match_probability": [1.0, 0.98, 0.99, 0.99]})
    assert list(zip(one_to_one(links)["unique_id_l"], one_to_one(links)["unique_id_r"])) == [("a", "X")]
    best = pd.DataFrame({"unique_id_l": ["a", "b", "c"], "unique_id_r": ["X", "X", "X"],
                         "match_weight": [12.0, 9.0, 7.0], "match_probability": [1.0, 0.99, 0.99]})
    fit = FittedLink(best=best, parameters=pd.DataFrame(), prior=1e-4, candidate_pairs=4, threshold=5.0, links=links)
    assert dict(assign(fit)) == {"a": "X", "b": "X", "c": "X"}  # different interventions: many-to-one is right
    # a and b in one intervention: b may not share a's police record; a and c in different ones may
    got = assign(fit, pd.Series({"a": "INT1", "b": "INT1", "c": "INT2"}))
    assert dict(got) == {"a": "X", "c": "X"}


def test_settings_file_keeps_a_fixed_threshold_or_none():
    assert LinkSettings.from_mapping({"threshold": None}).threshold is None
    assert LinkSettings.from_mapping({"threshold": 3, "target_precision": 0.99}).threshold == 3
