"""Per-intervention analysis: run a protocol's designs and gather what its report shows.

:func:`analyse_intervention` applies the protocol's population filter, builds
each outcome from :mod:`evalkit.measures`, runs each design
(:mod:`evalkit.analysis.designs`), and returns an
:class:`~evalkit.analysis.results.InterventionAnalysis`: per-outcome
results, the attrition flow, the profile of participants against the matched
comparison group, balance, subgroups, sensitivity, limitations written from the
diagnostics, and the **primary finding** with its commissioning category.
Everything it returns is aggregate; counts are disclosure-controlled where they
are shown (:mod:`evalkit.report.render`).

Primary finding (the one number per intervention the portfolio compares):
the protocol's first primary outcome (for area programmes, the first indicator),
taken from the strongest design that estimated it (highest Maryland SMS level;
ties: the protocol's order). It is put on a standardised scale (positive =
better for young people; :mod:`evalkit.analysis.standardise`), judged with
:func:`evalkit.analysis.narrative.judge` (significant only if the interval
excludes no effect *and* at least ``min_n_significance`` participants
contributed), and given a commissioning category by
:mod:`evalkit.analysis.commissioning` with ``n_needed`` = participants needed to
detect the minimum worthwhile effect (standardised 0.2) with 80% power.

A design that cannot run is reported as "could not be estimated: <reason>";
it never stops the report.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from evalkit.analysis import data as ad
from evalkit.analysis import designs
from evalkit.analysis.commissioning import PrimaryFinding, classify, finding_json, hidden_bias
from evalkit.analysis.narrative import judge
from evalkit.analysis.results import (CohortResult, InterventionAnalysis, OutcomeResult, PrimaryResult,
                                     SubgroupResult)
from evalkit.analysis.designs import ATTRITION_BOUNDS_FROM
from evalkit.analysis.itt import with_intention_to_treat
from evalkit.analysis.standardise import MINIMUM_WORTHWHILE
from evalkit.designs.prepost import prepost_continuous
from evalkit.errors import EvalkitError, MissingDataError
from evalkit.labels import AREA_DESIGNS, age_band, effect_unit, worded
from evalkit.protocol import Protocol

#: Share lost between baseline and follow-up above which attrition is called high.
HIGH_ATTRITION = 0.3
#: |standardised difference| after matching above which balance is called poor (WWC).
POOR_BALANCE = 0.25
AREA_TYPES = AREA_DESIGNS


def analyse_intervention(protocol: Protocol, tables: dict[str, pd.DataFrame], *, cfg: Any = None
                         ) -> InterventionAnalysis:
    """Run every design of ``protocol`` on ``tables`` (data-contract tables) and gather the findings.

    Parameters
    ----------
    protocol
        The evaluation protocol (:class:`evalkit.protocol.Protocol`).
    tables
        Data-contract tables by name, as :func:`evalkit.data.load.load_tables` returns them.
    cfg
        VRU configuration (default: loaded by the measures when needed).

    Returns
    -------
    InterventionAnalysis
        Aggregates only; see the module docstring.
    """
    people = ad.population(protocol, tables)
    outcomes: list[OutcomeResult] = []
    samples: dict[int, designs.MatchedSample] = {}
    first_sample = None
    for k, d in enumerate(protocol.designs):
        if d.type == "prepost":
            outcomes += designs.run_prepost(protocol, tables, people, d)
        elif d.type == "matched":
            res, sample = designs.run_matched(protocol, tables, people, d)
            # intention to treat from referral beside each result, when the data hold referrals that never started
            outcomes += with_intention_to_treat(protocol, tables, people, d, res)
            if sample is not None:
                samples[k] = sample
                first_sample = first_sample or sample
        elif d.type == "did":
            outcomes += designs.run_did(protocol, tables, d, first_sample)
        elif d.type == "area_trend":
            outcomes += designs.run_area_trend(protocol, tables, d)
        elif d.type == "area_did":
            outcomes += designs.run_area_did(protocol, tables, d)
        elif d.type == "engagement":
            from evalkit.analysis.engagement import run_engagement

            outcomes += run_engagement(protocol, tables, people, d)
    primary_result = choose_primary(protocol, outcomes)
    from evalkit.value.intervention import intervention_value

    value = intervention_value(protocol, tables, people, outcomes, samples, cfg, primary=primary_result)
    cohorts = cohort_results(protocol, tables, primary_result)
    primary = primary_finding(protocol, primary_result, value=value, cohorts=cohorts)
    return InterventionAnalysis(
        intervention_id=protocol.intervention_id, intervention_title=protocol.title, outcomes=tuple(outcomes),
        attrition=tuple(attrition_flow(protocol, tables, people, outcomes, first_sample)),
        profile=profile_table(first_sample) if first_sample is not None else None,
        balance=tuple((protocol.designs[k].type, s.balance) for k, s in samples.items()),
        subgroups=tuple(subgroup_results(protocol, tables, people, primary_result, first_sample)),
        sensitivity=tuple(sensitivity_notes(outcomes, designs.min_n(protocol))),
        limitations=tuple(limitations(protocol, people, outcomes, first_sample, cfg)),
        primary=primary, value=value)


# --------------------------------------------------------------------------- primary
def choose_primary(protocol: Protocol, outcomes: list[OutcomeResult]) -> OutcomeResult | None:
    """The primary outcome's result from the strongest design that estimated it (see module docstring)."""
    if protocol.primary_outcomes:
        name = protocol.primary_outcomes[0].name
        cands = [o for o in outcomes if o.outcome == name]
    else:
        area = [o for o in outcomes if o.design in AREA_TYPES]
        first = next((o.outcome.split(":")[0] for o in area if o.primary), None)
        cands = [o for o in area if o.outcome.split(":")[0] == first and o.primary] or area
    ok = [o for o in cands if o.ok]
    if ok:
        # The standardised effect is what the portfolio compares: prefer results that have one.
        return max(ok, key=lambda o: (o.sms, o.standardised is not None, -cands.index(o)))
    return cands[0] if cands else None


