"""The shipped synthetic data validate clean, ingest, and load the same from store and folder.

The data tables are shipped gzip-compressed (``<table>.csv.gz``).
"""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import pandas as pd
import pytest

from evalkit.data.contract import TABLES
from evalkit.data.load import load_tables
from evalkit.data.store import ingest_files
from evalkit.data.validate import validate_files

DATA = Path(__file__).resolve().parents[1] / "synthetic_data"
FILES = [DATA / f"{t}.csv.gz" for t in TABLES]

pytestmark = pytest.mark.skipif(not all(p.exists() for p in FILES), reason="synthetic_data/ not generated yet")


def test_shipped_data_validate_ingest_and_load(tmp_path):
    t0 = time.perf_counter()
    problems = validate_files(FILES, max_problems=20)
    t_validate = time.perf_counter() - t0
    assert problems == [], "\n".join(map(str, problems))

    db = tmp_path / "store.duckdb"
    t0 = time.perf_counter()
    report = ingest_files(FILES, db)
    t_ingest = time.perf_counter() - t0
    assert report.n_added == len(FILES)
    from_store = load_tables(db)
    from_folder = load_tables(DATA)
    for t in TABLES:
        n_lines = sum(1 for _ in gzip.open(DATA / f"{t}.csv.gz", "rt", encoding="utf-8")) - 1
        assert report.rows_added[t] == len(from_store[t]) == n_lines
        pd.testing.assert_frame_equal(from_store[t], from_folder[t])
    assert ingest_files(FILES, db).n_added == 0
    t0 = time.perf_counter()
    load_tables(DATA)
    t_load = time.perf_counter() - t0
    print(f"\nshipped data ({sum(p.stat().st_size for p in FILES) / 1e6:.1f} MB): validate {t_validate:.1f} s, "
          f"ingest {t_ingest:.1f} s, load folder {t_load:.1f} s, store {db.stat().st_size / 1e6:.1f} MB")
    # generous bounds (shared 2-core machine); they catch an accidental quadratic path, not jitter
    assert t_validate < 30 and t_ingest < 60
