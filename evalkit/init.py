"""``evalkit init --vru NAME``: a starter kit for another VRU.

Writes, into a new folder:

* ``config.yaml`` — the VRU configuration, commented: every list a VRU differs
  in, starting from the packaged default with the places replaced by
  placeholders to edit (``evalkit --config config.yaml ...`` or
  ``EVALKIT_CONFIG=config.yaml`` then uses it);
* ``instruments/`` — the folder the configuration names for the VRU's own
  questionnaires, with a commented example definition to copy;
* ``protocols/EXAMPLE01.yaml`` — a protocol template that validates against
  the starter configuration (an attendance outcome), with the other designs
  shown as comments.

Nothing is overwritten: an existing file is an error that names it.
"""

from __future__ import annotations

import re
from pathlib import Path

from evalkit.data.config import DEFAULT_CONFIG_PATH, parse_config
from evalkit.errors import EvalkitError

#: The places of the starter configuration (placeholders for the VRU to replace).
STARTER_AREAS = """\
# Areas and the localities (the finest level, e.g. local authority districts)
# that roll up into them. REPLACE these placeholders with your own places. Any
# depth: an area maps to a list of localities or to smaller areas.
areas:
  North: [District A, District B]
  South: [District C, District D, District E]
# Name of all areas together (reports say "in <whole_area>").
whole_area: All areas
# Your own words for the finest level and for the roll-ups.
area_words: {locality: district, localities: districts, area: area, areas: areas}

intervention_areas: [North, South, All areas]
"""

EXAMPLE_INSTRUMENT = """\
# An example questionnaire definition. Copy it to a file ending in .yaml in this
# folder, rename the instrument, and add its code to `instruments:` (and its
# shape to `instrument_specs:`) in config.yaml. See docs/measures.md.
instruments:
  MY_SCALE:
    title: "My scale (5 items, 0-3; lower is better)"
    items: ["1", "2", "3", "4", "5"]
    response_min: 0
    response_max: 3
    reverse_items: []
    rounding: none
    primary_scale: total
    scales:
      total: {items: ["1", "2", "3", "4", "5"], min_answered: 4, higher_is_better: false,
              reliability: 0.8, norm_sd: 3.0}
    sources: ["Where the scale and its reliability come from."]
"""

PROTOCOL_TEMPLATE = """\
# yaml-language-server: $schema=protocol.schema.json
# Evaluation protocol: written BEFORE results are seen. Validate with
#   evalkit --config ../config.yaml validate EXAMPLE01.yaml
intervention_id: EXAMPLE01           # as in the interventions table
title: "Example programme"
question: "How many young people attended, and how many completed the programme?"
intervention_type: mentoring          # one of intervention_types in config.yaml
designs:
  # Attendance: sessions attended by dose band, and completion (by the
  # intervention's completion_min_sessions, else exit reason 'completed').
  - type: engagement
    outcomes: [completed]
  # Before and after on a questionnaire (needs measurements):
  # - type: prepost
  #   outcomes: [wellbeing]
  # Matched comparison on proven reoffending (needs offences and comparison_pool):
  # - type: matched
  #   outcomes: [reoffending]
  #   pool_source: any                # or one of pool_sources in config.yaml
  #   covariates: [age, sex, prior_offences]
  # An area programme (needs area_counts; area_did also needs area_rollout):
  # - type: area_trend
  #   indicators: [serious_violence]  # from area_indicators in config.yaml
  #   areas: [All areas]
primary_outcomes:
  - kind: engagement
    name: completed
    label: "Completed the programme"
    measure: completed                # or sessions_attended, attendance_rate
# secondary_outcomes:
#   - kind: instrument
#     name: wellbeing
#     instrument: SWEMWBS
#     scale: swemwbs
#     higher_is_better: true
#   - kind: reoffending
#     name: reoffending
#     offences: any
# disclosure_threshold: omit to use the VRU's own (a protocol may only raise it)
# population: {start_from: 2024-04-01, start_to: 2025-03-31}
"""


def starter_config(vru_name: str) -> str:
    """The packaged configuration, commented, with the VRU's name and placeholder places."""
    text = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
    head = (f"# evalkit configuration for {vru_name}, written by `evalkit init`.\n"
            "# Edit every list to match your data; `evalkit --config config.yaml validate ...` checks it.\n")
    text = re.sub(r"^# Default VRU configuration\..*?\n(?=vru_name:)", "", text, flags=re.S)
    text = re.sub(r"^vru_name:.*$", f"vru_name: {_quote(vru_name)}", text, count=1, flags=re.M)
    # the place block runs from the areas comment to the intervention_areas line
    text, n = re.subn(r"^# Areas and the localities.*?^intervention_areas:.*?\n", STARTER_AREAS, text,
                      count=1, flags=re.S | re.M)
    if n != 1:  # pragma: no cover - the packaged file is under test
        raise EvalkitError("the packaged configuration has no areas block to replace; report this to the maintainers.")
    text = re.sub(r"^# instruments_folder: instruments$", "instruments_folder: instruments", text, flags=re.M)
    return head + text


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def init_vru(vru_name: str, out: str | Path) -> list[Path]:
    """Write the starter kit for ``vru_name`` into ``out``; return the files written.

    Raises
    ------
    EvalkitError
        If a file it would write already exists, or the name is empty.
    """
    import yaml

    from evalkit.protocol import schema_text

    if not vru_name.strip():
        raise EvalkitError("--vru is empty. Fix: give the VRU's name, e.g. --vru \"Coastshire VRU\".")
    out = Path(out)
    config_text = starter_config(vru_name.strip())
    files = {out / "config.yaml": config_text,
             out / "instruments" / "example_instrument.yaml.txt": EXAMPLE_INSTRUMENT,
             out / "protocols" / "EXAMPLE01.yaml": PROTOCOL_TEMPLATE,
             out / "protocols" / "protocol.schema.json": schema_text()}
    existing = [str(p) for p in files if p.exists()]
    if existing:
        raise EvalkitError(f"{existing[0]} already exists. Fix: choose a new folder with --out, or move it away.")
    parse_config(yaml.safe_load(config_text), source=str(out / "config.yaml"))  # the starter must be valid
    from evalkit.io_safe import write_text_atomic

    written: list[Path] = []
    try:
        for path, text in files.items():
            write_text_atomic(path, text)
            written.append(path)
    except BaseException:  # all or nothing: a full disk half-way leaves no partial starter folder
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return list(files)


__all__ = ["init_vru", "starter_config", "STARTER_AREAS", "PROTOCOL_TEMPLATE", "EXAMPLE_INSTRUMENT"]
