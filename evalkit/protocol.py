"""The evaluation protocol: a pre-specified plan for one intervention, in YAML.

An evaluator writes the plan *before* results are seen: the question, the
design(s), primary and secondary outcomes with their measure settings, the
population and time window, subgroups, significance level, disclosure threshold,
costs and the random seed. :class:`Protocol` is the pydantic v2 model of that
plan; its JSON Schema is exported beside the protocols
(``protocols/protocol.schema.json``) so editors autocomplete and check them.

:func:`validate_protocol_file` turns pydantic's error locations back into YAML
line numbers (from the node marks of :func:`yaml.compose`), so an evaluator reads
``protocols/INT01.yaml, line 14, field 'designs[0].caliper': must be a number
greater than 0 (got 'wide').`` instead of a Python traceback. pydantic gives the
location of an error as a path of keys; no library maps that path back to the
source text of a YAML file, which is why that small part is written here.
"""

from __future__ import annotations

import difflib
import json
import typing
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evalkit.errors import EvalkitError, Problem, SpecError

SCHEMA_FILENAME = "protocol.schema.json"
SCHEMA_COMMENT = f"# yaml-language-server: $schema={SCHEMA_FILENAME}"

SubgroupName = Literal["sex", "ethnicity_group", "age_band", "locality"]
OffenceScope = Literal["any", "violent", "serious_violence"]


def _cfg() -> Any:
    """The VRU configuration in force (``--config`` / ``EVALKIT_CONFIG``, else the packaged default).

    Lists a VRU differs in (timepoints, status domains, exit reasons, comparison
    sources, area indicators and places, intervention types) and the defaults
    (disclosure threshold, age range, financial year and baseline) come from it.
    """
    from evalkit.data.config import load_config  # lazy: config reads YAML

    return load_config()


def _one_of(value: str, allowed: Any, what: str, key: str) -> str:
    allowed = list(allowed)
    if value not in allowed:
        close = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ValueError(f"'{value}' is not one of the VRU configuration's {what}{hint}. Fix: use one of "
                         f"{', '.join(map(str, allowed))}, or add it to {key} in the VRU configuration")
    return value


def _check_timepoint(value: str) -> str:
    return _one_of(value, _cfg().timepoints, "timepoints", "timepoints")


def _check_month(value: str) -> str:
    _parse_month(value, "month")
    return value


def _check_exit_reason(value: str) -> str:
    return _one_of(value, _cfg().exit_reasons, "exit reasons", "exit_reasons")


def _check_indicator(value: str) -> str:
    return _one_of(value, _cfg().area_indicators, "area indicators", "area_indicators")


def _check_place(value: str) -> str:
    return _one_of(value, _cfg().all_areas, "areas", "areas")


Timepoint = Annotated[str, AfterValidator(_check_timepoint)]
ExitReason = Annotated[str, AfterValidator(_check_exit_reason)]
Indicator = Annotated[str, AfterValidator(_check_indicator)]
Place = Annotated[str, AfterValidator(_check_place)]
Month = Annotated[str, AfterValidator(_check_month)]


