"""The data contract: every table, every field, every rule — in one place.

This module is the single source of truth for the tables evalkit reads. The
pandera schemas (:mod:`evalkit.data.schemas`), the validator, the DuckDB store,
the provider template workbook and ``docs/data-contract.md`` are all built from
it. Allowed values are not written here but named by a key into the VRU
configuration (:mod:`evalkit.data.config`), so another VRU changes categories
without touching code.

Regenerate the documentation after editing::

    python -m evalkit.data.contract > docs/data-contract.md
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from evalkit.data.config import VRUConfig, load_config

Kind = Literal["id", "text", "category", "date", "int", "float", "bool"]

#: How each kind is written in a file, for documentation and error messages.
KIND_HELP: dict[str, str] = {
    "id": "text identifier",
    "text": "text",
    "category": "code from a list",
    "date": "date YYYY-MM-DD",
    "int": "whole number",
    "float": "number",
    "bool": "true/false",
}

#: Who supplies each table.
SUPPLIERS = {
    "vru": "VRU commissioning team",
    "provider": "intervention provider",
    "police": "police (via the VRU analyst)",
    "partners": "police, hospital and ambulance service (via the VRU analyst)",
}


@dataclass(frozen=True)
class FieldSpec:
    """One column of one table.

    Attributes
    ----------
    name
        Column name (binding: every module uses it).
    kind
        ``id``, ``text``, ``category``, ``date``, ``int``, ``float`` or ``bool``.
    required
        The column must be present and every cell filled.
    meaning, example
        Plain-English meaning and an example value, for documentation.
    allowed
        For categories: a key of :data:`ALLOWED` naming the configuration list.
    aliases
        For categories: a key of :data:`ALIASES` naming extra accepted codes
        (e.g. police 16+1 ethnicity codes) that are translated on reading.
    min, max, min_exclusive
        Inclusive numeric bounds (``min_exclusive`` makes ``min`` strict).
    currency
        Accept "£1,200" style amounts (pound sign and thousands separators).
    """

    name: str
    kind: Kind
    required: bool
    meaning: str
    example: str
    allowed: str | None = None
    aliases: str | None = None
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    currency: bool = False

    def meaning_for(self, cfg: VRUConfig) -> str:
        """The meaning in the VRU's own words (its word for a district, its ethnicity scheme)."""
        return self.meaning.format_map(_words(cfg)) if "{" in self.meaning else self.meaning

    def example_for(self, cfg: VRUConfig) -> str:
        """The example, or the first allowed value when the VRU does not have the example's code."""
        values = allowed_values(self, cfg)
        if self.allowed in ("all_areas", "localities") and cfg.localities:
            values = [loc for loc in cfg.localities if loc in (values or [loc])] or values
        if values and self.example not in values:
            return str(values[-1] if self.allowed in ("all_areas", "localities") else values[0])
        return self.example


def _words(cfg: VRUConfig) -> dict[str, str]:
    w = cfg.area_words
    aliases = " (police 16+1 codes such as W1 are translated)" if cfg.ethnicity_16plus1 else ""
    return {"locality": w.locality, "Locality": w.locality[:1].upper() + w.locality[1:], "area": w.area,
            "Area": w.area[:1].upper() + w.area[1:], "areas_listed": ", ".join(cfg.area_names),
            "ethnicity_scheme": cfg.ethnicity_scheme, "ethnicity_aliases": aliases}


@dataclass(frozen=True)
class RuleSpec:
    """A rule that involves more than one field of a row.

    ``column`` is the column a problem is reported against; ``text`` is the
    rule in plain words (documentation). The check itself lives in
    :mod:`evalkit.data.schemas` under the same ``name``.
    """

    name: str
    column: str
    text: str


@dataclass(frozen=True)
class Reference:
    """Columns of this table that must exist in another table."""

    columns: tuple[str, ...]
    table: str

    @property
    def text(self) -> str:
        cols = ", ".join(self.columns)
        return f"({cols}) must exist in {self.table}" if len(self.columns) > 1 else f"{cols} must exist in {self.table}"


@dataclass(frozen=True)
class TableSpec:
    """One table of the contract."""

    name: str
    description: str
    supplier: str
    fields: tuple[FieldSpec, ...]
    key: tuple[str, ...] = ()
    rules: tuple[RuleSpec, ...] = ()
    references: tuple[Reference, ...] = ()
    period_column: str | None = None
    row_means: str = ""

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def required_columns(self) -> list[str]:
        return [f.name for f in self.fields if f.required]

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def has(self, name: str) -> bool:
        return any(f.name == name for f in self.fields)


