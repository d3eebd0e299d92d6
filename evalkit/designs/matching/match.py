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

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evalkit.errors import InsufficientDataError, SpecError
from evalkit.results import ResultMixin

from ._data import covariate_matrix, prepare, require_columns
from .nearest import match_mahalanobis, match_on_distance
from .propensity import LogitFit, mahalanobis_transform, propensity_distance

DEFAULT_MIN_TREATED = 10
_M_ORDERS = ("largest", "smallest", "data", "random")
_DISCARDS = ("none", "treated", "control", "both")


@dataclass(frozen=True)
class MatchResult(ResultMixin):
    """A matched sample: settings, counts and — for downstream use only — the unit table.

    ``units`` (one row per person: id, treated, distance, weight, subclass,
    discarded) and ``pairs`` (treated id, control id, round) are row-level data.
    They feed :func:`balance_table`, :func:`estimate_att` and friends and must
    not be put in a report; ``summary()``/``to_frame()`` show counts only.
    """

    treatment: str
    id_col: str
    covariates: tuple[str, ...]
    settings: dict
    caliper_value: float | None
    n_treated: int
    n_control: int
    n_treated_discarded: int
    n_control_discarded: int
    n_treated_matched: int
    n_control_matched: int
    propensity: LogitFit | None
    units: pd.DataFrame = field(repr=False)
    pairs: pd.DataFrame = field(repr=False)
    warnings: tuple[str, ...] = ()
    title: str = "Matched sample"

    def _rows(self) -> list[dict]:
        return [
            {"group": "treated", "all": self.n_treated, "discarded": self.n_treated_discarded,
             "matched": self.n_treated_matched,
             "unmatched": self.n_treated - self.n_treated_discarded - self.n_treated_matched},
            {"group": "comparison", "all": self.n_control, "discarded": self.n_control_discarded,
             "matched": self.n_control_matched,
             "unmatched": self.n_control - self.n_control_discarded - self.n_control_matched},
        ]

    @property
    def matched(self) -> pd.DataFrame:
        """Matched units only (weight > 0)."""
        return self.units[self.units["weight"] > 0]


def _check_options(distance, link, caliper, ratio, m_order, discard, exact, replace) -> None:
    if distance not in ("glm", "mahalanobis"):
        raise SpecError(f"distance must be 'glm' or 'mahalanobis', not {distance!r}.")
    if link not in ("logit", "linear.logit"):
        raise SpecError(f"link must be 'logit' or 'linear.logit', not {link!r}.")
    if not isinstance(ratio, (int, np.integer)) or ratio < 1:
        raise SpecError(f"ratio must be a whole number of at least 1, not {ratio!r}.")
    if m_order is not None and m_order not in _M_ORDERS:
        raise SpecError(f"m_order must be one of {', '.join(_M_ORDERS)}, not {m_order!r}.")
    if discard not in _DISCARDS:
        raise SpecError(f"discard must be one of {', '.join(_DISCARDS)}, not {discard!r}.")
    if caliper is not None and (not np.isfinite(caliper) or caliper <= 0):
        raise SpecError(f"caliper must be a positive number, not {caliper!r}.")
    if distance == "mahalanobis":
        if caliper is not None:
            raise SpecError("A caliper needs a propensity-score distance; use distance='glm' or drop the caliper.")
        if discard != "none":
            raise SpecError("Common-support discarding needs a propensity score; use distance='glm' or discard='none'.")
        if m_order in ("largest", "smallest"):
            raise SpecError("m_order 'largest'/'smallest' needs a propensity score; use 'data' or 'random'.")


def _discarded(dist: np.ndarray, treat: np.ndarray, discard: str) -> np.ndarray:
    """MatchIt ``discard()``: drop units outside the other group's (or the common) range."""
    if discard == "none":
        return np.zeros(dist.size, dtype=bool)
    d1, d0 = dist[treat == 1], dist[treat == 0]
    if discard == "both":
        return (dist < max(d0.min(), d1.min())) | (dist > min(d0.max(), d1.max()))
    if discard == "control":
        return (dist < d1.min()) | (dist > d1.max())
    return (dist < d0.min()) | (dist > d0.max())