class _Strict(BaseModel):
    """Base: unknown keys are errors (a misspelt key must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


_MWE_HELP = ("Smallest true effect worth funding, as a positive size in the outcome's natural units (see "
             "docs/reports.md): points on the questionnaire scale; a proportion for reoffending and status "
             "outcomes (0.05 = 5 percentage points); proven reoffences per person for frequency; the "
             "proportional fall in the hazard or rate for time to reoffend and area rate ratios (0.2 = a ratio "
             "of 0.8). The direction is always 'better'. Unset: the standardised default (0.2 SD, Cohen's h 0.2).")
_MDE_HELP = ("Smallest true effect the design can detect with 80% power at this alpha and the expected number "
             "analysed, stated when the protocol is written, in the same units as minimum_worthwhile_effect. "
             "When it is larger than minimum_worthwhile_effect the evaluation is underpowered for a worthwhile "
             "effect, and the report says so.")


class _Thresholds(_Strict):
    """The effect sizes that matter for a decision, stated in advance (used for primary outcomes)."""

    minimum_worthwhile_effect: float | None = Field(None, gt=0, description=_MWE_HELP)
    minimum_detectable_effect: float | None = Field(None, gt=0, description=_MDE_HELP)


# --------------------------------------------------------------------------- outcomes
class InstrumentOutcome(_Thresholds):
    """A score from a questionnaire measured at two timepoints (e.g. SDQ total)."""

    kind: Literal["instrument"] = "instrument"
    name: str = Field(description="Short name used by designs to refer to this outcome, e.g. 'sdq_total'.")
    label: str = Field("", description="Plain-English label for the report.")
    instrument: str = Field(description="Instrument code, e.g. SDQ_S, SDQ_P, SWEMWBS, WEMWBS.")
    scale: str = Field("total", description="Scale or subscale to analyse, e.g. total_difficulties, emotional, "
                                            "metric (SWEMWBS Rasch metric score).")
    pre: Timepoint = "baseline"
    post: Timepoint = "exit"
    higher_is_better: bool
    entry_threshold: float | None = Field(
        None, description="Score on the analysed scale that entry required at the start (at or below it when higher "
                          "is better, e.g. low wellbeing; at or above it otherwise). Set only when entry depended on "
                          "this score: then, and only then, the before/after change is corrected for regression to "
                          "the mean.")
    screened_mean: float | None = Field(
        None, description="Mean score on the analysed scale of everyone screened for entry (admitted or not), when "
                          "the service records it. The regression-to-the-mean correction then uses it instead of "
                          "the instrument's published population norm.")
    screened_n: int | None = Field(
        None, gt=0, description="How many young people the screened mean is from (its uncertainty is carried into "
                                "the interval, with the instrument's norm SD as the spread).")


class OffendingOutcome(_Thresholds):
    """Proven (re)offending after the index date, Justice Data Lab style."""

    kind: Literal["reoffending", "reoffending_frequency", "time_to_reoffend"]
    name: str
    label: str = ""
    offences: OffenceScope = Field("any", description="Which offences count: any, violent, serious_violence.")
    followup_months: int = Field(12, gt=0, le=60, description="Follow-up window after the index date.")
    waiting_months: int = Field(6, ge=0, le=24, description="Extra time allowed for an offence to be proven.")
    higher_is_better: bool = False


class StatusOutcome(_Thresholds):
    """A status measured at two timepoints (e.g. NEET, substance use)."""

    kind: Literal["status"]
    name: str
    label: str = ""
    domain: str = Field(description="A status domain of the VRU configuration, e.g. ete, substance_use.")
    pre: Timepoint = "baseline"
    post: Timepoint = "exit"
    higher_is_better: bool = True

    @field_validator("domain")
    @classmethod
    def _domain(cls, v: str) -> str:
        return _one_of(v, _cfg().status_domains, "status domains", "status_domains")


class EngagementOutcome(_Strict):
    """Attendance: sessions attended, shown by dose band, and completion by the configured rule.

    Completion follows ``interventions.completion_min_sessions`` when it is set
    (attended at least that many sessions), otherwise ``exit_reason ==
    completed``. Dose bands come from the VRU configuration
    (``engagement.dose_bands``) unless the protocol gives its own.
    """

    kind: Literal["engagement"]
    name: str
    label: str = ""
    measure: Literal["completed", "sessions_attended", "attendance_rate"] = Field(
        "completed", description="completed (share who completed), sessions_attended (mean per person) or "
                                 "attendance_rate (share of offered sessions attended).")
    dose_bands: list[int] | None = Field(None, description="Lower edges of the sessions-attended bands "
                                                           "(default: the VRU configuration's).")
    target: float | None = Field(None, ge=0, description="Optional benchmark the result is compared with "
                                                         "(a share 0-1, or a number of sessions).")
    higher_is_better: bool = True


Outcome = Annotated[Union[InstrumentOutcome, OffendingOutcome, StatusOutcome, EngagementOutcome],
                    Field(discriminator="kind")]


# --------------------------------------------------------------------------- designs
class PrePostDesign(_Strict):
    """Participants' scores before and after (Maryland SMS level 1)."""

    type: Literal["prepost"]
    outcomes: list[str] = Field(min_length=1, description="Names of instrument or status outcomes.")
    reliable_change: bool = Field(True, description="Also report the share reliably improved / deteriorated.")


class EngagementDesign(_Strict):
    """Who attended and how much (descriptive; no comparison, so it says nothing about impact)."""

    type: Literal["engagement"]
    outcomes: list[str] = Field(min_length=1, description="Names of engagement outcomes.")


class MatchedDesign(_Strict):
    """Participants against a matched comparison group (MatchIt vocabulary)."""

    type: Literal["matched"]
    outcomes: list[str] = Field(min_length=1)
    pool_source: str = Field("any", description="A comparison-pool source of the VRU configuration, or any.")
    covariates: list[str] = Field(min_length=1, description="Columns of participants/comparison_pool used in "
                                                            "the propensity score.")
    exact: list[str] = Field(default_factory=list, description="Columns to match exactly on.")
    distance: Literal["glm", "mahalanobis"] = "glm"
    link: Literal["logit", "probit", "linear.logit", "linear.probit"] = "logit"
    caliper: float | None = Field(0.2, gt=0, description="Maximum distance, in SD of the score if std_caliper.")
    std_caliper: bool = True
    ratio: int = Field(1, ge=1, le=10, description="Comparisons per participant (1:k).")
    replace: bool = False
    m_order: Literal["largest", "smallest", "random", "data"] | None = "largest"
    discard: Literal["none", "both", "control", "treated"] = "none"
    regression_adjust: bool = Field(False, description="Adjust the matched estimate for the covariates.")

    @field_validator("pool_source")
    @classmethod
    def _pool(cls, v: str) -> str:
        return v if v == "any" else _one_of(v, _cfg().pool_sources, "comparison-pool sources", "pool_sources")


class DiDDesign(_Strict):
    """Difference-in-differences on offending before and after the index date."""

    type: Literal["did"]
    outcomes: list[str] = Field(min_length=1)
    comparison: Literal["matched"] = "matched"
    period_months: int = Field(6, gt=0, le=24, description="Length of each period in the panel.")
    pre_periods: int = Field(2, ge=1, le=12)
    post_periods: int = Field(2, ge=1, le=12)


