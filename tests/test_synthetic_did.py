"""Synthetic DiD against R synthdid on california_prop99 (tests/reference/synth/README.md)."""

from __future__ import annotations

import importlib.resources

import numpy as np
import pandas as pd
import pytest

from evalkit.designs.area import _synthdid as S
from evalkit.designs.area import synthetic_did
from evalkit.errors import DataError, InsufficientDataError

PUBLISHED = {"sdid": (-15.60383, 8.4), "sc": (-19.61966, 9.9), "did": (-27.34911, 17.7)}


@pytest.fixture(scope="module")
def prop99() -> pd.DataFrame:
    path = importlib.resources.files("synthdid").joinpath("data/california_prop99.csv")
    with path.open() as fh:
        return pd.read_csv(fh, sep=";")


@pytest.fixture(scope="module")
def matrix(prop99):
    Y = prop99.pivot(index="State", columns="Year", values="PacksPerCapita")
    treated = prop99.groupby("State")["treated"].max()
    order = sorted(Y.index, key=lambda s: (treated[s], s))
    return Y.loc[order].to_numpy(), int((treated == 0).sum()), 19


@pytest.mark.parametrize("kind", ["sdid", "sc", "did"])
def test_point_estimates_match_r(matrix, kind):
    Y, N0, T0 = matrix
    # R prints 5 decimals; the Frank-Wolfe path is R's, so agreement is to rounding (tolerance 1e-4)
    assert S.estimate(Y, N0, T0, kind).tau == pytest.approx(PUBLISHED[kind][0], abs=1e-4)


@pytest.mark.parametrize("kind", ["sdid", "sc", "did"])
def test_placebo_se_within_monte_carlo_error_of_published(matrix, kind):
    Y, N0, T0 = matrix
    fit = S.estimate(Y, N0, T0, kind)
    vals = []
    for j in range(N0):  # every possible placebo: one pseudo-treated state
        rows = [i for i in range(N0) if i != j] + [j]
        init = S._sum_normalize(fit.omega[rows[:-1]])
        tau, _, _ = S.estimate_batch(Y[rows][None], N0 - 1, T0, kind, omega=init[None], lam=fit.lam[None],
                                     zetas=fit.zetas)
        vals.append(tau[0])
    vals = np.array(vals)
    rng = np.random.default_rng(1)
    sims = np.array([S.placebo_se(vals[rng.integers(N0, size=200)]) for _ in range(4000)])
    lo, hi = np.quantile(sims, [0.005, 0.995])
    assert lo <= PUBLISHED[kind][1] <= hi
    # and the sampler itself: 200 random placebos give an SE inside the same range
    draws = S.placebo_draws(Y, N0, T0, fit, 200, np.random.default_rng(12345))
    assert lo <= S.placebo_se(draws) <= hi


def test_batched_solver_is_rs_frank_wolfe_step_by_step():
    rng = np.random.default_rng(3)
    Y = rng.normal(size=(12, 9)).cumsum(axis=1)
    zeta, tol = 0.3, 1e-6
    # R sc.weight.fw written out with the literal fw.step
    Yc = Y - Y.mean(axis=0)
    A, b = Yc[:, :-1], Yc[:, -1]
    x = np.full(A.shape[1], 1 / A.shape[1])
    vals: list[float] = []
    while len(vals) < 500 and (len(vals) < 2 or vals[-2] - vals[-1] > tol ** 2):
        x = S.fw_step(A, x, b, A.shape[0] * zeta ** 2)
        vals.append(zeta ** 2 * x @ x + np.sum((A @ x - b) ** 2) / A.shape[0])
    one = S.sc_weight_fw(Y, zeta, min_decrease=tol, max_iter=500)
    many = S.fw_batch(np.stack([Y, Y]), np.array([zeta, zeta]), intercept=True, init=None,
                      min_decrease=np.array([tol, tol]), max_iter=500)
    np.testing.assert_allclose(one, x, atol=1e-10)
    np.testing.assert_allclose(many[1], x, atol=1e-10)


def test_public_function_matches_core_and_reads_long_data(prop99):
    res = synthetic_did(prop99.sample(frac=1, random_state=2), outcome="PacksPerCapita", unit="State",
                        time="Year", treatment="treated", replications=50)
    assert res.effect.estimate == pytest.approx(PUBLISHED["sdid"][0], abs=1e-4)
    assert res.se_method == "placebo" and res.n == 1 and res.n_comparison == 38
    assert sum(w for _, w in res.donor_weights) == pytest.approx(1.0)
    assert res.path_frame().shape == (31, 3)
    assert list(res.to_frame().columns)[:3] == ["term", "estimate", "se"]


def _panel(n_units=30, n_periods=16, treated=(("u00", 10), ("u01", 10), ("u02", 12), ("u03", 12)), effect=-5.0,
           seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    load = rng.normal(size=n_units)
    factor = rng.normal(size=n_periods).cumsum()
    starts = dict(treated)
    for i in range(n_units):
        u = f"u{i:02d}"
        for t in range(n_periods):
            d = int(u in starts and t >= starts[u])
            y = 50 + 3 * i / n_units + load[i] * factor[t] + rng.normal(scale=0.5) + effect * d
            rows.append({"area": u, "quarter": t, "rate": y, "vru": d})
    return pd.DataFrame(rows)


def test_staggered_cohorts_jackknife_and_known_effect():
    res = synthetic_did(_panel(), outcome="rate", unit="area", time="quarter", treatment="vru")
    assert res.se_method == "jackknife"
    assert len(res.cohorts) == 2 and len(res.per_unit) == 4
    assert abs(res.effect.estimate + 5.0) < 4 * res.effect.se
    assert res.effect.ci_low < -5.0 < res.effect.ci_high
    # the jackknife is R's formula over leave-one-area-out estimates (fixed weights)
    assert np.isfinite(res.effect.se) and res.effect.se > 0


def test_row_order_does_not_change_the_result():
    df = _panel()
    a = synthetic_did(df, outcome="rate", unit="area", time="quarter", treatment="vru", unit_se=False)
    b = synthetic_did(df.iloc[::-1], outcome="rate", unit="area", time="quarter", treatment="vru", unit_se=False)
    assert a.effect == b.effect


def test_bad_input_is_located():
    df = _panel()
    with pytest.raises(DataError, match="more than once"):
        synthetic_did(pd.concat([df, df.iloc[[5]]]), outcome="rate", unit="area", time="quarter", treatment="vru")
    with pytest.raises(DataError, match="no row for period"):
        synthetic_did(df.drop(index=7), outcome="rate", unit="area", time="quarter", treatment="vru")
    with pytest.raises(InsufficientDataError, match="before its start"):
        synthetic_did(df.assign(vru=(df["area"] == "u00") & (df["quarter"] >= 2)), outcome="rate", unit="area",
                      time="quarter", treatment="vru")
    with pytest.raises(InsufficientDataError, match="no donor"):
        synthetic_did(df.assign(vru=(df["quarter"] >= 8).astype(int)), outcome="rate", unit="area",
                      time="quarter", treatment="vru")
    bad = df.astype({"rate": object})
    bad.loc[3, "rate"] = "n/a"
    with pytest.raises(DataError, match="row 5, column 'rate'"):
        synthetic_did(bad, outcome="rate", unit="area", time="quarter", treatment="vru")
