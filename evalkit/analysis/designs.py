"""Run each design of a protocol and turn its result into :class:`OutcomeResult` objects.

One function per design type. Each calls the design modules
(:mod:`evalkit.designs.prepost`, :mod:`evalkit.designs.matching`,
:mod:`evalkit.designs.did`, :mod:`evalkit.designs.area`) and the measures
(:mod:`evalkit.measures`), and words the result with
:mod:`evalkit.analysis.narrative`. A design that cannot run (too little data,
missing data) gives an :class:`OutcomeResult` whose ``reason`` says why; it
never stops the report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.analysis import data as ad
from evalkit.analysis import standardise as st
from evalkit.analysis.narrative import effect_sentence, judge, per_100_sentence
from evalkit.analysis.results import AttritionBounds, OutcomeDetails, OutcomeResult, Placebo, Rates
from evalkit.data.config import load_config
from evalkit.designs.area import area_did, interrupted_time_series, period_vs_baseline
from evalkit.designs.area.its import ITSResult
from evalkit.designs.did import event_study, matched_did, offending_panel
from evalkit.designs.matching import (balance_table, covariate_benchmark, e_value, estimate_att, match,
                                     rosenbaum_bounds, survival_att)
from evalkit.designs.matching.sensitivity import EValueResult, RosenbaumResult
from evalkit.designs.prepost import prepost_binary, prepost_continuous
from evalkit.designs.prepost.effects import hedges_factor_lakens
from evalkit.errors import EvalkitError, InsufficientDataError, SpecError, redact
from evalkit.labels import DESIGN_LABELS
from evalkit.measures import (instrument_info, offending_outcomes, score_instrument, status_change, status_outcomes,
                              wide_prepost)
from evalkit.protocol import Protocol
from evalkit.results import Estimate
_T = TypeVar("_T")
SCALE_ALIASES = ("total", "metric", "primary")
#: Area DiD inference: wild score bootstrap with Rademacher weights, which the design enumerates exactly
#: when there are at most 12 areas (2^G sign patterns: no Monte Carlo error, and about four times faster
#: than 999 Webb draws here); draws above 12 areas. The interval is inverted from the bootstrap (Kline &
#: Santos 2012), as cluster-robust intervals are too narrow with so few areas.
AREA_N_BOOT = 999
AREA_WEIGHTS = "rademacher"


def failed(design: str, outcome: Any, reason: str, *, primary: bool, label: str | None = None) -> OutcomeResult:
    name = getattr(outcome, "name", outcome)
    return OutcomeResult(design=design, design_label=DESIGN_LABELS[design], outcome=str(name),
                         label=label or getattr(outcome, "label", "") or str(name),
                         kind=getattr(outcome, "kind", design), primary=primary, reason=reason)


def lower_first(text: str) -> str:
    """'Proven reoffending' -> 'proven reoffending' for use mid-sentence; acronyms ('SDQ total') are kept."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def filled(value: _T | None, name: str) -> _T:
    """A protocol setting that validation fills from the VRU configuration when the YAML leaves it out.

    ``min_n_significance``, ``disclosure_threshold`` and ``age_bands`` are declared optional (the YAML may omit
    them) but are never None on a validated protocol; this says so to the type checker, and raises
    :class:`SpecError` for a protocol built without validation.
    """
    if value is None:
        raise SpecError(f"the protocol has no {name}. Fix: load it with evalkit.protocol.load_protocol, which "
                        "fills the VRU configuration's.")
    return value


def min_n(protocol: Protocol) -> int:
    """The protocol's minimum number of young people before anything is called significant."""
    return filled(protocol.min_n_significance, "min_n_significance")


def _reason(exc: Exception) -> str:
    """Why a design could not run, for the report: the error's message without row-level values it quotes."""
    return redact(str(exc)).strip().rstrip(".") or type(exc).__name__


# --------------------------------------------------------------------------- pre/post
def resolve_scale(instrument: str, scale: str) -> tuple[str, Any]:
    """The instrument's scale (``metric``/``total`` mean its primary scale) and its psychometrics."""
    info = instrument_info(instrument)
    name = scale if scale in info.scales else (info.primary_scale if scale in SCALE_ALIASES else None)
    if name is None:
        raise EvalkitError(f"instrument {instrument} has no scale '{scale}'. Fix: use one of "
                           f"{', '.join(info.scales)} in the protocol.")
    return name, info.scales[name]


def prepost_frame(protocol: Protocol, tables: dict, people: pd.DataFrame, outcome) -> tuple[pd.DataFrame, str, Any]:
    """One row per participant with ``pre``/``post`` scores of an instrument outcome."""
    meas = ad.table(tables, "measurements")
    meas = meas.loc[(meas["intervention_id"] == protocol.intervention_id)
                    & meas["person_id"].isin(set(people["person_id"]))]
    scale, info = resolve_scale(outcome.instrument, outcome.scale)
    scores = score_instrument(meas, outcome.instrument)
    wide = wide_prepost(scores, scale, pre=outcome.pre, post=outcome.post)
    return wide, scale, info


def run_prepost(protocol: Protocol, tables: dict, people: pd.DataFrame, design) -> list[OutcomeResult]:
    out = []
    primary_names = {o.name for o in protocol.primary_outcomes}
    for name in design.outcomes:
        o = protocol.outcome(name)
        is_primary = name in primary_names
        if o.kind == "status":
            try:
                out.append(status_prepost(protocol, tables, people, o, is_primary))
            except EvalkitError as exc:
                out.append(failed("prepost", o, _reason(exc), primary=is_primary))
            continue
        if o.kind != "instrument":
            out.append(failed("prepost", o, f"{o.kind} outcomes are not analysed before and after",
                              primary=is_primary))
            continue
        try:
            wide, scale, info = prepost_frame(protocol, tables, people, o)
            res = prepost_continuous(wide, pre="pre", post="post", alpha=protocol.alpha,
                                     higher_is_better=o.higher_is_better, reliability=info.reliability,
                                     sd_norm=info.norm_sd, clinical_cutoff=info.clinical_cutoff,
                                     norm_mean=info.norm_mean, outcome_name=o.label or name)
        except EvalkitError as exc:
            out.append(failed("prepost", o, _reason(exc), primary=is_primary))
            continue
        result = prepost_outcome(protocol, o, res, is_primary, info)
        bounds = attrition_bounds(wide)
        if bounds is not None:
            result = replace(result, details=replace(result.details, attrition_bounds=bounds))
        out.append(result)
    return out


