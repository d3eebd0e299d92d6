"""Calibration of the commissioning categories across many synthetic worlds.

Generates ``--worlds`` synthetic portfolios (``evalkit.synth``: same settings, seeds
``--first-seed``, ``--first-seed + 1``, ...), analyses every demo protocol with the
library (``evalkit.analysis.runner.analyse_intervention``, not the notebooks), applies
the portfolio-level decision (``evalkit.analysis.commissioning.portfolio_categories``:
false-discovery control across the portfolio's primary outcomes) and prints

* the confusion table: commissioning category x planted effect class of the
  intervention (``scenario`` in truth.csv: effective / small / null / harmful);
* the goals of docs/findings.md, each with its share and pass/fail;
* the coverage of the planted primary effect by the reported interval.

"Powered" (for the goals): the planted primary effect is at least the protocol's
``minimum_detectable_effect``, and for the effective goal the primary design is one
that can earn Expand/Continue (a comparison design: before/after alone never does).

Run: ``.venv/bin/python benchmarks/portfolio_calibration.py [--worlds 20] [--workers 2]
[--json out.json]`` (about 30-40 s of CPU per world).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
import warnings
from collections import Counter
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROTOCOLS = ROOT / "protocols"

#: truth.csv outcome for each demo protocol outcome name.
PROTOCOL_TO_TRUTH = {"sdq_total": "sdq_total_change", "sdq_parent_total": "sdq_total_change",
                     "sdq_emotional": "sdq_emotional_change", "swemwbs": "swemwbs_change",
                     "reoffending_12m": "reoffend_12m", "violent_reoffending_12m": "violent_reoffend_12m",
                     "reoffences_per_person_12m": "reoffend_freq_12m", "time_to_reoffend": "time_to_reoffend_hr"}
CLASSES = ("effective", "small", "null", "harmful")
FUND = {"expand", "continue"}
HARM_FLAGS = {"stop", "safeguarding_review"}
COMPARISON_DESIGNS = {"matched", "did", "area_did"}
GOALS = {"null_small_funded_max": 0.05, "harmful_flagged_min": 0.80, "effective_funded_min": 0.80,
         "coverage_min": 0.93}


def _truth_key(outcome: str, design: str) -> str:
    if design in ("area_did", "area_trend"):
        return "area_" + outcome.split(":")[0] + "_rr"
    return PROTOCOL_TO_TRUTH.get(outcome, outcome)


def primary_only(p):
    """The protocol cut to what decides its category: the first primary outcome (or area indicator), no subgroups.

    The primary result does not depend on the secondary outcomes or subgroups, so the category is the same as
    the full analysis gives, at a fraction of the cost (``--full`` runs everything).
    """
    if p.primary_outcomes:
        name = p.primary_outcomes[0].name
        designs = [d.model_copy(update={"outcomes": [name]}) for d in p.designs if name in getattr(d, "outcomes", [])]
        return p.model_copy(update={"designs": designs, "primary_outcomes": p.primary_outcomes[:1],
                                    "secondary_outcomes": [], "subgroups": []})
    designs = [d.model_copy(update={"indicators": d.indicators[:1]}) for d in p.designs]
    if any(d.type == "area_did" for d in designs):
        # The area DiD (SMS 3 when its pre-trends pass) is the primary source; the trend (SMS 1) is only chosen
        # when the DiD cannot be estimated, which the benchmark counts as "could not be estimated".
        designs = [d for d in designs if d.type == "area_did"]
    return p.model_copy(update={"designs": designs, "subgroups": []})


def analyse_world(seed: int, full: bool = False, only: tuple[str, ...] = ()) -> list[dict]:
    """Generate one world and analyse every intervention protocol; one row (aggregates) per intervention."""
    warnings.filterwarnings("ignore")
    import pandas as pd

    from evalkit.analysis.runner import analyse_intervention
    from evalkit.data.load import load_tables
    from evalkit.protocol import load_protocol
    from evalkit.synth.generate import generate

    with tempfile.TemporaryDirectory(prefix=f"evalkit-cal-{seed}-") as tmp:
        generate(seed=seed, out=Path(tmp))
        tables = load_tables(Path(tmp))
        truth = pd.read_csv(Path(tmp) / "truth.csv", keep_default_na=False)
    t = truth.set_index(["intervention_id", "outcome"])["true_effect"]
    scen = truth.groupby("intervention_id")["scenario"].first()
    rows = []
    for path in sorted(PROTOCOLS.glob("INT*.yaml")):
        if only and path.stem not in only:
            continue
        p = load_protocol(path)
        try:
            a = analyse_intervention(p if full else primary_only(p), tables)
        except Exception as exc:  # noqa: BLE001 - a crash is a finding of the benchmark, not the end of it
            rows.append({"seed": seed, "intervention_id": p.intervention_id,
                         "scenario": str(scen[p.intervention_id]), "primary": None, "true_effect": math.nan,
                         "mde": _mde(p), "before": "crashed", "error": f"{type(exc).__name__}: {exc}"})
            continue
        prim = a.primary
        row = {"seed": seed, "intervention_id": p.intervention_id, "scenario": str(scen[p.intervention_id]),
               "primary": prim.as_json() if prim is not None else None}
        true = math.nan
        if prim is not None:
            true = float(t.get((p.intervention_id, _truth_key(prim.outcome, prim.design)), math.nan))
        row["true_effect"] = true
        row["mde"] = _mde(p)
        row["before"] = before_category(p, a)
        rows.append(row)
    return rows


BEFORE_RULES = Path(__file__).with_name("commissioning_rules_before.yaml")


def before_category(p, a) -> str:
    """The category today's rules before issue 10 gave the same analysis (benchmarks/commissioning_rules_before.yaml).

    Then: significant = the unadjusted interval excludes no effect and n >= min_n (no multiplicity control),
    no sensitivity or sample-size condition for Expand, and every before/after change was corrected for
    regression to the mean with the published reliability and norm, the interval only shifted (now: only with
    an entry threshold, by the group's own regression): that correction is recomputed here from the raw change.
    The coverage goal is computed from the current analyses in both tables (BEFORE re-decides categories only).
    """
    import math as _m

    from evalkit.analysis.commissioning import PrimaryFinding, classify
    from evalkit.analysis.designs import resolve_scale, rtm_expected
    from evalkit.analysis.runner import AREA_TYPES, choose_primary
    from evalkit.analysis.narrative import judge

    o = choose_primary(p, list(a.outcomes))
    if o is None:
        return "none"
    if not o.ok:
        return classify(PrimaryFinding(p.intervention_id, "none", False, 1, 0, _m.inf, p.min_n_significance),
                        BEFORE_RULES).key
    e = o.estimate
    est, lo, hi = e.estimate, e.ci_low, e.ci_high
    if o.design == "prepost" and o.kind == "instrument":
        # Then: the raw change minus Barnett's (1 - published reliability)(norm - baseline mean), interval shifted.
        raw = o.details.raw_change or e
        est, lo, hi = raw.estimate, raw.ci_low, raw.ci_high
        oc = p.outcome(o.outcome)
        info = resolve_scale(oc.instrument, oc.scale)[1]
        shift = rtm_expected(o.result, info)
        if shift is not None:
            est, lo, hi = est - shift, lo - shift, hi - shift
    j = judge(est, lo, hi, null=o.null, higher_is_better=o.higher_is_better, n=o.n, min_n=p.min_n_significance)
    needed = _m.inf if o.design in AREA_TYPES else float(_m.inf if o.details.minimum_worthwhile_n is None else o.details.minimum_worthwhile_n)
    f = PrimaryFinding(p.intervention_id, j.direction, j.significant, o.sms, o.n, needed, p.min_n_significance)
    return classify(f, BEFORE_RULES).key


def _mde(p) -> float | None:
    if p.primary_outcomes:
        return p.primary_outcomes[0].minimum_detectable_effect
    area = [d for d in p.designs if d.type == "area_did"] or [d for d in p.designs if d.type == "area_trend"]
    return area[0].minimum_detectable_effect if area else None


def decide(rows: list[dict]) -> list[dict]:
    """Apply the portfolio-level rules (false-discovery control across primaries) to one world's rows."""
    from evalkit.analysis import commissioning

    if hasattr(commissioning, "portfolio_categories"):
        prims = {r["intervention_id"]: r["primary"] for r in rows if r["primary"] is not None}
        decided = commissioning.portfolio_categories(prims)
        for r in rows:
            if r["intervention_id"] in decided:
                r["primary"] = decided[r["intervention_id"]]
    for r in rows:
        r["category"] = r["primary"]["category"] if r["primary"] else ("crashed" if r.get("error") else "none")
    return rows


def _powered(r: dict) -> bool:
    true, mde = r["true_effect"], r["mde"]
    if mde is None or not math.isfinite(true) or r["primary"] is None:
        return False
    scale = (r["primary"].get("estimate") or {}).get("scale", "")
    size = abs(1 - true) if "ratio" in scale else abs(true)
    return size >= mde - 1e-9


def summarise(rows: list[dict]) -> dict:
    """Confusion table, goal shares and coverage from analysed rows (all worlds)."""
    cats = sorted({r["category"] for r in rows})
    table = {c: {k: 0 for k in CLASSES} for c in cats}
    for r in rows:
        table[r["category"]][r["scenario"]] += 1
    ns = [r for r in rows if r["scenario"] in ("null", "small")]
    harm = [r for r in rows if r["scenario"] == "harmful" and _powered(r)]
    eff = [r for r in rows if r["scenario"] == "effective" and _powered(r)
           and r["primary"]["design"] in COMPARISON_DESIGNS]
    with_ci = [r for r in rows if _interval(r) is not None]
    cover = [not _uncovered(r) for r in with_ci]
    causal = {"comparison": [not _uncovered(r, True) for r in with_ci if r["primary"]["design"] != "prepost"],
              "before_after": [not _uncovered(r, True) for r in with_ci if r["primary"]["design"] == "prepost"]}

    def share(sub, ok):
        return (sum(ok(r) for r in sub) / len(sub)) if sub else math.nan

    goals = {
        "null_small_funded": (share(ns, lambda r: r["category"] in FUND), len(ns)),
        "harmful_flagged": (share(harm, lambda r: r["category"] in HARM_FLAGS), len(harm)),
        "effective_funded": (share(eff, lambda r: r["category"] in FUND), len(eff)),
        "coverage": (sum(cover) / len(cover) if cover else math.nan, len(cover)),
    }
    per_int = {}
    for r in rows:
        d = per_int.setdefault(r["intervention_id"], Counter())
        d[r["category"]] += 1
    return {"table": table, "goals": goals, "per_intervention": {k: dict(v) for k, v in sorted(per_int.items())},
            "powered_effective": sorted({r["intervention_id"] for r in eff}),
            "powered_harmful": sorted({r["intervention_id"] for r in harm}),
            "uncovered": sorted(Counter(r["intervention_id"] for r in rows if _uncovered(r)).items()),
            "causal_coverage": {k: ((sum(v) / len(v)) if v else math.nan, len(v)) for k, v in causal.items()}}


_MATURATION: dict[tuple[str, str], float] = {}


def maturation(intervention_id: str, outcome: str) -> float:
    """Expected before/after change without the intervention and without selection: the synthetic world's drift.

    From the generator's own model (``evalkit.synth``): participants drawn as the generator draws them (through
    the entry rule), the mean over them of E[score | trait + drift] - E[score | trait], exactly integrated over
    the state noise. Monte Carlo over 20,000 participants (fixed seed; error below 0.005 points).
    """
    key = (intervention_id, outcome)
    if key not in _MATURATION:
        import numpy as np

        from evalkit.synth import questionnaires as q
        from evalkit.synth import world as w
        from evalkit.synth.settings import portfolio

        spec = next(s for s in portfolio() if s["id"] == intervention_id)
        c = w._draw_participants(np.random.Generator(np.random.PCG64(12345)), spec, 20_000)
        if outcome.startswith("swemwbs"):
            wb = c["trait_wellbeing"][c["has_sw"]]
            value = np.mean(q.expected_swemwbs_metric(wb + q.DRIFT_WELLBEING) - q.expected_swemwbs_metric(wb))
        else:
            has = c["sdq_inst"] != ""
            subs = ("emotional",) if "emotional" in outcome else q.DIFFICULTIES
            value = sum(np.mean(q.expected_subscale(c[f"trait_{s}"][has] + q.DRIFT_DIFFICULTY, s)
                                - q.expected_subscale(c[f"trait_{s}"][has], s)) for s in subs)
        _MATURATION[key] = float(value)
    return _MATURATION[key]


def target(r: dict) -> float:
    """What the primary design's interval estimates, in the synthetic world (the coverage goal's truth).

    Comparison designs (matched, DiD, area DiD) estimate the planted causal effect (``true_effect``). A
    before/after change estimates the planted effect **plus maturation** (the change young people show anyway;
    the regression-to-the-mean correction removes only the part due to selection on the score): the report
    says so beside the interval, so the interval is judged against that, and ``causal_coverage`` in the
    summary shows how often it covers the causal effect itself.
    """
    prim = r["primary"] or {}
    if prim.get("design") == "prepost" and math.isfinite(r["true_effect"]) and prim.get("outcome"):
        return r["true_effect"] + maturation(r["intervention_id"], prim["outcome"])
    return r["true_effect"]


def _interval(r: dict) -> tuple[float, float] | None:
    e = (r["primary"] or {}).get("estimate")
    if not e or not math.isfinite(r["true_effect"]) or e.get("ci_low") is None or e.get("ci_high") is None:
        return None
    return e["ci_low"], e["ci_high"]


def _uncovered(r: dict, causal: bool = False) -> bool:
    ci = _interval(r)
    if ci is None:
        return False
    truth = r["true_effect"] if causal else target(r)
    return not (ci[0] <= truth <= ci[1])


def goal_checks(goals: dict) -> dict[str, bool]:
    """Each goal of docs/findings.md: met or not."""
    return {"null_small_funded": goals["null_small_funded"][0] <= GOALS["null_small_funded_max"],
            "harmful_flagged": goals["harmful_flagged"][0] >= GOALS["harmful_flagged_min"],
            "effective_funded": goals["effective_funded"][0] >= GOALS["effective_funded_min"],
            "coverage": goals["coverage"][0] >= GOALS["coverage_min"]}


def format_report(summary: dict, worlds: int) -> str:
    """The confusion table, the goals and coverage as plain text (Markdown table)."""
    table = summary["table"]
    lines = [f"Commissioning category x planted effect class ({worlds} worlds x 28 interventions)", "",
             "| category | " + " | ".join(CLASSES) + " |", "|---|" + "---:|" * len(CLASSES)]
    for c, counts in table.items():
        lines.append(f"| {c} | " + " | ".join(str(counts[k]) for k in CLASSES) + " |")
    tot = {k: sum(v[k] for v in table.values()) for k in CLASSES}
    lines.append("| total | " + " | ".join(str(tot[k]) for k in CLASSES) + " |")
    g = summary["goals"]
    ok = goal_checks(g)
    words = {"null_small_funded": ("null or small -> Expand/Continue", "<=", GOALS["null_small_funded_max"]),
             "harmful_flagged": ("harmful (powered) -> Stop or safeguarding review", ">=", GOALS["harmful_flagged_min"]),
             "effective_funded": ("effective (powered, comparison design) -> Expand/Continue", ">=",
                                  GOALS["effective_funded_min"]),
             "coverage": ("planted primary effect inside the reported interval", ">=", GOALS["coverage_min"])}
    lines += ["", "Goals:"]
    for k, (text, op, target) in words.items():
        v, n = g[k]
        lines.append(f"- {text}: {v:.1%} of {n} intervention-runs (goal {op} {target:.0%}): "
                     f"{'met' if ok[k] else 'NOT met'}")
    cc = summary.get("causal_coverage") or {}
    if cc:
        lines.append("- (for reference) the planted causal effect inside the interval: "
                     + "; ".join(f"{k.replace('_', '/')} designs {v:.1%} of {n}" for k, (v, n) in cc.items())
                     + " (a before/after interval also holds maturation: it is judged against effect + maturation)")
    lines += ["", f"Powered effective (comparison design): {', '.join(summary['powered_effective']) or 'none'}",
              f"Powered harmful: {', '.join(summary['powered_harmful']) or 'none'}",
              "Runs whose interval missed the planted effect: "
              + (", ".join(f"{i} {n}" for i, n in summary["uncovered"]) or "none"), "",
              "Per intervention (category: runs):"]
    for iid, d in summary["per_intervention"].items():
        lines.append(f"  {iid}: " + ", ".join(f"{k} {v}" for k, v in sorted(d.items())))
    return "\n".join(lines)


def before_rows(rows: list[dict]) -> list[dict]:
    """The same intervention-runs with the categories of the rules before issue 10."""
    return [{**r, "category": r["before"]} for r in rows]


def _one_thread() -> None:
    # Two workers on two cores: BLAS threads would only fight each other (and the rest of the machine).
    import os

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"


def run(worlds: int, first_seed: int, workers: int, partial: Path | None = None) -> tuple[list[dict], dict]:
    """Analyse ``worlds`` worlds (seeds from ``first_seed``); rows of finished worlds go to ``partial`` as they end."""
    seeds = list(range(first_seed, first_seed + worlds))
    rows: list[dict] = []

    def keep(world_rows: list[dict]) -> None:
        rows.extend(decide(world_rows))
        if partial is not None:
            partial.write_text(json.dumps(rows, default=str))
        print(f"world {world_rows[0]['seed']} done ({len(rows) // max(len(world_rows), 1)}/{worlds})",
              file=sys.stderr, flush=True)

    _one_thread()
    if workers > 1:
        with get_context("spawn").Pool(workers) as pool:
            for w in pool.imap_unordered(analyse_world, seeds, chunksize=1):
                keep(w)
    else:
        for s in seeds:
            keep(analyse_world(s))
    rows.sort(key=lambda r: (r["seed"], r["intervention_id"]))
    return rows, summarise(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=3001)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the rows and summary here")
    ap.add_argument("--partial", type=Path, help="write the rows of each finished world here as it ends")
    ap.add_argument("--from-rows", type=Path, help="only summarise rows saved by --partial or --json")
    ap.add_argument("--only", help="with --from-rows: re-analyse these interventions (comma-separated) in the "
                                   "stored worlds' seeds and replace their rows (for iterating on one design)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.from_rows:
        data = json.loads(args.from_rows.read_text())
        rows = data["rows"] if isinstance(data, dict) else data
        if args.only:
            only = tuple(args.only.split(","))
            seeds = sorted({r["seed"] for r in rows})
            _one_thread()
            with get_context("spawn").Pool(max(args.workers, 1)) as pool:
                fresh = [r for w in pool.starmap(analyse_world, [(s, False, only) for s in seeds]) for r in w]
            rows = [r for r in rows if r["intervention_id"] not in only] + fresh
            rows.sort(key=lambda r: (r["seed"], r["intervention_id"]))
            if args.json:
                args.json.write_text(json.dumps({"rows": rows}, default=str))
        from evalkit.protocol import load_protocol

        mdes = {q.stem: _mde(load_protocol(q)) for q in PROTOCOLS.glob("INT*.yaml")}
        for r in rows:   # from the protocols as they are now
            r["mde"] = mdes[r["intervention_id"]]
        # Re-decide with the rules file as it is now (the stored primaries hold what the rules look at).
        by_seed: dict[int, list[dict]] = {}
        for r in rows:
            if r["primary"] is not None:
                r["primary"] = {k: v for k, v in r["primary"].items() if k != "q_value"}
            by_seed.setdefault(r["seed"], []).append(r)
        rows = [r for s_rows in by_seed.values() for r in decide(s_rows)]
        worlds = len({r["seed"] for r in rows})
        print("BEFORE\n")
        print(format_report(summarise(before_rows(rows)), worlds))
        print("\n\nAFTER\n")
        print(format_report(summarise(rows), worlds))
        return 0
    rows, summary = run(args.worlds, args.first_seed, args.workers, args.partial)
    print("BEFORE (the rules and regression-to-the-mean handling before issue 10, same worlds)\n")
    print(format_report(summarise(before_rows(rows)), args.worlds))
    print("\n\nAFTER (commissioning_rules.yaml, with false-discovery control across the portfolio)\n")
    print(format_report(summary, args.worlds))
    print(f"\n{args.worlds} worlds (seeds {args.first_seed}-{args.first_seed + args.worlds - 1}) in "
          f"{time.perf_counter() - t0:.0f} s with {args.workers} workers")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "summary": summary}, default=str, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
