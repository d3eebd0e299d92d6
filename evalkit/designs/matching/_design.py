"""The numeric design the propensity model and the Mahalanobis metric work on (no pandas).

Shared by the DataFrame front end (:mod:`._data`) and the file front end
(:mod:`.files`), which both turn named covariates into these columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from evalkit.errors import InsufficientDataError


@dataclass(frozen=True)
class CovariateMatrix:
    """Numeric design columns built from the named covariates (no intercept).

    ``design`` holds the columns as 1-D numeric arrays (views of the input
    columns where possible). When ``rows`` is given, row i of the design is
    row ``rows[i]`` of those arrays (the file front end sorts by id this way
    without copying every column; the propensity fit gathers while it
    standardises). The (n, p) float64 matrix ``values``, in design row order,
    is built only when asked for.
    """

    design: tuple[np.ndarray, ...]  # p columns of length n, numeric
    columns: tuple[str, ...]  # design column names, e.g. "sex[male]"
    source: tuple[str, ...]  # covariate each design column came from
    binary: tuple[bool, ...]  # whether the design column takes only 0/1
    n: int
    rows: np.ndarray | None = None

    @cached_property
    def values(self) -> np.ndarray:
        """The (n, p) float64 design matrix, column-major."""
        values = np.empty((self.n, len(self.design)), order="F")
        for j, v in enumerate(self.design):
            values[:, j] = v if self.rows is None else v[self.rows]
        return values


def numeric_column(cov: str, v: np.ndarray) -> tuple[np.ndarray, bool]:
    """A numeric covariate as a design column (bool viewed as 0/1), and whether it is binary.

    Raises
    ------
    InsufficientDataError
        The covariate takes a single value (no variance).
    """
    if v.dtype == bool:
        v = v.view(np.uint8)
    lo, hi = (v.min(), v.max()) if v.size else (0, 0)
    if v.size == 0 or lo == hi:
        raise no_variance(cov)
    # min/max rule out 0/1 for most continuous columns without a full pass
    return v, bool(lo >= 0 and hi <= 1 and (v.dtype.kind in "biu" or ((v == 0) | (v == 1)).all()))


def no_variance(cov: str) -> InsufficientDataError:
    return InsufficientDataError(
        f"Covariate '{cov}' takes the same value for everyone, so it cannot be used to "
        "match on or adjust for. Remove it from the covariates list."
    )