def _processing_order(dist, treat, eligible, m_order, seed) -> np.ndarray:
    treated = np.flatnonzero(treat == 1)
    if m_order == "largest":
        return treated[np.argsort(-dist[treated], kind="stable")]
    if m_order == "smallest":
        return treated[np.argsort(dist[treated], kind="stable")]
    treated = treated[eligible[treated]]
    if m_order == "random":
        return np.random.default_rng(seed).permutation(treated)
    return treated


def _strata_codes(frame: pd.DataFrame, exact: list[str] | None) -> np.ndarray | None:
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
    with _without_huge_pages():
        return _match(data, treatment, covariates, id_col, method, distance, link, caliper, std_caliper,
                      ratio, replace, exact, m_order, discard, seed, min_treated)


@contextmanager
def _without_huge_pages() -> Iterator[None]:
    """Ask numpy not to back new arrays with transparent huge pages for the duration.

    Why: numpy madvises every large array for huge pages, and with the common
    Linux setting ``defrag = madvise`` each first touch of a 2 MB page may
    stall in direct memory compaction. Matching a million records allocates a
    few hundred MB of short-lived arrays; on a busy machine those stalls took
    longer (0.3-0.5 s of system time) than the whole fit. Only page backing
    changes, never a value; the previous setting is restored on exit.
    """
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # numpy < 2 or a numpy without the switch: nothing to do
        yield
        return
    previous = _set_madvise_hugepage(False)
    try:
        yield
    finally:
        _set_madvise_hugepage(previous)


def _match(data, treatment, covariates, id_col, method, distance, link, caliper, std_caliper, ratio, replace,
           exact, m_order, discard, seed, min_treated) -> MatchResult:
    if method != "nearest":
        raise SpecError(f"method {method!r} is not available; use method='nearest'.")
    exact = list(exact) if exact else []
    _check_options(distance, link, caliper, ratio, m_order, discard, exact, replace)
    require_columns(data, [id_col, treatment, *covariates, *exact])
    frame = prepare(data, treatment=treatment, id_col=id_col, columns=[*covariates, *exact])
    treat = frame[treatment].to_numpy()
    n1, n0 = int(treat.sum()), int((treat == 0).sum())
    if n1 < min_treated:
        raise InsufficientDataError(
            f"Only {n1} participant(s) in the data; matching needs at least {min_treated}. "
            "Pool more cohorts or report the participants' outcomes without a comparison.")
    if n0 == 0:
        raise InsufficientDataError("The comparison pool is empty; add comparison records to match against.")
    X = covariate_matrix(frame, list(covariates))
    warnings: list[str] = []
    fit = None
    if distance == "glm":
        dist, fit = propensity_distance(X.design, treat, link=link, names=X.columns)
        if m_order is None:
            m_order = "largest"
    else:
        dist = np.full(treat.size, np.nan)
        m_order = m_order or "data"
    if replace:
        m_order = "data"  # MatchIt: order cannot matter when controls are reused
    discarded = _discarded(dist, treat, discard)
    if distance == "glm":
        _check_overlap(dist, treat, discarded)
    cal_value = None
    if caliper is not None:
        kept = dist if not discarded.any() else dist[~discarded]  # no copy of a million rows when none discarded
        cal_value = float(caliper) * (float(np.std(kept, ddof=1)) if std_caliper else 1.0)
    strata = _strata_codes(frame, exact)
    eligible = ~discarded
    if strata is not None:
        # MatchIt: strata lacking either group are set aside.
        shared = np.intersect1d(strata[treat == 1], strata[treat == 0])
        eligible &= np.isin(strata, shared)
    order = _processing_order(dist, treat, eligible, m_order, seed)
    if distance == "glm":
        mm = match_on_distance(dist, treat, eligible, order, ratio=ratio, replace=replace,
                               caliper=cal_value, strata=strata)
    else:
        coords = mahalanobis_transform(X.values, treat, discarded)
        mm = match_mahalanobis(coords, treat, eligible, order, ratio=ratio, replace=replace, strata=strata)
    return _build_result(frame, treatment, id_col, tuple(covariates), dist, treat, discarded, order, mm,
                         fit, cal_value, warnings,
                         dict(method=method, distance=distance, link=link, caliper=caliper,
                              std_caliper=std_caliper, ratio=ratio, replace=replace, exact=tuple(exact),
                              m_order=m_order, discard=discard, seed=seed))


