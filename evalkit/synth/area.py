"""Monthly area counts, April 2017 - March 2022, with a planted area-programme effect.

Counts are drawn per locality (the one-locality area's locality and each
district of the district area; ``demo_world.yaml``) and summed into the two
areas, so areas always roll up. Expected count =
population at risk x base rate x locality factor x trend (level per financial
year, by indicator) x seasonality (summer peak) x COVID factor (spring 2020 and
the winter lockdowns) x programme effect; counts are negative binomial
(Poisson-gamma, shape :data:`NB_SHAPE`) so they are a little over-dispersed. All
localities share the same trend, season and COVID factors, so parallel trends
hold and a difference-in-differences design recovers the programme rate ratio.
The 2020/21 knife-crime level is solved so that the expected whole-area total is
:data:`KNIFE_2020_VS_BASELINE` of the 2017/18-2019/20 average (board report:
13% lower); then, as when synthetic data are calibrated to a published total, the
drawn 2020/21 knife-crime counts are raked to that headline (a few offences added
in proportion to the expected counts, or removed at random), because Poisson noise
on ~1,000 offences a year alone moves the fall by +-4 points.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from evalkit.synth.settings import (AREA_FIRST_MONTH, AREA_LAST_MONTH, CITY_LOCALITY, DISTRICT_AREA,
                                    ONE_LOCALITY_AREA, POP_10_24_2017, POP_GROWTH, county_districts, world)

INDICATORS = ("serious_violence", "knife_crime", "violence_with_injury", "homicide",
              "hospital_assault_admissions", "ambulance_assault_callouts")
#: Monthly rate per 1,000 population at risk in 2017/18 in the one-locality area (before seasonality).
BASE_RATE = {"serious_violence": 1.65, "knife_crime": 0.5, "violence_with_injury": 4.4, "homicide": 0.0045,
             "hospital_assault_admissions": 0.13, "ambulance_assault_callouts": 1.3}
#: Each locality's rate relative to the one-locality area's (demo_world.yaml).
LOCALITY_FACTOR = {str(k): float(v) for k, v in world()["locality_factor"].items()}
#: Level by financial year 2017/18 .. 2021/22 (2020/21 knife level solved, see module docstring).
TREND = {"serious_violence": (1.0, 1.05, 0.96, 0.82, 0.84), "knife_crime": (1.0, 1.06, 0.97, None, 0.85),
         "violence_with_injury": (1.0, 1.03, 0.97, 0.78, 0.88), "homicide": (1.0, 1.0, 1.0, 0.9, 0.9),
         "hospital_assault_admissions": (1.0, 1.02, 0.95, 0.72, 0.8),
         "ambulance_assault_callouts": (1.0, 1.02, 1.0, 0.97, 0.98)}
KNIFE_2020_VS_BASELINE = 0.87
COVID = {date(2020, 4, 1): 0.62, date(2020, 5, 1): 0.72, date(2020, 6, 1): 0.88, date(2020, 11, 1): 0.9,
         date(2021, 1, 1): 0.85, date(2021, 2, 1): 0.88}
NB_SHAPE = 150.0
PROGRAMME_INDICATORS = ("serious_violence", "knife_crime")


def months() -> pd.DatetimeIndex:
    return pd.date_range(AREA_FIRST_MONTH, AREA_LAST_MONTH, freq="MS")


def fin_year_index(m: pd.DatetimeIndex) -> np.ndarray:
    """0 for 2017/18, 1 for 2018/19, ..."""
    return np.asarray(m.year - 2017 - (m.month < 4).astype(int))


def season(m: pd.DatetimeIndex) -> np.ndarray:
    """Summer peak (July), about +-10%."""
    return np.asarray(1 + 0.1 * np.cos(2 * np.pi * (m.month - 7) / 12))


def population(locality: str, m: pd.DatetimeIndex) -> np.ndarray:
    """Population aged 10-24, constant within a financial year, growing slowly."""
    return np.round(POP_10_24_2017[locality] * (1 + POP_GROWTH) ** fin_year_index(m)).astype(np.int64)


def _knife_level_2020(m: pd.DatetimeIndex, effect: dict[str, np.ndarray]) -> float:
    """2020/21 knife-crime trend level giving the board-report fall against the 3-year average."""
    fy = fin_year_index(m)
    covid = np.array([COVID.get(d.date(), 1.0) for d in m])
    levels = np.array([1.0, 1.06, 0.97, 1.0, 0.85])
    total = np.zeros(len(m))
    for loc in [CITY_LOCALITY, *county_districts()]:
        total += (population(loc, m) * BASE_RATE["knife_crime"] / 1000 * LOCALITY_FACTOR[loc] * season(m)
                  * effect.get(loc, np.ones(len(m))))
    base = sum(total[fy == y].sum() * levels[y] for y in range(3)) / 3
    in_year = (total * covid)[fy == 3].sum()
    return KNIFE_2020_VS_BASELINE * base / in_year


def programme_effects(rollouts: list[tuple[str, str, date, float]]) -> dict[str, np.ndarray]:
    """Multiplicative effect by locality and month from (intervention, district, start, rate ratio)."""
    m = months()
    out: dict[str, np.ndarray] = {}
    for _iid, district, start, rr in rollouts:
        factor = np.where(m >= pd.Timestamp(start), rr, 1.0)
        out[district] = out.get(district, np.ones(len(m))) * factor
    return out


def _rake_knife_2020(rng: np.random.Generator, counts: dict[tuple[str, str], np.ndarray],
                     expected: dict[str, np.ndarray], fy: np.ndarray) -> None:
    """Make the drawn 2020/21 whole-area knife crime exactly the board-report fall (in place).

    The gap to ``KNIFE_2020_VS_BASELINE`` x the drawn 2017/18-2019/20 average (rounded to a
    whole offence) is added across 2020/21 locality-months in proportion to their expected
    counts (multinomial) or removed at random from the offences drawn (multivariate
    hypergeometric), so the programme's rate ratio holds in expectation.
    """
    in_year = np.nonzero(fy == 3)[0]
    locs = list(expected)
    drawn = np.concatenate([counts[(loc, "knife_crime")][in_year] for loc in locs])
    base = sum(counts[(loc, "knife_crime")][fy <= 2].sum() for loc in locs) / 3
    gap = int(round(KNIFE_2020_VS_BASELINE * base)) - int(drawn.sum())
    if gap > 0:
        weights = np.concatenate([expected[loc][in_year] for loc in locs])
        drawn = drawn + rng.multinomial(gap, weights / weights.sum())
    elif gap < 0:
        drawn = drawn - rng.multivariate_hypergeometric(drawn, -gap)
    for k, loc in enumerate(locs):
        counts[(loc, "knife_crime")][in_year] = drawn[k * len(in_year):(k + 1) * len(in_year)]


def simulate_area_counts(rng: np.random.Generator, rollouts: list[tuple[str, str, date, float]],
                         scale: float = 1.0) -> pd.DataFrame:
    """Monthly counts for both areas and each district of the district area (contract columns).

    ``scale`` multiplies populations (and so counts); tests use a large value to check
    the planted rate ratio with little noise.
    """
    m = months()
    fy = fin_year_index(m)
    covid = np.array([COVID.get(d.date(), 1.0) for d in m])
    effects = programme_effects(rollouts)
    knife_2020 = _knife_level_2020(m, effects)
    localities = [CITY_LOCALITY, *county_districts()]
    rows = []
    counts: dict[tuple[str, str], np.ndarray] = {}
    knife_mu: dict[str, np.ndarray] = {}
    pops = {loc: np.round(population(loc, m) * scale).astype(np.int64) for loc in localities}
    for ind in INDICATORS:
        levels = np.array([knife_2020 if v is None else v for v in TREND[ind]])
        for loc in localities:
            mu = (pops[loc] * BASE_RATE[ind] / 1000 * LOCALITY_FACTOR[loc] * levels[fy] * season(m) * covid)
            if ind in PROGRAMME_INDICATORS:
                mu = mu * effects.get(loc, 1.0)
            if ind == "knife_crime":
                knife_mu[loc] = mu
            counts[(loc, ind)] = rng.poisson(mu * rng.gamma(NB_SHAPE, 1 / NB_SHAPE, size=len(m)))
    _rake_knife_2020(rng, counts, knife_mu, fy)
    districts = county_districts()
    for ind in INDICATORS:
        series = {ONE_LOCALITY_AREA: (counts[(CITY_LOCALITY, ind)], pops[CITY_LOCALITY]),
                  DISTRICT_AREA: (sum(counts[(d, ind)] for d in districts), sum(pops[d] for d in districts))}
        series.update({d: (counts[(d, ind)], pops[d]) for d in districts})
        for area, (c, p) in series.items():
            rows.append(pd.DataFrame({"area": area, "month": m.values.astype("datetime64[D]"), "indicator": ind,
                                      "count": c.astype(np.int64), "population": p}))
    return pd.concat(rows, ignore_index=True)
