"""Cinelli & Hazlett (2020) sensitivity for a regression-adjusted matched estimate.

The regression-adjusted matched estimate (:func:`.effects.estimate_att` with ``covariates_adjust``) is the
treatment coefficient of the weighted least squares fit ``Y ~ treated + covariates`` on the matched sample with
the matching weights. :func:`matched_ovb` refits exactly that regression with statsmodels and passes it to
:func:`evalkit.designs.sensitivity.ovb_sensitivity`: partial R², robustness values, and how far the estimate
would move if a hidden factor as strong as a measured covariate (e.g. prior offending) had been left out.

The partial R² and the bias bound are algebraic properties of the fit; the adjusted intervals use the classical
standard error, as Cinelli & Hazlett do, not the cluster-robust one the effect estimate reports, so they are a
sensitivity statement rather than the headline interval. A binary outcome is handled as a linear probability
model (the risk-difference scale of the headline).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import pandas as pd
import statsmodels.api as sm

from evalkit.designs.sensitivity import OVBResult, ovb_sensitivity
from evalkit.errors import SpecError

from ._data import covariate_matrix
from .effects import _matched_frame
from .match import MatchResult

__all__ = ["matched_ovb"]


def matched_ovb(data: pd.DataFrame, match_result: MatchResult, *, outcome: str, covariates_adjust: Sequence[str],
                benchmarks: Sequence[str | tuple[str, ...]], kd: float | Sequence[float] = (1.0, 2.0, 3.0),
                ky: float | Sequence[float] | None = None, q: float = 1.0, alpha: float = 0.05,
                labels: Mapping[str, str] | None = None) -> OVBResult:
    """Omitted-variable-bias sensitivity of a regression-adjusted matched estimate.

    Parameters
    ----------
    data, match_result, outcome, covariates_adjust
        As :func:`~evalkit.designs.matching.estimate_att` (the same matched sample, weights and covariates).
    benchmarks
        Covariates of ``covariates_adjust`` to benchmark against; a tuple is one group (e.g.
        ``("prior_offences", "prior_violent_offences")`` for prior offending as a whole). A categorical
        covariate is benchmarked with all its dummy columns. Results name a group by its members joined by "+".
    kd, ky, q, alpha
        As :func:`evalkit.designs.sensitivity.ovb_sensitivity_from_t`.
    labels
        Plain-English names keyed by the benchmark names (e.g. ``{"prior_offences+prior_violent_offences":
        "prior offending"}``), for :meth:`OVBResult.sentence`.
    """
    adj = list(covariates_adjust)
    if not adj:
        raise SpecError("Benchmarking needs the regression-adjusted estimate: give covariates_adjust.")
    frame, units = _matched_frame(data, match_result, [outcome, *adj])
    cm = covariate_matrix(frame, adj)
    X = pd.DataFrame(cm.values, columns=list(cm.columns))
    X.insert(0, "treated", units["treated"].to_numpy(dtype=float))
    X.insert(0, "const", 1.0)
    y = frame[outcome].to_numpy(dtype=float)
    w = units["weight"].to_numpy(dtype=float)
    fit = sm.WLS(y, X, weights=w).fit()
    groups: list[tuple[str, ...]] = []
    names: list[str] = []
    for b in benchmarks:
        covs = (b,) if isinstance(b, str) else tuple(b)
        missing = [c for c in covs if c not in adj]
        if missing:
            raise SpecError(f"Benchmark {', '.join(map(repr, missing))} is not among the adjusted covariates "
                            f"({', '.join(adj)}).")
        groups.append(tuple(col for col, src in zip(cm.columns, cm.source) if src in covs))
        names.append("+".join(covs))
    res = ovb_sensitivity(fit, "treated", benchmarks=groups, kd=kd, ky=ky, q=q, alpha=alpha)
    # Name the bounds by covariate (not by design column) and attach the labels.
    rename = {"+".join(g): n for g, n in zip(groups, names)}
    labels = dict(labels or {})
    bounds = tuple(replace(bd, benchmark=rename[bd.benchmark], label=labels.get(rename[bd.benchmark],
                                                                                 rename[bd.benchmark]))
                   for bd in res.bounds)
    return replace(res, treatment="participants vs matched comparison", bounds=bounds, labels=labels)