def _check_overlap(dist: np.ndarray, treat: np.ndarray, discarded: np.ndarray) -> None:
    ranges = []
    for g in (1, 0):
        rows = (treat == g) & ~discarded
        if not rows.any():
            ranges.append(None)
            continue
        ranges.append((dist.min(where=rows, initial=np.inf), dist.max(where=rows, initial=-np.inf)))
    r1, r0 = ranges
    if r1 is None or r0 is None or r1[0] > r0[1] or r1[1] < r0[0]:
        raise InsufficientDataError(
            "Participants and the comparison pool do not overlap on the propensity score "
            "(no common support), so no fair comparison exists. Use a comparison pool of "
            "people more like the participants.")


def _build_result(frame, treatment, id_col, covariates, dist, treat, discarded, order, mm, fit,
                  cal_value, warnings, settings) -> MatchResult:
    n = treat.size
    ratio = mm.shape[1]
    has = mm >= 0
    k = has.sum(axis=1)
    matched_t = order[k > 0]
    if matched_t.size == 0:
        raise InsufficientDataError(
            "No participant has a comparison record close enough to match"
            + (" within the caliper; widen the caliper (e.g. 0.25 SD) or use a larger pool." if cal_value
               else "; use a larger comparison pool."))
    # distance, weight and subclass share one float block, the layout pandas keeps,
    # so the unit table is assembled without copying a million rows again.
    floats = np.empty((3, n))
    floats[0] = dist
    weights = floats[1]
    weights[:] = 0.0
    weights[matched_t] = 1.0
    rows_i = np.repeat(np.arange(order.size), ratio)[has.ravel()]
    ctrl = mm[has]
    np.add.at(weights, ctrl, 1.0 / k[rows_i])
    matched_c = np.unique(ctrl)  # the controls with a positive weight, in row order
    weights[matched_c] /= weights[matched_c].mean()
    subclass = floats[2]
    subclass[:] = np.nan
    if not settings["replace"]:
        # MatchIt numbers subclasses by treated units in data (id) order.
        ts = np.sort(matched_t)
        subclass[ts] = np.arange(1, ts.size + 1)
        subclass[ctrl] = np.searchsorted(ts, order[rows_i]) + 1
    ids = frame[id_col].to_numpy().copy()
    # (pandas merges same-dtype blocks on concat, so the float columns stay together.)
    units = pd.concat([pd.DataFrame({id_col: ids, "treated": treat}, copy=False),
                       pd.DataFrame(floats.T, columns=["distance", "weight", "subclass"], copy=False),
                       pd.DataFrame({"discarded": discarded}, copy=False)], axis=1, copy=False)
    round_no = np.tile(np.arange(1, ratio + 1), order.size)[has.ravel()]
    pairs = pd.DataFrame({"treated_id": ids[order[rows_i]], "control_id": ids[ctrl], "round": round_no})
    pairs = pairs.sort_values(["treated_id", "round"], kind="mergesort").reset_index(drop=True)
    is_t = treat == 1
    n1 = int(is_t.sum())
    n1_discarded = int((is_t & discarded).sum())
    n_unmatched = n1 - matched_t.size - n1_discarded
    if n_unmatched:
        warnings.append(f"{n_unmatched} participant(s) found no comparison record"
                        + (" within the caliper" if cal_value else "") + " and are left out of the estimate.")
    return MatchResult(
        treatment=treatment, id_col=id_col, covariates=covariates, settings=settings, caliper_value=cal_value,
        n_treated=n1, n_control=n - n1, n_treated_discarded=n1_discarded,
        n_control_discarded=int(discarded.sum()) - n1_discarded,
        n_treated_matched=int(matched_t.size), n_control_matched=int(matched_c.size),
        propensity=fit, units=units, pairs=pairs, warnings=tuple(warnings))
