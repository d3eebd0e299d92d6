"""The file front end (``match_file`` / ``evalkit match``): same matched sets as MatchIt and as ``match()``.

References: the MatchIt 4.7.2 matched sets in tests/reference/matching/ (made by
the script there) and evalkit's own DataFrame API, which those sets already
check. Also: located errors for bad files, atomic output, no pandas import.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from evalkit.cli import cli
from evalkit.designs.matching import match
from evalkit.designs.matching.files import match_file
from evalkit.errors import DataError, EvalkitError, InsufficientDataError, MissingDataError

from matching_reference import ALL, CONFIGS, REF, covariates, options


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(REF / "matching_data.csv")


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
@pytest.mark.parametrize("name", CONFIGS["name"].tolist())
def test_matched_set_identical_to_matchit(tmp_path, data, name, suffix):
    c = CONFIGS.set_index("name").loc[name].to_dict()
    shuffled = data.sample(frac=1.0, random_state=7)  # file order must not matter
    src = _write(shuffled, tmp_path / f"pool{suffix}")
    out = tmp_path / "matched.csv"
    res = match_file(src, treatment="treated", id_col="person_id", covariates=covariates(c), out=out, **options(c))
    got = pd.read_csv(out, keep_default_na=False, na_values=[""])
    ref = pd.read_csv(REF / f"matched_{name}.csv")
    ref = ref[ref["weight"] > 0].reset_index(drop=True)
    assert got["person_id"].tolist() == ref["person_id"].tolist()
    np.testing.assert_allclose(got["weight"], ref["weight"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(got["subclass"].to_numpy(float), ref["subclass"].to_numpy(float))
    assert res.n_treated_matched + res.n_control_matched == len(ref)


def test_same_as_the_dataframe_api_with_integer_ids(tmp_path, data):
    """Integer ids in a compact range take the counting path; sparse ids the sorting path."""
    for ids in (np.arange(1, len(data) + 1), np.random.default_rng(3).choice(10**9, len(data), replace=False)):
        frame = data.assign(person_id=ids).sample(frac=1.0, random_state=11)
        src = _write(frame, tmp_path / "pool.csv")
        out = tmp_path / "m.csv"
        res = match_file(src, treatment="treated", id_col="person_id", covariates=ALL, out=out, caliper=0.25,
                         ratio=2, exact=["sex"])
        m = match(frame, treatment="treated", id_col="person_id", covariates=ALL, caliper=0.25, ratio=2,
                  exact=["sex"])
        got = pd.read_csv(out, float_precision="round_trip")  # pandas' default float parser is not exact
        want = m.matched.reset_index(drop=True)
        assert got["person_id"].tolist() == want["person_id"].tolist()
        np.testing.assert_array_equal(got["distance"].to_numpy(), want["distance"].to_numpy())
        np.testing.assert_array_equal(got["weight"].to_numpy(), want["weight"].to_numpy())
        np.testing.assert_array_equal(got["subclass"].to_numpy(float), want["subclass"].to_numpy())
        assert (res.n_treated_matched, res.n_control_matched) == (m.n_treated_matched, m.n_control_matched)
        np.testing.assert_array_equal(res.propensity.coef, m.propensity.coef)


def test_exact_on_numbers_and_text_together_matches_the_dataframe_api(tmp_path, data):
    """Exact strata from a whole-number column (ranked by counting) and a text column, numbered as pandas does."""
    frame = data.assign(band=(data["age"] // 4).astype(int) - 3, flag=data["school_exclusion"].astype(bool))
    src = _write(frame.sample(frac=1.0, random_state=5), tmp_path / "pool.csv")
    out = tmp_path / "m.csv"
    match_file(src, treatment="treated", id_col="person_id", covariates=["age", "risk"], out=out,
               exact=["band", "sex", "flag"], ratio=2)
    m = match(frame, treatment="treated", id_col="person_id", covariates=["age", "risk"],
              exact=["band", "sex", "flag"], ratio=2)
    got = pd.read_csv(out)
    want = m.matched.reset_index(drop=True)
    assert got["person_id"].tolist() == want["person_id"].tolist()
    np.testing.assert_array_equal(got["subclass"].to_numpy(float), want["subclass"].to_numpy())


def test_balance_table_equals_the_dataframe_api(tmp_path, data):
    from evalkit.designs.matching import balance_table

    src = _write(data.sample(frac=1.0, random_state=2), tmp_path / "pool.csv")
    res = match_file(src, treatment="treated", id_col="person_id", covariates=ALL, out=tmp_path / "m.csv",
                     caliper=0.2, balance=tmp_path / "balance.csv")
    m = match(data, treatment="treated", id_col="person_id", covariates=ALL, caliper=0.2)
    want = balance_table(data, m).to_frame()
    got = pd.read_csv(tmp_path / "balance.csv", float_precision="round_trip")
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-12, atol=1e-14)
    worst = want.loc[want["diff_after"].abs().idxmax()]
    assert res.largest_diff_after == (worst["covariate"], pytest.approx(worst["diff_after"]))
    assert "Balance after matching:" in res.text() and worst["covariate"] in res.text()


def test_row_order_never_changes_the_output_bytes(tmp_path, data):
    outs = []
    for seed in (1, 2):
        src = _write(data.sample(frac=1.0, random_state=seed), tmp_path / f"p{seed}.csv")
        out = tmp_path / f"m{seed}.csv"
        match_file(src, treatment="treated", id_col="person_id", covariates=ALL, out=out, caliper=0.2)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_parquet_output_and_summary_without_row_level_data(tmp_path, data):
    src = _write(data, tmp_path / "pool.csv")
    out = tmp_path / "m.parquet"
    res = match_file(src, treatment="treated", id_col="person_id", covariates=ALL, out=out, caliper=0.2)
    got = pd.read_parquet(out)
    assert list(got.columns) == ["person_id", "treated", "distance", "weight", "subclass"]
    text = res.text() + res.summary()
    assert "P0001" not in text and "matched" in res.text().lower()
    assert res.to_frame()["all"].sum() == len(data)


# --- bad input: a clear, located error and nothing written ------------------------------------------------------

def _run(src, tmp_path, **kw):
    out = tmp_path / "out.csv"
    kw.setdefault("covariates", ["age", "risk", "sex"])
    try:
        match_file(src, treatment="treated", id_col="person_id", out=out, **kw)
    finally:
        assert not out.exists(), "a failed run must leave no output"
        assert not list(tmp_path.glob(".out.csv.*")), "no temporary file left behind"


def test_missing_column_is_named_with_a_suggestion(tmp_path, data):
    src = _write(data, tmp_path / "pool.csv")
    with pytest.raises(MissingDataError, match=r"'prior_offence'.*did you mean 'prior_offences'"):
        _run(src, tmp_path, covariates=["prior_offence"])


@pytest.mark.parametrize("column, value, says", [
    ("age", "", "missing value"),
    ("risk", "NaN", "missing value"),
    ("sex", "", "missing value"),
    ("treated", "2", "treatment must be 0 or 1 (or True/False); found 2"),
    ("treated", "yes", "treatment must be 0 or 1 (or True/False); found 'yes'"),
])
def test_bad_cell_names_file_row_and_column(tmp_path, data, column, value, says):
    frame = data.astype({column: object})
    frame.loc[57, column] = value
    src = _write(frame, tmp_path / "pool.csv")
    with pytest.raises(DataError) as err:
        _run(src, tmp_path)
    problem = err.value.problems[0]
    assert (problem.row, problem.column) == (59, column)  # header is row 1, data row 57 (0-based) is row 59
    assert says in str(problem) and "pool.csv" in str(problem)


def test_duplicate_ids_name_both_rows(tmp_path, data):
    for ids in (data["person_id"], pd.Series(np.arange(len(data)) * 7)):  # text ids; integer ids
        frame = data.assign(person_id=ids.to_numpy())
        frame.loc[300, "person_id"] = frame.loc[12, "person_id"]
        src = _write(frame, tmp_path / "pool.csv")
        with pytest.raises(DataError, match=r"row 14, column 'person_id'.*appears more than once \(also row 302\)"):
            _run(src, tmp_path)


def test_ragged_line_is_located(tmp_path, data):
    src = _write(data, tmp_path / "pool.csv")
    lines = src.read_text().splitlines()
    lines[40] = lines[40] + ",extra"
    src.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"pool.csv, row 41: has 14 field\(s\); the header has 13"):
        _run(src, tmp_path)


def _pool_with_a_word_in_age(path: Path, n: int, row: int, word: str, *, digits: int) -> Path:
    rng = np.random.default_rng(n)
    frame = pd.DataFrame({"person_id": np.arange(n), "treated": (np.arange(n) % 4 == 0).astype(int),
                          "age": rng.normal(17, 2, n).round(digits).astype(str), "risk": rng.normal(size=n),
                          "sex": rng.choice(["f", "m"], n)})
    frame.loc[row, "age"] = word
    return _write(frame, path)


def test_text_in_a_numeric_column_is_refused_not_dummy_coded(tmp_path):
    src = _pool_with_a_word_in_age(tmp_path / "pool.csv", 400, 399, "unknown", digits=3)
    with pytest.raises(DataError, match=r"column 'age'.*read as text with 3\d\d different values.*'unknown'"):
        _run(src, tmp_path)


def test_a_word_far_down_a_numeric_column_is_located(tmp_path):
    """Past the first 64 KB the column's type is already fixed as numbers: the bad cell is named, not guessed."""
    src = _pool_with_a_word_in_age(tmp_path / "pool.csv", 6000, 5000, "n/k", digits=4)
    assert src.stat().st_size > 3 * 65536
    with pytest.raises(DataError, match=r"pool.csv, row 5002, column 'age': 'n/k' is not a number"):
        _run(src, tmp_path)


