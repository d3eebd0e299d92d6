"""Omitted-variable-bias sensitivity for a regression-adjusted estimate (Cinelli & Hazlett 2020).

Cinelli, C. & Hazlett, C. (2020) "Making sense of sensitivity: extending omitted variable bias",
*Journal of the Royal Statistical Society B* 82(1):39-67. The formulas are those of the R package
``sensemakr`` (and its Python port), against which ``tests/test_ovb_sensitivity.py`` checks this module
to 1e-6 on the ``darfur`` data.

For the OLS coefficient of a treatment D in ``Y ~ D + X`` with t-statistic t and residual degrees of
freedom ``dof`` (classical, not robust: the partial R² are algebraic properties of the fit):

* partial R² of the treatment with the outcome: ``R²(Y~D|X) = t² / (t² + dof)`` (section 4.2);
* partial Cohen's f: ``f = t / sqrt(dof)``;
* robustness value (eq. 18): with ``f_q = q |f|``, ``RV_q = (sqrt(f_q⁴ + 4 f_q²) - f_q²) / 2`` -- the partial
  R² a confounder would need with *both* treatment and outcome to reduce the estimate by 100q%;
* ``RV_{q,alpha}`` (eq. 19): the same with ``f_q`` replaced by ``f_q - f*`` where
  ``f* = |t_{alpha/2, dof-1}| / sqrt(dof - 1)``; 0 when that is negative; and, where ``f_q > 1/f*``, the
  non-binding case ``(f_q² - f*²) / (1 + f_q²)`` (sensemakr >= 0.1.4);
* a confounder Z with partial R² ``R²(D~Z|X)`` = r2dz_x and ``R²(Y~Z|D,X)`` = r2yz_dx changes the estimate by
  ``|bias| = se · sqrt(dof) · sqrt(r2yz_dx · r2dz_x / (1 - r2dz_x))`` (eq. 11) and the standard error to
  ``se · sqrt((1 - r2yz_dx) / (1 - r2dz_x)) · sqrt(dof / (dof - 1))`` (eq. 12); the adjusted t is
  ``(adjusted estimate - h0) / adjusted se``; the adjusted interval uses ``t_{1-alpha/2, dof}`` (as
  sensemakr's ``ovb_bounds``);
* benchmarking (section 6.1, eqs. 24-26, with the orthogonality assumption of the paper): a confounder
  ``kd`` times as strong as a measured covariate X_j in explaining the treatment and ``ky`` times as strong
  in explaining the outcome has at most
  ``r2dz_x = kd · r2dxj_x / (1 - r2dxj_x)`` and
  ``r2yz_dx = ((sqrt(ky) + sqrt(r2zxj_xd)) / sqrt(1 - r2zxj_xd))² · r2yxj_dx / (1 - r2yxj_dx)`` with
  ``r2zxj_xd = kd · r2dxj_x² / ((1 - kd · r2dxj_x)(1 - r2dxj_x))`` (capped at 1), where r2dxj_x is X_j's
  partial R² with D given the other covariates (from the treatment regression ``D ~ X``) and r2yxj_dx its
  partial R² with Y given D and the other covariates (from the outcome regression). A group of covariates
  is benchmarked jointly with its group partial R² (the classical F-statistic form ``F p / (F p + dof)``).

Weighted least squares fits are handled through statsmodels' whitened design (the partial R² are then in
the weighted metric, as R's ``lm(weights=)``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import stats

from evalkit.errors import InsufficientDataError, SpecError
from evalkit.results import ResultMixin

Benchmark = str | tuple[str, ...]


# --------------------------------------------------------------------------- the formulas, as pure functions
def partial_r2(t_statistic: float, dof: float) -> float:
    """Partial R² of a regressor with the outcome from its t-statistic: ``t² / (t² + dof)``."""
    _check_dof(dof)
    return float(t_statistic ** 2 / (t_statistic ** 2 + dof))


def partial_f2(t_statistic: float, dof: float) -> float:
    """Partial Cohen's f² of a regressor: ``t² / dof``."""
    _check_dof(dof)
    return float(t_statistic ** 2 / dof)


