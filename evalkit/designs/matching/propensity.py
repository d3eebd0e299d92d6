"""Propensity score by logistic regression, and the Mahalanobis metric.

The propensity model is the ordinary maximum-likelihood logit of treatment on
the covariates plus an intercept, the model R's ``glm(family = binomial)`` and
statsmodels ``GLM(family=Binomial())`` fit. It is solved here by Newton-Raphson
(= IRLS for the canonical link) in numpy. Why hand-written: on a national
comparison pool (a million rows) statsmodels' GLM spends most of its time in
per-iteration overhead (pinv of the weighted design, residual bookkeeping),
while the Newton step needs only ``X' W X`` (p x p) and ``X'(y - p)``; the
estimates are the same MLE, checked against statsmodels to 1e-8 and against R
``glm`` in the tests. Iteration stops when the largest coefficient change is
below 1e-10 (tighter than R's deviance rule, so R's estimates agree to ~1e-8).
Only numpy is used (no scipy): importing scipy.linalg/special costs more start-up
time than the whole fit on a million rows, and a 7 x 7 Cholesky needs no LAPACK
wrapper beyond ``numpy.linalg``.

Perfect or quasi-perfect separation (a covariate combination that only
participants, or only comparison records, have) makes the MLE infinite; it is
detected by non-convergence or by fitted probabilities numerically 0 or 1 and
reported as :class:`InsufficientDataError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from evalkit.errors import InsufficientDataError

_MAX_ITER = 50
_TOL = 1e-10
_ETA_LIMIT = 30.0
_CHUNK = 32768
_WARM_ROWS = 100_000  # |logit| > 30 means a fitted probability within 1e-13 of 0 or 1


@dataclass(frozen=True)
class LogitFit:
    """Coefficients of the propensity model (aggregates only)."""

    names: tuple[str, ...]
    coef: np.ndarray
    iterations: int

    def linear_predictor(self, X: np.ndarray) -> np.ndarray:
        return self.coef[0] + X @ self.coef[1:]


def _expit(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic function 1 / (1 + exp(-x)), in place when ``out`` is given (overflow gives 0, as it should)."""
    with np.errstate(over="ignore"):
        out = np.negative(x, out=out)
        np.exp(out, out=out)
        out += 1.0
        return np.reciprocal(out, out=out)


Blocks = Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]]


def _newton(blocks: Blocks, k: int, beta: np.ndarray, names: tuple[str, ...]) -> tuple[np.ndarray, int, bool]:
    """Newton-Raphson iterations from ``beta``; returns (beta, iterations, converged).

    ``blocks()`` yields consecutive row blocks of the design, transposed to
    (k, rows) with contiguous rows (BLAS then works on long contiguous
    vectors, measurably faster than the (rows, k) layout for ``X' W X`` with
    k = 7), with the matching slice of ``y``. Accumulating gradient and Hessian
    over cache-sized blocks is about twice as fast as full-length temporaries.
    """
    for it in range(1, _MAX_ITER + 1):
        grad = np.zeros(k)
        hess = np.zeros((k, k))
        for Zc, yc in blocks():
            mu = _expit(beta @ Zc)
            grad += Zc @ (yc - mu)
            hess += (Zc * (mu * (1.0 - mu))) @ Zc.T
        try:
            np.linalg.cholesky(hess)  # X'WX must be positive definite (full rank, no separation)
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            raise _separation_or_collinear(names) from None
        beta = beta + step
        if not np.all(np.isfinite(beta)):
            raise _separation_or_collinear(names)
        if np.max(np.abs(step)) < _TOL * (1.0 + np.max(np.abs(beta))):
            return beta, it, True
    return beta, _MAX_ITER, False


def _standardised_blocks(cols: Sequence[np.ndarray], centre: np.ndarray, inv_scale: np.ndarray,
                         y: np.ndarray) -> Blocks:
    """Row blocks of [1, (X - centre) * inv_scale] transposed, built on the fly in one reused buffer."""
    n = y.shape[0]
    buf = np.empty((len(cols) + 1, min(n, _CHUNK)))
    buf[0] = 1.0
    s = inv_scale[:, None]

    def blocks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for i in range(0, n, _CHUNK):
            Zc = buf[:, :min(_CHUNK, n - i)]
            for j, col in enumerate(cols):
                np.subtract(col[i:i + _CHUNK], centre[j], out=Zc[j + 1])
            Zc[1:] *= s
            yield Zc, y[i:i + _CHUNK]

    return blocks


