"""Matched comparison design (participants vs a comparison pool), MatchIt-compatible.

Public API: :func:`match`, :func:`balance_table`, :func:`estimate_att`,
:func:`survival_att`, :func:`rosenbaum_bounds`, :func:`e_value`,
:func:`love_plot`, :func:`matched_comparison`, :func:`covariate_benchmark` (the strength of a measured
covariate on the Γ and E-value scales, to judge sensitivity results against), :func:`placebo_outcome` (the
matched comparison on an outcome the programme cannot have changed), :func:`matched_ovb` (Cinelli & Hazlett
sensitivity of the regression-adjusted estimate), :func:`combine` to stack a
participants frame and a comparison-pool frame, and :func:`match_file` (also
``evalkit match``) to match straight from a CSV or Parquet file of a national
pool without pandas.

Names other than ``match``/``MatchResult`` are imported lazily (PEP 562) so
that matching does not pay for statsmodels, lifelines and matplotlib, which
only the later steps need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_EXPORTS = {
    "combine": "._data",
    "CovariateBenchmark": ".benchmark", "covariate_benchmark": ".benchmark",
    "PlaceboResult": ".placebo", "placebo_outcome": ".placebo",
    "matched_ovb": ".ovb",
    "BalanceResult": ".balance", "balance_table": ".balance", "wwc_flag": ".balance",
    "MatchedComparisonResult": ".comparison", "matched_comparison": ".comparison",
    "MatchedEffectResult": ".effects", "estimate_att": ".effects", "evidence_from_balance": ".effects",
    "love_plot": ".plots",
    "EValueResult": ".sensitivity", "RosenbaumResult": ".sensitivity", "e_value": ".sensitivity",
    "rosenbaum_bounds": ".sensitivity",
    "SurvivalResult": ".survival", "survival_att": ".survival",
    "MatchFileResult": ".files", "match_file": ".files",
}

# Imported eagerly (numpy/pandas/scipy only): binding the function here also keeps the
# package attribute ``match`` the function, not the submodule of the same name.
from .match import MatchResult, match  # noqa: E402

__all__ = sorted([*_EXPORTS, "MatchResult", "match"])

if TYPE_CHECKING:  # pragma: no cover
    from ._data import combine
    from .balance import BalanceResult, balance_table, wwc_flag
    from .benchmark import CovariateBenchmark, covariate_benchmark
    from .comparison import MatchedComparisonResult, matched_comparison
    from .effects import MatchedEffectResult, estimate_att, evidence_from_balance
    from .files import MatchFileResult, match_file
    from .match import MatchResult, match
    from .ovb import matched_ovb
    from .placebo import PlaceboResult, placebo_outcome
    from .plots import love_plot
    from .sensitivity import EValueResult, RosenbaumResult, e_value, rosenbaum_bounds
    from .survival import SurvivalResult, survival_att


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
