"""A national panel of local areas with and without a VRU (the ``comparison_areas`` table).

About 300 local areas (community safety partnerships / local authorities),
quarterly from April 2013 to March 2023 (40 quarters), two indicators (police
recorded violence with injury; hospital admissions for assault). As nationally,
18 VRUs are funded from the quarter starting October 2019 and 2 more from April
2022; each covers a few areas. The demo VRU (the configuration's whole area)
is one of the 18 and covers its own districts (the configured localities).

Expected count = population x base rate x exp(a_i + l1_i f1_t + l2_i f2_t) x
season x effect, with

* a_i area level, higher in VRU areas (VRUs went where violence was highest:
  the selection a naive comparison suffers from);
* f1_t the national path (recording improvements raise recorded violence
  until 2019, the 2020 lockdowns cut it) with area loadings l1_i around one;
* f2_t a slow regional cycle with loadings around zero (areas differ in
  trend, so plain difference-in-differences is biased and weights matter);
* a summer peak; negative binomial counts (shape :data:`NB_SHAPE`);
* the planted VRU effect, a rate ratio from the VRU's first funded quarter
  (:data:`VRU_RATE_RATIO`), recorded in truth.csv.

Area codes are synthetic (``Z``-prefixed), names are invented except the demo
VRU's districts. Deterministic: one numpy PCG64 stream.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Rate ratio in VRU areas from the funding start, by indicator (the planted effect).
VRU_RATE_RATIO = {"violence_with_injury": 0.94, "hospital_assault_admissions": 0.92}
#: Quarterly rate per 100,000 residents at the start (before area levels and season).
BASE_RATE = {"violence_with_injury": 190.0, "hospital_assault_admissions": 11.0}
INDICATORS = tuple(VRU_RATE_RATIO)
N_AREAS = 300
FIRST_QUARTER, N_QUARTERS = "2013-04-01", 40
#: (number of VRUs, their funding start); areas per VRU are 2-4 (the demo VRU: its own districts).
COHORTS = ((18, "2019-10-01"), (2, "2022-04-01"))
NB_SHAPE = 60.0
_SYLLABLES = ("ash", "brook", "cal", "den", "el", "fen", "gar", "holm", "ing", "kel", "lan", "mor", "nor", "ock",
              "pen", "ris", "sel", "thorn", "wick", "york")
_ENDS = ("ford", "ton", "by", "ham", "field", "well", "dale", "bury", "stead", "mouth")


def quarters() -> pd.DatetimeIndex:
    return pd.date_range(FIRST_QUARTER, periods=N_QUARTERS, freq="QS-APR")


def _names(rng: np.random.Generator, n: int, taken: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        name = (_SYLLABLES[rng.integers(len(_SYLLABLES))] + _SYLLABLES[rng.integers(len(_SYLLABLES))]
                + _ENDS[rng.integers(len(_ENDS))]).capitalize()
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out


def _paths(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """National log-level f1 (recording rise to 2019, 2020 lockdown dip) and a slow regional cycle f2."""
    years = t / 4.0
    f1 = 0.55 * np.minimum(years, 6.5) / 6.5 - 0.05 * np.maximum(years - 6.5, 0)
    f1 = f1 - 0.25 * ((years >= 7.0) & (years < 7.25)) - 0.12 * ((years >= 7.5) & (years < 8.0))
    f2 = np.sin(2 * np.pi * years / 7.0)
    return f1, f2


def simulate_national_panel(rng: np.random.Generator, *, own_vru: str, own_areas: list[str],
                            n_areas: int = N_AREAS) -> tuple[pd.DataFrame, list[dict]]:
    """The ``comparison_areas`` table and its truth rows (one per indicator).

    Parameters
    ----------
    rng
        The generator's own stream.
    own_vru, own_areas
        The demo VRU's name (the configuration's whole area) and its areas (its districts).
    n_areas
        Areas in the panel (the demo VRU's included).
    """
    q = quarters()
    t = np.arange(len(q))
    f1, f2 = _paths(t)
    season = 1 + 0.08 * np.cos(2 * np.pi * (q.month.to_numpy() - 7) / 12)
    names = list(own_areas) + _names(rng, n_areas - len(own_areas), set(own_areas))
    vru_of: dict[str, tuple[str, str]] = {a: (own_vru, COHORTS[0][1]) for a in own_areas}
    pos = len(own_areas)
    k = 1
    for n_vrus, start in COHORTS:
        for _ in range(n_vrus - (1 if start == COHORTS[0][1] else 0)):
            size = int(rng.integers(2, 5))
            for a in names[pos:pos + size]:
                vru_of[a] = (f"VRU {k:02d}", start)
            pos += size
            k += 1
    rows = []
    truth_gap: dict[str, list[float]] = {ind: [] for ind in INDICATORS}
    for i, name in enumerate(names):
        vru, start = vru_of.get(name, ("", ""))
        pop0 = float(np.clip(np.exp(rng.normal(np.log(150_000), 0.5)), 40_000, 1_200_000))
        pop = np.round(pop0 * 1.006 ** (t / 4.0)).astype(np.int64)
        area_level = rng.normal(0.0, 0.3) + (0.35 if vru else 0.0)
        l1, l2 = rng.normal(1.0, 0.25), rng.normal(0.0, 0.08)
        on = np.asarray(q >= pd.Timestamp(start)) if vru else np.zeros(len(q), bool)
        for ind in INDICATORS:
            level = pop * BASE_RATE[ind] / 1e5 * np.exp(area_level + rng.normal(0, 0.1) + l1 * f1 + l2 * f2) * season
            mu = level * np.where(on, VRU_RATE_RATIO[ind], 1.0)
            count = rng.poisson(mu * rng.gamma(NB_SHAPE, 1 / NB_SHAPE, size=len(q)))
            if vru == own_vru:
                truth_gap[ind].extend((1e5 * (mu - level) / pop)[on].tolist())
            rows.append(pd.DataFrame({
                "area_code": f"Z{i + 1:08d}", "area_name": name, "period": q.values.astype("datetime64[D]"),
                "indicator": ind, "count": count.astype(np.int64), "population": pop, "vru": bool(vru),
                "vru_start": start, "vru_name": vru}))
    frame = pd.concat(rows, ignore_index=True)
    for col in ("vru_start", "vru_name"):  # empty for areas without a VRU
        frame[col] = frame[col].where(frame[col] != "", None)
    truth = []
    for ind in INDICATORS:
        truth.append({"intervention_id": own_vru, "outcome": f"comparison_areas:{ind}",
                      "scale": "rate ratio, VRU areas against their counterfactual from the funding start",
                      "true_effect": VRU_RATE_RATIO[ind], "scenario": "effective", "primary": False})
        truth.append({"intervention_id": own_vru, "outcome": f"comparison_areas:{ind}:rate_difference",
                      "scale": "difference in quarterly rate per 100,000 residents, the VRU's areas, mean over "
                               "funded quarters (expected values)",
                      "true_effect": float(np.mean(truth_gap[ind])), "scenario": "effective", "primary": False})
    return frame, truth


__all__ = ["COHORTS", "INDICATORS", "N_AREAS", "VRU_RATE_RATIO", "quarters", "simulate_national_panel"]