class _AreaBase(_Thresholds):
    indicators: list[Indicator] = Field(min_length=1, description="Area indicators of the VRU configuration.")
    period: tuple[Month, Month] | None = Field(None, validate_default=True, description="Evaluation period, first "
                                               "and last month (YYYY-MM); default: the configuration's financial "
                                               "year.")
    baseline: tuple[Month, Month] | None = Field(None, validate_default=True, description="Baseline period "
                                                 "(YYYY-MM); default: the configuration's baseline years before "
                                                 "the period.")

    @field_validator("period", "baseline")
    @classmethod
    def _default_months(cls, v: tuple[str, str] | None, info: Any) -> tuple[str, str]:
        if v is not None:
            return v
        rep = _cfg().reporting
        return rep.period if info.field_name == "period" else rep.baseline

    @model_validator(mode="after")
    def _months(self) -> "_AreaBase":
        assert self.period is not None and self.baseline is not None  # filled by _default_months
        for label, (first, last) in (("period", self.period), ("baseline", self.baseline)):
            if _parse_month(first, label) > _parse_month(last, label):
                raise ValueError(f"{label} starts ({first}) after it ends ({last})")
        return self


class AreaTrendDesign(_AreaBase):
    """Area indicators in the period against a baseline, with an interrupted time series."""

    type: Literal["area_trend"]
    areas: list[Place] = Field(min_length=1, description="Places of the VRU configuration: the whole area, a "
                                                       "named area or a locality.")
    interruption: Month | None = Field(None, description="First month of the programme (YYYY-MM) for an "
                                                       "interrupted time series.")


class AreaDiDDesign(_AreaBase):
    """Districts where an area-wide programme ran against districts where it did not."""

    type: Literal["area_did"]
    comparison_areas: list[Place] = Field(default_factory=list, description="Localities to compare with (default: "
                                                                          "every locality without the programme).")


Design = Annotated[Union[PrePostDesign, EngagementDesign, MatchedDesign, DiDDesign, AreaTrendDesign, AreaDiDDesign],
                   Field(discriminator="type")]


# --------------------------------------------------------------------------- the rest
class Population(_Strict):
    """Who is in the evaluation and when."""

    start_from: date | None = Field(None, description="First start date included (YYYY-MM-DD).")
    start_to: date | None = Field(None, description="Last start date included (YYYY-MM-DD).")
    age_min: int | None = Field(None, ge=0, le=120, validate_default=True,
                                description="Youngest age included (default: the configuration's age_range).")
    age_max: int | None = Field(None, ge=0, le=120, validate_default=True,
                                description="Oldest age included (default: the configuration's age_range).")
    exclude_exit_reasons: list[ExitReason] = Field(default_factory=list, description="Exit reasons of the VRU "
                                            "configuration whose participants are left out.")
    data_end: date | None = Field(None, description="Date the data were extracted (limits follow-up).")

    @field_validator("age_min", "age_max")
    @classmethod
    def _default_age(cls, v: int | None, info: Any) -> int:
        if v is not None:
            return v
        cfg = _cfg()
        return cfg.age_min if info.field_name == "age_min" else cfg.age_max

    @model_validator(mode="after")
    def _order(self) -> "Population":
        assert self.age_min is not None and self.age_max is not None  # filled by _default_age
        if self.age_min > self.age_max:
            raise ValueError(f"age_min ({self.age_min}) is greater than age_max ({self.age_max})")
        if self.start_from and self.start_to and self.start_from > self.start_to:
            raise ValueError(f"start_from ({self.start_from}) is after start_to ({self.start_to})")
        return self


class Cohort(_Strict):
    """One independent cohort (or year) analysed with the same protocol (a replication of the primary result)."""

    name: str = Field(description="How the report names it, e.g. 2019/20.")
    start_from: date = Field(description="First start date of the cohort (YYYY-MM-DD).")
    start_to: date = Field(description="Last start date of the cohort (YYYY-MM-DD).")

    @model_validator(mode="after")
    def _order(self) -> "Cohort":
        if self.start_from > self.start_to:
            raise ValueError(f"start_from ({self.start_from}) is after start_to ({self.start_to})")
        return self


class Costs(_Strict):
    """Where the cost comes from: the protocol, or the interventions table."""

    source: Literal["interventions_table", "protocol"] = "interventions_table"
    annual_cost: float | None = Field(None, gt=0, description="Annual cost in pounds (needed if source: protocol).")

    @model_validator(mode="after")
    def _need_cost(self) -> "Costs":
        if self.source == "protocol" and self.annual_cost is None:
            raise ValueError("source is 'protocol' but annual_cost is missing")
        return self


class ValueSettings(_Strict):
    """How offending effects are costed for value for money (docs/value.md)."""

    outcome: str | None = Field(None, description="Outcome to cost (default: the first reoffending-frequency "
                                                  "outcome of a matched design, else the first reoffending rate).")
    horizon_years: float = Field(1.0, gt=0, le=30, description="Years over which averted offences count (1 = only "
                                                              "the year measured).")
    persistence: float = Field(1.0, ge=0, le=1, description="Share of the effect that lasts from one year to the "
                                                           "next.")
    discount_rate: float = Field(0.035, ge=0, lt=1, description="Annual discount rate (Green Book 3.5%).")
    business_as_usual_per_person: float | None = Field(None, ge=0, description="Cost per young person of what the "
                                                       "comparison group received anyway (pounds).")
    price_year: str | None = Field(None, description="Price year for the unit costs, e.g. 2020/21 (default: the "
                                                     "financial year of the participants' median start date).")
    deflator: str | None = Field(None, description="CSV with columns year,index (default: the GDP deflator series "
                                                   "shipped with evalkit, docs/value.md).")
    optimism_bias: float = Field(0.0, ge=0, le=2, description="Green Book optimism bias as a share of the cost "
                                                              "(e.g. 0.25), shown as a sensitivity line.")
    unit_costs: str | None = Field(None, description="Unit-cost YAML (default: Home Office RR99 values).")
    not_costed: list[str] = Field(["homicide"], description="Offence groups counted as £0 (default homicide: one "
                                  "homicide in a small comparison group would set the average cost on its own).")

