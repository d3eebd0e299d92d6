"""How strong is the strongest *measured* covariate? A benchmark for Rosenbaum's Γ and the E-value.

Rosenbaum bounds and the E-value (:mod:`.sensitivity`) say how strong hidden bias would have to be to explain
an estimate away, but not whether bias that strong is plausible. Following the benchmarking idea of Cinelli &
Hazlett (2020) and Hsu & Small (2013, "Calibrating sensitivity analyses to observed covariates in observational
studies", *Biometrics* 69:803-811), :func:`covariate_benchmark` measures how strongly a covariate that *was*
measured (in this project: prior offending) predicts both treatment and outcome given the other matching
covariates, and expresses that strength on the two scales, so a rule can ask "would a hidden factor as strong
as prior offending remove the effect?" instead of comparing with constants.

Construction (all on the data *before* matching -- participants and the whole comparison pool -- where
selection into the programme happens):

1. The benchmark covariate X_j is dichotomised, ``U = 1[X_j > threshold]`` (default threshold: its median;
   a binary covariate is used as it is). A binary U is what both sensitivity models are written for. A group
   of covariates (e.g. prior offences and prior violent offences: "prior offending" as a whole) is one U,
   ``1[any X_j > its threshold]``, and none of the group is adjusted for -- otherwise a covariate that shares
   most of the benchmark's information would hide its strength.
2. Treatment side, given the other covariates X (numeric as they are, categorical as dummies):
   ``Λ = exp(|β_U|)`` from the logistic regression ``D ~ U + X`` (the odds ratio of taking part, Rosenbaum's
   scale); ``RR_EU = max_u P(U=u | D=1) / P(U=u | D=0)`` (Ding & VanderWeele 2016's exposure-confounder risk
   ratio) from that odds ratio -- an odds ratio is symmetric, so Λ is also U's odds ratio between participants
   and the pool -- and U's prevalence p0 in the pool (Zhang & Yu 1998, *JAMA* 280:1690):
   ``P(U=1|D=1) / p0 = Λ / (1 - p0 + Λ p0)`` and ``P(U=0|D=1) / (1 - p0) = 1 / (1 - p0 + Λ p0)``. (Log-linear
   fits of U on D and X were tried first and fail where a covariate fixes U -- any prior violent offence implies
   a prior offence.)
3. Outcome side, given treatment and X: ``Δ = exp(|β_U|)`` from the logistic regression ``Y ~ U + D + X``
   (for a count outcome, of ``1[Y > 0]``), and ``RR_UY = exp(|β_U|)`` from the log-link Poisson regression
   ``Y ~ U + D + X`` (a risk ratio for a binary Y, a rate ratio for a count).
4. ``k`` times as strong multiplies the log odds / log risk ratios by k (``Λ^k``, ``Δ^k``, ...).
5. Γ-equivalent: Rosenbaum & Silber's (2009, *JASA* 104:1398-1405) amplification: a sensitivity analysis at Γ
   covers every hidden factor whose treatment odds ratio Λ and outcome odds ratio Δ satisfy
   ``Γ = (ΛΔ + 1) / (Λ + Δ)``; the benchmark's Γ is that value at its (Λ, Δ). (The amplification is exact for
   a binary U and the matched-pair outcome difference; with Δ taken from the outcome's own odds ratio it is the
   usual working approximation.)
6. E-value scale: the Ding & VanderWeele (2016, *Epidemiology* 27:368-377) bias factor of a confounder with
   the benchmark's associations, ``B = RR_EU · RR_UY / (RR_EU + RR_UY - 1)``, is the largest factor by which it
   could move a risk ratio; the benchmark's E-value-scale strength is the E with ``E² / (2E - 1) = B``, i.e.
   ``E = B + sqrt(B (B - 1))`` (the E-value formula applied to B). Hence "an E-value (of the interval) below
   the benchmark's E" is exactly "a confounder as strong as the benchmark could move the interval's limit
   nearer 1 to 1".

:meth:`CovariateBenchmark.withstands` compares a :class:`~.sensitivity.RosenbaumResult`'s critical Γ and an
:class:`~.sensitivity.EValueResult`'s interval E-value with these two numbers.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from evalkit.errors import DataError, InsufficientDataError, Problem, SpecError
from evalkit.results import ResultMixin

from ._data import covariate_matrix

__all__ = ["CovariateBenchmark", "amplify", "bias_factor", "covariate_benchmark", "e_value_of", "rr_from_or"]

OutcomeKind = Literal["binary", "count"]


def amplify(lam: float, delta: float) -> float:
    """Rosenbaum & Silber's (2009) amplification: the Γ equivalent to a treatment OR Λ and an outcome OR Δ.

    ``Γ = (ΛΔ + 1) / (Λ + Δ)``; e.g. Λ = 3, Δ = 5 gives Γ = 2 (Rosenbaum 2017, *Observation and Experiment*).
    Both must be at least 1 (use the reciprocal of an odds ratio below 1).
    """
    if lam < 1 or delta < 1:
        raise SpecError(f"Λ and Δ must be at least 1 (got {lam}, {delta}); use 1/OR for an odds ratio below 1.")
    return float((lam * delta + 1) / (lam + delta))


def bias_factor(rr_eu: float, rr_uy: float) -> float:
    """Ding & VanderWeele's (2016) bias factor ``RR_EU · RR_UY / (RR_EU + RR_UY - 1)`` (both at least 1)."""
    if rr_eu < 1 or rr_uy < 1:
        raise SpecError(f"Risk ratios must be at least 1 (got {rr_eu}, {rr_uy}); use 1/RR for one below 1.")
    return float(rr_eu * rr_uy / (rr_eu + rr_uy - 1))