#: Share of young people with a score at the start but none at the end above which bounds are reported.
ATTRITION_BOUNDS_FROM = 0.20


def attrition_bounds(wide: pd.DataFrame) -> AttritionBounds | None:
    """Worst- and best-case mean change when more than 20% of those with a start score have no end score.

    Horowitz–Manski bounds with the support taken as the range of the changes observed: each missing change
    is set to the smallest (then the largest) change seen. Also the mean with every missing change set to
    zero (no change; "baseline observation carried forward"). Aggregates only. None when 20% or fewer are
    missing or fewer than two changes were observed.
    """
    base = wide.loc[wide["pre"].notna()]
    d = (base["post"] - base["pre"]).dropna().to_numpy(dtype=float)
    n_lost = int(len(base) - len(d))
    if len(base) == 0 or n_lost / len(base) <= ATTRITION_BOUNDS_FROM or len(d) < 2:
        return None
    n = len(base)
    total = float(d.sum())
    return AttritionBounds(n_baseline=n, n_lost=n_lost, share_lost=n_lost / n,
                           low=(total + n_lost * float(d.min())) / n, high=(total + n_lost * float(d.max())) / n,
                           no_change=total / n, completers=float(d.mean()))


def rtm_expected(res, info) -> float | None:
    """Change expected from regression to the mean alone: (1 - reliability) x (population mean - baseline mean).

    Barnett, van der Pols & Dobson (2005), *Int J Epidemiol* 34:215-220, for a group whose baseline mean
    differs from the population's (test-retest correlation taken as the instrument's reliability). None
    when the instrument's reliability or population mean is not known.
    """
    if info.reliability is None or info.norm_mean is None or not math.isfinite(res.pre_mean):
        return None
    return (1 - info.reliability) * (info.norm_mean - res.pre_mean)


def rtm_regression(res, mu: float, mu_var: float = 0.0, alpha: float = 0.05) -> tuple[Estimate, float, float]:
    """Change beyond regression to the mean from the group's own before-after regression (Mee & Chua 1991).

    For a group admitted on its baseline score, regress the end score on the start score (ordinary least squares;
    selection on the start score does not bias this regression) and read it at the population mean ``mu``: with
    no effect and no change over time a person starting at the mean is expected to end there, so the effect is
    ``yhat(mu) - mu`` = mean change - (1 - b)(mu - baseline mean), with ``b`` the slope. This is Barnett et al.'s
    correction with the test-retest slope estimated from the data instead of the instrument's published
    reliability (an internal consistency, which overstates how well a score predicts the next one months later),
    and its standard error carries the slope's uncertainty (the prediction's SE at ``mu``) and, through
    ``mu_var``, the population mean's: se^2 = s^2 (1/n + (mu - xbar)^2 / Sxx) + (1 - b)^2 var(mu); t with n - 2
    df. Checked against statsmodels OLS ``get_prediction`` and by simulation.

    Mee RW, Chua TC (1991). Regression toward the mean and the paired sample t test. *Am Stat* 45:39-42.

    Returns
    -------
    (Estimate, expected, slope)
        The adjusted change (``scale`` and level as the raw change), the change expected from regression to the
        mean alone, (1 - b)(mu - baseline mean), and b.
    """
    raw = res.estimate("Mean change")
    n = int(res.n_pairs)
    sx, sy, r = float(res.pre_sd), float(res.post_sd), float(res.correlation)
    if n < 4 or not (sx > 0 and math.isfinite(r)):
        raise InsufficientDataError("the regression-to-the-mean correction needs at least 4 pairs with varying "
                                    "start scores")
    b = r * sy / sx
    expected = (1.0 - b) * (mu - res.pre_mean)
    est = raw.estimate - expected
    s2 = (1.0 - r * r) * sy * sy * (n - 1) / (n - 2)
    se = math.sqrt(s2 * (1.0 / n + (mu - res.pre_mean) ** 2 / ((n - 1) * sx * sx)) + (1.0 - b) ** 2 * mu_var)
    df = n - 2
    t = float(stats.t.ppf(1 - alpha / 2, df))
    p = float(2 * stats.t.sf(abs(est / se), df)) if se > 0 else math.nan
    out = Estimate("Mean change beyond regression to the mean", est, se, est - t * se, est + t * se, p, raw.scale,
                   f"{raw.method}; minus the change expected from regression to the mean ({expected:+.2f} points: "
                   f"(1 - b) x (population mean - baseline mean), b = {b:.2f} the before-after regression slope, "
                   "Mee & Chua 1991)", df, raw.level)
    return out, expected, b


def rtm_population_mean(o, info) -> tuple[float | None, float, str]:
    """(mean, its variance, where it came from): everyone screened when the protocol states it, else the norm.

    The norm's own sampling error is not known for the bundled instruments, so it adds nothing; the report says
    the correction assumes those screened resemble the norm population.
    """
    screened = getattr(o, "screened_mean", None)
    if screened is not None:
        n = getattr(o, "screened_n", None)
        sd = getattr(info, "norm_sd", None) if info is not None else None
        var = (sd * sd / n) if (n and sd) else 0.0
        return float(screened), var, "the mean of everyone screened (protocol)"
    if info is not None and getattr(info, "norm_mean", None) is not None:
        return float(info.norm_mean), 0.0, "the instrument's published population norm"
    return None, 0.0, ""


def rtm_adjusted(est: Estimate, expected: float, n: int) -> Estimate:
    """The mean change minus the change expected from regression to the mean (interval shifted alike)."""
    adj = est.estimate - expected
    df = n - 1
    p = float(2 * stats.t.sf(abs(adj / est.se), df)) if est.se > 0 else math.nan
    return Estimate("Mean change beyond regression to the mean", adj, est.se, est.ci_low - expected,
                    est.ci_high - expected, p, est.scale,
                    f"{est.method}; adjusted for the change expected from regression to the mean ({expected:+.2f} "
                    "points: (1 - reliability) x (population mean - baseline mean), Barnett et al. 2005)", df, est.level)


