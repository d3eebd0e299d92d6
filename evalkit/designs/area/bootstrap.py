"""Wild (cluster) score bootstrap for one coefficient of a Poisson rate model.

With few clusters (the 8 localities of a VRU) cluster-robust Wald tests
over-reject. For linear models the wild cluster restricted bootstrap is the
usual remedy (Cameron, Gelbach & Miller 2008); for a Poisson GLM, re-fitting
the model in every draw is needless: Kline & Santos (2012) perturb the
cluster score contributions evaluated at the null-restricted estimate.
No maintained Python library implements the score bootstrap for GLMs
(``wildboottest`` covers OLS only), so it is written here; the observed score
statistic is checked against statsmodels' ``score_test`` in the tests.

Let b~ be the restricted MLE (coefficient j fixed at its null value), S_g the
cluster sums of the full-model scores x_i (y_i - mu~_i), H = X' diag(mu~) X,
and s_g = S_gj - H_j,-j H_-j,-j^-1 S_g,-j the cluster scores of coefficient j
with the nuisance parameters partialled out. The statistic is
T = (sum_g s_g)^2 / sum_g s_g^2 and its bootstrap draws are
T* = (sum_g w_g s_g)^2 / sum_g (w_g s_g)^2 with cluster weights w_g:

* ``"rademacher"`` (+1/-1): all 2^G sign vectors are enumerated when G <= 12
  (an exact randomisation distribution, no seed);
* ``"webb"`` six-point weights +-sqrt(1/2), +-1, +-sqrt(3/2) (Webb 2014),
  recommended with fewer than about 12 clusters, where Rademacher has too
  few distinct draws; drawn ``n_boot`` times from a seeded generator.

p = share of draws with T* >= T. A confidence interval is the set of null
values not rejected at ``alpha`` (test inversion, same draws at every value).

Caveat (MacKinnon & Webb 2017): with very few *treated* clusters (1-3) every
cluster-based method, this one included, is unreliable; the bootstrap then
tends to be conservative.

References
----------
Kline P, Santos A (2012). A score based approach to wild bootstrap inference.
J Econometric Methods 1(1):23-41.
Webb MD (2014). Reworking wild bootstrap based inference for clustered errors.
Queen's Economics Department Working Paper 1315.
MacKinnon JG, Webb MD (2017). Wild bootstrap inference for wildly different
cluster sizes. J Appl Econometrics 32:233-254.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm

from evalkit.errors import SpecError

WEIGHTS = ("webb", "rademacher")
_WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


@dataclass(frozen=True)
class ScoreBootstrap:
    """Outcome of one wild score bootstrap test (aggregates only)."""

    statistic: float
    p_value: float
    n_draws: int
    weights: str
    n_clusters: int
    enumerated: bool


def bootstrap_weights(n_clusters: int, *, weights: str = "webb", n_boot: int = 9999, seed: int = 20210401,
                      ) -> tuple[np.ndarray, bool]:
    """Draws x clusters weight matrix; Rademacher is fully enumerated when G <= 12."""
    if weights not in WEIGHTS:
        raise SpecError(f"bootstrap weights must be one of {WEIGHTS} (got {weights!r}).")
    if weights == "rademacher" and n_clusters <= 12:
        return np.array(list(itertools.product((-1.0, 1.0), repeat=n_clusters))), True
    if n_boot < 99:
        raise SpecError(f"n_boot must be at least 99 (got {n_boot}); 9999 is usual.")
    rng = np.random.default_rng(seed)
    if weights == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=(n_boot, n_clusters)), False
    return rng.choice(_WEBB, size=(n_boot, n_clusters)), False


def restricted_scores(y: np.ndarray, X: np.ndarray, offset: np.ndarray, groups: np.ndarray, j: int,
                      null: float = 0.0, start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cluster scores s_g of coefficient j at the restricted Poisson MLE (b_j = null).

    Returns (s, restricted params of the other columns). ``groups`` holds
    integer codes 0..G-1.
    """
    keep = np.arange(X.shape[1]) != j
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM(y, X[:, keep], family=sm.families.Poisson(), offset=offset + null * X[:, j]).fit(
            start_params=start, tol=1e-12, maxiter=200)
    mu = np.asarray(res.fittedvalues)
    u = X * (y - mu)[:, None]
    n_groups = int(groups.max()) + 1
    S = np.zeros((n_groups, X.shape[1]))
    np.add.at(S, groups, u)
    H = X.T @ (X * mu[:, None])
    proj = np.linalg.solve(H[np.ix_(keep, keep)], H[keep, j])
    return S[:, j] - S[:, keep] @ proj, np.asarray(res.params)


