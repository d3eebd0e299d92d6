"""Probabilistic linkage of two identified lists with Splink (Fellegi-Sunter, DuckDB backend by default).

The model compares first name, surname, date of birth, postcode and sex, each
at several levels of agreement (:class:`LinkSettings`), learns how often each
level occurs among true matches (*m*) and among non-matches (*u*) without any
labelled pairs, and scores every candidate pair with a match weight
(log2 of the Bayes factor plus the prior). Training, in Splink's recommended
order:

1. the prior (the chance two random records match), from pairs that agree on
   name and date of birth exactly, assuming those rules find 70% of matches;
2. *u* from random pairs (``max_pairs_u``, seeded: the same files give the same model);
3. *m* by expectation-maximisation, in two passes blocked on date of birth (to
   learn the name and postcode levels) and on surname (to learn date of birth);
   :meth:`LinkSettings.national` tightens these and the candidate rules for
   extracts of millions of records.

Each record of the first list is linked to its best-scoring record in the
second (ties to the lower record id) when the score reaches the threshold.

Levels chosen for the errors providers make: a nickname level for given names
(:mod:`evalkit.link.nicknames`), one keying error (Damerau-Levenshtein ≤ 1), a
looser Jaro-Winkler level; for dates of birth, day and month swapped and one
wrong digit; for postcodes, the same sector or district (a recent move).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.errors import SpecError

#: Default candidate-pair rules: a pair is scored when it agrees on any one of these.
DEFAULT_BLOCKING: tuple[str, ...] = (
    "l.date_of_birth = r.date_of_birth",
    "l.surname = r.surname and l.first_name_group = r.first_name_group",
    "l.postcode = r.postcode and substr(l.first_name, 1, 1) = substr(r.first_name, 1, 1)",
    "l.first_name_group = r.first_name_group and substr(l.date_of_birth, 1, 4) = substr(r.date_of_birth, 1, 4)",
    "l.surname = r.surname and substr(l.date_of_birth, 1, 4) = substr(r.date_of_birth, 1, 4)",
)
#: Candidate-pair rules for national extracts (millions of records): each rule adds a second field, so no
#: rule compares every pair born on the same day or sharing a common surname.
NATIONAL_BLOCKING: tuple[str, ...] = (
    "l.date_of_birth = r.date_of_birth and substr(l.surname, 1, 1) = substr(r.surname, 1, 1)",
    "l.surname = r.surname and l.first_name_group = r.first_name_group",
    "l.postcode = r.postcode and substr(l.first_name, 1, 1) = substr(r.first_name, 1, 1)",
    "l.first_name_group = r.first_name_group and substr(l.date_of_birth, 1, 7) = substr(r.date_of_birth, 1, 7)",
)
#: Pairs used to learn m by expectation-maximisation (each leaves the other fields free to be learned).
DEFAULT_TRAINING: tuple[str, ...] = ("l.date_of_birth = r.date_of_birth", "l.surname = r.surname")
NATIONAL_TRAINING: tuple[str, ...] = (
    "l.date_of_birth = r.date_of_birth and substr(l.surname, 1, 1) = substr(r.surname, 1, 1)",
    "l.surname = r.surname and l.first_name_group = r.first_name_group",
)
#: Match weight at or above which a pair is a link (about 99.6% match probability: 2**8 to 1).
DEFAULT_THRESHOLD = 8.0
#: The threshold for national extracts (:meth:`LinkSettings.national`): 2**4 to 1, about 94% match probability.
NATIONAL_THRESHOLD = 4.0


@dataclass(frozen=True)
class LinkSettings:
    """How two lists are linked.

    Attributes
    ----------
    threshold
        Match weight at or above which the best pair of a record is a link.
    blocking
        Candidate-pair rules (SQL on ``l.`` and ``r.`` columns); a pair is scored when any rule holds.
    training
        Rules giving the pairs *m* is learned from (one expectation-maximisation pass each).
    name_jaro_winkler
        Jaro-Winkler similarity for the "similar name" level of first name and surname.
    name_typos, dob_typos
        Include the one-keying-error level (Damerau-Levenshtein ≤ 1) for names, and for date of birth.
    nicknames, dob_day_month_swapped
        Include the nickname level, and the day-and-month-swapped level.
    postcode_levels
        Postcode levels below exact agreement, from ``"sector"``, ``"district"``, ``"area"``.
    prior_recall
        Share of true matches assumed found by exact agreement on name and date of birth (for the prior).
    max_pairs_u, seed
        Random pairs used to estimate *u*, and their seed.
    review_sample, review_band
        Size of the clerical-review sample, drawn from best pairs whose weight is within
        ``review_band`` of the threshold.
    """

    threshold: float = DEFAULT_THRESHOLD
    blocking: tuple[str, ...] = DEFAULT_BLOCKING
    training: tuple[str, ...] = DEFAULT_TRAINING
    name_jaro_winkler: float = 0.88
    name_typos: bool = True
    nicknames: bool = True
    dob_typos: bool = True
    dob_day_month_swapped: bool = True
    postcode_levels: tuple[str, ...] = ("sector", "district")
    prior_recall: float = 0.7
    max_pairs_u: float = 2e6
    seed: int = 2021
    review_sample: int = 200
    review_band: float = 6.0

    @classmethod
    def national(cls, **changes: Any) -> "LinkSettings":
        """Settings for national extracts: tighter candidate and training rules (:data:`NATIONAL_BLOCKING`)
        and a lower threshold (:data:`NATIONAL_THRESHOLD`).

        Why a lower threshold: a match weight includes the prior (log2 of the chance that two random records
        match), which falls by log2(10) = 3.3 for every tenfold growth of the lists; at a fixed weight of 8,
        recall fell from 0.988 (10,000 records a side) to 0.918 (1,000,000), while weight 4 kept precision
        at 0.998 or more and recall at 0.98 or more from 10,000 to 1,000,000 (``benchmarks/bench_scale.py
        link``; docs/scale.md). Set it from the clerical review on real data.
        """
        return cls(**{"blocking": NATIONAL_BLOCKING, "training": NATIONAL_TRAINING,
                      "threshold": NATIONAL_THRESHOLD, **changes})

    @classmethod
    def from_mapping(cls, values: dict[str, Any], *, source: str = "settings") -> "LinkSettings":
        """Settings from a YAML mapping (unknown keys are refused, naming the key)."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise SpecError(f"{source}: unknown linkage setting '{unknown[0]}'. Fix: use one of "
                            f"{', '.join(sorted(known))}.")
        clean = dict(values)
        for key in ("blocking", "training", "postcode_levels"):
            if key in clean:
                clean[key] = tuple(clean[key])
        bad = set(clean.get("postcode_levels", ())) - {"sector", "district", "area"}
        if bad:
            raise SpecError(f"{source}: postcode_levels may hold sector, district and area, not {sorted(bad)[0]}.")
        for key in ("threshold", "name_jaro_winkler", "prior_recall", "max_pairs_u", "review_band"):
            if key in clean and not isinstance(clean[key], (int, float)):
                raise SpecError(f"{source}: {key} must be a number.")
        return cls(**clean)