class TheoryOfChangeTags(_Strict):
    """Where the intervention sits in the VRU's theory of change (evalkit/theory_of_change.yaml)."""

    priority: str | None = Field(None, description="Priority key (default: from the intervention type).")
    outcomes: dict[str, list[str]] = Field(default_factory=dict, description="Outcome name (or area indicator) -> "
                                           "theory-of-change outcome keys it evidences (default: from its kind).")


class Protocol(_Strict):
    """A pre-specified evaluation plan for one intervention (or the VRU as a whole)."""

    intervention_id: str = Field(pattern=r"^[A-Za-z0-9_-]+$", description="e.g. INT01, or VRU for the area protocol.")
    title: str
    question: str = Field(description="The evaluation question in plain words.")
    intervention_type: str | None = None
    designs: list[Design] = Field(min_length=1)
    primary_outcomes: list[Outcome] = Field(default_factory=list, description="Pre-specified primary outcomes "
                                            "(area designs use their indicators instead).")
    secondary_outcomes: list[Outcome] = Field(default_factory=list)
    population: Population = Field(default_factory=Population)
    subgroups: list[SubgroupName] = Field(default_factory=list)
    age_bands: list[int] | None = Field(None, min_length=2, validate_default=True,
                                        description="Band edges: [10, 14, 18, 26] gives 10-13, 14-17, 18-25 "
                                                    "(default: 10, 14, 18 and one past the configuration's oldest "
                                                    "age).")
    alpha: float = Field(0.05, gt=0, lt=0.5)
    disclosure_threshold: int | None = Field(None, ge=1, le=100, validate_default=True,
                                             description="Suppress counts below this (default: the VRU "
                                                         "configuration's disclosure_min_count; may only be "
                                                         "higher).")
    min_n_significance: int | None = Field(None, ge=1, validate_default=True, description="Nothing is called "
                                           "significant below this many (default: the VRU configuration's).")
    costs: Costs = Field(default_factory=Costs)
    value: ValueSettings = Field(default_factory=ValueSettings, description="Value-for-money settings.")
    theory_of_change: TheoryOfChangeTags | None = Field(None, description="Tags to the VRU's theory of change.")
    cohorts: list[Cohort] = Field(default_factory=list, description="Independent cohorts (or years) that each repeat "
                                  "the primary analysis with this protocol; when two or more agree, a benefit can "
                                  "earn 'Expand' instead of 'Expand while replicating'.")
    seed: int = Field(2021, ge=0)

    @field_validator("intervention_type")
    @classmethod
    def _type(cls, v: str | None) -> str | None:
        if v is None:
            return v
        return _one_of(v, _cfg().intervention_types, "intervention types", "intervention_types")

    @field_validator("disclosure_threshold")
    @classmethod
    def _threshold(cls, v: int | None) -> int:
        floor = _cfg().thresholds.disclosure_min_count
        if v is None:
            return floor
        if v < floor:
            raise ValueError(f"is {v}, below the VRU's disclosure threshold of {floor}; a protocol may only raise "
                             f"it. Fix: remove disclosure_threshold, or set it to {floor} or more")
        return v

    @field_validator("age_bands")
    @classmethod
    def _bands(cls, v: list[int] | None) -> list[int]:
        if v is not None:
            return v
        top = _cfg().age_max + 1
        return [edge for edge in (10, 14, 18) if edge < top] + [top]

    @field_validator("min_n_significance")
    @classmethod
    def _min_n(cls, v: int | None) -> int:
        return _cfg().thresholds.min_n_significance if v is None else v

    @property
    def outcomes(self) -> list:
        """Primary then secondary outcomes."""
        return [*self.primary_outcomes, *self.secondary_outcomes]

    def outcome(self, name: str):
        """The outcome called ``name``."""
        for item in self.outcomes:
            if item.name == name:
                return item
        raise SpecError(f"protocol {self.intervention_id}: no outcome called '{name}'")