def score_statistic(s: np.ndarray, w: np.ndarray | None = None) -> np.ndarray | float:
    """T = (sum w s)^2 / sum (w s)^2 for each weight row (or for w = 1)."""
    if w is None:
        return float(s.sum() ** 2 / np.sum(s ** 2))
    ws = w * s[None, :]
    return ws.sum(axis=1) ** 2 / np.sum(ws ** 2, axis=1)


def wild_score_test(y: np.ndarray, X: np.ndarray, offset: np.ndarray, groups: np.ndarray, j: int, *,
                    null: float = 0.0, weights: str = "webb", n_boot: int = 9999, seed: int = 20210401,
                    draws: np.ndarray | None = None) -> ScoreBootstrap:
    """Wild cluster score bootstrap test of H0: b_j = null in a Poisson rate model."""
    n_groups = int(groups.max()) + 1
    enumerated = False
    if draws is None:
        draws, enumerated = bootstrap_weights(n_groups, weights=weights, n_boot=n_boot, seed=seed)
    s, _ = restricted_scores(y, X, offset, groups, j, null)
    t_obs = score_statistic(s)
    t_star = score_statistic(s, draws)
    # tolerance: ties (e.g. the all-ones Rademacher draw reproduces T exactly) count as "as extreme"
    p = float(np.mean(t_star >= t_obs * (1 - 1e-10)))
    return ScoreBootstrap(statistic=t_obs, p_value=p, n_draws=len(draws), weights=weights, n_clusters=n_groups,
                          enumerated=enumerated)


def wild_score_ci(y: np.ndarray, X: np.ndarray, offset: np.ndarray, groups: np.ndarray, j: int, *,
                  estimate: float, se: float, alpha: float = 0.05, weights: str = "webb", n_boot: int = 9999,
                  seed: int = 20210401, tol: float = 1e-4) -> tuple[float, float]:
    """Confidence interval for b_j by inverting the wild score bootstrap test (log scale).

    Bisection on each side of ``estimate``; ``se`` (e.g. the cluster-robust SE)
    only sets the search bracket. Returns (nan, nan) where a bound cannot be
    bracketed within 20 SEs (then the data cannot bound the effect).
    """
    n_groups = int(groups.max()) + 1
    draws, _ = bootstrap_weights(n_groups, weights=weights, n_boot=n_boot, seed=seed)

    def pval(b0: float) -> float:
        s, _ = restricted_scores(y, X, offset, groups, j, b0)
        return float(np.mean(score_statistic(s, draws) >= score_statistic(s) * (1 - 1e-10)))

    bounds = []
    for direction in (-1.0, 1.0):
        inside, step = estimate, max(se, 1e-3)
        outside = None
        for mult in (1, 2, 3, 5, 8, 13, 20):
            cand = estimate + direction * mult * step
            if pval(cand) < alpha:
                outside = cand
                break
            inside = cand
        if outside is None:
            bounds.append(float("nan"))
            continue
        while abs(outside - inside) > tol:
            mid = 0.5 * (inside + outside)
            if pval(mid) < alpha:
                outside = mid
            else:
                inside = mid
        bounds.append(0.5 * (inside + outside))
    return bounds[0], bounds[1]
