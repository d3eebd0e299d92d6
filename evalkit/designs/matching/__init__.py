"""Matched comparison design (participants vs a comparison pool), MatchIt-compatible.

Public API: :func:`match`, :func:`balance_table`, :func:`estimate_att`,
:func:`survival_att`, :func:`rosenbaum_bounds`, :func:`e_value`,
:func:`love_plot`, :func:`matched_comparison`, and :func:`combine` to stack a
participants frame and a comparison-pool frame.
"""

from ._data import combine
from .balance import BalanceResult, balance_table, wwc_flag
from .comparison import MatchedComparisonResult, matched_comparison
from .effects import MatchedEffectResult, estimate_att, evidence_from_balance
from .match import MatchResult, match
from .plots import love_plot
from .sensitivity import EValueResult, RosenbaumResult, e_value, rosenbaum_bounds
from .survival import SurvivalResult, survival_att

__all__ = [
    "BalanceResult", "EValueResult", "MatchResult", "MatchedComparisonResult", "MatchedEffectResult",
    "RosenbaumResult", "SurvivalResult", "balance_table", "combine", "e_value", "estimate_att",
    "evidence_from_balance", "love_plot", "match", "matched_comparison", "rosenbaum_bounds", "survival_att",
    "wwc_flag",
]