# ----------------------------------------------------------------- allowed values
#: Named lists of allowed values, resolved against a configuration.
ALLOWED: dict[str, Callable[[VRUConfig], list[str]]] = {
    "intervention_areas": lambda c: list(c.intervention_areas),
    "prevention_levels": lambda c: list(c.prevention_levels),
    "intervention_types": lambda c: list(c.intervention_types),
    "funding_streams": lambda c: list(c.funding_streams),
    "exit_reasons": lambda c: list(c.exit_reasons),
    "sex": lambda c: list(c.sex),
    "ethnicity_detailed": lambda c: c.ethnicity_detailed,
    "ethnicity_groups": lambda c: c.ethnicity_groups,
    "localities": lambda c: c.localities,
    "all_areas": lambda c: c.all_areas,
    "referral_sources": lambda c: list(c.referral_sources),
    "contact_types": lambda c: list(c.contact_types),
    "instruments": lambda c: list(c.instruments),
    "timepoints": lambda c: list(c.timepoints),
    "status_domains": lambda c: list(c.status_domains),
    "status_values": lambda c: c.status_values,
    "onward_services": lambda c: list(c.onward_services),
    "offence_groups": lambda c: list(c.offence_groups),
    "offence_outcomes": lambda c: list(c.offence_outcomes),
    "sentences": lambda c: list(c.sentences),
    "pool_sources": lambda c: list(c.pool_sources),
    "area_indicators": lambda c: list(c.area_indicators),
}

#: Extra codes accepted on reading and translated to a contract code.
ALIASES: dict[str, Callable[[VRUConfig], dict[str, str]]] = {
    "ethnicity_16plus1": lambda c: dict(c.ethnicity_16plus1),
}


def allowed_values(spec: FieldSpec, cfg: VRUConfig | None = None) -> list[str] | None:
    """The allowed values of a category field under a configuration (None if free)."""
    if spec.allowed is None:
        return None
    return ALLOWED[spec.allowed](cfg or load_config())


def alias_map(spec: FieldSpec, cfg: VRUConfig | None = None) -> dict[str, str]:
    """Accepted alternative codes for a category field (may be empty)."""
    if spec.aliases is None:
        return {}
    return ALIASES[spec.aliases](cfg or load_config())


# ----------------------------------------------------------------- shared fields
def _person(required: bool = True) -> FieldSpec:
    return FieldSpec("person_id", "id", required,
                     "Pseudonymised person identifier (never a name, NHS or PNC number); "
                     "the same person has the same id in every table and file.", "P3f9a1c0d2b7e4a68")


#: What a row about one participant in one intervention refers to (contacts, measurements, statuses, referrals).
_PARTICIPANT_REFERENCES = (Reference(("intervention_id",), "interventions"),
                           Reference(("person_id", "intervention_id"), "participants"))


def _intervention_id(meaning: str = "Intervention the row belongs to.") -> FieldSpec:
    return FieldSpec("intervention_id", "id", True, meaning, "INT01")


def _risk_fields(index: str) -> tuple[FieldSpec, ...]:
    return (
        FieldSpec("prior_offences", "int", False,
                  f"Proven offences (caution or conviction) in the 24 months before the {index}.", "2", min=0),
        FieldSpec("prior_violent_offences", "int", False,
                  "Of those, violent offences (configured violent offence groups).", "1", min=0),
        FieldSpec("school_exclusion", "bool", False, "Permanently or repeatedly excluded from school.", "false"),
        FieldSpec("looked_after", "bool", False, "Looked-after child or care leaver.", "false"),
        FieldSpec("exploitation_concern", "bool", False,
                  "Recorded concern about criminal or sexual exploitation.", "true"),
        FieldSpec("substance_misuse_concern", "bool", False, "Recorded concern about substance misuse.", "false"),
    )


