"""Placebo-area (randomisation) inference for area_did, against a brute force written here with statsmodels formulas."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from evalkit.designs.area import area_did
from evalkit.designs.area.placebo import _assignments, placebo_areas

REF = Path(__file__).parent / "reference" / "area"
FIX28 = ["Gedling", "Broxtowe", "Newark and Sherwood"]


@pytest.fixture(scope="module")
def counts() -> pd.DataFrame:
    return pd.read_csv(REF / "area_fixture.csv")


@pytest.fixture(scope="module")
def rollout() -> pd.DataFrame:
    return pd.read_csv(REF / "area_rollout_fixture.csv")


def _panel(counts):
    """FIX27's panel as area_did builds it: FIX28's areas leave the comparison when FIX28 starts."""
    d = counts[counts.indicator == "serious_violence"].copy()
    d["date"] = pd.to_datetime(d.month)
    d = d[~(d.area.isin(FIX28) & (d.date >= "2020-04-01"))]
    return d.reset_index(drop=True)


def _brute_force(d: pd.DataFrame, start: str, k: int) -> tuple[float, list[float]]:
    """Every set of k areas given the start, each refitted from scratch with a formula GLM."""
    import itertools

    estimates = []
    for combo in itertools.combinations(sorted(d.area.unique()), k):
        d = d.assign(D=(d.area.isin(combo) & (d.date >= start)).astype(float))
        fit = smf.glm("count ~ D + C(area) + C(month)", data=d, family=sm.families.Poisson(),
                      offset=np.log(d.population)).fit(tol=1e-12)
        estimates.append(float(fit.params["D"]))
    return estimates


def test_placebo_p_value_equals_brute_force(counts, rollout):
    res = area_did(counts, rollout, indicator="serious_violence", intervention_id="FIX27", n_boot=99,
                   bootstrap_ci=False)
    d = _panel(counts)
    real = d.assign(D=(d.area.isin(["Mansfield", "Ashfield"]) & (d.date >= "2019-10-01")).astype(float))
    b = float(smf.glm("count ~ D + C(area) + C(month)", data=real, family=sm.families.Poisson(),
                      offset=np.log(real.population)).fit(tol=1e-12).params["D"])
    estimates = _brute_force(d, "2019-10-01", 2)
    as_extreme = sum(abs(e) >= abs(b) - 1e-9 for e in estimates)
    placebo = res.placebo
    assert placebo.enumerated and placebo.n_skipped == 0
    assert placebo.n_sets == len(estimates) == 28  # C(8, 2)
    assert placebo.n_as_extreme == as_extreme
    assert placebo.p_value == pytest.approx(as_extreme / 28, abs=0)
    assert placebo.min_p == pytest.approx(1 / 28)
    assert placebo.log_rate_ratio == pytest.approx(b, abs=1e-8)
    assert placebo.sentence() in res.warnings
    assert "placebo_p" in res.to_frame().columns


def test_one_treated_area_can_never_reach_five_percent():
    """A huge effect in 1 of 6 areas is the most extreme set, yet p = 1/6: the sentence says so."""
    rng = np.random.default_rng(4)
    areas, months = [f"A{i}" for i in range(6)], np.arange(36)
    a = np.repeat(np.arange(6), 36)
    m = np.tile(months, 6)
    D = ((a == 2) & (m >= 24)).astype(float)
    mu = 40 * np.exp(0.1 * a + 0.02 * m - 1.0 * D)
    y = rng.poisson(mu).astype(float)
    X_fe = np.column_stack([np.ones(a.size), np.eye(6)[a][:, 1:], np.eye(36)[m][:, 1:]])
    offset = np.zeros(a.size)
    b = float(sm.GLM(y, np.column_stack([D, X_fe]), family=sm.families.Poisson(), offset=offset).fit().params[0])
    res = placebo_areas(y, X_fe, offset, np.array(areas)[a], m, {"A2": 24}, estimate=b)
    assert (res.n_sets, res.n_as_extreme) == (6, 1)
    assert res.p_value == pytest.approx(1 / 6)
    assert "no result could reach p < 0.05" in res.sentence()


def test_assignment_sets_staggered_and_sampled():
    names = ["a", "b", "c", "d"]
    assert len(_assignments(names, [5, 5], 100, 0)) == 6  # C(4, 2): equal starts
    staggered = _assignments(names, [5, 9], 100, 0)
    assert len(staggered) == 12  # P(4, 2): each start travels with its area
    assert frozenset({("a", 5), ("b", 9)}) in staggered and frozenset({("b", 5), ("a", 9)}) in staggered
    assert _assignments(names, [5, 9], 11, 0) is None  # more than the cap: sampled instead


def test_sampled_sets_include_the_real_one_and_are_reproducible():
    rng = np.random.default_rng(1)
    n_areas, n_months = 14, 24
    a = np.repeat(np.arange(n_areas), n_months)
    m = np.tile(np.arange(n_months), n_areas)
    y = rng.poisson(30, a.size).astype(float)
    X_fe = np.column_stack([np.ones(a.size), np.eye(n_areas)[a][:, 1:], np.eye(n_months)[m][:, 1:]])
    labels = np.array([f"A{i:02d}" for i in range(n_areas)])[a]
    starts = {"A00": 12, "A01": 12, "A02": 12}  # C(14, 3) = 364 sets > 50
    runs = [placebo_areas(y, X_fe, np.zeros(a.size), labels, m, starts, estimate=0.05, max_assignments=50, seed=3)
            for _ in range(2)]
    assert not runs[0].enumerated and runs[0].n_sets == 50
    assert runs[0] == runs[1]