def _effect_size_words(value: float, scale: str, label: str) -> str:
    """A size of effect (positive = better) in the outcome's units: '10 percentage points', 'a 15% fall',
    '3 points', '0.2 per young person' (the protocol's minimum worthwhile effect, or the break-even effect)."""
    if scale == "risk difference":
        return f"{100 * value:.3g} percentage points"
    if "ratio" in scale:
        return f"a {100 * value:.3g}% fall"
    if scale.startswith("standardised"):
        return f"a standardised effect of {value:.3g}"
    unit = effect_unit(label)
    return f"{value:.3g} {'points' if unit == 'points' else 'per young person'}"


def is_area_wide(protocol: Protocol) -> bool:
    """The VRU-wide report: area trends only, no participants and no programme districts (context, no decision)."""
    return not protocol.primary_outcomes and all(d.type == "area_trend" for d in protocol.designs)


def _thresholds(protocol: Protocol, o: OutcomeResult) -> tuple[float | None, float | None]:
    """The protocol's minimum worthwhile and detectable effects for this primary result (natural units)."""
    if o.design in AREA_TYPES:
        d = next((d for d in protocol.designs if d.type == o.design), None)
    else:
        try:
            d = protocol.outcome(o.outcome)
        except EvalkitError:
            d = None
    if d is None:
        return None, None
    return getattr(d, "minimum_worthwhile_effect", None), getattr(d, "minimum_detectable_effect", None)


def _benefit(o: OutcomeResult) -> tuple[float, float, float, float, bool]:
    """(benefit, low, high, se, ratio): the estimate turned so that positive = better, natural units.

    Ratio scales give the proportional fall (1 - ratio) when lower is better; ``se`` is then the log-scale SE.
    """
    e = o.estimate
    if e is None:
        raise ValueError(f"{o.title} could not be estimated: it has no benefit")
    ratio = "ratio" in e.scale
    if ratio:
        sign = 1.0 if not o.higher_is_better else -1.0
        vals = [1 - v if sign > 0 else v - 1 for v in (e.estimate, e.ci_low, e.ci_high)]
        se = e.se if math.isfinite(e.se) else math.nan
    else:
        sign = 1.0 if o.higher_is_better else -1.0
        vals = [sign * v for v in (e.estimate, e.ci_low, e.ci_high)]
        se = e.se
    lo, hi = sorted(vals[1:])
    return vals[0], lo, hi, se, ratio


def sensitivity_passed(protocol: Protocol, o: OutcomeResult, rules=None) -> bool | None:
    """Whether every hidden-bias or design check that applies to the primary result passed (None: none applies).

    Matched: the E-value for the interval and the Γ at which the Rosenbaum bound stops being significant at
    least what a hidden factor as strong as prior offending would need (:func:`hidden_bias`; the rules'
    constants when no benchmark could be computed); Γ only counts when the matched-pair test is significant at
    Γ = 1 (else it cannot measure hidden bias); the placebo is judged separately (the finding's
    ``placebo_failed``). DiD: the pre-trend test not rejected (SMS 3). Area DiD: pre-trends, the placebo-area
    p-value below alpha, and enough districts for the wild bootstrap to reach alpha.
    """
    from evalkit.analysis.commissioning import load_rules

    rules = rules or load_rules()
    checks: list[bool] = []
    if o.design == "matched":
        hb = hidden_bias(o, rules)
        e_ci, e_need, g, g_need = hb["e_value_ci"], hb["e_value_needed"], hb["gamma_critical"], hb["gamma_needed"]
        if e_ci is not None and e_need is not None:
            checks.append(bool(e_ci >= e_need))
        # The Rosenbaum bound tests the first matched pairs alone (McNemar), far less powerful than the headline's
        # estimate: when that test is not significant even with no hidden bias (Γ = 1) it cannot say how much
        # hidden bias the finding withstands, so it is not counted (the E-value on the headline's interval still is).
        if g is not None and g > 1.0 and g_need is not None:
            checks.append(bool(g >= g_need))
    elif o.design == "did":
        checks.append(o.sms >= 3)
    elif o.design == "area_did":
        checks.append(o.sms >= 3)
        placebo = getattr(o.result, "placebo", None)
        if placebo is not None:
            checks.append(bool(placebo.p_value < protocol.alpha))
        g = int(getattr(o.result, "n_clusters", 0) or 0)
        checks.append(bool(g and 2 / 2 ** g < protocol.alpha))
    return all(checks) if checks else None


