"""Which questionnaires each participant fills in, when, and what is missing.

Plan: SDQ self-report (SDQ_S) for ages 11-17, parent report (SDQ_P) under 11 and
for every parenting-programme child; no SDQ from 18. SWEMWBS from age 11 (it is
validated from 13; services use it from secondary-school age). Baseline near the
start; exit near the end for those who leave with an exit interview; follow-up
3-6 months after exit for some mentoring and counselling participants.

Missingness: whole questionnaires are skipped at random (3%), single items are
left blank at random (1.5%; SWEMWBS is scored only when all 7 items are answered,
so this leaves ~81% of before/after pairs complete); attrition at exit is NOT at
random: it is likelier for those who disengaged, left early or had worse baseline
scores. About 75% of those with a baseline and an end date complete an exit
questionnaire (about 95% of completers, 60% of those who disengaged, 43% of other
leavers, at average baseline severity), as in well-run services that collect the
exit questionnaire in the last session.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

ITEM_MISSING = 0.015
FORM_MISSING = 0.03
FOLLOW_UP_TYPES = {"mentoring": 0.45, "counselling": 0.4}


def sdq_version(itype: str, age: np.ndarray) -> np.ndarray:
    """Instrument code per participant ("" when no SDQ applies)."""
    if itype == "parenting":
        return np.full(len(age), "SDQ_P", dtype=object)
    return np.where(age < 11, "SDQ_P", np.where(age <= 17, "SDQ_S", "")).astype(object)


def exit_probability(reason: np.ndarray, severity: np.ndarray) -> np.ndarray:
    """P(an exit questionnaire) by exit reason and baseline severity (standardised)."""
    base = np.select([reason == "completed", reason == "disengaged", reason == "ongoing"], [3.0, 0.4, -99.0], -0.3)
    return expit(base - 0.5 * severity)


def item_rows(rng: np.random.Generator, person_id: np.ndarray, intervention_id: str, instrument: np.ndarray,
              timepoint: str, when: np.ndarray, responses: np.ndarray, keep: np.ndarray) -> pd.DataFrame:
    """Long item-level rows for the people in ``keep``; blanks a few items at random."""
    idx = np.nonzero(keep)[0]
    k = responses.shape[1]
    resp = responses[idx].reshape(-1).astype(float)
    resp[rng.random(len(resp)) < ITEM_MISSING] = np.nan
    return pd.DataFrame({
        "person_id": np.repeat(person_id[idx], k),
        "intervention_id": intervention_id,
        "instrument": np.repeat(instrument[idx], k),
        "item": np.tile(np.arange(1, k + 1).astype(str), len(idx)),
        "response": pd.array(resp, dtype="Float64").astype("Int64"),
        "timepoint": timepoint,
        "measurement_date": np.repeat(when[idx], k),
    })
