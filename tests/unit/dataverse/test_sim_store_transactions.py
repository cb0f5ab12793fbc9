"""Store transactions: all writes or none, joined when nested, and a journal without rolled-back writes."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable

import pytest

from simulators.dataverse.keys import Locator
from simulators.dataverse.store import Store
from tests.unit.dataverse.simulated_org import fresh_org


class AbandonedError(Exception):
    """Raised to abandon a transaction."""


def abandoned(store: Store, work: Callable[[], object]) -> None:
    """Do ``work`` in a transaction, then fail it."""
    with store.transaction():
        work()
        raise AbandonedError


def test_a_failed_transaction_restores_rows_and_journal() -> None:
    """Inserts vanish, updates and deletes are undone, and the journal is as before."""
    store = Store()
    kept, changed, deleted = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for row_id in (kept, changed, deleted):
        store.put("t", row_id, {"v": 1})
    journal = list(store.journal)
    snapshot = {row_id: store.get("t", row_id) for row_id in (kept, changed, deleted)}

    def work() -> None:
        store.put("t", uuid.uuid4(), {"v": 2})
        store.put("t", changed, {"v": 2})
        store.put("t", changed, {"v": 3})
        store.remove("t", deleted)

    with pytest.raises(AbandonedError):
        abandoned(store, work)
    assert store.journal == journal
    assert {row_id: store.get("t", row_id) for row_id in snapshot} == snapshot
    assert len(store.rows("t")) == 3


def test_versions_are_not_reused_after_a_rollback() -> None:
    """ETags never repeat: the version counter keeps counting past a rolled-back write."""
    store = Store()
    with pytest.raises(AbandonedError):
        abandoned(store, lambda: store.put("t", uuid.uuid4(), {}))
    rolled_back = store.version
    assert store.put("t", uuid.uuid4(), {})["versionnumber"] == rolled_back + 1


def test_outcome_callbacks_wait_for_the_outermost_transaction() -> None:
    """A nested request's commit callback runs when the outer transaction commits, not before."""
    store = Store()
    seen: list[str] = []
    with store.transaction():
        with store.transaction():
            store.after_outcome(lambda: seen.append("committed"), lambda: seen.append("rolled back"))
        assert seen == []
    assert seen == ["committed"]
    store.after_outcome(lambda: seen.append("at once"), lambda: seen.append("never"))
    assert seen == ["committed", "at once"]


def test_outcome_callbacks_hear_of_a_rollback() -> None:
    """When the outer transaction fails, the waiting requests are told they were rolled back."""
    store = Store()
    seen: list[str] = []

    def inner_request() -> None:
        with store.transaction():
            store.after_outcome(lambda: seen.append("committed"), lambda: seen.append("rolled back"))

    with pytest.raises(AbandonedError):
        abandoned(store, inner_request)
    assert seen == ["rolled back"]


def test_an_outer_failure_undoes_a_committed_inner_transaction() -> None:
    """An inner transaction's writes share the outer one's fate."""
    store = Store()
    inner = uuid.uuid4()

    def committed_inner() -> None:
        with store.transaction():
            store.put("t", inner, {})

    with pytest.raises(AbandonedError):
        abandoned(store, committed_inner)
    assert store.get("t", inner) is None
    assert store.journal == []


def test_alternate_key_lookups_follow_a_rollback() -> None:
    """A key value changed inside a failed transaction is found under its old value again, not the new one."""
    simulated = fresh_org()
    simulated.key("account", "accountnumber")
    row, _ = simulated.upsert("account", "accountnumber='OLD'", {"name": "A"})
    table = simulated.table("account")

    def renumber() -> None:
        simulated.org.update(
            table, Locator("x", id=row["accountid"]), {"accountnumber": "NEW"}, simulated.caller
        )
        assert simulated.org.keys.find(table, {"accountnumber": "new"}) is not None

    with pytest.raises(AbandonedError):
        abandoned(simulated.org.store, renumber)
    assert simulated.org.keys.find(table, {"accountnumber": "NEW"}) is None
    found = simulated.org.keys.find(table, {"accountnumber": "old"})
    assert found is not None
    assert found["accountid"] == row["accountid"]


class ObservedStore(Store):
    """The real store, also counting other threads' writes that start waiting on a paused transaction."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting_writers = 0
        self.writers_changed = threading.Condition()

    def wait_until_writable(self) -> None:
        if self._paused_by not in (None, threading.get_ident()):
            with self.writers_changed:
                self.waiting_writers += 1
                self.writers_changed.notify_all()
        super().wait_until_writable()


def test_a_paused_transaction_lets_others_read_and_makes_their_writes_wait() -> None:
    """During call_out others read the paused rows; their writes wait, then commit or fail on their own."""
    store = ObservedStore()
    mine, theirs, doomed, loose = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    seen: list[object] = []

    def committing_writer() -> None:
        with store.transaction():
            store.put("t", theirs, {"v": "theirs"})

    def failing_writer() -> None:
        with contextlib.suppress(AbandonedError):
            abandoned(store, lambda: store.put("t", doomed, {"v": "doomed"}))

    def writer_without_transaction() -> None:  # as the webhook worker updates its system jobs
        store.put("t", loose, {"v": "loose"})

    writers = [
        threading.Thread(target=target)
        for target in (committing_writer, failing_writer, writer_without_transaction)
    ]

    def outbound_call() -> str:
        seen.append(store.get("t", mine))  # would wait for the lock if the pause held it
        for writer in writers:
            writer.start()
        with store.writers_changed:  # both writers are queued behind the paused transaction
            assert store.writers_changed.wait_for(lambda: store.waiting_writers >= len(writers), 10)
        return "answered"

    def work() -> None:
        store.put("t", mine, {"v": "mine"})
        assert store.call_out(outbound_call) == "answered"

    with pytest.raises(AbandonedError):
        abandoned(store, work)
    for writer in writers:
        writer.join(10)
    assert [row["v"] if isinstance(row, dict) else row for row in seen] == ["mine"]
    assert store.get("t", mine) is None
    assert store.get("t", theirs) is not None  # committed after the rollback, not swept up in it
    assert store.get("t", doomed) is None  # its own transaction, rolled back on its own failure
    assert store.get("t", loose) is not None


def test_call_out_hands_back_the_calls_exception() -> None:
    """An exception of the outbound call is raised in the paused thread, with the lock held again."""
    store = Store()

    def failing() -> None:
        raise ValueError("endpoint unreachable")

    with store.transaction(), pytest.raises(ValueError, match="unreachable"):
        store.call_out(failing)
    assert store.lock.acquire(blocking=False)
    store.lock.release()
