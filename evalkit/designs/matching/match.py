"""``match()``: propensity-score or Mahalanobis nearest-neighbour matching with MatchIt's options.

Vocabulary and defaults follow R's MatchIt 4.7.2 (``matchit(method = "nearest")``):
``distance`` ("glm" = logistic propensity score, or "mahalanobis"), ``link``
("logit": match on the probability; "linear.logit": on the logit), ``caliper``
(in standard deviations of the distance when ``std_caliper=True``; the SD is
that of all non-discarded units, on the scale matched on), ``ratio`` (1:k),
``replace``, ``exact`` (match only within strata of these columns),
``m_order`` ("largest" default for a propensity distance, "smallest", "data",
"random" seeded; "data" for Mahalanobis; with replacement order is irrelevant
and "data" is used) and ``discard`` (common support on the distance: "none",
"treated", "control", "both").

Weights are MatchIt's ATT weights: treated 1; a control gets the sum over the
treated it serves of 1/(number of controls matched to that treated unit); the
control weights are then rescaled to average 1 over matched controls (MatchIt's
``normalize = TRUE``). Rows are sorted by ``id_col`` first; "data" order and
every tie rule therefore mean id order, and results equal MatchIt's on data
sorted by id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ._common import DEFAULT_MIN_TREATED, MatchSummary, check_options, without_huge_pages

if TYPE_CHECKING:  # pandas and the engine are imported on use (the file front end runs without pandas)
    import pandas as pd

__all__ = ["DEFAULT_MIN_TREATED", "MatchResult", "match"]


@dataclass(frozen=True, kw_only=True)
class MatchResult(MatchSummary):
    """A matched sample: settings, counts and — for downstream use only — the unit table.

    ``units`` (one row per person: id, treated, distance, weight, subclass,
    discarded) and ``pairs`` (treated id, control id, round) are row-level data.
    They feed :func:`balance_table`, :func:`estimate_att` and friends and must
    not be put in a report; ``summary()``/``to_frame()`` show counts only.
    """

    units: pd.DataFrame = field(repr=False)
    pairs: pd.DataFrame = field(repr=False)

    @property
    def matched(self) -> pd.DataFrame:
        """Matched units only (weight > 0)."""
        return self.units[self.units["weight"] > 0]


def _strata_codes(frame: pd.DataFrame, exact: list[str]) -> np.ndarray | None:
    if not exact:
        return None
    return frame.groupby(list(exact), sort=True, observed=True).ngroup().to_numpy()


def match(data: pd.DataFrame, *, treatment: str, covariates: list[str], id_col: str,
          method: str = "nearest", distance: str = "glm", link: str = "logit",
          caliper: float | None = None, std_caliper: bool = True, ratio: int = 1,
          replace: bool = False, exact: list[str] | None = None, m_order: str | None = None,
          discard: str = "none", seed: int | None = None,
          min_treated: int = DEFAULT_MIN_TREATED) -> MatchResult:
    """Nearest-neighbour matching of treated rows to comparison rows (MatchIt semantics).

    Parameters
    ----------
    data
        One row per person; ``treatment`` is 1 for participants, 0 for the pool.
    covariates
        Columns for the propensity model / Mahalanobis distance; categorical
        columns are dummy-coded (first level is the reference).
    id_col
        Unique person id; rows are processed in id order (the tie rule).
    method
        Only "nearest" is implemented.
    Other parameters
        As MatchIt's ``matchit()``; see the module docstring.
    min_treated
        Refuse when fewer participants are available.

    Returns
    -------
    MatchResult

    Raises
    ------
    InsufficientDataError
        Too few treated, no common support, perfect separation, a constant
        covariate, or no treated unit with a control inside the caliper.
    """
    from ._data import covariate_matrix, prepare, require_columns
    from .core import check_groups, match_arrays

    exact = list(exact) if exact else []
    check_options(method=method, distance=distance, link=link, caliper=caliper, ratio=ratio, m_order=m_order,
                  discard=discard)
    require_columns(data, [id_col, treatment, *covariates, *exact])
    with without_huge_pages():
        frame = prepare(data, treatment=treatment, id_col=id_col, columns=[*covariates, *exact])
        treat = frame[treatment].to_numpy()
        check_groups(treat, min_treated)
        X = covariate_matrix(frame, list(covariates))
        core = match_arrays(treat, X, strata=_strata_codes(frame, exact), exact=tuple(exact), method=method,
                            distance=distance, link=link, caliper=caliper, std_caliper=std_caliper, ratio=ratio,
                            replace=replace, m_order=m_order, discard=discard, seed=seed, min_treated=min_treated)
        return _result(frame[id_col].to_numpy(), treatment, id_col, tuple(covariates), core)


def _result(ids: np.ndarray, treatment: str, id_col: str, covariates: tuple[str, ...], core) -> MatchResult:
    import pandas as pd

    units = pd.DataFrame({id_col: ids.copy(), "treated": core.treat, "distance": core.distance,
                          "weight": core.weights, "subclass": core.subclass, "discarded": core.discarded})
    pairs = pd.DataFrame({"treated_id": ids[core.pair_treated], "control_id": ids[core.pair_control],
                          "round": core.pair_round})
    return MatchResult(treatment=treatment, id_col=id_col, covariates=covariates, units=units, pairs=pairs,
                       **core.summary)