def e_value_of(bias: float) -> float:
    """The E with ``E² / (2E - 1) = bias``: ``bias + sqrt(bias (bias - 1))`` (VanderWeele & Ding 2017)."""
    if bias < 1:
        raise SpecError(f"A bias factor is at least 1 (got {bias}).")
    return float(bias + math.sqrt(bias * (bias - 1)))


@dataclass(frozen=True)
class CovariateBenchmark(ResultMixin):
    """The strength of a measured covariate on the Γ and E-value scales (aggregates only).

    ``gamma`` is the Γ-equivalent (amplification of ``or_treatment`` Λ and ``or_outcome`` Δ), ``e_value`` the
    E-value-scale strength (from ``bias``, the bias factor of ``rr_treatment`` and ``rr_outcome``). ``k`` is the
    multiple of the covariate's strength these describe.
    """

    benchmark: str
    label: str
    threshold: float
    share_above: float
    k: float
    or_treatment: float
    or_outcome: float
    rr_treatment: float
    rr_outcome: float
    gamma: float
    bias: float
    e_value: float
    n: int
    outcome: str
    outcome_kind: str
    adjusted_for: tuple[str, ...]
    title: str = "How strong is the strongest measured covariate? (sensitivity benchmark)"

    def _rows(self) -> list[dict]:
        return [{"benchmark": self.benchmark, "k": self.k, "threshold": self.threshold,
                 "odds_ratio_treatment": self.or_treatment, "odds_ratio_outcome": self.or_outcome,
                 "gamma_equivalent": self.gamma, "risk_ratio_treatment": self.rr_treatment,
                 "risk_ratio_outcome": self.rr_outcome, "bias_factor": self.bias, "e_value_equivalent": self.e_value,
                 "n": self.n}]

    def gamma_withstood(self, rosenbaum: Any) -> bool | None:
        """Does the Rosenbaum result stay significant at the benchmark's Γ? ``None`` when not significant at Γ=1."""
        g = rosenbaum.gamma_critical
        if g is None:
            return None
        return bool(g > self.gamma)

    def e_value_withstood(self, e_value: Any) -> bool | None:
        """Is the interval's E-value above the benchmark's? ``None`` when the E-value of the interval is missing."""
        e = e_value.e_value_ci
        if e is None or not np.isfinite(e):
            return None
        return bool(e > self.e_value)

    def withstands(self, *, rosenbaum: Any = None, e_value: Any = None) -> bool:
        """True when every check given would survive a hidden factor this strong (a missing check fails)."""
        checks = []
        if rosenbaum is not None:
            checks.append(self.gamma_withstood(rosenbaum))
        if e_value is not None:
            checks.append(self.e_value_withstood(e_value))
        if not checks:
            raise SpecError("Give a Rosenbaum result, an E-value result or both to compare with the benchmark.")
        return all(c is True for c in checks)

    def sentence(self, *, rosenbaum: Any = None, e_value: Any = None) -> str:
        """Plain English: could a hidden factor as strong as the benchmark remove the effect?"""
        strength = f"as strong as {self.label}" if math.isclose(self.k, 1.0) else \
            f"{self.k:g} times as strong as {self.label}"
        verdict = "could not" if self.withstands(rosenbaum=rosenbaum, e_value=e_value) else "could"
        parts = []
        if rosenbaum is not None:
            g = rosenbaum.gamma_critical
            have = "no hidden bias at all" if g is None else (
                "any amount of hidden bias we tried" if np.isinf(g) else f"hidden bias up to Γ = {g:.2f}")
            parts.append(f"the result withstands {have}, and such a factor is worth Γ = {self.gamma:.2f}")
        if e_value is not None and e_value.e_value_ci is not None and np.isfinite(e_value.e_value_ci):
            parts.append(f"explaining the interval away needs associations of {e_value.e_value_ci:.2f} "
                         f"(risk ratio) with both taking part and the outcome, and such a factor is worth "
                         f"{self.e_value:.2f}")
        why = f" ({'; '.join(parts)})" if parts else ""
        return f"A hidden factor {strength} {verdict} remove the effect{why}."


