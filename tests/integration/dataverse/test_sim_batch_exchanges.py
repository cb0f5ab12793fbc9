"""The simulator reproduces the published $batch exchanges, and keeps change sets atomic.

Each batch-*.request.http is sent as published; the answer is decoded with the shared codec and compared
with the published response part by part: nesting, status, Content-ID, the set of headers, and bodies
(server-chosen ids and ETags checked for form and consistency with the store instead of equality).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx

from shared.platform.odata_batch import (
    BatchRequest,
    BatchResponse,
    BatchResponseItem,
    ChangeSet,
    decode_batch_response,
    encode_batch_request,
)
from tests.integration.dataverse.conftest import DataverseStack
from tests.integration.dataverse.vectors import ACCOUNT, create_account, expected_response, send_vector

ENTITY_URL = re.compile(r"^(?P<root>.+/api/data/v9\.2/)(?P<set>\w+)\((?P<id>[0-9a-f-]{36})\)$")


def decode(response: httpx.Response) -> list[BatchResponseItem]:
    return decode_batch_response(response.headers["content-type"], response.content)


def published(dataverse: DataverseStack, name: str) -> tuple[int, list[BatchResponseItem]]:
    message = expected_response(dataverse, name)
    first = message.body.splitlines()[0]
    content_type = f"multipart/mixed; boundary={first[2:]}"  # the published responses show no Content-Type
    return int(message.start.split()[1]), decode_batch_response(content_type, message.body.encode())


def flat(items: list[BatchResponseItem]) -> list[BatchResponse]:
    return [part for item in items for part in (item if isinstance(item, list) else [item])]


def assert_same_shape(ours: list[BatchResponseItem], theirs: list[BatchResponseItem]) -> None:
    """Same nesting, statuses, Content-IDs and header names; Location and OData-EntityId agree."""

    def outline(items: list[BatchResponseItem]) -> list[Any]:
        return [
            [(p.status, p.content_id) for p in item]
            if isinstance(item, list)
            else (item.status, item.content_id)
            for item in items
        ]

    assert outline(ours) == outline(theirs)
    for mine, published_part in zip(flat(ours), flat(theirs), strict=True):
        assert set(mine.headers) == set(published_part.headers)
        if "location" in mine.headers:
            assert mine.headers["location"] == mine.headers["odata-entityid"]
            assert ENTITY_URL.match(mine.headers["location"])
        if "req_id" in mine.headers:
            assert uuid.UUID(mine.headers["req_id"])


def created(dataverse: DataverseStack, part: BatchResponse) -> dict[str, Any]:
    """The stored row a 204 create part names."""
    match = ENTITY_URL.match(part.headers["odata-entityid"])
    assert match is not None
    assert match.group("root") == f"{dataverse.url}/api/data/v9.2/"
    table = dataverse.simulator.org.table_for_set(match.group("set"))
    assert table is not None
    row = dataverse.simulator.org.store.get(table.logical_name, uuid.UUID(match.group("id")))
    assert row is not None
    return row


def test_change_set_with_a_get_outside(dataverse: DataverseStack) -> None:
    """Three task creates in a change set, then the account's tasks read back in the same batch."""
    create_account(dataverse)
    response = send_vector(dataverse, "batch-changeset")
    status, theirs = published(dataverse, "batch-changeset")
    assert response.status_code == status == 200
    assert response.headers["odata-version"] == "4.0"
    ours = decode(response)
    assert_same_shape(ours, theirs)

    change_set = ours[0]
    assert isinstance(change_set, list)
    tasks = [created(dataverse, part) for part in change_set]
    assert [t["subject"] for t in tasks] == ["Task 1 in batch", "Task 2 in batch", "Task 3 in batch"]
    assert all(t["regardingobjectid"].id == uuid.UUID(ACCOUNT) for t in tasks)

    read, published_read = ours[1], theirs[1]
    assert isinstance(read, BatchResponse)
    assert isinstance(published_read, BatchResponse)
    assert read.headers["content-type"].startswith("application/json; odata.metadata=minimal")
    body, expected = json.loads(read.body), json.loads(published_read.body)
    assert body["@odata.context"] == expected["@odata.context"]
    assert [set(row) for row in body["value"]] == [set(row) for row in expected["value"]]
    assert [row["subject"] for row in body["value"]] == [row["subject"] for row in expected["value"]]
    assert [row["activityid"] for row in body["value"]] == [str(t["activityid"]) for t in tasks]


