"""The commissioning categories on fresh synthetic worlds, at three strengths of hidden selection (slow).

The slow test runs benchmarks/portfolio_calibration.py's own code on a **fresh seed block each run** (printed
in the failure report; ``--first-seed`` reproduces it), 50 worlds at selection strength none, moderate and
strong, 2 workers, and asserts the goals of issue 19 that held on both measured blocks (docs/findings.md).
The fast tests check the benchmark's bookkeeping on hand-made rows.
"""

import importlib
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "portfolio_calibration.py"


def _bench():
    # Imported by name from a folder on sys.path (not from a file spec): the benchmark's worker processes
    # unpickle its functions by module name, and spawned workers get the parent's sys.path.
    if str(BENCH.parent) not in sys.path:
        sys.path.insert(0, str(BENCH.parent))
    return importlib.import_module(BENCH.stem)


@pytest.mark.slow
def test_calibration_on_a_fresh_seed_block():
    bench = _bench()
    first = bench.fresh_first_seed()
    rows = bench.run(50, first, 2)
    report = bench.format_report(rows, first, 50, 2, 0.0)
    summaries = {s: bench.summarise([r for r in rows if r["strength"] == s]) for s in bench.STRENGTHS}
    for s in bench.STRENGTHS:
        checks = bench.goal_checks(summaries[s]["goals"], s)
        # Scaling up a null service is the costly error: Expand stays rare under every strength.
        assert checks["null_expand"], (s, report)
        assert checks["harmful_flagged"], (s, report)
    assert bench.goal_checks(summaries["none"]["goals"], "none")["null_funded"], report
    assert bench.goal_checks(summaries["none"]["goals"], "none")["coverage"], report
    for s in bench.STRENGTHS:
        for key in ("null_funded", "effective_funded", "harmful_flagged", "coverage"):
            assert summaries[s]["goals"][key][1] > 0, (s, key, report)    # each goal's group is non-empty
    assert summaries["none"]["goals"]["harmful_comparison_stop"][1] > 0, report   # Stop can be earned


def _row(iid, scen, cat, design="matched", true=-0.15, lo=-0.25, hi=-0.05, mde=0.1, strength="none", seed=1):
    return {"seed": seed, "strength": strength, "intervention_id": iid, "scenario": scen, "category": cat,
            "before": cat, "true_effect": true, "mde": mde,
            "primary": {"design": design, "estimate": {"scale": "risk difference", "ci_low": lo, "ci_high": hi}}}


def test_summary_counts_every_class_and_goal():
    """The benchmark's bookkeeping on hand-made rows (fast)."""
    bench = _bench()
    rows = [_row("A", "effective", "expand_replicating"), _row("B", "effective", "continue", design="prepost"),
            _row("C", "null", "expand", true=0.0, lo=-0.1, hi=0.1),
            _row("D", "null", "continue", design="prepost", true=0.0, lo=-0.1, hi=0.1),
            _row("G", "null", "stronger_design", true=0.0, lo=-0.1, hi=0.1),
            _row("E", "harmful", "stop", true=0.2, lo=0.25, hi=0.4),
            _row("F", "small", "improve_evidence", true=-0.05, mde=0.3)]
    s = bench.summarise(rows)
    assert s["table"]["expand"] == {"effective": 0, "small": 0, "null": 1, "harmful": 0}
    assert s["goals"]["null_expand"] == (1, 4)
    assert s["goals"]["null_funded"] == (2, 4)                # C (Expand) and D; G is not funded
    assert s["goals"]["null_funded_comparison"] == (1, 3)     # C, G, F; D is before/after: no comparison design
    assert s["goals"]["effective_funded"] == (1, 1)           # B is before/after only: not in the goal's group
    assert s["goals"]["harmful_flagged"] == (1, 1) and s["goals"]["harmful_comparison_stop"] == (1, 1)
    assert s["goals"]["coverage"] == (6, 7)                   # E's interval misses its planted 0.2
    assert s["uncovered"] == [("E", 1)]
    checks = bench.goal_checks(s["goals"], "none")
    assert not checks["null_expand"] and checks["harmful_flagged"] and checks["effective_funded"]
    lo, hi = bench.wilson(1, 4)
    assert lo == pytest.approx(0.04559, abs=1e-4) and hi == pytest.approx(0.69936, abs=1e-4)   # Wilson 1 of 4
    text = bench.goal_table({"none": s})
    assert "25.0% (1/4; 4.6% to 69.9%) goal <= 1%: NOT met" in text


def test_fresh_seed_blocks_differ_and_strength_reuse_is_exact():
    """Fresh blocks are not the same twice; at moderate and strong only offending primaries are re-analysed."""
    bench = _bench()
    assert len({bench.fresh_first_seed() for _ in range(5)}) > 1
    from evalkit.protocol import load_protocol

    offending = {p.stem for p in bench.PROTOCOLS.glob("INT*.yaml") if bench._offending_primary(load_protocol(p))}
    assert {"INT01", "INT02", "INT17", "INT18", "INT26"} <= offending
    assert not {"INT09", "INT15", "INT27"} & offending


def test_before_after_interval_is_judged_against_effect_plus_maturation():
    """A before/after change estimates the planted effect plus maturation (the synthetic world's drift)."""
    bench = _bench()
    m = bench.maturation("INT09", "swemwbs")
    assert 0.15 < m < 0.35          # SWEMWBS drift +0.05 on the latent scale: about +0.23 metric points
    r = {"seed": 1, "strength": "none", "intervention_id": "INT09", "scenario": "effective",
         "category": "before_after_only", "true_effect": 3.0, "mde": 1.9,
         "primary": {"design": "prepost", "outcome": "swemwbs",
                     "estimate": {"scale": "mean change", "ci_low": 3.1, "ci_high": 4.0}}}
    assert bench.target(r) == 3.0 + m
    s = bench.summarise([r])
    assert s["goals"]["coverage"] == (1, 1)                # covers effect + maturation
    assert not bench._uncovered(r) and bench._uncovered(r, causal=True)   # but not the causal effect alone
