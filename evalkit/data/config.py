"""The VRU configuration: categories, areas and thresholds.

Every category code in the data contract (sex, ethnicity, areas, offence groups,
...) comes from one YAML file so that another VRU can copy it, edit it and
point evalkit at it (``EVALKIT_CONFIG=path``) without changing code. The file
is parsed into a frozen pydantic model that also checks it is coherent (no
locality in two areas, proven outcomes are offence outcomes, ...), so a bad
configuration fails once, on load, with a message saying what to fix.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from evalkit.errors import SpecError

DEFAULT_CONFIG_PATH = Path(__file__).with_name("default_config.yaml")
CONFIG_ENV_VAR = "EVALKIT_CONFIG"

#: Group code used for every "unknown" detailed ethnicity.
ETHNICITY_NOT_KNOWN = "not_known"


class Thresholds(BaseModel):
    """Numbers that govern analysis and disclosure control."""

    model_config = ConfigDict(frozen=True, extra="allow")

    disclosure_min_count: int = Field(10, ge=1)
    min_n_significance: int = Field(30, ge=1)
    followup_months: int = Field(12, ge=1)
    waiting_months: int = Field(6, ge=0)
    alpha: float = Field(0.05, gt=0, lt=1)


class InstrumentSpec(BaseModel):
    """Shape of a questionnaire: item count and the allowed response range."""

    model_config = ConfigDict(frozen=True, extra="allow")

    items: int = Field(ge=1)
    min: float
    max: float

    @model_validator(mode="after")
    def _range(self) -> InstrumentSpec:
        if self.min >= self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        return self

    def item_codes(self) -> list[str]:
        """Item codes "1".."items" in published order."""
        return [str(i) for i in range(1, self.items + 1)]


class AreaWords(BaseModel):
    """The VRU's own words for its places: the finest level and the roll-ups."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    locality: str = "district"
    localities: str = "districts"
    area: str = "area"
    areas: str = "areas"


class IndicatorSpec(BaseModel):
    """An area indicator: what is counted, in plain words, and its unit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = ""
    unit: str = "events"
    higher_is_better: bool = False


class InterventionTypeSpec(BaseModel):
    """A kind of intervention and the date its participants' follow-up starts from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = ""
    index_date: str = Field("start_date", pattern=r"^(start_date|referral_date)$",
                            description="start_date, or referral_date (e.g. the arrest or the A&E attendance).")


class Reporting(BaseModel):
    """Financial year and baseline defaults for area designs (a protocol may override them)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    financial_year_start_month: int = Field(4, ge=1, le=12)
    evaluation_year: int = Field(2020, ge=1990, le=2100,
                                 description="Calendar year in which the evaluated financial year starts.")
    baseline_years: int = Field(3, ge=1, le=10)

    def _month(self, year: int, month: int) -> str:
        while month < 1:
            year, month = year - 1, month + 12
        return f"{year:04d}-{month:02d}"

    @property
    def period(self) -> tuple[str, str]:
        """The evaluated financial year, first and last month (YYYY-MM)."""
        m = self.financial_year_start_month
        return self._month(self.evaluation_year, m), self._month(self.evaluation_year + 1, m - 1)

    @property
    def baseline(self) -> tuple[str, str]:
        """The ``baseline_years`` financial years before the evaluated one."""
        m = self.financial_year_start_month
        return (self._month(self.evaluation_year - self.baseline_years, m),
                self._month(self.evaluation_year, m - 1))

    @property
    def baseline_words(self) -> str:
        """"the three years before" style wording."""
        words = {1: "the year", 2: "the two years", 3: "the three years", 4: "the four years", 5: "the five years"}
        return words.get(self.baseline_years, f"the {self.baseline_years} years") + " before"


class Engagement(BaseModel):
    """How attendance is banded when engagement is a protocol outcome."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dose_bands: list[int] = Field(default_factory=lambda: [1, 4, 8, 12], min_length=1,
                                  description="Lower edges of the sessions-attended bands, e.g. [1, 4, 8, 12] "
                                              "gives 1-3, 4-7, 8-11, 12 or more.")

    @field_validator("dose_bands")
    @classmethod
    def _increasing(cls, v: list[int]) -> list[int]:
        if any(b <= a for a, b in zip(v, v[1:])) or v[0] < 1:
            raise ValueError("dose_bands must be whole numbers from 1 upwards, each larger than the one before")
        return v