def value_below_break_even(value: Any, o: OutcomeResult) -> bool | None:
    """Whether the value for money is clearly below break-even: the benefit-cost ratio's interval wholly below 1.

    Only when the value line costed an estimate from the same design as the primary result (a matched
    offending outcome); None otherwise (not costed, or no interval).
    """
    bcr = getattr(value, "bcr", None)
    if bcr is None or o.design != "matched":
        return None
    high = getattr(bcr, "high", math.nan)
    if high is None or not math.isfinite(float(high)):
        return None
    return bool(float(high) < 1.0)


def _checks(protocol: Protocol, o: OutcomeResult) -> tuple:
    """The checks behind :func:`sensitivity_passed` with their numbers, for the portfolio's reason per row."""
    from evalkit.analysis.commissioning import load_rules
    from evalkit.analysis.reasons import sensitivity_checks

    return sensitivity_checks(protocol, o, load_rules())


def break_even_mwe(o: OutcomeResult, value: Any, protocol: Protocol | None = None) -> float | None:
    """The break-even effect as a minimum worthwhile effect for the primary result (positive; natural units).

    Only for a matched reoffending result that the value-for-money line (:mod:`evalkit.value`) costed: the
    smallest fall whose avoided crime costs repay the service's cost per young person (``value.break_even``).
    When the line costed the other reoffending measure of the same offences (frequency for a rate primary, or
    the reverse), it is converted with the comparison group's proven offences per person who reoffended, as the
    value line itself converts. None otherwise (no money value for the outcome, or no costs).
    """
    be = getattr(value, "break_even", None)
    if be is None or o.design != "matched" or not math.isfinite(float(be)) or float(be) == 0:
        return None
    be = abs(float(be))
    if getattr(value, "outcome", None) == o.outcome:
        return be
    opr = getattr(value, "offences_per_reoffender", None)
    if not opr or protocol is None:
        return None
    try:
        same = protocol.outcome(value.outcome).offences == protocol.outcome(o.outcome).offences
    except (EvalkitError, AttributeError):
        return None
    if not same:
        return None
    if o.kind == "reoffending" and value.kind == "count":
        return be / opr
    if o.kind == "reoffending_frequency" and value.kind == "rate":
        return be * opr
    return None


def cohort_results(protocol: Protocol, tables: dict[str, pd.DataFrame], primary: OutcomeResult | None,
                   ) -> tuple[CohortResult, ...]:
    """The primary result repeated in each cohort the protocol names (two or more), for replication.

    Each cohort is the protocol's population restricted to that cohort's start dates, analysed with the same
    design and outcome as the primary result (a DiD with its own matching). Area designs have no cohorts of
    people: nothing is returned for them, nor when the protocol names fewer than two cohorts.
    """
    if len(protocol.cohorts) < 2 or primary is None or primary.estimate is None or primary.design in AREA_TYPES:
        return ()
    pooled = judge(primary.estimate.estimate, primary.estimate.ci_low, primary.estimate.ci_high, null=primary.null,
                   higher_is_better=primary.higher_is_better, n=primary.n, min_n=designs.min_n(protocol)).direction
    kinds = ("matched",) if primary.design in ("matched", "did") else (primary.design,)
    kept = [d.model_copy(update={"outcomes": [primary.outcome]}) for d in protocol.designs
            if d.type in (*kinds, primary.design) and primary.outcome in getattr(d, "outcomes", [])]
    if primary.design == "did" and not any(d.type == "matched" for d in kept):
        kept = [d for d in protocol.designs if d.type == "matched"][:1] + kept
    out = []
    for c in protocol.cohorts:
        pop = protocol.population.model_copy(update={"start_from": c.start_from, "start_to": c.start_to})
        p_c = protocol.model_copy(update={"population": pop, "designs": kept, "cohorts": []})
        try:
            people = ad.population(p_c, tables)
            found: list[OutcomeResult] = []
            sample = None
            for d in kept:
                if d.type == "prepost":
                    found += designs.run_prepost(p_c, tables, people, d)
                elif d.type == "matched":
                    res, sample = designs.run_matched(p_c, tables, people, d)
                    found += res
                elif d.type == "did":
                    found += designs.run_did(p_c, tables, d, sample)
            o = next((x for x in found if x.outcome == primary.outcome and x.design == primary.design), None)
        except EvalkitError as exc:
            out.append(CohortResult(c.name, 0, None, "none", False, False, reason=designs._reason(exc)))
            continue
        if o is None or o.estimate is None:
            out.append(CohortResult(c.name, 0 if o is None else o.n, None, "none", False, False,
                                    reason="could not be estimated" if o is None else o.reason))
            continue
        e = o.estimate
        j = judge(e.estimate, e.ci_low, e.ci_high, null=o.null, higher_is_better=o.higher_is_better, n=o.n,
                  min_n=designs.min_n(protocol))
        out.append(CohortResult(c.name, o.n, e, j.direction, j.significant,
                                bool(j.significant and j.direction == pooled and pooled != "none")))
    return tuple(out)