def test_constant_covariate_and_wrong_suffix(tmp_path, data):
    src = _write(data.assign(risk=1.0), tmp_path / "pool.csv")
    with pytest.raises(InsufficientDataError, match="'risk' takes the same value for everyone"):
        _run(src, tmp_path)
    with pytest.raises(EvalkitError, match=r"must be \.csv, \.csv\.gz or \.parquet"):
        _run(tmp_path / "pool.xlsx", tmp_path)


def test_failed_run_keeps_the_previous_output(tmp_path, data):
    src = _write(data.assign(risk=1.0), tmp_path / "pool.csv")
    out = tmp_path / "m.csv"
    out.write_text("previous run\n")
    with pytest.raises(InsufficientDataError):
        match_file(src, treatment="treated", id_col="person_id", covariates=["risk"], out=out)
    assert out.read_text() == "previous run\n"


# --- the command ------------------------------------------------------------------------------------------------

def test_command_prints_counts_and_writes_the_matched_set(tmp_path, data):
    src = _write(data, tmp_path / "pool.csv.gz")
    out = tmp_path / "m.csv"
    r = CliRunner().invoke(cli, ["match", str(src), "--treatment", "treated", "--id", "person_id",
                                 "--covariates", ",".join(ALL), "--caliper", "0.2", "--exact", "sex",
                                 "--out", str(out), "--balance", str(tmp_path / "balance.csv")])
    assert r.exit_code == 0, r.output
    assert "Balance after matching:" in r.output and (tmp_path / "balance.csv").is_file()
    m = match(data, treatment="treated", id_col="person_id", covariates=ALL, caliper=0.2, exact=["sex"])
    assert f"Matched {m.n_treated_matched:,} of {m.n_treated:,} participants" in r.output
    assert pd.read_csv(out)["person_id"].tolist() == m.matched["person_id"].tolist()


