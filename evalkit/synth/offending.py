"""Proven offending before and after the index date, with a planted hazard-ratio effect.

Model (per person, time in days from the index date):

* time to the first proven offence ``T`` is Weibull with proportional hazards,
  ``S(t) = exp(-(t / LAMBDA)^K * exp(lp + log HR))``, where ``lp`` is a fixed
  function of the observed risk factors (:func:`linear_predictor`) and ``HR`` the
  intervention's hazard ratio (1 for the comparison pool and null interventions);
* after the first offence, further proven offences arrive as a Poisson process with
  rate ``RHO0 * exp(0.5 * lp) * HR`` per day;
* so 12-month proven reoffending follows a complementary log-log model in the risk
  factors (the discrete-time form of proportional hazards), not a logit: a hazard
  ratio is then exactly defined, and a risk difference follows from it.

The hazard ratio of an intervention is solved so that the expected 12-month
risk difference over its participants equals the planted target; the truth file
reports that risk difference, the hazard ratio and the implied difference in the
expected number of proven reoffences. Potential outcomes share the same uniform
draws (common random numbers), so each participant's counterfactual is known.

Offence dates, groups, outcomes, outcome dates and sentences are then written for
prior offences (exactly ``prior_offences`` proven ones in the 24 months before the
index date), older ones, the index offence of custody cohorts, offences that were
never proven, and offences after the index date up to :data:`DATA_END`.
Hand-written because no library simulates linked offending histories.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.stats import gamma

from evalkit.synth.people import pick
from evalkit.synth.settings import DATA_END, MAX_PROVEN_LAG_DAYS, default_config

K = 0.8                                   # Weibull shape (<1: risk highest soon after the index date)
BASE_12M = 0.11                           # 12-month risk when lp = 0
LAMBDA = 365.0 / (-np.log1p(-BASE_12M)) ** (1 / K)
RHO0 = 0.7 / 365.0                        # further proven offences per day after the first, lp = 0

COEF = {
    "log1p_prior": 0.85, "any_prior_violent": 0.35, "school_exclusion": 0.35, "looked_after": 0.3,
    "exploitation_concern": 0.4, "substance_misuse_concern": 0.35, "male": 0.55, "age_c": -0.03,
    "age_c2": -0.012, "under_10": -3.0,
}

VIOLENT_GROUPS = {"violence_with_injury": 0.35, "violence_without_injury": 0.33, "stalking_and_harassment": 0.12,
                  "robbery": 0.18, "homicide": 0.005}
OTHER_GROUPS = {"theft_offences": 0.28, "criminal_damage_and_arson": 0.16, "drug_offences": 0.2,
                "possession_of_weapons": 0.12, "public_order": 0.12, "sexual_offences": 0.03,
                "misc_crimes_against_society": 0.06, "death_or_serious_injury_driving": 0.01}
KNIFE_SHARE = {"homicide": 0.5, "violence_with_injury": 0.1, "violence_without_injury": 0.03, "robbery": 0.2,
               "sexual_offences": 0.02, "possession_of_weapons": 0.7}


def linear_predictor(frame: pd.DataFrame) -> np.ndarray:
    """Offending risk score from observed covariates only (``age`` and ``male`` columns too)."""
    age_c = frame["age"].to_numpy(float) - 17.0
    return (COEF["log1p_prior"] * np.log1p(frame["prior_offences"].to_numpy(float))
            + COEF["any_prior_violent"] * (frame["prior_violent_offences"].to_numpy() > 0)
            + COEF["school_exclusion"] * frame["school_exclusion"].to_numpy(float)
            + COEF["looked_after"] * frame["looked_after"].to_numpy(float)
            + COEF["exploitation_concern"] * frame["exploitation_concern"].to_numpy(float)
            + COEF["substance_misuse_concern"] * frame["substance_misuse_concern"].to_numpy(float)
            + COEF["male"] * frame["male"].to_numpy(float)
            + COEF["age_c"] * age_c + COEF["age_c2"] * age_c**2
            + COEF["under_10"] * (age_c < -7))


def risk_by(t: np.ndarray, lp: np.ndarray) -> np.ndarray:
    """P(first proven offence within ``t`` days)."""
    return -np.expm1(-((t / LAMBDA) ** K) * np.exp(lp))


def expected_count(w: np.ndarray, lp: np.ndarray, log_hr: float) -> np.ndarray:
    """Expected proven offences within ``w`` days: F(w) + rho * integral_0^w F(t) dt."""
    grid = np.linspace(0.0, 1.0, 129)[None, :] * w[:, None]
    f = risk_by(grid, (lp + log_hr)[:, None])
    integral = np.trapezoid(f, grid, axis=1)
    return f[:, -1] + RHO0 * np.exp(0.5 * lp + log_hr) * integral


def violent_share(frame: pd.DataFrame) -> np.ndarray:
    """P(a proven offence after the index date is violent), from observed covariates."""
    x = -1.0 + 0.6 * (frame["prior_violent_offences"].to_numpy() > 0) + 0.4 * frame["male"].to_numpy(float)
    return 1 / (1 + np.exp(-x))


def violent_risk_by(w: np.ndarray, lp: np.ndarray, log_hr: float, pv: np.ndarray) -> np.ndarray:
    """P(at least one proven violent offence within ``w`` days).

    The first offence (at T) is violent with probability ``pv``; later ones arrive at rate
    ``rho`` and are violent independently, so
    P(none) = S(w) + integral_0^w f(t) (1 - pv) exp(-rho pv (w - t)) dt.
    """
    grid = np.linspace(0.0, 1.0, 513)[None, :] * w[:, None]
    f = risk_by(grid, (lp + log_hr)[:, None])
    mid = 0.5 * (grid[:, 1:] + grid[:, :-1])
    rho = (RHO0 * np.exp(0.5 * lp + log_hr))[:, None]
    none_after = (1 - pv[:, None]) * np.exp(-rho * pv[:, None] * (w[:, None] - mid))
    p_none = (1 - f[:, -1]) + (np.diff(f, axis=1) * none_after).sum(axis=1)
    return 1 - p_none


def solve_log_hr(w: np.ndarray, lp: np.ndarray, target_rd: float) -> float:
    """Log hazard ratio giving mean 12-month risk difference ``target_rd`` over these people."""
    if target_rd == 0.0:
        return 0.0
    base = risk_by(w, lp)
    return float(brentq(lambda b: float(np.mean(risk_by(w, lp + b) - base)) - target_rd, -6.0, 6.0, xtol=1e-12))


@dataclass(frozen=True)
class OffendingTruth:
    """Expected effects over one intervention's participants."""

    log_hr: float
    reoffend_rd: float
    freq_diff: float
    violent_rd: float