def prepost_outcome(protocol: Protocol, o, res, is_primary: bool, info: Any = None) -> OutcomeResult:
    """An OutcomeResult from a PrePostResult.

    The headline is the mean change beyond what regression to the mean alone would give (when the
    instrument's reliability and population mean are known): young people referred at a low point score
    nearer the average later whether or not they took part, so only the rest can be credited to anything.
    """
    raw = res.estimate("Mean change")
    # Only a group selected on this score regresses towards the mean by selection; correcting everyone else
    # would subtract a change that is not there.
    selected = getattr(o, "entry_threshold", None) is not None
    expected = slope = None
    est = raw
    mu, mu_var, mu_source = rtm_population_mean(o, info)
    if selected and mu is not None:
        try:
            est, expected, slope = rtm_regression(res, mu, mu_var, alpha=protocol.alpha)
        except InsufficientDataError:
            expected = None
    g = res.effect_size("Hedges' g_av")
    std = st.from_effect_size(g, higher_is_better=o.higher_is_better, p_value=est.p_value, level=raw.level)
    s_av = math.sqrt((res.pre_sd ** 2 + res.post_sd ** 2) / 2)
    if expected is not None and s_av > 0:
        sign = 1 if o.higher_is_better else -1
        j = hedges_factor_lakens(res.n_pairs) / s_av
        centre = std.estimate - sign * j * expected
        # The interval is the adjusted change's (which carries the slope's and the mean's uncertainty), rescaled.
        half = j * (est.ci_high - est.ci_low) / 2
        std = Estimate(std.name, centre, j * est.se, centre - half, centre + half, est.p_value, std.scale,
                       std.method + "; change expected from regression to the mean removed (interval of the "
                       "adjusted change, on the same scale)", level=std.level)
    needed = st.n_needed_paired(est.estimate, res.pre_sd, res.post_sd, res.correlation, alpha=protocol.alpha)
    label = o.label or o.name
    scale = ("mean change (beyond regression to the mean)" if expected is not None else "mean change")
    sentence = effect_sentence(outcome=lower_first(label), estimate=est.estimate, ci_low=est.ci_low,
                               ci_high=est.ci_high, scale=scale,
                               higher_is_better=o.higher_is_better, n=res.n_pairs,
                               min_n=min_n(protocol), unit=" points",
                               comparison="their scores at the start", n_needed=needed,
                               level=round(100 * (1 - protocol.alpha)))
    if expected is not None:
        sentence += (f" Scores moved by {raw.estimate:+.1f} points in all; about {expected:+.1f} of that is what "
                     "regression to the mean alone would give for a group starting where this one did, and has "
                     "been taken off.")
    sentence += (" With no comparison group, part or all of the change can still come from growing up or from "
                 "anything else that happened meanwhile.")
    return OutcomeResult(design="prepost", design_label=DESIGN_LABELS["prepost"], outcome=o.name,
                         label=label, kind="instrument", primary=is_primary, estimate=est,
                         higher_is_better=o.higher_is_better, n=res.n_pairs, sms=int(res.evidence.sms),
                         evidence=res.evidence.reason, sentence=sentence, standardised=std,
                         standardisation="Hedges' g_av: mean change beyond regression to the mean / average of the "
                                         "before and after SDs (small-sample corrected)",
                         n_needed_seen=needed, result=res, warnings=tuple(res.warnings),
                         details=OutcomeDetails(
                             minimum_worthwhile_n=st.n_needed_paired_standardised(
                                 res.pre_sd, res.post_sd, res.correlation, alpha=protocol.alpha),
                             raw_change=raw, rtm_expected=expected, rtm_slope=slope,
                             rtm_population_mean=mu if expected is not None else None,
                             rtm_population_source=mu_source if expected is not None else None))


#: Status measure per domain (from evalkit.measures.status_outcomes) and whether it is yes/no.
STATUS_MEASURES = {"ete": ("in_ete", "neet"), "substance_use": ("substance_use_level",),
                   "peer_relationships": ("peer_relationships",), "family_relationships": ("family_relationships",)}


def status_prepost(protocol: Protocol, tables: dict, people: pd.DataFrame, o, is_primary: bool) -> OutcomeResult:
    """A status outcome before and after: education/employment (yes/no, McNemar) or a rated level (paired t).

    ETE is analysed as "in education, training or employment" when higher is better, else as NEET.
    Substance use is the level (none .. daily, 0-4; lower is better); relationships the 1-5 rating.
    """
    st_all = ad.table(tables, "statuses")
    st_all = st_all.loc[(st_all["intervention_id"] == protocol.intervention_id)
                        & st_all["person_id"].isin(set(people["person_id"]))]
    if st_all.empty:
        raise EvalkitError(f"no '{o.domain}' statuses for these participants. Fix: supply the statuses table.")
    measures = STATUS_MEASURES[o.domain]
    measure = measures[0] if (o.higher_is_better or len(measures) == 1) else measures[1]
    wide = status_change(status_outcomes(st_all), measure, pre=o.pre, post=o.post)
    label = o.label or o.name
    level = round(100 * (1 - protocol.alpha))
    if o.domain == "ete":
        res = prepost_binary(wide[["pre", "post"]], pre="pre", post="post", alpha=protocol.alpha,
                             outcome_name=label)
        est = res.estimates[0]
        std = st.cohens_h(res.post_mean, est, higher_is_better=o.higher_is_better)
        sentence = effect_sentence(outcome=lower_first(label), estimate=100 * est.estimate,
                                   ci_low=100 * est.ci_low, ci_high=100 * est.ci_high,
                                   scale="change in the share", higher_is_better=o.higher_is_better,
                                   n=res.n_pairs, min_n=min_n(protocol), unit=" percentage points",
                                   comparison="their status at the start", level=level)
        return OutcomeResult(design="prepost", design_label=DESIGN_LABELS["prepost"], outcome=o.name, label=label,
                             kind="status", primary=is_primary, estimate=est, higher_is_better=o.higher_is_better,
                             n=res.n_pairs, sms=int(res.evidence.sms), evidence=res.evidence.reason,
                             sentence=sentence + " With no comparison group, the change cannot be attributed to "
                                                 "the intervention.", standardised=std,
                             standardisation="Cohen's h between the shares after and before", result=res,
                             warnings=tuple(res.warnings), details=OutcomeDetails(percent=True, binary=True))
    higher = o.higher_is_better if o.domain != "substance_use" else False
    res = prepost_continuous(wide[["pre", "post"]], pre="pre", post="post", alpha=protocol.alpha,
                             higher_is_better=higher, outcome_name=label)
    oo = o.model_copy(update={"higher_is_better": higher})
    return replace(prepost_outcome(protocol, oo, res, is_primary), kind="status")