def test_content_id_references_in_a_body(dataverse: DataverseStack) -> None:
    """$1 and $2 in @odata.bind values name the lead and contact created earlier in the change set."""
    response = send_vector(dataverse, "batch-changeset-content-id-reference")
    status, theirs = published(dataverse, "batch-changeset-content-id-reference")
    assert response.status_code == status
    ours = decode(response)
    assert_same_shape(ours, theirs)
    change_set = ours[0]
    assert isinstance(change_set, list)
    lead, contact, account = (created(dataverse, part) for part in change_set)
    assert account["name"] == "IcM Account"
    assert account["originatingleadid"].id == lead["leadid"]
    assert account["primarycontactid"].id == contact["contactid"]


def test_error_stops_the_batch(dataverse: DataverseStack) -> None:
    """Without continue-on-error the first failure ends the batch with 400 and nothing after it runs."""
    create_account(dataverse)
    response = send_vector(dataverse, "batch-error-stops-without-continue-on-error")
    status, theirs = published(dataverse, "batch-error-stops-without-continue-on-error")
    assert response.status_code == status == 400
    ours = decode(response)
    assert_same_shape(ours, theirs)
    assert isinstance(ours[0], BatchResponse)
    assert isinstance(theirs[0], BatchResponse)
    assert json.loads(ours[0].body) == json.loads(theirs[0].body)
    assert dataverse.simulator.org.store.rows("task") == []


def test_continue_on_error_runs_every_request(dataverse: DataverseStack) -> None:
    """With Prefer: odata.continue-on-error the batch is 200 and the two good tasks are created."""
    create_account(dataverse)
    response = send_vector(dataverse, "batch-continue-on-error")
    status, theirs = published(dataverse, "batch-continue-on-error")
    assert response.status_code == status == 200
    ours = decode(response)
    assert_same_shape(ours, theirs)
    assert isinstance(ours[0], BatchResponse)
    assert isinstance(theirs[0], BatchResponse)
    assert json.loads(ours[0].body) == json.loads(theirs[0].body)
    subjects = [created(dataverse, part)["subject"] for part in flat(ours)[1:]]
    assert subjects == ["Task 2 in batch", "Task 3 in batch"]


def post_batch(
    dataverse: DataverseStack, items: list[BatchRequest | ChangeSet], prefer: str = ""
) -> httpx.Response:
    content_type, body = encode_batch_request(items)
    headers = {"Authorization": f"Bearer {dataverse.token()}", "Content-Type": content_type}
    if prefer:
        headers["Prefer"] = prefer
    with dataverse.raw() as http:
        return http.post(f"{dataverse.url}/api/data/v9.2/$batch", headers=headers, content=body)


def create_request(entity_set: str, body: dict[str, Any], content_id: str | None = None) -> BatchRequest:
    return BatchRequest(
        "POST",
        f"/api/data/v9.2/{entity_set}",
        {"Content-Type": "application/json"},
        json.dumps(body).encode(),
        content_id,
    )


def test_failed_change_set_rolls_back_and_answers_once(dataverse: DataverseStack) -> None:
    """A change set whose last request fails leaves no row behind and answers with that one error."""
    journal = len(dataverse.simulator.org.store.journal)
    change_set = ChangeSet(
        [
            create_request("accounts", {"name": "kept?"}, "1"),
            create_request("contacts", {"lastname": "x", "parentcustomerid_account@odata.bind": "$1"}, "2"),
            create_request("tasks", {"subject": "y" * 201}, "3"),
        ]
    )
    after = create_request("accounts", {"name": "after"})
    response = post_batch(dataverse, [change_set, after], prefer="odata.continue-on-error")
    assert response.status_code == 200
    failed, later = decode(response)
    assert isinstance(failed, BatchResponse)
    assert isinstance(later, BatchResponse)
    assert (failed.status, failed.content_id) == (400, "3")
    assert json.loads(failed.body)["error"]["code"] == "0x80044331"
    assert later.status == 204
    assert [row["name"] for row in dataverse.simulator.org.store.rows("account")] == ["after"]
    assert dataverse.simulator.org.store.rows("contact") == []
    # Change tracking never sees the rolled-back writes.
    written = [c.logical_name for c in dataverse.simulator.org.store.journal[journal:]]
    assert written == ["account"]