def _as_mapping(value: Any, what: str) -> Any:
    """A list of codes becomes {code: {}} so both the short and the described form are allowed."""
    if isinstance(value, list):
        out: dict[str, Any] = {}
        for item in value:
            if not isinstance(item, (str, int)):
                raise ValueError(f"{what} must be a list of codes or a mapping of code to settings")
            out[str(item)] = {}
        return out
    if isinstance(value, dict):
        return {str(k): ({} if v is None else v) for k, v in value.items()}
    return value


def _flatten_areas(tree: Any, path: str = "areas") -> dict[str, list[str]]:
    """Every named node of the area tree -> the localities (leaves) under it, any depth."""
    out: dict[str, list[str]] = {}
    if not isinstance(tree, dict) or not tree:
        raise ValueError(f"{path} must be a mapping of area names to localities (a list) or to smaller areas")
    for name, sub in tree.items():
        name = str(name)
        if isinstance(sub, list):
            if not sub:
                raise ValueError(f"{path}.{name} lists no localities")
            out[name] = [str(x) for x in sub]
        else:
            inner = _flatten_areas(sub, f"{path}.{name}")
            out[name] = [loc for k, locs in inner.items() if k in sub for loc in locs]
            for k, v in inner.items():
                if k in out:
                    raise ValueError(f"area name '{k}' is used twice in {path}")
                out[k] = v
    return out


