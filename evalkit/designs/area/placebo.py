"""Placebo-area (randomisation) inference for the area rate DiD.

With one to three treated areas among a handful, no cluster-based p-value is
trustworthy, the wild bootstrap included (MacKinnon & Webb 2017, 2020). The
placebo check asks a question that needs no large-sample theory: if the
programme's start (month or months) had been given to another set of the same
number of areas, how often would the rate DiD have been as far from "no
change" as the real one? Every such set is refitted (all of them when there
are at most ``max_assignments``, else a fixed random sample plus the real one),
and the p-value is the share of sets whose log rate ratio is at least as large
in absolute value as the real one, the real set included (Fisher's exact
p-value for the sharp null of no effect in any area, valid when areas were as
good as randomly chosen; Conley & Taber 2011; MacKinnon & Webb 2020).

Its most useful number for a commissioner is often the smallest p-value the
design could ever give, ``1 / number of sets``: with one treated area among
eight it is 0.125, so no result could be told from chance at the 5% level,
however large.

With staggered starts, each treated area's start month travels with it to
the placebo area it is swapped for. Placebo sets whose treatment indicator
cannot be estimated (e.g. an area with no months after the start in the study
window) are skipped and counted.

References
----------
Conley TG, Taber CR (2011). Inference with "difference in differences" with a
small number of policy changes. Rev Econ Stat 93(1):113-125.
MacKinnon JG, Webb MD (2020). Randomization inference for
difference-in-differences with few treated clusters. J Econometrics
218(2):435-450.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm

from evalkit.results import ResultMixin

MAX_ASSIGNMENTS = 1000


@dataclass(frozen=True)
class PlaceboAreasResult(ResultMixin):
    """Placebo-area check of an area DiD (aggregates only)."""

    log_rate_ratio: float  # the real estimate
    n_sets: int  # placebo sets refitted, the real one included
    n_as_extreme: int  # sets with |log rate ratio| >= the real one's (the real one included)
    n_skipped: int  # sets whose estimate could not be computed
    enumerated: bool  # every possible set (True) or a random sample of them
    title: str = "Placebo areas"

    @property
    def p_value(self) -> float:
        return self.n_as_extreme / self.n_sets

    @property
    def min_p(self) -> float:
        """The smallest p-value this design can give: one set in ``n_sets``."""
        return 1.0 / self.n_sets

    def _rows(self) -> list[dict]:
        return [{"statistic": "placebo p-value", "value": self.p_value},
                {"statistic": "smallest possible p-value", "value": self.min_p},
                {"statistic": "sets of areas refitted", "value": self.n_sets},
                {"statistic": "sets skipped (not estimable)", "value": self.n_skipped}]

    def sentence(self) -> str:
        """Plain English for a report."""
        text = (f"Placebo check: giving the programme's start to {'every' if self.enumerated else 'a random sample of'} "
                f"other set of the same number of areas ({self.n_sets - 1} sets), {self.n_as_extreme - 1} showed a "
                f"change at least as large as the real one (placebo p = {self.p_value:.2f}).")
        if self.min_p > 0.05:
            text += (f" With so few areas no result could reach p < 0.05 this way (the smallest possible is "
                     f"{self.min_p:.2f}), however large the effect.")
        return text


def placebo_areas(y: np.ndarray, X_fe: np.ndarray, offset: np.ndarray, areas: np.ndarray, month_ord: np.ndarray,
                  starts: dict, *, estimate: float, max_assignments: int = MAX_ASSIGNMENTS,
                  seed: int = 20210401) -> PlaceboAreasResult:
    """Refit the rate DiD with the programme's start given to other sets of areas.

    Parameters
    ----------
    y, X_fe, offset
        Counts, the fixed-effects design without the treatment column
        (intercept, area and month dummies) and log population, one row per
        area-month.
    areas, month_ord
        Each row's area label and month (any increasing integer).
    starts
        Real treated areas and their start month (same scale as ``month_ord``).
    estimate
        The real log rate ratio (the first coefficient of the real fit).
    max_assignments
        Enumerate every set when there are at most this many; otherwise a
        seeded random sample of ``max_assignments - 1`` others plus the real one.
    """
    names = sorted(set(areas.tolist()))
    real = frozenset(starts.items())
    sets = _assignments(names, sorted(starts.values()), max_assignments, seed)
    enumerated = sets is not None
    if sets is None:
        sets = _sampled(names, sorted(starts.values()), max_assignments - 1, seed, exclude=real)
    sets = [real] + [s for s in sets if s != real]
    tol = 1e-9 * max(1.0, abs(estimate))
    n_extreme = skipped = 0
    start_params = None
    for k, assignment in enumerate(sets):
        if k == 0:
            b = estimate  # the real set: its estimate is given
        else:
            D = np.zeros(y.size)
            for area, start in assignment:
                D[(areas == area) & (month_ord >= start)] = 1.0
            b, start_params = _fit_first(y, D, X_fe, offset, start_params)
            if b is None:
                skipped += 1
                continue
        n_extreme += abs(b) >= abs(estimate) - tol
    return PlaceboAreasResult(log_rate_ratio=float(estimate), n_sets=len(sets) - skipped, n_as_extreme=int(n_extreme),
                              n_skipped=skipped, enumerated=enumerated)


def _assignments(names: list, start_list: list, cap: int, seed: int) -> list[frozenset] | None:
    """Every way to give the start months to distinct areas (None when there are more than ``cap``)."""
    g = len(start_list)
    distinct = len(set(start_list))
    count = math.comb(len(names), g) if distinct == 1 else math.perm(len(names), g)
    if count > cap:
        return None
    if distinct == 1:
        return [frozenset((a, start_list[0]) for a in combo) for combo in itertools.combinations(names, g)]
    seen: dict[frozenset, None] = {}
    for perm in itertools.permutations(names, g):
        seen.setdefault(frozenset(zip(perm, start_list)), None)  # equal starts swapped give the same set
    return list(seen)


def _sampled(names: list, start_list: list, k: int, seed: int, *, exclude: frozenset) -> list[frozenset]:
    rng = np.random.default_rng(seed)
    out: dict[frozenset, None] = {}
    attempts = 0
    while len(out) < k and attempts < 50 * k:
        attempts += 1
        perm = rng.permutation(len(names))[:len(start_list)]
        s = frozenset((names[i], st) for i, st in zip(perm, start_list))
        if s != exclude:
            out.setdefault(s, None)
    return list(out)


def _fit_first(y, D, X_fe, offset, start_params) -> tuple[float | None, np.ndarray | None]:
    """First coefficient of the Poisson fit of y on [D, X_fe] (None when D is not estimable)."""
    if not D.any() or D.all():
        return None, start_params
    X = np.column_stack([D, X_fe])
    if np.linalg.matrix_rank(X) < X.shape[1]:
        return None, start_params
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit(start_params=start_params, tol=1e-12,
                                                                            maxiter=200)
    if not np.all(np.isfinite(res.params)):
        return None, start_params
    start = np.array(res.params, dtype=float)
    start[0] = 0.0  # the next placebo starts from no effect and these fixed effects
    return float(res.params[0]), start


__all__ = ["MAX_ASSIGNMENTS", "PlaceboAreasResult", "placebo_areas"]
