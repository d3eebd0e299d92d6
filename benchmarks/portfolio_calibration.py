"""Calibration of the commissioning categories on fresh synthetic worlds, with and without hidden selection.

Draws a **fresh block of seeds** each run (printed; ``--first-seed`` reproduces a block), generates
``--worlds`` synthetic portfolios (``evalkit.synth``) with a null matched-design programme planted harmful
(INT18, +18 points in 12-month reoffending, so "Stop" can be earned by a comparison design), at each
**selection strength** (an unrecorded trait that raises referral and lowers offending:
:data:`evalkit.synth.settings.SELECTION`): none, moderate (hazard ratio 0.8 among the referred, a third of it
visible before referral), strong (0.65, none visible). Every demo protocol is analysed with the library
(``evalkit.analysis.runner.analyse_intervention``, cut to the primary outcome), the portfolio-level decision
applied (:func:`evalkit.analysis.commissioning.portfolio_categories`) and the goals of issue 19 reported, each
with its Wilson 95% interval:

* null or small -> Expand: <= 1% (none), <= 2% (moderate, strong); over all null/small runs and over those
  whose primary is a comparison design (the only ones that could be funded);
* null or small -> Expand or keep funding (Expand, Expand while replicating, Promising): <= 5% (none,
  moderate), <= 10% (strong);
* effective, powered, comparison design -> Expand or keep funding: >= 80% (none), >= 70% (moderate);
* harmful, powered -> Stop or safeguarding review: >= 80%;
* the planted primary effect inside the reported interval: >= 93% (none).

Worlds are reused across strengths: each part of the world has its own random stream and selection changes
only participants' offences, so at moderate and strong only the interventions whose primary rests on
offending are re-analysed (the others' data are byte-identical to strength none). BEFORE re-decides the same
analyses with the rules before issue 19 (benchmarks/commissioning_rules_before19.yaml: every primary in the
multiplicity family, Expand on one cohort, no placebo).

"Powered": the planted primary effect is at least the protocol's ``minimum_detectable_effect``.

Run: ``.venv/bin/python benchmarks/portfolio_calibration.py [--worlds 50] [--workers 2] [--first-seed N]
[--strengths none,moderate,strong] [--json out.json]``. Each world's wall-clock and CPU seconds are printed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import sys
import tempfile
import time
import warnings
from collections import Counter
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROTOCOLS = ROOT / "protocols"
BEFORE_RULES = Path(__file__).with_name("commissioning_rules_before19.yaml")

#: truth.csv outcome for each demo protocol outcome name.
PROTOCOL_TO_TRUTH = {"sdq_total": "sdq_total_change", "sdq_parent_total": "sdq_total_change",
                     "sdq_emotional": "sdq_emotional_change", "swemwbs": "swemwbs_change",
                     "reoffending_12m": "reoffend_12m", "violent_reoffending_12m": "violent_reoffend_12m",
                     "reoffences_per_person_12m": "reoffend_freq_12m", "time_to_reoffend": "time_to_reoffend_hr"}
CLASSES = ("effective", "small", "null", "harmful")
EXPAND = {"expand", "expand_replicating"}
FUND = EXPAND | {"continue"}
HARM_FLAGS = {"stop", "safeguarding_review"}
COMPARISON_DESIGNS = {"matched", "did", "area_did"}
STRENGTHS = ("none", "moderate", "strong")
#: The goals of issue 19 by selection strength: (goal key, bound, "max" or "min"); a strength without a goal
#: for a key reports it only.
GOALS: dict[str, dict[str, tuple[float, str]]] = {
    "none": {"null_expand": (0.01, "max"), "null_funded": (0.05, "max"), "effective_funded": (0.80, "min"),
             "harmful_flagged": (0.80, "min"), "coverage": (0.93, "min")},
    "moderate": {"null_expand": (0.02, "max"), "null_funded": (0.05, "max"), "effective_funded": (0.70, "min"),
                 "harmful_flagged": (0.80, "min")},
    "strong": {"null_expand": (0.02, "max"), "null_funded": (0.10, "max"), "harmful_flagged": (0.80, "min")},
}


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


def _mde(p) -> float | None:
    if p.primary_outcomes:
        return p.primary_outcomes[0].minimum_detectable_effect
    area = [d for d in p.designs if d.type == "area_did"] or [d for d in p.designs if d.type == "area_trend"]
    return area[0].minimum_detectable_effect if area else None


def fresh_first_seed() -> int:
    """A first seed nobody chose: from the operating system's randomness, in 100,000..9,999,999."""
    return 100_000 + secrets.randbelow(9_900_000)