def _demographics(index: str) -> tuple[FieldSpec, ...]:
    return (
        FieldSpec("sex", "category", True, "Sex as recorded.", "male", allowed="sex"),
        FieldSpec("ethnicity_detailed", "category", False,
                  "Ethnicity, detailed category of the {ethnicity_scheme}{ethnicity_aliases}.",
                  "white_british", allowed="ethnicity_detailed", aliases="ethnicity_16plus1"),
        FieldSpec("ethnicity_group", "category", False,
                  "High-level group of the {ethnicity_scheme}; derived from ethnicity_detailed when empty.",
                  "white",
                  allowed="ethnicity_groups"),
        FieldSpec("locality", "category", True, f"{{Locality}} where the person lived at the {index}.", "",
                  allowed="localities"),
    )


_PERSON_RULES = (
    RuleSpec("violent_within_prior", "prior_violent_offences",
             "prior_violent_offences is not more than prior_offences."),
    RuleSpec("ethnicity_group_matches", "ethnicity_group",
             "When both are given, ethnicity_group is the group of ethnicity_detailed."),
)


def _age_rules(index_col: str, age_col: str) -> tuple[RuleSpec, ...]:
    return (
        RuleSpec(f"dob_or_age:{index_col}:{age_col}", age_col,
                 f"At least one of date_of_birth and {age_col} is given."),
        RuleSpec(f"age_in_range:{index_col}:{age_col}", age_col,
                 f"Age at {index_col} (from date_of_birth, else {age_col}) is within the configured age range."),
        RuleSpec(f"age_matches_dob:{index_col}:{age_col}", age_col,
                 f"When both are given, {age_col} equals completed years from date_of_birth to {index_col}."),
    )


# ----------------------------------------------------------------- the tables
INTERVENTIONS = TableSpec(
    name="interventions",
    description="One row per commissioned intervention (the VRU may complete cost and funding).",
    supplier="provider",
    row_means="an intervention",
    period_column="start_date",
    key=("intervention_id",),
    fields=(
        _intervention_id("Identifier of the intervention, unique in the portfolio."),
        FieldSpec("name", "text", True, "Name of the intervention.", "Custody Navigators"),
        FieldSpec("provider", "text", True, "Organisation that delivers it.", "Northgate Youth Trust"),
        FieldSpec("prevention_level", "category", True, "Prevention level.", "tertiary", allowed="prevention_levels"),
        FieldSpec("intervention_type", "category", True, "Kind of intervention.", "custody_diversion",
                  allowed="intervention_types"),
        FieldSpec("area", "category", True, "{Area} it serves.", "", allowed="intervention_areas"),
        FieldSpec("start_date", "date", True, "Date delivery started (this funding period).", "2020-04-01"),
        FieldSpec("end_date", "date", False, "Date delivery ended; empty if still running.", "2021-03-31"),
        FieldSpec("annual_cost", "float", True, "Annual cost in pounds (\"£210,000\" is accepted).", "210000",
                  min=0, currency=True),
        FieldSpec("funding_stream", "category", False, "Funding stream.", "VRU core grant", allowed="funding_streams"),
        FieldSpec("planned_places", "int", False, "Number of young people it planned to work with.", "120", min=0),
        FieldSpec("completion_min_sessions", "int", False,
                  "Sessions attended that count as completing the intervention.", "6", min=0),
    ),
    rules=(RuleSpec("end_not_before_start", "end_date", "end_date is not before start_date."),),
)

PARTICIPANTS = TableSpec(
    name="participants",
    description="One row per young person per intervention they started, and one per referral that never "
                "started (start_date empty, exit_reason not_started).",
    supplier="provider",
    row_means="a person on an intervention",
    period_column="start_date",
    key=("person_id", "intervention_id"),
    fields=(
        _person(),
        _intervention_id(),
        FieldSpec("referral_date", "date", False, "Date referred (for custody diversion: the arrest).", "2020-05-02"),
        FieldSpec("start_date", "date", False, "Date the person started (the index date); empty only for a "
                  "referral that never started.", "2020-05-04"),
        FieldSpec("end_date", "date", False, "Date the person left; empty if still taking part.", "2020-09-30"),
        FieldSpec("exit_reason", "category", False, "Why the person left.", "completed", allowed="exit_reasons"),
        FieldSpec("date_of_birth", "date", False,
                  "Date of birth (give this or age_at_start; a first-of-month date is fine).", "2004-06-01"),
        FieldSpec("age_at_start", "int", False,
                  "Age in completed years at start_date (at referral_date for a referral that never started; "
                  "give this or date_of_birth; derived when empty).", "16",
                  min=0),
        *_demographics("start"),
        FieldSpec("referral_source", "category", False, "Who referred the person.", "police_custody",
                  allowed="referral_sources"),
        *_risk_fields("start date (the referral date for a referral that never started)"),
    ),
    rules=(
        RuleSpec("end_not_before_start", "end_date", "end_date is not before start_date."),
        RuleSpec("referral_not_after_start", "referral_date", "referral_date is not after start_date."),
        RuleSpec("start_unless_not_started", "start_date",
                 "start_date is empty exactly when exit_reason is not_started (a referral that never started); "
                 "such a row has a referral_date and no end_date."),
        *_age_rules("start_date", "age_at_start"),
        *_PERSON_RULES,
    ),
    references=(Reference(("intervention_id",), "interventions"),),
)