def primary_finding(protocol: Protocol, o: OutcomeResult | None, value: Any = None,
                    cohorts: tuple[CohortResult, ...] = ()) -> PrimaryResult | None:
    """Judge the primary result and give it a commissioning category (this intervention alone).

    The portfolio re-judges it with multiplicity control across all interventions
    (:func:`evalkit.analysis.commissioning.portfolio_categories`). The minimum worthwhile effect is the
    protocol's; when it states none but gives costs, the break-even effect of ``value`` (the intervention's
    value for money, :func:`break_even_mwe`) when the rules allow it (``settings.mwe_from_break_even``); the
    finding records which (``mwe_source``) and the report's wording says so.
    """
    if o is None:
        return None
    mwe = f"a standardised effect of {MINIMUM_WORTHWHILE:g}, Cohen's 'small' effect"
    area_wide = is_area_wide(protocol)
    if o.estimate is None:  # not ok
        finding = PrimaryFinding(protocol.intervention_id, "none", False, 1, 0, math.inf,
                                 designs.min_n(protocol), area_wide=area_wide, alpha=protocol.alpha)
        cat = classify(finding)
        return PrimaryResult(protocol.intervention_id, o.outcome, o.label, o.design, o.design_label, None, None, "",
                             "none", False, "could not be estimated", 1, 0, math.inf, mwe, cat.key, cat.label,
                             cat.meaning, cat.rule_text, reason=o.reason, finding=finding_json(finding),
                             rule_index=cat.rule_index, rule_conditions=cat.conditions)
    e = o.estimate
    j = judge(e.estimate, e.ci_low, e.ci_high, null=o.null, higher_is_better=o.higher_is_better, n=o.n,
              min_n=designs.min_n(protocol))
    needed = o.details.minimum_worthwhile_n if o.details.minimum_worthwhile_n is not None else math.inf
    if o.design in AREA_TYPES:
        needed = math.inf  # power in people does not apply to whole areas
    mwe_value, mde_value = _thresholds(protocol, o)
    mwe_source = "protocol" if mwe_value is not None else None
    if mwe_value is not None:
        mwe = f"{_effect_size_words(mwe_value, e.scale, o.label)}, stated in the protocol"
    else:
        from evalkit.analysis.commissioning import load_rules

        be = break_even_mwe(o, value, protocol) if load_rules().mwe_from_break_even else None
        if be is not None:
            mwe_value, mwe_source = be, "break_even"
            mwe = (f"{_effect_size_words(be, e.scale, o.label)}, the break-even effect: the smallest fall whose avoided crime costs "
                   "repay the cost per young person (no minimum worthwhile effect in the protocol)")
    benefit, lo, hi, se, ratio = _benefit(o)
    excludes = not (min(e.ci_low, e.ci_high) <= o.null <= max(e.ci_low, e.ci_high))
    placebo = o.details.placebo
    finding = PrimaryFinding(protocol.intervention_id, j.direction, j.significant, o.sms, o.n,
                             float(needed), designs.min_n(protocol), p_value=float(e.p_value), benefit=benefit,
                             benefit_low=lo, benefit_high=hi, se_log_or_diff=float(se), ratio=ratio, mwe=mwe_value,
                             mde=mde_value, sensitivity_passed=sensitivity_passed(protocol, o), area_wide=area_wide,
                             ci_excludes_null=bool(excludes), alpha=protocol.alpha, mwe_source=mwe_source,
                             design=o.design, placebo_failed=None if placebo is None else bool(placebo.failed),
                             value_below_break_even=value_below_break_even(value, o),
                             cohorts_agreeing=max(1, sum(c.agrees for c in cohorts)),
                             **(hidden_bias(o) if o.design == "matched" else {}))
    cat = classify(finding)
    per_100 = o.per_100
    if per_100 and o.details.rates is not None:
        k = round(o.details.rates.participants * o.n)
        t = designs.filled(protocol.disclosure_threshold, "disclosure_threshold")
        if 0 < k < t or 0 < o.n - k < t:
            per_100 = None  # the per-100 numbers would reveal a small count of people
    return PrimaryResult(protocol.intervention_id, o.outcome, o.label, o.design, o.design_label, e, o.standardised,
                         o.standardisation, j.direction, j.significant, j.verdict, o.sms, o.n, float(needed), mwe,
                         cat.key, cat.label, cat.meaning, cat.rule_text, sentence=o.sentence, per_100=per_100,
                         finding=finding_json(finding), rule_index=cat.rule_index, rule_conditions=cat.conditions,
                         cohorts=cohorts, checks=_checks(protocol, o))