def truth_for(w: np.ndarray, lp: np.ndarray, pv: np.ndarray, target_rd: float) -> OffendingTruth:
    """Solve the hazard ratio for ``target_rd`` and report the implied expected effects."""
    b = solve_log_hr(w, lp, target_rd)
    if b == 0.0:
        return OffendingTruth(0.0, 0.0, 0.0, 0.0)
    rd = float(np.mean(risk_by(w, lp + b) - risk_by(w, lp)))
    freq = float(np.mean(expected_count(w, lp, b) - expected_count(w, lp, 0.0)))
    violent = float(np.mean(violent_risk_by(w, lp, b, pv) - violent_risk_by(w, lp, 0.0, pv)))
    return OffendingTruth(b, rd, freq, violent)


def window_days(index: np.ndarray, months: int) -> np.ndarray:
    """Days from each index date to the same date ``months`` later (calendar months)."""
    idx = pd.DatetimeIndex(index)
    end = idx + pd.DateOffset(months=months)
    return np.asarray((end - idx).days, dtype=float)


def _lags(rng: np.random.Generator, n: int, cap: float) -> np.ndarray:
    """Days from offence to outcome: gamma(2, 35) truncated at ``cap`` (inverse-CDF draw)."""
    u = rng.random(n) * gamma.cdf(cap, 2.0, scale=35.0)
    return np.maximum(1, np.ceil(gamma.ppf(u, 2.0, scale=35.0))).astype(int)


@dataclass
class _Events:
    """Offence events under construction (one array entry per offence)."""

    person: list[np.ndarray]
    day: list[np.ndarray]          # datetime64[D]
    violent: list[np.ndarray]      # bool
    proven: list[np.ndarray]       # bool (planned: proven if the outcome arrives before DATA_END)
    capped: list[np.ndarray]       # bool: outcome lag capped (offence inside a follow-up window)

    def add(self, person, day, violent, proven, capped) -> None:
        n = len(person)
        self.person.append(np.asarray(person))
        self.day.append(np.asarray(day, dtype="datetime64[D]"))
        self.violent.append(np.broadcast_to(np.asarray(violent, dtype=bool), (n,)).copy())
        self.proven.append(np.broadcast_to(np.asarray(proven, dtype=bool), (n,)).copy())
        self.capped.append(np.broadcast_to(np.asarray(capped, dtype=bool), (n,)).copy())


