"""Nearest-neighbour matching on numpy arrays: the engine behind both front ends.

:func:`evalkit.designs.matching.match` (a pandas DataFrame) and
:func:`evalkit.designs.matching.files.match_file` (a CSV or Parquet file, for
national-scale pools, without pandas) both check and sort their input by id,
code the covariates (:class:`~._design.CovariateMatrix`) and call
:func:`match_arrays`, so the two give identical matched sets. Vocabulary,
defaults and weights follow R's MatchIt 4.7.2; see :mod:`.match`.

This module imports numpy only, so that the file front end starts quickly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from evalkit.errors import InsufficientDataError

from ._common import DEFAULT_MIN_TREATED, check_options, without_huge_pages
from ._design import CovariateMatrix
from .nearest import match_mahalanobis, match_on_distance
from .propensity import mahalanobis_transform, propensity_distance

__all__ = ["DEFAULT_MIN_TREATED", "MatchArrays", "check_groups", "check_options", "match_arrays",
           "without_huge_pages"]


@dataclass(frozen=True)
class MatchArrays:
    """Row-level result of :func:`match_arrays`, rows in id order (internal; never for a report).

    The matched units are held sparsely (``matched_rows`` with their weight
    and subclass); ``weights`` and ``subclass`` expand them to every row on
    first use. ``summary`` holds the aggregates, the keyword arguments of the
    front ends' result types (:class:`._common.MatchSummary`). ``pair_treated``/``pair_control`` are row numbers of each
    matched pair, ordered by treated row then round (``pair_round``, 1 = first
    match).
    """

    treat: np.ndarray = field(repr=False)
    distance: np.ndarray = field(repr=False)  # NaN for Mahalanobis
    discarded: np.ndarray = field(repr=False)
    matched_rows: np.ndarray = field(repr=False)  # rows with a positive weight, ascending
    matched_weight: np.ndarray = field(repr=False)
    matched_subclass: np.ndarray = field(repr=False)  # NaN with replacement (MatchIt has no subclasses then)
    pair_treated: np.ndarray = field(repr=False)
    pair_control: np.ndarray = field(repr=False)
    pair_round: np.ndarray = field(repr=False)
    summary: dict  # settings, caliper value, counts, propensity fit and warnings: a MatchSummary's fields

    @cached_property
    def weights(self) -> np.ndarray:
        """MatchIt's weight for every row (0 = not matched)."""
        out = np.zeros(self.treat.size)
        out[self.matched_rows] = self.matched_weight
        return out

    @cached_property
    def subclass(self) -> np.ndarray:
        """Matched-set number for every row (NaN = not matched, or matched with replacement)."""
        out = np.full(self.treat.size, np.nan)
        out[self.matched_rows] = self.matched_subclass
        return out


def check_groups(treat: np.ndarray, min_treated: int = DEFAULT_MIN_TREATED) -> tuple[int, int]:
    """Numbers of treated and comparison rows; refuse too few treated or an empty pool."""
    n1 = int(np.count_nonzero(treat))
    n0 = treat.size - n1
    if n1 < min_treated:
        raise InsufficientDataError(
            f"Only {n1} participant(s) in the data; matching needs at least {min_treated}. "
            "Pool more cohorts or report the participants' outcomes without a comparison.")
    if n0 == 0:
        raise InsufficientDataError("The comparison pool is empty; add comparison records to match against.")
    return n1, n0


