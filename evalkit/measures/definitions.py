"""Instrument definitions: a YAML file describes a Likert-type instrument.

A definition lists the item codes, the response range, reverse-scored items,
the scales (sums of items with a prorating rule, sums of other scales, or a
look-up conversion of another scale), bands, psychometrics (reliability, norm
mean/SD, clinical cut-off) and sources. SDQ (self, parent, teacher), WEMWBS
and SWEMWBS ship in ``evalkit/measures/instruments/``; a VRU adds its own
instrument by dropping a YAML file in the folder its configuration names
(``instruments_folder``), in a directory named by the environment variable
``EVALKIT_INSTRUMENTS`` (``os.pathsep``-separated), or by passing
``definitions=`` to :func:`evalkit.measures.score_instrument`. No code needed.

File format (one file may hold several instruments; keys starting with ``_``
are ignored, so YAML anchors can share structure)::

    instruments:
      MY_SCALE:
        title: "..."
        items: ["1", "2", "3"]
        response_min: 0
        response_max: 4
        reverse_items: ["2"]
        rounding: half_up        # or none
        primary_scale: total
        scales:
          total: {items: ["1", "2", "3"], min_answered: 2, higher_is_better: true,
                  reliability: 0.8, norm_sd: 3.1,
                  bands: {band3: [[low, 0, 4], [medium, 5, 8], [high, 9, 12]]}}
        sources: ["..."]
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evalkit.yaml_safe import strict_load
from evalkit.errors import SpecError

BUILTIN_DIR = Path(__file__).with_name("instruments")


class Band(BaseModel):
    model_config = ConfigDict(frozen=True)
    label: str
    low: float
    high: float


class ScaleDef(BaseModel):
    """One scale of an instrument: exactly one of ``items``, ``sum_of`` or ``convert_from``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    items: tuple[str, ...] | None = None
    min_answered: int | None = None
    sum_of: tuple[str, ...] | None = None
    convert_from: str | None = None
    conversion: dict[int, float] | None = None
    higher_is_better: bool
    reliability: float | None = Field(None, ge=0, lt=1)
    norm_mean: float | None = None
    norm_sd: float | None = Field(None, gt=0)
    clinical_cutoff: float | None = None
    bands: dict[str, tuple[Band, ...]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _bands_from_lists(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("bands"), dict):
            data = dict(data)
            data["bands"] = {
                scheme: [b if isinstance(b, dict) else {"label": b[0], "low": b[1], "high": b[2]} for b in bands]
                for scheme, bands in data["bands"].items()
            }
        return data

    @model_validator(mode="after")
    def _one_kind(self) -> ScaleDef:
        kinds = [self.items is not None, self.sum_of is not None, self.convert_from is not None]
        if sum(kinds) != 1:
            raise ValueError("a scale needs exactly one of 'items', 'sum_of' or 'convert_from'")
        if self.convert_from is not None and not self.conversion:
            raise ValueError("'convert_from' needs a 'conversion' table (raw score: converted score)")
        if self.items is not None:
            n = len(self.items)
            if self.min_answered is not None and not 1 <= self.min_answered <= n:
                raise ValueError(f"min_answered must be between 1 and {n}")
        for scheme, bands in self.bands.items():
            ordered = sorted(bands, key=lambda b: b.low)
            for a, b in zip(ordered, ordered[1:]):
                if b.low <= a.high:
                    raise ValueError(f"bands in '{scheme}' overlap ({a.label} and {b.label})")
            if any(b.low > b.high for b in bands):
                raise ValueError(f"a band in '{scheme}' has low > high")
        return self

    @property
    def kind(self) -> Literal["items", "sum", "conversion"]:
        if self.items is not None:
            return "items"
        return "sum" if self.sum_of is not None else "conversion"


class InstrumentDef(BaseModel):
    """A whole instrument as read from YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    title: str
    items: tuple[str, ...]
    response_min: int
    response_max: int
    reverse_items: tuple[str, ...] = ()
    rounding: Literal["half_up", "none"] = "none"
    primary_scale: str
    scales: dict[str, ScaleDef]
    missing_rule: str = ""
    sources: tuple[str, ...] = ()
    verified: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _coherent(self) -> InstrumentDef:
        if self.response_min >= self.response_max:
            raise ValueError("response_min must be below response_max")
        if len(set(self.items)) != len(self.items):
            raise ValueError("item codes must be unique")
        known = set(self.items)
        bad = [i for i in self.reverse_items if i not in known]
        if bad:
            raise ValueError(f"reverse_items {bad} are not items of the instrument")
        seen: set[str] = set()
        for name, s in self.scales.items():  # scales may only refer to scales defined above them
            refs = list(s.sum_of or ()) + ([s.convert_from] if s.convert_from else [])
            missing = [r for r in refs if r not in seen]
            if missing:
                raise ValueError(f"scale '{name}' refers to {missing}, which must be defined above it")
            bad = [i for i in (s.items or ()) if i not in known]
            if bad:
                raise ValueError(f"scale '{name}' uses unknown items {bad}")
            seen.add(name)
        if self.primary_scale not in self.scales:
            raise ValueError(f"primary_scale '{self.primary_scale}' is not one of the scales")
        return self

    def scale_range(self, name: str) -> tuple[float, float]:
        """Possible (min, max) of a scale."""
        s = self.scales[name]
        if s.kind == "items":
            n = len(s.items)
            return (n * self.response_min, n * self.response_max)
        if s.kind == "sum":
            parts = [self.scale_range(p) for p in s.sum_of]
            return (sum(p[0] for p in parts), sum(p[1] for p in parts))
        return (min(s.conversion.values()), max(s.conversion.values()))


def parse_definitions(data: dict, *, source: str) -> dict[str, InstrumentDef]:
    """Parse the ``instruments:`` mapping of one YAML document."""
    if not isinstance(data, dict) or not isinstance(data.get("instruments"), dict):
        raise SpecError(f"{source}: an instrument file needs a top-level 'instruments:' mapping.")
    out: dict[str, InstrumentDef] = {}
    for name, body in data["instruments"].items():
        if str(name).startswith("_"):
            continue
        try:
            out[str(name)] = InstrumentDef(name=str(name), **body)
        except (ValidationError, TypeError) as exc:
            raise SpecError(f"{source}: instrument '{name}' is not valid: {exc}".replace("\n", "; ")) from None
    return out


def load_definition_file(path: str | Path) -> dict[str, InstrumentDef]:
    """Read every instrument defined in one YAML file."""
    path = Path(path)
    try:
        data = strict_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: cannot read instrument definitions ({exc}).") from None
    return parse_definitions(data, source=str(path))


def _dirs() -> list[Path]:
    """Built-in folder, then the VRU configuration's ``instruments_folder``, then ``EVALKIT_INSTRUMENTS``."""
    from evalkit.data.config import load_config  # lazy: the configuration reads YAML

    configured = load_config().instruments_dir
    extra = os.environ.get("EVALKIT_INSTRUMENTS", "")
    return [BUILTIN_DIR] + ([configured] if configured else []) + [Path(p) for p in extra.split(os.pathsep) if p]


@lru_cache(maxsize=8)
def _load_dirs(dirs: tuple[str, ...]) -> dict[str, InstrumentDef]:
    defs: dict[str, InstrumentDef] = {}
    for d in dirs:
        for f in sorted(Path(d).glob("*.yaml")):
            defs.update(load_definition_file(f))
    return defs


def all_definitions() -> dict[str, InstrumentDef]:
    """Built-in instruments plus any found in ``EVALKIT_INSTRUMENTS`` directories."""
    return dict(_load_dirs(tuple(str(d) for d in _dirs())))


def get_definition(name: str, definitions: dict[str, InstrumentDef] | str | Path | None = None) -> InstrumentDef:
    """Look up one instrument by name (``definitions`` may be a mapping or a YAML path)."""
    defs = all_definitions()
    if isinstance(definitions, (str, Path)):
        defs.update(load_definition_file(definitions))
    elif definitions:
        defs.update(definitions)
    if name not in defs:
        raise SpecError(
            f"Unknown instrument '{name}'. Known instruments: {', '.join(sorted(defs))}. "
            "Define it in a YAML file (see docs/measures.md) in the folder named by instruments_folder in the VRU "
            "configuration (or EVALKIT_INSTRUMENTS)."
        )
    return defs[name]
