"""offending_panel: window boundaries, proven outcomes, waiting period, incomplete follow-up."""

import pandas as pd
import pytest

from evalkit.designs.did import offending_panel
from evalkit.errors import MissingDataError, SpecError


@pytest.fixture()
def data():
    index = pd.DataFrame({"person_id": ["a", "b", "c"], "start_date": ["2020-03-15", "2020-06-01", "2021-12-01"],
                          "treated": [1, 0, 1]})
    offences = pd.DataFrame({
        "person_id": ["a", "a", "a", "a", "b", "b", "b", "c"],
        "offence_date": ["2019-03-15", "2020-03-14", "2020-03-15", "2021-03-15", "2019-06-01", "2020-06-02",
                         "2021-06-01", "2021-01-01"],
        "outcome": ["conviction", "conviction", "caution", "caution", "no_further_action", "youth_caution",
                    "conviction", "conviction"],
        "outcome_date": ["2019-05-01", "2020-05-01", "2020-04-01", "2021-09-16", "2019-07-01", "2020-07-01",
                         "2021-12-01", "2021-02-01"],
    })
    return index, offences


def test_windows_and_rules(data):
    index, offences = data
    p = offending_panel(index, offences, data_end="2022-06-30",
                        proven_outcomes=["caution", "youth_caution", "conviction"])
    got = p.set_index(["person_id", "window"])["offences"].to_dict()
    # a: index-12m (inclusive) and the day before count; the index-day offence does not;
    #    index+12m is inside the after window but proven a day after the 6-month wait.
    # b: NFA is not proven; index+1 day counts; index+12m proven exactly at the wait's end counts.
    assert got == {("a", -1): 2, ("a", 0): 0, ("b", -1): 0, ("b", 0): 2}
    assert p.attrs["n_incomplete"] == 1  # c: 2021-12-01 + 18 months is after the extract
    assert list(p.columns) == ["person_id", "window", "offences", "any_offence", "post", "treated"]
    assert p.loc[p.window == 0, "post"].eq(1).all()


def test_several_windows_and_config_default(data):
    index, offences = data
    p = offending_panel(index, offences, windows_before=2, windows_after=1, window_months=6, data_end="2022-06-30")
    assert sorted(p.window.unique()) == [-2, -1, 0]
    got = p.set_index(["person_id", "window"])["offences"].to_dict()
    assert got[("a", -1)] == 1 and got[("a", -2)] == 1  # 2019-03-15 = index - 12 months opens window -2
    assert got[("b", 0)] == 1


def test_bad_input(data):
    index, offences = data
    with pytest.raises(MissingDataError):
        offending_panel(index.drop(columns="start_date"), offences)
    with pytest.raises(SpecError, match="repeats"):
        offending_panel(pd.concat([index, index.head(1)]), offences)