def robustness_value(t_statistic: float, dof: float, *, q: float = 1.0, alpha: float | None = None) -> float:
    """Robustness value ``RV_q`` (``alpha=None``) or ``RV_{q,alpha}`` (Cinelli & Hazlett 2020, eqs. 18-19).

    The minimum partial R² that a confounder would need with both the treatment and the outcome to reduce
    the estimate by ``100 q`` percent (``RV_q``), or to make the reduced estimate no longer significantly
    different from it at level ``alpha`` (``RV_{q,alpha}``; q = 1: no longer significant).
    """
    _check_dof(dof)
    if q <= 0:
        raise SpecError(f"q must be positive (got {q}); q = 1 asks what would remove the whole estimate.")
    fq = q * abs(t_statistic) / math.sqrt(dof)
    if alpha is None:
        return float(0.5 * (math.sqrt(fq ** 4 + 4 * fq ** 2) - fq ** 2))
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must be between 0 and 1 (got {alpha}).")
    f_crit = abs(float(stats.t.ppf(alpha / 2, dof - 1))) / math.sqrt(dof - 1)
    fqa = fq - f_crit
    if fqa < 0:
        return 0.0
    if f_crit > 0 and fq > 1 / f_crit:
        # The constraint r2yz_dx <= 1 does not bind: the extreme confounder explains all residual outcome.
        return float((fq ** 2 - f_crit ** 2) / (1 + fq ** 2))
    return float(0.5 * (math.sqrt(fqa ** 4 + 4 * fqa ** 2) - fqa ** 2))


def bias(se: float, dof: float, r2dz_x: float, r2yz_dx: float) -> float:
    """Absolute bias a confounder with these partial R² induces in the estimate (eq. 11)."""
    _check_r2(r2dz_x, r2yz_dx)
    return float(se * math.sqrt(dof) * math.sqrt(r2yz_dx * r2dz_x / (1 - r2dz_x)))


def adjusted_estimate(estimate: float, se: float, dof: float, r2dz_x: float, r2yz_dx: float, *,
                      reduce: bool = True) -> float:
    """The estimate after removing (``reduce=True``: towards zero) the bias of such a confounder."""
    b = bias(se, dof, r2dz_x, r2yz_dx)
    sign = 1.0 if estimate >= 0 else -1.0
    return float(sign * (abs(estimate) - b) if reduce else sign * (abs(estimate) + b))


def adjusted_se(se: float, dof: float, r2dz_x: float, r2yz_dx: float) -> float:
    """The standard error had the confounder been included in the regression (eq. 12)."""
    _check_r2(r2dz_x, r2yz_dx)
    return float(se * math.sqrt((1 - r2yz_dx) / (1 - r2dz_x)) * math.sqrt(dof / (dof - 1)))


def adjusted_t(estimate: float, se: float, dof: float, r2dz_x: float, r2yz_dx: float, *,
               reduce: bool = True, h0: float = 0.0) -> float:
    """The t-statistic (against ``h0``) had the confounder been included in the regression."""
    return float((adjusted_estimate(estimate, se, dof, r2dz_x, r2yz_dx, reduce=reduce) - h0)
                 / adjusted_se(se, dof, r2dz_x, r2yz_dx))