class VRUConfig(BaseModel):
    """The configuration of one Violence Reduction Unit.

    Unknown keys are kept (``extra="allow"``) so that modules can add their
    own settings to the YAML without touching this model.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    vru_name: str
    areas: dict[str, Any] = Field(description="Area tree: each name maps to its localities (a list) or to "
                                              "smaller areas (a mapping), to any depth.")
    whole_area: str = Field("", description="Name of every area together (default: the top-level names "
                                            "joined with 'and').")
    area_words: AreaWords = Field(default_factory=AreaWords)
    intervention_areas: list[str] = Field(default_factory=list)
    prevention_levels: list[str]
    intervention_types: dict[str, InterventionTypeSpec]
    funding_streams: list[str]
    age_range: tuple[int, int]
    sex: list[str]
    ethnicity: dict[str, list[str]]
    ethnicity_unknown: list[str]
    ethnicity_16plus1: dict[str, str] = Field(default_factory=dict)
    exit_reasons: list[str]
    referral_sources: list[str]
    contact_types: list[str]
    timepoints: list[str]
    instruments: list[str]
    instrument_specs: dict[str, InstrumentSpec] = Field(default_factory=dict)
    status_domains: dict[str, list[str]]
    onward_services: list[str]
    pool_sources: list[str]
    offence_groups: list[str]
    violent_offence_groups: list[str]
    serious_violence_groups: list[str]
    offence_outcomes: list[str]
    proven_outcomes: list[str]
    sentences: list[str]
    area_indicators: dict[str, IndicatorSpec]
    thresholds: Thresholds = Field(default_factory=Thresholds)
    #: Comparison-pool source used as the portfolio's cohort at risk (None: the whole pool).
    reach_cohort: str | None = None
    reporting: Reporting = Field(default_factory=Reporting)
    engagement: Engagement = Field(default_factory=Engagement)
    ethnicity_scheme: str = Field("ONS 2021 Census ethnic groups", description="Name of the ethnicity "
                                  "classification, as reports and the provider template print it.")
    labels: dict[str, str] = Field(default_factory=dict, description="Plain-English labels for category codes.")
    completion_exit_reason: str = Field("completed", description="The exit reason that means a participant "
                                        "completed (used when an intervention sets no completion_min_sessions).")
    not_started_exit_reason: str = Field("not_started", description="The exit reason of a referral that never "
                                         "started (its participants row has a referral_date and no start_date).")
    day_first_dates: bool = Field(True, description="Read dates written 31/01/2021 as day first (the UK way; "
                                  "a column that also holds a month-first date such as 01/31/2021 is refused rather "
                                  "than guessed). false: only YYYY-MM-DD and Excel date cells are read.")
    report_audience: str = Field("the commissioning board", description="Who the portfolio summary is for, as "
                                 "its title says it.")
    instruments_folder: str | None = Field(None, description="Folder of the VRU's own instrument definitions "
                                                             "(relative to this file).")
    commissioning_rules: str | None = Field(None, description="The VRU's own commissioning rules file "
                                                              "(relative to this file).")
    _source: str | None = PrivateAttr(None)

    @field_validator("intervention_types", mode="before")
    @classmethod
    def _types(cls, v: Any) -> Any:
        return _as_mapping(v, "intervention_types")

    @field_validator("area_indicators", mode="before")
    @classmethod
    def _indicators(cls, v: Any) -> Any:
        return _as_mapping(v, "area_indicators")

    @field_validator("areas", mode="before")
    @classmethod
    def _area_tree(cls, v: Any) -> Any:
        _flatten_areas(v)  # raises ValueError with the place of the problem
        return v

    # ------------------------------------------------------------ coherence
    @model_validator(mode="after")
    def _coherent(self) -> VRUConfig:
        problems: list[str] = []
        seen: dict[str, str] = {}
        for area, locs in self.top_areas.items():
            for loc in locs:
                if loc in seen:
                    problems.append(f"locality '{loc}' is listed under both '{seen[loc]}' and '{area}'")
                seen[loc] = area
        detailed = [d for codes in self.ethnicity.values() for d in codes]
        dupes = sorted({d for d in detailed if detailed.count(d) > 1})
        if dupes:
            problems.append(f"ethnicity codes listed in more than one group: {', '.join(dupes)}")
        for code, target in self.ethnicity_16plus1.items():
            if target not in detailed and target not in self.ethnicity_unknown:
                problems.append(f"ethnicity_16plus1 maps '{code}' to unknown category '{target}'")
        for name, subset, full in [
            ("proven_outcomes", self.proven_outcomes, self.offence_outcomes),
            ("violent_offence_groups", self.violent_offence_groups, self.offence_groups),
            ("serious_violence_groups", self.serious_violence_groups, self.offence_groups),
        ]:
            extra = [v for v in subset if v not in full]
            if extra:
                problems.append(f"{name} has values that are not listed: {', '.join(extra)}")
        lo, hi = self.age_range
        if not 0 <= lo < hi:
            problems.append(f"age_range must be [youngest, oldest] with youngest < oldest, got {list(self.age_range)}")
        for inst in self.instrument_specs:
            if inst not in self.instruments:
                problems.append(f"instrument_specs describes '{inst}', which is not in instruments")
        if self.completion_exit_reason not in self.exit_reasons:
            problems.append(f"completion_exit_reason '{self.completion_exit_reason}' is not one of exit_reasons "
                            f"({', '.join(self.exit_reasons)})")
        if self.reach_cohort is not None and self.reach_cohort not in self.pool_sources:
            problems.append(f"reach_cohort '{self.reach_cohort}' is not one of pool_sources "
                            f"({', '.join(self.pool_sources)})")
        h = self.hierarchy
        for loc in dict.fromkeys(self.localities):  # a place name must mean one set of localities
            if loc in h and h[loc] != [loc]:
                problems.append(f"locality '{loc}' has the name of an area that holds {', '.join(h[loc])}; reports "
                                f"could not tell them apart (rename one, or list the area as '{loc}: [{loc}]')")
        whole = self.whole_area_name
        if whole in h and sorted(h[whole]) != sorted(set(self.localities)):
            problems.append(f"whole_area '{whole}' is also the name of an area that holds only some localities; "
                            "name every area together differently")
        elif whole in self.localities and whole not in h and len(set(self.localities)) > 1:
            problems.append(f"whole_area '{whole}' is also the name of a locality; name every area together "
                            "differently")
        places = set(self.hierarchy) | set(self.localities) | {self.whole_area_name}
        bad = [a for a in self.intervention_areas if a not in places]
        if bad:
            problems.append(f"intervention_areas has places that are not in areas: {', '.join(bad)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # ------------------------------------------------------------ helpers
    @property
    def hierarchy(self) -> dict[str, list[str]]:
        """Every named area at any depth -> the localities in it (configuration order)."""
        return _flatten_areas(self.areas)

    @property
    def top_areas(self) -> dict[str, list[str]]:
        """The top-level areas -> the localities in each."""
        h = self.hierarchy
        return {name: h[name] for name in self.areas}

    @property
    def localities(self) -> list[str]:
        """All localities (the finest level), in configuration order."""
        return [loc for locs in self.top_areas.values() for loc in locs]

    @property
    def area_names(self) -> list[str]:
        """The top-level areas."""
        return list(self.areas)

    @property
    def whole_area_name(self) -> str:
        """The name of every area together (``whole_area``, or the top-level names joined with 'and')."""
        if self.whole_area:
            return self.whole_area
        names = list(self.areas)
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]

    @property
    def all_areas(self) -> list[str]:
        """Every place an area count may refer to: the whole area, each named area, each locality.

        A locality that has the same name as its area is listed once.
        """
        out = [self.whole_area_name, *self.hierarchy]
        out.extend(loc for loc in self.localities if loc not in out)
        return list(dict.fromkeys(out))

    def area_of(self, locality: str) -> str:
        """The top-level area a locality rolls up into."""
        for area, locs in self.top_areas.items():
            if locality in locs:
                return area
        if locality in self.areas:
            return locality
        raise SpecError(
            f"'{locality}' is not a locality in the VRU configuration; use one of {', '.join(self.localities)}."
        )

    def localities_of(self, area: str) -> list[str]:
        """Localities in an area (any depth); the whole-area name gives every locality."""
        if area == self.whole_area_name:
            return list(self.localities)
        h = self.hierarchy
        if area in h:
            return list(h[area])
        parts = [p.strip() for p in area.split(" and ")]
        if len(parts) > 1 and all(p in h for p in parts):
            return [loc for p in parts for loc in h[p]]
        if area in self.localities:
            return [area]
        raise SpecError(f"'{area}' is not an area in the VRU configuration; use one of {', '.join(self.all_areas)}.")

    def label(self, code: Any) -> str:
        """Plain-English label of a category code: ``labels`` first, else the code with spaces."""
        text = str(code)
        if text in self.labels:
            return self.labels[text]
        if text in self.area_indicators and self.area_indicators[text].label:
            return self.area_indicators[text].label
        if text in self.intervention_types and self.intervention_types[text].label:
            return self.intervention_types[text].label
        return text.replace("_", " ")

    def indicator_label(self, code: str) -> str:
        """An indicator's label, capitalised (``Serious violence``)."""
        text = self.label(code)
        return text[:1].upper() + text[1:]

    def indicator_unit(self, code: str) -> str:
        spec = self.area_indicators.get(code)
        return spec.unit if spec is not None else "events"

    def index_date_rule(self, intervention_type: str | None) -> str:
        """Participants' index-date column for an intervention type (start_date when not configured)."""
        spec = self.intervention_types.get(str(intervention_type)) if intervention_type else None
        return spec.index_date if spec is not None else "start_date"

    def resolve_path(self, value: str | None) -> Path | None:
        """A path from the configuration, relative to the configuration file."""
        if not value:
            return None
        p = Path(value).expanduser()
        if not p.is_absolute() and self._source:
            p = Path(self._source).parent / p
        return p

    @property
    def instruments_dir(self) -> Path | None:
        return self.resolve_path(self.instruments_folder)

    @property
    def commissioning_rules_path(self) -> Path | None:
        return self.resolve_path(self.commissioning_rules)

    @property
    def ethnicity_groups(self) -> list[str]:
        """High-level ethnic groups plus ``not_known``."""
        return [*self.ethnicity, ETHNICITY_NOT_KNOWN]

    @property
    def ethnicity_detailed(self) -> list[str]:
        """Detailed ethnicity codes (ONS 2021) plus the unknown codes."""
        return [d for codes in self.ethnicity.values() for d in codes] + list(self.ethnicity_unknown)

    def ethnicity_group_of(self, detailed: str) -> str:
        """High-level group of a detailed ethnicity code (unknowns give ``not_known``)."""
        if detailed in self.ethnicity_unknown:
            return ETHNICITY_NOT_KNOWN
        for group, codes in self.ethnicity.items():
            if detailed in codes:
                return group
        raise SpecError(
            f"'{detailed}' is not a detailed ethnicity code; use one of {', '.join(self.ethnicity_detailed)}."
        )

    def ethnicity_group_map(self) -> dict[str, str]:
        """Mapping detailed code → group, for vectorised use (``Series.map``)."""
        return {d: self.ethnicity_group_of(d) for d in self.ethnicity_detailed}

    @property
    def status_values(self) -> list[str]:
        """Every allowed status value across domains (union, in order)."""
        out: list[str] = []
        for values in self.status_domains.values():
            out.extend(v for v in values if v not in out)
        return out

    @property
    def age_min(self) -> int:
        return int(self.age_range[0])

    @property
    def age_max(self) -> int:
        return int(self.age_range[1])