# --------------------------------------------------------------------------- matched
@dataclass
class MatchedSample:
    """A matching kept for the DiD, subgroups and balance (row-level: never leaves the analysis)."""

    data: pd.DataFrame
    match: Any
    balance: Any
    design: Any
    n_pool: int
    n_incomplete_followup: int
    n_participants: int
    n_missing_covariates: int
    outcome_cols: dict = field(default_factory=dict)
    #: The placebo outcome on this matching (not yet judged against a finding), or why it could not run.
    placebo: Placebo | None = None
    placebo_reason: str | None = None


def offending_columns(o) -> tuple[str, str]:
    """(measure column, kind for estimate_att) for an offending outcome."""
    if o.kind == "time_to_reoffend":
        return ad.EVENT_COLUMNS[o.offences], "survival"
    return ad.OFFENCE_COLUMNS[(o.kind, o.offences)], ("binary" if o.kind == "reoffending" else "count")


def _offending(protocol: Protocol, tables: dict, index: pd.DataFrame, months: tuple[int, int]) -> pd.DataFrame:
    offences = ad.table(tables, "offences")
    data_end = protocol.population.data_end
    if data_end is None:  # the extract's end, from the whole table (as offending_outcomes would)
        data_end = pd.concat([pd.to_datetime(offences["offence_date"]), pd.to_datetime(offences["outcome_date"])]).max()
    # Only these people's offences matter; filtering first keeps each report fast.
    offences = offences.loc[offences["person_id"].isin(set(index["person_id"]))]
    out = offending_outcomes(ad.offending_index(index), offences, followup_months=months[0],
                             waiting_months=months[1], data_end=data_end)
    return out.set_index("person_id")


#: One entry: (key, the pool table, the offences table, the pool's outcomes). The tables themselves are held,
#: not only their id(): a freed table's id can be reused by the next data set loaded in the same process (a
#: warm kernel, a test worker), which then silently got the previous data's pool outcomes.
_POOL_CACHE: list[tuple[tuple, Any, Any, pd.DataFrame]] = []


def _pool_offending(protocol: Protocol, tables: dict, pool: pd.DataFrame, months: tuple[int, int]) -> pd.DataFrame:
    """Offending outcomes of pool rows, computed once per data and window for the whole pool.

    A warm kernel renders many reports on the same tables; the pool (thousands of people) is the same for
    each, so its outcomes are cached (keyed on the table objects, window and data end) and looked up.
    """
    full = ad.table(tables, "comparison_pool")
    offences = tables.get("offences")
    key = (months, protocol.population.data_end)
    hit = [e for e in _POOL_CACHE if e[0] == key and e[1] is full and e[2] is offences]
    if not hit:
        idx = full[["person_id", "index_date"]].drop_duplicates().assign(
            index_date=lambda d: pd.to_datetime(d["index_date"]))
        # The index date goes in the intervention_id key so a person listed twice stays two rows.
        idx = idx.assign(person_id=idx["person_id"].astype(str),
                         intervention_id=idx["index_date"].dt.strftime("%Y-%m-%d"))
        out = _offending(protocol, tables, idx, months).reset_index()
        _POOL_CACHE[:] = [(key, full, offences, out.set_index(["person_id", "intervention_id"]))]
        hit = _POOL_CACHE
    cached = hit[0][3]
    look = pd.MultiIndex.from_arrays([pool["person_id"].astype(str).to_numpy(),
                                      pd.to_datetime(pool["index_date"]).dt.strftime("%Y-%m-%d").to_numpy()])
    rows = cached.reindex(look)
    rows.index = pool["person_id"].astype(str).to_numpy()
    rows.index.name = "person_id"
    return rows


def matched_sample(protocol: Protocol, tables: dict, people: pd.DataFrame, design) -> MatchedSample:
    """Match the participants with complete follow-up to the pool (one matching for all outcomes)."""
    outcomes = [protocol.outcome(n) for n in design.outcomes]
    months = max(((o.followup_months, o.waiting_months) for o in outcomes if hasattr(o, "followup_months")),
                 key=sum, default=(12, 6))
    pool = ad.comparison_pool(protocol, tables, design.pool_source, exclude_ids=people["person_id"])
    off = pd.concat([_offending(protocol, tables, people, months), _pool_offending(protocol, tables, pool, months)])
    cols = ["followup_complete", "reoffended", "n_offences", "violent_reoffended", "n_violent", "serious_reoffended",
            "n_serious", "time_to_event", "event", "days_to_first", "days_to_first_violent", "days_to_first_serious"]
    mf = ad.matching_frame(people, pool, list(design.covariates), list(design.exact), outcomes=off[cols])
    data = mf.data
    incomplete = int(((data["treated"] == 1) & ~data["followup_complete"].astype(bool)).sum())
    data = data.loc[data["followup_complete"].astype(bool)].reset_index(drop=True)
    # Leaving out incomplete follow-up can empty a category on one side (one participant of an "other or not
    # known" sex who started too recently): the levels are made estimable again on the rows actually matched.
    data = ad.common_levels(data, [c for c in mf.covariates if data[c].dtype == object])
    m = match(data, treatment="treated", covariates=mf.covariates, id_col="person_id", distance=design.distance,
              link=design.link, caliper=design.caliper, std_caliper=design.std_caliper, ratio=design.ratio,
              replace=design.replace, exact=list(design.exact) or None, m_order=design.m_order,
              discard=design.discard, seed=protocol.seed)
    bal = balance_table(data, m)
    return MatchedSample(data=data, match=m, balance=bal, design=design, n_pool=int((data["treated"] == 0).sum()),
                         n_incomplete_followup=incomplete, n_participants=len(people),
                         n_missing_covariates=mf.n_participants_missing)


