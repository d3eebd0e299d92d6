"""Linkage quality: match rates by group with Wilson intervals, the threshold's estimated precision and recall,
and warnings when linkage differs by group.

Everything here is an aggregate, and every count passes disclosure control
when the summary is made (:func:`evalkit.report.disclosure.suppress_counts`
with totals, so a hidden group cannot be recovered by subtraction): a group's
counts and rate are kept only when both its linked and its unlinked counts are
shown. The summary (``linkage_summary.json``) is therefore as safe to share as
a report.

Estimated precision and recall come from the model alone (no true links are
known in real data): precision is the mean match probability of the accepted
links; recall is the expected number of true links accepted divided by the
expected number among every record's best candidate pair, times the share of
expected true links the candidate rules propose at all (*blocking coverage*:
a random sample of records is scored against every record of the extract,
blocking-free, and the share of its expected true links whose best pair was a
candidate is measured). Both rely on the model's probabilities being
calibrated; the clerical review checks that.

Uncertain pairs are counted per band of match weight around the threshold
(the clerical-review sample is drawn from these bands). A number that cannot
be estimated is ``None`` and reads "not estimated", never "nan".
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.report.disclosure import suppress_counts
from evalkit.results import ResultMixin

#: Groupings reported, as (column, label).
GROUPINGS: tuple[tuple[str, str], ...] = (
    ("provider", "Provider"), ("intervention_id", "Intervention"), ("locality", "District"),
    ("age_band", "Age band"), ("sex", "Sex"), ("ethnicity_group", "Ethnic group"),
)
#: A group whose rate differs from the overall rate by more than this (and whose 95% interval
#: excludes the overall rate) gets a warning ...
DEFAULT_MARGIN = 0.05
#: ... when it holds at least this many records (smaller groups differ by chance).
MIN_GROUP_RECORDS = 30
#: Age bands (completed years at the start date) for linkage rates.
AGE_EDGES = (10, 14, 18, 21, 26)
Z95 = 1.959963984540054


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes in ``n`` trials (Wilson 1927; Newcombe 1998, method 3)."""
    if n <= 0:
        return (float("nan"), float("nan"))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


@dataclass(frozen=True)
class GroupRate:
    """Linkage of one group; counts and rate are ``None`` where disclosure control hides them."""

    variable: str
    group: str
    records: int | None
    linked: int | None
    rate: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class LinkageSummary(ResultMixin):
    """How well one list linked to one extract: aggregates only.

    Attributes
    ----------
    target
        The extract linked to (e.g. "police", "health").
    records, linked, rate, low, high
        Overall counts, match rate and its 95% Wilson interval (``None`` where hidden).
    threshold
        Match weight of the links.
    estimated_precision, estimated_recall
        The threshold's precision and recall estimated from the model (module docstring); None when there is
        nothing to estimate from.
    threshold_rule
        How the threshold was chosen (in words).
    blocking_coverage, coverage_sample
        Share of expected true links the candidate rules propose, and the records sampled to estimate it.
    bands
        ``(band, best pairs)`` per band of match weight around the threshold (None: fewer than the
        disclosure threshold).
    review_file
        Name of the clerical-review file (it holds identifiers; only its name is given).
    unusable_dob
        ``(file, count, first rows)`` per input file: dates of birth treated as missing (rows as in the file,
        1 = header).
    prior
        The model's probability that two random records match.
    parameters
        ``(comparison, level, m, u)`` for every comparison level (None: not estimated).
    floored_levels
        Levels whose estimate was floored so that they cannot act as a veto (:mod:`evalkit.link.model`).
    groups
        Match rate by provider, intervention, district, age band, sex and ethnic group.
    warnings
        Groups whose rate differs from the overall rate by more than ``margin``.
    """

    target: str
    records: int | None
    linked: int | None
    rate: float | None
    low: float | None
    high: float | None
    threshold: float
    estimated_precision: float | None
    estimated_recall: float | None
    prior: float
    candidate_pairs: int
    parameters: tuple[tuple[str, str, float | None, float | None], ...]
    groups: tuple[GroupRate, ...]
    warnings: tuple[str, ...]
    margin: float = DEFAULT_MARGIN
    disclosure_threshold: int = 10
    threshold_rule: str = ""
    blocking_coverage: float | None = None
    coverage_sample: int = 0
    bands: tuple[tuple[str, int | None], ...] = ()
    review_file: str = ""
    unusable_dob: tuple[tuple[str, int, tuple[int, ...]], ...] = ()
    floored_levels: tuple[str, ...] = ()
    title: str = "Linkage quality"

    def _rows(self) -> list[dict]:
        return [{"grouping": g.variable, "group": g.group, "records": g.records, "linked": g.linked,
                 "match rate": g.rate, "low": g.low, "high": g.high} for g in self.groups]

    def _notes(self) -> list[str]:
        head = (f"{self.target}: threshold match weight {self.threshold:.2f}; estimated precision "
                f"{fmt_share(self.estimated_precision)}, recall {fmt_share(self.estimated_recall)}")
        return [head, *self.warnings]

    def rate_for(self, variable: str, group: str) -> GroupRate | None:
        """The disclosed rate of one group (e.g. ``("intervention_id", "INT01")``), if reported."""
        return next((g for g in self.groups if g.variable == variable and g.group == group), None)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("title")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LinkageSummary":
        data = dict(data)
        data["groups"] = tuple(GroupRate(**g) for g in data["groups"])
        data["parameters"] = tuple(tuple(p) for p in data["parameters"])
        data["warnings"] = tuple(data["warnings"])
        data["bands"] = tuple(tuple(b) for b in data.get("bands", ()))
        data["unusable_dob"] = tuple((f, int(n), tuple(rows)) for f, n, rows in data.get("unusable_dob", ()))
        data["floored_levels"] = tuple(data.get("floored_levels", ()))
        return cls(**data)


