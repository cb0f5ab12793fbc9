"""BulkUpserter over HTTPS: thousands of rows land, bad rows are isolated and reported."""

from __future__ import annotations

import math
import uuid
from collections import Counter
from typing import Any

import pytest

from shared.dataverse.bulk import BulkUpserter, RecordResult
from shared.dataverse.errors import BadRequestError, ThrottledError
from shared.dataverse.keys import UnaddressableKeyError
from shared.platform.retry import RetryPolicy, recording_waits
from simulators.common.faults import FaultPlan
from tests.integration.dataverse.conftest import DataverseStack

TOO_LONG = "x" * 161  # account.name holds 160 characters


def accounts(n: int, *, bad: frozenset[int] = frozenset()) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [
        ({"accountnumber": f"C{i:06d}"}, {"name": TOO_LONG if i in bad else f"Account {i}", "creditlimit": i})
        for i in range(n)
    ]


def prepare(dataverse: DataverseStack, *, bulk: bool) -> None:
    """The accountnumber key (Active); the bulk messages for accounts switched on or off."""
    dataverse.simulator.admin.run_action("define_key", {"table": "account", "columns": ["accountnumber"]})
    dataverse.simulator.admin.run_action("set_message_availability", {"table": "account", "available": bulk})
    dataverse.simulator.admin.log.clear()


def calls(dataverse: DataverseStack) -> Counter[str]:
    """Requests the simulator saw, by kind."""
    seen: Counter[str] = Counter()
    for record in dataverse.simulator.admin.log.entries():
        if record.path.endswith("UpsertMultiple"):
            seen["UpsertMultiple"] += 1
        elif record.path.endswith("$batch"):
            seen["$batch"] += 1
        elif "sdkmessagefilters" in record.path:
            seen["probe"] += 1
        elif record.method == "PATCH":
            seen["single"] += 1
        else:
            seen[record.method] += 1
    return seen


def stored(dataverse: DataverseStack) -> dict[str, tuple[str, int | None]]:
    return {
        str(row["accountnumber"]): (
            str(row["name"]),
            None if row["creditlimit"] is None else int(row["creditlimit"]),
        )
        for row in dataverse.simulator.org.store.rows("account")
    }


def assert_results(results: list[RecordResult], n: int, bad: set[int]) -> None:
    assert [r.index for r in results] == list(range(n))
    assert {r.index for r in results if not r.ok} == bad
    for result in results:
        if result.index in bad:
            assert isinstance(result.error, BadRequestError)
            assert result.error.code == "0x80044331"
            assert "'name' attribute of the 'account' entity" in result.error.message
        else:
            assert result.error is None


def test_thousands_of_rows_land_with_a_bad_row_isolated(dataverse: DataverseStack) -> None:
    """3000 accounts by UpsertMultiple in chunks of 500; the chunk holding a bad row is redone as $batch."""
    prepare(dataverse, bulk=True)
    rows = accounts(3000, bad=frozenset({1234}))
    results = BulkUpserter(dataverse.client(), chunk_size=500, batch_size=100).upsert_many(
        "accounts", "account", rows
    )

    assert_results(results, 3000, {1234})
    assert {r.via for r in results if 1000 <= r.index < 1500} == {"$batch"}
    assert {r.via for r in results if not 1000 <= r.index < 1500} == {"UpsertMultiple"}
    expected = {key["accountnumber"]: (body["name"], body["creditlimit"]) for key, body in rows}
    del expected["C001234"]
    assert stored(dataverse) == expected
    # One probe, six UpsertMultiple (one failed whole), five $batch of 100 for the failed chunk.
    assert calls(dataverse) == Counter({"probe": 1, "UpsertMultiple": 6, "$batch": 5})