def benchmark_bounds(r2dxj_x: float, r2yxj_dx: float, *, kd: float = 1.0, ky: float | None = None
                     ) -> tuple[float, float]:
    """Upper bounds ``(r2dz_x, r2yz_dx)`` for a confounder kd/ky times as strong as a benchmark covariate.

    Parameters
    ----------
    r2dxj_x
        The benchmark's partial R² with the treatment, given the other covariates.
    r2yxj_dx
        The benchmark's partial R² with the outcome, given the treatment and the other covariates.
    kd, ky
        How many times as strong as the benchmark the confounder is in explaining the treatment (kd) and
        the outcome (ky; default ``kd``).

    Raises
    ------
    SpecError
        When kd is so large that the implied partial R² with the treatment reaches 1 (impossible).
    """
    ky = kd if ky is None else ky
    _check_r2(r2dxj_x, r2yxj_dx)
    if kd <= 0 or ky <= 0:
        raise SpecError(f"kd and ky must be positive (got kd={kd}, ky={ky}).")
    r2dz_x = kd * r2dxj_x / (1 - r2dxj_x)
    if r2dz_x >= 1:
        raise SpecError(f"A confounder {kd:g} times as strong as the benchmark would explain all of the treatment "
                        f"(implied partial R² {r2dz_x:.3f} >= 1). Fix: use a smaller kd.")
    r2zxj_xd = kd * r2dxj_x ** 2 / ((1 - kd * r2dxj_x) * (1 - r2dxj_x))
    if r2zxj_xd >= 1:
        raise SpecError(f"kd = {kd:g} implies an impossible association between the confounder and the "
                        "benchmark (partial R² >= 1). Fix: use a smaller kd.")
    r2yz_dx = ((math.sqrt(ky) + math.sqrt(r2zxj_xd)) / math.sqrt(1 - r2zxj_xd)) ** 2 * (r2yxj_dx / (1 - r2yxj_dx))
    return float(r2dz_x), float(min(r2yz_dx, 1.0))  # sensemakr caps r2yz_dx at 1 (with a warning)


def _check_dof(dof: float) -> None:
    if not dof > 1:
        raise InsufficientDataError(f"The regression has {dof:g} residual degrees of freedom; at least 2 are "
                                    "needed for a sensitivity analysis.")


def _check_r2(*values: float) -> None:
    for v in values:
        if not 0 <= v < 1 + 1e-12:
            raise SpecError(f"A partial R² must lie in [0, 1) (got {v}).")
    if values and values[0] >= 1:
        raise SpecError("A confounder explaining all of the treatment (partial R² = 1) leaves nothing to estimate.")