@dataclass(frozen=True)
class LinkageRun(ResultMixin):
    """Every linkage of one participant list (one summary per extract) and the settings used."""

    summaries: tuple[LinkageSummary, ...]
    settings: dict[str, Any] = field(default_factory=dict)
    title: str = "Record linkage"

    def _rows(self) -> list[dict]:
        return [{"extract": s.target, "records": s.records, "linked": s.linked, "match rate": s.rate,
                 "estimated precision": None if s.estimated_precision is None else round(s.estimated_precision, 4),
                 "estimated recall": None if s.estimated_recall is None else round(s.estimated_recall, 4)}
                for s in self.summaries]

    def _notes(self) -> list[str]:
        return [w for s in self.summaries for w in s.warnings]

    def get(self, target: str) -> LinkageSummary | None:
        return next((s for s in self.summaries if s.target == target), None)

    def to_json(self) -> str:
        return json.dumps({"summaries": [s.to_dict() for s in self.summaries], "settings": self.settings},
                          indent=2, sort_keys=True, default=_plain)

    @classmethod
    def read(cls, path: str | Path) -> "LinkageRun":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(tuple(LinkageSummary.from_dict(s) for s in data["summaries"]), data.get("settings", {}))


SUMMARY_FILE = "linkage_summary.json"


def find_summary(data_src: str | Path) -> LinkageRun | None:
    """The linkage summary that goes with a data source, if any: ``linkage_summary.json`` in the data folder,
    or in the folder holding the store. An unreadable summary counts as none (a report never fails on it)."""
    src = Path(data_src)
    path = (src if src.is_dir() else src.parent) / SUMMARY_FILE
    if not path.is_file():
        return None
    try:
        return LinkageRun.read(path)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def linkage_sentence(data_src: str | Path, intervention_id: str) -> str | None:
    """One plain sentence on how many of an intervention's records were linked to the first extract
    (the one whose ids became ``person_id``), for the report beside its attrition chevron; None without a summary."""
    run = find_summary(data_src)
    if run is None or not run.summaries:
        return None
    s = run.summaries[0]
    g = s.rate_for("intervention_id", intervention_id)
    if g is None:
        return None
    if g.rate is None:
        return (f"Record linkage: the share of this intervention's young people found in the {s.target} records is "
                "hidden because the numbers are small.")
    return (f"Record linkage: {100 * g.rate:.0f}% of this intervention's young people (95% interval "
            f"{100 * g.low:.0f}% to {100 * g.high:.0f}%) were found in the {s.target} records; outcomes from those "
            "records are counted only for them.")


