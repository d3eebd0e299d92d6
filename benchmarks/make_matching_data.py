"""Generate the matching benchmark file: 10,000 participants vs 1,000,000 comparison records.

Six covariates (four continuous, two binary), selection on observables.
Written to benchmarks/_data/matching_bench.csv (git-ignored). Usage:
    python benchmarks/make_matching_data.py [--n-treated 10000] [--n-control 1000000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).parent / "_data" / "matching_bench.csv"


def make(n_treated: int, n_control: int, seed: int = 1) -> pd.DataFrame:
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-treated", type=int, default=10_000)
    ap.add_argument("--n-control", type=int, default=1_000_000)
    a = ap.parse_args()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    make(a.n_treated, a.n_control).to_csv(OUT, index=False)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