def _line_of(root: yaml.Node | None, loc: tuple) -> int | None:
    """1-based line of the deepest YAML node on the path ``loc`` (None without the text)."""
    node, line = root, None
    for part in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if str(k.value) == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            node = None
    return node.start_mark.line + 1 if node is not None else line


def _explain(exc: ValidationError, root: yaml.Node | None = None) -> str:
    parts = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "tuple["))))
        where = ".".join(str(p) for p in loc) or "(top level)"
        line = _line_of(root, loc) if root is not None and loc else None
        at = f"line {line}, " if line else ""
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{at}{where}: {msg}")
    return "; ".join(parts)


def parse_config(data: dict[str, Any], *, source: str = "configuration", text: str | None = None) -> VRUConfig:
    """Build a :class:`VRUConfig` from a mapping, raising :class:`SpecError` on problems.

    With the YAML ``text``, each problem is located by line as well as key.
    """
    if not isinstance(data, dict):
        raise SpecError(f"{source}: the configuration must be a YAML mapping of keys to values.")
    try:
        cfg = VRUConfig.model_validate(data)
    except ValidationError as exc:
        root = yaml.compose(text, Loader=yaml.SafeLoader) if text is not None else None
        raise SpecError(f"{source}: invalid VRU configuration: {_explain(exc, root)}. Fix the YAML file.") from None
    if source != "configuration":
        cfg._source = source
    return cfg


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int) -> VRUConfig:
    # mtime in the key: editing the file invalidates the cache.
    from evalkit.yaml_safe import YamlProblem, check_file_size, load_yaml

    try:
        check_file_size(path)
        text = Path(path).read_text(encoding="utf-8-sig")
        _, data = load_yaml(text)  # size, depth, duplicate keys, exploding aliases: before anything is built
    except YamlProblem as exc:
        raise SpecError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: the configuration is not valid YAML ({' '.join(str(exc).split())}).") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path}: the configuration is not UTF-8 text. Fix: save it as UTF-8.") from None
    except OSError as exc:
        raise SpecError(f"{path}: the configuration cannot be read ({exc.strerror}). Fix: check the path.") from None
    return parse_config(data, source=path, text=text)


