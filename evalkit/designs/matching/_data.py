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

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.errors import DataError, InsufficientDataError, MissingDataError, Problem

_SOURCE = "matching data"


@dataclass(frozen=True)
class CovariateMatrix:
    """Numeric design columns built from the named covariates (no intercept)."""

    values: np.ndarray  # shape (n, p), float64
    columns: tuple[str, ...]  # design column names, e.g. "sex[male]"
    source: tuple[str, ...]  # covariate each design column came from
    binary: tuple[bool, ...]  # whether the design column takes only 0/1


def require_columns(data: pd.DataFrame, columns: list[str]) -> None:
    """Raise MissingDataError naming every absent column."""
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise MissingDataError(
            f"The data has no column(s) {', '.join(repr(c) for c in missing)}. "
            "Check the spelling against the data contract or add the column."
        )


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
    sorted_ids = ids if already else ids[order]
    if not already and (sorted_ids[1:] == sorted_ids[:-1]).any():
        dup = sorted_ids[1:][sorted_ids[1:] == sorted_ids[:-1]][0]
        raise DataError(Problem(file=_SOURCE, column=id_col,
                                message=f"id {dup!r} appears more than once.",
                                fix="Each person must appear once; keep one row per person."))
    treat = data[treatment]
    if pd.api.types.is_bool_dtype(treat):
        treat = treat.astype(np.int8)
    values = set(pd.unique(treat).tolist())
    if not values <= {0, 1}:
        raise DataError(Problem(file=_SOURCE, column=treatment,
                                message=f"treatment must be 0/1 (or True/False); found {sorted(map(str, values))[:5]}.",
                                fix="Code participants 1 and comparison records 0."))
    cols = {}
    for col in needed:
        s = treat if col == treatment else data[col]
        s = s.reset_index(drop=True) if already else s.iloc[order].reset_index(drop=True)
        cols[col] = s.astype(np.int8) if col == treatment else s
    return pd.DataFrame(cols, copy=False)


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
    cols: list[np.ndarray] = []
    names: list[str] = []
    source: list[str] = []
    for cov in covariates:
        s = frame[cov]
        if _is_categorical(s):
            levels = _levels(s)
            if len(levels) < 2:
                raise _no_variance(cov)
            for lev in levels[1:]:
                cols.append((s == lev).to_numpy(dtype=np.float64))
                names.append(f"{cov}[{lev}]")
                source.append(cov)
        else:
            v = s.to_numpy(dtype=np.float64)
            if v.size == 0 or np.ptp(v) == 0:
                raise _no_variance(cov)
            cols.append(v)
            names.append(cov)
            source.append(cov)
    values = np.column_stack(cols) if cols else np.empty((len(frame), 0))
    binary = tuple(bool(np.isin(values[:, j], (0.0, 1.0)).all()) for j in range(values.shape[1]))
    return CovariateMatrix(values=values, columns=tuple(names), source=tuple(source), binary=binary)


def _no_variance(cov: str) -> InsufficientDataError:
    return InsufficientDataError(
        f"Covariate '{cov}' takes the same value for everyone, so it cannot be used to "
        "match on or adjust for. Remove it from the covariates list."
    )
