"""Sandwich covariance matrices shared by the difference-in-differences and matching designs.

Written out here (a few lines each) rather than taken from statsmodels because
each design must reproduce a named R/Stata convention exactly, including a
parameter count ``k`` that counts absorbed fixed effects (which statsmodels
cannot be told) and the HC0 flavour R ``sandwich`` uses for GLMs:

* :func:`cluster_vcov` with ``hc1=True`` is CR1, as Stata ``regress,
  vce(cluster)``, ``reghdfe``, R ``fixest``/pyfixest and
  ``sandwich::vcovCL(lm_fit, cluster = ~g)`` (defaults ``cadjust = TRUE``,
  ``type = "HC1"``)::

      V = G/(G-1) * (N-1)/(N-K) * B (sum_g s_g s_g') B

  with ``B = (X'WX)^-1`` (``W`` the working weights) and ``s_g`` the summed
  score ``w_i u_i x_i`` of cluster ``g``; with ``hc1=False`` the
  ``(N-1)/(N-K)`` factor is dropped, as ``sandwich::vcovCL(glm_fit, ...)``
  (``type = "HC0"`` for GLMs).
* :func:`hc3` = ``sandwich::vcovHC(fit, type = "HC3")``:
  ``V = B [sum_i s_i s_i' / (1-h_i)^2] B`` with ``h_i`` the hat values of the
  working-weighted fit (MacKinnon & White 1985).

For a weighted linear model the working weight is the prior weight ``w`` and
``u`` the residual; for a log-link (quasi-)Poisson model the working weight is
``w mu`` and ``u = y - mu`` (the dispersion cancels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evalkit.errors import InsufficientDataError


def weighted_bread(x: np.ndarray, working_w: np.ndarray) -> np.ndarray:
    """``(X'WX)^-1`` for working weights ``W``."""
    return np.linalg.inv((x * working_w[:, None]).T @ x)


def _scores(x: np.ndarray, resid: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    return x * (resid if weights is None else weights * resid)[:, None]


@dataclass(frozen=True)
class ClusterVcov:
    """A cluster-robust covariance and the numbers behind its correction."""

    vcov: np.ndarray
    n_obs: int
    n_clusters: int
    k: int  # parameters counted in (N-1)/(N-K)
    factor: float  # G/(G-1) * (N-1)/(N-K), or G/(G-1) without the HC1 factor

    @property
    def df(self) -> int:
        return self.n_clusters - 1


def cluster_vcov(x: np.ndarray, resid: np.ndarray, cluster_codes: np.ndarray, *,
                 weights: np.ndarray | None = None, k: int | None = None,
                 bread: np.ndarray | None = None, hc1: bool = True) -> ClusterVcov:
    """Cluster-robust covariance of (weighted) least-squares or GLM coefficients.

    ``cluster_codes`` are integer codes ``0..G-1``. ``k`` is the parameter count
    used in (N-1)/(N-K) (defaults to the columns of ``x``); callers with
    absorbed fixed effects pass the count they state. ``bread`` defaults to
    ``(X'WX)^-1`` with ``W`` = ``weights`` (pass it for a GLM, whose working
    weights differ). ``hc1=False`` drops the (N-1)/(N-K) factor.
    """
    n, p = x.shape
    if bread is None:
        bread = weighted_bread(x, np.ones(n) if weights is None else weights)
    n_clusters = int(cluster_codes.max()) + 1
    summed = np.zeros((n_clusters, p))
    np.add.at(summed, cluster_codes, _scores(x, resid, weights))
    g = int(np.count_nonzero(np.bincount(cluster_codes, minlength=n_clusters)))
    if g < 2:
        raise InsufficientDataError(
            "Cluster-robust standard errors need at least two clusters; the data have one. "
            "Fix: cluster on a finer unit (e.g. person rather than group)."
        )
    k = p if k is None else k
    if hc1 and n - k <= 0:
        raise InsufficientDataError(f"Too few observations ({n}) for {k} parameters.")
    factor = g / (g - 1) * (n - 1) / (n - k) if hc1 else g / (g - 1)
    meat = summed.T @ summed
    v = factor * bread @ meat @ bread
    return ClusterVcov(vcov=(v + v.T) / 2, n_obs=n, n_clusters=g, k=k, factor=factor)


def hc3(x: np.ndarray, resid: np.ndarray, weights: np.ndarray, bread: np.ndarray,
        working_w: np.ndarray) -> np.ndarray:
    """Heteroskedasticity-robust HC3 covariance (no clustering)."""
    h = working_w * np.einsum("ij,jk,ik->i", x, bread, x)
    adj = _scores(x, resid, weights) / (1.0 - h)[:, None]
    return bread @ (adj.T @ adj) @ bread