def simulate_offences(rng: np.random.Generator, people: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Offence records and each person's potential outcomes.

    Parameters
    ----------
    people
        One row per person with ``person_id``, ``index_date`` and ``dob`` (datetime64[D]),
        ``age`` (at the index date), ``male``, the risk factors, ``log_hr`` (0 for the pool)
        and ``index_offence`` (bool). Optional (selection on an unrecorded trait,
        :class:`evalkit.synth.settings.Selection`): ``sel_log_hr``, the part of ``log_hr`` that is the trait
        rather than the programme (it stays in the counterfactual ``t0``), and ``pre_log_hr``, the trait's log
        rate ratio on proven offences 24-48 months before the index date. Both 0 when absent.

    Returns
    -------
    offences
        The offences table (contract columns).
    potential
        Per person: ``t0``/``t1`` (days to first proven offence without / with the
        intervention, same uniform draw) and ``lp``; for tests, never written.
    """
    n = len(people)
    index = people["index_date"].to_numpy("datetime64[D]")
    end = np.datetime64(DATA_END, "D")
    lp = linear_predictor(people)
    log_hr = people["log_hr"].to_numpy(float)
    sel = people["sel_log_hr"].to_numpy(float) if "sel_log_hr" in people else np.zeros(n)
    pre = people["pre_log_hr"].to_numpy(float) if "pre_log_hr" in people else np.zeros(n)
    e1 = rng.exponential(size=n)
    t0 = LAMBDA * (e1 / np.exp(lp + sel)) ** (1 / K)
    t1 = LAMBDA * (e1 / np.exp(lp + log_hr)) ** (1 / K)
    horizon = (end - index).astype(float)
    w12 = window_days(index, 12)
    ev = _Events([], [], [], [], [])
    pos = np.arange(n)
    pv_after = violent_share(people)

    # First proven offence after the index date, then further ones (Poisson process).
    first_day = np.ceil(t1)
    has_first = first_day <= horizon
    ev.add(pos[has_first], index[has_first] + first_day[has_first].astype(int),
           rng.random(int(has_first.sum())) < pv_after[has_first], True, first_day[has_first] <= w12[has_first])
    rate = RHO0 * np.exp(0.5 * lp + log_hr)
    more = rng.poisson(rate * np.maximum(horizon - t1, 0.0))
    rep = np.repeat(pos, more)
    times = t1[rep] + rng.random(len(rep)) * (horizon[rep] - t1[rep])
    days = np.ceil(times)
    ok = days <= horizon[rep]
    rep, days = rep[ok], days[ok]
    ev.add(rep, index[rep] + days.astype(int), rng.random(len(rep)) < pv_after[rep], True, days <= w12[rep])

    # Proven offences in the 24 months before the index date: exactly prior_offences of them.
    prior = people["prior_offences"].to_numpy(int)
    violent = people["prior_violent_offences"].to_numpy(int)
    rep = np.repeat(pos, prior)
    rank = np.concatenate([np.arange(k) for k in prior]) if len(rep) else np.zeros(0, int)
    w24 = -window_days(index, -24)  # days back to the same date 24 months earlier
    tenth = (pd.DatetimeIndex(people["dob"].to_numpy("datetime64[D]")) + pd.DateOffset(years=10)).to_numpy(
        "datetime64[D]")
    since_ten = (index - tenth).astype(int)
    avail = np.minimum(w24, since_ten)   # prior offences fall after the 10th birthday
    back = np.ceil(rng.random(len(rep)) * avail[rep]).astype(int)  # 1..avail days before
    ev.add(rep, index[rep] - back, rank < violent[rep], True, False)

    # Older proven offences (24-48 months before): they must not count as prior_offences. Matching does not use
    # this window, so it is the placebo outcome; an unrecorded trait visible before referral shows here.
    old = rng.poisson((0.12 * prior + 0.02) * np.exp(pre))
    rep = np.repeat(pos, old)
    w48 = -window_days(index, -48)
    back = (w24[rep] + np.ceil(rng.random(len(rep)) * (w48[rep] - w24[rep]))).astype(int)
    ev.add(rep, index[rep] - back, rng.random(len(rep)) < 0.35, True, False)

    # Offences never proven (no further action, community resolution), before and after.
    nfa_before = rng.poisson(0.15 * (prior + 0.2))
    rep = np.repeat(pos, nfa_before)
    back = np.ceil(rng.random(len(rep)) * w24[rep]).astype(int)
    ev.add(rep, index[rep] - back, rng.random(len(rep)) < 0.4, False, False)
    nfa_after = rng.poisson(0.1 * (rate * 365 + 0.1) * horizon / 365)
    rep = np.repeat(pos, nfa_after)
    days = np.ceil(rng.random(len(rep)) * horizon[rep]).astype(int)
    ev.add(rep, index[rep] + days, rng.random(len(rep)) < 0.4, False, False)

    # The index offence of people arrested on their index date (custody cohorts).
    arrested = people["index_offence"].to_numpy(bool)
    rep = pos[arrested]
    ev.add(rep, index[rep], rng.random(len(rep)) < 0.45, rng.random(len(rep)) < 0.5, True)

    offences = _records(rng, people, ev, end, tenth)
    potential = pd.DataFrame({"person_id": people["person_id"].to_numpy(), "lp": lp, "t0": t0, "t1": t1,
                              "w12": w12})
    return offences, potential


def _records(rng: np.random.Generator, people: pd.DataFrame, ev: _Events, end: np.datetime64,
             tenth: np.ndarray) -> pd.DataFrame:
    """Turn events into offence rows: group, knife flag, outcome, outcome date, sentence.

    Events before a person's 10th birthday are dropped (rare: the hazard under 10 is tiny).
    """
    person = np.concatenate(ev.person)
    day = np.concatenate(ev.day)
    keep = day >= tenth[person]
    person, day = person[keep], day[keep]
    violent = np.concatenate(ev.violent)[keep]
    proven = np.concatenate(ev.proven)[keep]
    capped = np.concatenate(ev.capped)[keep]
    m = len(person)
    group = np.where(violent, pick(rng, VIOLENT_GROUPS, m), pick(rng, OTHER_GROUPS, m))
    knife = rng.random(m) < np.array([KNIFE_SHARE.get(g, 0.0) for g in group])
    age = people["age"].to_numpy(int)[person] + ((day - people["index_date"].to_numpy("datetime64[D]")[person])
                                                 .astype(int) / 365.25).astype(int)
    youth = age < 18
    proven_kind = np.where(youth, pick(rng, {"youth_caution": 0.25, "youth_conditional_caution": 0.2,
                                              "conviction": 0.55}, m),
                           pick(rng, {"caution": 0.3, "conviction": 0.7}, m))
    unproven_kind = pick(rng, {"no_further_action": 0.75, "community_resolution": 0.25}, m)
    lag = np.where(capped, _lags(rng, m, MAX_PROVEN_LAG_DAYS), _lags(rng, m, 400.0))
    out_day = day + lag
    outcome = np.where(proven, proven_kind, unproven_kind).astype(object)
    late = out_day > end
    # An offence whose outcome would come after the extract is charged (court pending) or pending.
    charge_day = day + np.minimum(lag, 14)
    charged = late & proven & (charge_day <= end)
    outcome[late] = "pending"
    outcome[charged] = "charge"
    outcome_date = np.where(late, np.datetime64("NaT"), out_day)
    outcome_date = np.where(charged, charge_day, outcome_date)
    sentence = np.where(outcome == "conviction",
                        np.where(youth, pick(rng, {"custody": 0.06, "community": 0.7, "fine": 0.04,
                                                    "discharge": 0.2}, m),
                                 pick(rng, {"custody": 0.1, "community": 0.5, "fine": 0.2, "discharge": 0.2}, m)),
                        "none").astype(object)
    sentence[outcome == "pending"] = None
    allowed = set(default_config()["offence_groups"])
    assert set(np.unique(group)) <= allowed
    frame = pd.DataFrame({
        "person_id": people["person_id"].to_numpy()[person],
        "offence_date": day,
        "offence_group": group,
        "knife_enabled": knife,
        "outcome": outcome,
        "outcome_date": outcome_date.astype("datetime64[D]"),
        "sentence": sentence,
    })
    return frame
