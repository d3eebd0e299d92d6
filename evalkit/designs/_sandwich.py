"""Sandwich covariance matrices for weighted linear and Poisson models on a matched sample.

Written out here (a few lines each) because statsmodels' cluster-robust option
applies its own small-sample factors; these reproduce R ``sandwich`` exactly:

* :func:`cluster_robust` = ``sandwich::vcovCL(fit, cluster = ~subclass)`` with its
  defaults: ``cadjust = TRUE`` and ``type = "HC1"`` for a linear model but
  ``"HC0"`` for a GLM: ``V = G/(G-1) * c * B M B`` with ``c = (n-1)/(n-k)``
  (linear) or 1 (GLM), ``B = (X'WX)^-1`` and ``M = sum_g s_g s_g'`` (``s_g``
  the summed score of matched set g).
* :func:`hc3` = ``sandwich::vcovHC(fit, type = "HC3")``:
  ``V = B [sum_i s_i s_i' / (1-h_i)^2] B`` with ``h_i`` the hat values of the
  working-weighted fit (MacKinnon & White 1985).

For a weighted linear model the working weight is the prior weight ``w`` and the
score ``w e x``; for a log-link (quasi-)Poisson model the working weight is
``w mu`` and the score ``w (y - mu) x`` (the dispersion cancels).
"""

from __future__ import annotations

import numpy as np


def bread(X: np.ndarray, working_w: np.ndarray) -> np.ndarray:
    return np.linalg.inv((X * working_w[:, None]).T @ X)


def cluster_robust(X: np.ndarray, scores: np.ndarray, B: np.ndarray, clusters: np.ndarray, *,
                   hc1: bool) -> np.ndarray:
    """Cluster-robust covariance with G/(G-1) and, if ``hc1``, (n-1)/(n-k) adjustments."""
    n, k = X.shape
    codes, inv = np.unique(clusters, return_inverse=True)
    G = codes.size
    summed = np.zeros((G, k))
    np.add.at(summed, inv, scores)
    meat = summed.T @ summed
    return (G / (G - 1)) * ((n - 1) / (n - k) if hc1 else 1.0) * (B @ meat @ B)


def hc3(X: np.ndarray, scores: np.ndarray, B: np.ndarray, working_w: np.ndarray) -> np.ndarray:
    """Heteroskedasticity-robust HC3 covariance (no clustering)."""
    h = working_w * np.einsum("ij,jk,ik->i", X, B, X)
    adj = scores / (1.0 - h)[:, None]
    return B @ (adj.T @ adj) @ B
