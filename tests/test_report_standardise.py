"""Participants needed for a worthwhile effect (evalkit.analysis.standardise) against R.

Reference: tests/reference/report/n_needed_reference.R (stats::power.t.test and
power.prop.test, conversions written from their definitions), stored as CSV so CI
needs no R.
"""

from pathlib import Path

import pandas as pd
import pytest

from evalkit.analysis import standardise as st

#: R's power.*.test solve for n with uniroot (tol = .Machine$double.eps^0.25): agreement to ~1e-5 relative.
REL = 1e-5
REF = pd.read_csv(Path(__file__).parent / "reference" / "report" / "n_needed_reference.csv")


def _rows(kind: str) -> list[dict]:
    return REF.loc[REF["kind"] == kind].to_dict("records")


@pytest.mark.parametrize("row", _rows("paired"), ids=lambda r: f"{r['a']}-{r['b']}-{r['r']}-{r['d']}-{r['alpha']}")
def test_pairs_needed_for_a_standardised_change_match_r(row):
    got = st.n_needed_paired_standardised(row["a"], row["b"], row["r"], d=row["d"], alpha=row["alpha"])
    assert got == pytest.approx(row["n"], rel=REL)


@pytest.mark.parametrize("row", _rows("binary"), ids=lambda r: f"{r['a']}-{r['d']}-{r['alpha']}")
def test_participants_needed_for_cohens_h_match_r(row):
    assert st.rate_at_h(row["a"], row["d"]) == pytest.approx(row["b"], abs=1e-12)
    assert st.n_needed_binary(row["a"], h=row["d"], alpha=row["alpha"]) == pytest.approx(row["n"], rel=REL)


@pytest.mark.parametrize("row", _rows("rates"), ids=lambda r: f"{r['a']}-{r['b']}")
def test_participants_needed_for_two_rates_match_r(row):
    assert st.n_needed_rates(row["a"], row["b"], alpha=row["alpha"]) == pytest.approx(row["n"], rel=REL)