CONTACTS = TableSpec(
    name="contacts",
    description="One row per planned or held session with a participant.",
    supplier="provider",
    row_means="a session",
    period_column="contact_date",
    fields=(
        _person(),
        _intervention_id(),
        FieldSpec("contact_date", "date", True, "Date of the session.", "2020-05-11"),
        FieldSpec("contact_type", "category", True, "Kind of session.", "one_to_one", allowed="contact_types"),
        FieldSpec("duration_minutes", "int", False, "Length of the session in minutes.", "60", min=0, max=1440),
        FieldSpec("attended", "bool", True, "Whether the person attended.", "true"),
    ),
    references=_PARTICIPANT_REFERENCES,
)

MEASUREMENTS = TableSpec(
    name="measurements",
    description="One row per questionnaire item answered (item-level, long format).",
    supplier="provider",
    row_means="one item of one questionnaire",
    period_column="measurement_date",
    key=("person_id", "intervention_id", "instrument", "timepoint", "item"),
    fields=(
        _person(),
        _intervention_id(),
        FieldSpec("instrument", "category", True, "Questionnaire (a configured instrument).", "SDQ_S",
                  allowed="instruments"),
        FieldSpec("item", "text", True,
                  "Item code: \"1\"..\"25\" for SDQ in published order, \"1\"..\"7\" SWEMWBS, \"1\"..\"14\" WEMWBS.",
                  "7"),
        FieldSpec("response", "float", False, "Item response as a number; empty if not answered.", "2"),
        FieldSpec("timepoint", "category", True, "When it was completed.", "baseline", allowed="timepoints"),
        FieldSpec("measurement_date", "date", True, "Date completed.", "2020-05-11"),
    ),
    rules=(
        RuleSpec("item_known", "item", "item is one of the instrument's item codes (configured instruments)."),
        RuleSpec("response_in_range", "response", "response is within the instrument's range (e.g. SDQ 0-2)."),
    ),
    references=_PARTICIPANT_REFERENCES,
)

STATUSES = TableSpec(
    name="statuses",
    description="One row per status recorded (education/employment, substance use, relationships).",
    supplier="provider",
    row_means="one status of one person at one timepoint",
    period_column="status_date",
    key=("person_id", "intervention_id", "timepoint", "domain"),
    fields=(
        _person(),
        _intervention_id(),
        FieldSpec("timepoint", "category", True, "When it was recorded.", "baseline", allowed="timepoints"),
        FieldSpec("status_date", "date", True, "Date recorded.", "2020-05-11"),
        FieldSpec("domain", "category", True, "What the status is about.", "ete", allowed="status_domains"),
        FieldSpec("value", "category", True,
                  "Status; allowed values depend on the domain (ete: in_education/.../neet; "
                  "substance_use: none/.../daily; relationships: rating 1-5).", "neet", allowed="status_values"),
    ),
    rules=(RuleSpec("value_fits_domain", "value", "value is one of the values allowed for its domain."),),
    references=_PARTICIPANT_REFERENCES,
)

ONWARD_REFERRALS = TableSpec(
    name="onward_referrals",
    description="One row per referral of a participant on to another service.",
    supplier="provider",
    row_means="an onward referral",
    period_column="referral_date",
    fields=(
        _person(),
        _intervention_id(),
        FieldSpec("service", "category", True, "Service referred to.", "camhs", allowed="onward_services"),
        FieldSpec("referral_date", "date", True, "Date of the referral.", "2020-06-15"),
        FieldSpec("taken_up", "bool", True, "Whether the person took up the service.", "true"),
        FieldSpec("taken_up_date", "date", False, "Date the service was taken up.", "2020-07-01"),
    ),
    rules=(
        RuleSpec("taken_up_not_before_referral", "taken_up_date", "taken_up_date is not before referral_date."),
        RuleSpec("taken_up_date_needs_taken_up", "taken_up_date", "taken_up_date is only given when taken_up is true."),
    ),
    references=_PARTICIPANT_REFERENCES,
)

