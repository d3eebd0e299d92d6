"""Assemble the synthetic world: every table, the truth, and (for tests) potential outcomes.

Each intervention and the comparison pool draw from their own random stream
(``SeedSequence([seed, part, k])``, PCG64), so changing one part of the generator
does not reshuffle the rest and ``sizes`` overrides leave other interventions as
they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from evalkit.synth import questionnaires as q
from evalkit.synth.area import simulate_area_counts
from evalkit.synth.engagement import completion_min_sessions, simulate_engagement
from evalkit.synth.measurements import FOLLOW_UP_TYPES, FORM_MISSING, exit_probability, item_rows, sdq_version
from evalkit.synth.offending import linear_predictor, simulate_offences, truth_for, violent_share, window_days
from evalkit.synth.people import (age_on, dates_of_birth, draw_ages, draw_ethnicity, draw_index_dates,
                                  draw_localities, draw_sex, ethnicity_group, person_ids, pick, risk_factors)
from evalkit.synth.settings import (DATA_END, ENTRY_THRESHOLDS, FY_START, NOT_STARTED_RISK_SHIFT,
                                    NOT_STARTED_SHARE, POOL_SIZES, SELECTION, WorldOptions,
                                    RISK_MEAN_LEVEL, RISK_MEAN_OVERRIDE, RISK_MEAN_POOL, RISK_SD_POOL,
                                    WHOLE_AREA, portfolio, primary_outcomes, profile_for)
from evalkit.synth.settings import world as demo_world
from evalkit.synth.status import simulate_onward_referrals, simulate_statuses
from evalkit.synth.writer import COLUMNS

RISK_COLUMNS = ["prior_offences", "prior_violent_offences", "school_exclusion", "looked_after",
                "exploitation_concern", "substance_misuse_concern"]
UNKNOWN_PARTICIPANT = {"prefer_not_to_say": 0.02, "not_known": 0.02}
UNKNOWN_POOL = {"not_known": 0.05}
PART_INTERVENTION, PART_POOL, PART_AREA, PART_NOT_STARTED, PART_NATIONAL = 1, 2, 3, 4, 5
DEFAULT_OPTIONS = WorldOptions()


def stream(seed: int, part: int, k: int = 0) -> np.random.Generator:
    """An independent PCG64 generator for one part of the world."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, part, k])))


@dataclass
class World:
    """Every table (contract columns), the truth table and test-only potential outcomes."""

    tables: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    potential: dict[str, pd.DataFrame] = field(default_factory=dict)


def _truth_row(iid: str, outcome: str, scale: str, value: float, scenario: str,
               primary: tuple[str, ...]) -> dict[str, Any]:
    return {"intervention_id": iid, "outcome": outcome, "scale": scale, "true_effect": float(value),
            "scenario": scenario, "primary": outcome in primary}


def _candidates(rng: np.random.Generator, spec: dict, m: int, z_shift: float = 0.0) -> dict[str, Any]:
    """Covariates, latent traits and baseline questionnaire draws for ``m`` candidates."""
    prof = profile_for(spec)
    age = draw_ages(rng, m, *prof.age)
    sex = draw_sex(rng, m, prof.p_male)
    area = spec["area"]
    area = demo_world()["intervention_locality"].get(spec["id"], area)  # one district, not the whole area
    loc = draw_localities(rng, m, area)
    if "area_rollout" in spec:
        districts = np.array(spec["area_rollout"]["districts"], dtype=object)
        loc = districts[rng.integers(0, len(districts), size=m)]
    mu = RISK_MEAN_OVERRIDE.get(spec["id"], RISK_MEAN_LEVEL[spec["level"]]) + z_shift
    z = rng.normal(mu, 1.0, m)
    male = sex == "male"
    risk = risk_factors(rng, z, age, male)
    traits = q.latent_traits(rng, z, sex == "female")
    sdq_inst = sdq_version(spec["type"], age) if "SDQ" in prof.instruments else np.full(m, "", dtype=object)
    has_sw = ("SWEMWBS" in prof.instruments) & (age >= 11)
    base_states = {k: v + rng.normal(0, q.STATE_SD, m) for k, v in traits.items()}
    sdq0 = q.sdq_items(rng.random((m, 25)), base_states)
    sw0 = q.swemwbs_items(rng.random((m, 7)), base_states["wellbeing"])
    ok = np.ones(m, dtype=bool)
    rule = ENTRY_THRESHOLDS.get(spec["id"])
    if rule is not None:
        inst, direction, cut = rule
        if inst == "SWEMWBS":
            ok = has_sw & (sw0.sum(axis=1) <= cut)
        else:
            ok = (sdq_inst != "") & (q.sdq_raw_total(sdq0) >= cut)
    cand = {"age": age, "sex": sex, "locality": loc, "z": z, "male": male, "sdq_inst": sdq_inst,
            "has_sw": has_sw, "sdq0": sdq0, "sw0": sw0, **risk, **{f"trait_{k}": v for k, v in traits.items()}}
    return {k: v[ok] for k, v in cand.items()}


