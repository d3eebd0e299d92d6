"""Profile tables: categories in reading order, counts equal a direct count."""

from pathlib import Path

import pytest

from evalkit.report.sections import load_context, profile_tables
from tests.report_fixture import write_fixture

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    data = write_fixture(tmp_path_factory.mktemp("data") / "src")
    ctx = load_context(ROOT / "protocols" / "INT03.yaml", data)
    return ctx, profile_tables(ctx)


def test_age_bands_youngest_first(tables):
    _, t = tables
    bands = [b for b in t["Age band"].index if b[0].isdigit()]
    assert bands == sorted(bands, key=lambda b: int(b.split("-")[0]))


def test_sex_counts_match_participants(tables):
    ctx, t = tables
    direct = ctx.participants["sex"].value_counts()
    for sex, n in direct.items():
        name = str(sex).replace("_", " ")
        assert t["Sex"].loc[name[:1].upper() + name[1:], "Participants"] == n
    # categories read as words, capitalised like the reach tables ('Female', 'Not known'), never as codes
    for table in t.values():
        assert all(str(i)[:1] == str(i)[:1].upper() for i in table.index), list(table.index)


def test_findings_count_the_analysis_population(tables):
    """findings.json counts the people the report's flow counts: the protocol's age limits apply to both
    (two counts of nearly the same group would reveal the difference by subtraction)."""
    from dataclasses import replace

    from evalkit.analysis.data import population
    from evalkit.report.sections import findings

    ctx, _ = tables
    ages = population(ctx.protocol, ctx.tables)["age"]
    cut = int(ages.median())
    narrowed = replace(ctx, protocol=ctx.protocol.model_copy(
        update={"population": ctx.protocol.population.model_copy(update={"age_min": cut})}))
    started = dict(narrowed.analysis.attrition)["Started in the period"]
    assert started == int((ages >= cut).sum()) < len(ctx.participants)
    assert findings(narrowed)["n_participants"] == started


def test_headline_says_why_without_a_primary_result(tables):
    """A first primary outcome no design analyses gives no headline result, and the headline says so."""
    from dataclasses import replace

    from evalkit.report.sections import headline

    ctx, _ = tables
    first = ctx.protocol.primary_outcomes[0]
    unused = first.model_copy(update={"name": "not_in_any_design"})
    other = replace(ctx, protocol=ctx.protocol.model_copy(
        update={"primary_outcomes": [unused, *ctx.protocol.primary_outcomes]}))
    assert other.analysis.primary is None
    text = headline(other).html
    assert "designs estimates its first primary outcome" in text and "took part" in text