# --------------------------------------------------------------------------- result objects
@dataclass(frozen=True)
class OVBBound:
    """The adjusted estimate had a confounder kd/ky times as strong as a benchmark been included.

    ``removes_estimate``: such a confounder would bring the estimate to (or past) ``h0``;
    ``removes_significance``: the adjusted interval would include ``h0``.
    """

    benchmark: str
    label: str
    kd: float
    ky: float
    r2dxj_x: float
    r2yxj_dx: float
    r2dz_x: float
    r2yz_dx: float
    adjusted_estimate: float
    adjusted_se: float
    adjusted_t: float
    ci_low: float
    ci_high: float
    removes_estimate: bool
    removes_significance: bool

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class OVBResult(ResultMixin):
    """Cinelli & Hazlett (2020) sensitivity of one regression coefficient (aggregates only).

    ``partial_r2`` is R²(Y~D|X); ``rv_q`` and ``rv_qa`` the robustness values ``RV_q`` and ``RV_{q,alpha}``;
    ``bounds`` one :class:`OVBBound` per benchmark and multiplier.
    """

    treatment: str
    estimate: float
    se: float
    t_statistic: float
    dof: float
    partial_r2: float
    rv_q: float
    rv_qa: float
    q: float
    alpha: float
    h0: float
    reduce: bool
    bounds: tuple[OVBBound, ...] = ()
    title: str = "Sensitivity to an omitted confounder (Cinelli & Hazlett 2020)"
    labels: Mapping[str, str] = field(default_factory=dict)

    def _rows(self) -> list[dict]:
        head = {"treatment": self.treatment, "estimate": self.estimate, "se": self.se, "t": self.t_statistic,
                "dof": self.dof, "partial_r2_yd_x": self.partial_r2, f"rv_q{self.q:g}": self.rv_q,
                f"rv_q{self.q:g}_alpha{self.alpha:g}": self.rv_qa}
        return [head]

    def to_frame(self):  # type: ignore[no-untyped-def]
        """Two blocks in one table: the statistics row, then one row per benchmark bound."""
        import pandas as pd

        head = pd.DataFrame(self._rows())
        if not self.bounds:
            return head
        return pd.concat([head, self.bounds_frame()], ignore_index=True)

    def bounds_frame(self):  # type: ignore[no-untyped-def]
        """One row per benchmark bound (sensemakr's ``bounds`` table, with the interval)."""
        import pandas as pd

        return pd.DataFrame([b.as_dict() for b in self.bounds])

    def _notes(self) -> list[str]:
        notes = [f"Robustness value: a confounder explaining {100 * self.rv_q:.1f}% of the residual variance of "
                 f"both treatment and outcome would reduce the estimate by {100 * self.q:g}%; "
                 f"{100 * self.rv_qa:.1f}% would make it no longer significant at {self.alpha:g}."]
        seen: set[str] = set()
        for b in self.bounds:
            if b.benchmark not in seen:
                seen.add(b.benchmark)
                notes.append(self.sentence(b.benchmark, k=min(x.kd for x in self.bounds if x.benchmark == b.benchmark)))
        return notes

    def bound(self, benchmark: str, k: float = 1.0) -> OVBBound:
        """The bound for ``benchmark`` with ``kd == ky == k``."""
        for b in self.bounds:
            if b.benchmark == benchmark and math.isclose(b.kd, k) and math.isclose(b.ky, k):
                return b
        have = ", ".join(f"{b.benchmark} (kd={b.kd:g}, ky={b.ky:g})" for b in self.bounds) or "none"
        raise SpecError(f"No bound for {benchmark!r} at {k:g} times its strength. Fix: use one of: {have}.")

    def explained_away(self, benchmark: str, k: float = 1.0, *,
                       by: Literal["significance", "estimate"] = "significance") -> bool:
        """Would a confounder ``k`` times as strong as ``benchmark`` remove the effect?

        ``by="significance"`` (default): its adjusted interval would include ``h0``;
        ``by="estimate"``: the adjusted estimate would reach ``h0``.
        """
        b = self.bound(benchmark, k)
        return b.removes_significance if by == "significance" else b.removes_estimate

    @property
    def significant(self) -> bool:
        """Whether the estimate itself is significant at ``alpha`` (classical t test against ``h0``)."""
        crit = abs(float(stats.t.ppf(self.alpha / 2, self.dof)))
        return bool(abs(self.estimate - self.h0) / self.se > crit)

    def sentence(self, benchmark: str, k: float = 1.0, *, scale: float = 1.0, unit: str = "",
                 digits: int = 3) -> str:
        """Plain English: could a hidden factor ``k`` times as strong as the benchmark remove the effect?

        ``scale`` and ``unit`` say how to print estimates (e.g. ``scale=100, unit=" percentage points"`` for a
        risk difference held as a proportion); ``digits`` is the number of significant figures.
        """
        b = self.bound(benchmark, k)
        strength = f"as strong as {b.label}" if math.isclose(k, 1.0) else f"{k:g} times as strong as {b.label}"

        def num(v: float) -> str:
            return f"{scale * v:.{digits}g}{unit}"

        level = f"{100 * (1 - self.alpha):.0f}%"
        if not self.significant:
            return (f"There is no clear effect for a hidden factor to remove: the estimate ({num(self.estimate)}) "
                    f"is not significant at {self.alpha:g} even before allowing for one.")
        if b.removes_estimate:
            return (f"A hidden factor {strength} could remove the effect entirely: allowing for it would "
                    f"bring the estimate to {num(b.adjusted_estimate)}.")
        if b.removes_significance:
            return (f"A hidden factor {strength} could remove the effect: allowing for it would leave an "
                    f"estimate of {num(b.adjusted_estimate)} whose {level} interval ({num(b.ci_low)} to "
                    f"{num(b.ci_high)}) includes no effect.")
        return (f"A hidden factor {strength} could not remove the effect: allowing for it would leave an "
                f"estimate of {num(b.adjusted_estimate)} ({level} interval {num(b.ci_low)} to {num(b.ci_high)}).")