OFFENCES = TableSpec(
    name="offences",
    description="One row per recorded offence of a participant or comparison-pool member.",
    supplier="police",
    row_means="an offence",
    period_column="offence_date",
    fields=(
        _person(),
        FieldSpec("offence_date", "date", True, "Date the offence was committed.", "2020-11-20"),
        FieldSpec("offence_group", "category", True, "ONS offence group.", "violence_with_injury",
                  allowed="offence_groups"),
        FieldSpec("knife_enabled", "bool", False, "Knife or sharp instrument involved.", "false"),
        FieldSpec("outcome", "category", True, "Outcome so far (caution or conviction make it proven).", "conviction",
                  allowed="offence_outcomes"),
        FieldSpec("outcome_date", "date", False, "Date of the outcome.", "2021-02-03"),
        FieldSpec("sentence", "category", False, "Sentence, for convictions.", "community", allowed="sentences"),
    ),
    rules=(RuleSpec("outcome_not_before_offence", "outcome_date", "outcome_date is not before offence_date."),),
)

COMPARISON_POOL = TableSpec(
    name="comparison_pool",
    description="One row per potential comparison person (not referred) with their index date.",
    supplier="police",
    row_means="a potential comparison person at an index date",
    period_column="index_date",
    key=("person_id", "pool_source", "index_date"),
    fields=(
        _person(),
        FieldSpec("index_date", "date", True, "Date that plays the role of start_date (e.g. the custody visit).",
                  "2020-08-14"),
        FieldSpec("pool_source", "category", True, "Where the person was found.", "custody_no_referral",
                  allowed="pool_sources"),
        FieldSpec("date_of_birth", "date", False, "Date of birth (give this or age_at_index).", "2003-02-01"),
        FieldSpec("age_at_index", "int", False, "Age in completed years at index_date (derived when empty).", "17",
                  min=0),
        *_demographics("index date"),
        *_risk_fields("index date"),
    ),
    rules=(*_age_rules("index_date", "age_at_index"), *_PERSON_RULES),
)

AREA_COUNTS = TableSpec(
    name="area_counts",
    description="Monthly counts of an indicator in an area, with the population at risk.",
    supplier="partners",
    row_means="one indicator in one area in one month",
    period_column="month",
    key=("area", "month", "indicator"),
    fields=(
        FieldSpec("area", "category", True, "{Area} ({areas_listed}) or a {locality}.", "",
                  allowed="all_areas"),
        FieldSpec("month", "date", True, "First day of the month counted.", "2020-04-01"),
        FieldSpec("indicator", "category", True, "What is counted.", "serious_violence", allowed="area_indicators"),
        FieldSpec("count", "int", True, "Number of events in the month.", "23", min=0),
        FieldSpec("population", "int", True, "Population at risk (e.g. residents aged 10-24).", "19500",
                  min=0, min_exclusive=True),
    ),
    rules=(RuleSpec("first_of_month:month", "month", "month is the first day of a month."),),
)

AREA_ROLLOUT = TableSpec(
    name="area_rollout",
    description="Where and when an area-wide programme started.",
    supplier="vru",
    row_means="one area of an area-wide programme",
    period_column="start_month",
    key=("intervention_id", "area"),
    fields=(
        _intervention_id("Area-wide intervention."),
        FieldSpec("area", "category", True, "{Locality} (or {area}) where it ran.", "",
                  allowed="all_areas"),
        FieldSpec("start_month", "date", True, "First month the programme ran (first day of the month).",
                  "2019-10-01"),
    ),
    rules=(RuleSpec("first_of_month:start_month", "start_month", "start_month is the first day of a month."),),
    references=(Reference(("intervention_id",), "interventions"),),
)