# --------------------------------------------------------------------------- cross-checks
def _cross_problems(p: Protocol) -> list[tuple[tuple, str, str]]:
    """Checks that span fields: (location, message, fix) for each."""
    out: list[tuple[tuple, str, str]] = []
    names = [o.name for o in p.outcomes]
    for i, name in enumerate(names):
        if names.index(name) != i:
            out.append((("outcomes",), f"two outcomes are both called '{name}'", "give each outcome its own name."))
    by_name = {o.name: o for o in p.outcomes}
    if not p.primary_outcomes and any(d.type in ("prepost", "matched", "did", "engagement") for d in p.designs):
        out.append((("primary_outcomes",), "is empty, but a participant-level design needs a primary outcome",
                    "name the primary outcome(s) the designs analyse."))
    for d, design in enumerate(p.designs):
        for k, ref in enumerate(getattr(design, "outcomes", [])):
            loc = ("designs", d, "outcomes", k)
            if ref not in by_name:
                out.append((loc, f"refers to outcome '{ref}', which is not defined",
                            f"use one of {sorted(by_name)} or add it under primary_outcomes."))
                continue
            kind = by_name[ref].kind
            if (design.type == "engagement") != (kind == "engagement"):
                out.append((loc, f"outcome '{ref}' is {kind}, which a{'n' if design.type[0] in 'ae' else ''} "
                                 f"{design.type} design cannot use",
                            "list engagement outcomes under an engagement design, and other outcomes under "
                            "their own designs."))
                continue
            if design.type == "prepost" and kind not in ("instrument", "status"):
                out.append((loc, f"outcome '{ref}' is {kind}, which a pre/post design cannot use",
                            "use a matched design for offending outcomes."))
            if design.type in ("matched", "did") and kind in ("instrument", "status"):
                out.append((loc, f"outcome '{ref}' is measured on participants only, so a {design.type} design "
                                 "cannot compare it with a comparison group",
                            "use a prepost design for questionnaire and status outcomes."))
    return out


# --------------------------------------------------------------------------- YAML lines
@dataclass(frozen=True)
class ProtocolProblem(Problem):
    """A problem in a protocol file, located by YAML line and field path."""

    line: int | None = None
    field: str | None = None

    def location(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.field:
            parts.append(f"field '{self.field}'")
        return ", ".join(parts)


def _field_path(loc: tuple) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _node_for(root: yaml.Node | None, loc: tuple) -> tuple[yaml.Node | None, tuple]:
    """Follow ``loc`` through the composed YAML tree; return the deepest node reached
    and the location without the union tags pydantic inserts after a list index
    (``designs.0.matched.caliper`` is ``designs[0].caliper`` in the file)."""
    node, clean = root, []
    for i, part in enumerate(loc):
        if i >= 2 and isinstance(loc[i - 1], int) and loc[i - 2] in _UNION_LISTS and part in _UNION_TAGS:
            continue
        if isinstance(part, str) and part.startswith(("tuple[", "list[", "function-")):
            continue
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            match = next((v for k, v in node.value if k.value == part), None)
            clean.append(part)
            if match is None:  # a missing field: point at the section that lacks it
                return node, tuple(clean)
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            clean.append(part)
            if part >= len(node.value):
                return node, tuple(clean)
            node = node.value[part]
        else:
            clean.append(part)
    return node, tuple(clean)


_UNION_LISTS = {"designs", "primary_outcomes", "secondary_outcomes"}
_UNION_TAGS = {"prepost", "engagement", "matched", "did", "area_trend", "area_did", "instrument", "reoffending",
               "reoffending_frequency", "time_to_reoffend", "status"}


def _plain(err: dict) -> tuple[str, str]:
    """A pydantic error in plain words, with a fix."""
    kind, ctx, got = err["type"], err.get("ctx") or {}, err.get("input")
    shown = f" (got {got!r})" if not isinstance(got, (dict, list)) and got is not None else ""
    if kind == "missing":
        return "is required but missing.", "add it (see protocols/protocol.schema.json for what it means)."
    if kind == "extra_forbidden":
        key = str(err["loc"][-1]) if err.get("loc") else ""
        close = difflib.get_close_matches(key, sorted(_known_fields()), n=1, cutoff=0.75)
        hint = f" (did you mean '{close[0]}'?)" if close and close[0] != key else ""
        return f"is not a field this section knows{hint}.", "check the spelling and indentation, or remove it."
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        words = {"greater_than": "greater than", "greater_than_equal": "at least",
                 "less_than": "less than", "less_than_equal": "at most"}[kind]
        bound = next(iter(ctx.values()), "")
        return f"must be a number {words} {bound}{shown}.", f"give a number {words} {bound}."
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        what = "a whole number" if kind.startswith("int") else "a number"
        return f"must be {what}{shown}.", f"write {what}, without quotes or units."
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false{shown}.", "write true or false."
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}{shown}.", "use one of the allowed values."
    if kind == "union_tag_invalid":
        return (f"has an unknown type {ctx.get('tag')!r}.",
                f"use one of {ctx.get('expected_tags', '')}.")
    if kind == "union_tag_not_found":
        return (f"needs a '{ctx.get('discriminator', 'type').strip(chr(39))}' key saying which kind it is.",
                "add it, e.g. 'type: prepost' for a design or 'kind: instrument' for an outcome.")
    if kind in ("date_from_datetime_parsing", "date_parsing", "date_type"):
        return f"must be a date written YYYY-MM-DD{shown}.", "write the date as e.g. 2020-04-01."
    if kind == "too_short":
        return "must not be empty.", "list at least one item."
    if kind == "string_pattern_mismatch":
        return f"may use only letters, digits, '-' and '_'{shown}.", "e.g. INT01."
    if kind in ("string_type", "list_type", "dict_type", "model_type", "tuple_type", "model_attributes_type"):
        expect = {"string_type": "text", "list_type": "a list", "dict_type": "a section of keys",
                  "model_type": "a section of keys", "model_attributes_type": "a section of keys",
                  "tuple_type": "a list"}[kind]
        if kind in ("list_type", "tuple_type") and isinstance(got, (str, int, float)):
            return f"must be {expect}{shown}.", f"write it as a list, e.g. [{got}]."
        return f"must be {expect}{shown}.", f"write {expect} here."
    if kind == "value_error":
        text = str(ctx.get("error", err["msg"]))
        if " Fix: " in text:
            message, _, fix = text.partition(" Fix: ")
            return message.rstrip(".") + ".", fix.rstrip(".") + "."
        fix = "write months as YYYY-MM, e.g. 2020-04." if "YYYY-MM" in text else "correct the values so they agree."
        return text + ".", fix
    return err["msg"] + shown + ".", "see protocols/protocol.schema.json."


