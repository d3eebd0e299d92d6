"""pandera schemas built from the data contract, and the cross-field rules.

``schema_for(table, cfg)`` returns a :class:`pandera.pandas.DataFrameSchema`
for a *typed* frame (dates as datetime64, numbers as numbers, booleans as
booleans — what :func:`evalkit.data.validate.read_valid` and
:func:`evalkit.data.load.load_tables` return). It checks required fields,
allowed values, ranges, unique keys and every cross-field rule of the contract.
The validator runs it lazily and turns pandera's failure cases into
:class:`~evalkit.errors.Problem` objects with plain-English messages, using the
``explain`` functions here for cross-field rules.

Rules are written here by hand because they are the VRU's business rules
(e.g. age at the index date from date of birth); pandera only runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa

from evalkit.data.config import VRUConfig, load_config
from evalkit.data.contract import FieldSpec, TableSpec, allowed_values, table_spec

#: pandas dtype of each kind in a typed frame while validating (all nullable).
VALIDATION_DTYPES: dict[str, str | None] = {
    "id": None, "text": None, "category": None,  # object columns of str; None = missing
    "date": "datetime64[ns]",
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
}


def typed_dtype(spec: FieldSpec) -> str:
    """dtype of a field in a finished typed frame.

    Strings are ``object`` (missing = ``None``/NaN) because statsmodels and
    patsy handle it better than ``pd.NA``; required integers and booleans are
    plain ``int64``/``bool``; optional ones are nullable ``Int64``/``boolean``.
    """
    if spec.kind in ("id", "text", "category"):
        return "object"
    if spec.kind == "date":
        return "datetime64[ns]"
    if spec.kind == "float":
        return "float64"
    if spec.kind == "int":
        return "int64" if spec.required else "Int64"
    return "bool" if spec.required else "boolean"


# ----------------------------------------------------------------- helpers
def as_datetime(s: pd.Series) -> pd.Series:
    """Series as datetime64[ns]; cheap when it already is one (pd.to_datetime is not)."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return s if s.dtype == "datetime64[ns]" else s.astype("datetime64[ns]")
    return pd.to_datetime(s).astype("datetime64[ns]")


def completed_years(dob: pd.Series, at: pd.Series) -> pd.Series:
    """Age in completed years on date ``at`` for people born on ``dob`` (nullable Int64)."""
    dob, at = as_datetime(dob), as_datetime(at)
    years = at.dt.year - dob.dt.year
    before_birthday = (at.dt.month < dob.dt.month) | ((at.dt.month == dob.dt.month) & (at.dt.day < dob.dt.day))
    return (years - before_birthday.astype("Int64")).astype("Int64")


def _ok(mask: pd.Series) -> pd.Series:
    """A rule mask where a missing comparison (NA) counts as passing."""
    return mask.fillna(True).astype(bool)


def _d(value) -> str:
    return "(empty)" if pd.isna(value) else (value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value))


# ----------------------------------------------------------------- rules
@dataclass(frozen=True)
class RuleImpl:
    """How to check one rule: ``ok(df, cfg)`` is True where a row passes;
    ``explain(row, cfg)`` gives (message, fix) for a failing row."""

    ok: Callable[[pd.DataFrame, VRUConfig], pd.Series]
    explain: Callable[[pd.Series, VRUConfig], tuple[str, str]]
    #: Columns whose unreadable cell would make this rule fail spuriously
    #: (rules treat a missing value as passing, except presence rules).
    presence_of: tuple[str, ...] = ()


def _not_before(later: str, earlier: str, fix: str) -> RuleImpl:
    return RuleImpl(
        ok=lambda df, cfg: _ok(~(df[later] < df[earlier])),
        explain=lambda r, cfg: (f"{later} {_d(r[later])} is before {earlier} {_d(r[earlier])}.", fix),
    )


