"""Score item-level questionnaire responses with a YAML instrument definition.

One generic scorer serves SDQ, WEMWBS, SWEMWBS and any configured Likert
instrument (see :mod:`evalkit.measures.definitions`). Scoring is a per-person
pivot plus arithmetic; pandas does the work, the rules come from the
definition:

1. responses outside ``[response_min, response_max]`` or not whole numbers
   raise :class:`~evalkit.errors.DataError` naming the rows (never silently
   dropped); an empty response means "not answered";
2. reverse-scored items become ``response_min + response_max - response``;
3. an item scale is scored when at least ``min_answered`` items are answered
   (default: all) as ``mean(answered) * n_items`` — the sum when complete —
   rounded half up when the instrument says ``rounding: half_up`` (the SDQ
   official syntax: SPSS ``RND``, R ``floor(0.5 + x)``);
4. a ``sum_of`` scale is missing unless every part is present;
5. a ``convert_from`` scale maps whole raw scores through a published table
   (SWEMWBS metric score);
6. bands label each scale score: ``low <= score < next band's low`` (the
   last band ends at its ``high``), which for whole scores is the published
   ``low-high`` range.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evalkit.errors import DataError, MissingDataError, Problem
from evalkit.measures._common import MAX_PROBLEMS, as_code, require_columns, sort_by_timepoint, spreadsheet_row
from evalkit.measures.definitions import InstrumentDef, ScaleDef, get_definition
from evalkit.results import ResultMixin

KEYS = ["person_id", "intervention_id", "timepoint"]
REQUIRED = ["person_id", "intervention_id", "instrument", "item", "response", "timepoint"]


@dataclass(frozen=True)
class ScaleInfo:
    """Psychometrics of one scale (aggregates and published values only)."""

    name: str
    min: float
    max: float
    higher_is_better: bool
    reliability: float | None = None
    norm_mean: float | None = None
    norm_sd: float | None = None
    clinical_cutoff: float | None = None
    band_schemes: tuple[str, ...] = ()


@dataclass(frozen=True)
class InstrumentInfo(ResultMixin):
    """What evaluators need to know about an instrument.

    ``min``/``max``/``higher_is_better``/``reliability``/``norm_sd`` refer to
    the primary scale (e.g. SDQ total difficulties, SWEMWBS metric score);
    ``scales`` holds the same for every scale.
    """

    name: str
    n_items: int
    response_min: int
    response_max: int
    primary_scale: str
    title: str = ""
    scales: dict[str, ScaleInfo] = field(default_factory=dict)
    missing_rule: str = ""
    sources: tuple[str, ...] = ()
    verified: dict[str, str] = field(default_factory=dict)

    @property
    def primary(self) -> ScaleInfo:
        return self.scales[self.primary_scale]

    @property
    def range(self) -> tuple[float, float]:
        return (self.primary.min, self.primary.max)

    @property
    def higher_is_better(self) -> bool:
        return self.primary.higher_is_better

    @property
    def reliability(self) -> float | None:
        return self.primary.reliability

    @property
    def norm_sd(self) -> float | None:
        return self.primary.norm_sd

    def _rows(self) -> list[dict]:
        return [
            {
                "scale": s.name,
                "min": s.min,
                "max": s.max,
                "higher_is_better": s.higher_is_better,
                "reliability": s.reliability,
                "norm_mean": s.norm_mean,
                "norm_sd": s.norm_sd,
                "clinical_cutoff": s.clinical_cutoff,
                "bands": ", ".join(s.band_schemes),
            }
            for s in self.scales.values()
        ]

    def _notes(self) -> list[str]:
        return [f"Missing data: {self.missing_rule}"] + [f"Source: {s}" for s in self.sources]


def instrument_info(name: str, *, definitions=None) -> InstrumentInfo:
    """Range, direction, reliability, norms and sources of an instrument."""
    d = get_definition(name, definitions)
    scales = {}
    for sname, s in d.scales.items():
        lo, hi = d.scale_range(sname)
        scales[sname] = ScaleInfo(
            name=sname,
            min=float(lo),
            max=float(hi),
            higher_is_better=s.higher_is_better,
            reliability=s.reliability,
            norm_mean=s.norm_mean,
            norm_sd=s.norm_sd,
            clinical_cutoff=s.clinical_cutoff,
            band_schemes=tuple(s.bands),
        )
    return InstrumentInfo(
        name=d.name,
        title=f"{d.name}: {d.title}",
        n_items=len(d.items),
        response_min=d.response_min,
        response_max=d.response_max,
        primary_scale=d.primary_scale,
        scales=scales,
        missing_rule=d.missing_rule,
        sources=d.sources,
        verified=dict(d.verified),
    )


def _problems(rows: pd.DataFrame, message: str, fix: str, column: str) -> DataError:
    probs = [
        Problem(file="measurements", row=spreadsheet_row(i), column=column, message=message.format(**r), fix=fix)
        for i, r in rows.head(MAX_PROBLEMS).iterrows()
    ]
    return DataError(probs, truncated=max(0, len(rows) - MAX_PROBLEMS))


def _clean_items(m: pd.DataFrame, d: InstrumentDef) -> pd.DataFrame:
    """Check codes and responses; return reverse-scored numeric responses."""
    m = m.copy()
    m["item"] = as_code(m["item"])
    unknown = m[~m["item"].isin(d.items) | m["item"].isna()]
    if len(unknown):
        raise _problems(
            unknown.assign(_codes=", ".join(d.items[:3]) + ", ..."),
            f"item '{{item}}' is not an item of {d.name} (codes are {{_codes}}).",
            f"Use the item codes of {d.name} in published order: {d.items[0]}..{d.items[-1]}.",
            "item",
        )
    resp = pd.to_numeric(m["response"], errors="coerce")
    given = m["response"].notna() & (m["response"].astype("string").str.strip() != "")
    bad = given & (resp.isna() | (resp < d.response_min) | (resp > d.response_max) | (resp % 1 != 0))
    if bad.any():
        raise _problems(
            m[bad],
            f"response '{{response}}' to {d.name} item {{item}} is outside {d.response_min}-{d.response_max} "
            "or not a whole number.",
            "Correct the response, or leave it empty if the item was not answered.",
            "response",
        )
    rev = m["item"].isin(d.reverse_items)
    resp = resp.where(~rev, d.response_min + d.response_max - resp)
    m["value"] = resp.astype(float)
    dup = m.duplicated(KEYS + ["item"], keep=False)
    if dup.any():
        raise _problems(
            m[dup],
            f"{d.name} item {{item}} is answered more than once for person {{person_id}} at timepoint {{timepoint}}.",
            "Keep one administration per timepoint (or give the repeat a different timepoint).",
            "item",
        )
    return m


def _round_half_up(x: pd.Series) -> pd.Series:
    # The tiny epsilon protects k + 0.5 computed as k + 0.4999999 in floating point.
    return np.floor(x + 0.5 + 1e-9)


def _item_scale(wide: pd.DataFrame, s: ScaleDef, d: InstrumentDef) -> pd.Series:
    block = wide[list(s.items)]
    n = len(s.items)
    answered = block.notna().sum(axis=1)
    need = s.min_answered if s.min_answered is not None else n
    # Complete answers give the exact sum; mean x n only when prorating (x n in
    # floating point can give 29.000000000000004, which a conversion table misses).
    score = block.sum(axis=1).where(answered == n, block.mean(axis=1) * n)
    if d.rounding == "half_up":
        score = _round_half_up(score)
    return score.where(answered >= need)


def _band(score: pd.Series, bands) -> pd.Series:
    """Label scores; a band runs from its ``low`` up to the next band's ``low``
    (so a prorated, unrounded 9.33 falls in the band whose whole scores are
    <= 9), and the last band ends at its ``high``."""
    ordered = sorted(bands, key=lambda b: b.low)
    out = pd.Series(pd.NA, index=score.index, dtype="object")
    for b, nxt in zip(ordered, ordered[1:] + [None]):
        upper = (score < nxt.low) if nxt is not None else (score <= b.high)
        out[(score >= b.low) & upper] = b.label
    order = [b.label for b in ordered]
    return pd.Series(pd.Categorical(out, categories=order, ordered=True), index=score.index)


def score_instrument(
    measurements: pd.DataFrame,
    instrument: str,
    *,
    cfg=None,
    definitions=None,
) -> pd.DataFrame:
    """Score one instrument for every person, intervention and timepoint.

    Parameters
    ----------
    measurements
        Item-level table of the data contract (person_id, intervention_id,
        instrument, item, response, timepoint, measurement_date).
    instrument
        Instrument name, e.g. ``"SDQ_S"``, ``"SWEMWBS"`` or a configured one.
    cfg
        VRU configuration (for the order of timepoints); loaded if omitted.
    definitions
        Extra instrument definitions: a mapping name -> InstrumentDef or a
        YAML file path.

    Returns
    -------
    DataFrame
        One row per person_id x intervention_id x timepoint with a column per
        scale (e.g. SDQ: emotional, conduct, hyperactivity, peer, prosocial,
        total_difficulties, externalising, internalising), a column
        ``<scale>_<scheme>`` per band scheme (e.g. ``total_difficulties_band4``),
        ``n_items_answered`` and ``measurement_date`` (latest item date).
        Sorted by person_id, intervention_id and timepoint order.
    """
    d = get_definition(instrument, definitions)
    require_columns(measurements, REQUIRED, table="measurements", purpose=f"Scoring {instrument}")
    m = measurements[measurements["instrument"].astype("string").str.strip() == instrument]
    if m.empty:
        found = sorted(measurements["instrument"].dropna().astype(str).unique())
        raise MissingDataError(
            f"No '{instrument}' responses in the measurements table (instruments present: "
            f"{', '.join(found) or 'none'}). Check the instrument name or supply its data."
        )
    m = _clean_items(m, d)
    wide = m.pivot(index=KEYS, columns="item", values="value").reindex(columns=list(d.items))
    out = pd.DataFrame(index=wide.index)
    for name, s in d.scales.items():
        if s.kind == "items":
            out[name] = _item_scale(wide, s, d)
        elif s.kind == "sum":
            # min_count = every part: the sum is missing unless all parts are present
            out[name] = out[list(s.sum_of)].sum(axis=1, min_count=len(s.sum_of))
        else:
            raw = out[s.convert_from]
            table = {float(k): v for k, v in s.conversion.items()}
            out[name] = raw.map(table).astype(float)
    for name, s in d.scales.items():
        for scheme, bands in s.bands.items():
            out[f"{name}_{scheme}"] = _band(out[name], bands)
    out["n_items_answered"] = wide.notna().sum(axis=1).astype(int)
    if "measurement_date" in m.columns:
        dates = pd.to_datetime(m["measurement_date"], errors="coerce")
        out["measurement_date"] = dates.groupby([m[k] for k in KEYS]).max().reindex(out.index)
    out = out.reset_index()
    out.insert(3, "instrument", instrument)
    return sort_by_timepoint(out, cfg)


def wide_prepost(scores: pd.DataFrame, scale: str, *, pre: str = "baseline", post: str = "exit") -> pd.DataFrame:
    """Put one scale's scores side by side: person_id, intervention_id, pre, post.

    Every person x intervention with either score gets a row; a score not
    available at a timepoint is NaN. Raises MissingDataError if the scale
    column is absent or no one has a score at ``pre`` or at ``post``.
    """
    require_columns(scores, ["person_id", "intervention_id", "timepoint", scale], table="scores",
                    purpose=f"Pairing '{scale}' before and after")
    s = scores[scores[scale].notna() & scores["timepoint"].isin([pre, post])]
    for tp in (pre, post):
        if not (s["timepoint"] == tp).any():
            raise MissingDataError(
                f"No '{scale}' scores at timepoint '{tp}' (timepoints present: "
                f"{', '.join(sorted(scores['timepoint'].dropna().astype(str).unique()))})."
            )
    if s.duplicated(["person_id", "intervention_id", "timepoint"]).any():
        raise DataError(Problem(file="scores", column="timepoint",
                                message=f"more than one '{scale}' score per person, intervention and timepoint.",
                                fix="Score one instrument at a time (score_instrument output has one row each)."))
    w = s.pivot(index=["person_id", "intervention_id"], columns="timepoint", values=scale)
    w = w.reindex(columns=[pre, post]).astype(float)
    w.columns = ["pre", "post"]
    w.columns.name = None
    return w.reset_index().sort_values(["person_id", "intervention_id"], kind="mergesort").reset_index(drop=True)