# --------------------------------------------------------------------------- entry points
def ovb_sensitivity_from_t(*, estimate: float, se: float, dof: float, treatment: str = "treatment",
                           benchmarks: Mapping[str, tuple[float, float]] | None = None,
                           kd: float | Sequence[float] = (1.0,), ky: float | Sequence[float] | None = None,
                           q: float = 1.0, alpha: float = 0.05, h0: float = 0.0, reduce: bool = True,
                           labels: Mapping[str, str] | None = None) -> OVBResult:
    """Sensitivity from a regression table alone: estimate, standard error and residual degrees of freedom.

    Parameters
    ----------
    benchmarks
        ``{name: (r2dxj_x, r2yxj_dx)}``: each benchmark's partial R² with the treatment (given the other
        covariates) and with the outcome (given the treatment and the other covariates); from a table, use
        :func:`partial_r2` on the benchmark's t-statistics in the treatment and outcome regressions.
    kd, ky
        Multipliers of the benchmark's strength; ``ky`` defaults to ``kd`` and, if a sequence, pairs with it.
    q, alpha
        ``RV_q`` asks what would reduce the estimate by ``100 q`` percent; ``RV_{q,alpha}`` what would make the
        reduced estimate insignificant at ``alpha`` (also the level of the adjusted intervals).
    labels
        Plain-English names of the benchmarks for :meth:`OVBResult.sentence` (default: the names).
    """
    if not se > 0:
        raise SpecError(f"The standard error must be positive (got {se}).")
    _check_dof(dof)
    t = estimate / se
    kds = _seq(kd)
    kys = kds if ky is None else _seq(ky)
    if len(kys) != len(kds):
        raise SpecError(f"kd and ky must have the same length (got {len(kds)} and {len(kys)}).")
    labels = dict(labels or {})
    crit = abs(float(stats.t.ppf(alpha / 2, dof)))
    out: list[OVBBound] = []
    for name, (r2d, r2y) in (benchmarks or {}).items():
        for a, b in zip(kds, kys):
            r2dz, r2yz = benchmark_bounds(r2d, r2y, kd=a, ky=b)
            est = adjusted_estimate(estimate, se, dof, r2dz, r2yz, reduce=reduce)
            s = adjusted_se(se, dof, r2dz, r2yz)
            lo, hi = est - crit * s, est + crit * s
            removes_est = (est <= h0) if estimate > h0 else (est >= h0)
            out.append(OVBBound(benchmark=name, label=labels.get(name, name), kd=float(a), ky=float(b),
                                r2dxj_x=float(r2d), r2yxj_dx=float(r2y), r2dz_x=r2dz, r2yz_dx=r2yz,
                                adjusted_estimate=est, adjusted_se=s, adjusted_t=(est - h0) / s, ci_low=lo,
                                ci_high=hi, removes_estimate=bool(removes_est),
                                removes_significance=bool(lo <= h0 <= hi)))
    return OVBResult(treatment=treatment, estimate=float(estimate), se=float(se), t_statistic=float(t),
                     dof=float(dof), partial_r2=partial_r2(t, dof), rv_q=robustness_value(t, dof, q=q),
                     rv_qa=robustness_value(t, dof, q=q, alpha=alpha), q=float(q), alpha=float(alpha),
                     h0=float(h0), reduce=bool(reduce), bounds=tuple(out), labels=labels)