def test_command_reports_a_bad_file_in_one_line(tmp_path, data):
    frame = data.astype({"age": object})
    frame.loc[3, "age"] = ""
    src = _write(frame, tmp_path / "pool.csv")
    r = CliRunner().invoke(cli, ["match", str(src), "--treatment", "treated", "--id", "person_id",
                                 "--covariates", "age,risk", "--out", str(tmp_path / "m.csv")])
    assert r.exit_code == 2
    assert "row 5, column 'age': missing value" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("spelling", [("True", "False"), ("true", "false"), ("TRUE", "FALSE")])
def test_command_reads_the_true_false_columns_evalkit_writes(tmp_path, data, spelling):
    """A treatment and a yes/no covariate written as True/False (pandas, evalkit's own files, R) match as 0/1,
    into an output folder that does not exist yet."""
    frame = data.astype({"treated": object, "school_exclusion": object})
    for col in ("treated", "school_exclusion"):
        frame[col] = data[col].map({1: spelling[0], 0: spelling[1]})
    src = _write(frame, tmp_path / "pool.csv")
    out = tmp_path / "new" / "folder" / "m.csv"
    r = CliRunner().invoke(cli, ["match", str(src), "--treatment", "treated", "--id", "person_id",
                                 "--covariates", "age,school_exclusion,risk", "--out", str(out)])
    assert r.exit_code == 0, r.output
    m = match(data, treatment="treated", id_col="person_id", covariates=["age", "school_exclusion", "risk"])
    assert pd.read_csv(out)["person_id"].tolist() == m.matched["person_id"].tolist()