def _draw_participants(rng: np.random.Generator, spec: dict, n: int, z_shift: float = 0.0) -> dict[str, np.ndarray]:
    """Candidates until ``n`` pass the entry rule (in draw order)."""
    batches, have = [], 0
    while have < n:
        batch = _candidates(rng, spec, max(4 * n, 50) if spec["id"] in ENTRY_THRESHOLDS else n, z_shift)
        batches.append(batch)
        have += len(batch["age"])
    return {k: np.concatenate([b[k] for b in batches])[:n] for k in batches[0]}


def _dates(rng: np.random.Generator, itype: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Referral, start and index dates (index = referral, i.e. the arrest, for custody diversion)."""
    start = draw_index_dates(rng, n)
    if itype == "custody_diversion":
        referral = np.maximum(start - rng.integers(0, 3, size=n), np.datetime64(FY_START, "D"))
        return referral, start, referral
    lag = rng.integers(0, 15, size=n) if itype == "school_programme" else rng.integers(3, 41, size=n)
    return start - lag, start, start


@dataclass
class _Cohort:
    """One intervention's participants while they are being simulated (internal state)."""

    spec: dict
    n: int
    c: dict[str, np.ndarray]          # covariates, latent traits and baseline responses
    pid: np.ndarray
    referral: np.ndarray
    start: np.ndarray
    index: np.ndarray
    dob: np.ndarray
    has_dob: np.ndarray               # date of birth given (else only age at start)
    severity: np.ndarray              # baseline severity, standardised within the intervention
    options: WorldOptions = DEFAULT_OPTIONS

    @property
    def iid(self) -> str:
        return self.spec["id"]

    @property
    def itype(self) -> str:
        return self.spec["type"]

    def truth_row(self, outcome: str, scale: str, value: float) -> dict[str, Any]:
        # YAML reads a bare `null` scenario as None (WorldOptions.scenario says "null").
        return _truth_row(self.iid, outcome, scale, value, self.options.scenario(self.spec),
                          primary_outcomes(self.spec))


def _cohort(rng: np.random.Generator, spec: dict, n: int, taken: set[str],
            options: WorldOptions = DEFAULT_OPTIONS) -> _Cohort:
    c = _draw_participants(rng, spec, n)
    pid = person_ids(rng, n, taken)
    referral, start, index = _dates(rng, spec["type"], n)
    dob = dates_of_birth(rng, start, c["age"])
    has_dob = rng.random(n) < 0.85
    # Baseline severity drives engagement and attrition.
    sev_raw = np.where(c["sdq_inst"] != "", q.sdq_raw_total(c["sdq0"]) / 6.0, 0.0) - np.where(
        c["has_sw"], c["sw0"].sum(axis=1) / 4.5, 0.0)
    severity = (sev_raw - sev_raw.mean()) / (sev_raw.std() or 1.0)
    return _Cohort(spec, n, c, pid, referral, start, index, dob, has_dob, severity, options)


def _participants_table(rng: np.random.Generator, co: _Cohort, eng) -> pd.DataFrame:
    """The participants table: date of birth for most, age at start only for the rest."""
    has_dob = co.has_dob
    frame = pd.DataFrame({
        "person_id": co.pid, "intervention_id": co.iid, "referral_date": co.referral, "start_date": co.start,
        "end_date": eng.end_date, "exit_reason": eng.exit_reason,
        "date_of_birth": np.where(has_dob, co.dob, np.datetime64("NaT")).astype("datetime64[D]"),
        "age_at_start": pd.array(np.where(has_dob, -1, co.c["age"]), dtype="Int64"),
        "sex": co.c["sex"], "ethnicity_detailed": None, "ethnicity_group": None, "locality": co.c["locality"],
        "referral_source": pick(rng, profile_for(co.spec).referral_sources, co.n),
        **{col: co.c[col] for col in RISK_COLUMNS},
    })
    frame.loc[has_dob, "age_at_start"] = pd.NA
    eth = draw_ethnicity(rng, co.c["locality"], unknown=UNKNOWN_PARTICIPANT)
    frame["ethnicity_detailed"] = eth
    frame["ethnicity_group"] = ethnicity_group(eth)
    return frame


def _questionnaires(rng: np.random.Generator, co: _Cohort, eng, eff,
                    ) -> tuple[pd.DataFrame | None, list[dict], pd.DataFrame, float]:
    """Item-level responses at baseline / exit / follow-up, their truth rows and potential outcomes.

    Exit states are drawn once; the treated and untreated exit responses share the same
    uniforms (common random numbers), so each person's counterfactual is known.
    Returns the measurements, truth rows, potential outcomes and the SWEMWBS latent shift.
    """
    n, c = co.n, co.c
    ended = ~np.isnat(eng.end_date)
    has_exit = ended & (rng.random(n) < exit_probability(eng.exit_reason, co.severity))
    base_date = co.start + rng.integers(0, 15, size=n)
    base_date = np.where(ended, np.minimum(base_date, eng.end_date), base_date)
    exit_date = np.where(ended, np.maximum(eng.end_date - rng.integers(0, 8, size=n), base_date), base_date)
    fu_date = exit_date + rng.integers(90, 181, size=n)
    has_fu = has_exit & (rng.random(n) < FOLLOW_UP_TYPES.get(co.itype, 0.0)) & (fu_date <= np.datetime64(DATA_END))
    traits = {s: c[f"trait_{s}"] for s in (*q.SUBSCALES, "wellbeing")}
    has_sdq, has_sw = c["sdq_inst"] != "", c["has_sw"]
    shifts = _sdq_shifts(eff, traits, has_sdq)
    sw_shift = q.solve_shift(q.expected_swemwbs_metric, traits["wellbeing"][has_sw] + q.DRIFT_WELLBEING,
                             eff.swemwbs)
    exit0 = {s: traits[s] + q.DRIFT_DIFFICULTY + rng.normal(0, q.STATE_SD, n) for s in q.DIFFICULTIES}
    exit0["prosocial"] = traits["prosocial"] + rng.normal(0, q.STATE_SD, n)
    exit0["wellbeing"] = traits["wellbeing"] + q.DRIFT_WELLBEING + rng.normal(0, q.STATE_SD, n)
    exit1 = {s: v + shifts.get(s, 0.0) for s, v in exit0.items()}
    exit1["wellbeing"] = exit0["wellbeing"] + sw_shift
    u_sdq, u_sw = rng.random((n, 25)), rng.random((n, 7))
    sdq1, sw1 = q.sdq_items(u_sdq, exit1), q.swemwbs_items(u_sw, exit1["wellbeing"])
    # Follow-up keeps 70% of the effect and two steps of natural drift.
    fu = {s: traits[s] + 2 * q.DRIFT_DIFFICULTY + 0.7 * shifts.get(s, 0.0) + rng.normal(0, q.STATE_SD, n)
          for s in q.SUBSCALES}
    fu["wellbeing"] = traits["wellbeing"] + 2 * q.DRIFT_WELLBEING + 0.7 * sw_shift + rng.normal(0, q.STATE_SD, n)
    sdq_fu, sw_fu = q.sdq_items(rng.random((n, 25)), fu), q.swemwbs_items(rng.random((n, 7)), fu["wellbeing"])
    frames = []
    for mask, inst, resp0, resp1, respf in ((has_sdq, c["sdq_inst"], c["sdq0"], sdq1, sdq_fu),
                                            (has_sw, np.full(n, "SWEMWBS", dtype=object), c["sw0"], sw1, sw_fu)):
        if not mask.any():
            continue
        for tp, when, resp, keep in (("baseline", base_date, resp0, mask), ("exit", exit_date, resp1, mask & has_exit),
                                     ("follow_up", fu_date, respf, mask & has_fu)):
            keep = keep & (rng.random(n) >= FORM_MISSING)
            frames.append(item_rows(rng, co.pid, co.iid, inst, tp, when, resp, keep))
    truth = []
    if has_sdq.any():
        for outcome, subs in (("sdq_total_change", q.DIFFICULTIES), ("sdq_emotional_change", ("emotional",)),
                              ("sdq_conduct_change", ("conduct",))):
            value = sum(float(np.mean(
                q.expected_subscale(traits[s][has_sdq] + q.DRIFT_DIFFICULTY + shifts.get(s, 0.0), s)
                - q.expected_subscale(traits[s][has_sdq] + q.DRIFT_DIFFICULTY, s))) for s in subs)
            truth.append(co.truth_row(outcome, "mean difference in exit score, ATT (SDQ points)", value))
    if has_sw.any():
        truth.append(co.truth_row("swemwbs_change", "mean difference in exit score, ATT (SWEMWBS metric points)",
                                  eff.swemwbs if sw_shift else 0.0))
    sdq0_cf, sw0_cf = q.sdq_items(u_sdq, exit0), q.swemwbs_items(u_sw, exit0["wellbeing"])
    potential = pd.DataFrame({
        "person_id": co.pid, "has_sdq": has_sdq, "has_swemwbs": has_sw,
        "sdq_total_exit0": q.sdq_raw_total(sdq0_cf), "sdq_total_exit1": q.sdq_raw_total(sdq1),
        "swemwbs_metric_exit0": q.SWEMWBS_METRIC[sw0_cf.sum(axis=1) - 7],
        "swemwbs_metric_exit1": q.SWEMWBS_METRIC[sw1.sum(axis=1) - 7]})
    measurements = pd.concat(frames, ignore_index=True) if frames else None
    return measurements, truth, potential, sw_shift


def _statuses_and_referrals(rng: np.random.Generator, co: _Cohort, participants: pd.DataFrame, eng, eff,
                            sw_shift: float) -> tuple[pd.DataFrame | None, pd.DataFrame, list[dict]]:
    """Statuses at baseline/exit, onward referrals, and their truth rows."""
    info = participants[["person_id", "intervention_id", "start_date", "end_date", "substance_misuse_concern",
                         "looked_after"]].copy()
    info["age"], info["z"] = co.c["age"], co.c["z"]
    statuses, truth = None, []
    if profile_for(co.spec).statuses:
        ended = ~np.isnat(eng.end_date)
        has_exit_status = ended & (rng.random(co.n) < np.where(eng.exit_reason == "completed", 0.9, 0.35))
        statuses, st = simulate_statuses(rng, info, has_exit_status, co.c["trait_wellbeing"], sw_shift,
                                         eff.neet_logit, eff.substance_logit)
        if st.neet_rd is not None:
            truth.append(co.truth_row("neet_exit", "risk difference in NEET at exit, ATT (aged 16+)", st.neet_rd))
        if st.substance_rd is not None:
            truth.append(co.truth_row("substance_use", "risk difference in weekly-or-more use at exit, ATT (aged 12+)",
                                      st.substance_rd))
    onward, takeup = simulate_onward_referrals(rng, info, co.spec["level"], eng.engagement, eff.takeup_logit,
                                               np.datetime64(DATA_END, "D"))
    if takeup is not None:
        truth.append(co.truth_row("onward_referral_takeup", "expected proportion of onward referrals taken up",
                                  takeup))
    return statuses, onward, truth


def _offending(rng: np.random.Generator, co: _Cohort, eff) -> tuple[pd.DataFrame, list[dict], pd.DataFrame]:
    """Offences with the planted hazard ratio, the offending truth rows and potential outcomes."""
    people = pd.DataFrame({"person_id": co.pid, "index_date": co.index, "dob": co.dob, "age": age_on(co.dob, co.index),
                           "male": co.c["male"], **{col: co.c[col] for col in RISK_COLUMNS},
                           "index_offence": np.full(co.n, co.itype == "custody_diversion")})
    lp = linear_predictor(people)
    ot = truth_for(window_days(co.index, 12), lp, violent_share(people), eff.reoffend_rd)
    people["log_hr"] = ot.log_hr
    _select(people, co.options)
    offences, potential = simulate_offences(rng, people)
    truth = [
        co.truth_row("reoffend_12m", "risk difference, ATT (proportion proven reoffending in 12 months)",
                     ot.reoffend_rd),
        co.truth_row("reoffend_freq_12m", "mean difference, ATT (proven reoffences per person in 12 months)",
                     ot.freq_diff),
        co.truth_row("time_to_reoffend_hr", "hazard ratio (time to first proven reoffence)", float(np.exp(ot.log_hr))),
        co.truth_row("violent_reoffend_12m",
                     "risk difference, ATT (proportion proven violent reoffending in 12 months)", ot.violent_rd),
    ]
    return offences, truth, potential


def _select(people: pd.DataFrame, options: WorldOptions) -> None:
    """Add the unrecorded trait's hazard ratios to referred young people's offending (none: nothing added).

    The trait is bias, not effect: truth.csv keeps the programme's effect alone, and the counterfactual ``t0``
    of the potential outcomes keeps the trait (:func:`evalkit.synth.offending.simulate_offences`).
    """
    sel = SELECTION[options.selection]
    if sel.post_hr == 1.0:
        return
    people["log_hr"] = people["log_hr"] + sel.post_log_hr
    people["sel_log_hr"] = sel.post_log_hr
    people["pre_log_hr"] = sel.pre_log_hr


def _simulate_intervention(seed: int, k: int, spec: dict, n: int, taken: set[str],
                           options: WorldOptions = DEFAULT_OPTIONS,
                           ) -> tuple[dict[str, pd.DataFrame | None], list[dict], dict[str, pd.DataFrame]]:
    """Every table of one intervention, its truth rows and test-only potential outcomes."""
    rng = stream(seed, PART_INTERVENTION, k)
    eff = options.effects(spec["id"])
    co = _cohort(rng, spec, n, taken, options)
    eng = simulate_engagement(rng, co.itype, profile_for(spec), co.pid, co.iid, co.start, co.severity, co.c["z"])
    participants = _participants_table(rng, co, eng)
    measurements, q_truth, q_pot, sw_shift = _questionnaires(rng, co, eng, eff)
    statuses, onward, s_truth = _statuses_and_referrals(rng, co, participants, eng, eff, sw_shift)
    offences, o_truth, o_pot = _offending(rng, co, eff)
    area_truth = [co.truth_row(outcome, "rate ratio in roll-out districts from the start month", eff.area_rr)
                  for outcome in ("area_serious_violence_rr", "area_knife_crime_rr") if "area_rollout" in spec]
    potential = {"questionnaires": q_pot, "offending": o_pot}
    ns = _not_started(seed, k, spec, n, taken, options)
    if ns is not None:
        ns_part, ns_off, ns_pot = ns
        participants = pd.concat([participants, ns_part], ignore_index=True)
        offences = pd.concat([offences, ns_off], ignore_index=True)
        potential["offending_not_started"] = ns_pot
        rd = next(r["true_effect"] for r in o_truth if r["outcome"] == "reoffend_12m")
        o_truth.append(co.truth_row("reoffend_12m_itt", "risk difference, intention to treat from referral "
                                    "(proportion proven reoffending in 12 months, everyone referred)",
                                    rd * n / (n + len(ns_part))))
    tables = {"participants": participants, "contacts": eng.contacts, "measurements": measurements,
              "statuses": statuses, "onward_referrals": onward, "offences": offences}
    return tables, o_truth + q_truth + s_truth + area_truth, potential


def _not_started(seed: int, k: int, spec: dict, n: int, taken: set[str], options: WorldOptions = DEFAULT_OPTIONS,
                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame] | None:
    """Referrals that never started: participants rows (no start date, exit reason not_started) and offences.

    Drawn from their own stream (``PART_NOT_STARTED``), so the starters' records do not change. There are
    ``round(n * s / (1 - s))`` of them for the type's share ``s`` of referrals (``NOT_STARTED_SHARE``); their
    latent risk is higher by ``NOT_STARTED_RISK_SHIFT``; follow-up runs from the referral date and the
    intervention has no effect on them. Returns None for area programmes and types with no share.
    """
    share = NOT_STARTED_SHARE.get(spec["type"], 0.0)
    m = int(round(n * share / (1 - share))) if share > 0 and "area_rollout" not in spec else 0
    if m == 0:
        return None
    rng = stream(seed, PART_NOT_STARTED, k)
    c = _draw_participants(rng, spec, m, NOT_STARTED_RISK_SHIFT)
    pid = person_ids(rng, m, taken)
    referral = draw_index_dates(rng, m)
    dob = dates_of_birth(rng, referral, c["age"])
    has_dob = rng.random(m) < 0.85
    frame = pd.DataFrame({
        "person_id": pid, "intervention_id": spec["id"], "referral_date": referral,
        "start_date": np.full(m, np.datetime64("NaT"), dtype="datetime64[D]"),
        "end_date": np.full(m, np.datetime64("NaT"), dtype="datetime64[D]"), "exit_reason": "not_started",
        "date_of_birth": np.where(has_dob, dob, np.datetime64("NaT")).astype("datetime64[D]"),
        "age_at_start": pd.array(np.where(has_dob, -1, c["age"]), dtype="Int64"),
        "sex": c["sex"], "ethnicity_detailed": None, "ethnicity_group": None, "locality": c["locality"],
        "referral_source": pick(rng, profile_for(spec).referral_sources, m),
        **{col: c[col] for col in RISK_COLUMNS},
    })
    frame.loc[has_dob, "age_at_start"] = pd.NA
    eth = draw_ethnicity(rng, c["locality"], unknown=UNKNOWN_PARTICIPANT)
    frame["ethnicity_detailed"] = eth
    frame["ethnicity_group"] = ethnicity_group(eth)
    people = pd.DataFrame({"person_id": pid, "index_date": referral, "dob": dob, "age": c["age"],
                           "male": c["male"], **{col: c[col] for col in RISK_COLUMNS}, "log_hr": 0.0,
                           "index_offence": np.full(m, spec["type"] == "custody_diversion")})
    _select(people, options)     # referred too: the trait that raised referral travels with them
    offences, potential = simulate_offences(rng, people)
    return frame, offences, potential


def _sdq_shifts(eff, traits: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, float]:
    """Latent shifts per SDQ subscale that give the planted changes in expected scores."""
    if not mask.any():
        return {}
    out: dict[str, float] = {}
    if eff.sdq_total:
        theta = {s: traits[s][mask] + q.DRIFT_DIFFICULTY for s in q.DIFFICULTIES}

        def total(d: float) -> float:
            return sum(float(np.mean(q.expected_subscale(theta[s] + d, s))) for s in q.DIFFICULTIES)

        from scipy.optimize import brentq
        base = total(0.0)
        d = brentq(lambda x: total(x) - base - eff.sdq_total, -6, 6, xtol=1e-10)
        out = {s: float(d) for s in q.DIFFICULTIES}
    for s, target in eff.sdq_shift.items():
        out[s] = q.solve_shift(lambda t, s=s: q.expected_subscale(t, s), traits[s][mask] + q.DRIFT_DIFFICULTY, target)
    return out


def _simulate_pool(seed: int, taken: set[str], sizes: dict[str, int],
                   ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The comparison pool, its offences and potential outcomes."""
    frames, offences, potentials = [], [], []
    for k, (source, m) in enumerate(sizes.items()):
        rng = stream(seed, PART_POOL, k)
        custody = source == "custody_no_referral"
        age = draw_ages(rng, m, *((12, 25, 18.0) if custody else (8, 20, 14.5)))
        sex = draw_sex(rng, m, 0.85 if custody else 0.62)
        loc = draw_localities(rng, m, WHOLE_AREA)
        z = rng.normal(RISK_MEAN_POOL[source], RISK_SD_POOL, m)
        risk = risk_factors(rng, z, age, sex == "male")
        pid = person_ids(rng, m, taken)
        index = draw_index_dates(rng, m)
        dob = dates_of_birth(rng, index, age)
        has_dob = rng.random(m) < 0.9
        eth = draw_ethnicity(rng, loc, unknown=UNKNOWN_POOL)
        pool = pd.DataFrame({
            "person_id": pid, "index_date": index, "pool_source": source,
            "date_of_birth": np.where(has_dob, dob, np.datetime64("NaT")).astype("datetime64[D]"),
            "age_at_index": pd.array(age, dtype="Int64"), "sex": sex, "ethnicity_detailed": eth,
            "ethnicity_group": ethnicity_group(eth), "locality": loc, **risk})
        pool.loc[has_dob, "age_at_index"] = pd.NA
        people = pd.DataFrame({"person_id": pid, "index_date": index, "dob": dob, "age": age,
                               "male": sex == "male", **risk,
                               "log_hr": 0.0, "index_offence": custody})
        off, pot = simulate_offences(rng, people)
        frames.append(pool)
        offences.append(off)
        potentials.append(pot)
    return (pd.concat(frames, ignore_index=True), pd.concat(offences, ignore_index=True),
            pd.concat(potentials, ignore_index=True))


def _interventions_table(specs: list[dict], sizes: dict[str, int]) -> pd.DataFrame:
    rows = []
    for k, s in enumerate(specs):
        prof = profile_for(s)
        start = date(2020, 4, 1) if s["scenario"] == "small" or k % 3 == 0 else date(2019, 4, 1)
        if "area_rollout" in s:
            start = date.fromisoformat(s["area_rollout"]["start"])
        rows.append({
            "intervention_id": s["id"], "name": s["name"], "provider": s["provider"], "prevention_level": s["level"],
            "intervention_type": s["type"], "area": s["area"], "start_date": np.datetime64(start, "D"),
            # Small pilots were funded to March 2022; the others are still running (no end date).
            "end_date": np.datetime64(date(2022, 3, 31), "D") if s["scenario"] == "small" else np.datetime64("NaT"),
            "annual_cost": int(s["annual_cost"]), "funding_stream": s["funding"],
            "planned_places": int(5 * np.ceil(sizes[s["id"]] * 1.15 / 5)),
            "completion_min_sessions": completion_min_sessions(prof),
        })
    frame = pd.DataFrame(rows)
    frame["end_date"] = frame["end_date"].astype("datetime64[s]")
    return frame


def _area_rollout(specs: list[dict]) -> pd.DataFrame:
    rows = [{"intervention_id": s["id"], "area": d, "start_month": np.datetime64(s["area_rollout"]["start"], "D")}
            for s in specs if "area_rollout" in s for d in s["area_rollout"]["districts"]]
    return pd.DataFrame(rows, columns=["intervention_id", "area", "start_month"])


def _national_panel(seed: int) -> tuple[pd.DataFrame, list[dict]]:
    """The national panel of areas with and without a VRU (:mod:`evalkit.synth.national`), own stream."""
    from evalkit.synth.national import simulate_national_panel
    from evalkit.synth.settings import CITY_LOCALITY, county_districts

    return simulate_national_panel(stream(seed, PART_NATIONAL), own_vru=str(world_whole_area()),
                                   own_areas=[CITY_LOCALITY, *county_districts()])


def world_whole_area() -> str:
    """The demo VRU's whole-area name (the configuration's), which names it in the national panel."""
    from evalkit.data.config import load_config

    return load_config().whole_area_name


def simulate(seed: int, *, sizes: dict[str, int] | None = None, only: list[str] | None = None,
             pool_sizes: dict[str, int] | None = None, area_scale: float = 1.0,
             options: WorldOptions | None = None) -> World:
    """Simulate the whole world in memory.

    Parameters
    ----------
    seed
        Seed of every random stream.
    sizes
        Participants per intervention id, overriding the portfolio (tests use large n).
    only
        Simulate only these interventions (the pool and area counts are always made).
    pool_sizes, area_scale
        Comparison-pool sizes by source, and a population multiplier for area counts.
    options
        Off-by-default options (:class:`evalkit.synth.settings.WorldOptions`: selection on an unrecorded
        trait, a harmful comparison-design programme). Each part keeps its own random stream, so under any
        option the comparison pool, the area counts and every participant's records other than their offences
        are the same as without it, and with the defaults the world is exactly the shipped one.
    """
    options = options or WorldOptions()
    specs = list(portfolio())
    n_by_id = {s["id"]: int(s["participants"]) for s in specs}
    n_by_id.update(sizes or {})
    taken: set[str] = set()
    parts: dict[str, list[pd.DataFrame]] = {}
    truth_rows: list[dict] = []
    potential: dict[str, list[pd.DataFrame]] = {}
    for k, spec in enumerate(specs):
        if only is not None and spec["id"] not in only:
            continue
        tables, truth, pot = _simulate_intervention(seed, k, spec, n_by_id[spec["id"]], taken, options)
        for name, frame in tables.items():
            if frame is not None and len(frame):
                parts.setdefault(name, []).append(frame)
        truth_rows.extend(truth)
        for name, frame in pot.items():
            potential.setdefault(name, []).append(frame.assign(intervention_id=spec["id"]))
    pool, pool_off, pool_pot = _simulate_pool(seed, taken, pool_sizes or POOL_SIZES)
    parts.setdefault("offences", []).append(pool_off)
    rollouts = [(s["id"], d, date.fromisoformat(s["area_rollout"]["start"]), options.effects(s["id"]).area_rr)
                for s in specs if "area_rollout" in s for d in s["area_rollout"]["districts"]]
    kept = [s for s in specs if only is None or s["id"] in only]
    tables = {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}
    tables["interventions"] = _interventions_table(kept, n_by_id)
    tables["comparison_pool"] = pool
    tables["area_counts"] = simulate_area_counts(stream(seed, PART_AREA), rollouts, scale=area_scale)
    tables["area_rollout"] = _area_rollout(kept)
    tables["comparison_areas"], national_truth = _national_panel(seed)
    truth_rows.extend(national_truth)  # after every other row: the older rows stay byte-identical
    for name, columns in COLUMNS.items():           # a partial world still has every table
        if name != "truth" and name not in tables:
            tables[name] = pd.DataFrame(columns=columns)
    pot = {name: pd.concat(frames, ignore_index=True) for name, frames in potential.items()}
    pot["pool_offending"] = pool_pot
    return World(tables=tables, truth=pd.DataFrame(truth_rows), potential=pot)


__all__ = ["World", "simulate", "stream"]