def _offending_primary(p) -> bool:
    """Whether the protocol's primary rests on offending records (the only data selection changes)."""
    return any(d.type in ("matched", "did") for d in primary_only(p).designs)


def analyse_world(seed: int, strengths: tuple[str, ...] = STRENGTHS, only: tuple[str, ...] = ()) -> list[dict]:
    """One world at each strength: every protocol at the first, the offending ones again at the others."""
    warnings.filterwarnings("ignore")
    import pandas as pd

    from evalkit.analysis import runner
    from evalkit.analysis.runner import analyse_intervention
    from evalkit.data.load import load_tables
    from evalkit.protocol import load_protocol
    from evalkit.synth.generate import generate
    from evalkit.synth.settings import WorldOptions

    # The intention-to-treat analysis beside each matched result (a second matching) does not change the primary
    # finding or its category: skipped here for speed (a third of a matched analysis's time).
    runner.with_intention_to_treat = lambda protocol, tables, people, design, res: res
    protocols = [load_protocol(path) for path in sorted(PROTOCOLS.glob("INT*.yaml"))
                 if not only or path.stem in only]
    rows: list[dict] = []
    first: dict[str, dict] = {}
    for k, strength in enumerate(strengths):
        t0, c0 = time.perf_counter(), time.process_time()
        with tempfile.TemporaryDirectory(prefix=f"evalkit-cal-{seed}-") as tmp:
            generate(seed=seed, out=Path(tmp), options=WorldOptions(selection=strength, harmful_comparison=True))
            tables = load_tables(Path(tmp))
            truth = pd.read_csv(Path(tmp) / "truth.csv", keep_default_na=False)
        t = truth.set_index(["intervention_id", "outcome"])["true_effect"]
        scen = truth.groupby("intervention_id")["scenario"].first()
        for p in protocols:
            if k > 0 and not _offending_primary(p):   # same data as at the first strength: same analysis
                rows.append({**first[p.intervention_id], "strength": strength, "reused": True})
                continue
            row = {"seed": seed, "strength": strength, "intervention_id": p.intervention_id,
                   "scenario": str(scen[p.intervention_id]), "mde": _mde(p), "reused": False}
            try:
                a = analyse_intervention(primary_only(p), tables)
            except Exception as exc:  # noqa: BLE001 - a crash is a finding of the benchmark, not the end of it
                row.update(primary=None, true_effect=math.nan, error=f"{type(exc).__name__}: {exc}")
            else:
                prim = a.primary
                row["primary"] = prim.as_json() if prim is not None else None
                true = math.nan
                if prim is not None:
                    true = float(t.get((p.intervention_id, _truth_key(prim.outcome, prim.design)), math.nan))
                row["true_effect"] = true
            rows.append(row)
            if k == 0:
                first[p.intervention_id] = row
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        for r in rows:
            if r["strength"] == strength:
                r["world_seconds"], r["world_cpu_seconds"] = round(wall, 1), round(cpu, 1)
    return rows


def rejudge_hidden_bias(prim: dict, k: float) -> dict:
    """A matched primary's ``sensitivity_passed`` recomputed with the hidden-bias benchmark at strength ``k``
    (0: the rules' constants alone), from the quantities the finding stores."""
    from evalkit.analysis.commissioning import load_rules
    from evalkit.designs.matching.sensitivity import _e

    f = dict(prim.get("finding") or {})
    if prim.get("design") != "matched" or not f:
        return prim
    rules = load_rules()
    e_need, g_need = rules.e_value_ci_min, rules.rosenbaum_gamma
    if f.get("benchmark_bias") and k > 0:
        b = f["benchmark_bias"] ** k
        e_need = max(e_need, _e(b) if b > 1 else 1.0)
        g_need = max(g_need, f["benchmark_gamma"] ** k)
    checks = []
    if f.get("e_value_ci") is not None:
        checks.append(f["e_value_ci"] >= e_need)
    if f.get("gamma_critical") is not None and f["gamma_critical"] > 1.0:   # as runner.sensitivity_passed
        checks.append(f["gamma_critical"] >= g_need)
    f.update(sensitivity_passed=all(checks) if checks else None, e_value_needed=e_need, gamma_needed=g_need)
    return {**prim, "finding": f}