def load_settings(path: str | Path) -> LinkSettings:
    """Linkage settings from a YAML file (keys as :class:`LinkSettings`' attributes)."""
    import yaml

    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f", line {line + 1}" if line is not None else ""
        raise SpecError(f"{path}{where}: not valid YAML. Fix: write one 'setting: value' per line.") from None
    if not isinstance(values, dict):
        raise SpecError(f"{path}: expected settings as 'name: value' lines.")
    return LinkSettings.from_mapping(values, source=str(path))


def comparisons(s: LinkSettings) -> list:
    """Splink comparisons for the five fields, built from the settings."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    def name(col: str, nick: bool) -> Any:
        levels: list[Any] = [cll.NullLevel(col), cll.ExactMatchLevel(col)]
        if nick:
            levels.append(cll.CustomLevel(f"{col}_group_l = {col}_group_r", label_for_charts="Nickname"))
        if s.name_typos:
            levels.append(cll.DamerauLevenshteinLevel(col, 1))
        levels += [cll.JaroWinklerLevel(col, s.name_jaro_winkler), cll.ElseLevel()]
        return cl.CustomComparison(levels, output_column_name=col)

    dob: list[Any] = [cll.NullLevel("date_of_birth"), cll.ExactMatchLevel("date_of_birth")]
    if s.dob_day_month_swapped:
        dob.append(cll.CustomLevel(
            "substr(date_of_birth_l, 1, 4) = substr(date_of_birth_r, 1, 4) and "
            "substr(date_of_birth_l, 6, 2) = substr(date_of_birth_r, 9, 2) and "
            "substr(date_of_birth_l, 9, 2) = substr(date_of_birth_r, 6, 2)", label_for_charts="Day and month swapped"))
    if s.dob_typos:
        dob.append(cll.DamerauLevenshteinLevel("date_of_birth", 1))
    dob += [cll.CustomLevel("substr(date_of_birth_l, 1, 4) = substr(date_of_birth_r, 1, 4)",
                            label_for_charts="Same year"), cll.ElseLevel()]
    # one group around the whole pattern: DuckDB returns the match, Spark group 1 by default: the same text
    regex = {"sector": r"^([A-Z]{1,2}[0-9][A-Z0-9]? [0-9])", "district": r"^([A-Z]{1,2}[0-9][A-Z0-9]?)",
             "area": r"^([A-Z]{1,2})"}
    post: list[Any] = [cll.NullLevel("postcode"), cll.ExactMatchLevel("postcode")]
    for level in s.postcode_levels:
        post.append(cll.CustomLevel(f"regexp_extract(postcode_l, '{regex[level]}') = "
                                    f"regexp_extract(postcode_r, '{regex[level]}')",
                                    label_for_charts=f"Same {level}"))
    post.append(cll.ElseLevel())
    return [name("first_name", s.nicknames), name("surname", False),
            cl.CustomComparison(dob, output_column_name="date_of_birth"),
            cl.CustomComparison(post, output_column_name="postcode"),
            cl.ExactMatch("sex")]


@dataclass(frozen=True)
class FittedLink:
    """What one linkage run found: the best pair per record (ids and scores only) and the model's parameters."""

    best: pd.DataFrame          # unique_id_l, unique_id_r, match_weight, match_probability, gamma_* (every left record)
    parameters: pd.DataFrame    # comparison, level, m, u, bayes_factor
    prior: float                # probability two random records match
    candidate_pairs: int


