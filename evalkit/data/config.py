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
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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


class VRUConfig(BaseModel):
    """The configuration of one Violence Reduction Unit.

    Unknown keys are kept (``extra="allow"``) so that modules can add their
    own settings to the YAML without touching this model.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    vru_name: str
    areas: dict[str, list[str]]
    intervention_areas: list[str]
    prevention_levels: list[str]
    intervention_types: list[str]
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
    area_indicators: list[str]
    thresholds: Thresholds = Field(default_factory=Thresholds)

    # ------------------------------------------------------------ coherence
    @model_validator(mode="after")
    def _coherent(self) -> VRUConfig:
        problems: list[str] = []
        seen: dict[str, str] = {}
        for area, locs in self.areas.items():
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
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # ------------------------------------------------------------ helpers
    @property
    def localities(self) -> list[str]:
        """All localities (districts), in configuration order."""
        return [loc for locs in self.areas.values() for loc in locs]

    @property
    def area_names(self) -> list[str]:
        """The top-level areas (e.g. City, County)."""
        return list(self.areas)

    @property
    def all_areas(self) -> list[str]:
        """Areas and localities: every place an area count may refer to.

        A locality that has the same name as its area is listed once.
        """
        out = list(self.areas)
        out.extend(loc for loc in self.localities if loc not in out)
        return out

    def area_of(self, locality: str) -> str:
        """The area a locality rolls up into (``area_of("Mansfield") == "County"``)."""
        for area, locs in self.areas.items():
            if locality in locs:
                return area
        if locality in self.areas:
            return locality
        raise SpecError(
            f"'{locality}' is not a locality in the VRU configuration; use one of {', '.join(self.localities)}."
        )

    def localities_of(self, area: str) -> list[str]:
        """Localities in an area; "City and County" style names combine areas."""
        if area in self.areas:
            return list(self.areas[area])
        parts = [p.strip() for p in area.split(" and ")]
        if len(parts) > 1 and all(p in self.areas for p in parts):
            return [loc for p in parts for loc in self.areas[p]]
        if area in self.localities:
            return [area]
        raise SpecError(f"'{area}' is not an area in the VRU configuration; use one of {', '.join(self.all_areas)}.")

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


def _explain(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def parse_config(data: dict[str, Any], *, source: str = "configuration") -> VRUConfig:
    """Build a :class:`VRUConfig` from a mapping, raising :class:`SpecError` on problems."""
    if not isinstance(data, dict):
        raise SpecError(f"{source}: the configuration must be a YAML mapping of keys to values.")
    try:
        return VRUConfig.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"{source}: invalid VRU configuration: {_explain(exc)}. Fix the YAML file.") from None


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int) -> VRUConfig:
    # mtime in the key: editing the file invalidates the cache.
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: the configuration is not valid YAML ({exc}).") from None
    return parse_config(data, source=path)


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


__all__ = ["VRUConfig", "Thresholds", "InstrumentSpec", "load_config", "parse_config", "DEFAULT_CONFIG_PATH",
           "CONFIG_ENV_VAR", "ETHNICITY_NOT_KNOWN"]
