"""Requests whose answer is lost after the simulator applied them: no false error, nothing done twice.

The simulator's ``after`` faults run the request, then replace its answer with a 503 or drop the
connection, which is what a timeout after a successful write looks like to the client.
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.dataverse.actions import DataverseActions
from shared.dataverse.batch import BatchOperation, ChangeSet, execute_batch
from shared.dataverse.bulk import BulkUpserter
from shared.dataverse.errors import (
    AlreadyExistsError,
    ConcurrencyConflictError,
    DataverseUnavailableError,
    ServerError,
    WriteOutcomeUnknownError,
)
from shared.platform.retry import recording_waits
from simulators.common.faults import FaultPlan
from tests.integration.dataverse.conftest import DataverseStack
from tests.integration.dataverse.sales import quote
from tests.integration.dataverse.test_client import account_key

APPLIED_THEN_503 = {"kind": "error", "status": 503, "after": True}
APPLIED_THEN_DROPPED = {"kind": "drop", "after": True}


def fault_next(dataverse: DataverseStack, *steps: Any, method: str) -> None:
    """The next ``method`` requests to the Web API meet ``steps``; the rest go through."""
    plan = {"script": list(steps), "paths": ["/api/data/*"], "methods": [method]}
    dataverse.simulator.admin.faults.set_plan(FaultPlan.from_json(plan))


def names(dataverse: DataverseStack, table: str) -> list[str]:
    return [str(row.get("name")) for row in dataverse.simulator.org.store.rows(table)]


@pytest.mark.parametrize("lost", [APPLIED_THEN_503, APPLIED_THEN_DROPPED], ids=["503", "dropped"])
def test_a_create_only_upsert_retried_after_a_lost_answer_is_not_blamed_on_another_writer(
    dataverse: DataverseStack, lost: dict[str, Any]
) -> None:
    """The first attempt created the row; the retry's 412 is WriteOutcomeUnknownError, not AlreadyExists."""
    client = dataverse.client()
    account_key(dataverse, client)
    fault_next(dataverse, lost, method="PATCH")
    with recording_waits(), pytest.raises(WriteOutcomeUnknownError) as caught:
        client.upsert("accounts", {"accountnumber": "C1"}, {"name": "mine"}, mode="create_only")
    assert not isinstance(caught.value, AlreadyExistsError)
    assert isinstance(caught.value.refusal, AlreadyExistsError)
    assert caught.value.transient is False
    assert names(dataverse, "account") == ["mine"]


def test_a_create_only_upsert_refused_after_a_throttle_is_someone_elses_row(
    dataverse: DataverseStack,
) -> None:
    """A 429 means the first attempt never ran, so the retry's 412 really is an existing row."""
    client = dataverse.client()
    account_key(dataverse, client)
    client.upsert("accounts", {"accountnumber": "C1"}, {"name": "theirs"})
    fault_next(dataverse, "throttle", method="PATCH")
    with recording_waits(), pytest.raises(AlreadyExistsError):
        client.upsert("accounts", {"accountnumber": "C1"}, {"name": "mine"}, mode="create_only")


def test_an_update_with_an_etag_retried_after_a_lost_answer_is_not_a_conflict(
    dataverse: DataverseStack,
) -> None:
    """The first attempt moved the version on; the retry's 412 is WriteOutcomeUnknownError."""
    client = dataverse.client()
    row_id = client.create("accounts", {"name": "before"}).id
    assert row_id is not None
    row = client.get("accounts", row_id)
    assert row is not None
    fault_next(dataverse, APPLIED_THEN_DROPPED, method="PATCH")
    with recording_waits(), pytest.raises(WriteOutcomeUnknownError) as caught:
        client.update("accounts", row_id, {"name": "after"}, if_match=row["@odata.etag"])
    assert isinstance(caught.value.refusal, ConcurrencyConflictError)
    assert names(dataverse, "account") == ["after"]


def test_a_retried_upsert_does_not_claim_to_know_whether_it_created(dataverse: DataverseStack) -> None:
    """The lost attempt created the row and the retry updated it: ``created`` is None, not False."""
    client = dataverse.client()
    account_key(dataverse, client)
    fault_next(dataverse, APPLIED_THEN_503, method="PATCH")
    with recording_waits():
        written = client.upsert(
            "accounts", {"accountnumber": "C1"}, {"name": "x"}, return_representation=True, select=["name"]
        )
    assert written.created is None
    assert names(dataverse, "account") == ["x"]


@pytest.mark.parametrize(
    ("lost", "error"),
    [(APPLIED_THEN_503, ServerError), (APPLIED_THEN_DROPPED, DataverseUnavailableError)],
    ids=["503", "dropped"],
)
def test_a_conversion_whose_answer_was_lost_is_not_resent(
    dataverse: DataverseStack, lost: dict[str, Any], error: type[Exception]
) -> None:
    """ConvertQuoteToSalesOrder is not idempotent: after a lost answer it fails, leaving one order."""
    client = dataverse.client()
    quote_id = quote(client)
    fault_next(dataverse, lost, method="POST")
    with recording_waits(), pytest.raises(error):
        DataverseActions(client).convert_quote_to_order(quote_id, ["salesorderid"])
    assert len(dataverse.simulator.org.store.rows("salesorder")) == 1


def test_a_throttled_conversion_is_resent(dataverse: DataverseStack) -> None:
    """A 429 means it did not run: the action is sent again and makes its one order."""
    client = dataverse.client()
    quote_id = quote(client)
    fault_next(dataverse, "throttle", method="POST")
    with recording_waits() as waits:
        order = DataverseActions(client).convert_quote_to_order(quote_id, ["salesorderid"])
    assert waits == [1.0]
    assert [str(row["salesorderid"]) for row in dataverse.simulator.org.store.rows("salesorder")] == [
        order["salesorderid"]
    ]