def test_undeclared_content_id_is_the_documented_400(dataverse: DataverseStack) -> None:
    """A reference to a Content-ID declared later in the change set is refused and nothing is written."""
    change_set = ChangeSet(
        [
            create_request(
                "tasks", {"subject": "call", "regardingobjectid_account_task@odata.bind": "$1"}, "2"
            ),
            create_request("accounts", {"name": "QQQQ"}, "1"),
        ]
    )
    response = post_batch(dataverse, [change_set])
    assert response.status_code == 400
    [failed] = decode(response)
    assert isinstance(failed, BatchResponse)
    assert failed.status == 400
    assert json.loads(failed.body)["error"]["message"] == (
        "Content-ID Reference: '$1' does not exist in the batch context."
    )
    assert dataverse.simulator.org.store.rows("task") == []


def test_reference_in_a_url(dataverse: DataverseStack) -> None:
    """PATCH $1 updates the record created under Content-ID 1."""
    change_set = ChangeSet(
        [
            create_request("contacts", {"firstname": "First", "lastname": "Last"}, "1"),
            BatchRequest("PATCH", "$1", {"Content-Type": "application/json"}, b'{"lastname":"BBBBB"}', "2"),
        ]
    )
    response = post_batch(dataverse, [change_set])
    assert response.status_code == 200
    [answers] = decode(response)
    assert isinstance(answers, list)
    assert [a.status for a in answers] == [204, 204]
    [contact] = dataverse.simulator.org.store.rows("contact")
    assert contact["fullname"] == "First BBBBB"


def test_more_than_1000_requests_are_refused(dataverse: DataverseStack) -> None:
    """The documented limit: a batch holds at most 1000 requests."""
    requests: list[BatchRequest | ChangeSet] = [
        create_request("accounts", {"name": f"A{i}"}) for i in range(1001)
    ]
    response = post_batch(dataverse, requests)
    assert response.status_code == 400
    assert "at most 1000" in response.json()["error"]["message"]
    assert dataverse.simulator.org.store.rows("account") == []


def test_get_inside_a_change_set_is_refused(dataverse: DataverseStack) -> None:
    """GET requests do not belong in change sets; the change set fails as a whole."""
    change_set = ChangeSet(
        [
            create_request("accounts", {"name": "x"}, "1"),
            BatchRequest("GET", "/api/data/v9.2/accounts", {}, None, "2"),
        ]
    )
    response = post_batch(dataverse, [change_set])
    assert response.status_code == 400
    assert dataverse.simulator.org.store.rows("account") == []


def test_a_batch_counts_once_for_service_protection(dataverse: DataverseStack) -> None:
    """Ten creates in one batch use one request of the window."""
    with dataverse.admin() as admin:
        admin.action("set_limits", {"requests": 3})
    response = post_batch(dataverse, [create_request("accounts", {"name": f"A{i}"}) for i in range(10)])
    assert response.status_code == 200
    assert response.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] == "2"
    assert len(dataverse.simulator.org.store.rows("account")) == 10


def test_malformed_batch_is_a_400_naming_the_problem(dataverse: DataverseStack) -> None:
    """A body without its closing delimiter is refused with the codec's reason."""
    with dataverse.raw() as http:
        response = http.post(
            f"{dataverse.url}/api/data/v9.2/$batch",
            headers={
                "Authorization": f"Bearer {dataverse.token()}",
                "Content-Type": "multipart/mixed; boundary=b",
            },
            content=b"--b\r\nContent-Type: application/http\r\n\r\nGET accounts HTTP/1.1\r\n\r\n",
        )
    assert response.status_code == 400
    assert "closing delimiter" in response.json()["error"]["message"]
