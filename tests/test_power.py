"""evalkit.designs.power against R's power.t.test / power.prop.test."""

import math
from pathlib import Path

import pandas as pd
import pytest

from evalkit.designs.power import n_for_mean_difference, n_for_proportions
from evalkit.errors import SpecError

REF = pd.read_csv(Path(__file__).parent / "reference" / "power" / "power_reference.csv", keep_default_na=False)


@pytest.mark.parametrize("row", REF.to_dict("records"), ids=lambda r: f"{r['kind']}-{r['a']}-{r['b']}-{r['type']}-{r['power']}-{r['alpha']}")
def test_matches_r(row):
    if row["kind"] == "t":
        n = n_for_mean_difference(row["a"], row["b"], alpha=row["alpha"], power=row["power"], paired=row["type"] == "paired")
    else:
        n = n_for_proportions(row["a"], row["b"], alpha=row["alpha"], power=row["power"])
    # R's uniroot stops at tol = .Machine$double.eps^0.25, so agreement is to ~1e-5 relative.
    assert n == pytest.approx(row["n"], rel=1e-5)


def test_zero_effect_needs_infinite_sample():
    assert math.isinf(n_for_mean_difference(0.0, 3.0))
    assert math.isinf(n_for_proportions(0.3, 0.3))


def test_bad_arguments_are_refused():
    with pytest.raises(SpecError):
        n_for_mean_difference(1.0, 0.0)
    with pytest.raises(SpecError):
        n_for_proportions(0.0, 0.3)
    with pytest.raises(SpecError):
        n_for_mean_difference(1.0, 1.0, power=1.2)