@pytest.mark.parametrize(
    ("lost", "error"),
    [(APPLIED_THEN_503, ServerError), (APPLIED_THEN_DROPPED, DataverseUnavailableError)],
    ids=["503", "dropped"],
)
def test_a_batch_holding_a_create_is_not_resent_after_a_lost_answer(
    dataverse: DataverseStack, lost: dict[str, Any], error: type[Exception]
) -> None:
    """A $batch with a POST ran once; resending it would create the account twice."""
    client = dataverse.client()
    fault_next(dataverse, lost, method="POST")
    with recording_waits(), pytest.raises(error):
        execute_batch(
            client,
            [
                ChangeSet([BatchOperation("POST", "accounts", {"name": "once"})]),
                BatchOperation("GET", "WhoAmI"),
            ],
        )
    assert names(dataverse, "account") == ["once"]


def test_a_batch_of_updates_is_resent_after_a_lost_answer(dataverse: DataverseStack) -> None:
    """Without a create the batch is idempotent: the retry's answer comes back."""
    client = dataverse.client()
    row_id = client.create("accounts", {"name": "before"}).id
    assert row_id is not None
    fault_next(dataverse, APPLIED_THEN_503, method="POST")
    with recording_waits():
        results = execute_batch(client, [BatchOperation("PATCH", f"accounts({row_id})", {"name": "after"})])
    assert [result.status for result in results] == [204]
    assert names(dataverse, "account") == ["after"]


@pytest.mark.parametrize("lost", [APPLIED_THEN_503, APPLIED_THEN_DROPPED], ids=["503", "dropped"])
def test_a_batch_retried_after_a_lost_answer_does_not_report_its_own_write_as_a_conflict(
    dataverse: DataverseStack, lost: dict[str, Any]
) -> None:
    """As for a single request: the retried $batch's 412s are WriteOutcomeUnknownError, not someone else's."""
    client = dataverse.client()
    account_key(dataverse, client)
    row_id = client.create("accounts", {"name": "before"}).id
    assert row_id is not None
    row = client.get("accounts", row_id)
    assert row is not None
    fault_next(dataverse, lost, method="POST")
    operations = [
        BatchOperation("PATCH", "accounts(accountnumber='C1')", {"name": "new"}, {"If-None-Match": "*"}),
        BatchOperation("PATCH", f"accounts({row_id})", {"name": "after"}, {"If-Match": row["@odata.etag"]}),
    ]
    with recording_waits():
        results = execute_batch(client, operations, continue_on_error=True)
    assert [type(result.error) for result in results] == [WriteOutcomeUnknownError] * 2
    assert all(result.after_lost_answer and not result.ok for result in results)
    refusals = [
        result.error.refusal for result in results if isinstance(result.error, WriteOutcomeUnknownError)
    ]
    assert [type(refusal) for refusal in refusals] == [AlreadyExistsError, ConcurrencyConflictError]
    assert sorted(names(dataverse, "account")) == ["after", "new"]


def test_a_batch_delete_whose_answer_was_lost_is_done(dataverse: DataverseStack) -> None:
    """The lost attempt deleted the row; the retry's 404 is success, as for a single DELETE."""
    client = dataverse.client()
    row_id = client.create("accounts", {"name": "doomed"}).id
    fault_next(dataverse, APPLIED_THEN_503, method="POST")
    with recording_waits():
        [result] = execute_batch(client, [BatchOperation("DELETE", f"accounts({row_id})")])
    assert (result.status, result.ok, result.error) == (404, True, None)
    assert names(dataverse, "account") == []


def test_a_first_attempt_batch_412_still_blames_the_other_writer(dataverse: DataverseStack) -> None:
    """Without a lost answer the 412 is what it says: AlreadyExistsError."""
    client = dataverse.client()
    account_key(dataverse, client)
    client.upsert("accounts", {"accountnumber": "C1"}, {"name": "theirs"})
    operation = BatchOperation(
        "PATCH", "accounts(accountnumber='C1')", {"name": "mine"}, {"If-None-Match": "*"}
    )
    [result] = execute_batch(client, [operation], continue_on_error=True)
    assert isinstance(result.error, AlreadyExistsError)
    assert not result.after_lost_answer


def test_a_bulk_upsert_through_a_retried_batch_does_not_claim_to_know_what_it_created(
    dataverse: DataverseStack,
) -> None:
    """$batch answered after a lost answer: the row's 200 may hide the lost attempt's create (None)."""
    client = dataverse.client()
    account_key(dataverse, client)
    fault_next(dataverse, APPLIED_THEN_503, method="POST")
    upserter = BulkUpserter(client, use_bulk=False, return_created=True)
    with recording_waits():
        [result] = upserter.upsert_many("accounts", "account", [({"accountnumber": "C1"}, {"name": "x"})])
    assert (result.ok, result.via, result.created) == (True, "$batch", None)


def test_a_create_committed_after_the_gateway_gave_up_appears_later(dataverse: DataverseStack) -> None:
    """commit_late on Dataverse: the POST is answered 504, and its row appears only two requests later."""
    client = dataverse.client()
    fault_next(dataverse, {"kind": "commit_late", "status": 504, "after_requests": 2}, method="POST")
    with recording_waits(), pytest.raises(ServerError):
        client.create("accounts", {"name": "late"})
    assert names(dataverse, "account") == []
    assert list(client.query("accounts", select=["name"])) == []
    assert [row["name"] for row in client.query("accounts", select=["name"])] == ["late"]