def index_dates(df: pd.DataFrame, index_col: str) -> pd.Series:
    """The dates ages are taken at: ``index_col``, but a participant's referral_date when start_date is empty
    (a referral that never started)."""
    when = df[index_col]
    if index_col == "start_date" and "referral_date" in df:
        when = when.where(when.notna(), df["referral_date"])
    return when


def _age(df: pd.DataFrame, index_col: str, age_col: str) -> pd.Series:
    from_dob = completed_years(df["date_of_birth"], index_dates(df, index_col))
    return from_dob.fillna(df[age_col].astype("Int64"))


def _start_unless_not_started(df: pd.DataFrame, cfg: VRUConfig) -> pd.Series:
    not_started = df["exit_reason"] == cfg.not_started_exit_reason
    no_start = df["start_date"].isna()
    ok = (no_start == not_started.fillna(False).astype(bool))
    return ok & ~(no_start & (df["referral_date"].isna() | df["end_date"].notna()))


def _explain_not_started(r: pd.Series, cfg: VRUConfig) -> tuple[str, str]:
    code = cfg.not_started_exit_reason
    if pd.notna(r["start_date"]):
        return (f"exit_reason is {code} but start_date {_d(r['start_date'])} is given.",
                "a person who started has another exit_reason; leave start_date empty only for a referral that "
                "never started.")
    if r["exit_reason"] != code:
        return ("start_date is empty.", f"give the date the person started, or, for a referral that never "
                                        f"started, set exit_reason to {code} (with its referral_date).")
    if pd.isna(r["referral_date"]):
        return (f"a referral that never started ({code}) has no referral_date.", "give the referral date.")
    return (f"a referral that never started ({code}) has end_date {_d(r['end_date'])}.", "leave end_date empty.")


def _age_rules(index_col: str, age_col: str) -> dict[str, RuleImpl]:
    def in_range(df: pd.DataFrame, cfg: VRUConfig) -> pd.Series:
        age = _age(df, index_col, age_col)
        return _ok((age >= cfg.age_min) & (age <= cfg.age_max))

    def explain_range(r: pd.Series, cfg: VRUConfig) -> tuple[str, str]:
        age = _age(r.to_frame().T.infer_objects(), index_col, age_col).iloc[0]
        src = "date_of_birth" if pd.notna(r["date_of_birth"]) else age_col
        return (f"age at {index_col} is {age} (from {src}), outside the age range {cfg.age_min}-{cfg.age_max}.",
                f"check {src}; people outside {cfg.age_min}-{cfg.age_max} do not belong in this return.")

    def matches(df: pd.DataFrame, cfg: VRUConfig) -> pd.Series:
        return _ok(completed_years(df["date_of_birth"], index_dates(df, index_col)) == df[age_col].astype("Int64"))

    def explain_match(r: pd.Series, cfg: VRUConfig) -> tuple[str, str]:
        frame = r.to_frame().T.infer_objects()
        col = index_col if pd.notna(r[index_col]) else "referral_date"
        age = completed_years(frame["date_of_birth"], index_dates(frame, index_col)).iloc[0]
        return (f"{age_col} is {r[age_col]} but date_of_birth {_d(r['date_of_birth'])} gives {age} at "
                f"{col} {_d(r[col])}.", f"correct one of them, or leave {age_col} empty.")

    return {
        f"dob_or_age:{index_col}:{age_col}": RuleImpl(
            ok=lambda df, cfg: df["date_of_birth"].notna() | df[age_col].notna(),
            explain=lambda r, cfg: (f"neither date_of_birth nor {age_col} is given.",
                                    f"fill in date_of_birth (preferred) or {age_col}."),
            presence_of=("date_of_birth", age_col),
        ),
        f"age_in_range:{index_col}:{age_col}": RuleImpl(in_range, explain_range),
        f"age_matches_dob:{index_col}:{age_col}": RuleImpl(matches, explain_match),
    }