# --------------------------------------------------------------------------- attrition and profile
def attrition_flow(protocol: Protocol, tables: dict, people: pd.DataFrame, outcomes: list[OutcomeResult],
                   sample: designs.MatchedSample | None) -> list[tuple[str, int]]:
    """Young people at each step from referral to measured outcome (raw counts; controlled when shown).

    The first two steps (referred, started in the period) are shared; then one branch per kind of outcome:
    the questionnaire branch (at the start, at the end) and the offending branch (complete follow-up,
    matched). Labels of branch steps start with the branch name and a colon.
    """
    everyone = ad.participants_all(protocol, tables)
    if not len(everyone):
        return []
    steps = [("Referred", len(everyone)), ("Started in the period", len(people))]
    pre = next((o for o in outcomes if o.design == "prepost" and o.ok and o.primary), None) \
        or next((o for o in outcomes if o.design == "prepost" and o.ok), None)
    branches = []
    if pre is not None:
        a = pre.result.attrition
        name = pre.label.split("(")[0].strip()
        branches.append([(f"{name}: at the start", int(a.n_baseline)), (f"{name}: at the start and the end",
                                                                      int(a.n_complete))])
    if sample is not None:
        complete = sample.n_participants - sample.n_incomplete_followup - sample.n_missing_covariates
        branches.append([("Offending: complete follow-up", complete),
                         ("Offending: matched to a comparison", int(sample.match.n_treated_matched))])
    primary_is_offending = bool(protocol.primary_outcomes) and protocol.primary_outcomes[0].kind != "instrument"
    if primary_is_offending:
        branches.reverse()
    for b in branches:
        steps += b
    return steps


PROFILE_ROWS = (("age", "Average age (years)", "mean"), ("sex", "Male", "male"), ("sex", "Female", "female"),
                ("prior_offences", "Average proven offences in the 2 years before", "mean"),
                ("prior_violent_offences", "Average violent offences in the 2 years before", "mean"),
                ("school_exclusion", "Excluded from school", "flag"), ("looked_after", "Looked after", "flag"),
                ("exploitation_concern", "Exploitation concern", "flag"),
                ("substance_misuse_concern", "Substance misuse concern", "flag"))


def profile_table(sample: designs.MatchedSample) -> pd.DataFrame:
    """Participants against the matched comparison group and the whole pool: means, and counts behind shares.

    Columns per group: ``value`` (mean or share), ``count`` (people with the characteristic; NaN for means)
    and ``n``. Disclosure control is applied when shown.
    """
    data = sample.data
    units = sample.match.units
    w = pd.Series(units["weight"].to_numpy(), index=units["person_id"].to_numpy())
    groups = {"Participants (matched)": data.loc[(data["treated"] == 1) & data["person_id"].map(w).gt(0)],
              "Matched comparison": data.loc[(data["treated"] == 0) & data["person_id"].map(w).gt(0)],
              "Whole comparison pool": data.loc[data["treated"] == 0]}
    rows = []
    ethnic = sorted(set(data["ethnicity_group"].astype(str))) if "ethnicity_group" in data else []
    from evalkit.data.config import load_config  # lazy: the configuration reads YAML

    label = load_config().label  # the VRU's own words for its categories

    def own(col: str, text: str, how: str) -> str:
        if col == "sex":
            words = label(how)
            return words[:1].upper() + words[1:]
        return text
    spec = [(c, own(c, t, h), h) for c, t, h in PROFILE_ROWS]
    spec += [("ethnicity_group", f"Ethnic group: {label(e)}", e) for e in ethnic]
    for col, text, how in spec:
        if col not in data:
            continue
        row: dict[Any, Any] = {"characteristic": text}
        for g, frame in groups.items():
            x = frame[col]
            weights = frame["person_id"].map(w).fillna(0.0) if g == "Matched comparison" else None
            n = len(frame)
            if how == "mean":
                v = float(pd.to_numeric(x, errors="coerce").astype(float).mul(
                    weights if weights is not None else 1).sum() / (weights.sum() if weights is not None else n)) \
                    if n else math.nan
                row[(g, "value")], row[(g, "count")] = v, math.nan
            else:
                if how == "flag":
                    hit = pd.to_numeric(x, errors="coerce").astype(float).eq(1)
                else:
                    hit = x.astype(str) == how
                count = int(hit.sum())
                share = float((hit * (weights if weights is not None else 1)).sum()
                              / (weights.sum() if weights is not None else n)) if n else math.nan
                row[(g, "value")], row[(g, "count")] = share, count
            row[(g, "n")] = n
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- subgroups
def subgroup_results(protocol: Protocol, tables: dict, people: pd.DataFrame, primary: OutcomeResult | None,
                     sample: designs.MatchedSample | None) -> list[SubgroupResult]:
    """The primary outcome by each protocol subgroup, where every cell is large enough to show."""
    if primary is None or not primary.ok or primary.design not in ("prepost", "matched") or not protocol.subgroups:
        return []
    if primary.design == "prepost" and primary.kind != "instrument":
        return []  # subgroups of status outcomes are not analysed
    people = people.assign(age_band=age_band(people["age"], designs.filled(protocol.age_bands, "age_bands")))
    out = []
    for var in protocol.subgroups:
        if var not in people:
            continue
        levels = people[var].astype("string").fillna("not known")
        if var in ("sex", "ethnicity_group"):  # the VRU's own words for its categories
            from evalkit.data.config import load_config

            levels = levels.map(load_config().label).astype("string")
        if levels.nunique() < 2:
            out.append(SubgroupResult(var, primary.label, primary.design_label, suppressed_reason=(
                "not shown: every young person is in the same group")))
            continue
        try:
            rows = _subgroup_rows(protocol, tables, people, levels, primary, sample)
        except (EvalkitError, np.linalg.LinAlgError) as exc:
            out.append(SubgroupResult(var, primary.label, primary.design_label,
                                      suppressed_reason=f"could not be estimated: {designs._reason(exc)}"))
            continue
        small = [r for r in rows if r["n"] < protocol.disclosure_threshold or r.get("_small_cell")]
        if small:
            out.append(SubgroupResult(var, primary.label, primary.design_label, suppressed_reason=(
                f"not shown: at least one group has fewer than {protocol.disclosure_threshold} young people "
                "(or fewer than that with or without the outcome), so showing the others could reveal it")))
            continue
        for r in rows:
            r.pop("_small_cell", None)
        ses = [r.pop("_se", math.nan) for r in rows]
        q_p = interaction_test([r["estimate"] for r in rows], ses)
        out.append(SubgroupResult(var, primary.label, primary.design_label, rows=tuple(rows), interaction_p=q_p))
    return out