def decide(rows: list[dict], k: float | None = None) -> list[dict]:
    """The portfolio step, per world and strength: the current rules, and BEFORE (the rules before issue 19).

    ``k``: re-judge matched primaries' hidden-bias checks with the benchmark at this strength first (None: as
    analysed).
    """
    from evalkit.analysis.commissioning import portfolio_categories

    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["seed"], r["strength"]), []).append(r)
    out = []
    for world_rows in groups.values():
        prims = {r["intervention_id"]: {key: v for key, v in r["primary"].items() if key != "q_value"}
                 for r in world_rows if r.get("primary") is not None}
        if k is not None:
            prims = {i: rejudge_hidden_bias(p, k) for i, p in prims.items()}
        now = portfolio_categories(prims)
        before = portfolio_categories(prims, BEFORE_RULES, family="all")
        for r in world_rows:
            r = dict(r)
            iid = r["intervention_id"]
            if iid in now:
                r["primary"] = now[iid]
                r["category"] = now[iid]["category"]
                r["before"] = before[iid]["category"]
            else:
                r["category"] = r["before"] = "crashed" if r.get("error") else "none"
            out.append(r)
    return out


def _powered(r: dict, portfolio: bool = False) -> bool:
    """The planted effect is at least the protocol's MDE (``portfolio``: its MDE at the level the portfolio's
    multiplicity control applied, ``mde_portfolio``; an analysis powered at that level)."""
    true, mde = r["true_effect"], r["mde"]
    if portfolio:
        mde = ((r.get("primary") or {}).get("finding") or {}).get("mde_portfolio")
    if mde is None or not math.isfinite(true) or r["primary"] is None:
        return False
    scale = (r["primary"].get("estimate") or {}).get("scale", "")
    size = abs(1 - true) if "ratio" in scale else abs(true)
    return size >= mde - 1e-9


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson 95% interval for k of n (``evalkit.designs.prepost.binary.wilson_interval``)."""
    from evalkit.designs.prepost.binary import wilson_interval

    return wilson_interval(k, n, 0.95) if n else (math.nan, math.nan)


def _share(sub: list[dict], ok) -> tuple[int, int]:
    return sum(bool(ok(r)) for r in sub), len(sub)


def summarise(rows: list[dict], key: str = "category") -> dict:
    """Goals (counts k of n), confusion table and coverage for rows of one strength; ``key``: which category."""
    cats = sorted({r[key] for r in rows})
    table = {c: {k: 0 for k in CLASSES} for c in cats}
    for r in rows:
        table[r[key]][r["scenario"]] += 1
    ns = [r for r in rows if r["scenario"] in ("null", "small")]
    ns_comp = [r for r in ns if (r.get("primary") or {}).get("design") in COMPARISON_DESIGNS]
    harm = [r for r in rows if r["scenario"] == "harmful" and _powered(r)]
    harm_comp = [r for r in harm if r["primary"]["design"] in COMPARISON_DESIGNS]
    eff = [r for r in rows if r["scenario"] == "effective" and _powered(r)
           and r["primary"]["design"] in COMPARISON_DESIGNS]
    eff_p = [r for r in eff if _powered(r, portfolio=True)]
    with_ci = [r for r in rows if _interval(r) is not None]
    goals = {
        "null_expand": _share(ns, lambda r: r[key] in EXPAND),
        "null_expand_comparison": _share(ns_comp, lambda r: r[key] in EXPAND),
        "null_funded": _share(ns, lambda r: r[key] in FUND),
        "null_funded_comparison": _share(ns_comp, lambda r: r[key] in FUND),
        "effective_funded": _share(eff, lambda r: r[key] in FUND),
        "effective_expand": _share(eff, lambda r: r[key] in EXPAND),
        "effective_funded_portfolio": _share(eff_p, lambda r: r[key] in FUND),
        "harmful_flagged": _share(harm, lambda r: r[key] in HARM_FLAGS),
        "harmful_comparison_stop": _share(harm_comp, lambda r: r[key] == "stop"),
        "coverage": _share(with_ci, lambda r: not _uncovered(r)),
        "coverage_comparison_causal": _share([r for r in with_ci if r["primary"]["design"] != "prepost"],
                                             lambda r: not _uncovered(r, True)),
    }
    per_int: dict[str, Counter] = {}
    for r in rows:
        per_int.setdefault(r["intervention_id"], Counter())[r[key]] += 1
    secs = sorted({(r["seed"], r.get("world_seconds"), r.get("world_cpu_seconds")) for r in rows})
    return {"table": table, "goals": goals, "per_intervention": {k: dict(v) for k, v in sorted(per_int.items())},
            "powered_effective": sorted({r["intervention_id"] for r in eff}),
            "powered_harmful": sorted({r["intervention_id"] for r in harm}),
            "uncovered": sorted(Counter(r["intervention_id"] for r in rows if _uncovered(r)).items()),
            "world_seconds": [s[1] for s in secs if s[1] is not None],
            "world_cpu_seconds": [s[2] for s in secs if s[2] is not None],
            "crashed": sorted({(r["intervention_id"], r.get("error", "")) for r in rows if r.get("error")})}


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


def goal_checks(goals: dict, strength: str = "none") -> dict[str, bool]:
    """Each goal of issue 19 that applies at this strength: met (the point estimate) or not."""
    out = {}
    for key, (bound, how) in GOALS[strength].items():
        k, n = goals[key]
        share = k / n if n else math.nan
        out[key] = bool(n) and (share <= bound + 1e-12 if how == "max" else share >= bound - 1e-12)
    return out


GOAL_WORDS = {
    "null_expand": "null or small -> Expand",
    "null_expand_comparison": "  of those a comparison design could fund",
    "null_funded": "null or small -> Expand or keep funding",
    "null_funded_comparison": "  of those a comparison design could fund",
    "effective_funded": "effective (powered, comparison design) -> Expand or keep funding",
    "effective_expand": "  of which Expand (either wording)",
    "effective_funded_portfolio": "  of those powered at the portfolio-adjusted level",
    "harmful_flagged": "harmful (powered) -> Stop or safeguarding review",
    "harmful_comparison_stop": "  harmful with a comparison design -> Stop",
    "coverage": "planted primary effect inside the reported interval",
    "coverage_comparison_causal": "  comparison designs: planted causal effect inside",
}


def goal_table(summaries: dict[str, dict], key_label: str = "") -> str:
    """One row per goal, one column per strength: share, k/n, Wilson 95% interval, goal and met/not."""
    strengths = list(summaries)
    lines = [f"| goal{key_label} | " + " | ".join(strengths) + " |", "|---|" + "---|" * len(strengths)]
    for key, words in GOAL_WORDS.items():
        cells = []
        for s in strengths:
            k, n = summaries[s]["goals"][key]
            if not n:
                cells.append("-")
                continue
            lo, hi = wilson(k, n)
            cell = f"{k / n:.1%} ({k}/{n}; {lo:.1%} to {hi:.1%})"
            if key in GOALS[s]:
                bound, how = GOALS[s][key]
                met = goal_checks(summaries[s]["goals"], s)[key]
                cell += f" goal {'<=' if how == 'max' else '>='} {bound:.0%}: {'met' if met else 'NOT met'}"
            cells.append(cell)
        lines.append(f"| {words} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def confusion(summary: dict, title: str) -> str:
    table = summary["table"]
    lines = [title, "", "| category | " + " | ".join(CLASSES) + " |", "|---|" + "---:|" * len(CLASSES)]
    for c, counts in table.items():
        lines.append(f"| {c} | " + " | ".join(str(counts[k]) for k in CLASSES) + " |")
    return "\n".join(lines)


def format_report(rows: list[dict], first_seed: int, worlds: int, workers: int, seconds: float) -> str:
    """Everything the run prints: goals (now and BEFORE) by strength, confusion tables, per-world cost."""
    strengths = [s for s in STRENGTHS if any(r["strength"] == s for r in rows)]
    now = {s: summarise([r for r in rows if r["strength"] == s]) for s in strengths}
    before = {s: summarise([r for r in rows if r["strength"] == s], key="before") for s in strengths}
    n_worlds = len({r["seed"] for r in rows})
    out = [f"{n_worlds} worlds, seeds {first_seed}-{first_seed + worlds - 1} (reproduce with --first-seed "
           f"{first_seed} --worlds {worlds}); selection strengths {', '.join(strengths)}", "",
           "AFTER (commissioning_rules.yaml: comparison-design family, placebo, Needs a stronger design, Expand "
           "while replicating)", "", goal_table(now), "",
           "BEFORE (the rules before issue 19, same analyses)", "", goal_table(before), ""]
    for s in strengths:
        out += [confusion(now[s], f"Category x planted class, strength {s} (AFTER)"), ""]
        crashed = now[s]["crashed"]
        if crashed:
            out.append(f"Crashed at {s}: " + "; ".join(f"{i}: {e}" for i, e in crashed))
        out.append(f"Per intervention at {s}: " + "; ".join(
            f"{iid} " + ", ".join(f"{k} {v}" for k, v in sorted(d.items()))
            for iid, d in now[s]["per_intervention"].items()))
        out.append("")
    for s in strengths:
        w, c = now[s]["world_seconds"], now[s]["world_cpu_seconds"]
        if w:
            out.append(f"Per-world cost at {s} ({'every protocol' if s == strengths[0] else 'offending primaries only'}"
                       f"): wall {sorted(w)[len(w) // 2]:.0f} s median ({min(w):.0f}-{max(w):.0f}), "
                       f"CPU {sorted(c)[len(c) // 2]:.0f} s median, per worker")
    out.append(f"Total {seconds:.0f} s wall with {workers} workers ({seconds / max(n_worlds, 1):.1f} s per world, "
               "all strengths)")
    return "\n".join(out)


def _one_thread() -> None:
    # Two workers on two cores: BLAS threads would only fight each other (and the rest of the machine).
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"


def _world(args: tuple) -> list[dict]:
    return analyse_world(*args)


def run(worlds: int, first_seed: int, workers: int = 2, strengths: tuple[str, ...] = STRENGTHS,
        partial: Path | None = None, only: tuple[str, ...] = ()) -> list[dict]:
    """Analyse and decide ``worlds`` worlds from ``first_seed`` at each strength; rows of finished worlds go to
    ``partial`` as they end."""
    seeds = list(range(first_seed, first_seed + worlds))
    rows: list[dict] = []

    def keep(world_rows: list[dict]) -> None:
        rows.extend(decide(world_rows))
        if partial is not None:
            partial.write_text(json.dumps(rows, default=str))
        done = len({r["seed"] for r in rows})
        print(f"world {world_rows[0]['seed']} done ({done}/{worlds}; {world_rows[0].get('world_seconds')} s "
              "at the first strength)", file=sys.stderr, flush=True)

    _one_thread()
    jobs = [(s, tuple(strengths), tuple(only)) for s in seeds]
    if workers > 1:
        with get_context("spawn").Pool(workers) as pool:
            for w in pool.imap_unordered(_world, jobs, chunksize=1):
                keep(w)
    else:
        for j in jobs:
            keep(_world(j))
    rows.sort(key=lambda r: (r["seed"], STRENGTHS.index(r["strength"]), r["intervention_id"]))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds", type=int, default=50)
    ap.add_argument("--first-seed", type=int, default=None, help="reproduce a block (default: a fresh one)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--strengths", default=",".join(STRENGTHS))
    ap.add_argument("--json", type=Path, help="also write the rows here")
    ap.add_argument("--partial", type=Path, help="write the rows of each finished world here as it ends")
    ap.add_argument("--from-rows", type=Path, help="only re-decide and summarise rows saved by --partial or --json")
    ap.add_argument("--benchmark-strength", type=float, action="append",
                    help="with --from-rows: re-judge the hidden-bias checks against a factor this many times as "
                         "strong as prior offending (0: the constants alone); repeatable")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.from_rows:
        data = json.loads(args.from_rows.read_text())
        raw = data["rows"] if isinstance(data, dict) else data
        for k in args.benchmark_strength or [None]:
            rows = decide(raw, k)
            seeds = sorted({r["seed"] for r in rows})
            print(f"\n=== hidden-bias benchmark strength: {'as analysed' if k is None else k} ===\n")
            print(format_report(rows, seeds[0], seeds[-1] - seeds[0] + 1, args.workers, 0.0))
        return 0
    first = args.first_seed if args.first_seed is not None else fresh_first_seed()
    strengths = tuple(s.strip() for s in args.strengths.split(",") if s.strip())
    unknown = set(strengths) - set(STRENGTHS)
    if unknown:
        ap.error(f"unknown strength(s) {sorted(unknown)}; use {', '.join(STRENGTHS)}")
    print(f"seed block: --first-seed {first} --worlds {args.worlds}", flush=True)
    rows = run(args.worlds, first, args.workers, strengths, args.partial)
    print(format_report(rows, first, args.worlds, args.workers, time.perf_counter() - t0))
    if args.json:
        args.json.write_text(json.dumps({"first_seed": first, "rows": rows}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
