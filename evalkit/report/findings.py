"""``findings.json``: the aggregates of one report that the portfolio summary reads.

The file sits in the report folder that gets shared, so it follows the report's
disclosure rule, with the report's own published counts: a count the report
withholds is ``null`` with ``"[c]"`` beside it, and every sentence passes
:meth:`~evalkit.report.disclosure.PublishedCounts.json`.
"""

from __future__ import annotations

import math
from typing import Any

from evalkit.analysis.narrative import judge
from evalkit.analysis.results import InterventionAnalysis
from evalkit.labels import AREA_DESIGNS
from evalkit.protocol import Protocol
from evalkit.report.context import ReportContext
from evalkit.report.disclosure import PublishedCounts
from evalkit.report.render import published, report_counts
from evalkit.results import Estimate


def findings(ctx: ReportContext) -> dict:
    """Aggregates the portfolio summary reads (JSON-safe; no row-level data; counts controlled).

    Every count goes through the report's own published counts (:func:`evalkit.report.render.published`),
    so ``findings.json`` withholds every count the report withholds, not only the small ones.
    """
    counts = published(ctx)
    n = int(len(ctx.participants))
    base = {"intervention_id": ctx.protocol.intervention_id, "title": ctx.protocol.title,
            "intervention_type": ctx.protocol.intervention_type, "n_participants": counts.value(n),
            "n_participants_shown": counts.show(n), "fingerprint": ctx.fingerprint}
    base.update(findings_dict(ctx.analysis, ctx.protocol, counts))
    return counts.json(base)


def findings_dict(a: InterventionAnalysis, protocol: Protocol, counts: PublishedCounts | None = None) -> dict:
    """JSON-safe findings of one analysis: primary finding, every outcome's estimate and verdict, limitations.

    Counts the report withholds (below the disclosure threshold, or giving a small group away by
    subtraction: :func:`evalkit.report.render.report_counts`) are ``null`` with the suppression marker in
    ``n_shown``; so are the degrees of freedom of an estimate from them (``df`` = n - 1 would reveal n).
    Sentences are checked by :func:`evalkit.report.disclosure.safe_json` when the findings are saved.
    """
    t = protocol.disclosure_threshold
    counts = counts if counts is not None else report_counts(a, t)

    def hide_df(df: Any, n: int, design: str) -> bool:
        # df = n - 1 would reveal n; so would n - 2 (the regression-to-the-mean correction): a df that reads as a
        # withheld count under either is withheld too (area designs' df counts districts, not people).
        return df is not None and (counts.hides(n) or (design not in AREA_DESIGNS and 0 < df + 1 < t))

    def clean(e: Estimate | None, n: int = 0, design: str = "") -> dict | None:
        if e is None:
            return None
        out = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in e.as_dict().items()}
        if hide_df(out.get("df"), n, design):
            out["df"] = None
        return out

    outcomes = []
    for o in a.outcomes:
        verdict = "could not be estimated"
        if o.ok:
            verdict = judge(o.estimate.estimate, o.estimate.ci_low, o.estimate.ci_high, null=o.null,
                            higher_is_better=o.higher_is_better, n=o.n,
                            min_n=protocol.min_n_significance).verdict
        outcomes.append({"outcome": o.outcome, "label": o.label, "design": o.design, "primary": o.primary,
                         "ok": o.ok, "reason": o.reason, "sms": o.sms, "verdict": verdict,
                         "n": counts.value(o.n) or None, "n_shown": counts.show(o.n),
                         "estimate": clean(o.estimate, o.n, o.design),
                         "standardised": clean(o.standardised, o.n, o.design)})
    prim = a.primary.as_json() if a.primary is not None else None
    if prim is not None:
        n = prim["n"]
        prim["n_shown"] = counts.show(n)
        for key in ("estimate", "standardised"):
            if isinstance(prim.get(key), dict) and hide_df(prim[key].get("df"), n, prim.get("design") or ""):
                prim[key]["df"] = None
        prim["n"] = counts.value(n)
        if prim["n"] is None and isinstance(prim.get("finding"), dict):  # the rules only need to know it is below min_n
            prim["finding"] = {**prim["finding"], "n": None}
    value = a.value.as_json() if getattr(a, "value", None) is not None else None
    return {"primary": prim, "outcomes": outcomes, "limitations": list(a.limitations), "value": value,
            "disclosure_threshold": t, "min_n_significance": protocol.min_n_significance}


__all__ = ["findings", "findings_dict"]
