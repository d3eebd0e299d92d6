"""Sensitivity to hidden bias: Rosenbaum bounds for matched pairs and the E-value.

Rosenbaum bounds (Rosenbaum 2002, *Observational Studies*, ch. 4; the formulas
of R's ``rbounds`` package, Keele 2010): if an unobserved covariate could make
one member of a matched pair up to Γ times more likely to be treated than the
other, the one-sided p-value of the matched-pairs test is bounded above by:

* binary outcome (McNemar): ``P(Binomial(D, Γ/(1+Γ)) >= T)``, with D the
  discordant pairs and T those in which only the comparison member had the
  outcome (the participant did better);
* continuous outcome (Wilcoxon signed rank on comparison − participant
  differences, so positive = participant did better): normal approximation
  with ``E = p+ Σ r``, ``Var = p+(1-p+) Σ r²`` over the ranks r of the nonzero
  |differences| (average ranks for ties), ``p+ = Γ/(1+Γ)``.

The reported Γ is the smallest at which the upper-bound p-value reaches alpha
(solved by root finding): the larger, the more hidden bias the conclusion
withstands. Pairs are the first match of each treated unit (1:1 pairs).

E-value (VanderWeele & Ding 2017, Ann Intern Med 167:268): the minimum strength
of association, on the risk-ratio scale, an unmeasured confounder would need
with both treatment and outcome to explain the estimate away:
``RR + sqrt(RR (RR - 1))`` for RR >= 1 (RR inverted when below 1); for the
confidence limit nearer 1 (1 when the interval includes 1). A standardised
mean difference d is converted by ``RR ≈ exp(0.91 d)`` (VanderWeele 2017).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from evalkit.errors import InsufficientDataError, SpecError
from evalkit.results import ResultMixin

from .balance import _aligned
from .match import MatchResult

_GAMMA_MAX = 1000.0


@dataclass(frozen=True)
class RosenbaumResult(ResultMixin):
    """Upper-bound p-values over a Γ grid and the Γ at which they cross alpha."""

    kind: str
    n_pairs: int
    statistic: float
    alpha: float
    gamma_critical: float | None
    grid: tuple[dict, ...]
    title: str = "Sensitivity to hidden bias (Rosenbaum bounds)"

    def _rows(self) -> list[dict]:
        return [dict(r) for r in self.grid]

    def _notes(self) -> list[str]:
        if self.gamma_critical is None:
            return [f"Not significant at {self.alpha:g} even with no hidden bias (Γ = 1)."]
        if np.isinf(self.gamma_critical):
            return [f"Significant at {self.alpha:g} for every Γ up to {_GAMMA_MAX:g}."]
        return [f"The conclusion holds unless hidden bias exceeds Γ = {self.gamma_critical:.2f}."]


def binary_upper_p(t: int, d: int, gamma: float) -> float:
    """Upper bound on the one-sided McNemar p-value at Γ (rbounds ``binarysens``)."""
    return float(stats.binom.sf(t - 1, d, gamma / (1.0 + gamma)))


def signed_rank_upper_p(diff: np.ndarray, gamma: float) -> float:
    """Upper bound on the one-sided Wilcoxon signed-rank p-value at Γ (rbounds ``psens``)."""
    diff = diff[diff != 0]
    ranks = stats.rankdata(np.abs(diff))
    w = ranks[diff > 0].sum()
    p = gamma / (1.0 + gamma)
    e = p * ranks.sum()
    v = p * (1 - p) * np.sum(ranks ** 2)
    return float(stats.norm.sf((w - e) / np.sqrt(v)))


def _critical_gamma(pfun, alpha: float) -> float | None:
    if pfun(1.0) > alpha:
        return None
    if pfun(_GAMMA_MAX) <= alpha:
        return float("inf")
    return float(optimize.brentq(lambda g: pfun(g) - alpha, 1.0, _GAMMA_MAX, xtol=1e-8))


def rosenbaum_bounds(data: pd.DataFrame, match_result: MatchResult, *, outcome: str, kind: str,
                     higher_is_better: bool = False, alpha: float = 0.05,
                     gammas: tuple[float, ...] = (1, 1.25, 1.5, 1.75, 2, 2.5, 3)) -> RosenbaumResult:
    """Rosenbaum bounds for the participant/comparison pairs of a matching.

    Parameters
    ----------
    kind
        "binary" (McNemar-type bounds) or "continuous" (Wilcoxon signed rank).
    higher_is_better
        Direction of benefit. Default False: the outcome is something to reduce
        (reoffending), so the test asks whether participants had less of it.
    """
    if kind not in ("binary", "continuous"):
        raise SpecError("Rosenbaum bounds are available for kind='binary' or 'continuous'.")
    if match_result.settings["replace"]:
        raise SpecError("Rosenbaum bounds need distinct matched pairs; match without replacement.")
    pairs = match_result.pairs[match_result.pairs["round"] == 1]
    if len(pairs) < 5:
        raise InsufficientDataError("Fewer than 5 matched pairs; too few for a sensitivity analysis.")
    frame = _aligned(data, match_result, [outcome]).set_index(match_result.id_col)[outcome]
    yt = frame.loc[pairs["treated_id"]].to_numpy(float)
    yc = frame.loc[pairs["control_id"]].to_numpy(float)
    benefit = (yt - yc) if higher_is_better else (yc - yt)  # > 0 when the participant did better
    if kind == "binary":
        t = int((benefit > 0).sum())
        d = int((benefit != 0).sum())
        if d == 0:
            raise InsufficientDataError("No discordant pairs: participants and comparisons never differ.")

        def pfun(g):
            return binary_upper_p(t, d, g)
        stat = float(t)
    else:
        if not (benefit != 0).any():
            raise InsufficientDataError("Every pair has the same outcome; nothing to test.")

        def pfun(g):
            return signed_rank_upper_p(benefit, g)
        nz = benefit[benefit != 0]
        stat = float(stats.rankdata(np.abs(nz))[nz > 0].sum())
    grid = tuple({"gamma": float(g), "p_upper": pfun(float(g))} for g in gammas)
    return RosenbaumResult(kind=kind, n_pairs=len(pairs), statistic=stat, alpha=alpha,
                           gamma_critical=_critical_gamma(pfun, alpha), grid=grid)


@dataclass(frozen=True)
class EValueResult(ResultMixin):
    """E-values for an estimate and its confidence limit nearer the null."""

    rr: float
    rr_ci: tuple[float, float]
    e_value: float
    e_value_ci: float
    source: str
    title: str = "E-value (VanderWeele & Ding 2017)"

    def _rows(self) -> list[dict]:
        return [{"risk_ratio": self.rr, "ci_low": self.rr_ci[0], "ci_high": self.rr_ci[1],
                 "e_value": self.e_value, "e_value_ci": self.e_value_ci, "from": self.source}]


def _e(rr: float) -> float:
    rr = 1.0 / rr if rr < 1 else rr
    return float(rr + np.sqrt(rr * (rr - 1.0)))


def e_value(estimate: float, ci_low: float | None = None, ci_high: float | None = None, *,
            scale: str = "rr", p0: float | None = None, se: float | None = None) -> EValueResult:
    """E-value for a risk ratio, a risk difference (with baseline risk ``p0``) or an SMD.

    Parameters
    ----------
    scale
        "rr" (risk/rate/hazard ratio with a rare outcome), "rd" (risk
        difference; converted with ``p0``, the comparison risk) or "smd"
        (standardised mean difference; ``se`` gives the CI).
    """
    if scale == "rd":
        if p0 is None or not 0 < p0 < 1:
            raise SpecError("A risk difference needs the comparison group's risk p0 (between 0 and 1).")
        conv = [(p0 + v) / p0 if v is not None else None for v in (estimate, ci_low, ci_high)]
        rr, lo, hi = conv
        source = "risk difference converted to risk ratio"
    elif scale == "smd":
        rr = float(np.exp(0.91 * estimate))
        lo, hi = (float(np.exp(0.91 * estimate - 1.78 * se)), float(np.exp(0.91 * estimate + 1.78 * se))) \
            if se is not None else (None, None)
        source = "standardised mean difference, RR ≈ exp(0.91 d)"
    elif scale == "rr":
        rr, lo, hi = estimate, ci_low, ci_high
        source = "risk ratio"
    else:
        raise SpecError("scale must be 'rr', 'rd' or 'smd'.")
    if rr is None or rr <= 0:
        raise SpecError("The estimate implies a non-positive risk ratio; check the inputs.")
    if lo is None or hi is None:
        e_ci = float("nan")
        lo = hi = float("nan")
    elif lo <= 1 <= hi:
        e_ci = 1.0
    else:
        e_ci = _e(lo if rr > 1 else hi)
    return EValueResult(rr=float(rr), rr_ci=(float(lo), float(hi)), e_value=_e(rr), e_value_ci=e_ci, source=source)