def run_matched(protocol: Protocol, tables: dict, people: pd.DataFrame, design) -> tuple[list[OutcomeResult],
                                                                                     MatchedSample | None]:
    primary_names = {o.name for o in protocol.primary_outcomes}
    try:
        sample = matched_sample(protocol, tables, people, design)
    except EvalkitError as exc:
        return [failed("matched", protocol.outcome(n), _reason(exc), primary=n in primary_names)
                for n in design.outcomes], None
    sample.placebo, sample.placebo_reason = placebo_outcome(protocol, tables, sample)
    out = []
    for name in design.outcomes:
        o = protocol.outcome(name)
        try:
            out.append(with_placebo(matched_outcome(protocol, sample, o, name in primary_names), sample, protocol))
        except EvalkitError as exc:
            out.append(failed("matched", o, _reason(exc), primary=name in primary_names))
    return out, sample


#: The measured covariate the hidden-bias checks are benchmarked against: prior offending, the strongest
#: predictor of reoffending that matching uses (any proven offence in the 24 months before the index date).
BENCHMARK_COVARIATE = "prior_offences"


def with_placebo(result: OutcomeResult, sample: MatchedSample, protocol: Protocol) -> OutcomeResult:
    """The result with the sample's placebo outcome judged against it (or the reason it could not run), and,
    for a matched result, the benchmark of prior offending (:func:`offending_benchmark`)."""
    if result.estimate is None:
        return result
    pl = placebo_for(sample.placebo, result.estimate, result.null, result.higher_is_better, protocol.alpha)
    bm = offending_benchmark(sample, protocol.outcome(result.outcome)) if result.design == "matched" else None
    return replace(result, details=replace(result.details, placebo=pl, placebo_reason=sample.placebo_reason,
                                           benchmark=bm))


def offending_benchmark(sample: MatchedSample, o) -> Any:
    """How strong prior offending is, before matching, on the Γ and E-value scales.

    :func:`evalkit.designs.matching.covariate_benchmark` on the participants and pool before matching, with prior
    offending as the group of its two counts (proven and violent offences in the 24 months before; a single one
    is weak once the other is adjusted for), against the outcome itself (any proven reoffence for a time to
    reoffending). None when it cannot be computed.
    """
    data = sample.data
    group = tuple(c for c in (BENCHMARK_COVARIATE, "prior_violent_offences") if c in data)
    if not group:
        return None
    col, kind = offending_columns(o)
    if kind == "survival":
        col, kind = "reoffended", "binary"
    if col not in data:
        return None
    try:
        return covariate_benchmark(data, treatment="treated", outcome=col,
                                   covariates=[c for c in sample.design.covariates if c in data],
                                   benchmark=group if len(group) > 1 else group[0],
                                   outcome_kind="binary" if kind == "binary" else "count", label="prior offending")
    except (EvalkitError, np.linalg.LinAlgError, ValueError):
        return None


def _adjust(sample: MatchedSample) -> list[str] | None:
    if not sample.design.regression_adjust:
        return None
    # Exact-matched columns are constant within matched sets; adjusting for them adds nothing.
    return [c for c in sample.design.covariates if c not in sample.design.exact]


