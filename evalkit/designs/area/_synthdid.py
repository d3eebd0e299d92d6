"""The synthetic difference-in-differences core: R ``synthdid``'s algorithm in numpy.

This module is a line-by-line re-implementation of the weight solver of the
reference R package ``synthdid`` (Arkhangelsky, Athey, Hirshberg, Imbens &
Wager; files ``R/solver.R``, ``R/synthdid.R``, ``R/vcov.R``, ``R/utils.R``),
so that its numbers match R's to solver tolerance:

* the outcome matrix ``Y`` (units x periods) has the ``N0`` control units in
  its first rows and the ``T0`` pre-periods in its first columns;
* it is *collapsed* to ``(N0 + 1) x (T0 + 1)``: treated rows averaged, post
  columns averaged (``collapsed.form``);
* unit weights omega solve ``min ||A w - b||^2 + eta ||w||^2`` over the unit
  simplex with columns centred (an intercept), ``A`` the controls' pre-period
  outcomes by period, ``b`` the treated average, ``eta = T0 zeta_omega^2``;
  time weights lambda likewise with ``eta = N0 zeta_lambda^2``;
* the problem is solved by Frank-Wolfe with exact line search
  (``fw.step``), stopping when an iteration lowers the penalised loss by less
  than ``min_decrease^2`` or after ``max_iter`` iterations;
* the regularisation is ``zeta_omega = (N_tr T_post)^(1/4) sigma`` and
  ``zeta_lambda = 1e-6 sigma``, with ``sigma`` the standard deviation of all
  first differences (over time) of the controls' pre-period outcomes, and
  ``min_decrease = 1e-5 sigma``;
* sparsification (``sparsify_function``): a first round of at most 100
  iterations, weights at or below a quarter of the largest set to zero and
  the rest renormalised, then a second round of up to ``max_iter`` from there;
* the estimate is ``(-omega, 1/N1)' Y (-lambda, 1/T1)``.

The synthetic control of ``sc_estimate`` (omega without intercept,
``eta_omega = 1e-6``, lambda all zero) and the plain DiD of ``did_estimate``
(uniform weights) are the same function with other options.

Standard errors (``vcov.R``): the placebo method (Algorithm 4: controls
permuted, the last ``N1`` of them treated as if treated, weights re-estimated)
and the fixed-weight jackknife (Algorithm 3: each unit dropped in turn, omega
renormalised, weights not re-estimated).
"""

from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np

SPARSIFY_FIRST_ROUND = 100  # R max.iter.pre.sparsify


def fw_step(A: np.ndarray, x: np.ndarray, b: np.ndarray, eta: float) -> np.ndarray:
    """One Frank-Wolfe step of R ``fw.step`` (exact line search), as written there: the reference for tests.

    :func:`fw_batch` takes the same steps with the products kept up to date instead of recomputed.
    """
    Ax = A @ x
    half_grad = (Ax - b) @ A + eta * x
    i = int(np.argmin(half_grad))
    d_x = -x.copy()
    d_x[i] = 1.0 - x[i]
    if not d_x.any():
        return x
    d_err = A[:, i] - Ax
    step = -float(half_grad @ d_x) / (float(d_err @ d_err) + eta * float(d_x @ d_x))
    return x + min(1.0, max(0.0, step)) * d_x


