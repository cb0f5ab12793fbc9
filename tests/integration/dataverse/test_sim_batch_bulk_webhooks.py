"""Webhooks under $batch and the bulk actions: per-row events, nothing delivered for rolled-back writes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from shared.platform.odata_batch import BatchRequest, ChangeSet, encode_batch_request
from simulators.dataverse.sdkmessages import message_by_name, message_filter
from tests.integration.dataverse.conftest import DataverseStack, WebhookEndpoint


def register(dataverse: DataverseStack, endpoint: WebhookEndpoint, message: str, table: str) -> None:
    """An asynchronous post-operation webhook step, registered as the SYSTEM user."""
    org = dataverse.simulator.org
    caller = org.system_caller
    endpoint_table, step_table = org.table("serviceendpoint"), org.table("sdkmessageprocessingstep")
    assert endpoint_table is not None
    assert step_table is not None
    hook = org.create(
        endpoint_table,
        {"name": "hook", "url": endpoint.url, "contract": 8, "authtype": 4, "authvalue": "k"},
        caller,
    )
    message_row, filter_row = message_by_name(org, message), message_filter(org, message, table)
    assert message_row is not None
    assert filter_row is not None
    org.create(
        step_table,
        {
            "name": f"hook: {message} of {table}",
            "stage": 40,
            "mode": 1,
            "rank": 1,
            "eventhandler_serviceendpoint@odata.bind": f"/serviceendpoints({hook['serviceendpointid']})",
            "sdkmessageid@odata.bind": f"/sdkmessages({message_row['sdkmessageid']})",
            "sdkmessagefilterid@odata.bind": f"/sdkmessagefilters({filter_row['sdkmessagefilterid']})",
        },
        caller,
    )


def delivered(dataverse: DataverseStack, endpoint: WebhookEndpoint) -> list[tuple[str, uuid.UUID]]:
    assert dataverse.simulator.drain_webhooks(30)
    return [
        (call.context().message_name, call.context().primary_entity_id) for call in endpoint.receiver.calls
    ]


def post(dataverse: DataverseStack, path: str, **kwargs: Any) -> httpx.Response:
    with dataverse.raw() as http:
        return http.post(
            f"{dataverse.url}/api/data/v9.2/{path}",
            headers={"Authorization": f"Bearer {dataverse.token()}", **kwargs.pop("headers", {})},
            **kwargs,
        )


def create(entity_set: str, body: dict[str, Any]) -> BatchRequest:
    return BatchRequest(
        "POST",
        f"/api/data/v9.2/{entity_set}",
        {"Content-Type": "application/json"},
        json.dumps(body).encode(),
    )


def test_a_rolled_back_change_set_delivers_nothing(
    dataverse: DataverseStack, endpoint: WebhookEndpoint
) -> None:
    """The account created before the failing request is rolled back, and so is its Create delivery."""
    register(dataverse, endpoint, "Create", "account")
    content_type, body = encode_batch_request(
        [ChangeSet([create("accounts", {"name": "rolled back"}), create("accounts", {"name": "x" * 161})])]
    )
    response = post(dataverse, "$batch", headers={"Content-Type": content_type}, content=body)
    assert response.status_code == 400
    assert delivered(dataverse, endpoint) == []
    assert dataverse.simulator.org.store.rows("asyncoperation") == []


def test_a_committed_change_set_delivers_each_create(
    dataverse: DataverseStack, endpoint: WebhookEndpoint
) -> None:
    """Two accounts in a change set: two Create deliveries once the change set has committed."""
    register(dataverse, endpoint, "Create", "account")
    content_type, body = encode_batch_request(
        [ChangeSet([create("accounts", {"name": "one"}), create("accounts", {"name": "two"})])]
    )
    assert post(dataverse, "$batch", headers={"Content-Type": content_type}, content=body).status_code == 200
    ids = {row["accountid"] for row in dataverse.simulator.org.store.rows("account")}
    calls = delivered(dataverse, endpoint)
    assert sorted(message for message, _ in calls) == ["Create", "Create"]
    assert {row_id for _, row_id in calls} == ids


def test_bulk_actions_raise_one_event_per_row(dataverse: DataverseStack, endpoint: WebhookEndpoint) -> None:
    """CreateMultiple of three rows fires the Create step three times; a failed one fires nothing."""
    register(dataverse, endpoint, "Create", "salesorder")
    dataverse.simulator.admin.run_action("set_message_availability", {"table": "account", "available": True})
    register(dataverse, endpoint, "Create", "account")
    targets = [{"@odata.type": "Microsoft.Dynamics.CRM.account", "name": f"A{i}"} for i in range(3)]
    response = post(dataverse, "accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets})
    assert response.status_code == 200
    calls = delivered(dataverse, endpoint)
    assert sorted((m, str(i)) for m, i in calls) == sorted(("Create", i) for i in response.json()["Ids"])

    endpoint.receiver.reset()
    bad = [*targets, {"@odata.type": "Microsoft.Dynamics.CRM.account", "name": "x" * 161}]
    response = post(dataverse, "accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": bad})
    assert response.status_code == 400
    assert delivered(dataverse, endpoint) == []