def _default_raw() -> dict[str, Any]:
    return yaml.safe_load(Path(DEFAULT_CONFIG_PATH).read_text(encoding="utf-8"))


def config_warnings(cfg: VRUConfig, text: str | None = None) -> list[str]:
    """Settings that still describe the packaged default after the list they describe was replaced.

    Each warning names the key to set (with its line when ``text``, the YAML, is given): the ethnicity codes
    replaced while ``ethnicity_scheme`` still names the ONS 2021 groups; the areas replaced while
    ``whole_area`` still names the default's; ``reporting.evaluation_year`` changed while the comment beside
    it (or beside ``baseline_years``) still gives the default's years; ``labels`` for codes no list has.
    """
    default = _default_raw()
    root = None
    if text is not None:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            root = None

    def at(*loc: Any) -> str:
        line = _line_of(root, loc) if root is not None else None
        return f"line {line}, " if line else ""

    out: list[str] = []
    if cfg.ethnicity != default["ethnicity"] and cfg.ethnicity_scheme == default["ethnicity_scheme"]:
        out.append(f"{at('ethnicity')}ethnicity_scheme: the ethnicity codes are your own, but ethnicity_scheme still "
                   f"says '{cfg.ethnicity_scheme}' (the default's), and reports and the template print it. Fix: set "
                   "ethnicity_scheme to the name of your classification (e.g. 'Police 16+1 self-defined ethnicity').")
    if cfg.areas != default["areas"] and cfg.whole_area == default["whole_area"]:
        out.append(f"{at('whole_area')}whole_area: the areas are your own, but whole_area still says "
                   f"'{cfg.whole_area}' (the default's), the name reports give every area together. Fix: set "
                   "whole_area to your VRU's whole area (or remove it to join your top-level area names).")
    year, start = cfg.reporting.evaluation_year, cfg.reporting.financial_year_start_month
    if text is not None and year != default["reporting"]["evaluation_year"]:
        for key, expected in (("evaluation_year", [_fy(year, start)]),
                              ("baseline_years", [_fy(year - cfg.reporting.baseline_years, start),
                                                  _fy(year - 1, start)])):
            line = _line_of(root, ("reporting", key)) if root is not None else None
            lines = text.splitlines()
            comment = lines[line - 1].partition("#")[2] if line and line <= len(lines) else ""
            said = re.findall(r"\b\d{4}/\d{2}\b|\b\d{4}\b", comment)
            if said and not all(s in expected or s == str(year) for s in said):
                out.append(f"line {line}, reporting.{key}: the evaluated year is now {_fy(year, start)}, but the note "
                           f"beside {key} still says '{comment.strip()}' (the default's years). Fix: correct the note "
                           f"(the baseline is {expected[0] if key == 'evaluation_year' else ' to '.join(expected)}), "
                           "or check evaluation_year and baseline_years are the ones you mean.")
    codes = {str(c) for values in _code_lists(cfg) for c in values}
    stale = [k for k in cfg.labels if k not in codes and k != ETHNICITY_NOT_KNOWN]
    if stale:
        out.append(f"{at('labels')}labels: {', '.join(repr(k) for k in stale[:5])} label(s) a code that no list "
                   "of this configuration has (left from another configuration?). Fix: remove them, or correct the code.")
    return out


