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


Blocks = Callable[[], Iterator[tuple[int, np.ndarray, np.ndarray]]]


def _newton(blocks: Blocks, k: int, beta: np.ndarray, names: tuple[str, ...], eta: np.ndarray | None = None
            ) -> tuple[np.ndarray, int, bool]:
    """Newton-Raphson iterations from ``beta``; returns (beta, iterations, converged).

    ``blocks()`` yields (first row, design block, outcome block): consecutive
    row blocks of the design transposed to (k, rows) with contiguous rows, so
    every product below runs on long contiguous vectors. Accumulating gradient
    and Hessian over cache-sized blocks is about twice as fast as full-length
    temporaries.

    Each pass computes the linear predictor of the current ``beta`` anyway;
    when ``eta`` is given it is kept there. Iteration stops at the first
    ``beta`` whose Newton step is below the tolerance, and that ``beta`` is
    returned (not ``beta`` plus the negligible step), so ``eta`` holds exactly
    its linear predictor and no extra pass over the data is needed.
    """
    buf = None
    for it in range(1, _MAX_ITER + 1):
        grad = np.zeros(k)
        hess = np.zeros((k, k))
        for i, Zc, yc in blocks():
            m = Zc.shape[1]
            if buf is None or buf.shape[1] < m:
                buf = np.empty((k + 1, m))
            e = np.matmul(beta, Zc, out=eta[i:i + m] if eta is not None else buf[k, :m])
            mu = _expit(e, out=buf[k, :m])
            grad += Zc @ (yc - mu)
            w = np.multiply(mu, np.subtract(1.0, mu, out=buf[0, :m]), out=mu)  # mu (1 - mu), in place
            _add_cross(hess, Zc, w, buf[:k, :m])
        hess += np.triu(hess, 1).T
        try:
            np.linalg.cholesky(hess)  # X'WX must be positive definite (full rank, no separation)
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            raise _separation_or_collinear(names) from None
        if not np.all(np.isfinite(step)):
            raise _separation_or_collinear(names)
        if np.max(np.abs(step)) < _TOL * (1.0 + np.max(np.abs(beta))):
            return beta, it, True
        beta = beta + step
    return beta, _MAX_ITER, False


def _add_cross(hess: np.ndarray, Z: np.ndarray, w: np.ndarray, buf: np.ndarray) -> None:
    """Add the upper triangle of ``Z diag(w) Z'`` to ``hess``, using ``buf`` (shape of ``Z``) as scratch.

    Why dot products: for a (7 x 32768) block, the 28 distinct inner products
    take a third of the time of the (k x m) @ (m x k) GEMM, which computes every
    entry twice and suits this long-and-thin shape poorly.
    """
    Zw = np.multiply(Z, w, out=buf)
    for a in range(Z.shape[0]):
        za = Zw[a]
        for b in range(a, Z.shape[0]):
            hess[a, b] += za @ Z[b]


def _standardised_blocks(cols: Sequence[np.ndarray], centre: np.ndarray, inv_scale: np.ndarray,
                         y: np.ndarray) -> Blocks:
    """Row blocks of [1, (X - centre) * inv_scale] transposed, built on the fly in one reused buffer."""
    n = y.shape[0]
    buf = np.empty((len(cols) + 1, min(n, _CHUNK)))
    buf[0] = 1.0

    def blocks() -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        for i in range(0, n, _CHUNK):
            Zc = buf[:, :min(_CHUNK, n - i)]
            for j, col in enumerate(cols):
                z = np.subtract(col[i:i + _CHUNK], centre[j], out=Zc[j + 1])
                z *= inv_scale[j]
            yield i, Zc, y[i:i + _CHUNK]

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

    The covariates are centred and scaled inside the fit (conditioning only;
    coefficients are returned on the original scale). On large data the
    centring constants and the starting values come from a fixed systematic
    subsample (every k-th row in the order given), which only saves work: the
    full-data Newton iterations run to the same convergence criterion, so a
    million rows take three passes (two Newton steps and the converged check,
    which also yields the linear predictor).

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
    beta = _start(y, p)
    if n > 4 * _WARM_ROWS:
        rows, offset = _warm_rows(y)
        sub_cols = [c[rows] for c in cols]
        sub_y = y[rows]
        centre, scale = _centre_scale(sub_cols, sub_y.shape[0])
        try:
            sub = _standardised_blocks(sub_cols, centre, 1.0 / scale, sub_y)
            warm, _, ok = _newton(sub, p + 1, _start(sub_y, p), names)
            if ok:
                beta = warm
                beta[0] += offset
        except InsufficientDataError:
            pass  # the subsample may separate where the full data do not
    else:
        centre, scale = _centre_scale(cols, n)
    eta = np.empty(n)
    blocks = _standardised_blocks(cols, centre, 1.0 / scale, y)
    beta, it, converged = _newton(blocks, p + 1, beta, names, eta=eta)
    if not converged or max(eta.max(), -eta.min()) > _ETA_LIMIT:
        raise _separation_or_collinear(names)
    coef = np.empty(p + 1)
    coef[1:] = beta[1:] / scale
    coef[0] = beta[0] - centre @ coef[1:]
    return LogitFit(names=("(Intercept)", *names), coef=coef, iterations=it), eta


def _start(y: np.ndarray, p: int) -> np.ndarray:
    """Starting values: intercept at the logit of the outcome mean, slopes 0."""
    beta = np.zeros(p + 1)
    ybar = y.mean()
    beta[0] = np.log(ybar / (1 - ybar))
    return beta


def _warm_rows(y: np.ndarray) -> tuple[np.ndarray, float]:
    """Rows of the warm-start subsample, and the intercept offset that undoes its sampling.

    Every row of the rarer outcome and every k-th row (in the order given) of
    the commoner one, about ``_WARM_ROWS`` in all: a case-control sample. For a
    logit, sampling on the outcome changes only the intercept, by the log of
    the ratio of the sampling fractions (Prentice & Pyke 1979), so the slopes
    start close to the full-data MLE even when participants are 1% of the
    pool, where a plain 1-in-k sample would hold only a few hundred of them.
    """
    n = y.shape[0]
    n1 = int(np.count_nonzero(y))
    rare = 1 if n1 <= n - n1 else 0
    n_rare = n1 if rare else n - n1
    if n_rare >= _WARM_ROWS // 2:  # both outcomes common: plain systematic sample
        return np.arange(0, n, n // _WARM_ROWS), 0.0
    common_rows = np.flatnonzero(y != rare)
    k = -(-common_rows.size // (_WARM_ROWS - n_rare))
    rows = np.concatenate([np.flatnonzero(y == rare), common_rows[::k]])
    rows.sort()
    fraction = -(-common_rows.size // k) / common_rows.size  # share of the commoner outcome kept
    # logit P(y=1 | x, sampled) = logit P(y=1 | x) + log(f1 / f0)
    return rows, (np.log(fraction) if rare == 1 else -np.log(fraction))


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