def match_arrays(treat: np.ndarray, X: CovariateMatrix, *, strata: np.ndarray | None = None,
                 exact: tuple[str, ...] = (), method: str = "nearest", distance: str = "glm",
                 link: str = "logit", caliper: float | None = None, std_caliper: bool = True, ratio: int = 1,
                 replace: bool = False, m_order: str | None = None, discard: str = "none",
                 seed: int | None = None, min_treated: int = DEFAULT_MIN_TREATED) -> MatchArrays:
    """Match treated rows to comparison rows; rows must already be in id order.

    Parameters
    ----------
    treat
        0/1 integer array (1 = participant).
    X
        Coded covariates, rows aligned with ``treat``.
    strata
        Integer code of each row's exact-matching stratum (None: no exact matching);
        ``exact`` names the columns it came from (recorded in the settings).
    Other parameters
        As :func:`evalkit.designs.matching.match`.

    Raises
    ------
    SpecError, InsufficientDataError
        As :func:`evalkit.designs.matching.match`.
    """
    check_options(method=method, distance=distance, link=link, caliper=caliper, ratio=ratio, m_order=m_order,
                  discard=discard)
    check_groups(treat, min_treated)
    fit = None
    if distance == "glm":
        dist, fit = propensity_distance(X.design, treat, link=link, names=X.columns, rows=X.rows)
        m_order = m_order or "largest"
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
    eligible = ~discarded
    if strata is not None:
        # MatchIt: strata lacking either group are set aside.
        shared = np.intersect1d(strata[treat == 1], strata[treat == 0])
        eligible &= np.isin(strata, shared)
    order = _processing_order(dist, treat, eligible, m_order, seed)
    if distance == "glm":
        mm = match_on_distance(dist, treat, eligible, order, ratio=ratio, replace=replace, caliper=cal_value,
                               strata=strata)
    else:
        coords = mahalanobis_transform(X.values, treat, discarded)
        mm = match_mahalanobis(coords, treat, eligible, order, ratio=ratio, replace=replace, strata=strata)
    settings = dict(method=method, distance=distance, link=link, caliper=caliper, std_caliper=std_caliper,
                    ratio=ratio, replace=replace, exact=tuple(exact), m_order=m_order, discard=discard, seed=seed)
    return _assemble(dist, treat, discarded, order, mm, fit, cal_value, settings)


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


def _assemble(dist, treat, discarded, order, mm, fit, cal_value, settings) -> MatchArrays:
    """MatchIt's weights and subclasses, the pair list and the counts (no array over all rows is built)."""
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
    rows_i = np.repeat(np.arange(order.size), ratio)[has.ravel()]
    ctrl = mm[has]
    pair_t = order[rows_i]
    # A control's weight: the sum over the treated it serves of 1/(controls matched to that treated unit),
    # summed in pair order (as np.add.at would), then scaled to average 1 over the matched controls.
    matched_c, inv = np.unique(ctrl, return_inverse=True)
    w_c = np.bincount(inv.ravel(), weights=1.0 / k[rows_i], minlength=matched_c.size)
    w_c /= w_c.mean()
    ts = np.sort(matched_t)
    if settings["replace"]:
        s_t = s_c = np.nan
    else:
        # MatchIt numbers subclasses by treated units in data (id) order; each control serves one.
        s_t = np.arange(1, ts.size + 1, dtype=float)
        s_c = np.empty(matched_c.size)
        s_c[inv.ravel()] = np.searchsorted(ts, pair_t) + 1
    rows = np.concatenate([ts, matched_c])
    by_row = np.argsort(rows, kind="stable")
    weight = np.concatenate([np.ones(ts.size), w_c])[by_row]
    subclass = np.concatenate([np.broadcast_to(s_t, ts.shape), np.broadcast_to(s_c, matched_c.shape)])[by_row]
    round_no = np.tile(np.arange(1, ratio + 1), order.size)[has.ravel()]
    by = np.lexsort((round_no, pair_t))
    n1 = int(np.count_nonzero(treat))
    n_discarded = int(np.count_nonzero(discarded))
    n1_discarded = int(np.count_nonzero(discarded[treat == 1])) if n_discarded else 0
    n_unmatched = n1 - matched_t.size - n1_discarded
    warnings = []
    if n_unmatched:
        warnings.append(f"{n_unmatched} participant(s) found no comparison record"
                        + (" within the caliper" if cal_value else "") + " and are left out of the estimate.")
    return MatchArrays(
        treat=treat, distance=dist, discarded=discarded, matched_rows=rows[by_row], matched_weight=weight,
        matched_subclass=subclass, pair_treated=pair_t[by], pair_control=ctrl[by], pair_round=round_no[by],
        summary=dict(settings=settings, caliper_value=cal_value, n_treated=n1, n_control=n - n1,
                     n_treated_discarded=n1_discarded, n_control_discarded=n_discarded - n1_discarded,
                     n_treated_matched=int(matched_t.size), n_control_matched=int(matched_c.size),
                     propensity=fit, warnings=tuple(warnings)))
