"""Outcome by sessions attended: a continuous dose-response model, **not causal**.

Young people who attend more sessions differ from those who attend fewer (in
motivation, stability, risk), so a slope of outcome on sessions describes who
stayed, not what an extra session would do. The model is shown as a
description of delivery, never as an effect.

Model (one row per participant with the outcome, ``n`` rows):

* **Slope**: ordinary least squares of the outcome (a 0/1 event, giving a linear
  probability model, or a change score) on sessions attended and the baseline
  (the score at the start, or prior offences), ``y = a + b sessions + c baseline``.
  ``b`` is the difference in the outcome per extra session attended among young
  people with the same baseline. Standard errors are heteroskedasticity-robust
  HC3 (MacKinnon & White 1985: residuals scaled by ``1 / (1 - h_ii)``), which a
  0/1 outcome needs; the interval uses a t distribution with ``n - 3`` degrees
  of freedom.
* **Curve** (the picture): the same model with sessions entered as a restricted
  cubic spline (Harrell 2015, *Regression Modeling Strategies*, section 2.4.5)
  with three knots at the 10th, 50th and 90th percentiles of sessions (linear
  beyond the outer knots), predicted at the mean baseline over the 5th to 95th
  percentile of sessions, with a pointwise HC3 interval. With fewer than four
  distinct session counts the curve is the straight line.

Written with numpy (a few lines of linear algebra); tests check every number
against statsmodels' ``OLS(...).fit(cov_type="HC3", use_t=True)`` to 1e-9.
Results hold aggregates only: coefficients and the fitted curve, no rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.results import Estimate, ResultMixin

#: Fewer participants with an outcome than this: no model (too few to describe a curve).
MIN_N = 20


@dataclass(frozen=True)
class DoseResponse(ResultMixin):
    """Outcome by sessions attended (not causal): the slope per extra session and a fitted curve."""

    outcome_label: str
    is_rate: bool
    baseline_label: str
    n: int
    slope: Estimate
    grid: tuple[float, ...]
    fitted: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    knots: tuple[float, ...]
    method: str
    title: str = "Outcome by sessions attended (a description, not a causal estimate)"

    def _rows(self) -> list[dict]:
        s = self.slope
        return [{"outcome": self.outcome_label, "per extra session": s.estimate, "ci_low": s.ci_low,
                 "ci_high": s.ci_high, "p_value": s.p_value, "n": self.n, "adjusted for": self.baseline_label}]

    def _notes(self) -> list[str]:
        return ["Not causal: young people who attend more differ in other ways.", self.method]


def ols_hc3(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OLS coefficients and their HC3 covariance, ``(X'X)^-1 X' diag(e_i^2 / (1 - h_ii)^2) X (X'X)^-1``."""
    xtx_inv = np.linalg.inv(x.T @ x)
    beta = xtx_inv @ x.T @ y
    resid = y - x @ beta
    h = np.einsum("ij,jk,ik->i", x, xtx_inv, x)
    w = (resid / (1.0 - h)) ** 2
    meat = (x * w[:, None]).T @ x
    return beta, xtx_inv @ meat @ xtx_inv


