"""Sessions delivered, attendance, drop-out and the reason for leaving.

Each participant has a latent engagement (lower for higher baseline severity and
higher risk). Sessions are planned evenly over the programme length; at each
session a participant may drop out (hazard falling with engagement) and, while
still enrolled, attends with a probability rising with engagement. Leaving early
is mostly disengagement, sometimes moving, transfer or exclusion. Those who stay
to the end complete if they attended at least ``completion_min_sessions``.
During the 2020/21 lockdowns a share of face-to-face sessions moved online.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy.special import expit

from evalkit.synth.people import pick
from evalkit.synth.settings import TypeProfile

LOCKDOWNS = ((date(2020, 4, 1), date(2020, 6, 14)), (date(2020, 11, 5), date(2020, 12, 2)),
             (date(2021, 1, 5), date(2021, 3, 7)))
DURATION = {"one_to_one": (45, 90), "group": (60, 120), "phone_online": (15, 45), "family": (45, 90),
            "drop_in": (30, 180)}
EARLY_EXIT = {"disengaged": 0.68, "moved": 0.12, "transferred": 0.08, "excluded": 0.06, "other": 0.06}
ONGOING_TYPES = {"youth_work", "diversionary_activity", "mentoring"}


def completion_min_sessions(profile: TypeProfile) -> int:
    """Sessions a participant must attend to count as having completed (60% of planned)."""
    return int(np.ceil(0.6 * profile.sessions))


@dataclass(frozen=True)
class Engagement:
    """Per-participant engagement outcome (arrays aligned with the participants)."""

    end_date: np.ndarray          # datetime64[D], NaT if ongoing
    exit_reason: np.ndarray       # object codes
    attended: np.ndarray          # int: sessions attended
    engagement: np.ndarray        # latent engagement
    contacts: pd.DataFrame


def simulate_engagement(rng: np.random.Generator, itype: str, profile: TypeProfile, person_id: np.ndarray,
                        intervention_id: str, start: np.ndarray, severity: np.ndarray,
                        z: np.ndarray) -> Engagement:
    """Contacts, exit reasons and end dates for one intervention's participants."""
    n = len(start)
    k = profile.sessions
    eng = 0.8 * rng.standard_normal(n) - 0.3 * severity - 0.2 * z
    spacing = profile.weeks * 7.0 / k
    offsets = np.round(np.arange(k) * spacing).astype(int)[None, :] + rng.integers(-2, 3, size=(n, k))
    offsets[:, 0] = 0
    offsets = np.maximum.accumulate(np.maximum(offsets, 0), axis=1)
    hazard = expit(-3.4 - 0.8 * eng)
    drop_u = rng.random((n, k))
    drop_u[:, 0] = 1.0  # nobody drops out before the first session
    dropped = drop_u < hazard[:, None]
    delivered = np.where(dropped.any(axis=1), dropped.argmax(axis=1), k)
    attend = rng.random((n, k)) < expit(1.6 + 0.9 * eng)[:, None]
    attend[:, 0] = True
    in_prog = np.arange(k)[None, :] < delivered[:, None]
    attended = (attend & in_prog).sum(axis=1)
    min_sessions = completion_min_sessions(profile)
    early = delivered < k
    reason = np.where(early, pick(rng, EARLY_EXIT, n),
                      np.where(attended >= min_sessions, "completed", "disengaged")).astype(object)
    if itype in ONGOING_TYPES:
        ongoing = (~early) & (rng.random(n) < 0.05)
        reason[ongoing] = "ongoing"
    last = start + offsets[np.arange(n), delivered - 1]
    close = np.where(reason == "completed", 0, rng.integers(7, 29, size=n))
    end = (last + close).astype("datetime64[D]")
    end[reason == "ongoing"] = np.datetime64("NaT")
    contacts = _contacts(rng, profile, person_id, intervention_id, start, offsets, in_prog, attend)
    return Engagement(end, reason, attended, eng, contacts)


def _contacts(rng, profile, person_id, intervention_id, start, offsets, in_prog, attend) -> pd.DataFrame:
    rows, cols = np.nonzero(in_prog)
    day = start[rows] + offsets[rows, cols]
    ctype = pick(rng, profile.contact_types, len(rows))
    d = pd.DatetimeIndex(day).date
    locked = np.zeros(len(rows), dtype=bool)
    for a, b in LOCKDOWNS:
        locked |= (d >= a) & (d <= b)
    moved = locked & (ctype != "phone_online") & (rng.random(len(rows)) < 0.5)
    ctype[moved] = "phone_online"
    lo = np.array([DURATION[c][0] for c in ctype])
    hi = np.array([DURATION[c][1] for c in ctype])
    minutes = (5 * np.floor((lo + rng.random(len(rows)) * (hi - lo)) / 5)).astype(int)
    was_there = attend[rows, cols]
    frame = pd.DataFrame({
        "person_id": person_id[rows],
        "intervention_id": intervention_id,
        "contact_date": day.astype("datetime64[D]"),
        "contact_type": ctype,
        "duration_minutes": pd.array(np.where(was_there, minutes, 0), dtype="Int64"),
        "attended": was_there,
    })
    frame.loc[~was_there, "duration_minutes"] = pd.NA
    return frame