def _fy(year: int, start_month: int) -> str:
    """'2020/21' for the financial year starting in ``year`` (a calendar year when it starts in January)."""
    return str(year) if start_month == 1 else f"{year}/{(year + 1) % 100:02d}"


def _code_lists(cfg: VRUConfig) -> list[Any]:
    return [cfg.prevention_levels, cfg.intervention_types, cfg.funding_streams, cfg.sex, cfg.ethnicity_detailed,
            cfg.ethnicity_groups, cfg.ethnicity_unknown, cfg.exit_reasons, cfg.referral_sources, cfg.contact_types,
            cfg.timepoints, cfg.instruments, cfg.status_values, list(cfg.status_domains), cfg.onward_services,
            cfg.pool_sources, cfg.offence_groups, cfg.offence_outcomes, cfg.sentences, cfg.area_indicators,
            cfg.all_areas]


def load_config(path: str | Path | None = None) -> VRUConfig:
    """Load the VRU configuration (cached; immutable).

    Parameters
    ----------
    path
        YAML file. Default: the ``EVALKIT_CONFIG`` environment variable if set,
        otherwise the packaged ``default_config.yaml``.

    Raises
    ------
    SpecError
        If the file is missing, is not YAML or is not a coherent configuration.
    """
    if path is None:
        path = os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_PATH
    p = Path(path).expanduser().resolve()
    if not p.is_file():
        raise SpecError(f"VRU configuration file '{path}' does not exist; check the path or {CONFIG_ENV_VAR}.")
    return _load_cached(str(p), p.stat().st_mtime_ns)


__all__ = ["config_warnings", "VRUConfig", "Thresholds", "AreaWords", "IndicatorSpec", "InterventionTypeSpec", "Reporting", "Engagement", "InstrumentSpec", "load_config", "parse_config", "DEFAULT_CONFIG_PATH",
           "CONFIG_ENV_VAR", "ETHNICITY_NOT_KNOWN"]
