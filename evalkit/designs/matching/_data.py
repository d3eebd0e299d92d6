"""Input checks and covariate coding shared by the matching modules.

The matching design takes one ordinary DataFrame with a 0/1 treatment column.
Before anything else the rows are sorted by the id column (a stable key), so
that the row order a user happens to supply never changes a matched set: every
tie rule below is "lower position in id order first", exactly as MatchIt's
"data order" rule applied to data sorted by id.

Categorical covariates (object, string, category or bool-with-missing dtype) are
dummy-coded with the *first level* as the reference, as R's ``model.matrix``
does for a factor: for a pandas ``Categorical`` the first category, otherwise
the first value in sorted (code-point) order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.designs._checks import require_columns as _require_columns
from evalkit.errors import DataError, MissingDataError, Problem

from ._design import CovariateMatrix, no_variance, numeric_column

_SOURCE = "matching data"


def require_columns(data: pd.DataFrame, columns: list[str]) -> None:
    """Raise MissingDataError naming every absent column (:func:`evalkit.designs._checks.require_columns`)."""
    _require_columns(data, columns, what="matching data",
                     fix="check the spelling against the data contract or add the column")


def prepare(data: pd.DataFrame, *, treatment: str, id_col: str, columns: list[str]) -> pd.DataFrame:
    """Check the frame and return it sorted by ``id_col`` with a 0/1 treatment.

    Raises
    ------
    MissingDataError
        A named column is absent.
    DataError
        Duplicate ids, missing values, or a treatment column that is not 0/1.
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(Problem(file=_SOURCE, message="expected a pandas DataFrame.",
                                fix="Pass the participants and comparison pool as one DataFrame."))
    needed = list(dict.fromkeys([id_col, treatment, *columns]))
    require_columns(data, needed)
    for col in needed:
        if pd.api.types.is_integer_dtype(data[col]) and not pd.api.types.is_extension_array_dtype(data[col]):
            continue  # numpy integer columns cannot hold missing values
        n_missing = int(data[col].isna().sum())
        if n_missing:
            raise DataError(Problem(file=_SOURCE, column=col,
                                    message=f"{n_missing} missing value(s).",
                                    fix="Fill or drop the rows with missing values before matching."))
    ids = data[id_col].to_numpy()
    # Sort by id: the documented tie rule ("earlier id first") needs it. Ids are unique
    # (checked next), so an unstable sort gives the same order, faster.
    already = ids.size < 2 or bool(np.all(ids[1:] > ids[:-1]))
    order = None if already else np.argsort(ids)
    treat = data[treatment]
    if pd.api.types.is_bool_dtype(treat):
        treat = treat.astype(np.int8)
    if not _is_zero_one(treat):
        values = set(pd.unique(treat).tolist())
        raise DataError(Problem(file=_SOURCE, column=treatment,
                                message=f"treatment must be 0/1 (or True/False); found {sorted(map(str, values))[:5]}.",
                                fix="Code participants 1 and comparison records 0."))
    frame = _reordered({col: (treat.astype(np.int8) if col == treatment else data[col]) for col in needed}, order)
    if order is not None:
        sorted_ids = frame[id_col].to_numpy()
        dup = sorted_ids[1:] == sorted_ids[:-1]
        if dup.any():
            raise DataError(Problem(file=_SOURCE, column=id_col,
                                    message=f"id {sorted_ids[1:][dup][0]!r} appears more than once.",
                                    fix="Each person must appear once; keep one row per person."))
    return frame


def _is_zero_one(treat: pd.Series) -> bool:
    if pd.api.types.is_integer_dtype(treat) and not pd.api.types.is_extension_array_dtype(treat):
        v = treat.to_numpy()  # min/max instead of a hash table over a million rows
        return v.size == 0 or (int(v.min()) >= 0 and int(v.max()) <= 1)
    return set(pd.unique(treat).tolist()) <= {0, 1}


def _reordered(columns: dict[str, pd.Series], order: np.ndarray | None) -> pd.DataFrame:
    """A new frame (default index) of ``columns`` with rows taken in ``order`` (None: as they are).

    Numpy-typed columns are gathered straight into one 2-D block per dtype, the
    layout pandas keeps, so the frame is built without the consolidation copy
    that ``pd.DataFrame(dict)`` makes (a million rows: ~60 MB less copying).
    Columns therefore come grouped by dtype, not in the order given.
    """
    by_dtype: dict[np.dtype, list[str]] = {}
    other: dict[str, pd.Series] = {}
    for col, s in columns.items():
        if isinstance(s.dtype, np.dtype) and s.dtype.kind in "biuf":
            by_dtype.setdefault(s.dtype, []).append(col)
        else:
            other[col] = s.reset_index(drop=True) if order is None else s.iloc[order].reset_index(drop=True)
    n = len(next(iter(columns.values()))) if columns else 0
    parts = []
    for dtype, cols in by_dtype.items():
        block = np.empty((len(cols), n), dtype=dtype)
        for row, col in zip(block, cols):
            src = columns[col].to_numpy()
            if order is None:
                row[:] = src
            else:
                np.take(src, order, out=row, mode="clip")  # indices are valid; "raise" would buffer
        parts.append(pd.DataFrame(block.T, columns=cols, copy=False))
    if other:
        parts.append(pd.DataFrame(other, copy=False))
    return pd.concat(parts, axis=1, copy=False) if len(parts) > 1 else parts[0]


def combine(participants: pd.DataFrame, pool: pd.DataFrame, *, treatment: str = "treated") -> pd.DataFrame:
    """Stack participants (treated) and a comparison pool (controls) into one frame.

    Only columns present in both frames are kept; ``treatment`` is 1 for
    participants and 0 for the pool.
    """
    common = [c for c in participants.columns if c in pool.columns and c != treatment]
    if not common:
        raise MissingDataError("Participants and comparison pool share no columns; "
                               "rename the covariates so both use the data-contract names.")
    left = participants[common].assign(**{treatment: 1})
    right = pool[common].assign(**{treatment: 0})
    return pd.concat([left, right], ignore_index=True)


def _is_categorical(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


def _levels(series: pd.Series) -> list:
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = set(series.unique().tolist())
        return [c for c in series.cat.categories if c in present]  # R droplevels()
    return sorted(pd.unique(series).tolist(), key=str)


def covariate_matrix(frame: pd.DataFrame, covariates: list[str]) -> CovariateMatrix:
    """Code covariates as numeric design columns; refuse constant covariates.

    Numeric and boolean columns enter as they are. Categorical columns are
    dummy-coded, dropping the first level (the reference, see module docstring).

    Raises
    ------
    InsufficientDataError
        A covariate takes a single value in the data (no variance).
    """
    design: list[np.ndarray] = []
    names: list[str] = []
    source: list[str] = []
    binary: list[bool] = []
    for cov in covariates:
        s = frame[cov]
        if _is_categorical(s):
            levels = _levels(s)
            if len(levels) < 2:
                raise no_variance(cov)
            for lev in levels[1:]:
                design.append((s == lev).to_numpy())
                names.append(f"{cov}[{lev}]")
                source.append(cov)
                binary.append(True)
        else:
            v = s.to_numpy()
            if v.dtype != bool and v.dtype.kind not in "iuf":  # nullable/extension numbers
                v = s.to_numpy(dtype=np.float64)
            v, is_binary = numeric_column(cov, v)
            design.append(v)
            names.append(cov)
            source.append(cov)
            binary.append(is_binary)
    return CovariateMatrix(design=tuple(design), columns=tuple(names), source=tuple(source), binary=tuple(binary),
                           n=len(frame))
