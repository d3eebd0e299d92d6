"""The commissioning categories meet the goals of docs/findings.md across 20 synthetic worlds (slow: ~10-20 min).

Runs benchmarks/portfolio_calibration.py's own code (20 worlds, seeds 3001-3020, 2 workers) and asserts:

* null or small -> Expand/Continue in <= 5% of intervention-runs;
* harmful and powered -> Stop or safeguarding review in >= 80%;
* effective, powered, comparison design -> Expand/Continue in >= 80%;
* the planted primary effect inside the reported interval in >= 93% of runs (what the design estimates: the
  planted effect, plus maturation for a before/after change).

"Powered": the planted primary effect is at least the protocol's minimum_detectable_effect.
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
def test_calibration_meets_the_goals():
    bench = _bench()
    rows, summary = bench.run(20, 3001, 2)
    report = bench.format_report(summary, 20)
    checks = bench.goal_checks(summary["goals"])
    # All four goals of docs/findings.md (measured 2026-12-02 on these 20 worlds; the numbers are in the docs).
    assert checks["null_small_funded"] and checks["harmful_flagged"], report
    assert checks["effective_funded"], report
    assert checks["coverage"], report
    # Coverage is judged against what each design estimates (before/after: planted effect + maturation); the
    # causal effect itself is reported beside it, and comparison designs must cover it too.
    assert summary["causal_coverage"]["comparison"][0] >= 0.90, report
    # The goals are about the right population: each group is non-empty.
    for key, (_, n) in summary["goals"].items():
        assert n > 0, (key, report)
    assert set(summary["powered_harmful"]) >= {"INT07", "INT22"}, report


def test_summary_counts_every_class_and_goal():
    """The benchmark's bookkeeping on hand-made rows (fast)."""
    bench = _bench()

    def row(iid, scen, cat, design="matched", true=-0.15, lo=-0.25, hi=-0.05, mde=0.1):
        return {"intervention_id": iid, "scenario": scen, "category": cat, "true_effect": true, "mde": mde,
                "primary": {"design": design, "estimate": {"scale": "risk difference", "ci_low": lo, "ci_high": hi}}}

    rows = [row("A", "effective", "expand"), row("B", "effective", "continue", design="prepost"),
            row("C", "null", "expand", true=0.0, lo=-0.1, hi=0.1),
            row("D", "null", "improve_evidence", true=0.0, lo=-0.1, hi=0.1),
            row("E", "harmful", "safeguarding_review", true=0.2, lo=0.25, hi=0.4),
            row("F", "small", "improve_evidence", true=-0.05, mde=0.3)]
    s = bench.summarise(rows)
    assert s["table"]["expand"] == {"effective": 1, "small": 0, "null": 1, "harmful": 0}
    assert s["goals"]["null_small_funded"] == (1 / 3, 3)
    assert s["goals"]["effective_funded"] == (1.0, 1)      # B is before/after only: not in the goal's group
    assert s["goals"]["harmful_flagged"] == (1.0, 1)
    assert s["goals"]["coverage"] == (5 / 6, 6)            # E's interval misses its planted 0.2
    assert s["uncovered"] == [("E", 1)]
    assert s["causal_coverage"]["before_after"] == (1.0, 1)  # B (no outcome named): judged on the effect itself
    assert not bench.goal_checks(s["goals"])["null_small_funded"]


def test_before_after_interval_is_judged_against_effect_plus_maturation():
    """A before/after change estimates the planted effect plus maturation (the synthetic world's drift)."""
    bench = _bench()
    m = bench.maturation("INT09", "swemwbs")
    assert 0.15 < m < 0.35          # SWEMWBS drift +0.05 on the latent scale: about +0.23 metric points
    r = {"intervention_id": "INT09", "scenario": "effective", "category": "before_after_only", "true_effect": 3.0,
         "mde": 1.9, "primary": {"design": "prepost", "outcome": "swemwbs",
                                 "estimate": {"scale": "mean change", "ci_low": 3.1, "ci_high": 4.0}}}
    assert bench.target(r) == 3.0 + m
    s = bench.summarise([r])
    assert s["goals"]["coverage"] == (1.0, 1) and s["causal_coverage"]["before_after"] == (0.0, 1)