def fw_batch(Y: np.ndarray, zeta: np.ndarray, *, intercept: bool, init: np.ndarray | None,
             min_decrease: np.ndarray, max_iter: int) -> np.ndarray:
    """R ``sc.weight.fw`` for a batch of problems at once (``Y``: problems x rows x (columns + 1)).

    Each problem ``r`` finds simplex weights x on the first columns of ``Y[r]`` to reproduce its last column,
    minimising ``zeta^2 ||x||^2 + ||A x - b||^2 / rows`` by Frank-Wolfe with exact line search, and stops,
    as R does, once an iteration lowers that loss by no more than ``min_decrease^2`` (or at ``max_iter``).
    Solving many problems together (placebo replications) shares numpy's per-call overhead; each keeps its own
    stopping time, so every problem's answer is what it would be alone. Per step, the gradient comes from the
    Gram matrix ``A'A`` and the residual ``A x - b`` is updated along the step (``O(rows + columns)``), rather
    than recomputed (``O(rows x columns)``); the loss that decides stopping is computed from the residual, as
    in R.
    """
    R, m, k = Y.shape
    n = k - 1
    if intercept:
        Y = Y - Y.mean(axis=1, keepdims=True)
    A = Y[:, :, :n]
    b = Y[:, :, n]
    G = np.einsum("rmi,rmj->rij", A, A)
    c = np.einsum("rmi,rm->ri", A, b)
    x = np.full((R, n), 1.0 / n) if init is None else np.array(init, dtype=float, copy=True)
    zeta = np.broadcast_to(np.asarray(zeta, dtype=float), (R,))
    eta = m * zeta ** 2
    tol = np.broadcast_to(np.asarray(min_decrease, dtype=float), (R,)) ** 2
    Gx = np.einsum("rij,rj->ri", G, x)
    resid = np.einsum("rmi,ri->rm", A, x) - b
    prev = np.full(R, np.inf)
    cur = np.full(R, np.inf)
    active = np.arange(R)
    t = 0
    while t < max_iter and active.size:
        t += 1
        xa, Gxa, ra = x[active], Gx[active], resid[active]
        e = eta[active]
        half_grad = Gxa - c[active] + e[:, None] * xa
        i = np.argmin(half_grad, axis=1)  # first minimum, as R's which.min
        rows = np.arange(active.size)
        xi = xa[rows, i]
        xx = np.einsum("ri,ri->r", xa, xa)
        dxdx = xx - xi ** 2 + (1.0 - xi) ** 2
        gdx = half_grad[rows, i] - np.einsum("ri,ri->r", half_grad, xa)
        col = A[active, :, i]  # A[:, i] of each problem
        derr = col - b[active] - ra  # A e_i - A x
        denom = np.einsum("rm,rm->r", derr, derr) + e * dxdx
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(denom > 0, -gdx / denom, 0.0)
        step = np.clip(step, 0.0, 1.0)
        step[dxdx == 0] = 0.0  # already at the vertex: R returns x unchanged
        s = step[:, None]
        xa = (1 - s) * xa
        xa[rows, i] += step
        Gxa = (1 - s) * Gxa + s * G[active, :, i]
        ra = ra + s * derr
        x[active], Gx[active], resid[active] = xa, Gxa, ra
        val = zeta[active] ** 2 * np.einsum("ri,ri->r", xa, xa) + np.einsum("rm,rm->r", ra, ra) / m
        prev[active], cur[active] = cur[active], val
        if t >= 2:
            active = active[(prev[active] - cur[active]) > tol[active]]
    return x


def sc_weight_fw(Y: np.ndarray, zeta: float, *, intercept: bool = True, init: np.ndarray | None = None,
                 min_decrease: float = 1e-3, max_iter: int = 1000) -> np.ndarray:
    """R ``sc.weight.fw``: simplex weights on the columns of ``Y[:, :-1]`` to reproduce its last column."""
    return _fw_one(Y, zeta, intercept=intercept, init=init, min_decrease=min_decrease, max_iter=max_iter)


def _fw_one(Y: np.ndarray, zeta: float, *, intercept: bool, init: np.ndarray | None, min_decrease: float,
            max_iter: int) -> np.ndarray:
    """:func:`fw_batch` for one problem, with plain vector operations (fewer numpy calls per step)."""
    m, k = Y.shape
    n = k - 1
    if intercept:
        Y = Y - Y.mean(axis=0)
    A = Y[:, :n]
    b = Y[:, n]
    AT = np.ascontiguousarray(A.T)
    G = AT @ A
    c = AT @ b
    x = np.full(n, 1.0 / n) if init is None else np.array(init, dtype=float, copy=True)
    eta = m * zeta ** 2
    tol = min_decrease ** 2
    Gx = G @ x
    resid = A @ x - b
    prev = cur = np.inf
    t = 0
    while t < max_iter and (t < 2 or prev - cur > tol):
        t += 1
        half_grad = Gx - c + eta * x
        i = int(half_grad.argmin())
        xi = x[i]
        dxdx = float(x @ x) - xi * xi + (1.0 - xi) ** 2
        if dxdx > 0:
            derr = AT[i] - b - resid
            denom = float(derr @ derr) + eta * dxdx
            step = -(float(half_grad[i]) - float(half_grad @ x)) / denom if denom > 0 else 0.0
            step = min(1.0, max(0.0, step))
            x *= 1.0 - step
            x[i] += step
            Gx = (1.0 - step) * Gx + step * G[i]
            resid += step * derr
        prev, cur = cur, zeta ** 2 * float(x @ x) + float(resid @ resid) / m
    return x


def sparsify(v: np.ndarray) -> np.ndarray:
    """R ``sparsify_function``: weights at or below a quarter of the largest become zero; renormalise.

    ``v`` may be a batch (one problem per row).
    """
    v = np.atleast_2d(v)
    out = np.where(v <= v.max(axis=1, keepdims=True) / 4, 0.0, v)
    return out / out.sum(axis=1, keepdims=True)


