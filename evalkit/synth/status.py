"""Statuses at baseline and exit (ETE, substance use, relationships) and onward referrals.

NEET at exit and weekly-or-more substance use at exit follow logistic models of
the baseline status and latent risk, plus the intervention's log-odds shift; the
true effect is the expected risk difference over the eligible participants
(NEET: aged 16+ at start; substance use: aged 12+), computed exactly from those
models. Take-up of onward referrals is logistic in engagement plus a shift; its
truth is the expected share of referrals taken up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from evalkit.synth.people import pick

SUBSTANCE_LEVELS = np.array(["none", "less_than_monthly", "monthly", "weekly", "daily"], dtype=object)


@dataclass(frozen=True)
class StatusTruth:
    neet_rd: float | None
    substance_rd: float | None


def _ete_not_neet(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    n = len(age)
    under16 = pick(rng, {"in_education": 0.97, "other": 0.03}, n)
    teen = pick(rng, {"in_education": 0.72, "in_training": 0.18, "employed": 0.06, "other": 0.04}, n)
    adult = pick(rng, {"in_education": 0.3, "in_training": 0.15, "employed": 0.5, "other": 0.05}, n)
    return np.where(age < 16, under16, np.where(age < 18, teen, adult))


def simulate_statuses(rng: np.random.Generator, people: pd.DataFrame, has_exit: np.ndarray, wellbeing: np.ndarray,
                      wellbeing_shift: float, neet_shift: float, substance_shift: float,
                      ) -> tuple[pd.DataFrame, StatusTruth]:
    """Status rows for one intervention and the expected effects on NEET and substance use.

    ``people`` needs person_id, intervention_id, start_date, end_date, age, z, substance_misuse_concern.
    """
    n = len(people)
    age = people["age"].to_numpy(int)
    z = people["z"].to_numpy(float)
    # ETE
    neet0 = (age >= 16) & (rng.random(n) < expit(-1.5 + 0.6 * z))
    eta_neet = -1.8 + 2.4 * neet0 + 0.35 * z
    u = rng.random(n)
    neet1 = (age >= 16) & (u < expit(eta_neet + neet_shift))
    ete0 = np.where(neet0, "neet", _ete_not_neet(rng, age)).astype(object)
    ete1 = np.where(neet1, "neet", np.where(neet0, _ete_not_neet(rng, age), ete0)).astype(object)
    # Substance use (recorded from age 12)
    concern = people["substance_misuse_concern"].to_numpy(bool)
    lvl0 = np.clip(np.floor(rng.normal(0.4 + 1.6 * concern + 0.35 * z, 1.0)), 0, 4).astype(int)
    heavy0 = lvl0 >= 3
    eta_sub = -2.0 + 2.6 * heavy0 + 0.3 * z
    heavy1 = rng.random(n) < expit(eta_sub + substance_shift)
    lvl1 = np.where(heavy1, 3 + (rng.random(n) < 0.35), np.minimum(lvl0, rng.integers(0, 3, n)))
    # Relationship ratings follow wellbeing.
    def rating(w: np.ndarray) -> np.ndarray:
        return np.clip(np.round(3 + 1.8 * w + rng.normal(0, 0.8, n)), 1, 5).astype(int).astype(str)

    start = people["start_date"].to_numpy("datetime64[D]")
    end = people["end_date"].to_numpy("datetime64[D]")
    frames = []
    for tp, when, ete, sub, w, keep in (
        ("baseline", start, ete0, lvl0, wellbeing, np.ones(n, bool)),
        ("exit", end, ete1, lvl1, wellbeing + 0.05 + 0.5 * wellbeing_shift, has_exit),
    ):
        peer, fam = rating(w), rating(w - 0.1)
        for domain, values, ok in (("ete", ete, keep & (age >= 10)),
                                   ("substance_use", SUBSTANCE_LEVELS[sub], keep & (age >= 12)),
                                   ("peer_relationships", peer, keep), ("family_relationships", fam, keep)):
            frames.append(pd.DataFrame({"person_id": people["person_id"].to_numpy()[ok],
                                        "intervention_id": people["intervention_id"].to_numpy()[ok],
                                        "timepoint": tp, "status_date": when[ok], "domain": domain,
                                        "value": values[ok]}))
    older, teen = age >= 16, age >= 12
    neet_rd = float(np.mean(expit(eta_neet[older] + neet_shift) - expit(eta_neet[older]))) if older.any() else None
    sub_rd = (float(np.mean(expit(eta_sub[teen] + substance_shift) - expit(eta_sub[teen])))
              if teen.any() else None)
    return pd.concat(frames, ignore_index=True), StatusTruth(neet_rd, sub_rd)


REFERRALS_PER_PERSON = {"tertiary": 0.9, "secondary": 0.6, "universal": 0.2}


def simulate_onward_referrals(rng: np.random.Generator, people: pd.DataFrame, level: str, engagement: np.ndarray,
                              takeup_shift: float, data_end: np.datetime64) -> tuple[pd.DataFrame, float | None]:
    """Onward referrals (service by need) and the expected share taken up."""
    n = len(people)
    counts = rng.poisson(REFERRALS_PER_PERSON[level], size=n)
    rep = np.repeat(np.arange(n), counts)
    m = len(rep)
    if m == 0:
        return pd.DataFrame(columns=["person_id", "intervention_id", "service", "referral_date", "taken_up",
                                     "taken_up_date"]), None
    substance = people["substance_misuse_concern"].to_numpy(bool)[rep]
    looked_after = people["looked_after"].to_numpy(bool)[rep]
    age = people["age"].to_numpy(int)[rep]
    service = pick(rng, {"camhs": 0.3, "ete_provider": 0.2, "youth_service": 0.2, "housing": 0.05,
                         "social_care": 0.1, "other": 0.15}, m)
    service = np.where(substance & (rng.random(m) < 0.5), "substance_misuse", service)
    service = np.where(looked_after & (rng.random(m) < 0.3), "social_care", service)
    service = np.where((service == "housing") & (age < 16), "youth_service", service)
    start = people["start_date"].to_numpy("datetime64[D]")[rep]
    end = people["end_date"].to_numpy("datetime64[D]")[rep]
    span = np.where(np.isnat(end), 90, (end - start).astype("int64"))
    ref = start + np.floor(rng.random(m) * (np.maximum(span, 0) + 1)).astype(int)
    p_take = expit(0.3 + 0.5 * engagement[rep] + takeup_shift)
    taken = rng.random(m) < p_take
    taken_date = ref + rng.integers(7, 57, size=m)
    taken &= taken_date <= data_end
    frame = pd.DataFrame({"person_id": people["person_id"].to_numpy()[rep],
                          "intervention_id": people["intervention_id"].to_numpy()[rep],
                          "service": service.astype(object), "referral_date": ref.astype("datetime64[D]"),
                          "taken_up": taken,
                          "taken_up_date": np.where(taken, taken_date, np.datetime64("NaT")).astype("datetime64[D]")})
    return frame, float(np.mean(p_take))
