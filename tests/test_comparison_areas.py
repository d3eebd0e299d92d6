"""The comparison_areas table: readers of the published layouts, the analysis's 'cannot estimate' paths, the
report section, and the contract validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.analysis.comparison_areas import compare_with_similar_areas
from evalkit.data.public_stats import comparison_areas_table, read_fingertips, read_ons_csp
from evalkit.errors import DataError
from evalkit.report.comparison_areas import finding_html


def _csp_file(tmp_path):
    rows = []
    for fy in ("2018/19", "2019/20"):
        for q in (1, 2, 3, 4):
            for csp in ("Nottingham", "Ashfield"):
                for sub, n in (("Violence with injury", 100), ("Violence without injury", 50)):
                    for code in ("5A", "8N"):  # two offences of the subgroup: summed
                        rows.append({"Financial Year": fy, "Financial Quarter": q, "Force Name": "Notts",
                                     "CSP Name": csp, "Offence Description": "x", "Offence Group": "Violence",
                                     "Offence Subgroup": sub, "Offence Code": code, "Number of Offences": n + q})
    path = tmp_path / "prc-csp.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_ons_csp_reader_sums_subgroup_by_quarter(tmp_path):
    out = read_ons_csp(_csp_file(tmp_path))
    assert set(out["indicator"]) == {"violence_with_injury"}
    first = out[(out["area_name"] == "Ashfield")].iloc[0]
    assert str(first["period"].date()) == "2018-04-01" and first["count"] == 2 * 101
    q4 = out[(out["area_name"] == "Ashfield") & (out["period"] == "2019-01-01")]
    assert q4["count"].item() == 2 * 104  # quarter 4 of 2018/19 is January 2019


def test_ons_csp_reader_locates_bad_cells(tmp_path):
    path = _csp_file(tmp_path)
    df = pd.read_csv(path)
    df = df.astype({"Number of Offences": object})
    df.loc[4, "Number of Offences"] = "lots"
    df.to_csv(path, index=False)
    with pytest.raises(DataError, match="row 6, column 'Number of Offences'"):
        read_ons_csp(path)
    pd.DataFrame({"Year": [1]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="needs column"):
        read_ons_csp(path)


def test_fingertips_reader_and_table(tmp_path):
    path = tmp_path / "fingertips.csv"
    pd.DataFrame({"Indicator ID": 11201, "Area Code": ["E06000018", "E07000170"] * 2,
                  "Area Name": ["Nottingham", "Ashfield"] * 2, "Area Type": "District & UA", "Sex": "Persons",
                  "Age": "All ages", "Time period": ["2018/19", "2018/19", "2019/20", "2019/20"],
                  "Count": [120, 40, 110, 42], "Denominator": [330000, 127000, 332000, 128000]}).to_csv(path,
                                                                                                  index=False)
    counts = read_fingertips(path)
    assert list(counts["period"].dt.strftime("%Y-%m-%d").unique()) == ["2018-04-01", "2019-04-01"]
    vrus = pd.DataFrame({"area_name": ["Nottingham"], "vru_name": ["City and County"], "vru_start": ["2019-04-01"]})
    table = comparison_areas_table(counts, vrus)
    assert list(table.columns) == ["area_code", "area_name", "period", "indicator", "count", "population", "vru",
                                   "vru_start", "vru_name"]
    assert table.loc[table["area_name"] == "Ashfield", "vru_start"].isna().all()
    assert table.loc[table["area_name"] == "Nottingham", "vru"].all()


def _table(n_donors=25, quarters=24, start=16):
    rng = np.random.default_rng(4)
    rows = []
    periods = pd.date_range("2015-04-01", periods=quarters, freq="QS-APR")
    for i in range(n_donors + 2):
        mine = i < 2
        level = rng.uniform(200, 400)
        for k, p in enumerate(periods):
            rate = level * (1 + 0.01 * k) * (0.9 if mine and k >= start else 1.0)
            rows.append({"area_code": f"Z{i:03d}", "area_name": f"Area {i}", "period": p.strftime("%Y-%m-%d"),
                         "indicator": "violence_with_injury", "count": int(rng.poisson(rate)), "population": 100_000,
                         "vru": mine, "vru_start": periods[start].strftime("%Y-%m-%d") if mine else None,
                         "vru_name": "City and County" if mine else None})
    return pd.DataFrame(rows)


def test_analysis_gives_numbers_and_the_report_words():
    f = compare_with_similar_areas(_table(), vru_name="City and County", indicator="violence_with_injury",
                                   replications=50)
    assert f.ok and f.prevented_per_year[0] > 0
    assert f.value_per_year is not None and f.unit_cost == 14050
    text = finding_html(f, {})
    assert "fewer offences a year" in text and "Cannot estimate" not in text


@pytest.mark.parametrize("change, reason", [
    (lambda t: t[t["period"] >= "2018-07-01"], "before its start"),
    (lambda t: t[t["vru"]], "no donor"),
    (lambda t: t.drop(index=30), "no row for period"),
    (lambda t: pd.concat([t, t.iloc[[40]]]), "more than once"),
    (lambda t: t[~(t["area_code"] == "Z001")].pipe(
        lambda x: pd.concat([x, t[t["area_code"] == "Z001"].assign(indicator="homicide")])), "missing for 1"),
    (lambda t: t.assign(indicator="homicide"), "no violence with injury rows"),
])
def test_bad_input_cannot_estimate_and_shows_no_number(change, reason):
    f = compare_with_similar_areas(change(_table()), vru_name="City and County", indicator="violence_with_injury",
                                   replications=20)
    assert not f.ok and f.status.startswith("cannot estimate:") and reason in f.status
    assert f.sdid is None and np.isnan(f.prevented_per_year[0])
    text = finding_html(f, {})
    assert "Cannot estimate" in text and "a year" not in text


def test_contract_validates_the_shipped_table():
    from evalkit.data.contract import table_spec
    from evalkit.data.schemas import schema_for

    table = pd.read_csv("synthetic_data/comparison_areas.csv.gz", parse_dates=["period", "vru_start"])
    schema = schema_for(table_spec("comparison_areas"))
    schema.validate(table.head(2000), lazy=True)
    bad = table.head(50).copy()
    bad.loc[3, "vru_start"] = pd.NaT
    with pytest.raises(Exception, match="vru_start_with_vru"):
        schema.validate(bad, lazy=True)


def test_intervals_are_worded_without_bare_negatives():
    """Issue 22's one vocabulary: an interval spanning no change reads 'from N more to M fewer', never '−N to M'."""
    from evalkit.report.comparison_areas import _money, _num, _span

    assert _span(-229, 2734, _num) == "from 229 more to 2,734 fewer"
    assert _span(51, 340, _num) == "from 51 to 340 fewer"
    assert _span(-50, -10, _num) == "from 10 to 50 more"
    assert _span(-3.2e6, 38.4e6, _money, "added", "avoided") == "from £3.2 million added to £38.4 million avoided"