def _first_of_month(col: str) -> RuleImpl:
    return RuleImpl(
        ok=lambda df, cfg: _ok(df[col].dt.day == 1),
        explain=lambda r, cfg: (f"{col} {_d(r[col])} is not the first day of a month.",
                                f"write the month as its first day, e.g. {r[col].strftime('%Y-%m')}-01."),
    )


def _ethnicity_ok(df: pd.DataFrame, cfg: VRUConfig) -> pd.Series:
    expected = df["ethnicity_detailed"].map(cfg.ethnicity_group_map())
    return _ok(pd.Series(np.where(expected.isna() | df["ethnicity_group"].isna(), True,
                                  expected == df["ethnicity_group"]), index=df.index))


def _item_ok(df: pd.DataFrame, cfg: VRUConfig) -> pd.Series:
    ok = pd.Series(True, index=df.index)
    for inst, spec in cfg.instrument_specs.items():
        sel = df["instrument"] == inst
        ok &= ~sel | df["item"].isin(spec.item_codes()) | df["item"].isna()
    return ok


def _response_ok(df: pd.DataFrame, cfg: VRUConfig) -> pd.Series:
    ok = pd.Series(True, index=df.index)
    for inst, spec in cfg.instrument_specs.items():
        sel = (df["instrument"] == inst) & df["response"].notna()
        ok &= ~sel | df["response"].between(spec.min, spec.max)
    return ok


def _status_ok(df: pd.DataFrame, cfg: VRUConfig) -> pd.Series:
    pairs = {(d, v) for d, vals in cfg.status_domains.items() for v in vals}
    known = df["domain"].isin(list(cfg.status_domains)) & df["value"].notna()
    fits = pd.Series([(d, v) in pairs for d, v in zip(df["domain"], df["value"])], index=df.index, dtype=bool)
    return ~known | fits


def _fmt_list(values: list[str]) -> str:
    return ", ".join(values)


RULES: dict[str, RuleImpl] = {
    "end_not_before_start": _not_before("end_date", "start_date", "correct end_date or start_date."),
    "referral_not_after_start": RuleImpl(
        ok=lambda df, cfg: _ok(~(df["referral_date"] > df["start_date"])),
        explain=lambda r, cfg: (f"referral_date {_d(r['referral_date'])} is after start_date "
                                f"{_d(r['start_date'])}.", "a person is referred before starting; correct the dates."),
    ),
    "start_unless_not_started": RuleImpl(ok=_start_unless_not_started, explain=_explain_not_started,
                                         presence_of=("start_date", "referral_date", "exit_reason")),
    "taken_up_not_before_referral": _not_before("taken_up_date", "referral_date",
                                                "correct taken_up_date or referral_date."),
    "taken_up_date_needs_taken_up": RuleImpl(
        ok=lambda df, cfg: _ok(~(df["taken_up_date"].notna() & (df["taken_up"] == False))),  # noqa: E712
        explain=lambda r, cfg: ("taken_up_date is given but taken_up is false.",
                                "set taken_up to true, or clear taken_up_date."),
    ),
    "outcome_not_before_offence": _not_before("outcome_date", "offence_date",
                                              "correct outcome_date or offence_date."),
    "violent_within_prior": RuleImpl(
        ok=lambda df, cfg: _ok(~(df["prior_violent_offences"] > df["prior_offences"])),
        explain=lambda r, cfg: (f"prior_violent_offences ({r['prior_violent_offences']}) is more than "
                                f"prior_offences ({r['prior_offences']}).",
                                "violent offences are counted within prior_offences; correct the counts."),
    ),
    "ethnicity_group_matches": RuleImpl(
        ok=_ethnicity_ok,
        explain=lambda r, cfg: (f"ethnicity_group '{r['ethnicity_group']}' does not match ethnicity_detailed "
                                f"'{r['ethnicity_detailed']}' "
                                f"(group '{cfg.ethnicity_group_of(r['ethnicity_detailed'])}').",
                                "leave ethnicity_group empty (it is derived) or correct it."),
    ),
    "item_known": RuleImpl(
        ok=_item_ok,
        explain=lambda r, cfg: (f"item '{r['item']}' is not an item of {r['instrument']}.",
                                f"use item codes 1-{cfg.instrument_specs[r['instrument']].items} "
                                f"in the published order."),
    ),
    "response_in_range": RuleImpl(
        ok=_response_ok,
        explain=lambda r, cfg: (f"response {r['response']:g} is outside the {r['instrument']} range "
                                f"{cfg.instrument_specs[r['instrument']].min:g}-"
                                f"{cfg.instrument_specs[r['instrument']].max:g}.",
                                "enter the item score as the questionnaire defines it; leave empty if not answered."),
    ),
    "value_fits_domain": RuleImpl(
        ok=_status_ok,
        explain=lambda r, cfg: (f"value '{r['value']}' is not allowed for domain '{r['domain']}'.",
                                f"use one of {_fmt_list(cfg.status_domains[r['domain']])}."),
    ),
    **_age_rules("start_date", "age_at_start"),
    **_age_rules("index_date", "age_at_index"),
    "first_of_month:month": _first_of_month("month"),
    "first_of_month:start_month": _first_of_month("start_month"),
    "first_of_month:period": _first_of_month("period"),
    "vru_start_with_vru": RuleImpl(
        ok=lambda df, cfg: df["vru_start"].notna() == df["vru"].fillna(False).astype(bool),
        explain=lambda r, cfg: (("vru is true but vru_start is empty.", "give the first period the VRU was funded.")
                                if pd.isna(r["vru_start"]) else
                                (f"vru_start {_d(r['vru_start'])} is given but vru is false.",
                                 "set vru to true, or clear vru_start.")),
        presence_of=("vru", "vru_start")),
}