def matched_outcome(protocol: Protocol, sample: MatchedSample, o, is_primary: bool,
                    match_result: Any = None, adjust: bool = True) -> OutcomeResult:
    """One offending outcome in the matched sample (``adjust=False``: no regression adjustment, for subgroups)."""
    m = match_result or sample.match
    col, kind = offending_columns(o)
    level = round(100 * (1 - protocol.alpha))
    label = o.label or o.name
    if kind == "survival":
        data = sample.data
        if o.offences == "any":
            dur, ev = "time_to_event", "event"
        else:
            first = ad.FIRST_DAY_COLUMNS[o.offences]
            days = o.followup_months * 30.4375
            data = data.assign(_dur=data[first].fillna(days).clip(lower=0.5), _ev=data[col].astype(float))
            dur, ev = "_dur", "_ev"
        data = data.assign(**{dur: data[dur].clip(lower=0.5)})
        # Monthly grid: the curves are kept only at these times (aggregates), fine enough to draw.
        grid = [round(30.4375 * k, 4) for k in range(1, o.followup_months + 1)]
        res = survival_att(data, m, duration=dur, event=ev, balance=sample.balance, times=grid,
                           alpha=protocol.alpha)
        hr = res.hazard_ratio
        j = judge(hr.estimate, hr.ci_low, hr.ci_high, null=1.0, higher_is_better=False, n=res.n_treated,
                  min_n=min_n(protocol))
        sentence = effect_sentence(outcome=lower_first(label), estimate=hr.estimate, ci_low=hr.ci_low,
                                   ci_high=hr.ci_high,
                                   scale="hazard ratio (below 1 means a slower return to offending)",
                                   higher_is_better=False, n=res.n_treated, min_n=min_n(protocol),
                                   null=1.0, comparison="the matched comparison group", level=level, digits=2)
        return OutcomeResult(design="matched", design_label=DESIGN_LABELS["matched"], outcome=o.name, label=label,
                             kind=o.kind, primary=is_primary, estimate=hr, higher_is_better=False, null=1.0,
                             n=res.n_treated, n_comparison=res.n_control, sms=int(res.evidence.sms),
                             evidence=res.evidence.reason, sentence=sentence, result=res,
                             warnings=tuple(res.warnings), details=OutcomeDetails(verdict=j.verdict))
    fallback: tuple[str, ...] = ()
    try:
        eff = estimate_att(sample.data, m, outcome=col, kind=kind,
                           covariates_adjust=_adjust(sample) if adjust else None, balance=sample.balance,
                           alpha=protocol.alpha)
    except np.linalg.LinAlgError:
        # A covariate can separate a rare outcome in the matched sample (the log-link model's information matrix
        # is then singular); the matched comparison itself still stands, so report it unadjusted and say so.
        eff = estimate_att(sample.data, m, outcome=col, kind=kind, covariates_adjust=None, balance=sample.balance,
                           alpha=protocol.alpha)
        fallback = ("The covariate-adjusted model could not be fitted in the matched sample (a covariate "
                    "separates the outcome), so the matched estimate is shown without regression adjustment.",)
    evalue: EValueResult | None = None
    skipped: list[str] = []  # sensitivity checks that could not run: each becomes a warning
    if kind == "binary":
        rd = eff.estimate("risk difference")
        p1 = eff.mean_treated
        p0 = p1 - rd.estimate
        needed = st.n_needed_rates(p0, p1, alpha=protocol.alpha)
        std = st.cohens_h(p1, rd, higher_is_better=o.higher_is_better)
        pct = Estimate(rd.name, rd.estimate, rd.se, rd.ci_low, rd.ci_high, rd.p_value, rd.scale, rd.method, rd.df,
                       rd.level)
        sentence = effect_sentence(outcome=lower_first(label), estimate=100 * rd.estimate, ci_low=100 * rd.ci_low,
                                   ci_high=100 * rd.ci_high, scale="difference in the rate",
                                   higher_is_better=o.higher_is_better, n=eff.n_treated,
                                   min_n=min_n(protocol), unit=" percentage points",
                                   comparison="the matched comparison group", n_needed=needed, level=level)
        what = {"any": "proven reoffence", "violent": "proven violent reoffence",
                "serious_violence": "proven serious violent reoffence"}[o.offences]
        per100 = per_100_sentence(treated_rate=p1, counterfactual_rate=min(max(p0, 0.0), 1.0),
                                  event=f"had a {what} within {o.followup_months} months")
        rr = eff.estimate("risk ratio")
        rb: RosenbaumResult | None = None
        try:
            evalue = e_value(rr.estimate, rr.ci_low, rr.ci_high, scale="rr")
        except EvalkitError as exc:
            skipped.append(f"The E-value could not be computed: {_reason(exc)}.")
        if not m.settings["replace"]:
            try:
                # Test in the direction of the estimate: how much hidden bias would explain away a benefit,
                # or a harm.
                benefit = (rd.estimate > 0) == o.higher_is_better
                rb = rosenbaum_bounds(
                    sample.data, m, outcome=col, kind="binary", alpha=protocol.alpha,
                    higher_is_better=o.higher_is_better if benefit else not o.higher_is_better)
            except EvalkitError as exc:
                skipped.append(f"The Rosenbaum bounds (sensitivity to hidden bias) could not be computed: "
                               f"{_reason(exc)}.")
        return OutcomeResult(design="matched", design_label=DESIGN_LABELS["matched"], outcome=o.name, label=label,
                             kind=o.kind, primary=is_primary, estimate=pct, higher_is_better=o.higher_is_better,
                             n=eff.n_treated, n_comparison=eff.n_control, sms=int(eff.evidence.sms),
                             evidence=eff.evidence.reason, sentence=sentence, per_100=per100, standardised=std,
                             standardisation="Cohen's h between the participants' rate and their estimated rate "
                                             "had they not taken part", n_needed_seen=needed, result=eff,
                             details=OutcomeDetails(
                                 rates=Rates(participants=p1, counterfactual=p0),
                                 minimum_worthwhile_n=st.n_needed_binary(min(max(p0, 1e-6), 1 - 1e-6),
                                                                         alpha=protocol.alpha),
                                 e_value=evalue, rosenbaum=rb),
                             warnings=(*eff.warnings, *skipped, *fallback))
    ratio = eff.estimate("rate ratio")
    diff = eff.estimate("difference in mean count")
    sentence = effect_sentence(outcome=lower_first(label), estimate=diff.estimate, ci_low=diff.ci_low,
                               ci_high=diff.ci_high,
                               scale="difference in proven reoffences per person", higher_is_better=o.higher_is_better,
                               n=eff.n_treated, min_n=min_n(protocol), unit="",
                               comparison="the matched comparison group", level=level, digits=2)
    sentence += (f" As a ratio, participants had {ratio.estimate:.2f} times the comparison group's rate "
                 f"({level}% confidence interval {ratio.ci_low:.2f} to {ratio.ci_high:.2f}).")
    try:
        evalue = e_value(ratio.estimate, ratio.ci_low, ratio.ci_high, scale="rr")
    except EvalkitError as exc:
        skipped.append(f"The E-value could not be computed: {_reason(exc)}.")
    return OutcomeResult(design="matched", design_label=DESIGN_LABELS["matched"], outcome=o.name, label=label,
                         kind=o.kind, primary=is_primary, estimate=diff, higher_is_better=o.higher_is_better,
                         n=eff.n_treated, n_comparison=eff.n_control, sms=int(eff.evidence.sms),
                         evidence=eff.evidence.reason, sentence=sentence, result=eff,
                         details=OutcomeDetails(e_value=evalue),
                         warnings=(*eff.warnings, *skipped, *fallback))


#: The placebo window, in months before the index date: older than the 24 months of ``prior_offences`` that
#: matching balances, so a difference there is selection the matching left, not the programme.
PLACEBO_MONTHS = (48, 24)


def placebo_outcome(protocol: Protocol, tables: dict, sample: MatchedSample) -> tuple[Placebo | None, str | None]:
    """The matched comparison repeated on offending the programme cannot have changed (a negative control).

    Outcome: a proven offence committed 48 to 24 months before the index date and proven by it. Same matched
    sets and weights, same regression adjustment as the headline (unadjusted if that model cannot be
    fitted). ``failed`` is set later, against the finding it guards (:func:`placebo_for`). Returns (None,
    reason) when the offences table does not reach back to the window's start for everyone matched, or the
    comparison cannot be estimated.
    """
    months_from, months_to = PLACEBO_MONTHS
    data = sample.data
    offences = ad.table(tables, "offences")
    index = pd.to_datetime(data["index_date"])
    start = index - pd.DateOffset(months=months_from)
    first = pd.to_datetime(offences["offence_date"], errors="coerce").min()
    # The extract must reach back to the window's start; its earliest offence is the only sign of where it
    # starts (an extract from later would leave the window part empty for the earliest index dates).
    if pd.isna(first) or first > start.min() + pd.DateOffset(months=6):
        return None, (f"the offence records do not reach back {months_from} months before every index date, so "
                      "offending before the programme cannot be compared")
    proven = set(load_config().proven_outcomes)
    off = offences.loc[offences["outcome"].isin(proven) & offences["person_id"].astype(str).isin(
        set(data["person_id"].astype(str))), ["person_id", "offence_date", "outcome_date"]]
    off = off.assign(person_id=off["person_id"].astype(str), offence_date=pd.to_datetime(off["offence_date"]),
                     outcome_date=pd.to_datetime(off["outcome_date"]))
    idx = pd.DataFrame({"person_id": data["person_id"].astype(str), "index_date": index, "_start": start,
                        "_end": index - pd.DateOffset(months=months_to), "_row": np.arange(len(data))})
    j = idx.merge(off, on="person_id", how="inner")
    hit = j.loc[(j["offence_date"] >= j["_start"]) & (j["offence_date"] < j["_end"])
                & (j["outcome_date"] <= j["index_date"]), "_row"].unique()
    y = np.zeros(len(data))
    y[hit] = 1.0
    frame = data.assign(_placebo=y)
    try:
        try:
            eff = estimate_att(frame, sample.match, outcome="_placebo", kind="binary",
                               covariates_adjust=_adjust(sample), balance=sample.balance, alpha=protocol.alpha)
        except (np.linalg.LinAlgError, EvalkitError):
            eff = estimate_att(frame, sample.match, outcome="_placebo", kind="binary", covariates_adjust=None,
                               balance=sample.balance, alpha=protocol.alpha)
    except (np.linalg.LinAlgError, EvalkitError) as exc:
        return None, f"the comparison of offending before the programme could not be estimated: {_reason(exc)}"
    rd = eff.estimate("risk difference")
    return Placebo(estimate=rd, n=int(eff.n_treated), n_comparison=int(eff.n_control), months_from=months_from,
                   months_to=months_to, share_participants=float(eff.mean_treated), failed=False), None


