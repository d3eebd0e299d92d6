"""Options, defaults and process settings shared by the matching front ends (numpy only, quick to import).

Kept apart from :mod:`.core` so that :mod:`.match` and :mod:`.files` can check
options, and report a bad file, before the engine (propensity fit, nearest
neighbours) is imported.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from evalkit.errors import SpecError
from evalkit.results import ResultMixin

if TYPE_CHECKING:
    from .propensity import LogitFit

DEFAULT_MIN_TREATED = 10
M_ORDERS = ("largest", "smallest", "data", "random")
DISCARDS = ("none", "treated", "control", "both")


@dataclass(frozen=True, kw_only=True)
class MatchSummary(ResultMixin):
    """Settings and counts of a matching run (aggregates only): the part both front ends' results share."""

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


def check_options(*, method: str, distance: str, link: str, caliper: float | None, ratio: int,
                  m_order: str | None, discard: str) -> None:
    """Refuse option values MatchIt would refuse, in plain words (:class:`SpecError`)."""
    if method != "nearest":
        raise SpecError(f"method {method!r} is not available; use method='nearest'.")
    if distance not in ("glm", "mahalanobis"):
        raise SpecError(f"distance must be 'glm' or 'mahalanobis', not {distance!r}.")
    if link not in ("logit", "linear.logit"):
        raise SpecError(f"link must be 'logit' or 'linear.logit', not {link!r}.")
    if isinstance(ratio, bool) or not isinstance(ratio, (int, np.integer)) or ratio < 1:
        raise SpecError(f"ratio must be a whole number of at least 1, not {ratio!r}.")
    if m_order is not None and m_order not in M_ORDERS:
        raise SpecError(f"m_order must be one of {', '.join(M_ORDERS)}, not {m_order!r}.")
    if discard not in DISCARDS:
        raise SpecError(f"discard must be one of {', '.join(DISCARDS)}, not {discard!r}.")
    if caliper is not None and (not np.isfinite(caliper) or caliper <= 0):
        raise SpecError(f"caliper must be a positive number, not {caliper!r}.")
    if distance == "mahalanobis":
        if caliper is not None:
            raise SpecError("A caliper needs a propensity-score distance; use distance='glm' or drop the caliper.")
        if discard != "none":
            raise SpecError("Common-support discarding needs a propensity score; use distance='glm' or discard='none'.")
        if m_order in ("largest", "smallest"):
            raise SpecError("m_order 'largest'/'smallest' needs a propensity score; use 'data' or 'random'.")


@contextmanager
def without_huge_pages() -> Iterator[None]:
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
