"""Words and bands shared by the analysis and the reports.

A leaf module: it imports nothing from evalkit, so :mod:`evalkit.analysis` and
:mod:`evalkit.report` can both use it without importing each other. One table
names each design (:data:`DESIGNS`); the older per-use tables are views of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

#: The true minus sign for numbers in prose and tables ('−0.4', never a hyphen or 'minus −0.4').
MINUS = "\u2212"


@dataclass(frozen=True)
class DesignWords:
    """How reports name and explain one design type of a protocol."""

    label: str
    """Short name, e.g. "Matched comparison"."""
    description: str
    """What the design does and what it cannot rule out, in plain English (the report's design table)."""
    phrase: str
    """Opening words of the headline sentence, e.g. "Compared with the three years before" (``{baseline_words}``
    and ``{localities}`` are filled from the VRU configuration by :func:`worded`)."""


#: Every protocol design type, in the order reports list them.
DESIGNS: dict[str, DesignWords] = {
    "prepost": DesignWords(
        "Before and after",
        "Participants' scores at the start and at the end are compared. There is no comparison group, so "
        "changes that would have happened anyway (growing up, regression to the mean) cannot be ruled out.",
        "Comparing young people's scores before and after taking part"),
    "matched": DesignWords(
        "Matched comparison",
        "Each participant is compared with a similar young person who did not take part, chosen on age, sex, "
        "ethnicity, previous offending and risk factors. Differences that were not recorded may remain.",
        "Compared with a matched group of similar young people who did not take part"),
    "did": DesignWords(
        "Difference in differences",
        "Offending before and after the start is compared between participants and their matched comparison "
        "group, so stable differences between the groups cancel out.",
        "Comparing the change in offending with that of a matched comparison group"),
    "area_trend": DesignWords(
        "Area trend against baseline",
        "The area's indicators in the year are compared with {baseline_words}. Other changes in "
        "the area at the same time cannot be ruled out.",
        "Compared with {baseline_words}"),  # said of a programme's districts and of the VRU's whole area
    "area_did": DesignWords(
        "Area difference in differences",
        "The change in {localities} where the programme ran is compared with the change in similar {localities} "
        "where it did not.",
        "Compared with similar {localities} where the programme did not run"),
    "engagement": DesignWords(
        "Attendance",
        "How many sessions participants attended and how many completed. This describes take-up; with no "
        "comparison it says nothing about the programme's effect.",
        "Counting the sessions young people attended"),
}

#: Design type -> short name.
DESIGN_LABELS: dict[str, str] = {k: d.label for k, d in DESIGNS.items()}
#: Design type -> (short name, description).
DESIGN_WORDS: dict[str, tuple[str, str]] = {k: (d.label, d.description) for k, d in DESIGNS.items()}
#: Design type -> opening words of the headline.
DESIGN_PHRASES: dict[str, str] = {k: d.phrase for k, d in DESIGNS.items()}
def effect_unit(label: str) -> str:
    """The unit of a difference on a measure: "points" for a scored scale ('(7-35)', '... score'), otherwise
    "per person" (offences, contacts)."""
    return "points" if re.search(r"\d+-\d+\)", label) or "score" in label.lower() else "per person"


def worded(text: str, cfg: Any = None) -> str:
    """``text`` with the VRU's own words: ``{localities}`` (its word for districts) and ``{baseline_words}``
    ("the two years before"), from a VRU configuration (duck-typed: this module imports nothing)."""
    if "{" not in text:
        return text
    localities = cfg.area_words.localities if cfg is not None else "districts"
    baseline = cfg.reporting.baseline_words if cfg is not None else "the three years before"
    return text.format(localities=localities, baseline_words=baseline)


def design_words(design: str, cfg: Any = None) -> tuple[str, str]:
    """A design's (short name, description) in the VRU's own words."""
    d = DESIGNS[design]
    return d.label, worded(d.description, cfg)


def design_phrase(design: str, cfg: Any = None, default: str = "") -> str:
    """Opening words of the headline for a design, in the VRU's own words."""
    d = DESIGNS.get(design)
    return worded(d.phrase, cfg) if d is not None else default


#: Designs judged on whole areas rather than on people.
AREA_DESIGNS: tuple[str, ...] = ("area_trend", "area_did")


def age_band_labels(edges: list[int]) -> list[str]:
    """The bands' labels, youngest first: [10, 14, 18, 26] → '10-13', '14-17', '18-25'."""
    return [f"{lo}-{hi - 1}" for lo, hi in zip(edges[:-1], edges[1:])]


def age_band(age: pd.Series, edges: list[int]) -> pd.Series:
    """Age bands from the protocol's edges (:func:`age_band_labels`); 'other' outside them or unknown."""
    return pd.cut(age, bins=edges, right=False, labels=age_band_labels(edges)).astype("string").fillna("other")


__all__ = ["DesignWords", "DESIGNS", "DESIGN_LABELS", "DESIGN_WORDS", "DESIGN_PHRASES", "AREA_DESIGNS", "worded", "effect_unit",
           "design_words", "design_phrase",
           "age_band_labels", "age_band"]
