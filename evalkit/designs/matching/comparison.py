"""``matched_comparison()``: match, check balance, estimate the ATT and its sensitivity in one call."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from evalkit.results import DesignResult, Estimate, EvidenceLevel

from .balance import BalanceResult, balance_table
from .effects import MatchedEffectResult, estimate_att, evidence_from_balance
from .match import match
from .sensitivity import EValueResult, RosenbaumResult, e_value, rosenbaum_bounds


@dataclass(frozen=True)
class MatchedComparisonResult(DesignResult):
    """Everything a report needs from a matched comparison (aggregates only).

    ``att`` is the effect on participants (:class:`MatchedEffectResult`); ``effect``, ``n`` and
    ``n_comparison`` are its headline and counts.
    """

    att: MatchedEffectResult
    balance: BalanceResult
    counts: tuple[dict, ...]
    settings: dict
    evidence: EvidenceLevel
    e_value: EValueResult | None = None
    rosenbaum: RosenbaumResult | None = None
    warnings: tuple[str, ...] = ()
    title: str = "Matched comparison"

    @property
    def effect(self) -> Estimate:
        return self.att.effect

    @property
    def estimates(self) -> tuple[Estimate, ...]:
        return self.att.estimates

    @property
    def n(self) -> int:
        return self.att.n

    @property
    def n_comparison(self) -> int:
        return self.att.n_comparison


def matched_comparison(data: pd.DataFrame, *, treatment: str, covariates: list[str], id_col: str, outcome: str,
                       kind: str, covariates_adjust: list[str] | None = None, higher_is_better: bool = False,
                       balance_threshold: float = 0.25, **match_options) -> MatchedComparisonResult:
    """Run :func:`match`, :func:`balance_table`, :func:`estimate_att` and the sensitivity analyses.

    ``match_options`` are passed to :func:`match` (caliper, ratio, replace, exact, ...).
    The evidence level is SMS 3 when every covariate is within ``balance_threshold``
    after matching, otherwise SMS 2 naming the unbalanced covariates.
    """
    m = match(data, treatment=treatment, covariates=covariates, id_col=id_col, **match_options)
    bal = balance_table(data, m, threshold=balance_threshold)
    eff = estimate_att(data, m, outcome=outcome, kind=kind, covariates_adjust=covariates_adjust, balance=bal)
    ev = None
    if kind == "binary":
        rr = eff.estimate("risk ratio")
        ev = e_value(rr.estimate, rr.ci_low, rr.ci_high, scale="rr")
    elif kind == "count":
        rr = eff.estimate("rate ratio")
        ev = e_value(rr.estimate, rr.ci_low, rr.ci_high, scale="rr")
    rb = None
    if kind in ("binary", "continuous") and not m.settings["replace"]:
        rb = rosenbaum_bounds(data, m, outcome=outcome, kind=kind, higher_is_better=higher_is_better)
    return MatchedComparisonResult(att=eff, balance=bal, counts=tuple(m._rows()), settings=dict(m.settings),
                                   evidence=evidence_from_balance(bal), e_value=ev, rosenbaum=rb,
                                   warnings=m.warnings)
