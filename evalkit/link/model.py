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
from dataclasses import dataclass, replace
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
#: Training for deduplication: within one file, pairs sharing a surname are mostly relatives (same surname
#: and address), so a surname block would teach the model "same household"; the second pass is blocked on
#: the whole name instead.
DEDUPE_TRAINING: tuple[str, ...] = ("l.date_of_birth = r.date_of_birth",
                                    "l.first_name_group = r.first_name_group and l.surname = r.surname")
NATIONAL_TRAINING: tuple[str, ...] = (
    "l.date_of_birth = r.date_of_birth and substr(l.surname, 1, 1) = substr(r.surname, 1, 1)",
    "l.surname = r.surname and l.first_name_group = r.first_name_group",
)
#: Match weight at or above which a pair is a link (about 99.6% match probability: 2**8 to 1).
DEFAULT_THRESHOLD = 8.0
#: The lowest threshold chosen from the model: a link is never made where the model thinks the records more
#: likely different people than the same (match probability below one half).
AUTO_FLOOR = 0.0
#: Least m of a field's "different" level: at most log2(1/0.01) = 6.6 against a match for one field.
MIN_ELSE_M = 0.01
#: Estimated precision the threshold is chosen for when none is set.
DEFAULT_TARGET_PRECISION = 0.995
#: The threshold for national extracts (:meth:`LinkSettings.national`): 2**4 to 1, about 94% match probability.
NATIONAL_THRESHOLD = 4.0


@dataclass(frozen=True)
class LinkSettings:
    """How two lists are linked.

    Attributes
    ----------
    threshold
        Match weight at or above which the best pair of a record is a link; ``None`` (the default): the
        lowest weight at which the model's estimated precision is at least ``target_precision``
        (:func:`choose_threshold`).
    target_precision
        Estimated precision the threshold is chosen for (0.995).
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
    name_swaps, surname_parts, initials
        Include the levels for first name and surname swapped, a surname part in common (double-barrelled
        and hyphenated surnames), and a first name given as its initial.
    one_to_one
        Use each record of either list at most once (greedily by weight): for designs where each person has
        at most one record on each side. Off by default: a provider list may hold a person twice.
    foreign_postcodes
        Also compare postcodes that are not UK-shaped, for exact agreement only (off: they are missing).
        For registers of another country, or many people living abroad.
    coverage_sample, coverage_pairs
        Left records scored against every right record to estimate what the candidate rules miss (at most
        ``coverage_pairs`` pairs; 0: no check).
    """

    threshold: float | None = None
    target_precision: float = DEFAULT_TARGET_PRECISION
    blocking: tuple[str, ...] = DEFAULT_BLOCKING
    training: tuple[str, ...] = DEFAULT_TRAINING
    name_jaro_winkler: float = 0.88
    name_typos: bool = True
    nicknames: bool = True
    dob_typos: bool = True
    dob_day_month_swapped: bool = True
    postcode_levels: tuple[str, ...] = ("sector", "district")
    prior_recall: float = 0.7
    max_pairs_u: float = 1e6
    seed: int = 2021
    review_sample: int = 200
    review_band: float = 6.0
    name_swaps: bool = True
    surname_parts: bool = True
    initials: bool = True
    one_to_one: bool = False
    foreign_postcodes: bool = False
    coverage_sample: int = 300
    coverage_pairs: int = 2_000_000

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
        return cls(**{"blocking": NATIONAL_BLOCKING, "training": NATIONAL_TRAINING, **changes})

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
        if clean.get("threshold") is None:
            clean.pop("threshold", None)
        for key in ("threshold", "target_precision", "name_jaro_winkler", "prior_recall", "max_pairs_u",
                    "review_band"):
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


#: Both names recorded the other way round (first name in the surname field and vice versa).
SWAPPED = "first_name_l = surname_r and surname_l = first_name_r"


