"""Item-level SDQ and SWEMWBS responses from latent traits (graded response model).

Each person has five latent SDQ traits (emotional, conduct, hyperactivity, peer,
prosocial) and a latent wellbeing, all linked to a general difficulty factor that
rises with offending risk. At each timepoint the state is trait + noise (SD
:data:`STATE_SD`); each item is drawn from a graded (cumulative logit) model of the
state, so items of one subscale correlate and totals have realistic means, SDs
and internal consistency. The state noise plus item noise is what produces
regression to the mean when entry needs a high baseline score.

SDQ item numbers and subscales follow the published scoring (Goodman 1997;
sdqinfo.org): items 7, 11, 14, 21 and 25 are positively worded, so their *raw*
response (0 not true, 1 somewhat true, 2 certainly true, as stored) is scored
``2 - response``. SWEMWBS raw totals (7-35) convert to metric scores with the
published Rasch table (Stewart-Brown et al. 2009). Expected scores are computed
exactly given the latent traits (Gauss-Hermite over the state noise), which is how
true effects on observed-score scales are solved.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit

SUBSCALE_ITEMS: dict[str, tuple[int, ...]] = {
    "emotional": (3, 8, 13, 16, 24),
    "conduct": (5, 7, 12, 18, 22),
    "hyperactivity": (2, 10, 15, 21, 25),
    "peer": (6, 11, 14, 19, 23),
    "prosocial": (1, 4, 9, 17, 20),
}
REVERSED_ITEMS = (7, 11, 14, 21, 25)
DIFFICULTIES = ("emotional", "conduct", "hyperactivity", "peer")
SUBSCALES = DIFFICULTIES + ("prosocial",)

#: SWEMWBS raw total 7..35 -> metric score (Stewart-Brown et al. 2009 conversion table).
SWEMWBS_METRIC = np.array([
    7.00, 9.51, 11.25, 12.40, 13.33, 14.08, 14.75, 15.32, 15.84, 16.36, 16.88, 17.43, 17.98, 18.59, 19.25,
    19.98, 20.73, 21.54, 22.35, 23.21, 24.11, 25.03, 26.02, 27.03, 28.13, 29.31, 30.70, 32.55, 35.00])

STATE_SD = 0.45
DISCRIMINATION = 1.5
SWEMWBS_DISCRIMINATION = 2.4
#: Item location on the latent scale by subscale (0/1 and 1/2 thresholds sit +-0.7 around it).
SDQ_LOCATION = {"emotional": 0.85, "conduct": 0.95, "hyperactivity": 0.3, "peer": 1.2, "prosocial": -1.35}
ITEM_SPREAD = np.array([-0.3, -0.15, 0.0, 0.15, 0.3])
SWEMWBS_CUTS = np.array([-1.7, -0.75, 0.3, 1.3])    # P(response >= 2..5)
SWEMWBS_ITEM_SHIFT = np.array([-0.2, 0.1, 0.0, 0.25, -0.1, 0.05, -0.1])
#: Natural change by exit without any intervention (maturation), on the latent scale.
DRIFT_DIFFICULTY = -0.08
DRIFT_WELLBEING = 0.05

_GH_X, _GH_W = np.polynomial.hermite.hermgauss(15)
_GH_X = np.sqrt(2.0) * STATE_SD * _GH_X
_GH_W = _GH_W / np.sqrt(np.pi)


def latent_traits(rng: np.random.Generator, z: np.ndarray, female: np.ndarray) -> dict[str, np.ndarray]:
    """Latent SDQ traits and wellbeing for people with latent offending risk ``z``."""
    n = len(z)
    g = 0.6 * z + 0.8 * rng.standard_normal(n)
    e = rng.standard_normal((6, n))
    male = ~female
    return {
        "emotional": 0.55 * g + 0.84 * e[0] + 0.35 * female,
        "conduct": 0.7 * g + 0.71 * e[1] + 0.2 * male,
        "hyperactivity": 0.6 * g + 0.8 * e[2] + 0.2 * male,
        "peer": 0.5 * g + 0.87 * e[3],
        "prosocial": -0.4 * g + 0.92 * e[4] + 0.3 * female,
        "wellbeing": 0.45 * (-0.45 * g - 0.35 * e[0] + 0.82 * e[5]),
    }


def _sdq_probs(theta: np.ndarray, subscale: str) -> tuple[np.ndarray, np.ndarray]:
    """P(score >= 1), P(score >= 2) for the 5 items of a subscale; theta shape (..., 1)."""
    loc = SDQ_LOCATION[subscale] + ITEM_SPREAD
    return (expit(DISCRIMINATION * (theta - loc + 0.7)), expit(DISCRIMINATION * (theta - loc - 0.7)))


def sdq_items(u: np.ndarray, states: dict[str, np.ndarray]) -> np.ndarray:
    """Raw SDQ responses (n, 25) in published item order from uniforms ``u`` (n, 25)."""
    out = np.empty(u.shape, dtype=int)
    for sub in SUBSCALES:
        p1, p2 = _sdq_probs(states[sub][:, None], sub)
        cols = np.array(SUBSCALE_ITEMS[sub]) - 1
        score = (u[:, cols] < p1).astype(int) + (u[:, cols] < p2).astype(int)
        reverse = np.isin(SUBSCALE_ITEMS[sub], REVERSED_ITEMS)
        out[:, cols] = np.where(reverse, 2 - score, score)
    return out


def expected_subscale(theta: np.ndarray, subscale: str) -> np.ndarray:
    """Expected subscale score (0-10) given trait ``theta``, integrating the state noise."""
    state = theta[:, None, None] + _GH_X[None, :, None]
    p1, p2 = _sdq_probs(state, subscale)
    return ((p1 + p2).sum(axis=2) * _GH_W).sum(axis=1)


def _swemwbs_cat_probs(state: np.ndarray) -> np.ndarray:
    """Category probabilities (..., 7 items, 5 categories) for wellbeing state (..., 1)."""
    cum = expit(SWEMWBS_DISCRIMINATION * (state[..., None] - SWEMWBS_CUTS - SWEMWBS_ITEM_SHIFT[:, None]))
    upper = np.concatenate([np.ones(cum.shape[:-1] + (1,)), cum], axis=-1)
    lower = np.concatenate([cum, np.zeros(cum.shape[:-1] + (1,))], axis=-1)
    return upper - lower


def swemwbs_items(u: np.ndarray, wellbeing: np.ndarray) -> np.ndarray:
    """SWEMWBS responses (n, 7), each 1-5, from uniforms ``u`` (n, 7)."""
    cum = expit(SWEMWBS_DISCRIMINATION * (wellbeing[:, None, None] - SWEMWBS_CUTS - SWEMWBS_ITEM_SHIFT[:, None]))
    return 1 + (u[:, :, None] < cum).sum(axis=2)


def _metric_given_state(state: np.ndarray) -> np.ndarray:
    """E[metric score | wellbeing state] from the exact distribution of the raw total."""
    probs = _swemwbs_cat_probs(state[:, None])             # (n, 7 items, 5 categories)
    dist = np.ones((len(state), 1))
    for item in range(7):
        p = probs[:, item, :]
        new = np.zeros((len(state), dist.shape[1] + 4))
        for k in range(5):
            new[:, k:k + dist.shape[1]] += dist * p[:, k:k + 1]
        dist = new
    return dist @ SWEMWBS_METRIC                           # raw totals 7..35 in order


# E[metric | state] on a fine grid: interpolation error < 1e-4 metric points, and fast enough to
# solve effects for tens of thousands of people.
_STATE_GRID = np.linspace(-8.0, 8.0, 4001)
_METRIC_ON_GRID = _metric_given_state(_STATE_GRID)


def expected_swemwbs_metric(wellbeing: np.ndarray) -> np.ndarray:
    """Expected SWEMWBS metric score given latent wellbeing, integrating the state noise."""
    state = wellbeing[:, None] + _GH_X[None, :]
    return np.interp(state, _STATE_GRID, _METRIC_ON_GRID) @ _GH_W


def solve_shift(expect, theta: np.ndarray, target: float) -> float:
    """Latent shift whose mean change in the expected score equals ``target``."""
    if target == 0.0 or len(theta) == 0:
        return 0.0
    base = float(np.mean(expect(theta)))
    return float(brentq(lambda d: float(np.mean(expect(theta + d))) - base - target, -6.0, 6.0, xtol=1e-10))


def sdq_raw_total(items: np.ndarray) -> np.ndarray:
    """Total difficulties (0-40) from complete raw responses (n, 25)."""
    scored = items.astype(float).copy()
    cols = np.array(REVERSED_ITEMS) - 1
    scored[:, cols] = 2 - scored[:, cols]
    diff_cols = np.array([i for s in DIFFICULTIES for i in SUBSCALE_ITEMS[s]]) - 1
    return scored[:, diff_cols].sum(axis=1)