def placebo_for(placebo: Placebo | None, estimate: Estimate, null: float, higher_is_better: bool,
                alpha: float) -> Placebo | None:
    """The placebo judged against one finding: failed when it could explain it (see :class:`Placebo`).

    A finding in the beneficial direction is explained by participants who offended *less* before (a lower
    placebo share, on offending where lower is better); a harmful one by participants who offended more.
    """
    if placebo is None:
        return None
    if estimate.estimate == null:
        return replace(placebo, failed=False, direction="none")
    beneficial = (estimate.estimate > null) == higher_is_better
    e = placebo.estimate
    excludes = e.p_value < alpha and not (min(e.ci_low, e.ci_high) <= 0.0 <= max(e.ci_low, e.ci_high))
    same_side = (e.estimate < 0) if beneficial else (e.estimate > 0)
    return replace(placebo, failed=bool(excludes and same_side), direction="beneficial" if beneficial else "harmful")


def subset_match(m: Any, treated_ids: set) -> Any:
    """The matching restricted to the matched sets of some participants (for subgroups)."""
    units = m.units
    id_col = m.id_col
    sets = set(units.loc[units[id_col].isin(treated_ids) & (units["treated"] == 1), "subclass"].dropna())
    keep = units["subclass"].isin(sets)
    sub_units = units.assign(weight=units["weight"].where(keep, 0.0))
    return replace(m, units=sub_units, pairs=m.pairs[m.pairs["treated_id"].isin(treated_ids)],
                   n_treated_matched=int(((sub_units["weight"] > 0) & (sub_units["treated"] == 1)).sum()),
                   n_control_matched=int(((sub_units["weight"] > 0) & (sub_units["treated"] == 0)).sum()))


# --------------------------------------------------------------------------- did
def run_did(protocol: Protocol, tables: dict, design, sample: MatchedSample | None) -> list[OutcomeResult]:
    primary_names = {o.name for o in protocol.primary_outcomes}
    out = []
    for name in design.outcomes:
        o = protocol.outcome(name)
        if sample is None:
            out.append(failed("did", o, "the matched comparison it builds on could not be made",
                              primary=name in primary_names))
            continue
        try:
            groups = None
            if getattr(o, "offences", "any") != "any":
                from evalkit.measures._common import get_config

                cfg = get_config(None)
                groups = list(cfg.violent_offence_groups if o.offences == "violent" else cfg.serious_violence_groups)
            matched = sample.match.units.loc[sample.match.units["weight"] > 0, "person_id"]
            index = sample.data.loc[sample.data["person_id"].isin(set(matched)), ["person_id", "index_date", "treated"]]
            panel = offending_panel(index, ad.table(tables, "offences"), windows_before=design.pre_periods,
                                    windows_after=design.post_periods, window_months=design.period_months,
                                    data_end=protocol.population.data_end, groups=groups, keep_columns=("treated",))
            outcome_col = "any_offence" if o.kind in ("reoffending", "time_to_reoffend") else "offences"
            try:
                skipped: tuple[str, ...] = ()
                pre = pretrend_test(panel, outcome_col, design.pre_periods, protocol.alpha)
            except EvalkitError as exc:
                pre, skipped = None, (f"The test of parallel trends before the start could not be run: "
                                      f"{_reason(exc)}.",)
            res = matched_did(panel, sample.match, outcome=outcome_col, unit="person_id", post="post",
                              alpha=protocol.alpha, pretrend=pre)
        except EvalkitError as exc:
            out.append(failed("did", o, _reason(exc), primary=name in primary_names))
            continue
        est = res.estimate
        scale_words = ("difference in differences in the share with a proven offence per "
                       f"{design.period_months}-month period")
        n_treated = int(sample.match.n_treated_matched)
        sentence = effect_sentence(outcome=lower_first(o.label or o.name), estimate=100 * est.estimate,
                                   ci_low=100 * est.ci_low,
                                   ci_high=100 * est.ci_high, scale=scale_words, higher_is_better=False,
                                   n=n_treated, min_n=min_n(protocol), unit=" percentage points",
                                   comparison="the matched comparison group's change",
                                   level=round(100 * (1 - protocol.alpha))) \
            if outcome_col == "any_offence" else effect_sentence(
                outcome=lower_first(o.label or o.name), estimate=est.estimate, ci_low=est.ci_low, ci_high=est.ci_high,
                scale="difference in differences in proven offences per period", higher_is_better=False,
                n=n_treated, min_n=min_n(protocol), comparison="the matched comparison group's change",
                level=round(100 * (1 - protocol.alpha)), digits=2)
        out.append(with_placebo(OutcomeResult(
            design="did", design_label=DESIGN_LABELS["did"], outcome=o.name, label=o.label or o.name, kind=o.kind,
            primary=name in primary_names, estimate=est, higher_is_better=False, n=n_treated,
            n_comparison=int(sample.match.n_control_matched), sms=int(res.evidence.sms),
            evidence=res.evidence.reason, sentence=sentence, result=res, warnings=(*res.warnings, *skipped),
            details=OutcomeDetails(percent=outcome_col == "any_offence")), sample, protocol))
    return out