def comparisons(s: LinkSettings, *, town: bool = False) -> list:
    """Splink comparisons for the fields (first name, surname, date of birth, postcode, sex; town when
    ``town``), built from the settings. Every column they read is made by :func:`evalkit.link.prepare.prepare`."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    def name(col: str, first: bool) -> Any:
        levels: list[Any] = [cll.NullLevel(col), cll.ExactMatchLevel(col)]
        if s.name_swaps:
            levels.append(cll.CustomLevel(SWAPPED, label_for_charts="First name and surname swapped"))
        if first and s.nicknames:
            levels.append(cll.CustomLevel(f"{col}_group_l = {col}_group_r", label_for_charts="Nickname"))
        if s.name_typos:
            levels.append(cll.DamerauLevenshteinLevel(col, 1))
        if not first and s.surname_parts:
            levels.append(cll.ArrayIntersectLevel("surname_parts", 1))
        levels.append(cll.JaroWinklerLevel(col, s.name_jaro_winkler))
        if first and s.initials:
            levels.append(cll.CustomLevel(
                f"(length({col}_l) = 1 or length({col}_r) = 1) and substr({col}_l, 1, 1) = substr({col}_r, 1, 1)",
                label_for_charts="Initial agrees"))
        levels.append(cll.ElseLevel())
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
    # sector and district are columns made once in prepare (not a regular expression per compared pair);
    # a postcode is missing unless UK-shaped, and an outward code alone gives the district
    if s.foreign_postcodes:  # any postcode, exactly; sector and district for UK ones only
        post: list[Any] = [cll.CustomLevel("postcode_text_l is null or postcode_text_r is null",
                                           label_for_charts="Postcode missing").configure(is_null_level=True),
                           cll.CustomLevel("postcode_text_l = postcode_text_r",
                                           label_for_charts="Exact match on postcode")]
    else:
        post = [cll.CustomLevel("postcode_district_l is null or postcode_district_r is null",
                                label_for_charts="Postcode missing").configure(is_null_level=True),
                cll.CustomLevel("postcode_l = postcode_r", label_for_charts="Exact match on postcode")]
    for level in s.postcode_levels:
        if level == "area":
            cond = ("regexp_extract(postcode_district_l, '^([A-Z]{1,2})') = "
                    "regexp_extract(postcode_district_r, '^([A-Z]{1,2})')")
        else:
            cond = f"postcode_{level}_l = postcode_{level}_r"
        post.append(cll.CustomLevel(cond, label_for_charts=f"Same {level}"))
    post.append(cll.ElseLevel())
    out = [name("first_name", True), name("surname", False),
           cl.CustomComparison(dob, output_column_name="date_of_birth"),
           cl.CustomComparison(post, output_column_name="postcode"),
           cl.ExactMatch("sex")]
    if town:
        out.append(cl.CustomComparison([cll.NullLevel("town"), cll.ExactMatchLevel("town"),
                                        cll.JaroWinklerLevel("town", 0.9), cll.ElseLevel()],
                                       output_column_name="town"))
    return out


@dataclass(frozen=True)
class FittedLink:
    """What one linkage run found: the best pair per record (ids and scores only) and the model's parameters.

    Attributes
    ----------
    best
        ``unique_id_l, unique_id_r, match_weight, match_probability, gamma_*``: each left record's best-scoring
        candidate (at or above the review band's lower edge); under ``one_to_one`` each right record is
        used at most once.
    parameters
        ``comparison, level, m, u, bayes_factor, floored`` for every comparison level.
    prior
        The probability that two random records match (re-estimated from the fitted model).
    candidate_pairs
        Pairs scored at or above the review band's lower edge.
    threshold, threshold_rule
        The match weight of a link and how it was chosen (in words).
    blocking_coverage, coverage_sample
        Share of the expected true links whose best pair the candidate rules propose, estimated by scoring a
        random sample of left records against every right record (``coverage_sample`` records; None: no
        sample was drawn).
    links
        Every candidate pair at or above the threshold (``unique_id_l, unique_id_r, match_weight,
        match_probability``), for one-to-one assignment within groups (:func:`assign`).
    """

    best: pd.DataFrame
    parameters: pd.DataFrame
    prior: float
    candidate_pairs: int
    threshold: float = DEFAULT_THRESHOLD
    threshold_rule: str = ""
    blocking_coverage: float | None = None
    coverage_sample: int = 0
    links: pd.DataFrame | None = None


def _splink() -> Any:
    try:
        import splink
    except ImportError:
        raise SpecError("record linkage needs Splink, which is not installed. Fix: install evalkit with its 'link' "
                        "extra (pip install 'evalkit[link]').") from None
    return splink


def _db_api(db_api: Any) -> Any:
    if db_api is not None:
        return db_api
    import duckdb
    from splink import DuckDBAPI

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return DuckDBAPI(connection=con)


def _has(frames: list[pd.DataFrame], column: str) -> bool:
    """Every input has the column with at least one value (pandas frames; other backends: has the column)."""
    for f in frames:
        if column not in f.columns:
            return False
        if isinstance(f, pd.DataFrame) and not f[column].notna().any():
            return False
    return True


def _train(frames: list[Any], s: LinkSettings, link_type: str, names: list[str], db_api: Any) -> tuple[Any, list]:
    """A trained Splink linker and the levels whose estimates were floored (see :func:`_floor_levels`)."""
    from splink import Linker, SettingsCreator

    # Splink's messages name columns, never values; its notes (e.g. a level no pair reached in training)
    # are for developers, so only errors are let through
    logging.getLogger("splink").setLevel(logging.ERROR)
    settings = SettingsCreator(
        link_type=link_type, unique_id_column_name="unique_id",
        comparisons=comparisons(s, town=_has(frames, "town")),
        blocking_rules_to_generate_predictions=list(s.blocking), retain_intermediate_calculation_columns=False,
        retain_matching_columns=False, additional_columns_to_retain=[],
    )
    linker = Linker(frames if len(frames) > 1 else frames[0], settings, db_api=_db_api(db_api),
                    input_table_aliases=names if len(frames) > 1 else names[0],
                    set_up_basic_logging=False)  # no root handler: evalkit decides what is printed
    exact_rule = "l.first_name = r.first_name and l.surname = r.surname and l.date_of_birth = r.date_of_birth"
    linker.training.estimate_probability_two_random_records_match([exact_rule], recall=s.prior_recall)
    linker.training.estimate_u_using_random_sampling(max_pairs=s.max_pairs_u, seed=s.seed)
    for rule in s.training:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    floored = _floor_levels(linker, s)
    # the prior assumed the exact rule finds prior_recall of the matches; the fitted m says how many it finds
    # (the product of the exact levels' m), so the prior is re-estimated from the model's own recall
    recall = _exact_recall(linker)
    if recall is not None and 0.05 <= recall <= 1:
        linker.training.estimate_probability_two_random_records_match([exact_rule], recall=recall)
    return linker, floored


def _levels(linker: Any) -> list[tuple[Any, Any]]:
    return [(c, lv) for c in linker._settings_obj.comparisons for lv in c.comparison_levels]


def _floor_levels(linker: Any, s: LinkSettings) -> list[str]:
    """Make sure no level of agreement acts as a veto.

    Expectation-maximisation can put *m* of a rare level (a nickname, a swap) at about zero when few matches
    in the training pairs show it; Splink then scores it at about -20 to -37, a veto no other agreement can
    outweigh, on data where that level is common. A level above "different" is never evidence *against* a
    match, so where its m/u is below 1 (or m or u was never observed) its m is floored at its u (a Bayes
    factor of 1: no evidence either way). A u never observed among the random pairs is set to one in
    ``max_pairs_u``. Likewise "different" is never a veto: no field is recorded perfectly, so its m is at
    least :data:`MIN_ELSE_M` (when training data never showed a disagreeing match, as for sex or town in
    synthetic data, m would otherwise be about zero). Returns the levels changed, as "field: level".
    """
    from splink.internals.constants import LEVEL_NOT_OBSERVED_TEXT

    changed = []
    for comp, lv in _levels(linker):
        if lv.is_null_level:
            continue
        if lv._is_else_level:
            m_else = lv._m_probability
            if not isinstance(m_else, float) or m_else < MIN_ELSE_M:
                lv.m_probability = MIN_ELSE_M
                changed.append(f"{comp.output_column_name}: {lv.label_for_charts}")
            continue
        raw_m, raw_u = lv._m_probability, lv._u_probability
        u = raw_u if isinstance(raw_u, float) and raw_u > 0 else None
        if u is None:
            u = 1.0 / float(s.max_pairs_u)
            lv.u_probability = u
        m = raw_m if isinstance(raw_m, float) and raw_m != LEVEL_NOT_OBSERVED_TEXT else None
        if m is None or m < u:
            lv.m_probability = u
            changed.append(f"{comp.output_column_name}: {lv.label_for_charts}")
    return changed


def _exact_recall(linker: Any) -> float | None:
    """Share of matches agreeing exactly on first name, surname and date of birth, by the fitted m."""
    out = 1.0
    for name in ("first_name", "surname", "date_of_birth"):
        comp = next((c for c in linker._settings_obj.comparisons if c.output_column_name == name), None)
        if comp is None:
            return None
        exact = [lv for lv in comp.comparison_levels if not lv.is_null_level][0]
        m = exact.m_probability
        if not isinstance(m, float):
            return None
        out *= m
    return out


def choose_threshold(best: pd.DataFrame, target_precision: float, *, floor: float = 0.0,
                     fallback: float = DEFAULT_THRESHOLD) -> tuple[float, str]:
    """The lowest match weight whose accepted best pairs have estimated precision at least ``target_precision``.

    Estimated precision at a weight is the mean match probability of the best pairs at or above it (the
    model's expected share of true links among them). The weight is never below ``floor`` (0: a link is
    never made where the model thinks the records more likely different people than the same). When no
    weight reaches the target, ``fallback`` is used and the rule says so.
    """
    if best.empty:
        return fallback, f"the default match weight {fallback:g} (no candidate pairs to estimate from)"
    order = best.sort_values("match_weight", ascending=False, kind="mergesort")
    w = order["match_weight"].to_numpy(dtype=float)
    p = order["match_probability"].to_numpy(dtype=float)
    precision = np.cumsum(p) / np.arange(1, len(p) + 1)
    ok = (precision >= target_precision) & (w >= floor)
    if not ok.any():
        return fallback, (f"the default match weight {fallback:g}: no threshold reached the target estimated "
                          f"precision of {target_precision:.1%}")
    k = int(np.flatnonzero(ok)[-1])
    chosen = float(w[k])
    return chosen, (f"the lowest match weight at which the model's estimated precision is at least "
                    f"{target_precision:.1%} (and never below {floor:g})")


def one_to_one(pairs: pd.DataFrame) -> pd.DataFrame:
    """Best pairs with each record on either side used once: greedily by weight (ties to the lower ids)."""
    order = pairs.sort_values(["match_weight", "unique_id_l", "unique_id_r"], ascending=[False, True, True],
                              kind="mergesort")
    used_l: set = set()
    used_r: set = set()
    keep = []
    for i, a, b in zip(order.index, order["unique_id_l"], order["unique_id_r"], strict=True):
        if a in used_l or b in used_r:
            continue
        used_l.add(a)
        used_r.add(b)
        keep.append(i)
    return order.loc[keep]


def fit_and_link(left: pd.DataFrame, right: pd.DataFrame, s: LinkSettings, *, left_name: str = "provider",
                 right_name: str = "extract", db_api: Any = None) -> FittedLink:
    """Train the model on ``left`` and ``right`` (standardised frames) and find each left record's best pair.

    ``db_api`` is a Splink database API (default: an in-memory DuckDB one); Splink's Spark API
    runs the same model on a cluster. The threshold is ``s.threshold`` when set, otherwise chosen from the
    fitted model (:func:`choose_threshold`, target ``s.target_precision``).
    """
    _splink()
    linker, floored = _train([left, right], s, "link_only", [left_name, right_name], db_api)
    low = (s.threshold if s.threshold is not None else AUTO_FLOOR) - s.review_band
    pairs = linker.inference.predict(threshold_match_weight=low).as_pandas_dataframe()
    model = linker.misc.save_model_to_json()
    params = _parameters(model, floored)
    if pairs.empty:
        best = pd.DataFrame(columns=["unique_id_l", "unique_id_r", "match_weight", "match_probability"])
    else:
        # the left list's records are always on the left: Splink orders by source dataset name, so swap if needed
        flip = pairs["source_dataset_l"] != left_name
        for a, b in (("unique_id_l", "unique_id_r"), ("source_dataset_l", "source_dataset_r")):
            pairs.loc[flip, [a, b]] = pairs.loc[flip, [b, a]].to_numpy()
        if s.one_to_one:
            best = one_to_one(pairs)
        else:
            best = (pairs.sort_values(["unique_id_l", "match_weight", "unique_id_r"], ascending=[True, False, True],
                                      kind="mergesort")
                    .drop_duplicates("unique_id_l"))
        keep = ["unique_id_l", "unique_id_r", "match_weight", "match_probability",
                *[c for c in best.columns if c.startswith("gamma_")]]
        best = best[keep].sort_values("unique_id_l", kind="mergesort").reset_index(drop=True)
    if s.threshold is not None:
        threshold, rule = float(s.threshold), f"set to {s.threshold:g}"
    else:
        threshold, rule = choose_threshold(best, s.target_precision, floor=AUTO_FLOOR)
    coverage, sampled = (None, 0)
    if s.coverage_sample > 0 and isinstance(left, pd.DataFrame) and isinstance(right, pd.DataFrame):
        coverage, sampled = _blocking_coverage(linker, model, left, right, best, s, left_name, right_name)
    cols = ["unique_id_l", "unique_id_r", "match_weight", "match_probability"]
    above = pairs.loc[pairs["match_weight"] >= threshold, cols] if not pairs.empty else pd.DataFrame(columns=cols)
    return FittedLink(best=best, parameters=params,
                      prior=float(linker._settings_obj._probability_two_random_records_match),
                      candidate_pairs=int(len(pairs)), threshold=threshold, threshold_rule=rule,
                      blocking_coverage=coverage, coverage_sample=sampled, links=above.reset_index(drop=True))


def assign(fit: FittedLink, groups: pd.Series | None = None) -> pd.Series:
    """Each left record's linked right record (left id -> right id; missing: not linked).

    Without ``groups``, a record's best pair when it reaches the threshold. With ``groups`` (left id -> group,
    e.g. the intervention), no two left records of one group may link to the same right record (one person
    appears once per intervention): within each group pairs are assigned one-to-one, greedily by weight, so a
    record whose best match went to a better-scoring record of its group takes its next candidate, if any.
    """
    best = fit.best
    ok = best["match_weight"] >= fit.threshold
    out = pd.Series(best.loc[ok, "unique_id_r"].to_numpy(), index=best.loc[ok, "unique_id_l"].to_numpy(),
                    dtype=object)
    if groups is None or fit.links is None or fit.links.empty or out.empty:
        return out
    taken = pd.DataFrame({"unique_id_l": out.index, "unique_id_r": out.to_numpy()})
    taken["group"] = taken["unique_id_l"].map(groups)
    clash = taken.duplicated(["group", "unique_id_r"], keep=False)
    if not clash.any():
        return out
    involved = set(taken.loc[clash, "group"])
    links = fit.links.assign(group=fit.links["unique_id_l"].map(groups))
    for g in sorted(involved, key=str):
        sub = links[links["group"] == g]
        chosen = one_to_one(sub)
        ids = set(sub["unique_id_l"])
        out = out.drop([i for i in out.index if i in ids])
        out = pd.concat([out, pd.Series(chosen["unique_id_r"].to_numpy(), index=chosen["unique_id_l"].to_numpy(),
                                        dtype=object)])
    return out


def _blocking_coverage(linker: Any, model: dict, left: pd.DataFrame, right: pd.DataFrame, best: pd.DataFrame,
                       s: LinkSettings, left_name: str, right_name: str) -> tuple[float | None, int]:
    """Share of expected true links (match probability mass of each sampled record's best pair over *all* right
    records) whose best pair the candidate rules proposed; and the sample size.

    A random sample of left records (seeded; at most ``coverage_sample``, and at most ``coverage_pairs``
    pairs in all) is scored against every right record with the fitted model, without the candidate rules.
    Only pairs that disagree on everything cheap to check (:data:`COVERAGE_RULE`: both initials, also
    swapped, birth year and postcode district) are skipped, since they score far below any threshold; that
    skips most of the scoring cost.
    """
    from splink import Linker

    k = int(min(s.coverage_sample, len(left), max(1, s.coverage_pairs // max(len(right), 1))))
    if k < 1:
        return None, 0
    rng = np.random.default_rng(s.seed)
    sample = left.iloc[np.sort(rng.choice(len(left), size=k, replace=False))]
    settings = dict(model)
    settings["blocking_rules_to_generate_predictions"] = [{"blocking_rule": COVERAGE_RULE, "sql_dialect":
                                                           settings.get("sql_dialect", "duckdb")}]
    every = Linker([sample, right], settings, db_api=_db_api(None) if _is_duckdb(linker) else linker._db_api,
                   input_table_aliases=[left_name, right_name], set_up_basic_logging=False)
    scored = every.inference.predict(threshold_match_weight=-30).as_pandas_dataframe()
    if scored.empty:
        return 1.0, k
    flip = scored["source_dataset_l"] != left_name
    scored.loc[flip, ["unique_id_l", "unique_id_r"]] = scored.loc[flip, ["unique_id_r", "unique_id_l"]].to_numpy()
    top = (scored.sort_values(["unique_id_l", "match_weight", "unique_id_r"], ascending=[True, False, True],
                              kind="mergesort").drop_duplicates("unique_id_l").set_index("unique_id_l"))
    proposed = best.set_index("unique_id_l")["unique_id_r"].reindex(top.index)
    mass = top["match_probability"].astype(float)
    if mass.sum() <= 0:
        return 1.0, k
    return float(mass[(proposed == top["unique_id_r"]).to_numpy()].sum() / mass.sum()), k


#: Pairs scored in the check of what the candidate rules miss: any one of these cheap agreements (a pair
#: failing all of them disagrees on both initials, the birth year and the postcode district, and scores far
#: below any threshold).
COVERAGE_RULE = (
    "substr(l.first_name, 1, 1) = substr(r.first_name, 1, 1) or substr(l.surname, 1, 1) = substr(r.surname, 1, 1)"
    " or substr(l.first_name, 1, 1) = substr(r.surname, 1, 1)"
    " or substr(l.date_of_birth, 1, 4) = substr(r.date_of_birth, 1, 4)"
    " or l.postcode_district = r.postcode_district")


def _is_duckdb(linker: Any) -> bool:
    return type(linker._db_api).__name__ == "DuckDBAPI"


def dedupe(frame: pd.DataFrame, s: LinkSettings, *, name: str = "records", db_api: Any = None) -> tuple[
        pd.DataFrame, FittedLink]:
    """Find the records of one file that are the same person (deduplication) and give each a cluster.

    Returns ``(clusters, fit)``: ``clusters`` has ``unique_id`` and ``cluster_id`` (the lowest record id of
    its cluster: records linked directly or through others at or above the threshold share one); ``fit.best``
    is each record's best other record.
    """
    _splink()
    if s.training == DEFAULT_TRAINING:
        s = replace(s, training=DEDUPE_TRAINING)
    linker, floored = _train([frame], s, "dedupe_only", [name], db_api)
    low = (s.threshold if s.threshold is not None else AUTO_FLOOR) - s.review_band
    predicted = linker.inference.predict(threshold_match_weight=low)
    pairs = predicted.as_pandas_dataframe()
    model = linker.misc.save_model_to_json()
    both = pd.concat([pairs, pairs.rename(columns={"unique_id_l": "unique_id_r", "unique_id_r": "unique_id_l"})],
                     ignore_index=True)
    best = (both.sort_values(["unique_id_l", "match_weight", "unique_id_r"], ascending=[True, False, True],
                             kind="mergesort").drop_duplicates("unique_id_l"))
    best = best[["unique_id_l", "unique_id_r", "match_weight", "match_probability"]].reset_index(drop=True)
    if s.threshold is not None:
        threshold, rule = float(s.threshold), f"set to {s.threshold:g}"
    else:
        threshold, rule = choose_threshold(pairs, s.target_precision, floor=AUTO_FLOOR)
    clusters = _components(frame["unique_id"], pairs.loc[pairs["match_weight"] >= threshold])
    fit = FittedLink(best=best, parameters=_parameters(model, floored),
                     prior=float(linker._settings_obj._probability_two_random_records_match),
                     candidate_pairs=int(len(pairs)), threshold=threshold, threshold_rule=rule)
    return clusters, fit


def _components(ids: pd.Series, edges: pd.DataFrame) -> pd.DataFrame:
    """Connected components (union-find); each cluster named by its lowest record id."""
    parent = {i: i for i in ids}

    def find(x: Any) -> Any:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(edges["unique_id_l"], edges["unique_id_r"], strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return pd.DataFrame({"unique_id": ids.to_numpy(), "cluster_id": [find(i) for i in ids]})


def _parameters(model: dict, floored: list[str] | None = None) -> pd.DataFrame:
    rows = []
    floored_set = set(floored or [])
    for comp in model["comparisons"]:
        for level in comp["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            m = m if isinstance(m, (int, float)) else None
            u = u if isinstance(u, (int, float)) else None
            label = level.get("label_for_charts") or level["sql_condition"]
            rows.append({"comparison": comp["output_column_name"], "level": label, "m": m, "u": u,
                         "bayes_factor": (m / u) if (m is not None and u) else None,
                         "floored": f"{comp['output_column_name']}: {label}" in floored_set})
    return pd.DataFrame(rows)


def accept(best: pd.DataFrame, threshold: float) -> pd.Series:
    """Which best pairs are links (weight at or above the threshold)."""
    return best["match_weight"] >= threshold


__all__ = ["LinkSettings", "load_settings", "NATIONAL_BLOCKING", "NATIONAL_TRAINING", "DEFAULT_TRAINING", "FittedLink", "fit_and_link", "comparisons", "accept", "DEFAULT_BLOCKING",
           "choose_threshold", "one_to_one", "dedupe", "assign", "DEDUPE_TRAINING", "AUTO_FLOOR", "DEFAULT_TARGET_PRECISION", "SWAPPED",
           "DEFAULT_THRESHOLD", "NATIONAL_THRESHOLD"]
