"""The state operations keep: pauses, the run log, jobs, audit search and purge, queue inspection."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from azure.storage.queue import QueueServiceClient

from shared.records import AuditEntry, SyncMark
from shared.state.audit import AuditTrail
from shared.state.idmap import IdMap
from shared.state.jobs import JobRepository, StaleJobError
from shared.state.ledger import LedgerRepository
from shared.state.pauses import PauseRepository
from shared.state.queue_admin import QueueInspector, encoded
from shared.state.queues import QueuePublisher
from shared.state.runs import RunLog
from shared.state.tables import StateTables

pytestmark = pytest.mark.azurite
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_a_pause_is_kept_until_resumed(tables: StateTables) -> None:
    """Pausing twice keeps the first pause; resume returns it and forgets it."""
    clock = Clock()
    pauses = PauseRepository(tables, clock)
    assert pauses.get("customers") is None
    first = pauses.pause("customers", "maintenance")
    clock.now += timedelta(hours=1)
    assert pauses.pause("customers", "again") == first
    assert pauses.all() == {"customers": first}
    assert pauses.resume("customers") == first
    assert pauses.get("customers") is None
    assert pauses.resume("customers") is None


def test_the_run_log_keeps_the_last_run_of_each_kind(tables: StateTables) -> None:
    """A later run of a kind replaces the earlier one; kinds and entities stay apart."""
    clock = Clock()
    runs = RunLog(tables, clock)
    runs.record("customers", "poll", "ok", "3 changed", "c1")
    clock.now += timedelta(minutes=5)
    runs.record("customers", "poll", "failed", "IfsServerError")
    runs.record("customers", "work", "parked", "created 2, parked 1")
    last = runs.last("customers")
    assert (last["poll"].outcome, last["poll"].at, last["poll"].correlation_id) == ("failed", clock.now, None)
    assert last["work"].detail == "created 2, parked 1"
    assert runs.last("sales_parts") == {}


def test_jobs_move_conditionally_and_finished_ones_are_purged(tables: StateTables) -> None:
    """A stale update is refused; unfinished jobs are listed oldest first; only finished old jobs go."""
    clock = Clock()
    jobs = JobRepository(tables, clock)
    first = jobs.submit("reconcile", {"entity": "customers"})
    clock.now += timedelta(seconds=1)
    second = jobs.submit("backfill", {"entity": "sales_parts", "since": "2025-01-01"})
    assert [j.id for j in jobs.unfinished()] == [first.id, second.id]
    running = jobs.update(first, status="running", started_at=clock.now)
    with pytest.raises(StaleJobError):
        jobs.update(first, status="failed")  # read before the update above
    done = jobs.update(running, status="done", result={"summary": {"in_step": 3}}, finished_at=clock.now)
    assert (done.status, done.result, done.params) == (
        "done",
        {"summary": {"in_step": 3}},
        {"entity": "customers"},
    )
    assert [j.id for j in jobs.unfinished()] == [second.id]
    huge = jobs.update(jobs.get(second.id) or second, result={"text": "x" * 50_000})
    assert huge.result is not None
    assert huge.result["truncated"] is True
    clock.now += timedelta(days=91)
    assert jobs.purge_finished(clock.now - timedelta(days=90)) == 1
    assert jobs.get(first.id) is None
    assert jobs.get(second.id) is not None  # unfinished: never purged
    assert jobs.get("../not-an-id") is None


def test_audit_search_finds_a_record_by_either_key_or_correlation_and_purges_by_day(
    tables: StateTables,
) -> None:
    """Source key, target id and correlation id each find the rows; days before the cutoff go whole."""
    clock = Clock()
    audit = AuditTrail(tables, clock)
    old = T0 - timedelta(days=100)
    audit.record(
        [
            AuditEntry("ifs->dataverse", "customers", "C1", "created", "guid-1", correlation_id="r1", at=old),
            AuditEntry("ifs->dataverse", "customers", "C1", "updated", "guid-1", correlation_id="r2", at=T0),
            AuditEntry("dataverse->ifs", "orders", "guid-9", "created", "C1", correlation_id="r3", at=T0),
            AuditEntry("ifs->dataverse", "customers", "C2", "created", "guid-2", correlation_id="r2", at=T0),
        ]
    )
    by_key = audit.search(3, keys=["C1"])
    assert sorted(e.outcome + e.entity for e in by_key) == ["createdorders", "updatedcustomers"]
    assert [e.source_key for e in audit.search(3, keys=["guid-2"])] == ["C2"]
    assert sorted(e.source_key for e in audit.search(3, correlation_id="r2")) == ["C1", "C2"]
    assert sorted(e.source_key for e in audit.search(3, correlation_id="r2", entity="customers")) == [
        "C1",
        "C2",
    ]
    assert audit.search(3) == []
    assert len(audit.search(120, keys=["C1"])) == 3
    assert audit.purge_before(date(2026, 2, 1)) == 1
    assert len(audit.search(120, keys=["C1"])) == 2


def test_the_ledger_tells_progress_and_the_id_map_lists_links(tables: StateTables) -> None:
    """Keys in scope, versions seen but not synced with when; every link of an entity."""
    clock = Clock()
    ledger = LedgerRepository(tables, clock)
    ledger.mark_seen("customers", {"C1": "v1", "C2": "v1"})
    ledger.record_synced("customers", [SyncMark("C1", "v1", "id-1", "h", T0)], {})
    clock.now += timedelta(minutes=1)
    ledger.mark_seen("customers", {"C3": "v1"})
    ledger.mark_left_scope("customers", ["C1"])
    in_scope, unsynced = ledger.progress("customers")
    assert in_scope == 2
    assert unsynced == {"C2": T0, "C3": clock.now}
    idmap = IdMap(tables, clock)
    idmap.link_many("customers", {"C1": "id-1", "A/1": "id-2"})
    assert idmap.links("customers") == {"C1": "id-1", "A/1": "id-2"}


def test_queue_inspection_takes_releases_and_moves_raw_content(
    azurite_connection_string: str, unique_name: str
) -> None:
    """Depth, peek, take with release or delete; undecodable content is kept byte for byte."""
    service = QueueServiceClient.from_connection_string(azurite_connection_string)
    inspector = QueueInspector(service)
    queue = f"{unique_name}-q"
    assert inspector.depth(queue) == 0  # a queue that does not exist has nothing on it
    assert inspector.peek(queue) == []
    QueuePublisher(service).send(queue, ["first", "second"])
    inspector.send_raw(queue, "%%% not base64")
    assert inspector.depth(queue) == 3
    assert [m.text for m in inspector.peek(queue, 5)] == ["first", "second", None]
    taken = list(inspector.take(queue))
    assert [(m.text, m.raw) for m in taken] == [
        ("first", encoded("first")), ("second", encoded("second")), (None, "%%% not base64")
    ]  # fmt: skip
    assert list(inspector.take(queue)) == []  # hidden while taken
    inspector.delete(taken[0])
    inspector.release(taken[1])
    inspector.release(taken[2])
    assert sorted(m.raw for m in inspector.take(queue, visibility_timeout=1)) == sorted(
        [encoded("second"), "%%% not base64"]
    )
