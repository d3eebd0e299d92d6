"""The VRU's theory of change in configuration, and the evidence the portfolio holds for each of its outcomes.

``theory_of_change.yaml`` (the packaged default is the seed VRU's, from its
board report; a copy in the protocols folder takes precedence) lists the
priorities, their outputs, the outcomes (each with a priority and an outcome
domain) and the impacts. A protocol tags its outcomes to outcome keys with its
``theory_of_change`` field; untagged outcomes are tagged by the file's
``default_tags`` (outcome kind, instrument or status domain), and the
intervention's priority comes from ``priority_by_type`` unless the protocol
names one.

:func:`evidence_map` joins that with each report's ``findings.json``: for every
outcome (and impact) of the theory of change, which interventions evidence it,
how strongly (Maryland SMS) and with what verdict, and which outcomes have no
evidence at all. :func:`theory_html` is the portfolio section.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Iterable

import yaml

from evalkit.yaml_safe import strict_load
from evalkit.errors import SpecError

DEFAULT_TOC = Path(__file__).with_name("theory_of_change.yaml")
TOC_ENV_VAR = "EVALKIT_THEORY_OF_CHANGE"


@dataclass(frozen=True)
class TocItem:
    key: str
    label: str
    priority: str = ""
    domain: str = ""
    impact: bool = False


@dataclass(frozen=True)
class TheoryOfChange:
    """Priorities (key -> label and outputs), outcomes and impacts, and the tagging defaults."""

    vision: str
    priorities: dict[str, dict]
    outcomes: dict[str, TocItem]
    default_tags: dict[str, str]
    priority_by_type: dict[str, str]
    path: str = ""

    def item(self, key: str) -> TocItem:
        return self.outcomes[key]

    def tags_for(self, protocol: Any, outcome: dict) -> list[str]:
        """ToC keys an outcome of ``protocol`` evidences (``outcome``: an entry of findings.json's outcomes)."""
        name = str(outcome.get("outcome", ""))
        explicit = getattr(getattr(protocol, "theory_of_change", None), "outcomes", None) or {}
        base = name.split(":")[0]
        if name in explicit or base in explicit:
            return list(explicit.get(name) or explicit.get(base) or [])
        kind = self._kind(protocol, name)
        for key in (kind, kind.split(":")[0]):
            if key in self.default_tags:
                return [self.default_tags[key]]
        return []

    @staticmethod
    def _kind(protocol: Any, name: str) -> str:
        if ":" in name or not any(o.name == name for o in protocol.outcomes):
            return "area" if all(d.type in ("area_trend", "area_did") for d in protocol.designs) else ""
        o = protocol.outcome(name)
        if o.kind == "status":
            return f"status:{o.domain}"
        return o.kind

    def priority_of(self, protocol: Any) -> str | None:
        explicit = getattr(getattr(protocol, "theory_of_change", None), "priority", None)
        if explicit:
            return explicit
        return self.priority_by_type.get(str(protocol.intervention_type or ""))


def load_theory_of_change(path: str | Path | None = None, *, cfg: Any = None) -> TheoryOfChange:
    """Read a theory of change: ``path``, else ``$EVALKIT_THEORY_OF_CHANGE``, else the VRU configuration's
    ``theory_of_change`` (a path, relative to the configuration file), else the packaged one.

    Raises
    ------
    SpecError
        Naming the file and entry, when an outcome names an unknown priority or a tag an unknown outcome.
    """
    if path is None and os.environ.get(TOC_ENV_VAR):
        path = os.environ[TOC_ENV_VAR]
    if path is None and getattr(cfg, "theory_of_change", None):
        path = Path(str(getattr(cfg, "source", "") or ".")).parent / str(cfg.theory_of_change)
    path = Path(path) if path is not None else DEFAULT_TOC
    try:
        raw = strict_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise SpecError(f"{path}: cannot be read ({exc.strerror}).") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: is not valid YAML ({exc}).") from None
    priorities = {}
    for i, p in enumerate(raw.get("priorities") or []):
        if not isinstance(p, dict) or not p.get("key") or not p.get("label"):
            raise SpecError(f"{path}, priorities[{i}]: needs a key and a label.")
        priorities[str(p["key"])] = {"label": str(p["label"]), "outputs": [str(x) for x in p.get("outputs") or []]}
    items: dict[str, TocItem] = {}
    for section, impact in (("outcomes", False), ("impacts", True)):
        for i, o in enumerate(raw.get(section) or []):
            if not isinstance(o, dict) or not o.get("key") or not o.get("label"):
                raise SpecError(f"{path}, {section}[{i}]: needs a key and a label.")
            pr = str(o.get("priority") or "")
            if pr and pr not in priorities:
                raise SpecError(f"{path}, {section}[{i}] ({o['key']}): priority '{pr}' is not one of "
                                f"{sorted(priorities)}.")
            items[str(o["key"])] = TocItem(str(o["key"]), str(o["label"]), pr, str(o.get("domain") or ""), impact)
    tags = {str(k): str(v) for k, v in (raw.get("default_tags") or {}).items()}
    for k, v in tags.items():
        if v not in items:
            raise SpecError(f"{path}, default_tags.{k}: '{v}' is not an outcome or impact key.")
    by_type = {str(k): str(v) for k, v in (raw.get("priority_by_type") or {}).items()}
    for k, v in by_type.items():
        if v not in priorities:
            raise SpecError(f"{path}, priority_by_type.{k}: '{v}' is not a priority key.")
    return TheoryOfChange(str(raw.get("vision") or "").strip(), priorities, items, tags, by_type, str(path))


def check_protocol_tags(toc: TheoryOfChange, protocol: Any) -> list[str]:
    """Tags in a protocol that the theory of change does not know (plain sentences; empty when all are known)."""
    out = []
    spec = getattr(protocol, "theory_of_change", None)
    if spec is None:
        return out
    if spec.priority and spec.priority not in toc.priorities:
        out.append(f"{protocol.intervention_id}: theory_of_change.priority '{spec.priority}' is not one of "
                   f"{sorted(toc.priorities)}")
    for name, keys in (spec.outcomes or {}).items():
        for k in keys:
            if k not in toc.outcomes:
                out.append(f"{protocol.intervention_id}: theory_of_change.outcomes.{name}: '{k}' is not an outcome "
                           "of the theory of change")
    return out


# --------------------------------------------------------------------------- the evidence map
@dataclass(frozen=True)
class Evidence:
    intervention_id: str
    title: str
    outcome_label: str
    verdict: str
    sms: int


@dataclass(frozen=True)
class EvidenceMap:
    """For each ToC outcome and impact key, the evidence the portfolio holds (aggregates only)."""

    toc: TheoryOfChange
    evidence: dict[str, tuple[Evidence, ...]]
    by_priority: dict[str, tuple[str, ...]] = field(default_factory=dict)  # priority -> intervention ids

    def without_evidence(self) -> list[TocItem]:
        return [item for key, item in self.toc.outcomes.items() if not self.evidence.get(key)]


def evidence_map(toc: TheoryOfChange, protocols: Iterable[Any], findings: Iterable[dict]) -> EvidenceMap:
    """Join protocols' ToC tags with their findings (one entry per intervention, outcome and design)."""
    found = {f.get("intervention_id"): f for f in findings}
    ev: dict[str, list[Evidence]] = {k: [] for k in toc.outcomes}
    by_priority: dict[str, list[str]] = {k: [] for k in toc.priorities}
    for p in protocols:
        pr = toc.priority_of(p)
        if pr in by_priority:
            by_priority[pr].append(p.intervention_id)
        f = found.get(p.intervention_id)
        if not f:
            continue
        best: dict[str, tuple[tuple, Evidence]] = {}
        for o in f.get("outcomes", []):
            if not o.get("ok"):
                continue
            for key in toc.tags_for(p, o):
                if key not in ev:
                    continue
                e = Evidence(p.intervention_id, p.title, str(o.get("label") or o.get("outcome")),
                             str(o.get("verdict")), int(o.get("sms") or 0))
                # One entry per intervention and ToC outcome: a significant worsening first (a board must not
                # miss a harm the decision table flags), then the primary outcome's strongest design, else the
                # strongest design of any outcome tagged to it (a clear verdict before an unclear one).
                rank = (e.verdict == "worse", bool(o.get("primary")), e.sms, e.verdict in ("improved", "worse"))
                if key not in best or rank > best[key][0]:
                    best[key] = (rank, e)
        for key, (_, e) in best.items():
            ev[key].append(e)
    return EvidenceMap(toc, {k: tuple(v) for k, v in ev.items()}, {k: tuple(v) for k, v in by_priority.items()})


_VERDICT_CLASS = {"improved": "good", "worse": "bad", "inconclusive": "neutral", "too few to tell": "neutral"}


def theory_html(emap: EvidenceMap) -> str:
    """The portfolio section body: priorities, their interventions and outcomes with evidence, and the gaps."""
    toc = emap.toc
    e = html.escape
    parts = [f"<p class='small'><b>Vision:</b> {e(toc.vision)}</p>"] if toc.vision else []
    for pkey, pr in toc.priorities.items():
        ids = emap.by_priority.get(pkey, ())
        items = [it for it in toc.outcomes.values() if it.priority == pkey]
        if not items and not ids:
            continue
        parts.append(f"<h3>{e(pr['label'])}</h3>")
        if ids:
            parts.append(f"<p class='small'>Interventions: {e(', '.join(ids))}</p>")
        rows = []
        for it in items:
            rows.append(_row(it, emap.evidence.get(it.key, ())))
        if rows:
            parts.append("<table class='toc'><thead><tr><th>Outcome</th><th>Domain</th><th>Evidence</th></tr>"
                         f"</thead><tbody>{''.join(rows)}</tbody></table>")
    impacts = [it for it in toc.outcomes.values() if it.impact]
    if impacts:
        parts.append("<h3>Impacts</h3><table class='toc'><thead><tr><th>Impact</th><th>Domain</th>"
                     "<th>Evidence</th></tr></thead><tbody>"
                     + "".join(_row(it, emap.evidence.get(it.key, ())) for it in impacts) + "</tbody></table>")
    gaps = emap.without_evidence()
    if gaps:
        parts.append("<p class='category warn'><b>No evidence at all yet for "
                     f"{len(gaps)} of the {len(toc.outcomes)} outcomes and impacts in the theory of change:</b> "
                     + "; ".join(e(g.label) for g in gaps) + ".</p>")
    return "".join(parts)


def _row(item: TocItem, evidence: tuple[Evidence, ...]) -> str:
    e = html.escape
    if evidence:
        cells = "; ".join(f"<span class='{_VERDICT_CLASS.get(x.verdict, 'neutral')}' title='{e(x.outcome_label)}'>"
                          f"{e(x.intervention_id)} {e(x.verdict)} (SMS {x.sms})</span>"
                          for x in sorted(evidence, key=lambda x: x.intervention_id))
        counts = {}
        for x in evidence:
            counts[x.verdict] = counts.get(x.verdict, 0) + 1
        summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
        body = f"<span class='small'>{e(summary)}:</span> {cells}"
    else:
        body = "<b>no evidence yet</b>"
    return f"<tr><td>{e(item.label)}</td><td>{e(item.domain)}</td><td>{body}</td></tr>"


__all__ = ["DEFAULT_TOC", "TOC_ENV_VAR", "TocItem", "TheoryOfChange", "load_theory_of_change",
           "check_protocol_tags", "Evidence", "EvidenceMap", "evidence_map", "theory_html"]
