"""Out-of-core comparison-pool preparation in DuckDB equals the report's pandas path on the synthetic data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.analysis.data import comparison_pool
from evalkit.data.load import load_tables
from evalkit.errors import SpecError
from evalkit.measures.offending import offending_outcomes
from evalkit.protocol import load_protocol
from evalkit.scale.pool import prepare_pool

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "synthetic_data"
DATA_END = "2022-08-31"


@pytest.fixture(scope="module")
def tables():
    return load_tables(DATA, tables=["comparison_pool", "offences"])


@pytest.mark.parametrize("protocol, source", [("INT01.yaml", "custody_no_referral"), ("INT03.yaml", "any")])
def test_duckdb_pool_equals_pandas_pool_and_outcomes(tables, tmp_path, protocol, source):
    p = load_protocol(ROOT / "protocols" / protocol)
    pop = p.population
    pool = comparison_pool(p, tables, source)
    ref = offending_outcomes(pool[["person_id", "index_date"]], tables["offences"], data_end=DATA_END)
    ref = ref.set_index("person_id").loc[pool["person_id"]]
    result = prepare_pool(DATA / "comparison_pool.csv.gz", DATA / "offences.csv.gz", tmp_path / "pool.parquet",
                          data_end=DATA_END, pool_source=source, start_from=pop.start_from, start_to=pop.start_to,
                          age_min=pop.age_min, age_max=pop.age_max, memory_limit="256MB", threads=1)
    got = pd.read_parquet(tmp_path / "pool.parquet")
    assert result.people_out == len(pool) == len(got) and result.rows_in == 20000
    assert (got["person_id"].to_numpy() == pool["person_id"].to_numpy()).all()  # same people, same order
    assert (got["age"].to_numpy() == pool["age"].to_numpy()).all()
    assert (pd.to_datetime(got["index_date"]).to_numpy() == pool["index_date"].to_numpy()).all()
    for col in ("reoffended", "n_offences"):
        np.testing.assert_array_equal(got[col].to_numpy(), ref[col].to_numpy())  # NaN where incomplete, exact
    assert (got["followup_complete"].to_numpy() == ref["followup_complete"].to_numpy()).all()
    assert result.complete_followup == int(ref["followup_complete"].sum())
    assert not list(tmp_path.glob(".pool.parquet*"))  # no temporary file left


def test_a_file_without_the_contract_columns_is_one_plain_error(tmp_path):
    bad = tmp_path / "pool.csv"
    bad.write_text("id,when\n1,2020-05-01\n", encoding="utf-8")
    with pytest.raises(SpecError, match="could not be prepared"):
        prepare_pool(bad, DATA / "offences.csv.gz", tmp_path / "out.parquet", data_end=DATA_END)
    assert not (tmp_path / "out.parquet").exists()
