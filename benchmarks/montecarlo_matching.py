"""Monte Carlo check of the matched-comparison ATT estimators.

Data with a known effect and selection on observables (treatment depends on
the covariates, which also drive the outcomes):

* 1,500 people, about 300 participants; covariates age, prior offences, risk
  score, school exclusion;
* continuous outcome with a constant effect of -1.0 (so ATT = -1.0);
* binary outcome from a logistic model with a treatment log-odds of -0.6; the
  target is each sample's ATT risk difference, mean over participants of
  p1(x) - p0(x) (known from the model).

For 1:1 nearest-neighbour matching on the propensity score (caliper 0.2 SD,
no replacement) and for 1:2 matching with replacement, reports the bias and the
coverage of the 95% CIs of the continuous and risk-difference estimators, and
the bias of the naive (unmatched) difference in means.

    python benchmarks/montecarlo_matching.py [--reps 500]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
from scipy.special import expit

from evalkit.designs.matching import estimate_att, match

TAU = -1.0
LOG_OR = -0.6
COVS = ["age", "prior_offences", "risk", "school_exclusion"]
DESIGNS = {"1:1 caliper 0.2": dict(caliper=0.2), "1:2 with replacement": dict(ratio=2, replace=True)}


def simulate(rng: np.random.Generator, n: int = 1500) -> tuple[pd.DataFrame, float]:
    age = rng.uniform(10, 25, n)
    prior = rng.poisson(1.5, n)
    risk = rng.normal(0, 1, n)
    excl = rng.binomial(1, 0.3, n)
    ps = expit(-2.0 + 0.1 * (age - 17) + 0.4 * prior + 0.5 * risk + 0.6 * excl)
    a = rng.binomial(1, ps)
    y = 5 + 0.3 * age + 1.0 * prior + 1.5 * risk + 1.0 * excl + TAU * a + rng.normal(0, 2, n)
    lin0 = -1.0 + 0.3 * prior + 0.5 * risk + 0.5 * excl
    p0, p1 = expit(lin0), expit(lin0 + LOG_OR)
    yb = rng.binomial(1, np.where(a == 1, p1, p0))
    df = pd.DataFrame({"id": np.arange(n), "a": a, "age": age, "prior_offences": prior, "risk": risk,
                       "school_exclusion": excl, "y": y, "yb": yb})
    return df, float(np.mean((p1 - p0)[a == 1]))


def run(reps: int = 500, seed: int = 2026) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(reps):
        df, true_rd = simulate(rng)
        naive = df.loc[df.a == 1, "y"].mean() - df.loc[df.a == 0, "y"].mean()
        rows.append({"design": "naive", "estimator": "continuous", "error": naive - TAU, "covered": np.nan})
        for name, opts in DESIGNS.items():
            m = match(df, treatment="a", covariates=COVS, id_col="id", **opts)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                c = estimate_att(df, m, outcome="y", kind="continuous").estimates[0]
                b = estimate_att(df, m, outcome="yb", kind="binary").estimates[0]
                r = estimate_att(df, m, outcome="y", kind="continuous", covariates_adjust=COVS).estimates[0]
            rows.append({"design": name, "estimator": "continuous", "error": c.estimate - TAU,
                         "covered": float(c.ci_low <= TAU <= c.ci_high)})
            rows.append({"design": name, "estimator": "continuous, regression-adjusted", "error": r.estimate - TAU,
                         "covered": float(r.ci_low <= TAU <= r.ci_high)})
            rows.append({"design": name, "estimator": "risk difference", "error": b.estimate - true_rd,
                         "covered": float(b.ci_low <= true_rd <= b.ci_high)})
    res = pd.DataFrame(rows)
    return res.groupby(["design", "estimator"], sort=False).agg(
        reps=("error", "size"), bias=("error", "mean"), mc_se_bias=("error", lambda e: e.std() / np.sqrt(len(e))),
        coverage=("covered", "mean")).reset_index()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--seed", type=int, default=2026)
    a = ap.parse_args()
    with pd.option_context("display.width", 120):
        print(run(a.reps, a.seed).to_string(index=False))


if __name__ == "__main__":
    main()
