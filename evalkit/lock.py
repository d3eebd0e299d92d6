"""Protocols as pre-registration: lock a protocol before results exist, and report deviations.

``evalkit lock PROTOCOL`` (:func:`lock_protocol`) writes ``<protocol>.lock.json``
beside the protocol: the SHA-256 of the protocol file, the time it was locked
(UTC), the data cut-off, and the protocol's content as written (after
validation), so that later changes can be listed field by field. A participant-level protocol can only be
locked when every primary outcome states its minimum worthwhile effect and
minimum detectable effect (the numbers that make "no significant effect"
interpretable); an area-only protocol needs its indicators.

:func:`lock_status` is what a report shows: whether the protocol was locked,
whether that was before the data were first ingested into the store (the
store's ingest provenance), and every deviation: fields whose value in the
protocol now differs from the locked copy.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from evalkit.errors import SpecError

LOCK_SUFFIX = ".lock.json"
AREA_TYPES = ("area_trend", "area_did")


def lock_path(protocol_path: str | Path) -> Path:
    """Where a protocol's lock file lives: ``INT01.yaml`` -> ``INT01.lock.json`` beside it."""
    p = Path(protocol_path)
    return p.with_name(p.stem + LOCK_SUFFIX)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _content(path: Path) -> dict:
    """The protocol as the evaluator wrote it (parsed YAML, JSON types): model defaults added later by evalkit
    itself never show as deviations."""
    import yaml

    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8-sig")) or {}
    return json.loads(json.dumps(raw, default=str))


def lock_problems(protocol: Any) -> list[str]:
    """Why the protocol cannot be locked (empty when it can): primary outcome, MDE and MWE are required."""
    out = []
    if protocol.designs and all(d.type in AREA_TYPES for d in protocol.designs):
        if not any(getattr(d, "indicators", None) for d in protocol.designs):
            out.append("an area protocol needs at least one indicator (its first is the primary outcome)")
        return out
    if not protocol.primary_outcomes:
        out.append("primary_outcomes is empty: name the primary outcome before locking")
    for i, o in enumerate(protocol.primary_outcomes):
        for fld, words in (("minimum_worthwhile_effect", "minimum worthwhile effect"),
                           ("minimum_detectable_effect", "minimum detectable effect")):
            if getattr(o, fld, None) is None:
                out.append(f"primary_outcomes[{i}] ({o.name}) has no {fld}: state the {words} before locking")
    return out


def lock_protocol(path: str | Path, *, data_cutoff: date | None = None, force: bool = False,
                  now: datetime | None = None) -> Path:
    """Validate and lock a protocol; returns the lock file written.

    Raises
    ------
    SpecError
        The protocol is invalid, lacks a required field (see :func:`lock_problems`), or is already locked
        (``force=True`` relocks; the report then shows the new date).
    """
    from evalkit import __version__
    from evalkit.protocol import load_protocol

    path = Path(path)
    protocol = load_protocol(path)
    problems = lock_problems(protocol)
    if problems:
        raise SpecError(f"{path}: cannot be locked: " + "; ".join(problems) + ".")
    target = lock_path(path)
    if target.exists() and not force:
        raise SpecError(f"{path}: is already locked ({target.name}). A lock is a record of the plan before the "
                        "data were seen. Fix: leave it, or relock with --force (the report will show the new date).")
    cutoff = data_cutoff or protocol.population.data_end
    record = {"protocol": path.name, "sha256": _sha256(path),
              "locked_at": (now or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="seconds"),
              "data_cutoff": cutoff.isoformat() if cutoff else None, "evalkit_version": __version__,
              "content": _content(path)}
    from evalkit.io_safe import write_text_atomic

    write_text_atomic(target, json.dumps(record, indent=2, sort_keys=True) + "\n")  # never a half-written lock
    return target


# --------------------------------------------------------------------------- what a report shows
@dataclass(frozen=True)
class Deviation:
    """One field whose value differs from the locked protocol."""

    field: str
    locked: Any
    now: Any

    def sentence(self) -> str:
        def show(v: Any) -> str:
            return "(not set)" if v is _MISSING or v is None else json.dumps(v, ensure_ascii=False)
        return f"{self.field}: {show(self.locked)} when locked, {show(self.now)} now"