# ----------------------------------------------------------------- schemas
def _column(spec: FieldSpec, cfg: VRUConfig) -> pa.Column:
    checks: list[pa.Check] = []
    values = allowed_values(spec, cfg)
    if values is not None:
        checks.append(pa.Check.isin(values))
    if spec.min is not None:
        checks.append(pa.Check.gt(spec.min) if spec.min_exclusive else pa.Check.ge(spec.min))
    if spec.max is not None:
        checks.append(pa.Check.le(spec.max))
    dtype = VALIDATION_DTYPES[spec.kind]
    return pa.Column(dtype, checks=checks, nullable=not spec.required, required=True,
                     coerce=dtype is not None, name=spec.name)


def schema_for(table: str | TableSpec, cfg: VRUConfig | None = None) -> pa.DataFrameSchema:
    """The pandera schema of one contract table.

    Parameters
    ----------
    table
        Table name (e.g. ``"participants"``) or its :class:`TableSpec`.
    cfg
        VRU configuration giving the allowed values (default: :func:`load_config`).

    The schema is not strict (provenance columns may be present) and reports
    duplicate keys after their first occurrence. Validate with ``lazy=True`` to
    get every failure at once.
    """
    spec = table if isinstance(table, TableSpec) else table_spec(table)
    cfg = cfg or load_config()
    checks = []
    for rule in spec.rules:
        impl = RULES[rule.name]
        # no error= so that failure cases carry the rule name, which the validator maps back
        checks.append(pa.Check(lambda df, impl=impl: impl.ok(df, cfg), name=rule.name))
    return pa.DataFrameSchema(
        {f.name: _column(f, cfg) for f in spec.fields},
        checks=checks,
        unique=list(spec.key) or None,
        report_duplicates="exclude_first",
        strict=False,
        name=spec.name,
    )


__all__ = ["index_dates", "as_datetime", "schema_for", "RULES", "RuleImpl", "completed_years", "typed_dtype", "VALIDATION_DTYPES"]