def test_a_second_run_updates_and_reuses_the_probe(dataverse: DataverseStack) -> None:
    """Upserting the same keys again updates them in place; the table's support is asked once."""
    prepare(dataverse, bulk=True)
    upserter = BulkUpserter(dataverse.client(), chunk_size=400)
    upserter.upsert_many("accounts", "account", accounts(800))
    changed = [(key, {**body, "name": body["name"] + " v2"}) for key, body in accounts(800)]
    results = upserter.upsert_many("accounts", "account", changed)
    assert all(r.ok and r.via == "UpsertMultiple" for r in results)
    assert len(stored(dataverse)) == 800
    assert {name for name, _ in stored(dataverse).values()} == {f"Account {i} v2" for i in range(800)}
    assert calls(dataverse) == Counter({"probe": 1, "UpsertMultiple": 4})


def test_tables_without_upsert_multiple_use_batch(dataverse: DataverseStack) -> None:
    """Accounts switched to lack UpsertMultiple: 2500 rows in $batch requests of 100, bad rows reported."""
    prepare(dataverse, bulk=False)
    bad = {7, 2222}
    results = BulkUpserter(dataverse.client(), batch_size=100).upsert_many(
        "accounts", "account", accounts(2500, bad=frozenset(bad))
    )
    assert_results(results, 2500, bad)
    assert {r.via for r in results} == {"$batch"}
    assert len(stored(dataverse)) == 2498
    assert calls(dataverse) == Counter({"probe": 1, "$batch": 25})


def test_without_batch_single_requests(dataverse: DataverseStack) -> None:
    """When $batch answers 404 the rows go one PATCH each, and $batch is not tried again."""
    prepare(dataverse, bulk=False)
    dataverse.simulator.admin.faults.set_plan(
        FaultPlan.from_json({"rates": {"error": 1.0}, "error_status": 404, "paths": ["*$batch"]})
    )
    upserter = BulkUpserter(dataverse.client(), batch_size=50)
    results = upserter.upsert_many("accounts", "account", accounts(120, bad=frozenset({3})))
    assert_results(results, 120, {3})
    assert {r.via for r in results} == {"single"}
    assert upserter.batch_available is False
    assert calls(dataverse) == Counter({"probe": 1, "$batch": 1, "single": 120})


def test_a_refused_upsert_multiple_falls_back_and_is_remembered(dataverse: DataverseStack) -> None:
    """The probe said yes but the table no longer has the message: $batch now, no UpsertMultiple later."""
    prepare(dataverse, bulk=True)
    upserter = BulkUpserter(dataverse.client(), chunk_size=100)
    assert upserter.supports("account")
    dataverse.simulator.admin.run_action(
        "set_message_availability", {"table": "account", "messages": ["UpsertMultiple"], "available": False}
    )
    dataverse.simulator.admin.log.clear()
    results = upserter.upsert_many("accounts", "account", accounts(250))
    assert all(r.ok and r.via == "$batch" for r in results)
    assert calls(dataverse) == Counter({"UpsertMultiple": 1, "$batch": 3})


def test_repeated_keys_are_all_written_in_order(dataverse: DataverseStack) -> None:
    """A key repeated in the input (in any case) starts a new chunk; the last occurrence wins."""
    prepare(dataverse, bulk=True)
    rows = [
        ({"accountnumber": "A1"}, {"name": "first"}),
        ({"accountnumber": "B1"}, {"name": "b"}),
        ({"accountnumber": "a1"}, {"name": "second"}),
    ]
    results = BulkUpserter(dataverse.client()).upsert_many("accounts", "account", rows)
    assert all(r.ok for r in results)
    assert sorted((n, name) for n, (name, _) in stored(dataverse).items()) == [("A1", "second"), ("B1", "b")]
    assert calls(dataverse)["UpsertMultiple"] == 2