def ovb_sensitivity(fit: Any, treatment: str, *, benchmarks: Sequence[Benchmark] = (),
                    kd: float | Sequence[float] = (1.0,), ky: float | Sequence[float] | None = None,
                    q: float = 1.0, alpha: float = 0.05, h0: float = 0.0, reduce: bool = True,
                    labels: Mapping[str, str] | None = None) -> OVBResult:
    """Sensitivity of the treatment coefficient of a fitted statsmodels OLS/WLS regression.

    Parameters
    ----------
    fit
        A fitted ``statsmodels`` linear regression (``sm.OLS(...).fit()``, ``smf.ols(...).fit()`` or WLS). Its
        robust covariance, if any, is ignored: the method uses the classical standard error (the paper's).
    treatment
        The treatment's column name in the design (``fit.model.exog_names``).
    benchmarks
        Covariates to benchmark against: a column name, or a tuple of names benchmarked as one group (e.g.
        the dummies of one categorical variable); named in results by the name, or the names joined by "+".
    kd, ky, q, alpha, h0, reduce, labels
        As :func:`ovb_sensitivity_from_t`.

    Returns
    -------
    OVBResult
    """
    names = list(getattr(fit.model, "exog_names", None) or [])
    if treatment not in names:
        raise SpecError(f"The regression has no term {treatment!r}. Fix: use one of {', '.join(names)}.")
    X = np.asarray(fit.model.wexog, dtype=float)
    y = np.asarray(fit.model.wendog, dtype=float)
    dof = float(fit.df_resid)
    _check_dof(dof)
    j = names.index(treatment)
    beta, se = _coef_se(X, y, j)
    bench: dict[str, tuple[float, float]] = {}
    others = [i for i in range(len(names)) if i != j]
    Xd, d = X[:, others], X[:, j]
    dof_d = float(len(d) - np.linalg.matrix_rank(Xd))
    for b in benchmarks:
        group = (b,) if isinstance(b, str) else tuple(b)
        missing = [g for g in group if g not in names or g == treatment]
        if missing:
            raise SpecError(f"Benchmark {', '.join(map(repr, missing))} is not a covariate of the regression. "
                            f"Fix: use terms of {', '.join(n for n in names if n != treatment)}.")
        idx_y = [names.index(g) for g in group]
        idx_d = [others.index(names.index(g)) for g in group]
        bench["+".join(group)] = (_group_partial_r2(Xd, d, idx_d, dof_d), _group_partial_r2(X, y, idx_y, dof))
    return ovb_sensitivity_from_t(estimate=beta, se=se, dof=dof, treatment=treatment, benchmarks=bench, kd=kd,
                                  ky=ky, q=q, alpha=alpha, h0=h0, reduce=reduce, labels=labels)


def _seq(v: float | Sequence[float]) -> tuple[float, ...]:
    if isinstance(v, int | float):
        return (float(v),)
    return tuple(float(x) for x in v)


def _rss(X: np.ndarray, y: np.ndarray) -> float:
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    r = y - X @ coef
    return float(r @ r)


def _coef_se(X: np.ndarray, y: np.ndarray, j: int) -> tuple[float, float]:
    """OLS coefficient j and its classical standard error (the whitened design of WLS included)."""
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    r = y - X @ coef
    dof = len(y) - np.linalg.matrix_rank(X)
    cov = np.linalg.pinv(X.T @ X) * float(r @ r) / dof
    return float(coef[j]), float(math.sqrt(cov[j, j]))


def _group_partial_r2(X: np.ndarray, y: np.ndarray, cols: list[int], dof: float) -> float:
    """Partial R² of columns ``cols`` of X with y given the rest: ``(RSS_without - RSS_with) / RSS_without``.

    Identical to sensemakr's ``F p / (F p + dof)`` with the classical F statistic (and to ``t²/(t² + dof)``
    for one column).
    """
    keep = [i for i in range(X.shape[1]) if i not in cols]
    full = _rss(X, y)
    reduced = _rss(X[:, keep], y)
    if reduced <= 0:
        raise InsufficientDataError("The regression fits perfectly without the benchmark; nothing is left to explain.")
    del dof  # the RSS form needs no degrees of freedom; kept in the signature to say which fit it belongs to
    return float((reduced - full) / reduced)