@dataclass(frozen=True)
class LockStatus:
    """Whether a protocol was locked, when, against the data's first ingest, and its deviations."""

    locked: bool
    locked_at: datetime | None = None
    data_cutoff: str | None = None
    first_ingest: datetime | None = None
    file_changed: bool = False
    deviations: tuple[Deviation, ...] = ()
    problem: str = ""

    @property
    def before_data(self) -> bool | None:
        """True/False when both times are known; None when the first ingest is not known."""
        if not self.locked or self.locked_at is None or self.first_ingest is None:
            return None
        return self.locked_at <= self.first_ingest

    def sentence(self) -> str:
        """One plain sentence for the report."""
        if self.problem:
            return f"The protocol's lock record could not be read ({self.problem})."
        if not self.locked:
            return ("The analysis plan was not locked in advance, so we cannot show it was fixed before the "
                    "data were seen.")
        when = self.locked_at.strftime("%d %B %Y %H:%M UTC") if self.locked_at else "an unknown date"
        if self.before_data is True:
            timing = f", before the data were first loaded ({self.first_ingest:%d %B %Y %H:%M} UTC)"
        elif self.before_data is False:
            timing = (f", after the data were first loaded ({self.first_ingest:%d %B %Y %H:%M} UTC), so it may "
                      "have been written with the data in view")
        else:
            timing = "; when the data were first loaded is not recorded (they were read from files, not a store)"
        cut = f" Data cut-off: {self.data_cutoff}." if self.data_cutoff else ""
        if self.deviations:
            k = len(self.deviations)
            dev = (f" {k} field{'s' if k > 1 else ''} changed since it was locked; each is a deviation from the "
                   "plan, listed in the appendix.")
        elif self.file_changed:
            dev = " The file has changed since, in comments or layout only: no field differs."
        else:
            dev = " Nothing has changed since."
        return f"The analysis plan was locked on {when}{timing}.{cut}{dev}"


_MISSING = object()


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(_flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def deviations(locked: dict, now: dict) -> tuple[Deviation, ...]:
    """Fields (dotted paths, list items by index) whose values differ between two protocol contents."""
    a, b = _flatten(locked), _flatten(now)
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key, _MISSING), b.get(key, _MISSING)
        if va != vb:
            out.append(Deviation(key, va, vb))
    return tuple(out)


def first_ingest(data_src: str | Path) -> datetime | None:
    """When data were first ingested into a store (its ingest provenance); None for a folder or no record."""
    src = Path(data_src)
    if not src.is_file():
        return None
    try:
        import duckdb

        from evalkit.data.store import INGESTS_TABLE

        con = duckdb.connect(str(src), read_only=True)
        try:
            row = con.execute(f"SELECT min(ingested_at) FROM {INGESTS_TABLE}").fetchall()
        finally:
            con.close()
    except Exception:  # not an evalkit store, or no ingest table: the time is simply not known
        return None
    value = row[0][0] if row else None
    if value is None:
        return None
    # The store records local naive timestamps of the ingesting machine; compare as UTC.
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def lock_status(protocol_path: str | Path, protocol: Any, data_src: str | Path | None = None) -> LockStatus:
    """The lock record of a protocol against the protocol now and the data's first ingest."""
    target = lock_path(protocol_path)
    ingest = first_ingest(data_src) if data_src is not None else None
    if not target.exists():
        return LockStatus(locked=False, first_ingest=ingest)
    try:
        record = json.loads(target.read_text(encoding="utf-8"))
        locked_at = datetime.fromisoformat(record["locked_at"]).astimezone(timezone.utc)
        content = record["content"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return LockStatus(locked=False, first_ingest=ingest, problem=f"{target.name}: {exc}")
    try:
        changed = _sha256(Path(protocol_path)) != record.get("sha256")
    except OSError:
        changed = True
    try:
        now = _content(Path(protocol_path))
    except (OSError, ValueError) as exc:
        return LockStatus(locked=True, locked_at=locked_at, first_ingest=ingest, problem=f"{protocol_path}: {exc}")
    return LockStatus(locked=True, locked_at=locked_at, data_cutoff=record.get("data_cutoff"), first_ingest=ingest,
                      file_changed=changed, deviations=deviations(content, now))


def lock_html(status: LockStatus) -> str:
    """The appendix block: the sentence and the list of deviations."""
    import html

    body = f"<p>{html.escape(status.sentence())}</p>"
    if status.deviations:
        items = "".join(f"<li>{html.escape(d.sentence())}</li>" for d in status.deviations)
        body += f"<p><b>Deviations from the locked protocol</b></p><ul class='deviations'>{items}</ul>"
    return body


__all__ = ["LOCK_SUFFIX", "lock_path", "lock_problems", "lock_protocol", "Deviation", "LockStatus", "deviations",
           "first_ingest", "lock_status", "lock_html"]