def _known_fields() -> set[str]:
    """Every field name any protocol section knows (for 'did you mean' on a misspelt key)."""
    names: set[str] = set()
    todo, seen = [Protocol], set()
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            names.add(info.alias or name)
            todo.extend(_models_in(info.annotation))
    return names


def _models_in(annotation: Any) -> list[type]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _compose(text: str, name: str) -> tuple[yaml.Node | None, Any, list[ProtocolProblem]]:
    from evalkit.yaml_safe import YamlProblem, load_yaml

    try:
        root, data = load_yaml(text)  # size and depth first, then duplicate keys and exploding aliases
    except YamlProblem as exc:
        return None, None, [ProtocolProblem(file=name, line=exc.line, message=exc.message, fix=exc.fix)]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        fix = "check the indentation and that every 'key: value' has a space after the colon."
        lines = text.splitlines()
        if "\\t" in problem or (line is not None and 0 < line <= len(lines) and "\t" in lines[line - 1]):
            fix = "replace the tab with spaces (YAML indents with spaces only)."
        return None, None, [ProtocolProblem(file=name, line=line, message=f"is not valid YAML: {problem}.",
                                            fix=fix)]
    return root, data, []


def _problems_for(path: Path, text: str) -> tuple[Protocol | None, list[ProtocolProblem]]:
    name = str(path)
    root, data, problems = _compose(text, name)
    if problems:
        return None, problems
    if not isinstance(data, dict):
        return None, [ProtocolProblem(file=name, line=1, message="does not hold a protocol (a section of keys).",
                                      fix="start from one of the protocols in protocols/.")]
    try:
        protocol = Protocol.model_validate(data)
    except ValidationError as exc:
        out = []
        for err in exc.errors(include_url=False):
            node, loc = _node_for(root, tuple(err["loc"]))
            message, fix = _plain(err)
            line = node.start_mark.line + 1 if node is not None else None
            out.append(ProtocolProblem(file=name, line=line, field=_field_path(loc) or None, message=message,
                                       fix=fix))
        return None, _dedupe(out)
    out = []
    for loc, message, fix in _cross_problems(protocol):
        node, clean = _node_for(root, loc)
        out.append(ProtocolProblem(file=name, line=node.start_mark.line + 1 if node is not None else None,
                                   field=_field_path(clean), message=message + ".", fix=fix))
    return (None if out else protocol), out


def _dedupe(problems: list[ProtocolProblem]) -> list[ProtocolProblem]:
    seen, out = set(), []
    for p in problems:
        key = (p.line, p.field, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def validate_protocol_file(path: str | Path) -> list[ProtocolProblem]:
    """Every problem in a protocol file, each with its YAML line and field, in plain words.

    Returns an empty list when the protocol is valid.
    """
    path = Path(path)
    text, problems = _read_text(path)
    return problems if text is None else _problems_for(path, text)[1]


def _read_text(path: Path) -> tuple[str | None, list[ProtocolProblem]]:
    """The protocol's text (UTF-8, a byte-order mark allowed), or the problem that stops reading it."""
    from evalkit.yaml_safe import YamlProblem, check_file_size

    try:
        check_file_size(path)  # before reading: a 60 MB file is refused at once
        return path.read_text(encoding="utf-8-sig"), []
    except YamlProblem as exc:
        return None, [ProtocolProblem(file=str(path), message=exc.message, fix=exc.fix)]
    except IsADirectoryError:
        return None, [ProtocolProblem(file=str(path), message="is a folder, not a protocol file.",
                                      fix="give one .yaml file (run-all takes a folder).")]
    except OSError as exc:
        return None, [ProtocolProblem(file=str(path), message=f"cannot be read ({exc.strerror}).",
                                      fix="check the path.")]
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        return None, [ProtocolProblem(file=str(path), line=line, message="is not UTF-8 text (a character such as "
                                      "£ or an accent was saved in another encoding).", fix="save it as UTF-8.")]


def load_protocol(path: str | Path) -> Protocol:
    """Read and validate a protocol file.

    Raises
    ------
    SpecError
        With every problem found, each located by line and field.
    """
    if isinstance(path, Protocol):
        return path
    path = Path(path)
    text, problems = _read_text(path)
    if text is None:
        raise SpecError(str(problems[0]))
    protocol, problems = _problems_for(path, text)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s); run `evalkit validate {path}`)" if len(problems) > 1 else ""
        raise SpecError(str(problems[0]) + more)
    assert protocol is not None
    return protocol