def interaction_test(estimates: list[float], ses: list[float]) -> float | None:
    """p-value of the test that the effect is the same in every group (Cochran's Q, chi-square with k - 1 df).

    For independent groups this is the Wald test of the group-by-intervention interaction. None when fewer
    than two groups have a usable standard error.
    """
    from scipy import stats

    pairs = [(e, s) for e, s in zip(estimates, ses) if math.isfinite(e) and math.isfinite(s) and s > 0]
    if len(pairs) < 2:
        return None
    w = np.array([1 / s ** 2 for _, s in pairs])
    e = np.array([x for x, _ in pairs])
    pooled = float((w * e).sum() / w.sum())
    q = float((w * (e - pooled) ** 2).sum())
    return float(stats.chi2.sf(q, len(pairs) - 1))


def _subgroup_rows(protocol, tables, people, levels, primary, sample) -> list[dict]:
    rows = []
    t = designs.filled(protocol.disclosure_threshold, "disclosure_threshold")
    for level in sorted(levels.unique()):
        ids = set(people.loc[levels == level, "person_id"].astype(str))
        row: dict[str, Any] = {"group": str(level).replace("_", " ")}
        o = protocol.outcome(primary.outcome)
        if primary.design == "prepost":
            info = None
            try:
                wide, _, info = designs.prepost_frame(protocol, tables, people.loc[levels == level], o)
            except MissingDataError:  # nobody in this group has the questionnaire (e.g. too old for it)
                wide = pd.DataFrame(columns=["pre", "post"])
            wide = wide.dropna()
            row["n"] = len(wide)
            if len(wide) < max(t, 2):
                row["_small_cell"] = True
                rows.append(row)
                continue
            res = prepost_continuous(wide, pre="pre", post="post", alpha=protocol.alpha,
                                     higher_is_better=o.higher_is_better)
            e = res.estimate("Mean change")
            mu, mu_var, _ = designs.rtm_population_mean(o, info)
            if getattr(o, "entry_threshold", None) is not None and mu is not None:
                # The headline's estimator: the change beyond regression to the mean, within the group.
                try:
                    e = designs.rtm_regression(res, mu, mu_var, alpha=protocol.alpha)[0]
                except EvalkitError:
                    row["_small_cell"] = True
                    rows.append(row)
                    continue
        else:
            m = designs.subset_match(sample.match, ids)
            row["n"] = int(m.n_treated_matched)
            if row["n"] < max(t, 2):
                row["_small_cell"] = True
                rows.append(row)
                continue
            col, kind = designs.offending_columns(o)
            if kind == "binary":
                treated = sample.data.loc[sample.data["person_id"].isin(ids) & (sample.data["treated"] == 1)]
                matched_ids = set(m.units.loc[(m.units["weight"] > 0) & (m.units["treated"] == 1), "person_id"])
                k = int(treated.loc[treated["person_id"].isin(matched_ids), col].sum())
                if k < t or row["n"] - k < t:
                    row["_small_cell"] = True
            res_o = designs.matched_outcome(protocol, sample, o, True, match_result=m, adjust=False)
            if res_o.estimate is None:  # matched_outcome raises rather than returning no estimate
                raise EvalkitError(res_o.reason)
            e = res_o.estimate
        j = judge(e.estimate, e.ci_low, e.ci_high, null=0.0, higher_is_better=o.higher_is_better, n=row["n"],
                  min_n=designs.min_n(protocol))
        scale = 100 if primary.design == "matched" and primary.kind == "reoffending" else 1
        row.update(estimate=scale * e.estimate, ci_low=scale * e.ci_low, ci_high=scale * e.ci_high,
                   verdict=j.verdict, _se=scale * e.se)
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- sensitivity and limitations
def sensitivity_notes(outcomes: list[OutcomeResult], min_n: int = 30) -> list[tuple[str, str]]:
    """(heading, plain-English text) for each sensitivity check that applies.

    Hidden-bias checks (Rosenbaum bounds, E-values) ask how strong an unrecorded difference would have to be
    to explain a finding away, so they are reported for significant results; a non-significant result gets
    one line saying there is nothing to explain away.
    """
    notes = placebo_notes(outcomes)
    for o in outcomes:
        if o.estimate is None:  # not ok
            continue
        head = f"{o.label} ({o.design_label})"
        rb, ev = o.details.rosenbaum, o.details.e_value
        if o.design == "matched" and (rb is not None or ev is not None):
            e = o.estimate
            j = judge(e.estimate, e.ci_low, e.ci_high, null=o.null, higher_is_better=o.higher_is_better, n=o.n,
                      min_n=min_n)
            if not j.significant:
                notes.append((head, "Not statistically significant, so there is no finding for hidden bias to "
                                    "explain away."))
                continue
            if rb is not None:
                g = rb.gamma_critical
                if g is None and rb.grid[0]["p_upper"] >= rb.alpha:
                    text = ("Hidden bias (Rosenbaum bounds): the matched-pair test is not significant even with no "
                            "hidden bias, so the pairs alone do not carry the finding.")
                elif g is None:
                    text = ("Hidden bias (Rosenbaum bounds): the result stays significant for every degree of hidden "
                            f"bias tried (up to Γ = {rb.grid[-1]['gamma']:g}).")
                else:
                    text = (f"Hidden bias (Rosenbaum bounds): an unrecorded difference that made participants "
                            f"{g:.2f} times as likely to take part as similar young people who did not (Γ = {g:.2f}) "
                            "would be enough to make the result non-significant. Values near 1 mean fragile; above "
                            "2 fairly robust.")
                notes.append((head, text))
            if ev is not None:
                notes.append((head, f"E-value: an unrecorded factor linked to both taking part and the outcome by a "
                                    f"risk ratio of {ev.e_value:.2f} each could explain away the estimate, and "
                                    f"{ev.e_value_ci:.2f} could move its interval to include no effect "
                                    "(VanderWeele & Ding 2017)."))
            bm_text = benchmark_sentence(o)
            if bm_text:
                notes.append((head, bm_text))
        if o.design == "prepost":
            expected, raw = o.details.rtm_expected, o.details.raw_change
            if expected is not None and raw is not None:
                source = o.details.rtm_population_source or "the population mean"
                mu = o.details.rtm_population_mean if o.details.rtm_population_mean is not None else math.nan
                notes.append((head, f"Regression to the mean: the raw change was {raw.estimate:+.2f} points "
                                    f"({raw.ci_low:+.2f} to {raw.ci_high:+.2f}); {expected:+.2f} of it is expected "
                                    "from regression to the mean for a group starting where this one did, and the "
                                    "headline takes it off. It is read from this group's own start and end scores "
                                    f"(how closely an end score follows the start score) and {source} "
                                    f"({mu:.4g}); the interval carries "
                                    "both uncertainties. If those screened for entry differ from that population, "
                                    "the correction is off by the difference times (1 - that closeness)."))
            for w in o.warnings:
                if "attrition" in w.lower() or "lost" in w.lower():
                    notes.append((head, w))
            b = o.details.attrition_bounds
            if b is not None:
                notes.append((head, f"Missing end scores: more than {ATTRITION_BOUNDS_FROM:.0%} of young people with "
                                    f"a score at the start have none at the end. The average change of those "
                                    f"measured twice was {b.completers:+.2f} points; counting everyone who started, "
                                    f"it would be {b.no_change:+.2f} if the missing had not changed, and "
                                    f"anywhere from {b.low:+.2f} to {b.high:+.2f} if each had changed as "
                                    "little or as much as anyone measured (worst and best case)."))
    return notes


