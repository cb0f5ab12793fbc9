"""execute_batch over HTTPS: change sets, Content-ID references, stopping or continuing on error."""

from __future__ import annotations

import uuid

import pytest

from shared.dataverse.batch import BatchOperation, ChangeSet, execute_batch
from shared.dataverse.errors import BadRequestError, NotFoundError
from tests.integration.dataverse.conftest import DataverseStack


def test_change_set_with_references_then_a_read(dataverse: DataverseStack) -> None:
    """A lead, a contact and an account bound to both in one change set; a GET after it sees the account."""
    client = dataverse.client()
    results = execute_batch(
        client,
        [
            ChangeSet(
                [
                    BatchOperation("POST", "leads", {"lastname": "Lead"}, content_id="1"),
                    BatchOperation("POST", "contacts", {"lastname": "Contact"}, content_id="2"),
                    BatchOperation(
                        "POST",
                        "accounts",
                        {
                            "name": "Bound",
                            "originatingleadid@odata.bind": "$1",
                            "primarycontactid@odata.bind": "$2",
                        },
                        content_id="3",
                    ),
                ]
            ),
            BatchOperation("GET", "accounts?$select=name,_originatingleadid_value"),
        ],
    )
    assert [r.status for r in results] == [204, 204, 204, 200]
    assert all(r.ok and r.error is None for r in results)
    lead_id = results[0].entity_id
    assert lead_id is not None
    [account] = results[3].json()["value"]
    assert account["name"] == "Bound"
    assert lead_id.endswith(f"leads({account['_originatingleadid_value']})")


def test_without_continue_on_error_the_rest_is_not_executed(dataverse: DataverseStack) -> None:
    """The failing request carries its typed error; the ones after it report status 0."""
    client = dataverse.client()
    missing = uuid.uuid4()
    results = execute_batch(
        client,
        [
            BatchOperation("POST", "accounts", {"name": "first"}),
            BatchOperation("PATCH", f"accounts({missing})", {"name": "x"}, headers={"If-Match": "*"}),
            BatchOperation("POST", "accounts", {"name": "never"}),
        ],
    )
    assert [r.status for r in results] == [204, 404, 0]
    assert isinstance(results[1].error, NotFoundError)
    assert results[1].error.message == f"account With Id = {missing} Does Not Exist"
    assert not results[2].executed
    assert [row["name"] for row in dataverse.simulator.org.store.rows("account")] == ["first"]


def test_continue_on_error_and_a_failed_change_set(dataverse: DataverseStack) -> None:
    """A failed change set reports its error on each of its operations; later requests still run."""
    client = dataverse.client()
    results = execute_batch(
        client,
        [
            ChangeSet(
                [
                    BatchOperation("POST", "accounts", {"name": "rolled back"}),
                    BatchOperation("POST", "accounts", {"name": "x" * 161}),
                ]
            ),
            BatchOperation("POST", "accounts", {"name": "kept"}),
        ],
        continue_on_error=True,
    )
    assert [r.status for r in results] == [400, 400, 204]
    assert all(isinstance(r.error, BadRequestError) for r in results[:2])
    assert [row["name"] for row in dataverse.simulator.org.store.rows("account")] == ["kept"]


def test_batch_limits_are_checked_before_sending(dataverse: DataverseStack) -> None:
    """Empty batches and batches over 1000 operations are refused by the client."""
    client = dataverse.client()
    with pytest.raises(ValueError, match="at least one"):
        execute_batch(client, [])
    with pytest.raises(ValueError, match="at most 1000"):
        execute_batch(client, [BatchOperation("GET", "WhoAmI")] * 1001)


def test_polymorphic_lookups_name_their_navigation_property(dataverse: DataverseStack) -> None:
    """A task's regarding account is annotated with regardingobjectid_account_task."""
    client = dataverse.client()
    account = client.create("accounts", {"name": "A"}).id
    task = client.create(
        "tasks", {"subject": "call", "regardingobjectid_account_task@odata.bind": f"/accounts({account})"}
    ).id
    assert task is not None
    row = client.get("tasks", task, select=["subject", "_regardingobjectid_value"], annotations="*")
    assert row is not None
    assert row["_regardingobjectid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"] == (
        "regardingobjectid_account_task"
    )
    assert row["_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