def test_unaddressable_keys_fail_alone_before_anything_is_sent(dataverse: DataverseStack) -> None:
    """A key value with '/' is reported with UnaddressableKeyError; the other rows are written."""
    prepare(dataverse, bulk=True)
    rows = [({"accountnumber": "OK1"}, {"name": "a"}), ({"accountnumber": "A/B"}, {"name": "b"})]
    first, second = BulkUpserter(dataverse.client()).upsert_many("accounts", "account", rows)
    assert first.ok
    assert (second.ok, second.via) == (False, "none")
    assert isinstance(second.error, UnaddressableKeyError)
    assert set(stored(dataverse)) == {"OK1"}


def test_return_created_reports_creates_updates_and_ids(dataverse: DataverseStack) -> None:
    """With return_created each $batch result says created or updated and carries the row id."""
    prepare(dataverse, bulk=False)
    upserter = BulkUpserter(dataverse.client(), return_created=True)
    upserter.upsert_many("accounts", "account", accounts(2))
    results = upserter.upsert_many("accounts", "account", accounts(3))
    assert [r.created for r in results] == [False, False, True]
    ids = {
        str(row["accountnumber"]): row["accountid"] for row in dataverse.simulator.org.store.rows("account")
    }
    assert [r.id for r in results] == [ids["C000000"], ids["C000001"], ids["C000002"]]
    assert all(isinstance(r.id, uuid.UUID) for r in results)


def test_persistent_throttling_stops_the_run_with_transient_errors(dataverse: DataverseStack) -> None:
    """Throttled past the retries: that chunk and the rest report ThrottledError; nothing more is sent."""
    prepare(dataverse, bulk=True)
    dataverse.simulator.admin.faults.set_plan(
        FaultPlan.from_json(
            {"script": [{"kind": "throttle", "retry_after": 1, "times": 100}], "paths": ["*UpsertMultiple"]}
        )
    )
    client = dataverse.client(retry=RetryPolicy(attempts=2))
    with recording_waits(advance=dataverse.clock.advance):
        results = BulkUpserter(client, chunk_size=100).upsert_many("accounts", "account", accounts(300))
    assert all(isinstance(r.error, ThrottledError) and r.error.transient for r in results)
    assert {r.via for r in results} == {"none"}
    assert calls(dataverse) == Counter({"probe": 1, "UpsertMultiple": 2})
    assert stored(dataverse) == {}


@pytest.mark.parametrize("size", [0, 1001])
def test_batch_size_is_bounded(dataverse: DataverseStack, size: int) -> None:
    """A $batch holds 1 to 1000 requests."""
    with pytest.raises(ValueError, match="batch_size"):
        BulkUpserter(dataverse.client(), batch_size=size)


def test_chunk_count_follows_chunk_size(dataverse: DataverseStack) -> None:
    """1001 rows in chunks of 250 take five UpsertMultiple requests."""
    prepare(dataverse, bulk=True)
    results = BulkUpserter(dataverse.client(), chunk_size=250).upsert_many(
        "accounts", "account", accounts(1001)
    )
    assert all(r.ok for r in results)
    assert calls(dataverse)["UpsertMultiple"] == math.ceil(1001 / 250)


def test_single_requests_stop_at_persistent_throttling(dataverse: DataverseStack) -> None:
    """Without bulk and $batch a PATCH throttled past the retries stops the run; nothing more is sent."""
    prepare(dataverse, bulk=False)
    dataverse.simulator.admin.faults.set_plan(
        FaultPlan.from_json(
            {"script": [{"kind": "throttle", "retry_after": 1, "times": 100}], "methods": ["PATCH"]}
        )
    )
    client = dataverse.client(retry=RetryPolicy(attempts=2))
    with recording_waits(advance=dataverse.clock.advance):
        results = BulkUpserter(client, use_bulk=False, use_batch=False).upsert_many(
            "accounts", "account", accounts(5)
        )
    assert [r.via for r in results] == ["single", "none", "none", "none", "none"]
    assert all(isinstance(r.error, ThrottledError) for r in results)
    assert calls(dataverse) == Counter({"single": 2})
