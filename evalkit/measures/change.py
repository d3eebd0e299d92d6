"""Individual change metrics: reliable change and clinically significant change.

Implements the reliable change index (RCI) and the change categories of
Jacobson & Truax (1991). The formulas are four lines of arithmetic that no
well-kept Python library exposes as a vectorised function, so they are written
here by hand.

References
----------
Jacobson, N. S., & Truax, P. (1991). Clinical significance: a statistical
approach to defining meaningful change in psychotherapy research. *Journal of
Consulting and Clinical Psychology*, 59(1), 12-19. doi:10.1037/0022-006X.59.1.12

Formulas (J&T 1991, p. 14):

* standard error of measurement ``SE = sd * sqrt(1 - r)``;
* standard error of the difference ``S_diff = sqrt(2 * SE**2) = sd * sqrt(2) * sqrt(1 - r)``;
* ``RC = (post - pre) / S_diff``; ``|RC| > 1.96`` is reliable change (p < .05).

Clinical cut-offs (J&T 1991, p. 13) with dysfunctional mean/SD ``m0, s0`` and
functional mean/SD ``m1, s1``:

* a: two SDs beyond the dysfunctional mean, ``m0 ± 2 s0``;
* b: within two SDs of the functional mean, ``m1 ∓ 2 s1``;
* c: the point between the two populations, ``(s0 m1 + s1 m0) / (s0 + s1)``.

:func:`classify_change` takes the cut-off as a number, so an evaluator may
pass any of the three (see :func:`clinical_cutoff`) or a published screening
threshold (e.g. an SDQ band boundary). J&T recommend criterion c when both the
functional and dysfunctional norms are known; the built-in instrument
definitions give no clinical-population norms for these age groups, so their
``clinical_cutoff`` is the published screening band boundary (SDQ: top of the
"close to average" band), named as such in ``docs/measures.md``.

Worked-example check: tests reproduce the published RCI example in Wodrich's
open textbook (Piers-Harris-2, SEM 3.07 -> S_diff 4.34 -> threshold 8.51).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from evalkit.errors import SpecError

#: Critical value J&T (1991) use for a reliable change at p < .05 (two-sided).
RCI_CRITICAL = 1.96

#: Change categories, from worst to best. ``recovered`` is a subset of
#: reliable improvement (improved *and* moved from the dysfunctional to the
#: functional side of the cut-off), so each person gets exactly one category.
CHANGE_CATEGORIES = ("deteriorated", "no_reliable_change", "improved", "recovered")


def _check_psychometrics(reliability: float, sd: float) -> None:
    if not (np.isfinite(reliability) and 0 <= reliability < 1):
        raise SpecError(
            f"reliability must be a number in [0, 1) (got {reliability!r}); "
            "give the instrument's internal consistency (alpha) or test-retest reliability."
        )
    if not (np.isfinite(sd) and sd > 0):
        raise SpecError(f"sd must be a positive number (got {sd!r}); give the norm (or baseline) standard deviation.")


def rci_se_diff(*, reliability: float, sd: float) -> float:
    """Standard error of the difference between two scores, J&T (1991).

    ``S_diff = sd * sqrt(2) * sqrt(1 - reliability)``.
    """
    _check_psychometrics(reliability, sd)
    return float(sd * np.sqrt(2.0) * np.sqrt(1.0 - reliability))


def reliable_change_threshold(*, reliability: float, sd: float, z: float = RCI_CRITICAL) -> float:
    """Smallest raw change that counts as reliable: ``z * S_diff``."""
    return z * rci_se_diff(reliability=reliability, sd=sd)


def reliable_change_index(pre, post, *, reliability: float, sd: float) -> np.ndarray:
    """Reliable change index of Jacobson & Truax (1991).

    Parameters
    ----------
    pre, post
        Scores before and after (array-likes of equal length; NaN allowed).
    reliability
        Reliability of the measure (J&T use test-retest; internal consistency
        alpha is the usual substitute).
    sd
        Standard deviation of the normal population or of the pre-treatment
        group.

    Returns
    -------
    ndarray
        ``(post - pre) / (sd * sqrt(2) * sqrt(1 - reliability))``; NaN where
        either score is missing. Positive means the score went up.
    """
    se_diff = rci_se_diff(reliability=reliability, sd=sd)
    pre_a = np.asarray(pre, dtype=float)
    post_a = np.asarray(post, dtype=float)
    if pre_a.shape != post_a.shape:
        raise SpecError(f"pre and post must have the same length (got {pre_a.shape} and {post_a.shape}).")
    return (post_a - pre_a) / se_diff


def clinical_cutoff(
    criterion: Literal["a", "b", "c"],
    *,
    dysfunctional_mean: float,
    dysfunctional_sd: float,
    functional_mean: float | None = None,
    functional_sd: float | None = None,
    higher_is_better: bool,
) -> float:
    """Cut-off for clinically significant change, J&T (1991) criteria a, b or c.

    Returns the score separating the dysfunctional from the functional range.
    """
    m0, s0 = dysfunctional_mean, dysfunctional_sd
    sign = 1.0 if higher_is_better else -1.0
    if criterion == "a":
        return m0 + sign * 2.0 * s0
    if functional_mean is None or functional_sd is None:
        raise SpecError(f"criterion {criterion!r} needs functional_mean and functional_sd (the normal population norms).")
    m1, s1 = functional_mean, functional_sd
    if criterion == "b":
        return m1 - sign * 2.0 * s1
    if criterion == "c":
        return (s0 * m1 + s1 * m0) / (s0 + s1)
    raise SpecError(f"criterion must be 'a', 'b' or 'c' (got {criterion!r}).")


def classify_change(
    pre,
    post,
    *,
    reliability: float,
    sd: float,
    higher_is_better: bool,
    cutoff: float | None = None,
    z: float = RCI_CRITICAL,
) -> pd.Series:
    """Classify each person's change as J&T (1991) do.

    Categories (one per person):

    * ``improved``: ``|RCI| > z`` in the better direction;
    * ``recovered``: improved *and* ``pre`` on the dysfunctional side of
      ``cutoff`` *and* ``post`` on the functional side (only when ``cutoff``
      is given). A score equal to the cut-off counts as functional, so pass
      the last score of the functional range (e.g. 14 for SDQ self-report
      total difficulties, "close to average" 0-14) or a non-integer J&T
      criterion c value;
    * ``deteriorated``: ``|RCI| > z`` in the worse direction;
    * ``no_reliable_change``: otherwise.

    Missing ``pre`` or ``post`` gives a missing category. The result is a
    categorical Series ordered as :data:`CHANGE_CATEGORIES`, indexed like
    ``pre`` when ``pre`` is a Series.
    """
    rci = reliable_change_index(pre, post, reliability=reliability, sd=sd)
    pre_a = np.asarray(pre, dtype=float)
    post_a = np.asarray(post, dtype=float)
    better = rci if higher_is_better else -rci
    out = np.full(rci.shape, None, dtype=object)
    ok = ~np.isnan(rci)
    out[ok] = "no_reliable_change"
    out[ok & (better > z)] = "improved"
    out[ok & (better < -z)] = "deteriorated"
    if cutoff is not None:
        if higher_is_better:
            pre_dys, post_fun = pre_a < cutoff, post_a >= cutoff
        else:
            pre_dys, post_fun = pre_a > cutoff, post_a <= cutoff
        out[ok & (better > z) & pre_dys & post_fun] = "recovered"
    index = pre.index if isinstance(pre, pd.Series) else None
    return pd.Series(pd.Categorical(out, categories=list(CHANGE_CATEGORIES), ordered=True), index=index, name="change")


__all__ = [
    "CHANGE_CATEGORIES",
    "RCI_CRITICAL",
    "classify_change",
    "clinical_cutoff",
    "reliable_change_index",
    "reliable_change_threshold",
    "rci_se_diff",
]