def test_command_names_the_stray_value_in_a_true_false_treatment(tmp_path, data):
    frame = data.astype({"treated": object})
    frame["treated"] = data["treated"].map({1: "True", 0: "False"})
    frame.loc[57, "treated"] = "yes"  # the one value that makes the column text
    src = _write(frame, tmp_path / "pool.csv")
    r = CliRunner().invoke(cli, ["match", str(src), "--treatment", "treated", "--id", "person_id",
                                 "--covariates", "age,risk", "--out", str(tmp_path / "m.csv")])
    assert r.exit_code == 2
    assert "row 59, column 'treated': treatment must be 0 or 1 (or True/False); found 'yes'" in r.output


@pytest.mark.parametrize("separator", ["number", "yes/no"])
def test_command_names_the_covariate_that_separates_the_groups(tmp_path, data, separator):
    frame = data.copy()
    frame["in_custody"] = frame["treated"] * 5 + frame["risk"] if separator == "number" else frame["treated"] == 1
    src = _write(frame, tmp_path / "pool.csv")
    r = CliRunner().invoke(cli, ["match", str(src), "--treatment", "treated", "--id", "person_id",
                                 "--covariates", "age,in_custody,risk", "--out", str(tmp_path / "m.csv")])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "perfect separation" in r.output and "The covariate at fault: in_custody." in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_console_script_runs_without_pandas_and_flushes_before_leaving(tmp_path, data):
    """The real entry point (fast exit, process tuning): output complete, nothing printed lost, no pandas."""
    src = _write(data, tmp_path / "pool.csv")
    out = tmp_path / "m.csv"
    code = ("import sys; sys.argv = ['evalkit', 'match', sys.argv[1], '--treatment', 'treated', '--id', "
            "'person_id', '--covariates', 'age,risk,sex,locality', '--caliper', '0.2', '--out', sys.argv[2]]\n"
            "import atexit\n"
            "atexit.register(lambda: print('pandas imported' if 'pandas' in sys.modules else 'no pandas'))\n"
            "from evalkit.cli import main\n"
            "import evalkit.cli as c\n"
            "real = c._exit_now\n"
            "def check():\n"
            "    print('pandas imported' if 'pandas' in sys.modules else 'no pandas'); real()\n"
            "c._exit_now = check\n"
            "main()\n")
    proc = subprocess.run([sys.executable, "-c", code, str(src), str(out)], capture_output=True, text=True,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "")})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("no pandas") == 1  # printed by the fast exit; atexit handlers are skipped
    assert "Wrote the matched set" in proc.stdout
    assert len(pd.read_csv(out)) > 0


def test_gzip_input_is_read(tmp_path, data):
    src = tmp_path / "pool.csv.gz"
    with gzip.open(src, "wt") as fh:
        data.to_csv(fh, index=False)
    res = match_file(src, treatment="treated", id_col="person_id", covariates=ALL, out=tmp_path / "m.csv")
    assert res.n_treated == int(data["treated"].sum())