def pretrend_test(panel: pd.DataFrame, outcome: str, pre_periods: int, alpha: float) -> Any:
    """Joint test of the pre-period event-study coefficients; None with fewer than two pre-periods.

    Raises the :class:`EvalkitError` of the event study when it cannot be fitted (the caller turns it into a
    warning on the result).

    Time is the window relative to each person's own index date, shifted to start at 1, so every participant
    is "treated" from the same relative period and the comparison group is never treated.
    """
    if pre_periods < 2:
        return None
    shift = pre_periods + 1
    frame = panel.assign(_time=panel["window"] + shift, _cohort=panel["treated"] * shift)
    return event_study(frame, outcome=outcome, unit="person_id", time="_time", cohort="_cohort", reference=-1,
                       alpha=alpha).pretrend


# --------------------------------------------------------------------------- area
def _months(pair: tuple[str, str]) -> tuple[str, str]:
    return pair[0], pair[1]


def run_area_trend(protocol: Protocol, tables: dict, design) -> list[OutcomeResult]:
    cfg = load_config()
    out = []
    first = True
    for indicator in design.indicators:
        better_up = bool(getattr(cfg.area_indicators.get(indicator), "higher_is_better", False))
        for area in design.areas:
            label = f"{cfg.indicator_label(indicator)} in {area}"
            name = f"{indicator}:{area}"
            try:
                counts = ad.table(tables, "area_counts")
                res = period_vs_baseline(counts, indicator=indicator, area=area, period=_months(design.period),
                                         baseline=_months(design.baseline), alpha=protocol.alpha)
                its: ITSResult | None = None
                skipped: tuple[str, ...] = ()
                if design.interruption:
                    try:
                        its = interrupted_time_series(counts, indicator=indicator, area=area,
                                                      interruption=design.interruption, alpha=protocol.alpha)
                    except EvalkitError as exc:
                        skipped = (f"The interrupted time series could not be fitted: {_reason(exc)}.",)
            except EvalkitError as exc:
                out.append(failed("area_trend", name, _reason(exc), primary=first, label=label))
                first = False
                continue
            rr = res.rate_ratio
            n = int(res.period_count)
            sentence = effect_sentence(outcome=lower_first(label), estimate=res.pct_change, ci_low=res.pct_ci_low,
                                       ci_high=res.pct_ci_high, scale="change in the rate",
                                       higher_is_better=better_up,
                                       n=max(n, min_n(protocol)), unit="%",
                                       comparison=f"the baseline {design.baseline[0]} to {design.baseline[1]}",
                                       level=round(100 * (1 - protocol.alpha)))
            out.append(OutcomeResult(design="area_trend", design_label=DESIGN_LABELS["area_trend"], outcome=name,
                                     label=label, kind="area", primary=first, estimate=rr,
                                     higher_is_better=better_up, null=1.0, n=n, sms=int(res.evidence.sms),
                                     evidence=res.evidence.reason, sentence=sentence,
                                     standardised=st.from_rate_ratio(rr, lower_is_better=not better_up),
                                     standardisation="ln(rate ratio)·√3/π (Chinn 2000; approximate)", result=res,
                                     warnings=(*res.warnings, *skipped), details=OutcomeDetails(its=its)))
            first = False
    return out


def run_area_did(protocol: Protocol, tables: dict, design) -> list[OutcomeResult]:
    cfg = load_config()
    places = cfg.area_words.localities
    out = []
    for k, indicator in enumerate(design.indicators):
        better_up = bool(getattr(cfg.area_indicators.get(indicator), "higher_is_better", False))
        label = f"{cfg.indicator_label(indicator)} (programme {places} against comparison {places})"
        try:
            res = area_did(ad.table(tables, "area_counts"), ad.table(tables, "area_rollout"), indicator=indicator,
                           intervention_id=protocol.intervention_id,
                           comparison_areas=list(design.comparison_areas) or None, start=design.baseline[0],
                           end=design.period[1], n_boot=AREA_N_BOOT, seed=protocol.seed, alpha=protocol.alpha,
                           bootstrap_ci=True, weights=AREA_WEIGHTS)
        except EvalkitError as exc:
            out.append(failed("area_did", indicator, _reason(exc), primary=k == 0, label=label))
            continue
        rr = res.rate_ratio
        if res.bootstrap_ci and all(math.isfinite(v) for v in res.bootstrap_ci):
            # Few clusters: the wild score bootstrap interval is the one to trust (Kline & Santos 2012).
            rr = Estimate(rr.name, rr.estimate, rr.se, res.bootstrap_ci[0], res.bootstrap_ci[1], res.bootstrap_p,
                          rr.scale, rr.method + "; wild score bootstrap interval and p-value", rr.df, rr.level)
        n = int(sum(g.get("count", 0) for g in res.group_rates if g.get("group", "").startswith("treated")))
        sentence = effect_sentence(outcome=lower_first(label), estimate=rr.estimate, ci_low=rr.ci_low, ci_high=rr.ci_high,
                                   scale="rate ratio (below 1 means the rate fell more where the programme ran)",
                                   higher_is_better=better_up, n=max(n, min_n(protocol)), null=1.0,
                                   comparison=f"the comparison {places}", level=round(100 * (1 - protocol.alpha)),
                                   digits=2)
        out.append(OutcomeResult(design="area_did", design_label=DESIGN_LABELS["area_did"], outcome=indicator,
                                 label=label, kind="area", primary=k == 0, estimate=rr, higher_is_better=better_up,
                                 null=1.0, n=max(n, 0), sms=int(res.evidence.sms), evidence=res.evidence.reason,
                                 sentence=sentence, standardised=st.from_rate_ratio(rr, lower_is_better=not better_up),
                                 standardisation="ln(rate ratio)·√3/π (Chinn 2000; approximate)", result=res,
                                 warnings=tuple(res.warnings)))
    return out


__all__ = ["DESIGN_LABELS", "MatchedSample", "failed", "resolve_scale", "prepost_frame", "run_prepost",
           "prepost_outcome", "matched_sample", "run_matched", "matched_outcome", "subset_match", "run_did",
           "run_area_trend", "run_area_did", "offending_columns"]