COMPARISON_AREAS = TableSpec(
    name="comparison_areas",
    description="Public statistics for local areas across the country (a month or quarter each), with whether and "
                "when each area got a VRU: the areas the VRU-wide report builds its synthetic comparison from "
                "(docs/comparison-areas.md says where each statistic is published).",
    supplier="vru",
    row_means="one indicator in one local area in one period",
    period_column="period",
    key=("area_code", "period", "indicator"),
    fields=(
        FieldSpec("area_code", "id", True, "Official code of the local authority or Community Safety Partnership.",
                  "E06000016"),
        FieldSpec("area_name", "text", True, "Its name.", "Leicester"),
        FieldSpec("period", "date", True, "First day of the month or quarter counted.", "2019-10-01"),
        FieldSpec("indicator", "category", True, "What is counted.", "violence_with_injury",
                  allowed="area_indicators"),
        FieldSpec("count", "int", True, "Number of offences (or admissions) in the period.", "812", min=0),
        FieldSpec("population", "int", True, "Resident population (mid-year estimate).", "331000",
                  min=0, min_exclusive=True),
        FieldSpec("vru", "bool", True, "Whether the area is covered by a Violence Reduction Unit.", "true"),
        FieldSpec("vru_start", "date", False, "First day of the first period the area's VRU was funded; empty for "
                  "areas without one.", "2019-10-01"),
        FieldSpec("vru_name", "text", False, "The VRU covering the area (this VRU's own name for its areas); empty "
                  "for areas without one.", "Leicester, Leicestershire and Rutland"),
    ),
    rules=(RuleSpec("first_of_month:period", "period", "period is the first day of a month."),
           RuleSpec("vru_start_with_vru", "vru_start", "vru_start is given exactly when vru is true.")),
)

#: Every table, in the order they should be read and ingested (referenced tables first).
TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (INTERVENTIONS, PARTICIPANTS, CONTACTS, MEASUREMENTS, STATUSES, ONWARD_REFERRALS, OFFENCES,
              COMPARISON_POOL, AREA_COUNTS, AREA_ROLLOUT, COMPARISON_AREAS)
}
#: Tables a provider returns.
PROVIDER_TABLES = tuple(n for n, t in TABLES.items() if t.supplier == "provider")

#: Columns the store adds to every table to say where each row came from.
PROVENANCE_COLUMNS = ("_source_file", "_source_sheet", "_source_row", "_file_sha256", "_ingested_at")