def duplicate_ids(paths: list[Path] | tuple[Path, ...]) -> list[ProtocolProblem]:
    """Protocols among ``paths`` that describe an intervention another one already does (one problem per
    later file, naming both): run-all would write both reports to the same folder, and which plan was the
    pre-registered one would be a guess. Invalid protocols are left to their own problems."""
    first: dict[str, tuple[Path, int | None]] = {}
    out: list[ProtocolProblem] = []
    for path in paths:
        path = Path(path)
        try:
            protocol = load_protocol(path)
        except EvalkitError:
            continue
        line = _id_line(path)
        key = protocol.intervention_id.casefold()  # INT01 and int01 are one report folder on Windows and macOS
        if key in first:
            other, other_line = first[key]
            at = f", line {other_line}" if other_line else ""
            out.append(ProtocolProblem(
                file=str(path), line=line, field="intervention_id",
                message=f"intervention {protocol.intervention_id} is already described by {other}{at}; two plans "
                        "for one intervention would write to the same report folder, and which one was "
                        "pre-registered would be a guess.",
                fix="keep one protocol per intervention in the folder (move the other, e.g. an old draft, away)."))
        else:
            first[key] = (path, line)
    return out


def _id_line(path: Path) -> int | None:
    from evalkit.yaml_safe import load_yaml

    try:
        root, _ = load_yaml(path.read_text(encoding="utf-8-sig"))
    except Exception:  # noqa: BLE001 - only a line number for a message
        return None
    node, _ = _node_for(root, ("intervention_id",))
    return node.start_mark.line + 1 if node is not None else None


# --------------------------------------------------------------------------- schema
def protocol_json_schema() -> dict:
    """The JSON Schema of a protocol file (for editors' autocomplete and checks)."""
    schema = Protocol.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "evalkit evaluation protocol"
    return schema


def schema_text() -> str:
    """The schema as the exact text committed in ``protocols/protocol.schema.json``."""
    return json.dumps(protocol_json_schema(), indent=2, sort_keys=True) + "\n"


def write_protocol_schema(path: str | Path) -> Path:
    """Write the JSON Schema to ``path`` (normally ``protocols/protocol.schema.json``)."""
    path = Path(path)
    path.write_text(schema_text(), encoding="utf-8")
    return path


def _parse_month(value: str, label: str) -> tuple[int, int]:
    try:
        year, month = (int(x) for x in str(value).split("-")[:2])
        if not 1 <= month <= 12:
            raise ValueError
    except ValueError:
        raise ValueError(f"{label} {value!r} is not written YYYY-MM (e.g. 2020-04)") from None
    return year, month


# --------------------------------------------------------------------------- protocol against data
#: Tables each design needs, beyond participants (participant-level designs) ...
_DESIGN_TABLES = {"prepost": (), "engagement": (), "matched": ("comparison_pool",), "did": ("offences", "comparison_pool"),
                  "area_trend": ("area_counts",), "area_did": ("area_counts", "area_rollout")}
#: ... and each outcome kind.
_OUTCOME_TABLES = {"instrument": ("measurements",), "status": ("statuses",), "reoffending": ("offences",),
                   "reoffending_frequency": ("offences",), "time_to_reoffend": ("offences",),
                   "engagement": ("contacts",)}
PARTICIPANT_DESIGNS = ("prepost", "engagement", "matched", "did")


def data_problems(protocol: Protocol, tables: dict[str, Any]) -> list[str]:
    """Why the data cannot answer this protocol at all, as plain sentences (empty when they can).

    Pointing a protocol at the wrong data (another VRU's, another
    intervention's, another year's) is the user's mistake to fix, not a result
    to report, so these are errors: the intervention is not in the
    interventions table, no participant has its id, none started inside the
    population window, or *no* outcome can be estimated because the tables
    every design/outcome needs are missing or empty. When only some outcomes
    lack their table (say offences for a secondary outcome), the report is
    still made and says per outcome what is missing; too *few* participants is
    a result too (the report calls the evidence inconclusive).
    """
    by_name = {o.name: o for o in protocol.outcomes}

    def empty(name: str) -> bool:
        frame = tables.get(name)
        return frame is None or len(frame) == 0

    missing_per_unit: list[dict[str, str]] = []  # one entry per (design, outcome): missing table -> who needs it
    for d, design in enumerate(protocol.designs):
        where = f"designs[{d}] ({design.type})"
        base = {name: where for name in _DESIGN_TABLES[design.type]}
        if design.type in PARTICIPANT_DESIGNS:
            base["participants"] = where
        refs = [r for r in getattr(design, "outcomes", []) if r in by_name] or [None]
        for ref in refs:
            need = dict(base)
            if ref is not None:
                need.update({name: f"outcome '{ref}'" for name in _OUTCOME_TABLES[by_name[ref].kind]})
            missing_per_unit.append({name: why for name, why in need.items() if empty(name)})
    out: list[str] = []
    if missing_per_unit and all(missing_per_unit):
        gaps: dict[str, str] = {}
        for unit in missing_per_unit:
            for name, why in unit.items():
                gaps.setdefault(name, why)
        if len(gaps) == 1:
            ((name, why),) = gaps.items()
            out.append(f"the {name} table, which {why} needs, is missing or empty, so no outcome can be estimated. "
                       f"Fix: add {name}.csv to the data folder, or `evalkit ingest` a {name} file into the store")
        else:
            names = list(gaps)
            listed = ", ".join(names[:-1]) + f" and {names[-1]}"
            out.append(f"the {listed} tables are missing or empty, so no outcome can be estimated. Fix: add "
                       f"{', '.join(n + '.csv' for n in names)} to the data folder, or `evalkit ingest` them into "
                       "the store")
    if any(d.type in PARTICIPANT_DESIGNS for d in protocol.designs):
        iid = protocol.intervention_id
        inter = tables.get("interventions")
        if inter is not None and len(inter) and "intervention_id" in inter and iid not in set(inter["intervention_id"]):
            known = sorted(map(str, inter["intervention_id"].dropna().unique()))
            shown = ", ".join(known[:8]) + (f" ... ({len(known)} in all)" if len(known) > 8 else "")
            out.insert(0, f"intervention_id {iid} is not in the interventions table (it holds {shown}). Fix: correct "
                          "intervention_id in the protocol, or point --data at the data for this intervention")
        elif not empty("participants"):
            part = tables["participants"]
            mine = part.loc[part["intervention_id"] == iid]
            if mine.empty:
                out.insert(0, f"no participants have intervention_id {iid}. Fix: check intervention_id in the "
                              "protocol, or point --data at the data that holds this intervention's participants")
            else:
                out[:0] = _window_problems(protocol, mine)
    return out


