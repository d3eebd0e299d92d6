"""The within transformation: sweeping out unit and period fixed effects.

Hand-written rather than calling pyfixest/linearmodels because it is ~15
lines of numpy, keeps pyfixest out of the runtime dependencies and meets the
speed goal (see ``benchmarks/bench_did.py``): a balanced panel without weights
is demeaned exactly in one pass (x - unit mean - period mean + grand mean);
anything else by alternating projections (the method of fixest, pyfixest and
reghdfe; Gaure 2013) to a tolerance of 1e-13 relative to the data's scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evalkit.errors import InsufficientDataError


@dataclass(frozen=True)
class FixedEffects:
    """Integer codes (0..levels-1) of each fixed-effect dimension for the rows kept."""

    codes: tuple[np.ndarray, ...]
    levels: tuple[int, ...]

    def balanced(self) -> bool:
        """True for a two-way design with every unit seen in every period exactly once."""
        if len(self.codes) != 2:
            return False
        n = len(self.codes[0])
        u, t = self.levels
        if n != u * t:
            return False
        cell = self.codes[0] * t + self.codes[1]
        return bool(np.bincount(cell, minlength=u * t).max() == 1)


def drop_singletons(codes: list[np.ndarray]) -> np.ndarray:
    """Mask of rows kept after iteratively dropping fixed-effect levels seen once.

    Singletons are fit perfectly by their own effect; they add nothing to the
    estimate but would inflate N in the (N-1)/(N-K) correction (Correia 2015;
    pyfixest and reghdfe drop them by default).
    """
    keep = np.ones(len(codes[0]), dtype=bool)
    while True:
        changed = False
        for c in codes:
            counts = np.bincount(c[keep])
            single = counts[c] == 1
            bad = keep & single
            if bad.any():
                keep &= ~bad
                changed = True
        if not changed:
            return keep


def recode(codes: list[np.ndarray], keep: np.ndarray) -> FixedEffects:
    """Re-number codes of the kept rows to 0..levels-1."""
    out, levels = [], []
    for c in codes:
        uniq, inv = np.unique(c[keep], return_inverse=True)
        out.append(inv.astype(np.intp))
        levels.append(len(uniq))
    return FixedEffects(tuple(out), tuple(levels))


def _group_mean(c: np.ndarray, x: np.ndarray, w: np.ndarray | None, levels: int, wsum: np.ndarray) -> np.ndarray:
    cols = [np.bincount(c, weights=x[:, j] if w is None else x[:, j] * w, minlength=levels)
            for j in range(x.shape[1])]
    return (np.column_stack(cols) / wsum[:, None])[c]


def demean(x: np.ndarray, fe: FixedEffects, *, weights: np.ndarray | None = None,
           tol: float = 1e-13, max_iter: int = 100_000) -> np.ndarray:
    """Remove all fixed effects from the columns of ``x`` (n, k); returns a new array."""
    x = np.array(x, dtype=float, copy=True, order="F")
    if x.ndim == 1:
        x = x[:, None]
    if weights is None and fe.balanced():
        u, t = fe.codes
        nu, nt = fe.levels
        for j in range(x.shape[1]):  # in place on the private copy
            col = x[:, j]
            mu = np.bincount(u, weights=col, minlength=nu) / nt
            mt = np.bincount(t, weights=col, minlength=nt) / nu
            shift = mu[u]
            shift += mt[t]
            shift -= col.mean()
            col -= shift
        return x
    wsums = [np.bincount(c, weights=weights, minlength=lv) for c, lv in zip(fe.codes, fe.levels)]
    scale = max(1.0, float(np.abs(x).max()))
    for _ in range(max_iter):
        before = x.copy()
        for c, lv, ws in zip(fe.codes, fe.levels, wsums):
            x -= _group_mean(c, x, weights, lv, ws)
        if float(np.abs(x - before).max()) <= tol * scale:
            return x
    raise InsufficientDataError("The fixed-effects demeaning did not converge; the panel may be too "
                                "fragmented (few units in several periods). Fix: check the unit and period columns.")


__all__ = ["FixedEffects", "demean", "drop_singletons", "recode"]