def benchmark_sentence(o: OutcomeResult) -> str | None:
    """Plain words: could a hidden factor as strong as a prior proven offence remove this matched result?"""
    bm = o.details.benchmark
    if bm is None or o.design != "matched":
        return None
    hb = hidden_bias(o)
    e_ci, g = hb["e_value_ci"], hb["gamma_critical"]
    e_need, g_need = hb["e_value_needed"], hb["gamma_needed"]
    fails = [e_ci is not None and e_need is not None and e_ci < e_need,
             g is not None and g_need is not None and g < g_need]
    verdict = ("could remove this result" if any(fails) else "could not remove this result")
    parts = []
    if e_ci is not None and e_need is not None:
        parts.append(f"the interval's E-value is {e_ci:.2f} against {e_need:.2f} needed")
    if g is not None and g_need is not None:
        parts.append(f"the matched pairs stay significant up to Γ = {g:.2f} against {g_need:.2f} needed")
    return (f"Compared with what was recorded: an unrecorded factor as strong as prior offending (the strongest "
            f"recorded predictor of reoffending: above the median, it multiplies the chance of reoffending by "
            f"{bm.rr_outcome:.1f}, and participants differ from the pool in it by a ratio of {bm.rr_treatment:.2f}) "
            f"{verdict}: " + "; ".join(parts) + ".")