def _plain(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(type(value).__name__)


def age_bands(age: pd.Series, edges: tuple[int, ...] = AGE_EDGES) -> pd.Series:
    """'10-13', '14-17', ... from completed years; 'other' outside the edges or unknown."""
    labels = [f"{lo}-{hi - 1}" for lo, hi in zip(edges[:-1], edges[1:])]
    return pd.cut(age, bins=list(edges), right=False, labels=labels).astype("string").fillna("other")


def group_rates(variable: str, groups: pd.Series, linked: pd.Series, threshold: int = 10) -> list[GroupRate]:
    """Disclosure-controlled match rates of each group (sorted by group name)."""
    table = pd.crosstab(groups.astype("string").fillna("not known"), linked.map({True: "linked", False: "not linked"}))
    table = table.reindex(columns=["linked", "not linked"], fill_value=0).sort_index()
    shown = suppress_counts(table, threshold=threshold, totals=True).hidden
    out = []
    for g, row in table.iterrows():
        k, n = int(row["linked"]), int(row.sum())
        if shown.loc[g, "linked"] or shown.loc[g, "not linked"]:
            out.append(GroupRate(variable, str(g), None, None, None, None, None))
            continue
        low, high = wilson_interval(k, n)
        out.append(GroupRate(variable, str(g), n, k, k / n, low, high))
    return out


#: Bands of match weight around the threshold whose best pairs are counted as uncertain: (low, high) offsets.
BANDS: tuple[tuple[float, float], ...] = ((-6.0, -3.0), (-3.0, 0.0), (0.0, 3.0), (3.0, 6.0))


def fmt_share(value: float | None, digits: int = 3) -> str:
    """A share as a decimal, or "not estimated" (never "nan")."""
    return "not estimated" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def weight_bands(best: pd.DataFrame, threshold: float, disclosure_threshold: int = 10
                 ) -> tuple[tuple[str, int | None], ...]:
    """Best pairs per band of match weight around the threshold (:data:`BANDS`); None where the count is
    positive but below the disclosure threshold."""
    w = best["match_weight"].astype(float)
    out = []
    for lo, hi in BANDS:
        n = int(((w >= threshold + lo) & (w < threshold + hi)).sum())
        label = f"{threshold + lo:.1f} to {threshold + hi:.1f}"
        out.append((label, None if 0 < n < disclosure_threshold else n))
    return tuple(out)


def estimate_precision_recall(best: pd.DataFrame, threshold: float, coverage: float | None = None
                              ) -> tuple[float | None, float | None]:
    """Model-based precision and recall of the best pairs at ``threshold`` (module docstring); None where there
    is nothing to estimate from."""
    accepted = best["match_weight"] >= threshold
    prob = best["match_probability"].astype(float)
    precision = float(prob[accepted].mean()) if accepted.any() else None
    recall = float(prob[accepted].sum() / prob.sum()) if prob.sum() > 0 else None
    if recall is not None and coverage is not None:
        recall *= coverage
    return precision, recall


def summarise(target: str, frame: pd.DataFrame, best: pd.DataFrame, parameters: pd.DataFrame, *,
              threshold: float, prior: float, candidate_pairs: int, margin: float = DEFAULT_MARGIN,
              disclosure_threshold: int = 10, threshold_rule: str = "", blocking_coverage: float | None = None,
              coverage_sample: int = 0, review_file: str = "",
              unusable_dob: tuple[tuple[str, int, tuple[int, ...]], ...] = ()) -> LinkageSummary:
    """The summary of one linkage.

    ``frame`` has one row per left record with ``linked`` (bool) and the grouping columns
    (:data:`GROUPINGS`, those present); ``best`` the best pair per record with its match probability.
    """
    linked = frame["linked"].astype(bool)
    n, k = len(frame), int(linked.sum())
    precision, recall = estimate_precision_recall(best, threshold, blocking_coverage)
    overall = group_rates("overall", pd.Series("all", index=frame.index), linked, disclosure_threshold)[0]
    groups: list[GroupRate] = []
    for column, _label in GROUPINGS:
        if column in frame:
            groups += group_rates(column, frame[column], linked, disclosure_threshold)
    warnings = _warnings(target, frame, linked, margin, k / n if n else float("nan"), groups)
    params = tuple((str(r.comparison), str(r.level), None if _missing(r.m) else float(r.m),
                    None if _missing(r.u) else float(r.u)) for r in parameters.itertuples())
    floored = tuple(f"{r.comparison}: {r.level}" for r in parameters.itertuples()
                    if bool(getattr(r, "floored", False)))
    return LinkageSummary(target=target, records=overall.records, linked=overall.linked, rate=overall.rate,
                          low=overall.low, high=overall.high, threshold=float(threshold),
                          estimated_precision=precision, estimated_recall=recall, prior=float(prior),
                          candidate_pairs=int(candidate_pairs), parameters=params, groups=tuple(groups),
                          warnings=tuple(warnings), margin=margin, disclosure_threshold=disclosure_threshold,
                          threshold_rule=threshold_rule, blocking_coverage=blocking_coverage,
                          coverage_sample=int(coverage_sample),
                          bands=weight_bands(best, threshold, disclosure_threshold), review_file=review_file,
                          unusable_dob=unusable_dob, floored_levels=floored)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and not np.isfinite(value))


def _warnings(target: str, frame: pd.DataFrame, linked: pd.Series, margin: float, overall: float,
              groups: list[GroupRate]) -> list[str]:
    labels = dict(GROUPINGS)
    out = []
    for column, _label in GROUPINGS:
        if column not in frame:
            continue
        values = frame[column].astype("string").fillna("not known")
        for g in sorted(values.unique()):
            mask = (values == g).to_numpy()
            if mask.sum() < MIN_GROUP_RECORDS:
                continue
            k, n = int(linked[mask].sum()), int(mask.sum())
            rate = k / n
            low, high = wilson_interval(k, n)
            if abs(rate - overall) <= margin or low <= overall <= high:  # a real difference, not chance
                continue
            shown = next((r for r in groups if r.variable == column and r.group == g), None)
            way = "lower" if rate < overall else "higher"
            if shown is not None and shown.rate is not None:
                text = (f"{labels[column]} '{g}': {shown.rate:.0%} of records linked to the {target} extract, "
                        f"{way} than the {overall:.0%} overall by more than {margin:.0%} points.")
            else:
                text = (f"{labels[column]} '{g}': the share of records linked to the {target} extract is {way} than "
                        f"overall by more than {margin:.0%} points (numbers hidden: small counts).")
            out.append(text)
    return out


__all__ = ["find_summary", "linkage_sentence", "SUMMARY_FILE", "LinkageSummary", "LinkageRun", "GroupRate", "wilson_interval", "group_rates", "summarise", "age_bands",
           "weight_bands", "estimate_precision_recall", "fmt_share", "BANDS",
           "GROUPINGS", "DEFAULT_MARGIN", "AGE_EDGES"]
