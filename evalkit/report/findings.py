"""``findings.json``: the aggregates of one report that the portfolio summary reads.

The file sits in the report folder that gets shared, so it follows the report's
disclosure rule: a count below the threshold is ``null`` with ``"[c]"`` beside
it, and every sentence passes :func:`~evalkit.report.disclosure.safe_json`.
"""

from __future__ import annotations

import math

from evalkit.analysis.narrative import judge
from evalkit.analysis.results import InterventionAnalysis
from evalkit.protocol import Protocol
from evalkit.report.context import ReportContext
from evalkit.report.disclosure import is_small, safe_count, safe_json
from evalkit.results import Estimate


def findings(ctx: ReportContext) -> dict:
    """Aggregates the portfolio summary reads (JSON-safe; no row-level data; counts controlled)."""
    n = int(len(ctx.participants))
    small = 0 < n < ctx.threshold
    base = {"intervention_id": ctx.protocol.intervention_id, "title": ctx.protocol.title,
            "intervention_type": ctx.protocol.intervention_type, "n_participants": None if small else n,
            "n_participants_shown": safe_count(n, ctx.threshold), "fingerprint": ctx.fingerprint}
    base.update(findings_dict(ctx.analysis, ctx.protocol))
    return safe_json(base, ctx.threshold)


def findings_dict(a: InterventionAnalysis, protocol: Protocol) -> dict:
    """JSON-safe findings of one analysis: primary finding, every outcome's estimate and verdict, limitations.

    Counts below the disclosure threshold (participants, or events in the programme districts for area
    designs) are ``null`` with the suppression marker in ``n_shown``; so are the degrees of freedom of an
    estimate from so few (``df`` = n - 1 would reveal n). Sentences are checked by
    :func:`evalkit.report.disclosure.safe_json` when the findings are saved.
    """
    t = protocol.disclosure_threshold

    def clean(e: Estimate | None, n: int = 0) -> dict | None:
        if e is None:
            return None
        out = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in e.as_dict().items()}
        if is_small(n, t) and out.get("df") is not None:
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
                         "n": o.n if o.n >= t else None, "n_shown": safe_count(o.n, t),
                         "estimate": clean(o.estimate, o.n), "standardised": clean(o.standardised, o.n)})
    prim = a.primary.as_json() if a.primary is not None else None
    if prim is not None:
        n = prim["n"]
        prim["n_shown"] = safe_count(n, t)
        for key in ("estimate", "standardised"):
            if isinstance(prim.get(key), dict) and is_small(n, t) and prim[key].get("df") is not None:
                prim[key]["df"] = None
        if is_small(n, t):
            prim["n"] = None
            if isinstance(prim.get("finding"), dict):  # the rules only need to know it is below min_n
                prim["finding"] = {**prim["finding"], "n": None}
    value = a.value.as_json() if getattr(a, "value", None) is not None else None
    return {"primary": prim, "outcomes": outcomes, "limitations": list(a.limitations), "value": value,
            "disclosure_threshold": t, "min_n_significance": protocol.min_n_significance}


__all__ = ["findings", "findings_dict"]