def collapsed_form(Y: np.ndarray, N0: int, T0: int) -> np.ndarray:
    """R ``collapsed.form``: treated rows and post columns averaged, ``(N0 + 1) x (T0 + 1)``.

    ``Y`` may be a batch (problems x units x periods).
    """
    Y3 = Y if Y.ndim == 3 else Y[None]
    top = np.concatenate([Y3[:, :N0, :T0], Y3[:, :N0, T0:].mean(axis=2, keepdims=True)], axis=2)
    bottom = np.concatenate([Y3[:, N0:, :T0].mean(axis=1, keepdims=True),
                             Y3[:, N0:, T0:].mean(axis=(1, 2))[:, None, None]], axis=2)
    out = np.concatenate([top, bottom], axis=1)
    return out if Y.ndim == 3 else out[0]


def noise_level(Y: np.ndarray, N0: int, T0: int) -> np.ndarray | float:
    """sd of every first difference over time of the controls' pre-period outcomes (R's default).

    ``Y`` may be a batch; then one value per problem.
    """
    Y3 = Y if Y.ndim == 3 else Y[None]
    d = np.diff(Y3[:, :N0, :T0], axis=2).reshape(Y3.shape[0], -1)
    sd = d.std(axis=1, ddof=1) if d.shape[1] > 1 else np.zeros(Y3.shape[0])
    return sd if Y.ndim == 3 else float(sd[0])


@dataclass(frozen=True)
class Fit:
    """One estimate with its weights (omega over the ``N0`` controls, lambda over the ``T0`` pre-periods)."""

    tau: float
    omega: np.ndarray
    lam: np.ndarray
    kind: str
    #: (zeta_omega, zeta_lambda, min_decrease): R keeps these (``opts``) for the fits of its standard errors
    zetas: tuple[float, float, float] = (math.nan, math.nan, math.nan)


