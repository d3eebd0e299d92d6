"""A hand-configured plain Splink model on four fields, to measure ``evalkit link`` against.

First name, surname, date of birth and postcode, with Splink's own comparison
library (:class:`splink.comparison_library.NameComparison`,
``DateOfBirthComparison``, ``PostcodeComparison``), names lower-cased and
trimmed (no transliteration), candidate pairs agreeing on any one field, the
prior from exact agreement on all three identity fields (recall 0.7), *u* from
random pairs, *m* by expectation-maximisation blocked on date of birth and on
surname, and every pair at or above match weight 0 taken as a link. This is
the "plain Splink" of the linkage benchmarks (docs/linkage.md); it is not used
by ``evalkit link``.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"unique_id": frame["record_id"].astype(str)})
    for col in ("first_name", "surname"):
        s = frame[col].astype("string").str.strip().str.lower()
        out[col] = s.where(s != "")
    text = frame["date_of_birth"].astype("string").str.strip()
    iso = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    uk = pd.to_datetime(text, format="%d/%m/%Y", errors="coerce")
    out["date_of_birth"] = iso.fillna(uk).dt.strftime("%Y-%m-%d").astype("string")
    pc = frame["postcode"].astype("string").str.upper().str.replace(r"\s+", "", regex=True) if "postcode" in frame \
        else pd.Series(pd.NA, index=frame.index, dtype="string")
    # re-spaced before the inward code, as Splink's postcode comparison expects
    pc = pc.where(pc.str.len() < 5, pc.str[:-3] + " " + pc.str[-3:])
    out["postcode"] = pc.where(pc != "")
    return out


def plain_splink_pairs(left: pd.DataFrame, right: pd.DataFrame, *, threshold: float = 0.0,
                       seed: int = 2021) -> pd.DataFrame:
    """Every pair (``unique_id_l`` from ``left``, ``unique_id_r`` from ``right``) plain Splink links at
    ``threshold``, with its match weight. ``left`` and ``right`` are identified files as read
    (``record_id``, ``first_name``, ``surname``, ``date_of_birth``, ``postcode``)."""
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[cl.NameComparison("first_name"), cl.NameComparison("surname"),
                     cl.DateOfBirthComparison("date_of_birth", input_is_string=True),
                     cl.PostcodeComparison("postcode")],
        blocking_rules_to_generate_predictions=[block_on("first_name"), block_on("surname"),
                                                block_on("date_of_birth"), block_on("postcode")],
        retain_matching_columns=False, retain_intermediate_calculation_columns=False,
    )
    linker = Linker([_clean(left), _clean(right)], settings, db_api=DuckDBAPI(connection=con),
                    input_table_aliases=["a_left", "b_right"], set_up_basic_logging=False)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "date_of_birth")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=seed)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("surname"))
    pairs: Any = linker.inference.predict(threshold_match_weight=threshold).as_pandas_dataframe()
    flip = pairs["source_dataset_l"] != "a_left"
    pairs.loc[flip, ["unique_id_l", "unique_id_r"]] = pairs.loc[flip, ["unique_id_r", "unique_id_l"]].to_numpy()
    return pairs[["unique_id_l", "unique_id_r", "match_weight"]].reset_index(drop=True)


def scores(found: set[tuple[str, str]], true: set[tuple[str, str]]) -> tuple[float, float, float]:
    """Precision, recall and F1 of found pairs against the true pairs."""
    tp = len(found & true)
    p = tp / len(found) if found else 0.0
    r = tp / len(true) if true else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


__all__ = ["plain_splink_pairs", "scores"]
