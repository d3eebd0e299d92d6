"""Generate the matching benchmark files: 10,000 participants vs 1,000,000 comparison records.

Two generators, so that a speed claim holds on data the code was not tuned to:

* ``binary`` (the original, ``benchmarks/_data/matching_bench.csv``): six
  covariates, four continuous (two of them normal at full precision, age to two
  decimals, prior offences a Poisson count) and two binary, independent of one
  another; selection on observables.
* ``continuous`` (``benchmarks/_data/matching_bench_continuous.csv``): six
  covariates, none binary: four full-precision continuous ones drawn from a
  correlated normal (pairwise correlations 0.3-0.6), two of them made skewed
  (log-normal and squared: long right tails), plus age (two decimals) and a
  prior-offences count that is over-dispersed (negative binomial) and
  correlated with the risk score. Selection depends on all six, including the
  skewed ones, so the propensity score has long tails too.

Written as CSV (git-ignored). Usage:
    python benchmarks/make_matching_data.py [--kind binary|continuous|both] [--n-treated 10000] [--n-control 1000000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent / "_data"
#: file and covariates of each generator (the benchmark reads these)
KINDS = {
    "binary": (HERE / "matching_bench.csv",
               ["age", "prior_offences", "deprivation", "risk", "school_exclusion", "male"]),
    "continuous": (HERE / "matching_bench_continuous.csv",
                   ["age", "prior_offences", "deprivation", "risk", "income", "time_known"]),
}
OUT = KINDS["binary"][0]


def make(n_treated: int, n_control: int, seed: int = 1) -> pd.DataFrame:
    """The original generator: independent covariates, two of them binary."""
    rng = np.random.default_rng(seed)
    n = n_treated + n_control
    treated = np.r_[np.ones(n_treated, np.int8), np.zeros(n_control, np.int8)]
    shift = 0.5 * treated
    df = pd.DataFrame({
        "person_id": rng.permutation(n) + 1,
        "treated": treated,
        "age": (rng.normal(17, 3, n) - 1.0 * shift).round(2),
        "prior_offences": rng.poisson(1 + 1.2 * shift),
        "deprivation": rng.normal(0, 1, n) + 0.6 * shift,
        "risk": rng.normal(0, 1, n) + 0.4 * shift,
        "school_exclusion": rng.binomial(1, 0.15 + 0.3 * shift),
        "male": rng.binomial(1, 0.6 + 0.2 * shift),
    })
    df["y"] = (0.3 * df.age + df.prior_offences + df.risk - 1.0 * treated + rng.normal(0, 2, n)).round(3)
    return df


def make_continuous(n_treated: int, n_control: int, seed: int = 7) -> pd.DataFrame:
    """Continuous, skewed and correlated covariates; treated rows shuffled among the others.

    The four continuous covariates are written at full precision (up to 17
    significant digits), which is also the harder case for a CSV parser.
    """
    rng = np.random.default_rng(seed)
    n = n_treated + n_control
    treated = np.zeros(n, np.int8)
    treated[rng.choice(n, n_treated, replace=False)] = 1
    shift = treated.astype(float)
    corr = np.array([[1.0, 0.5, 0.4, 0.3],
                     [0.5, 1.0, 0.6, 0.3],
                     [0.4, 0.6, 1.0, 0.4],
                     [0.3, 0.3, 0.4, 1.0]])
    z = rng.standard_normal((n, 4)) @ np.linalg.cholesky(corr).T
    z += shift[:, None] * np.array([0.5, 0.4, -0.3, 0.25])  # selection on all four
    risk = z[:, 1]
    mean_priors = np.exp(0.2 + 0.35 * risk + 0.3 * shift)
    df = pd.DataFrame({
        "person_id": rng.permutation(n) + 1,
        "treated": treated,
        "age": (rng.normal(17, 3, n) - 0.8 * shift + 0.5 * z[:, 0]).round(2),
        # negative binomial (gamma-Poisson mixture): over-dispersed, skewed, correlated with risk
        "prior_offences": rng.poisson(mean_priors * rng.gamma(2.0, 0.5, n)),
        "deprivation": z[:, 0],
        "risk": risk,
        "income": np.exp(9.8 + 0.6 * z[:, 2]),  # log-normal: long right tail
        "time_known": 0.5 * (z[:, 3] + 1.5) ** 2,  # squared normal: skewed, bounded below
    })
    df["y"] = (0.3 * df.age + df.prior_offences + df.risk - 1.0 * treated + rng.normal(0, 2, n)).round(3)
    return df


def write(kind: str, n_treated: int = 10_000, n_control: int = 1_000_000) -> Path:
    """Generate ``kind``'s data and write it to its benchmark file; return the path."""
    out = KINDS[kind][0]
    out.parent.mkdir(parents=True, exist_ok=True)
    frame = (make if kind == "binary" else make_continuous)(n_treated, n_control)
    frame.to_csv(out, index=False)  # shortest round-trip text: all 17 digits for a full-precision value
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", choices=[*KINDS, "both"], default="both")
    ap.add_argument("--n-treated", type=int, default=10_000)
    ap.add_argument("--n-control", type=int, default=1_000_000)
    a = ap.parse_args()
    for kind in KINDS if a.kind == "both" else [a.kind]:
        print(f"wrote {write(kind, a.n_treated, a.n_control)}")


if __name__ == "__main__":
    main()
