"""evalkit lock: protocols as pre-registration (evalkit.lock) and what a report says about them."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from data_fixtures import MINIMAL, write_csv
from evalkit.cli import cli
from evalkit.errors import SpecError
from evalkit.lock import deviations, first_ingest, lock_path, lock_problems, lock_protocol, lock_status
from evalkit.protocol import load_protocol

PROTOCOLS = Path(__file__).resolve().parents[1] / "protocols"


@pytest.fixture()
def area_protocol(tmp_path) -> Path:
    dest = tmp_path / "vru_wide.yaml"
    shutil.copy(PROTOCOLS / "vru_wide.yaml", dest)
    return dest


def test_lock_records_hash_date_cutoff_and_content(area_protocol):
    when = datetime(2021, 3, 1, 9, 30, tzinfo=timezone.utc)
    target = lock_protocol(area_protocol, data_cutoff=date(2021, 9, 30), now=when)
    assert target == lock_path(area_protocol) == area_protocol.with_name("vru_wide.lock.json")
    record = json.loads(target.read_text())
    import hashlib

    assert record["sha256"] == hashlib.sha256(area_protocol.read_bytes()).hexdigest()
    assert record["locked_at"] == "2021-03-01T09:30:00+00:00" and record["data_cutoff"] == "2021-09-30"
    assert record["content"]["intervention_id"] == "VRU"
    status = lock_status(area_protocol, load_protocol(area_protocol))
    assert status.locked and not status.file_changed and status.deviations == ()
    assert "locked on 01 March 2021 09:30 UTC" in status.sentence() and "Nothing has changed since" in status.sentence()
    with pytest.raises(SpecError, match="already locked"):
        lock_protocol(area_protocol)
    lock_protocol(area_protocol, force=True)  # relocking is allowed, and recorded


def test_a_changed_locked_protocol_is_reported_as_deviations(area_protocol):
    lock_protocol(area_protocol)
    text = area_protocol.read_text()
    area_protocol.write_text(text + "\n# a comment added later\n")
    status = lock_status(area_protocol, load_protocol(area_protocol))
    assert status.file_changed and status.deviations == ()
    assert "comments or layout only" in status.sentence()
    area_protocol.write_text(text.replace("alpha: 0.05", "alpha: 0.1").replace('baseline: ["2017-04", "2020-03"]',
                                                                               'baseline: ["2018-04", "2020-03"]'))
    status = lock_status(area_protocol, load_protocol(area_protocol))
    fields = {d.field: (d.locked, d.now) for d in status.deviations}
    assert fields == {"alpha": (0.05, 0.1), "designs[0].baseline": (["2017-04", "2020-03"], ["2018-04", "2020-03"])}
    assert "2 fields changed" in status.sentence()
    from evalkit.lock import lock_html

    assert "alpha: 0.05 when locked, 0.1 now" in lock_html(status)


def test_deviations_list_added_and_removed_fields():
    out = deviations({"a": 1, "b": {"c": [1, 2]}, "d": [{"x": 1}]},
                     {"a": 1, "b": {"c": [1, 3]}, "d": [{"x": 1}, {"x": 2}]})
    assert [(d.field, d.locked, d.now) for d in out][0] == ("b.c", [1, 2], [1, 3])
    assert out[1].field == "d[1].x" and "(not set) when locked, 2 now" in out[1].sentence()


def test_participant_protocol_needs_primary_outcome_mde_and_mwe(tmp_path):
    p = load_protocol(PROTOCOLS / "INT03.yaml")
    problems = lock_problems(p)
    has_fields = all(getattr(o, "minimum_worthwhile_effect", None) is not None
                     and getattr(o, "minimum_detectable_effect", None) is not None for o in p.primary_outcomes)
    if has_fields:
        assert problems == []
    else:
        assert any("minimum_worthwhile_effect" in x for x in problems)
        assert any("minimum_detectable_effect" in x for x in problems)
    bare = p.model_copy(update={"primary_outcomes": []})
    assert any("primary_outcomes is empty" in x for x in lock_problems(bare))


def test_locked_before_or_after_the_first_ingest(area_protocol, tmp_path):
    from evalkit.data.store import ingest_files

    db = tmp_path / "store.duckdb"
    assert first_ingest(db) is None and first_ingest(tmp_path) is None  # no store, a folder: not known
    ingest_files([write_csv(tmp_path / "interventions.csv", MINIMAL["interventions"])], db)
    loaded = first_ingest(db)
    assert loaded is not None and abs(loaded - datetime.now(timezone.utc)) < timedelta(minutes=5)
    lock_protocol(area_protocol, now=loaded - timedelta(days=30))
    status = lock_status(area_protocol, load_protocol(area_protocol), db)
    assert status.before_data is True and "before the data were first loaded" in status.sentence()
    lock_protocol(area_protocol, now=loaded + timedelta(days=1), force=True)
    status = lock_status(area_protocol, load_protocol(area_protocol), db)
    assert status.before_data is False and "after the data were first loaded" in status.sentence()
    assert lock_status(area_protocol, load_protocol(area_protocol), tmp_path).before_data is None


def test_unlocked_protocol_says_so(area_protocol):
    status = lock_status(area_protocol, load_protocol(area_protocol))
    assert not status.locked and "not locked in advance" in status.sentence()


def test_cli_lock(area_protocol, tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["lock", str(area_protocol), "--data-cutoff", "2021-09-30"])
    assert res.exit_code == 0, res.output
    assert "locked" in res.output and lock_path(area_protocol).exists()
    res = runner.invoke(cli, ["lock", str(area_protocol)])
    assert res.exit_code == 2 and "already locked" in res.output and "Traceback" not in res.output
    part = tmp_path / "INT03.yaml"
    shutil.copy(PROTOCOLS / "INT03.yaml", part)
    if lock_problems(load_protocol(part)):
        res = runner.invoke(cli, ["lock", str(part)])
        assert res.exit_code == 2 and "cannot be locked" in res.output and not lock_path(part).exists()