def table_spec(name: str) -> TableSpec:
    """The :class:`TableSpec` of a table, with a helpful error for a wrong name."""
    from evalkit.errors import SpecError

    try:
        return TABLES[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, TABLES, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise SpecError(f"'{name}' is not a table of the data contract; use one of {', '.join(TABLES)}.{hint}") \
            from None


# ----------------------------------------------------------------- documentation
_HEADER = """\
# Data contract (column names — binding for all modules)

> Column names below are binding: every module uses them, and they must not
> change without updating every module. This page is generated from
> `evalkit/data/contract.py` (`python -m evalkit.data.contract >
> docs/data-contract.md`); a test fails if it is out of date. Allowed values
> come from the VRU configuration (`evalkit/data/default_config.yaml`; another
> VRU points `EVALKIT_CONFIG` at its own copy) and are shown here for the
> default configuration.
"""

_GENERAL = """\
## How to write values

- **Files.** CSV (UTF-8; Windows-1252 is also read), gzip-compressed CSV
  (`.csv.gz`, read exactly as the CSV inside), Excel (`.xlsx`) or Parquet.
  A CSV or Parquet file is named after its table (`participants.csv`,
  `participants.csv.gz`, or `participants_2021Q1.csv`); in a workbook each
  sheet is named after a table (the template from `evalkit template` has them
  all). The header is row 1. A data folder holds each table once: not both
  `participants.csv` and `participants.csv.gz`.
- **Column names** as below; case, spaces and hyphens are forgiven
  (`Start Date` reads as `start_date`). Unknown columns are an error (with a
  suggestion) so that misspelt columns are not silently dropped.
- **Dates** `YYYY-MM-DD`; Excel date cells are fine. Day-first `31/01/2021`
  (the UK way, as Excel saves a CSV on a UK computer) is also read, explicitly:
  `05/04/2020` is 5 April. A column that also holds a month-first date
  (`04/25/2020`) is refused, value by value, rather than guessed; a
  configuration with `day_first_dates: false` reads only `YYYY-MM-DD`.
- **true/false** fields accept `true`/`false`, `yes`/`no`, `y`/`n`, `1`/`0`.
- **Codes** must be one of the allowed values; case and spaces/underscores are
  forgiven (`Not Known` reads as `not_known`).
- **Empty cell** = not known. A required field must never be empty. The usual
  spellings of an empty cell are read as empty: `nan`, `NaN`, `NULL`, `NA`,
  `N/A`, `#N/A`, `NaT` (unless a code list has such a code).
- **Identifiers** must be pseudonymised before the file leaves the provider
  (`evalkit pseudonymise`): never names, NHS numbers or PNC numbers.
- Every problem is reported with file, sheet, row and column; a file with any
  problem is not stored.
"""

_FOOTER = """\
## Notes

Index date for participants is `start_date`, or `referral_date` for the
intervention types whose `index_date` is set so in the configuration
({referral_types}). {areas_text}

Derived on loading (`evalkit.data.load.load_tables`): an empty
`ethnicity_group` is filled from `ethnicity_detailed`, and an empty
`age_at_start` / `age_at_index` from `date_of_birth` (completed years at the
index date). The store adds provenance columns
(`_source_file`, `_source_sheet`, `_source_row`, `_file_sha256`,
`_ingested_at`) that loaders drop.
"""


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _allowed_text(spec: FieldSpec, cfg: VRUConfig) -> str:
    values = allowed_values(spec, cfg)
    if values is None:
        if spec.kind in ("int", "float") and (spec.min is not None or spec.max is not None):
            lo = "" if spec.min is None else (f"> {spec.min:g}" if spec.min_exclusive else f">= {spec.min:g}")
            hi = "" if spec.max is None else f"<= {spec.max:g}"
            return " and ".join(p for p in (lo, hi) if p)
        return ""
    text = ", ".join(f"`{v}`" for v in values)
    if spec.aliases:
        text += f" (also: {spec.aliases} codes)"
    return text


def render_contract_markdown(cfg: VRUConfig | None = None) -> str:
    """The full data-contract page (Markdown), rendered from :data:`TABLES`."""
    cfg = cfg or load_config()
    out = [_HEADER.rstrip("\n"), "", "## Tables", "",
           "| table | one row is | supplied by | key (unique) |", "|---|---|---|---|"]
    for t in TABLES.values():
        key = ", ".join(t.key) if t.key else "—"
        out.append(f"| [{t.name}](#{t.name}) | {t.row_means} | {SUPPLIERS[t.supplier]} | {key} |")
    out += ["", _GENERAL]
    for t in TABLES.values():
        out += [f"## {t.name}", "", f"{t.description} Supplied by the {SUPPLIERS[t.supplier]}.", ""]
        out += ["| field | type | required | allowed values | meaning | example |", "|---|---|---|---|---|---|"]
        for f in t.fields:
            name = f"**{f.name}**" if f.required else f.name
            out.append(
                f"| {name} | {KIND_HELP[f.kind]} | {'yes' if f.required else 'no'} | "
                f"{_md_escape(_allowed_text(f, cfg))} | {_md_escape(f.meaning_for(cfg))} | `{f.example_for(cfg)}` |"
            )
        rules = []
        if t.key:
            rules.append(f"Each ({', '.join(t.key)}) appears once.")
        rules += [r.text for r in t.rules]
        rules += [ref.text + " (checked when that table is given too, or is in the store)."
                  for ref in t.references]
        if rules:
            out += ["", "Rules:", ""] + [f"- {r}" for r in rules]
        out.append("")
    out.append(_FOOTER.format(referral_types=_referral_types(cfg), areas_text=_areas_text(cfg)))
    return "\n".join(out).rstrip() + "\n"


def _referral_types(cfg: VRUConfig) -> str:
    names = [f"`{k}`" for k, v in cfg.intervention_types.items() if v.index_date == "referral_date"]
    return "in this configuration: " + ", ".join(names) if names else "none in this configuration"


def _areas_text(cfg: VRUConfig) -> str:
    """The area hierarchy in words, wrapped like the rest of the page."""
    import textwrap

    w = cfg.area_words
    parts = [f"{name}: {', '.join(locs)}" for name, locs in cfg.hierarchy.items()]
    text = (f"{w.localities[:1].upper() + w.localities[1:]} roll up into {w.areas}, and all of them together "
            f"are {cfg.whole_area_name} (this configuration: " + "; ".join(parts) + ").")
    return textwrap.fill(text, width=76)


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.stdout.write(render_contract_markdown())