def _zetas(Y3: np.ndarray, N0: int, T0: int, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(zeta_omega, zeta_lambda, min_decrease) per problem, R's defaults for the estimator ``kind``."""
    sigma = np.asarray(noise_level(Y3, N0, T0))
    n1, t1 = Y3.shape[1] - N0, Y3.shape[2] - T0
    eta_omega = (n1 * t1) ** 0.25 if kind == "sdid" else 1e-6
    return eta_omega * sigma, 1e-6 * sigma, 1e-5 * sigma


def _solve(Yc: np.ndarray, zeta: np.ndarray, intercept: bool, init: np.ndarray | None, min_decrease: np.ndarray,
           max_iter: int) -> np.ndarray:
    if Yc.shape[0] == 1:  # one problem: the plain loop has less overhead per step
        x0 = None if init is None else init[0]
        one = _fw_one(Yc[0], float(zeta[0]), intercept=intercept, init=x0, min_decrease=float(min_decrease[0]),
                      max_iter=min(SPARSIFY_FIRST_ROUND, max_iter))
        two = _fw_one(Yc[0], float(zeta[0]), intercept=intercept, init=sparsify(one)[0],
                      min_decrease=float(min_decrease[0]), max_iter=max_iter)
        return two[None]
    first = fw_batch(Yc, zeta, intercept=intercept, init=init, min_decrease=min_decrease,
                     max_iter=min(SPARSIFY_FIRST_ROUND, max_iter))
    return fw_batch(Yc, zeta, intercept=intercept, init=sparsify(first), min_decrease=min_decrease,
                    max_iter=max_iter)


def estimate_batch(Y: np.ndarray, N0: int, T0: int, kind: str = "sdid", *, omega: np.ndarray | None = None,
                   lam: np.ndarray | None = None, update_omega: bool = True, update_lambda: bool = True,
                   max_iter: int = 10_000, zetas: tuple[float, float, float] | None = None,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R ``synthdid_estimate`` (``sc_estimate``, ``did_estimate``) without covariates, for a batch.

    ``Y`` is problems x units x periods, controls first; ``omega``/``lam`` (problems x N0 / x T0) are starting
    values when the matching ``update_*`` is True, fixed weights otherwise. Each problem gets R's default
    regularisation from its own controls, unless ``zetas`` (zeta_omega, zeta_lambda, min_decrease) are given, as
    R's standard errors give the full fit's. Returns (tau, omega, lambda), one row per problem.
    """
    R, N, T = Y.shape
    n1, t1 = N - N0, T - T0
    if zetas is None:
        zeta_omega, zeta_lambda, min_dec = _zetas(Y, N0, T0, kind)
    else:
        zeta_omega, zeta_lambda, min_dec = (np.full(R, z) for z in zetas)
    if kind == "did":
        omega, lam = np.full((R, N0), 1.0 / N0), np.full((R, T0), 1.0 / T0)
        update_omega = update_lambda = False
    if kind == "sc":
        lam, update_lambda = np.zeros((R, T0)), False
    if update_omega or update_lambda:
        Yc = collapsed_form(Y, N0, T0)
        if update_lambda:
            lam = _solve(np.ascontiguousarray(Yc[:, :N0, :]), zeta_lambda, True, lam, min_dec, max_iter)
        if update_omega:
            omega = _solve(np.ascontiguousarray(Yc[:, :, :T0].transpose(0, 2, 1)), zeta_omega, kind != "sc",
                           omega, min_dec, max_iter)
    assert omega is not None and lam is not None
    u = np.concatenate([-omega, np.full((R, n1), 1.0 / n1)], axis=1)
    v = np.concatenate([-lam, np.full((R, t1), 1.0 / t1)], axis=1)
    tau = np.einsum("rn,rnt,rt->r", u, Y, v)
    return tau, omega, lam


def estimate(Y: np.ndarray, N0: int, T0: int, kind: str = "sdid", *, omega: np.ndarray | None = None,
             lam: np.ndarray | None = None, update_omega: bool = True, update_lambda: bool = True,
             max_iter: int = 10_000) -> Fit:
    """One problem of :func:`estimate_batch` (``Y`` units x periods)."""
    z = _zetas(Y[None], N0, T0, kind)
    zetas = (float(z[0][0]), float(z[1][0]), float(z[2][0]))
    tau, om, la = estimate_batch(Y[None], N0, T0, kind, omega=None if omega is None else omega[None],
                                 lam=None if lam is None else lam[None], update_omega=update_omega,
                                 update_lambda=update_lambda, max_iter=max_iter, zetas=zetas)
    return Fit(tau=float(tau[0]), omega=om[0], lam=la[0], kind=kind, zetas=zetas)


def _sum_normalize(x: np.ndarray) -> np.ndarray:
    s = x.sum()
    return x / s if s != 0 else np.full(x.size, 1.0 / x.size)


def placebo_draws(Y: np.ndarray, N0: int, T0: int, fit: Fit, replications: int, rng: np.random.Generator,
                  *, max_iter: int = 10_000) -> np.ndarray:
    """Placebo estimates (R ``placebo_se``, Algorithm 4): controls permuted, the last ``N1`` treated as if treated.

    Weights are re-estimated, starting from the fit's omega restricted to the remaining controls and
    renormalised, and from its lambda, as R does.
    """
    n1 = Y.shape[0] - N0
    n0 = N0 - n1
    perms = np.array([rng.permutation(N0) for _ in range(replications)])
    Yp = Y[:N0][perms]  # replications x N0 x T
    init = np.array([_sum_normalize(fit.omega[p[:n0]]) for p in perms])
    lam = np.repeat(fit.lam[None], replications, axis=0)
    tau, _, _ = estimate_batch(Yp, n0, T0, fit.kind, omega=init, lam=lam, max_iter=max_iter, zetas=fit.zetas)
    return tau


def placebo_se(draws: np.ndarray) -> float:
    """R ``placebo_se``: sqrt((r - 1) / r) x sd of the placebo estimates."""
    r = draws.size
    return float(np.sqrt((r - 1) / r) * np.std(draws, ddof=1))


def jackknife_se(values: np.ndarray) -> float:
    """R ``jackknife``: sqrt((n - 1)/n x (n - 1) var(u)) of the leave-one-out estimates ``u``."""
    n = values.size
    return float(np.sqrt((n - 1) / n * (n - 1) * np.var(values, ddof=1)))


def jackknife_fixed(Y: np.ndarray, N0: int, T0: int, fit: Fit) -> float:
    """Fixed-weight jackknife SE (Algorithm 3); NaN with one treated unit or one control with weight."""
    N = Y.shape[0]
    if N0 == N - 1 or np.count_nonzero(fit.omega) == 1:
        return float("nan")
    u = np.empty(N)
    for i in range(N):
        keep = np.delete(np.arange(N), i)
        n0 = int((keep < N0).sum())
        om = _sum_normalize(fit.omega[keep[keep < N0]])
        u[i] = estimate(Y[keep], n0, T0, fit.kind, omega=om, lam=fit.lam, update_omega=False,
                        update_lambda=False).tau
    return jackknife_se(u)


__all__ = ["Fit", "collapsed_form", "estimate", "estimate_batch", "fw_batch", "fw_step", "jackknife_fixed",
           "jackknife_se", "noise_level", "placebo_draws", "placebo_se", "sc_weight_fw", "sparsify"]
