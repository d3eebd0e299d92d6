"""Young people: demographics, locality, dates and the risk factors used for matching.

Participants and the comparison pool are drawn from the same covariate model;
they differ only in the mean of a latent risk ``z`` (by prevention level, or by
pool source). Risk factors are noisy functions of ``z`` while offending later
depends on the *observed* risk factors only, so selection into an intervention is
selection on observables: matching on the risk factors recovers the truth, a
naive comparison does not.

Ethnicity shares (``demo_world.yaml``) are rounded from the ONS 2021 Census for
the one-locality area and the district area, nudged towards the younger, more
diverse population.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy.special import expit

from evalkit.synth.settings import (CITY_LOCALITY, DISTRICT_AREA, DISTRICT_WEIGHTS, FY_END, FY_START,
                                    ONE_LOCALITY_AREA, WHOLE_AREA, default_config, world)

#: Ethnicity shares in the one-locality area and in the district area (demo_world.yaml).
ETHNICITY_CITY = {str(k): float(v) for k, v in world()["ethnicity"]["one_locality_area"].items()}
ETHNICITY_COUNTY = {str(k): float(v) for k, v in world()["ethnicity"]["district_area"].items()}

# Months of 2020/21 weighted for how many young people started: the first lockdown (April-May 2020)
# slowed referrals.
_MONTH_WEIGHT = {4: 0.55, 5: 0.75, 6: 0.95}


def person_ids(rng: np.random.Generator, n: int, taken: set[str]) -> np.ndarray:
    """Pseudonymised ids: "P" + 16 hex characters from the generator, unique across ``taken``."""
    out: list[str] = []
    while len(out) < n:
        raw = rng.integers(0, 2**63 - 1, size=n - len(out), dtype=np.int64)
        for v in raw:
            pid = f"P{int(v):016x}"
            if pid not in taken:
                taken.add(pid)
                out.append(pid)
    return np.array(out, dtype=object)


def draw_ages(rng: np.random.Generator, n: int, lo: int, hi: int, mean: float) -> np.ndarray:
    """Integer ages in [lo, hi] from a scaled beta distribution with the given mean."""
    p = (mean - lo + 0.5) / (hi - lo + 1)
    a = np.floor(lo + (hi - lo + 1) * rng.beta(4 * p, 4 * (1 - p), size=n)).astype(int)
    return np.clip(a, lo, hi)


def draw_sex(rng: np.random.Generator, n: int, p_male: float) -> np.ndarray:
    """Sex codes; a small share recorded as other or not known."""
    probs = np.array([(1 - p_male) * 0.988, p_male * 0.988, 0.004, 0.008])
    return np.array(["female", "male", "other", "not_known"], dtype=object)[
        rng.choice(4, size=n, p=probs / probs.sum())
    ]


def draw_localities(rng: np.random.Generator, n: int, area: str) -> np.ndarray:
    """Localities for an intervention area (either area, or both together) or one district."""
    districts = list(DISTRICT_WEIGHTS)
    w = np.array([DISTRICT_WEIGHTS[d] for d in districts])
    county = np.array(districts, dtype=object)[rng.choice(len(districts), size=n, p=w / w.sum())]
    if area == ONE_LOCALITY_AREA:
        return np.full(n, CITY_LOCALITY, dtype=object)
    if area == DISTRICT_AREA:
        return county
    if area == WHOLE_AREA:
        return np.where(rng.random(n) < float(world()["one_locality_share"]), CITY_LOCALITY, county)
    return np.full(n, area, dtype=object)  # a single district


def draw_ethnicity(rng: np.random.Generator, localities: np.ndarray, *, unknown: dict[str, float]) -> np.ndarray:
    """ONS 2021 detailed ethnicity by locality, with a share of ``unknown`` codes."""
    out = np.empty(len(localities), dtype=object)
    for is_city, table in ((True, ETHNICITY_CITY), (False, ETHNICITY_COUNTY)):
        mask = (localities == CITY_LOCALITY) == is_city
        codes = list(table) + list(unknown)
        probs = np.array([table[c] * (1 - sum(unknown.values())) / sum(table.values()) for c in table]
                         + list(unknown.values()))
        out[mask] = np.array(codes, dtype=object)[rng.choice(len(codes), size=int(mask.sum()), p=probs / probs.sum())]
    return out


def ethnicity_group(detailed: np.ndarray) -> np.ndarray:
    """The ONS high-level group of each detailed code (unknown codes -> not_known)."""
    lookup = {code: group for group, codes in default_config()["ethnicity"].items() for code in codes}
    return np.array([lookup.get(c, "not_known") for c in detailed], dtype=object)


def draw_index_dates(rng: np.random.Generator, n: int, last: date = FY_END) -> np.ndarray:
    """Dates in 2020/21 (up to ``last``), fewer during the first lockdown."""
    days = pd.date_range(FY_START, last, freq="D")
    w = np.array([_MONTH_WEIGHT.get(d.month, 1.0) for d in days])
    return days.values[rng.choice(len(days), size=n, p=w / w.sum())].astype("datetime64[D]")


def dates_of_birth(rng: np.random.Generator, index: np.ndarray, ages: np.ndarray) -> np.ndarray:
    """Dates of birth giving exactly ``ages`` completed years on ``index``."""
    out = np.empty(len(index), dtype="datetime64[D]")
    offsets = rng.integers(1, 365, size=len(index))
    for i, (d, a, off) in enumerate(zip(index.astype(object), ages, offsets, strict=True)):
        leap_day = d.month == 2 and d.day == 29
        anniversary = date(d.year - int(a), 2, 28) if leap_day else d.replace(year=d.year - int(a))
        out[i] = np.datetime64(anniversary - timedelta(days=int(off)), "D")
    return out


def age_on(dob: np.ndarray, when: np.ndarray) -> np.ndarray:
    """Completed years between two arrays of datetime64[D] dates."""
    b, w = pd.DatetimeIndex(dob), pd.DatetimeIndex(when)
    before = (w.month < b.month) | ((w.month == b.month) & (w.day < b.day))
    return np.asarray(w.year - b.year - before.astype(int))


def risk_factors(rng: np.random.Generator, z: np.ndarray, age: np.ndarray, male: np.ndarray) -> dict[str, np.ndarray]:
    """Observed risk factors as noisy functions of the latent risk ``z``.

    ``prior_offences`` is the number of proven offences in the 24 months before the
    index date (the offences table holds exactly that many), ``prior_violent_offences``
    how many of them were violent.
    """
    young = np.maximum(0, 14 - age)
    # No one can offend before their 10th birthday (age of criminal responsibility in England):
    # scale by the share of the 24-month window after it.
    exposure = np.clip((age - 10) / 2, 0, 1)
    prior = rng.poisson(np.exp(-0.9 + 0.85 * z - 0.3 * young) * exposure)
    violent = rng.binomial(prior, expit(-0.7 + 0.35 * z + 0.4 * male))
    exclusion = (rng.random(len(z)) < expit(-2.2 + 0.9 * z)) & (age >= 7)
    looked_after = rng.random(len(z)) < expit(-2.9 + 0.7 * z)
    exploitation = rng.random(len(z)) < expit(-2.6 + 0.9 * z + 0.3 * ((age >= 12) & (age <= 18)))
    substance = (rng.random(len(z)) < expit(-2.4 + 0.7 * z + 0.12 * (age - 15))) & (age >= 11)
    return {
        "prior_offences": prior,
        "prior_violent_offences": violent,
        "school_exclusion": exclusion,
        "looked_after": looked_after,
        "exploitation_concern": exploitation,
        "substance_misuse_concern": substance,
    }


def pick(rng: np.random.Generator, shares: dict[str, float], n: int) -> np.ndarray:
    """Draw ``n`` category codes with the given shares."""
    codes = list(shares)
    p = np.array([shares[c] for c in codes])
    return np.array(codes, dtype=object)[rng.choice(len(codes), size=n, p=p / p.sum())]
