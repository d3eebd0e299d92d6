"""Placebo (negative-control) outcome for a matched comparison.

The same matched comparison as the effect estimate (:func:`.effects.estimate_att`: the same matched sets,
weights, standard errors and intervals) on an outcome the programme cannot have changed -- typically offending
in a window *before* the index date that matching did not use (e.g. 24 to 48 months before, when matching used
the 24 months before). With no selection left after matching, participants and their matched comparisons should
not differ on it; a difference is a sign of selection on something the matching did not capture (Rosenbaum
2002, *Observational Studies* ch. 6, "known effects"; Lipsitch, Tchetgen Tchetgen & Cohen 2010, *Epidemiology*
21:383-388, negative controls).

What it can and cannot show: a placebo difference reveals selection that also shows before the index date; a
trait that acts only after referral (a motivated young person who would have stopped anyway) leaves no trace
before it, so a passed placebo is necessary, not sufficient.

Verdicts (:class:`PlaceboResult`): ``passed`` -- the ``1 - alpha`` interval includes no difference (the placebo
test does not reject); :meth:`PlaceboResult.equivalent` -- the two one-sided tests (Schuirmann 1987) at
``alpha`` show the difference lies within ``± margin`` (the ``1 - 2 alpha`` interval inside it), the stronger
statement a small sample cannot make by default.

An outcome that was matched on (a covariate or an exact-match column) is refused: it is balanced by
construction and tests nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from scipy import stats

from evalkit.errors import SpecError
from evalkit.results import Estimate, ResultMixin, estimate_row

from .balance import BalanceResult
from .effects import MatchedEffectResult, estimate_att
from .match import MatchResult

__all__ = ["PlaceboResult", "placebo_outcome"]


@dataclass(frozen=True)
class PlaceboResult(ResultMixin):
    """The matched difference on a placebo (pre-index) outcome, with its interval (aggregates only).

    ``estimate`` is the headline difference (difference in means, risk difference, or difference in mean count,
    participants minus matched comparisons); ``ratio`` the risk/rate ratio where the outcome has one.
    """

    outcome: str
    label: str
    kind: str
    estimate: Estimate
    ratio: Estimate | None
    n_treated: int
    n_control: int
    mean_treated: float
    mean_comparison: float
    alpha: float
    title: str = "Placebo outcome: the matched comparison before the programme"

    @property
    def passed(self) -> bool:
        """The interval includes no difference: the placebo test does not reject at ``alpha``."""
        return bool(self.estimate.ci_low <= 0.0 <= self.estimate.ci_high)

    def equivalent(self, margin: float) -> bool:
        """Two one-sided tests at ``alpha``: is the difference shown to lie within ``± margin``?"""
        if not margin > 0:
            raise SpecError(f"The equivalence margin must be positive (got {margin}).")
        lo, hi = self.tost_interval()
        return bool(-margin < lo and hi < margin)

    def tost_interval(self) -> tuple[float, float]:
        """The ``1 - 2 alpha`` interval (the one the two one-sided tests at ``alpha`` use)."""
        e = self.estimate
        df = e.df
        q = float(stats.t.ppf(1 - self.alpha, df)) if df is not None and math.isfinite(df) else \
            float(stats.norm.ppf(1 - self.alpha))
        return e.estimate - q * e.se, e.estimate + q * e.se

    def _rows(self) -> list[dict]:
        rows = [estimate_row(self.estimate, n=self.n_treated, n_comparison=self.n_control)]
        if self.ratio is not None:
            rows.append(estimate_row(self.ratio, n=self.n_treated, n_comparison=self.n_control))
        return rows

    def _notes(self) -> list[str]:
        return [self.sentence()]

    def sentence(self, *, unit: str = "", digits: int = 2) -> str:
        """Plain English: did participants already differ from their matched comparisons before the programme?"""
        e = self.estimate
        level = f"{100 * (1 - self.alpha):.0f}%"
        ci = f"{e.ci_low:.{digits}f}{unit} to {e.ci_high:.{digits}f}{unit}"
        head = (f"On {self.label}, which the programme cannot have changed, the difference between participants "
                f"and their matched comparison group was {e.estimate:.{digits}f}{unit} ({level} confidence "
                f"interval {ci}).")
        if self.passed:
            return head + (" The interval includes no difference, so this check found no sign of selection the "
                           "matching missed (it cannot see selection that shows only after referral).")
        return head + (" The interval excludes no difference: the groups already differed, so selection the "
                       "matching missed could explain some or all of the estimated effect.")


def placebo_outcome(data: pd.DataFrame, match_result: MatchResult, *, outcome: str, kind: str,
                    covariates_adjust: list[str] | None = None, balance: BalanceResult | None = None,
                    alpha: float = 0.05, label: str | None = None) -> PlaceboResult:
    """The matched comparison on a placebo outcome (one the programme cannot have changed).

    Parameters
    ----------
    data, match_result
        The data and matching of the effect estimate (the same matched sets are used).
    outcome
        The placebo column, e.g. proven offences 24 to 48 months before the index date; it must not be a
        matching covariate or an exact-match column.
    kind
        "continuous", "binary" or "count", as :func:`~evalkit.designs.matching.estimate_att`.
    covariates_adjust, balance, alpha
        As :func:`~evalkit.designs.matching.estimate_att` (use the effect estimate's settings).
    label
        Plain-English name for the sentence (default: the column name).
    """
    matched_on = set(match_result.covariates) | set(match_result.settings.get("exact") or ())
    if outcome in matched_on:
        raise SpecError(f"The placebo outcome {outcome!r} was matched on, so it is balanced by construction and "
                        "tests nothing. Fix: use an outcome from a window the matching did not use.")
    eff: MatchedEffectResult = estimate_att(data, match_result, outcome=outcome, kind=kind,
                                            covariates_adjust=covariates_adjust, balance=balance, alpha=alpha)
    ratio = eff.estimates[1] if len(eff.estimates) > 1 else None
    return PlaceboResult(outcome=outcome, label=label or outcome, kind=kind, estimate=eff.effect, ratio=ratio,
                         n_treated=eff.n_treated, n_control=eff.n_control, mean_treated=eff.mean_treated,
                         mean_comparison=eff.mean_comparison, alpha=alpha)
