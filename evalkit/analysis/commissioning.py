"""Commissioning categories from documented, configurable rules, with error control across the portfolio.

The portfolio summary gives each intervention one category (Expand; Promising;
improvement seen without a comparison group; a worthwhile effect is unlikely;
Stop; safeguarding review; improve the evidence; context only) from its primary
finding. The rules live in ``commissioning_rules.yaml`` (first match wins) so a
VRU can change them without code; the rule that fired is reported beside the
category so a board can see why. docs/findings.md explains each rule and shows
how often each category is right across 20 synthetic worlds
(``benchmarks/portfolio_calibration.py``).

Two steps:

1. :func:`classify` judges one intervention alone (its report), with the
   unadjusted p-value.
2. :func:`portfolio_categories` re-judges every intervention's primary result
   with **false-discovery control across the portfolio's primary outcomes**
   (Benjamini–Hochberg by default, Holm as an option; ``multiplicity:`` in the
   rules file), so that among 28 interventions a few chance "significant" nulls
   do not become "Expand". :func:`adjust_pvalues` is the adjustment (checked
   against R ``p.adjust``); :func:`secondary_worse_flags` applies the same
   control within one report's secondary outcomes for the "any significant
   worsening" flag.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from collections.abc import Sequence

import numpy as np
import yaml
from scipy import stats

from evalkit.errors import SpecError

DEFAULT_RULES = Path(__file__).with_name("commissioning_rules.yaml")
Direction = Literal["beneficial", "harmful", "none"]
_CONDITIONS = {"direction", "significant", "sms_at_least", "sms_below", "adequately_powered", "n_below_min",
               "n_at_least", "sensitivity_passed", "worthwhile_unlikely", "area_wide", "checks_failed",
               "placebo_failed", "at_least_mwe", "replicated", "value_below_break_even", "comparison_design"}
#: Designs with a comparison group (people or areas): their primaries form the portfolio's multiplicity family.
COMPARISON_DESIGNS = ("matched", "did", "area_did")
_METHODS = ("bky", "bh", "holm", "none")


@dataclass(frozen=True)
class PrimaryFinding:
    """What the rules look at: one intervention's primary result, aggregates only.

    Attributes
    ----------
    direction
        "beneficial" or "harmful" when the point estimate favours or disfavours
        the intervention, "none" when it is exactly null or missing.
    significant
        The p-value (adjusted for multiplicity at the portfolio step) is below
        alpha, the interval excludes no effect, and n >= ``min_n``.
    sms
        Maryland Scientific Methods Scale level of the design that produced it.
    n
        Participants contributing to the primary result.
    n_needed
        Participants needed to detect the minimum worthwhile effect with 80%
        power (``inf`` when unknown); used when the protocol states no MDE.
    min_n
        Minimum sample below which nothing is called significant.
    p_value
        Unadjusted two-sided p-value of the primary estimate.
    benefit, benefit_low, benefit_high
        The estimate and its interval turned so that positive = better, in the
        outcome's natural units; for ratio scales the proportional fall (1 - ratio).
    se_log_or_diff
        Standard error of ``benefit`` (differences) or of the log ratio (ratios).
    ratio
        Whether the primary scale is a ratio (hazard, risk or rate ratio).
    mwe, mde
        The minimum worthwhile and minimum detectable effects (natural units;
        ``None`` when not known).
    mwe_source
        Where ``mwe`` came from: ``"protocol"`` (stated there), ``"break_even"``
        (no MWE in the protocol: the break-even effect from its costs,
        :func:`evalkit.value.break_even_for`), or ``None``.
    sensitivity_passed
        ``True`` when every hidden-bias / design check that applies passed,
        ``False`` when one failed, ``None`` when none applies.
    area_wide
        An area-wide context report (the VRU-wide protocol): no decision.
    design
        The design that produced it (``matched``, ``did``, ``area_did``, ``prepost``, ...; None when not
        recorded, then a comparison design is read off ``sms >= 2``).
    placebo_failed
        The placebo (negative-control) outcome of an individual-level comparison design showed a difference
        that could explain the finding (:class:`evalkit.analysis.results.Placebo`); None when none ran.
    cohorts_agreeing
        Independent cohorts (or years) analysed with the same protocol whose primary results agree (each
        significant in the same direction); 1 for a single cohort.
    value_below_break_even
        The benefit-cost ratio's interval lies wholly below 1 (the service clearly does not repay its
        cost); None when not costed.
    p_worthwhile_min
        With a stated minimum worthwhile effect, "at least the MWE" also holds when the probability of a
        worthwhile effect (:attr:`p_worthwhile`) is at least this (rules setting; None: the point estimate
        must reach it).
    e_value_ci, gamma_critical, benchmark_bias, benchmark_gamma, e_value_needed, gamma_needed
        Matched results: the hidden-bias quantities behind ``sensitivity_passed`` and the thresholds they were
        held to (:func:`evalkit.analysis.runner.hidden_bias`): a hidden factor as strong as prior offending.
    alpha_portfolio, mde_portfolio
        Set by the portfolio step: the p-value threshold the multiplicity control applied to this finding,
        and the minimum detectable effect at that level (80% power). The protocol's MDE is at ``alpha``.
    """

    intervention_id: str
    direction: Direction
    significant: bool
    sms: int
    n: int
    n_needed: float
    min_n: int
    p_value: float = math.nan
    benefit: float = math.nan
    benefit_low: float = math.nan
    benefit_high: float = math.nan
    se_log_or_diff: float = math.nan
    ratio: bool = False
    mwe: float | None = None
    mde: float | None = None
    sensitivity_passed: bool | None = None
    area_wide: bool = False
    ci_excludes_null: bool = False
    alpha: float = 0.05
    mwe_source: str | None = None
    design: str | None = None
    placebo_failed: bool | None = None
    cohorts_agreeing: int = 1
    value_below_break_even: bool | None = None
    p_worthwhile_min: float | None = None
    alpha_portfolio: float | None = None
    mde_portfolio: float | None = None
    e_value_ci: float | None = None
    gamma_critical: float | None = None
    benchmark_bias: float | None = None
    benchmark_gamma: float | None = None
    e_value_needed: float | None = None
    gamma_needed: float | None = None

    @property
    def comparison_design(self) -> bool:
        """A design with a comparison group (people or areas): it may fund, and it is in the multiplicity family."""
        if self.design is not None:
            return self.design in COMPARISON_DESIGNS
        return self.sms >= 2

    @property
    def checks_failed(self) -> bool:
        """A placebo or hidden-bias check failed: selection could explain the finding."""
        return self.placebo_failed is True or self.sensitivity_passed is False

    @property
    def replicated(self) -> bool:
        return self.cohorts_agreeing >= 2

    @property
    def at_least_mwe(self) -> bool:
        """The estimate is at or beyond the minimum worthwhile effect (or, with ``p_worthwhile_min``, the
        probability of a worthwhile effect reaches it). False when no MWE is known."""
        if self.mwe is None or not math.isfinite(self.benefit):
            return False
        if self.benefit >= self.mwe - 1e-12:
            return True
        pw = self.p_worthwhile
        return self.p_worthwhile_min is not None and math.isfinite(pw) and pw >= self.p_worthwhile_min

    @property
    def adequately_powered(self) -> bool:
        """The design can detect a worthwhile effect: the stated MDE is at most the MWE (else n >= n_needed)."""
        if self.mde is not None and self.mwe is not None:
            return self.mde <= self.mwe + 1e-12
        return self.n >= self.n_needed

    @property
    def n_below_min(self) -> bool:
        return self.n < self.min_n

    @property
    def worthwhile_unlikely(self) -> bool:
        """Futility: the interval lies wholly below the minimum worthwhile effect (needs a stated MWE)."""
        if self.mwe is None or not math.isfinite(self.benefit_high) or self.n_below_min:
            return False
        return self.benefit_high < self.mwe

    @property
    def p_worthwhile(self) -> float:
        """Probability that the true benefit is at least the MWE (normal approximation, flat prior)."""
        if self.mwe is None or not (math.isfinite(self.benefit) and math.isfinite(self.se_log_or_diff)) \
                or self.se_log_or_diff <= 0:
            return math.nan
        if self.ratio:
            if self.benefit >= 1 or self.mwe >= 1:
                return math.nan
            z = (-math.log(1 - self.benefit) + math.log(1 - self.mwe)) / self.se_log_or_diff
        else:
            z = (self.benefit - self.mwe) / self.se_log_or_diff
        return float(stats.norm.cdf(z))


@dataclass(frozen=True)
class Category:
    """The category assigned, its label and meaning, and the rule that fired."""

    key: str
    label: str
    meaning: str
    rule_index: int
    rule_text: str
    conditions: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Rules:
    categories: dict
    rules: tuple
    multiplicity: str = "bky"
    secondary_multiplicity: str = "bh"
    e_value_ci_min: float = 1.25
    rosenbaum_gamma: float = 1.1
    mwe_from_break_even: bool = True
    p_worthwhile_min: float | None = None
    benchmark_sensitivity: bool = True
    benchmark_strength: float = 1.0

    def classify(self, finding: PrimaryFinding) -> Category:
        """Apply the rules in order; the first that matches decides."""
        if finding.p_worthwhile_min != self.p_worthwhile_min:
            finding = replace(finding, p_worthwhile_min=self.p_worthwhile_min)
        for i, rule in enumerate(self.rules):
            if all(_holds(name, value, finding) for name, value in rule["when"].items()):
                cat = self.categories[rule["category"]]
                text = ", ".join(f"{k} = {v}" for k, v in rule["when"].items()) or "otherwise"
                return Category(rule["category"], cat["label"], cat["meaning"], i + 1, text,
                                tuple(rule["when"].items()))
        raise SpecError("No commissioning rule matched; end the rules with one that has no conditions.")

    @property
    def order(self) -> tuple[str, ...]:
        """Category keys in the order the rules file lists them (the portfolio's sort order)."""
        return tuple(self.categories)


def _holds(name: str, value: Any, f: PrimaryFinding) -> bool:
    if name == "direction":
        return f.direction == value
    if name == "significant":
        return f.significant is bool(value)
    if name == "sms_at_least":
        return f.sms >= int(value)
    if name == "sms_below":
        return f.sms < int(value)
    if name == "adequately_powered":
        return f.adequately_powered is bool(value)
    if name == "n_below_min":
        return f.n_below_min is bool(value)
    if name == "n_at_least":
        return f.n >= int(value)
    if name == "sensitivity_passed":
        return (f.sensitivity_passed is True) is bool(value)
    if name == "worthwhile_unlikely":
        return f.worthwhile_unlikely is bool(value)
    if name == "area_wide":
        return f.area_wide is bool(value)
    if name == "checks_failed":
        return f.checks_failed is bool(value)
    if name == "placebo_failed":
        return (f.placebo_failed is True) is bool(value)
    if name == "at_least_mwe":
        return f.at_least_mwe is bool(value)
    if name == "replicated":
        return f.replicated is bool(value)
    if name == "value_below_break_even":
        return (f.value_below_break_even is True) is bool(value)
    if name == "comparison_design":
        return f.comparison_design is bool(value)
    raise SpecError(f"Unknown commissioning condition '{name}'.")  # pragma: no cover - validated on load


def load_rules(path: str | Path | None = None) -> Rules:
    """Read and check a rules file (default: the VRU configuration's ``commissioning_rules``, else the packaged one)."""
    if not path:
        from evalkit.data.config import load_config  # lazy: the configuration reads YAML

        path = load_config().commissioning_rules_path or DEFAULT_RULES
    return _load_rules(str(path))


@lru_cache(maxsize=8)
def _load_rules(path_text: str) -> Rules:
    path = Path(path_text)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: cannot read commissioning rules ({exc}).") from exc
    cats = raw.get("categories") or {}
    rules = raw.get("rules") or []
    if not cats or not rules:
        raise SpecError(f"{path}: needs both 'categories' and 'rules'.")
    for i, rule in enumerate(rules, start=1):
        if rule.get("category") not in cats:
            raise SpecError(f"{path}: rule {i} names category '{rule.get('category')}', which is not defined "
                            f"under 'categories' (defined: {', '.join(cats)}).")
        rule.setdefault("when", {})
        unknown = set(rule["when"]) - _CONDITIONS
        if unknown:
            raise SpecError(f"{path}: rule {i} has unknown condition(s) {sorted(unknown)}; "
                            f"use {sorted(_CONDITIONS)}.")
    settings = raw.get("settings") or {}
    for key in ("multiplicity", "secondary_multiplicity"):
        if settings.get(key, "bh") not in _METHODS:
            raise SpecError(f"{path}: settings.{key} must be one of {', '.join(_METHODS)} "
                            f"(got {settings.get(key)!r}).")
    return Rules(categories=cats, rules=tuple(rules), multiplicity=settings.get("multiplicity", "bky"),
                 secondary_multiplicity=settings.get("secondary_multiplicity", "bh"),
                 e_value_ci_min=float(settings.get("e_value_ci_min", 1.25)),
                 rosenbaum_gamma=float(settings.get("rosenbaum_gamma", 1.1)),
                 mwe_from_break_even=bool(settings.get("mwe_from_break_even", True)),
                 p_worthwhile_min=(None if settings.get("p_worthwhile_min") is None
                                   else float(settings["p_worthwhile_min"])),
                 benchmark_sensitivity=bool(settings.get("benchmark_sensitivity", True)),
                 benchmark_strength=float(settings.get("benchmark_strength", 1.0)))


def classify(finding: PrimaryFinding, rules_path: str | Path | None = None) -> Category:
    """Commissioning category for one intervention's primary finding."""
    return load_rules(rules_path).classify(finding)


def hidden_bias(o: Any, rules: Rules | None = None) -> dict[str, float | None]:
    """The hidden-bias quantities of a matched result and the thresholds it is held to (None when absent).

    ``e_value_ci`` (E-value of the interval) and ``gamma_critical`` (the Γ at which the Rosenbaum bound stops
    being significant: the largest Γ tried when it never does, 1 when it is not significant even at Γ = 1);
    ``benchmark_bias`` and ``benchmark_gamma``, the strength of prior offending (:func:`evalkit.analysis.designs.offending_benchmark`);
    ``e_value_needed`` and ``gamma_needed``: the thresholds, from that benchmark scaled by the rules'
    ``benchmark_strength`` when ``benchmark_sensitivity`` is on, never below the rules' constants
    (``e_value_ci_min``, ``rosenbaum_gamma``).
    """
    rules = rules or load_rules()
    ev, rb, bm = o.details.e_value, o.details.rosenbaum, o.details.benchmark
    out: dict[str, float | None] = {"e_value_ci": None, "gamma_critical": None, "benchmark_bias": None,
                                    "benchmark_gamma": None, "e_value_needed": rules.e_value_ci_min,
                                    "gamma_needed": rules.rosenbaum_gamma}
    if ev is not None and math.isfinite(ev.e_value_ci):
        out["e_value_ci"] = float(ev.e_value_ci)
    if rb is not None:
        g = rb.gamma_critical
        if g is None:
            g = float(rb.grid[-1]["gamma"]) if rb.grid[0]["p_upper"] < rb.alpha else 1.0
        out["gamma_critical"] = float(g)
    if bm is not None and math.isfinite(bm.bias) and math.isfinite(bm.gamma):
        out["benchmark_bias"], out["benchmark_gamma"] = float(bm.bias), float(bm.gamma)
        if rules.benchmark_sensitivity:
            from evalkit.designs.matching.benchmark import e_value_of

            k = rules.benchmark_strength   # k times as strong: bias factor B**k and Γ**k
            out["e_value_needed"] = max(rules.e_value_ci_min, float(e_value_of(float(bm.bias) ** k)))
            out["gamma_needed"] = max(rules.rosenbaum_gamma, float(bm.gamma) ** k)
    return out



# --------------------------------------------------------------------------- multiplicity
def adjust_pvalues(p: Sequence[float], method: str = "bh", alpha: float = 0.05) -> np.ndarray:
    """Multiplicity-adjusted p-values; a finding is significant when its adjusted p-value is below ``alpha``.

    ``bh``, ``holm``: as R ``p.adjust(p, method = "BH" | "holm")``. Benjamini–Hochberg controls the
    false-discovery rate (the expected share of "significant" findings that are wrong) under independence or
    positive dependence; Holm controls the chance of any false finding (stricter).

    ``bky``: the adaptive two-stage procedure of Benjamini, Krieger & Yekutieli (2006, *Biometrika* 93:491,
    Definition 6): BH at alpha / (1 + alpha) estimates the number of true nulls m0 = m - r1 (r1 = its
    rejections), then BH runs at alpha / (1 + alpha) * m / m0. BH controls the false-discovery rate at
    alpha * m0 / m, below alpha by the share of real effects, so in a portfolio where many services work it
    is needlessly strict; the two-stage procedure recovers that margin and still controls the rate at alpha
    (proved under independence; simulations in the paper under positive dependence). Adjusted p-values are
    statsmodels' ``fdrcorrection_twostage(method="bky")`` ones (BH-adjusted x (1 + alpha) x m0 / m), which
    depend on ``alpha``. NaN stays NaN.
    """
    arr = np.asarray(p, dtype=float)
    out = np.full(arr.shape, np.nan)
    ok = np.isfinite(arr)
    q = arr[ok]
    m = q.size
    if m == 0 or method == "none":
        out[ok] = q
        return out
    order = np.argsort(q, kind="mergesort")
    ranked = q[order]
    if method in ("bh", "bky"):
        adj = np.minimum.accumulate((ranked * m / np.arange(1, m + 1))[::-1])[::-1]
        if method == "bky":
            r1 = int(np.sum(adj <= alpha / (1 + alpha)))          # first stage: BH at alpha / (1 + alpha)
            m0 = m - r1 if 0 < r1 < m else m
            adj = adj * (1 + alpha) * m0 / m
    elif method == "holm":
        adj = np.maximum.accumulate(ranked * (m - np.arange(m)))
    else:
        raise SpecError(f"multiplicity method must be one of {', '.join(_METHODS)} (got {method!r}).")
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


def secondary_worse_flags(outcomes: Sequence[dict], *, alpha: float, min_n: int,
                          method: str | None = None) -> list[bool]:
    """Which outcomes show a significant worsening after multiplicity control within the report.

    ``outcomes``: dicts with ``primary``, ``ok``, ``verdict`` ("worse" when the
    unadjusted judgement is a significant worsening), ``n`` and ``estimate``
    (with ``p_value``). Primary outcomes keep their own judgement; the secondary
    ones are adjusted together (rules setting ``secondary_multiplicity``).
    """
    method = method or load_rules().secondary_multiplicity
    sec = [i for i, o in enumerate(outcomes) if not o.get("primary") and o.get("ok")]
    p = [((outcomes[i].get("estimate") or {}).get("p_value")) for i in sec]
    q = adjust_pvalues([math.nan if v is None else v for v in p], method)
    flags = [bool(o.get("verdict") == "worse") if o.get("primary") else False for o in outcomes]
    for i, qi in zip(sec, q):
        flags[i] = bool(outcomes[i].get("verdict") == "worse" and math.isfinite(qi) and qi < alpha)
    return flags


# --------------------------------------------------------------------------- portfolio step
def finding_from_json(prim: dict) -> PrimaryFinding | None:
    """The :class:`PrimaryFinding` stored in a ``findings.json`` primary entry (``None`` if absent)."""
    f = prim.get("finding")
    if not f:
        return None
    clean = {k: (math.nan if v is None and k in _FLOAT_FIELDS else v) for k, v in f.items()
             if k in PrimaryFinding.__dataclass_fields__}
    if clean.get("n_needed") is None:
        clean["n_needed"] = math.inf
    if clean.get("n") is None:  # suppressed small count: below any minimum for significance
        clean["n"] = 0
    return PrimaryFinding(**clean)


_FLOAT_FIELDS = {"p_value", "benefit", "benefit_low", "benefit_high", "se_log_or_diff"}


def finding_json(f: PrimaryFinding) -> dict:
    """JSON-safe form of a finding (aggregates only)."""
    out = {}
    for k in PrimaryFinding.__dataclass_fields__:
        v = getattr(f, k)
        out[k] = None if isinstance(v, float) and not math.isfinite(v) else v
    pw = f.p_worthwhile
    out["p_worthwhile"] = pw if math.isfinite(pw) else None
    # What the rules read beyond the stored fields (derived), so a reason can be written from the JSON alone.
    for k in ("comparison_design", "checks_failed", "at_least_mwe", "replicated", "worthwhile_unlikely",
              "adequately_powered", "n_below_min"):
        out[k] = bool(getattr(f, k))
    return out


def portfolio_alpha(p: Sequence[float], method: str = "bh", alpha: float = 0.05) -> float:
    """The p-value threshold the multiplicity control applied to this family (what "significant" needed).

    Benjamini–Hochberg with R rejections of m: alpha * max(R, 1) / m; the two-stage procedure: the same at its
    second stage's level alpha / (1 + alpha) * m / m0; Holm: alpha / (m - R) (the next test's threshold, alpha /
    m with none rejected); none: alpha. NaN p-values are not in the family.
    """
    q = np.asarray([v for v in p if v is not None and math.isfinite(v)], dtype=float)
    m = q.size
    if m == 0 or method == "none":
        return alpha
    r = int(np.sum(adjust_pvalues(q, method, alpha=alpha) <= alpha))
    if method == "holm":
        return alpha / max(m - r, 1)
    if method == "bky":
        ranked = np.sort(q)
        r1 = int(np.sum(np.minimum.accumulate((ranked * m / np.arange(1, m + 1))[::-1])[::-1]
                        <= alpha / (1 + alpha)))
        m0 = m - r1 if 0 < r1 < m else m
        return alpha / (1 + alpha) * max(r, 1) / m0
    return alpha * max(r, 1) / m


def mde_at(mde: float | None, alpha: float, alpha_new: float, ratio: bool, power: float = 0.8) -> float | None:
    """The minimum detectable effect at a stricter two-sided level (normal approximation, same standard error).

    Differences scale by (z[1 - alpha_new / 2] + z[power]) / (z[1 - alpha / 2] + z[power]); a proportional fall
    on a ratio scale (1 - ratio) scales on the log scale.
    """
    if mde is None or not (0 < alpha_new < 1):
        return None
    k = (stats.norm.ppf(1 - alpha_new / 2) + stats.norm.ppf(power)) / (stats.norm.ppf(1 - alpha / 2)
                                                                      + stats.norm.ppf(power))
    if ratio and 0 < mde < 1:
        return float(1 - math.exp(math.log(1 - mde) * k))
    return float(mde * k)


def portfolio_categories(primaries: dict[str, dict], rules_path: str | Path | None = None, *,
                         family: Literal["comparison", "all"] = "comparison") -> dict[str, dict]:
    """Re-judge each intervention's primary finding with multiplicity control across the portfolio.

    ``primaries``: intervention id -> the ``primary`` entry of its findings.json.
    Returns copies with ``significant``, ``category``, ``category_label``,
    ``category_meaning`` and ``rule`` updated and ``q_value`` (the adjusted
    p-value) added.

    The family holds the **comparison-design primaries only** (matched, DiD, area DiD): their null ("the
    service made no difference") is the one a commissioning decision tests. Before/after primaries test "no
    change", which maturation makes false anyway; in the family their rejections would loosen the threshold
    for the causal tests, so they are judged alone (unadjusted, ``q_value`` None, ``multiplicity`` "none")
    and can never fund. Area-wide context reports take no part. Each comparison finding records the
    threshold its family applied (``alpha_portfolio``) and the protocol's MDE at that level
    (``mde_portfolio``): the protocol's MDE is at the unadjusted alpha. ``family="all"`` puts every primary in
    the family (the rule before issue 19; for benchmarks/portfolio_calibration.py's comparison only).
    """
    rules = load_rules(rules_path)
    findings = {i: finding_from_json(p) for i, p in primaries.items() if p}
    in_family = (lambda f: True) if family == "all" else (lambda f: f.comparison_design)
    ids = [i for i, f in findings.items() if f is not None and not f.area_wide and in_family(f)]
    alone = [i for i, f in findings.items() if f is not None and not f.area_wide and not in_family(f)]
    fam = {i: findings[i] for i in ids}
    p = [fam[i].p_value if fam[i].n >= fam[i].min_n else math.nan for i in ids]
    alphas = [fam[i].alpha for i in ids]
    a = min(alphas) if alphas else 0.05
    q = adjust_pvalues(p, rules.multiplicity, alpha=a)
    t = portfolio_alpha(p, rules.multiplicity, alpha=a)
    out = {k: dict(v) if v else v for k, v in primaries.items()}
    for i, qi in zip(ids, q):
        f = fam[i]
        assert f is not None
        sig = bool(f.ci_excludes_null and math.isfinite(qi) and qi <= f.alpha and not f.n_below_min)
        f2 = replace(f, significant=sig, alpha_portfolio=t, mde_portfolio=mde_at(f.mde, f.alpha, t, f.ratio))
        cat = rules.classify(f2)
        out[i].update(significant=sig, q_value=None if not math.isfinite(qi) else float(qi), category=cat.key,
                      category_label=cat.label, category_meaning=cat.meaning, rule=cat.rule_text,
                      rule_index=cat.rule_index, rule_conditions=dict(cat.conditions),
                      multiplicity=rules.multiplicity, finding=finding_json(f2))
    for i in alone:
        f = findings[i]
        assert f is not None
        sig = bool(f.ci_excludes_null and math.isfinite(f.p_value) and f.p_value < f.alpha and not f.n_below_min)
        f2 = replace(f, significant=sig)
        cat = rules.classify(f2)
        out[i].update(significant=sig, q_value=None, category=cat.key, category_label=cat.label,
                      category_meaning=cat.meaning, rule=cat.rule_text, rule_index=cat.rule_index,
                      rule_conditions=dict(cat.conditions), multiplicity="none", finding=finding_json(f2))
    return out


__all__ = ["PrimaryFinding", "Category", "Rules", "load_rules", "classify", "adjust_pvalues",
           "secondary_worse_flags", "portfolio_categories", "portfolio_alpha", "mde_at", "finding_from_json",
           "finding_json", "COMPARISON_DESIGNS", "hidden_bias"]
