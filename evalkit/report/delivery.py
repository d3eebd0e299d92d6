"""The delivery aggregates of one report (reach, dose, completion: :func:`evalkit.implementation.implementation`),
computed once per report: the delivery section prints them and the report's publication ledger
(:func:`evalkit.report.render.report_ledger`) registers their counts with every other number the report
prints.
"""

from __future__ import annotations

import pandas as pd

from evalkit.errors import EvalkitError
from evalkit.report.context import ReportContext


def delivery(ctx: ReportContext):  # -> Implementation | None
    """The delivery aggregates of the report (:func:`evalkit.implementation.implementation`), once per report;
    None for an area programme. Its dose table is in the report's ledger (:func:`render.report_ledger`)."""
    from evalkit.implementation import implementation as aggregates

    if ctx.protocol.designs and all(d.type in ("area_trend", "area_did") for d in ctx.protocol.designs):
        return None
    cached = getattr(ctx, "_delivery", None)
    if cached is None and len(ctx.participants):
        y, label, is_rate = _dose_outcome(ctx)
        base, base_label = _dose_baseline(ctx) if y is not None else (None, "")
        cached = aggregates(ctx.protocol, ctx.tables, ctx.participants, intervention=ctx.intervention,
                            outcome_by_person=y, outcome_label=label, outcome_is_rate=is_rate,
                            baseline_by_person=base, baseline_label=base_label)
        ctx._delivery = cached  # type: ignore[attr-defined]  # a per-report cache on the context
    return cached


def _dose_outcome(ctx: ReportContext) -> tuple[pd.Series | None, str, bool]:
    """The primary outcome per participant for the dose table: (values by person_id, label, is a 0/1 event)."""
    from evalkit.analysis import data as ad
    from evalkit.analysis import designs as dz

    if not ctx.protocol.primary_outcomes:
        return None, "", True
    o = ctx.protocol.primary_outcomes[0]
    people = ctx.participants
    try:
        if o.kind == "reoffending":
            out = dz._offending(ctx.protocol, ctx.tables, people, (o.followup_months, o.waiting_months))
            out = out.loc[out["followup_complete"].astype(bool)]
            col = ad.OFFENCE_COLUMNS[(o.kind, o.offences)]
            return out[col].astype(float), f"{o.label or o.name} (share)", True
        if o.kind == "instrument":
            wide, _, _ = dz.prepost_frame(ctx.protocol, ctx.tables, people, o)
            wide = wide.dropna(subset=["pre", "post"])
            return (wide.set_index("person_id")["post"] - wide.set_index("person_id")["pre"]).astype(float), \
                f"Change in {o.label or o.name}", False
    except EvalkitError:
        return None, "", True
    return None, "", True


def _dose_baseline(ctx: ReportContext) -> tuple[pd.Series | None, str]:
    """The baseline the dose-response model adjusts for: the primary questionnaire's score at the start, or prior
    proven offences for an offending outcome (values by person_id, words for the report)."""
    from evalkit.analysis import designs as dz

    if not ctx.protocol.primary_outcomes:
        return None, ""
    o = ctx.protocol.primary_outcomes[0]
    people = ctx.participants
    try:
        if o.kind == "instrument":
            wide, _, _ = dz.prepost_frame(ctx.protocol, ctx.tables, people, o)
            return wide.set_index("person_id")["pre"].astype(float), "score at the start"
        if "prior_offences" in people:
            return (pd.to_numeric(people.set_index("person_id")["prior_offences"], errors="coerce"),
                    "number of proven offences in the two years before")
    except EvalkitError:
        return None, ""
    return None, ""



__all__ = ["delivery"]