def rr_from_or(odds_ratio: float, p0: float) -> float:
    """``max_u P(U=u|D=1) / P(U=u|D=0)`` for a binary U with odds ratio ``odds_ratio`` and ``P(U=1|D=0) = p0``."""
    denom = 1 - p0 + odds_ratio * p0
    return float(max(odds_ratio / denom, 1 / denom))


def _fit(y: np.ndarray, X: np.ndarray, family: str) -> np.ndarray:
    import statsmodels.api as sm

    fam = sm.families.Binomial() if family == "logit" else sm.families.Poisson()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # perfect-prediction / domain warnings: judged from the result below
        res = sm.GLM(y, X, family=fam).fit()
    params = np.asarray(res.params, dtype=float)
    if not res.converged or not np.all(np.isfinite(params)) or np.any(np.abs(params[1:3]) > 20):
        raise InsufficientDataError("The benchmark covariate (or taking part) predicts the other perfectly in "
                                    "these data, so its strength cannot be estimated. Fix: choose another "
                                    "benchmark or threshold.")
    return params


def covariate_benchmark(data: pd.DataFrame, *, treatment: str, outcome: str, covariates: list[str],
                        benchmark: str | tuple[str, ...], outcome_kind: OutcomeKind = "binary",
                        threshold: float | None = None,
                        label: str | None = None, k: float = 1.0) -> CovariateBenchmark:
    """Strength of a measured covariate in predicting treatment and outcome, on the Γ and E-value scales.

    Parameters
    ----------
    data
        Participants and the comparison pool *before* matching (one row per person), with the treatment
        indicator (0/1), the outcome and the covariates.
    treatment, outcome
        Column names; ``outcome_kind`` "binary" (0/1) or "count" (non-negative numbers).
    covariates
        The matching covariates; the benchmark is one of them and the others are adjusted for.
    benchmark
        The covariate to benchmark (e.g. ``"prior_offences"``), numeric; or a tuple of covariates benchmarked as
        one (U = 1 when any exceeds its threshold), e.g. ``("prior_offences", "prior_violent_offences")``.
    threshold
        U = 1 when the benchmark exceeds this; default its median (a 0/1 covariate is used as it is). For a
        group, the same threshold for each (default: each one's median).
    label
        Plain-English name for sentences (default: the column name).
    k
        Multiple of the benchmark's strength (log odds and log risk ratios scaled by k).

    Returns
    -------
    CovariateBenchmark
    """
    group = (benchmark,) if isinstance(benchmark, str) else tuple(benchmark)
    name = "+".join(group)
    if not group or any(b not in covariates for b in group):
        raise SpecError(f"The benchmark {benchmark!r} must be among the covariates ({', '.join(covariates)}).")
    if outcome_kind not in ("binary", "count"):
        raise SpecError("outcome_kind must be 'binary' or 'count'.")
    if k <= 0:
        raise SpecError(f"k must be positive (got {k}).")
    needed = [treatment, outcome, *covariates]
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise DataError([Problem(file="benchmark data", column=c, message=f"column {c!r} is missing.",
                                 fix="pass the matching frame with the treatment, outcome and covariates.")
                         for c in missing])
    frame = data[needed].dropna()
    n = len(frame)
    if n < 20:
        raise InsufficientDataError(f"{n} complete rows; at least 20 are needed to benchmark a covariate.")
    u = np.zeros(n)
    cuts = []
    for b in group:
        x = frame[b]
        if not pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            raise SpecError(f"The benchmark {b!r} must be numeric (or 0/1) to be dichotomised.")
        xv = x.to_numpy(float)
        binary = bool(np.isin(xv, (0.0, 1.0)).all())
        c = 0.5 if binary and threshold is None else (float(np.median(xv)) if threshold is None else float(threshold))
        cuts.append(c)
        u = np.maximum(u, (xv > c).astype(float))
    cut = cuts[0]
    share = float(u.mean())
    if share in (0.0, 1.0):
        raise InsufficientDataError(f"Everyone is on the same side of the threshold for {name!r}. Fix: choose "
                                    "another threshold.")
    d = frame[treatment].to_numpy(float)
    if not np.isin(d, (0.0, 1.0)).all() or d.min() == d.max():
        raise SpecError(f"The treatment column {treatment!r} must be 0/1 with both groups present.")
    y = frame[outcome].to_numpy(float)
    if outcome_kind == "binary" and not np.isin(y, (0.0, 1.0)).all():
        raise SpecError(f"The outcome {outcome!r} is not 0/1; use outcome_kind='count'.")
    if outcome_kind == "count" and (y < 0).any():
        raise SpecError(f"The outcome {outcome!r} has negative values; a count cannot.")
    others = [c for c in covariates if c not in group]
    Xo = covariate_matrix(frame.reset_index(drop=True), others).values if others else np.empty((n, 0))
    one = np.ones((n, 1))
    # Column order: intercept, the term of interest, the other term (outcome models), then X.
    b_treat = _fit(d, np.column_stack([one, u, Xo]), "logit")[1]
    p0 = float(u[d == 0].mean())
    y_any = (y > 0).astype(float)
    b_out_or = _fit(y_any, np.column_stack([one, u, d, Xo]), "logit")[1]
    b_out_rr = _fit(y, np.column_stack([one, u, d, Xo]), "poisson")[1]
    lam = math.exp(k * abs(b_treat))
    delta = math.exp(k * abs(b_out_or))
    rr_eu = rr_from_or(math.exp(k * b_treat), p0)  # signed: the max over u handles either direction
    rr_uy = math.exp(k * abs(b_out_rr))
    bf = bias_factor(rr_eu, rr_uy)
    return CovariateBenchmark(benchmark=name, label=label or name, threshold=cut, share_above=share,
                              k=float(k), or_treatment=lam, or_outcome=delta, rr_treatment=rr_eu, rr_outcome=rr_uy,
                              gamma=amplify(lam, delta), bias=bf, e_value=e_value_of(bf), n=n, outcome=outcome,
                              outcome_kind=outcome_kind, adjusted_for=tuple(others))