def _centre_scale(cols: Sequence[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (population) SD of each column; SD 1 for a constant column."""
    p = len(cols)
    centre = np.empty(p)
    scale = np.empty(p)
    for j, col in enumerate(cols):
        centre[j] = col.mean(dtype=np.float64)
        dev = col - centre[j]
        sd = float(np.sqrt(np.einsum("i,i->", dev, dev) / n))
        scale[j] = sd if sd > 0 else 1.0
    return centre, scale


def fit_logit(X: np.ndarray | Sequence[np.ndarray], y: np.ndarray, names: tuple[str, ...] = ()) -> LogitFit:
    """Maximum-likelihood logit; see :func:`fit_logit_eta`."""
    return fit_logit_eta(X, y, names)[0]


def fit_logit_eta(X: np.ndarray | Sequence[np.ndarray], y: np.ndarray, names: tuple[str, ...] = ()
                  ) -> tuple[LogitFit, np.ndarray]:
    """Maximum-likelihood logistic regression of ``y`` on ``[1, X]`` by Newton-Raphson.

    On large data the iterations start from the fit to a fixed systematic
    subsample (every k-th row in id order), which only saves iterations: the
    full-data Newton iterations run to the same convergence criterion.

    The centred and scaled design is never stored whole: each pass rebuilds
    it block by block in a cache-sized buffer, which is cheaper than writing
    (and page-faulting) a second copy of a million-row matrix.

    Parameters
    ----------
    X
        (n, p) covariate matrix without intercept, or its p columns as 1-D
        numeric arrays (any numeric dtype; read without copying).
    y
        0/1 outcome (treatment indicator).

    Returns
    -------
    (LogitFit, linear predictor per row)

    Raises
    ------
    InsufficientDataError
        Perfect separation, or a design that is not of full rank.
    """
    cols = [X[:, j] for j in range(X.shape[1])] if isinstance(X, np.ndarray) else list(X)
    n, p = y.shape[0], len(cols)
    y = y.view(np.int8) if y.dtype == bool else y  # int or float 0/1 enter the arithmetic as they are
    centre, scale = _centre_scale(cols, n)
    inv_scale = 1.0 / scale
    ybar = y.mean()
    beta = np.zeros(p + 1)
    beta[0] = np.log(ybar / (1 - ybar))
    if n > 4 * _WARM_ROWS:
        k = n // _WARM_ROWS
        try:
            sub = _standardised_blocks([np.ascontiguousarray(c[::k]) for c in cols], centre, inv_scale, y[::k])
            warm, _, ok = _newton(sub, p + 1, beta, names)
            if ok:
                beta = warm
        except InsufficientDataError:
            pass  # the subsample may separate where the full data do not
    blocks = _standardised_blocks(cols, centre, inv_scale, y)
    beta, it, converged = _newton(blocks, p + 1, beta, names)
    eta = np.empty(n)
    for i, (Zc, _) in zip(range(0, n, _CHUNK), blocks()):
        np.matmul(beta, Zc, out=eta[i:i + Zc.shape[1]])
    if not converged or max(eta.max(), -eta.min()) > _ETA_LIMIT:
        raise _separation_or_collinear(names)
    coef = np.empty(p + 1)
    coef[1:] = beta[1:] / scale
    coef[0] = beta[0] - centre @ coef[1:]
    return LogitFit(names=("(Intercept)", *names), coef=coef, iterations=it), eta


def _separation_or_collinear(names: tuple[str, ...]) -> InsufficientDataError:
    return InsufficientDataError(
        "The propensity model cannot be estimated: some covariate values occur only among "
        "participants or only among the comparison pool (perfect separation), or covariates "
        f"duplicate one another ({', '.join(names) or 'see covariates'}). Merge rare categories, "
        "drop the offending covariate, or restrict the comparison pool to people like the participants."
    )


def propensity_distance(X: np.ndarray | Sequence[np.ndarray], treat: np.ndarray, *, link: str,
                        names: tuple[str, ...] = ()) -> tuple[np.ndarray, LogitFit]:
    """Propensity distance per row: probability (``link="logit"``) or logit (``"linear.logit"``)."""
    fit, eta = fit_logit_eta(X, treat, names)
    return (eta if link == "linear.logit" else _expit(eta, out=eta)), fit


def mahalanobis_transform(X: np.ndarray, treat: np.ndarray, discarded: np.ndarray) -> np.ndarray:
    """Rotate covariates so Euclidean distance equals Mahalanobis distance.

    Uses the pooled within-group covariance of the non-discarded units (Rubin
    1980; MatchIt ``transform_covariates``); constant columns are dropped and a
    pseudo-inverse handles collinear dummies, which leaves distances unchanged.
    """
    keep = ~discarded
    Xk = X[keep]
    tk = treat[keep]
    centred = Xk.copy()
    for g in (0, 1):
        rows = tk == g
        centred[rows] -= Xk[rows].mean(axis=0)
    dof = Xk.shape[0] - 2
    cov = centred.T @ centred / dof
    vals, vecs = np.linalg.eigh(cov)
    tol = vals.max() * 1e-10
    inv_sqrt = np.where(vals > tol, 1.0 / np.sqrt(np.clip(vals, tol, None)), 0.0)
    return X @ (vecs * inv_sqrt)