def rcs_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Restricted cubic spline basis (Harrell): columns ``x`` and, for knots t_1 < ... < t_k, the k - 2 terms

    ``(x - t_j)_+^3 - (x - t_{k-1})_+^3 (t_k - t_j) / (t_k - t_{k-1}) + (x - t_k)_+^3 (t_{k-1} - t_j) / (t_k - t_{k-1})``

    each divided by ``(t_k - t_1)^2`` (Harrell's scaling, so the terms are on the scale of ``x``)."""
    t = np.asarray(knots, dtype=float)
    k = len(t)
    pos = lambda v: np.maximum(v, 0.0) ** 3  # noqa: E731
    cols = [x]
    for j in range(k - 2):
        term = (pos(x - t[j]) - pos(x - t[k - 2]) * (t[k - 1] - t[j]) / (t[k - 1] - t[k - 2])
                + pos(x - t[k - 1]) * (t[k - 2] - t[j]) / (t[k - 1] - t[k - 2]))
        cols.append(term / (t[k - 1] - t[0]) ** 2)
    return np.column_stack(cols)


def dose_response(sessions: pd.Series, outcome: pd.Series, baseline: pd.Series | None = None, *,
                  alpha: float = 0.05, is_rate: bool = True, outcome_label: str = "",
                  baseline_label: str = "") -> DoseResponse | None:
    """Fit the dose-response model (see the module docstring); None when fewer than ``MIN_N`` participants
    have the outcome (and the baseline, when given) or everyone attended the same number of sessions.

    All three series are indexed by person_id; rows are sorted by person_id first, so row order never
    changes the result.
    """
    frame = pd.DataFrame({"y": pd.to_numeric(outcome, errors="coerce")})
    frame.index = frame.index.astype(str)
    s = sessions.copy()
    s.index = s.index.astype(str)
    frame["s"] = pd.to_numeric(s.reindex(frame.index), errors="coerce").fillna(0.0)
    if baseline is not None:
        b = baseline.copy()
        b.index = b.index.astype(str)
        frame["b"] = pd.to_numeric(b.reindex(frame.index), errors="coerce")
    frame = frame.dropna().sort_index(kind="mergesort")
    n = len(frame)
    if n < MIN_N or frame["s"].nunique() < 2:
        return None
    x_s = frame["s"].to_numpy(float)
    y = frame["y"].to_numpy(float)
    extra = [frame["b"].to_numpy(float)] if "b" in frame and frame["b"].nunique() > 1 else []
    x = np.column_stack([np.ones(n), x_s, *extra])
    beta, cov = ols_hc3(x, y)
    df = n - x.shape[1]
    q = float(stats.t.ppf(1 - alpha / 2, df))
    se = math.sqrt(cov[1, 1])
    tval = beta[1] / se if se > 0 else math.nan
    p = float(2 * stats.t.sf(abs(tval), df)) if se > 0 else math.nan
    scale = "difference in the share per extra session" if is_rate else "difference in points per extra session"
    adjusted = f", adjusted for {baseline_label}" if extra else ""
    slope = Estimate("Outcome per extra session attended (not causal)", float(beta[1]), se, float(beta[1] - q * se),
                     float(beta[1] + q * se), p, scale,
                     f"least squares of the outcome on sessions attended{adjusted}; HC3 robust standard errors, "
                     f"t with {df} degrees of freedom" + ("; a linear probability model for a yes/no outcome"
                                                           if is_rate else ""), df, 1 - alpha)
    # The curve: restricted cubic spline in sessions (3 knots) when there are enough distinct values.
    knots = np.quantile(x_s, [0.10, 0.50, 0.90])
    spline = frame["s"].nunique() >= 4 and len(np.unique(knots)) == 3
    lo_s, hi_s = np.quantile(x_s, [0.05, 0.95])
    grid = np.linspace(lo_s, hi_s, 25) if hi_s > lo_s else np.array([lo_s])
    if spline:
        xc = np.column_stack([np.ones(n), rcs_basis(x_s, knots), *extra])
        gc = np.column_stack([np.ones(len(grid)), rcs_basis(grid, knots),
                              *([np.full(len(grid), extra[0].mean())] if extra else [])])
    else:
        xc = x
        gc = np.column_stack([np.ones(len(grid)), grid, *([np.full(len(grid), extra[0].mean())] if extra else [])])
    bc, vc = ols_hc3(xc, y)
    dfc = n - xc.shape[1]
    qc = float(stats.t.ppf(1 - alpha / 2, dfc))
    fit = gc @ bc
    half = qc * np.sqrt(np.einsum("ij,jk,ik->i", gc, vc, gc))
    method = ("Restricted cubic spline in sessions (knots at the 10th, 50th and 90th percentiles) "
              if spline else "Straight line in sessions ") + (f"adjusted for {baseline_label} (at its mean)"
                                                                if extra else "") + \
        f"; pointwise {100 * (1 - alpha):.4g}% interval from HC3 robust standard errors."
    return DoseResponse(outcome_label=outcome_label, is_rate=is_rate, baseline_label=baseline_label if extra else "",
                        n=n, slope=slope, grid=tuple(map(float, grid)), fitted=tuple(map(float, fit)),
                        low=tuple(map(float, fit - half)), high=tuple(map(float, fit + half)),
                        knots=tuple(map(float, knots)) if spline else (), method=method)


def dose_plot(d: DoseResponse):
    """The fitted curve with its interval (a matplotlib Figure; aggregates only)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = 100.0 if d.is_rate else 1.0
    fig, ax = plt.subplots(figsize=(5.5, 2.8))
    ax.fill_between(d.grid, [k * v for v in d.low], [k * v for v in d.high], color="#56B4E9", alpha=0.35,
                    linewidth=0, label=f"{d.slope.level_label} interval")
    ax.plot(d.grid, [k * v for v in d.fitted], color="#0072B2", linewidth=2, label="Fitted")
    ax.set_xlabel("Sessions attended")
    ax.set_ylabel(("%s (%%)" if d.is_rate else "%s (points)") % _short(d.outcome_label))
    ax.set_title("Not a causal estimate: a description of who attended", fontsize=9, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def _short(label: str) -> str:
    """The outcome's words for an axis: without its bracketed detail, wrapped, never cut."""
    import textwrap

    label = label.split(" (")[0]
    return "\n".join(textwrap.wrap(label, 30)) or "Outcome"


__all__ = ["DoseResponse", "dose_response", "dose_plot", "ols_hc3", "rcs_basis", "MIN_N"]