def fit_and_link(left: pd.DataFrame, right: pd.DataFrame, s: LinkSettings, *, left_name: str = "provider",
                 right_name: str = "extract", db_api: Any = None) -> FittedLink:
    """Train the model on ``left`` and ``right`` (standardised frames) and find each left record's best pair.

    ``db_api`` is a Splink database API (default: an in-memory DuckDB one); Splink's Spark API
    runs the same model on a cluster.
    """
    try:
        from splink import DuckDBAPI, Linker, SettingsCreator
    except ImportError:
        raise SpecError("record linkage needs Splink, which is not installed. Fix: install evalkit with its 'link' "
                        "extra (pip install 'evalkit[link]').") from None

    # Splink's messages name columns, never values; its notes (e.g. a level no pair reached in training)
    # are for developers, so only errors are let through
    logging.getLogger("splink").setLevel(logging.ERROR)
    if db_api is None:
        import duckdb

        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        db_api = DuckDBAPI(connection=con)
    settings = SettingsCreator(
        link_type="link_only", unique_id_column_name="unique_id", comparisons=comparisons(s),
        blocking_rules_to_generate_predictions=list(s.blocking), retain_intermediate_calculation_columns=False,
        retain_matching_columns=False, additional_columns_to_retain=[],
    )
    linker = Linker([left, right], settings, db_api=db_api, input_table_aliases=[left_name, right_name],
                    set_up_basic_logging=False)  # no root handler: evalkit decides what is printed
    linker.training.estimate_probability_two_random_records_match(
        ["l.first_name = r.first_name and l.surname = r.surname and l.date_of_birth = r.date_of_birth"],
        recall=s.prior_recall)
    linker.training.estimate_u_using_random_sampling(max_pairs=s.max_pairs_u, seed=s.seed)
    for rule in s.training:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    low = s.threshold - s.review_band
    pairs = linker.inference.predict(threshold_match_weight=low).as_pandas_dataframe()
    model = linker.misc.save_model_to_json()
    params = _parameters(model)
    if pairs.empty:
        best = pd.DataFrame(columns=["unique_id_l", "unique_id_r", "match_weight", "match_probability"])
    else:
        # the left list's records are always on the left: Splink orders by source dataset name, so swap if needed
        flip = pairs["source_dataset_l"] != left_name
        for a, b in (("unique_id_l", "unique_id_r"), ("source_dataset_l", "source_dataset_r")):
            pairs.loc[flip, [a, b]] = pairs.loc[flip, [b, a]].to_numpy()
        best = (pairs.sort_values(["unique_id_l", "match_weight", "unique_id_r"], ascending=[True, False, True],
                                  kind="mergesort")
                .drop_duplicates("unique_id_l"))
        keep = ["unique_id_l", "unique_id_r", "match_weight", "match_probability",
                *[c for c in best.columns if c.startswith("gamma_")]]
        best = best[keep].reset_index(drop=True)
    return FittedLink(best=best, parameters=params, prior=float(model["probability_two_random_records_match"]),
                      candidate_pairs=int(len(pairs)))


def _parameters(model: dict) -> pd.DataFrame:
    rows = []
    for comp in model["comparisons"]:
        for level in comp["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            rows.append({"comparison": comp["output_column_name"],
                         "level": level.get("label_for_charts") or level["sql_condition"],
                         "m": m, "u": u,
                         "bayes_factor": (m / u) if (m is not None and u) else np.nan})
    return pd.DataFrame(rows)


def accept(best: pd.DataFrame, threshold: float) -> pd.Series:
    """Which best pairs are links (weight at or above the threshold)."""
    return best["match_weight"] >= threshold


__all__ = ["LinkSettings", "load_settings", "NATIONAL_BLOCKING", "NATIONAL_TRAINING", "DEFAULT_TRAINING", "FittedLink", "fit_and_link", "comparisons", "accept", "DEFAULT_BLOCKING",
           "DEFAULT_THRESHOLD", "NATIONAL_THRESHOLD"]