def _window_problems(protocol: Protocol, mine: Any) -> list[str]:
    """None of the intervention's participants started inside the protocol's population window."""
    import pandas as pd

    pop = protocol.population
    if "start_date" not in mine or (pop.start_from is None and pop.start_to is None):
        return []
    start = pd.to_datetime(mine["start_date"]).dropna()
    inside = pd.Series(True, index=start.index)
    if pop.start_from is not None:
        inside &= start >= pd.Timestamp(pop.start_from)
    if pop.start_to is not None:
        inside &= start <= pd.Timestamp(pop.start_to)
    if start.empty or inside.any():
        return []
    # no dates or counts of people here: the message may reach run-all's index page
    return [f"none of {protocol.intervention_id}'s participants in the data started inside the protocol's "
            "population window. Fix: check population start_from and start_to in the protocol, or point --data at "
            "the data for that period"]


def check_data(protocol: Protocol, tables: dict[str, Any], source: str | Path = "") -> None:
    """Raise :class:`~evalkit.errors.MissingDataError` listing :func:`data_problems`, if any."""
    problems = data_problems(protocol, tables)
    if problems:
        from evalkit.errors import MissingDataError

        where = f"{source}: " if source else ""
        more = f" (and {len(problems) - 1} more: " + "; ".join(problems[1:]) + ")" if len(problems) > 1 else ""
        raise MissingDataError(f"{where}{protocol.intervention_id}: {problems[0]}.{more}")


def _data_problem_field(text: str) -> tuple:
    """Which protocol field a :func:`data_problems` sentence is about (to give its line)."""
    if text.startswith(("intervention_id", "no participants")):
        return ("intervention_id",)
    if text.startswith("none of"):
        return ("population", "start_from")
    return ("designs",)


def design_gaps(protocol: Protocol, tables: dict[str, Any]) -> list[str]:
    """Designs that cannot run because a table they need is missing or empty (the report would say
    "could not be estimated" for each of their outcomes), as sentences with a fix.

    Not an error for ``evalkit report`` (the other designs still give a report), but ``evalkit validate
    --data`` lists them, so an evaluator learns before the commissioner reads the report.
    """
    out = []
    for d, design in enumerate(protocol.designs):
        empty = [name for name in _DESIGN_TABLES[design.type]
                 if tables.get(name) is None or len(tables.get(name)) == 0]
        if empty:
            names = " and ".join(empty)
            out.append(f"designs[{d}] ({design.type}) needs the {names} table{'s' if len(empty) > 1 else ''}, "
                       f"which {'are' if len(empty) > 1 else 'is'} missing or empty, so its outcomes cannot be "
                       f"estimated. Fix: add {', '.join(n + '.csv' for n in empty)} to the data folder (or "
                       "`evalkit ingest` it into the store), or remove the design from the protocol")
    return out


def validate_protocol_against_data(path: str | Path, tables: dict[str, Any], source: str | Path = ""
                                   ) -> list[ProtocolProblem]:
    """:func:`validate_protocol_file`, then :func:`data_problems` located by line and field in the file."""
    path = Path(path)
    problems = validate_protocol_file(path)
    if problems:
        return problems
    from evalkit.yaml_safe import load_yaml

    root, _ = load_yaml(path.read_text(encoding="utf-8-sig"))  # checked just above
    out = []
    protocol = load_protocol(path)
    sentences = data_problems(protocol, tables)
    if not sentences:  # wrong data for the protocol comes first; then each design that cannot run
        sentences = design_gaps(protocol, tables)
    for sentence in sentences:
        node, loc = _node_for(root, _data_problem_field(sentence))
        message, _, fix = sentence.partition(" Fix: ")
        where = f"against {source}: " if source else ""
        out.append(ProtocolProblem(file=str(path), line=node.start_mark.line + 1 if node is not None else None,
                                   field=_field_path(loc), message=f"{where}{message}", fix=fix + "."))
    return out


__all__ = [
    "Protocol", "PrePostDesign", "EngagementDesign", "EngagementOutcome", "MatchedDesign", "DiDDesign",
    "AreaTrendDesign", "AreaDiDDesign", "InstrumentOutcome", "OffendingOutcome", "StatusOutcome", "Population",
    "Costs", "Cohort", "ValueSettings", "TheoryOfChangeTags", "ProtocolProblem",
    "load_protocol", "validate_protocol_file", "protocol_json_schema", "schema_text", "write_protocol_schema",
    "data_problems", "check_data", "validate_protocol_against_data", "duplicate_ids",
]
