"""The attacker (tests/report_counts_attack.py) against reports on many small worlds.

Each world is the shipped synthetic data with one intervention cut down to a small one (10 to 30 young
people, drawn with the world's seed), heavy attrition (half the end-of-programme questionnaires dropped)
and, in half the worlds, exact matching on two covariates (sex and ethnic group). Every section of the
report is rendered, with findings.json; the attacker collects every printed count and tries sums and
differences of them, shares x printed bases, exact-matched comparison shares and the dose table against
the flow, and reports how many derivations it tried. Zero recoveries is the test.

Two worlds run in the normal suite; the 20-world run is marked slow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.report_counts_attack import attack_counted

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "synthetic_data"
#: Interventions whose designs the worlds cut down: matched with exact matching on sex and a questionnaire
#: (INT17), matched with exact matching (INT04), matched (INT03, INT19), questionnaire only (INT07).
BASES = ("INT17", "INT04", "INT03", "INT19", "INT07")


@pytest.fixture(scope="module")
def demo_tables():
    if not (DATA / "participants.csv.gz").is_file():
        pytest.skip("synthetic data not generated")
    from evalkit.data.load import load_tables

    return load_tables(DATA)


def world_report(tables: dict, seed: int) -> tuple[int, list[str], str]:
    """Render one small world's report and attack it: (derivations tried, recoveries, description)."""
    from evalkit.data.config import load_config
    from evalkit.protocol import load_protocol
    from evalkit.report import sections as S
    from evalkit.report.context import ReportContext
    from evalkit.report.findings import findings

    rng = np.random.default_rng(seed)
    rid = BASES[seed % len(BASES)]
    path = ROOT / "protocols" / f"{rid}.yaml"
    protocol = load_protocol(path)
    two_exact = seed % 2 == 1
    if two_exact:
        designs = [d.model_copy(update={"exact": ["sex", "ethnicity_group"]}) if d.type == "matched" else d
                   for d in protocol.designs]
        protocol = protocol.model_copy(update={"designs": designs})
    part = tables["participants"]
    mine = part.loc[part["intervention_id"] == rid]
    n = int(rng.integers(10, 31))
    keep = mine.sample(n=min(n, len(mine)), random_state=seed)
    world = dict(tables)
    world["participants"] = part.loc[(part["intervention_id"] != rid) | part.index.isin(keep.index)]
    meas = tables.get("measurements")
    if meas is not None and len(meas):  # heavy attrition: half the questionnaires at the end are lost
        ids = set(keep["person_id"])
        late = meas["person_id"].isin(ids) & (meas["timepoint"] != "baseline")
        lost = set(rng.choice(sorted(set(meas.loc[late, "person_id"])), size=len(set(meas.loc[late, "person_id"])) // 2,
                              replace=False)) if late.any() else set()
        world["measurements"] = meas.loc[~(late & meas["person_id"].isin(lost))]
    ctx = ReportContext(protocol=protocol, protocol_path=path, protocol_text=path.read_text(encoding="utf-8"),
                        data_src=DATA, tables=world, fingerprint=f"world {seed}", cfg=load_config())
    page = "".join(f(ctx).html for f in (S.title, S.headline, S.participation, S.implementation, S.profile,
                                         S.design, S.balance, S.results, S.subgroups, S.sensitivity, S.limitations,
                                         S.appendix))
    exact = tuple(x for d in protocol.designs if d.type == "matched" for x in d.exact)
    tried, found = attack_counted(ctx.analysis, page, findings(ctx), ctx.threshold, exact)
    return tried, found, f"world {seed}: {rid} cut to {len(keep)}, exact on {', '.join(exact) or 'nothing'}"


@pytest.mark.parametrize("seed", [0, 1])
def test_the_attacker_recovers_nothing_in_small_worlds(demo_tables, seed):
    tried, found, what = world_report(demo_tables, seed)
    print(f"{what}: {tried} derivations tried, {len(found)} recovered")
    assert found == [], what
    assert tried > 0


@pytest.mark.slow
def test_the_attacker_recovers_nothing_in_twenty_worlds(demo_tables):
    total, recovered = 0, []
    for seed in range(2, 22):
        tried, found, what = world_report(demo_tables, seed)
        print(f"{what}: {tried} derivations tried, {len(found)} recovered")
        total += tried
        recovered += [f"{what}: {f}" for f in found]
    print(f"20 worlds: {total} derivations tried, {len(recovered)} recovered")
    assert recovered == []
    assert total >= 20
