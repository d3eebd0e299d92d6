"""Propensity score by logistic regression, and the Mahalanobis metric.

The propensity model is the ordinary maximum-likelihood logit of treatment on
the covariates plus an intercept, the model R's ``glm(family = binomial)`` and
statsmodels ``GLM(family=Binomial())`` fit. It is solved here by Newton-Raphson
(= IRLS for the canonical link) in numpy. Why hand-written: on a national
comparison pool (a million rows) statsmodels' GLM spends most of its time in
per-iteration overhead (pinv of the weighted design, residual bookkeeping),
while the Newton step needs only ``X' W X`` (p x p) and ``X'(y - p)``; the
estimates are the same MLE, checked against statsmodels to 1e-8 and against R
``glm`` in the tests. Iteration stops when the largest coefficient change (in
standardised units) is below 1e-12. That is tighter than it looks necessary:
R's ``glm`` usually ends within ~1e-12 of the MLE too, and on a million-record
pool two fitted probabilities of different controls agree to 1e-10 often
enough that a looser stop (1e-10) changed one of 10,000 nearest-neighbour
choices against MatchIt; the extra passes reuse the Hessian and cost ~5 ms.
Only numpy is used (no scipy): importing scipy.linalg/special costs more start-up
time than the whole fit on a million rows, and a 7 x 7 Cholesky needs no LAPACK
wrapper beyond ``numpy.linalg``.

Perfect or quasi-perfect separation (a covariate combination that only
participants, or only comparison records, have) makes the MLE infinite; it is
detected by non-convergence or by a fitted probability of treatment
numerically 1 and reported as :class:`InsufficientDataError`. A fitted
probability numerically 0 is not refused: a comparison record far out in a
long tail (a log-normal income, say) legitimately gets one (logit -49 in the
second benchmark file, issue 24), R's ``glm`` only warns and MatchIt matches;
such a record is never anyone's nearest neighbour, and a pattern seen only in
the comparison pool (the one separation that ends there) leaves every
participant's score, and so the matched set, as it is.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from evalkit.errors import InsufficientDataError

_MAX_ITER = 50
_TOL = 1e-12
_REUSE_BELOW = 1e-2  # after a step this small, later passes reuse the Hessian (see _newton)
_ETA_LIMIT = 30.0  # logit > 30 means a fitted probability of treatment within 1e-13 of 1
_CHUNK = 32768
_PARALLEL_ROWS = 200_000  # below this, threads cost more than they save
_WARM_ROWS = 100_000  # size of the warm-start subsample
_WARM_TOL = 1e-6  # convergence tolerance of the warm-start fit
_STAT_ROWS = 20_000  # rows used for the centring constants of larger data


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


def _newton(blocks: Blocks, k: int, beta: np.ndarray, names: tuple[str, ...], eta: np.ndarray | None = None,
            tol: float = _TOL) -> tuple[np.ndarray, int, bool]:
    """Newton-Raphson iterations from ``beta``; returns (beta, iterations, converged).

    ``blocks()`` yields (first row, design block, outcome block): consecutive
    row blocks of the covariates (without the intercept, which is handled in
    closed form) transposed to (k - 1, rows) with contiguous rows, so every
    product below runs on long contiguous vectors. Accumulating gradient and
    Hessian over cache-sized blocks is about twice as fast as full-length
    temporaries.

    Each pass computes the linear predictor of the current ``beta`` anyway;
    when ``eta`` is given it is kept there. Iteration stops at the first
    ``beta`` whose Newton step is below the tolerance, and that ``beta`` is
    returned (not ``beta`` plus the negligible step), so ``eta`` holds exactly
    its linear predictor and no extra pass over the data is needed.

    Once a step is smaller than ``_REUSE_BELOW`` (standardised units), later
    passes do not accumulate a new Hessian: accumulating ``X'WX`` is most of a
    pass, and that far into the iterations the last one, corrected by a BFGS
    update from the change in gradient, is accurate enough that each pass
    still shrinks the error a hundredfold or more (superlinear convergence).
    The stopping rule is unchanged (the step, however computed, below the
    tolerance). Should a step fail to shrink tenfold, the next pass computes
    the Hessian afresh. On a million rows this halves the fit.
    """
    buf = None
    hess = None
    last = np.inf
    contracting = True
    prev_grad = prev_step = None
    for it in range(1, _MAX_ITER + 1):
        reuse = hess is not None and last < _REUSE_BELOW and contracting
        grad = np.zeros(k)
        new_hess = None if reuse else np.zeros((k, k))
        for i, Zc, yc in blocks():
            m = Zc.shape[1]
            if buf is None or buf.shape[1] < m:
                buf = np.empty((k + 1, m))
            e = np.matmul(beta[1:], Zc, out=eta[i:i + m] if eta is not None else buf[k, :m])
            e += beta[0]
            mu = _expit(e, out=buf[k, :m])
            r = np.subtract(yc, mu, out=buf[k - 1, :m])
            grad[0] += r.sum()
            grad[1:] += Zc @ r
            if new_hess is not None:
                w = np.multiply(mu, np.subtract(1.0, mu, out=buf[0, :m]), out=mu)  # mu (1 - mu), in place
                _add_cross(new_hess, Zc, w, buf[:k - 1, :m])
        if new_hess is not None:
            new_hess += np.triu(new_hess, 1).T
            try:
                np.linalg.cholesky(new_hess)  # X'WX must be positive definite (full rank, no separation)
            except np.linalg.LinAlgError:
                raise _separation_or_collinear(names) from None
            hess = new_hess
        elif prev_grad is not None:
            hess = _bfgs(hess, prev_step, prev_grad - grad)
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            raise _separation_or_collinear(names) from None
        if not np.all(np.isfinite(step)):
            raise _separation_or_collinear(names)
        size = float(np.max(np.abs(step)))
        contracting = not reuse or size < 0.1 * last
        last = size
        if last < tol * (1.0 + np.max(np.abs(beta))):
            return beta, it, True
        beta = beta + step
        prev_grad, prev_step = grad, step
    return beta, _MAX_ITER, False


def _newton_halving(blocks: Blocks, k: int, beta: np.ndarray, eta: np.ndarray, tol: float = _TOL
                    ) -> tuple[np.ndarray, int, bool]:
    """Newton-Raphson with step-halving: a step that lowers the log-likelihood is halved until it does not.

    The fallback of :func:`fit_logit_eta` when plain Newton fails: the full Hessian every pass and one extra
    pass per halving, so slower, but it cannot diverge. The stopping rule is plain Newton's (the full step
    below the tolerance), so where both converge they return the same MLE.
    """

    def evaluate(b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        ll, grad, hess = 0.0, np.zeros(k), np.zeros((k, k))
        for _, Zc, yc in blocks():
            e = b[0] + b[1:] @ Zc
            ll += float(yc @ e - np.logaddexp(0.0, e).sum())
            mu = _expit(e)
            r = yc - mu
            grad[0] += r.sum()
            grad[1:] += Zc @ r
            _add_cross(hess, Zc, mu * (1.0 - mu), np.empty_like(Zc))
        hess += np.triu(hess, 1).T
        return ll, grad, hess

    ll, grad, hess = evaluate(beta)
    for it in range(1, 4 * _MAX_ITER + 1):
        try:
            np.linalg.cholesky(hess)
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            raise InsufficientDataError("singular information matrix") from None
        if not np.all(np.isfinite(step)):
            raise InsufficientDataError("non-finite Newton step")
        if float(np.max(np.abs(step))) < tol * (1.0 + np.max(np.abs(beta))):
            for i, Zc, _ in blocks():
                np.matmul(beta[1:], Zc, out=eta[i:i + Zc.shape[1]])
            eta += beta[0]
            return beta, it, True
        t = 1.0
        while True:
            new = beta + t * step
            new_ll, new_grad, new_hess = evaluate(new)
            if np.isfinite(new_ll) and new_ll >= ll - 1e-12 * abs(ll):
                break
            t /= 2.0
            if t < 1e-12:
                return beta, it, False
        beta, ll, grad, hess = new, new_ll, new_grad, new_hess
    return beta, 4 * _MAX_ITER, False


def _bfgs(hess: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """BFGS update of the (negative log-likelihood) Hessian from step ``s`` and gradient change ``y``.

    Keeps the matrix positive definite when ``y's > 0`` (always, for a convex
    objective; otherwise the matrix is returned unchanged).
    """
    ys = float(y @ s)
    Hs = hess @ s
    sHs = float(s @ Hs)
    if ys <= 0 or sHs <= 0:
        return hess
    return hess + np.outer(y, y) / ys - np.outer(Hs, Hs) / sHs


def _add_cross(hess: np.ndarray, Z: np.ndarray, w: np.ndarray, buf: np.ndarray) -> None:
    """Add the upper triangle of ``[1; Z] diag(w) [1; Z]'`` to ``hess``, using ``buf`` (shape of ``Z``) as scratch.

    Why dot products: for a (6 x 32768) block, the distinct inner products
    take a third of the time of the (k x m) @ (m x k) GEMM, which computes every
    entry twice and suits this long-and-thin shape poorly.
    """
    hess[0, 0] += w.sum()
    Zw = np.multiply(Z, w, out=buf)
    for a in range(Z.shape[0]):
        za = Zw[a]
        hess[0, a + 1] += za.sum()
        for b in range(a, Z.shape[0]):
            hess[a + 1, b + 1] += za @ Z[b]


def _design(cols: Sequence[np.ndarray], n: int, rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The design (X - centre) / scale transposed to (p, n), with rows taken in ``rows`` order.

    Centre and scale (mean and SD; 1 for a constant column) only condition the
    Newton steps and the convergence test. They are computed on a fixed
    systematic sample of about ``_STAT_ROWS`` rows in the fit's (id) order (all
    rows of smaller data), so they do not depend on the order the rows arrived
    in. The gather, shift and scale of each column run in one sweep, columns
    split between threads (numpy releases the GIL), so the design costs about
    what gathering the covariates into id order would cost anyway.
    """
    p = len(cols)
    sample = np.arange(0, n, n // _STAT_ROWS) if n > 2 * _STAT_ROWS else None
    picked = sample if rows is None else (rows if sample is None else rows[sample])
    centre, scale = _centre_scale([c if picked is None else c[picked] for c in cols])
    Z = np.empty((p, n))

    def fill(j: int) -> None:
        z = Z[j]
        col = cols[j]
        if rows is None:
            np.subtract(col, centre[j], out=z)
        elif col.dtype == np.float64:
            np.take(col, rows, out=z, mode="clip")  # rows are valid; "raise" would buffer the output
            z -= centre[j]
        else:  # take() cannot convert: gather cache-sized pieces and convert while shifting
            for i in range(0, n, _CHUNK):
                np.subtract(col[rows[i:i + _CHUNK]], centre[j], out=z[i:i + _CHUNK])
        z *= 1.0 / scale[j]

    _in_threads(fill, range(p), parallel=n >= _PARALLEL_ROWS)
    return Z, centre, scale


def _in_threads(fn: Callable[[int], None], items: range, *, parallel: bool) -> None:
    """Run ``fn`` on each item, spread over the available cores when ``parallel``."""
    workers = min(len(items), _cores()) if parallel else 1
    if workers <= 1:
        for i in items:
            fn(i)
        return
    import threading

    errors: list[BaseException] = []

    def run(part: range) -> None:
        try:
            for i in part:
                fn(i)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(items[w::workers],)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _centre_scale(cols: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (population) SD of each column; SD 1 for a constant column."""
    centre = np.empty(len(cols))
    scale = np.empty(len(cols))
    for j, col in enumerate(cols):
        centre[j] = col.mean(dtype=np.float64)
        dev = col - centre[j]
        sd = float(np.sqrt(np.einsum("i,i->", dev, dev) / col.shape[0]))
        scale[j] = sd if sd > 0 else 1.0
    return centre, scale


def _blocks(Z: np.ndarray, y: np.ndarray) -> Blocks:
    """Consecutive column blocks of the (k, n) design, as views, with the matching slice of ``y``."""
    n = y.shape[0]

    def blocks() -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        for i in range(0, n, _CHUNK):
            yield i, Z[:, i:i + _CHUNK], y[i:i + _CHUNK]

    return blocks


def fit_logit(X: np.ndarray | Sequence[np.ndarray], y: np.ndarray, names: tuple[str, ...] = ()) -> LogitFit:
    """Maximum-likelihood logit; see :func:`fit_logit_eta`."""
    return fit_logit_eta(X, y, names)[0]


def fit_logit_eta(X: np.ndarray | Sequence[np.ndarray], y: np.ndarray, names: tuple[str, ...] = (),
                  rows: np.ndarray | None = None) -> tuple[LogitFit, np.ndarray]:
    """Maximum-likelihood logistic regression of ``y`` on ``[1, X]`` by Newton-Raphson.

    The covariates are centred and scaled inside the fit (conditioning only;
    coefficients are returned on the original scale; see :func:`_design`). On
    large data the starting values come from a case-control subsample
    (:func:`_warm_rows`), which only saves work: the full-data Newton
    iterations run to the same convergence criterion, so a million rows take
    three passes (two Newton steps and the converged check, which also yields
    the linear predictor).

    Parameters
    ----------
    X
        (n, p) covariate matrix without intercept, or its p columns as 1-D
        numeric arrays (any numeric dtype; read without copying).
    y
        0/1 outcome (treatment indicator), already in the row order of the fit.
    rows
        Optional permutation: row i of the fit is row ``rows[i]`` of ``X``
        (lets a caller sort by id without first copying every column).

    Returns
    -------
    (LogitFit, linear predictor per row, in the order of ``y``)

    Raises
    ------
    InsufficientDataError
        Perfect separation, or a design that is not of full rank.
    """
    cols = [X[:, j] for j in range(X.shape[1])] if isinstance(X, np.ndarray) else list(X)
    n, p = y.shape[0], len(cols)
    y = y.view(np.int8) if y.dtype == bool else y  # int or float 0/1 enter the arithmetic as they are
    warm_rows, offset = _warm_rows(y) if n > 4 * _WARM_ROWS else (None, 0.0)
    Z, centre, scale = _design(cols, n, rows)
    beta = _start(y, p)
    if warm_rows is not None:
        sub_y = y[warm_rows]
        try:
            # Starting values need not be exact: the subsample's own MLE is ~1e-2 from the full one.
            warm, _, ok = _newton(_blocks(Z[:, warm_rows], sub_y), p + 1, _start(sub_y, p), names, tol=_WARM_TOL)
            if ok:
                beta = warm
                beta[0] += offset
        except InsufficientDataError:
            pass  # the subsample may separate where the full data do not
    eta = np.empty(n)
    try:
        beta, it, converged = _newton(_blocks(Z, y), p + 1, beta, names, eta=eta)
    except InsufficientDataError:
        converged = False
    if not converged:
        # Plain Newton can overshoot and diverge where the MLE exists (a rare treatment, a long-tailed covariate);
        # the same iterations with step-halving on the log-likelihood (as R's glm.fit does) reach the same MLE.
        # Only a truly separated design (no finite MLE) still fails here.
        try:
            beta, it, converged = _newton_halving(_blocks(Z, y), p + 1, _start(y, p), eta=eta)
        except InsufficientDataError:
            raise _separation_or_collinear(_culprits(cols, y, names, rows)) from None
    if not converged or eta.max() > _ETA_LIMIT:  # (a logit below -30 is not refused: see the module notes)
        raise _separation_or_collinear(_culprits(cols, y, names, rows))
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
    k = -(-(n - n_rare) // (_WARM_ROWS - n_rare))
    keep = y == rare
    n_common_kept = int(np.count_nonzero(~keep[::k]))  # a systematic 1-in-k sample of the commoner outcome
    keep[::k] = True
    rows = np.flatnonzero(keep)
    fraction = n_common_kept / (n - n_rare)  # share of the commoner outcome kept
    # logit P(y=1 | x, sampled) = logit P(y=1 | x) + log(f1 / f0)
    return rows, (np.log(fraction) if rare == 1 else -np.log(fraction))


def _culprits(cols: list, y: np.ndarray, names: tuple[str, ...], rows: np.ndarray | None) -> tuple[str, ...]:
    """The covariates at fault when the logit cannot be fitted (only computed then).

    A covariate whose participants' values all lie on one side of the comparison records' (complete or
    quasi-complete separation by that covariate alone), or that is constant; failing those, a covariate
    that duplicates another (correlation ±1). When no single covariate explains it, all are named.
    """
    named = names if len(names) == len(cols) else tuple(f"covariate {j + 1}" for j in range(len(cols)))
    treated = np.asarray(y) != 0
    values = []
    out = []
    for j, col in enumerate(cols):
        a = np.asarray(col, dtype=float)
        a = a[rows] if rows is not None else a
        values.append(a)
        t, c = a[treated], a[~treated]
        if len(t) and len(c) and (np.ptp(a) == 0 or t.max() <= c.min() or t.min() >= c.max()):
            out.append(named[j])
    if not out and 1 < len(values) <= 200:
        corr = np.corrcoef(np.vstack(values))
        for i in range(len(values)):
            for j in range(i + 1, len(values)):
                if abs(corr[i, j]) > 1 - 1e-9:
                    out += [f"{named[i]} duplicates {named[j]}"]
    return tuple(out) or named


def _separation_or_collinear(names: tuple[str, ...]) -> InsufficientDataError:
    return InsufficientDataError(
        "The propensity model cannot be estimated: some covariate values occur only among "
        "participants or only among the comparison pool (perfect separation), or covariates "
        f"duplicate one another. The covariate{'s' if len(names) != 1 else ''} at fault: "
        f"{', '.join(names) or 'see covariates'}. Merge rare categories, "
        "drop the offending covariate, or restrict the comparison pool to people like the participants."
    )


def propensity_distance(X: np.ndarray | Sequence[np.ndarray], treat: np.ndarray, *, link: str,
                        names: tuple[str, ...] = (), rows: np.ndarray | None = None
                        ) -> tuple[np.ndarray, LogitFit]:
    """Propensity distance per row: probability (``link="logit"``) or logit (``"linear.logit"``).

    ``rows`` as in :func:`fit_logit_eta`; the distances follow the order of ``treat``.
    """
    fit, eta = fit_logit_eta(X, treat, names, rows)
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
