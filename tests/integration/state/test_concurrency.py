"""Concurrent writers: conditional updates on ETag, retried on 412/409, lose nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.data.tables import TableEntity

from shared.records import ParkedRecord
from shared.state.dedupe import WebhookDedupe
from shared.state.parked import ParkedRecords
from shared.state.tables import StateTables, mutate


def increment(current: TableEntity | None) -> dict[str, Any]:
    return {"Count": (0 if current is None else int(current["Count"])) + 1}


def test_racing_increments_all_land(tables: StateTables) -> None:
    """Four threads incrementing one counter 15 times each end at exactly 60."""
    table = tables.table("race")

    def worker(_: int) -> None:
        for _ in range(15):
            mutate(table, "p", "counter", increment, attempts=200)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(worker, range(4)))
    assert table.get_entity("p", "counter")["Count"] == 60


def test_racing_parks_of_one_record_count_every_attempt(tables: StateTables) -> None:
    """Parking the same record from several workers at once counts each attempt once."""
    parked = ParkedRecords(tables)
    record = ParkedRecord("CustomerOrder", "C/1", "invalid_value", "bad", "ifs->dataverse")
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: parked.park(record), range(12)))
    entry = parked.get("CustomerOrder", "C/1")
    assert entry is not None
    assert entry.attempts == 12


def test_change_returning_none_writes_nothing(tables: StateTables) -> None:
    """A change that declines leaves the table untouched."""
    table = tables.table("race")
    assert mutate(table, "p", "absent", lambda current: None) is None
    assert list(table.list_entities()) == []


def test_row_deleted_between_read_and_write_is_recreated(tables: StateTables) -> None:
    """If another writer deletes the row after our read, the next attempt sees it absent and creates it."""
    table = tables.table("race")
    table.create_entity({"PartitionKey": "p", "RowKey": "gone", "Count": 5})
    calls = 0

    def delete_then_increment(current: TableEntity | None) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            table.delete_entity("p", "gone")  # the competing writer, acting after our read
        return increment(current)

    mutate(table, "p", "gone", delete_then_increment)
    assert table.get_entity("p", "gone")["Count"] == 1
    assert calls == 2


def test_expired_claim_is_taken_over_once_by_racing_deliveries(tables: StateTables) -> None:
    """Eight concurrent redeliveries of an expired event: exactly one of them wins the takeover."""
    now = [datetime(2026, 11, 29, tzinfo=UTC)]
    dedupe = WebhookDedupe(tables, clock=lambda: now[0])
    assert dedupe.claim("evt", timedelta(minutes=5))
    now[0] += timedelta(hours=1)
    with ThreadPoolExecutor(max_workers=8) as pool:
        wins = list(pool.map(lambda _: dedupe.claim("evt", timedelta(minutes=5)), range(8)))
    assert wins.count(True) == 1


class ParkedAgainBeforeDelete:
    """An Azure SDK TableClient whose first delete meets a park that another worker makes just before it."""

    def __init__(self, table: Any, park_again: Any) -> None:
        self._table = table
        self._park_again = park_again

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def delete_entity(self, *args: Any, **kwargs: Any) -> None:
        park_again, self._park_again = self._park_again, None
        if park_again is not None:
            park_again()
        self._table.delete_entity(*args, **kwargs)


class RacingTables(StateTables):
    """State tables whose ``parked`` table is raced as ``ParkedAgainBeforeDelete`` describes."""

    def __init__(self, tables: StateTables, park_again: Any) -> None:
        self._tables = tables
        self._park_again = park_again

    def table(self, name: str) -> Any:
        return ParkedAgainBeforeDelete(self._tables.table(name), self._park_again)


def test_resolve_does_not_drop_a_record_parked_again_meanwhile(tables: StateTables) -> None:
    """Resolve reads the entry, another worker parks the record again, the delete is refused on ETag."""
    record = ParkedRecord("CustomerOrder", "C/2", "invalid_value", "first failure", "ifs->dataverse")
    other_worker = ParkedRecords(tables)
    other_worker.park(record)
    replayer = ParkedRecords(
        RacingTables(tables, lambda: other_worker.park(replace(record, message="second failure")))
    )
    assert replayer.resolve("CustomerOrder", "C/2") is False
    entry = other_worker.get("CustomerOrder", "C/2")
    assert entry is not None
    assert (entry.message, entry.attempts) == ("second failure", 2)
    assert replayer.resolve("CustomerOrder", "C/2") is True
    assert other_worker.get("CustomerOrder", "C/2") is None
