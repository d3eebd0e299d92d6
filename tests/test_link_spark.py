"""Splink's Spark backend in local mode runs evalkit's linkage model (slow: starts a JVM; needs pyspark and Java).

Install with ``pip install 'evalkit[spark]'`` (pyspark 3.5; Java 17). Not in the fast suite: CI does not
install pyspark (a 300 MB download) and this test takes minutes on two cores.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

pytestmark = pytest.mark.slow


def test_splink_on_spark_local_mode_links_like_duckdb(tmp_path):
    pytest.importorskip("pyspark")
    pytest.importorskip("splink")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime")
    from pyspark.sql import SparkSession
    from splink.backends.spark import SparkAPI, similarity_jar_location

    from evalkit.link.model import LinkSettings, fit_and_link
    from evalkit.link.prepare import standardise
    from evalkit.synth.identified import identified_tables
    from evalkit.synth.world import simulate

    tables = identified_tables(2021, simulate(2021).tables)
    left = standardise(tables["identified_participants.csv"].fillna("").astype(str), "participants")
    right = standardise(tables["identified_police.csv"].fillna("").astype(str), "police")
    truth = tables["identified_truth.csv"].set_index("record_id")["police_id"]
    s = LinkSettings(threshold=8.0)  # one fixed threshold, so the two backends are compared like for like
    duck = fit_and_link(left, right, s, right_name="police")

    spark = (SparkSession.builder.master("local[2]").appName("evalkit-link-test")
             .config("spark.jars", similarity_jar_location())
             .config("spark.sql.shuffle.partitions", "4").config("spark.default.parallelism", "4")
             .config("spark.ui.enabled", "false").config("spark.driver.memory", "2g")
             .config("spark.sql.warehouse.dir", str(tmp_path / "warehouse")).getOrCreate())
    try:
        spark.sparkContext.setCheckpointDir(str(tmp_path / "checkpoints"))

        def frame(f: pd.DataFrame):
            return spark.createDataFrame(f.astype(object).where(f.notna(), None))

        on_spark = fit_and_link(frame(left), frame(right), s, right_name="police",
                                db_api=SparkAPI(spark_session=spark, break_lineage_method="checkpoint"))
    finally:
        spark.stop()

    def accepted(fit) -> pd.Series:
        best = fit.best.set_index("unique_id_l")
        return best.loc[best["match_weight"] >= fit.threshold, "unique_id_r"]

    a, b = accepted(duck), accepted(on_spark)
    tp = int((b == truth.reindex(b.index)).sum())
    assert tp / len(b) >= 0.98 and tp / int((truth != "").sum()) >= 0.98
    agree = (a.reindex(b.index) == b).mean()
    assert agree >= 0.99 and abs(len(a) - len(b)) <= 0.01 * len(a), (len(a), len(b), agree)