def placebo_notes(outcomes: list[OutcomeResult]) -> list[tuple[str, str]]:
    """One plain-English note per comparison design on its placebo outcome, judged against its primary result.

    The placebo is the same matched comparison on offending before the programme (a window matching did not
    use), which the programme cannot have changed: a difference there shows who was referred, not what the
    programme did. Only the difference and its interval are given (no count or share of participants).
    """
    notes = []
    for design in ("matched", "did"):
        cands = [o for o in outcomes if o.design == design and o.estimate is not None]
        o = next((x for x in cands if x.primary), cands[0] if cands else None)
        if o is None:
            continue
        head = f"Placebo check ({o.design_label})"
        pl = o.details.placebo
        if pl is None:
            if o.details.placebo_reason:
                notes.append((head, f"The placebo check could not be run: {o.details.placebo_reason}."))
            continue
        e = pl.estimate
        level = round(100 * e.level) if e.level else 95
        diff = 100 * e.estimate
        side = "fewer" if diff < 0 else "more"
        text = (f"Offending the programme cannot have changed: in the {pl.months_to} to {pl.months_from} months "
                f"before their start, {abs(diff):.1f} percentage points {side} participants than their matched "
                f"comparison group had a proven offence ({level}% confidence interval {100 * e.ci_low:+.1f} to "
                f"{100 * e.ci_high:+.1f}). Matching used the {pl.months_to} months before the start, not this "
                "window. ")
        if pl.failed:
            text += ("The difference is clear and on the side that could explain the result: those referred "
                     f"already offended {'less' if diff < 0 else 'more'} than similar young people before the "
                     "programme, so selection, not the programme, could explain the result. The placebo check "
                     "failed.")
        else:
            text += ("No clear difference on the side that could explain the result: the placebo check passed. "
                     "It cannot rule out a difference that only shows after referral (such as motivation to "
                     "change).")
        notes.append((head, text))
    return notes


def limitations(protocol: Protocol, people: pd.DataFrame, outcomes: list[OutcomeResult],
                sample: designs.MatchedSample | None, cfg: Any = None) -> list[str]:
    """Plain-English limitations written from the diagnostics, in the VRU's own words for its districts."""
    places = worded("{localities}", cfg)
    out = []
    n = len(people)
    if n < designs.min_n(protocol) and protocol.intervention_id != "VRU" and protocol.primary_outcomes:
        out.append(f"Small numbers: fewer than {protocol.min_n_significance} young people took part in the period, "
                   "so no result in this report can be called significant.")
    for o in outcomes:
        if not o.ok:
            out.append(f"{o.label} ({o.design_label.lower()}) could not be estimated: {o.reason}.")
    pre = [o for o in outcomes if o.design == "prepost" and o.ok]
    for o in pre:
        a = o.result.attrition
        if a.n_baseline and a.share_lost > HIGH_ATTRITION:
            # To the nearest 10%: with the number analysed shown, an exact share would give the number with a
            # baseline, which the report may withhold (it differs from another step by a small number).
            share = f"about {round(a.share_lost, 1):.0%}" if round(a.share_lost, 1) > HIGH_ATTRITION \
                else f"more than {HIGH_ATTRITION:.0%}"
            out.append(f"High attrition: {share} of young people with a {o.label.split('(')[0].strip()} "
                       "score at the start had none at the end. Those who leave early often differ from those who "
                       "stay, so the change seen may be better than the average young person's.")
    if pre:
        out.append("Before-and-after results have no comparison group: young people often improve with time, "
                   "and those referred at a low point tend to score nearer the average later (regression to the "
                   "mean), whether or not they took part.")
    if sample is not None:
        bad = [r["covariate"] for r in sample.balance.table if abs(r["diff_after"]) > POOR_BALANCE]
        if bad:
            out.append("Poor balance: after matching, the groups still differed on " + ", ".join(bad)
                       + ", so differences in outcomes may partly reflect who took part.")
        lost = sample.n_participants - sample.n_incomplete_followup - sample.n_missing_covariates \
            - int(sample.match.n_treated_matched)
        if sample.n_incomplete_followup:
            out.append(f"Incomplete follow-up: some young people started too recently for a full "
                       f"{getattr(protocol.outcomes[0], 'followup_months', 12)}-month follow-up plus time for "
                       "offences to be proven, and are left out of the reoffending rates.")
        if lost > 0:
            out.append("Some participants had no similar enough young person in the comparison pool and were not "
                       "matched; the result applies to those who were.")
        out.append("Matching can only balance what was recorded: differences in motivation, family support or "
                   "anything else not in the data may remain (see the sensitivity analysis).")
    for o in outcomes:
        if o.design == "did" and o.ok and o.sms < 3:
            out.append("Failed pre-trends: before the start, offending among participants and their comparison "
                       "group was already moving differently, so the difference-in-differences estimate is less "
                       "trustworthy.")
        if o.design == "area_did" and o.ok and o.sms < 3:
            out.append(f"{o.label}: the programme and comparison {places} were already moving differently "
                       "before the programme, so the estimate is less trustworthy.")
    for o in outcomes:
        if o.design == "area_did" and o.ok:
            g = int(getattr(o.result, "n_clusters", 0) or 0)
            floor = 2 / 2 ** g if g else 1.0
            if g and floor >= protocol.alpha:
                out.append(f"Too few {places}: with {g} {places} in all (programme and comparison), the bootstrap "
                           f"cannot give a p-value below {floor:.3f}, so no area result can reach significance at "
                           f"{protocol.alpha:g}. "
                           f"Add comparison {places} to the protocol.")
    if any(o.design == "area_trend" for o in outcomes):
        out.append("Area trends compare a year with the years before; other changes at the same time (policing, "
                   "the pandemic, other programmes) cannot be separated from the programme's effect.")
    return list(dict.fromkeys(out))


__all__ = ["analyse_intervention", "choose_primary", "primary_finding", "attrition_flow", "profile_table",
           "subgroup_results", "sensitivity_notes", "limitations", "InterventionAnalysis",
           "OutcomeResult", "PrimaryResult", "SubgroupResult"]
