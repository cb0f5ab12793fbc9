"""CreateMultiple, UpdateMultiple and UpsertMultiple: the published exchanges, and their failure rules."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.integration.dataverse.conftest import SAMPLE_TABLE, DataverseStack
from tests.integration.dataverse.vectors import expected_response, send_vector

UPDATED_IDS = (
    "8f4c3f92-312b-ee11-bdf4-000d3a993550",
    "904c3f92-312b-ee11-bdf4-000d3a993550",
    "914c3f92-312b-ee11-bdf4-000d3a993550",
)


def names(
    dataverse: DataverseStack, logical_name: str = "sample_example", column: str = "sample_name"
) -> list[str]:
    return sorted(str(row[column]) for row in dataverse.simulator.org.store.rows(logical_name))


def sample_key(dataverse: DataverseStack) -> None:
    dataverse.simulator.org.keys.define(SAMPLE_TABLE, "sample_key", ["sample_keyattribute"], active=True)


def bulk(
    dataverse: DataverseStack, entity_set: str, message: str, targets: list[dict[str, Any]]
) -> httpx.Response:
    with dataverse.raw() as http:
        return http.post(
            f"{dataverse.url}/api/data/v9.2/{entity_set}/Microsoft.Dynamics.CRM.{message}",
            headers={"Authorization": f"Bearer {dataverse.token()}"},
            json={"Targets": targets},
        )


def test_create_multiple_exchange(dataverse: DataverseStack) -> None:
    """200 with the context and one id per target, in order."""
    response = send_vector(dataverse, "createmultiple")
    expected = expected_response(dataverse, "createmultiple")
    assert (response.status_code, response.headers["odata-version"]) == (200, "4.0")
    body, published = response.json(), json.loads(expected.body)
    assert set(body) == set(published)
    assert body["@odata.context"] == published["@odata.context"]
    rows = {
        str(r["sample_exampleid"]): r["sample_name"]
        for r in dataverse.simulator.org.store.rows("sample_example")
    }
    assert [rows[i] for i in body["Ids"]] == [f"sample record 000000{n}" for n in (1, 2, 3)]


def test_update_multiple_exchange(dataverse: DataverseStack) -> None:
    """204 and every target updated by its primary key."""
    org = dataverse.simulator.org
    for row_id in UPDATED_IDS:
        org.create(SAMPLE_TABLE, {"sample_exampleid": row_id, "sample_name": "before"}, org.system_caller)
    response = send_vector(dataverse, "updatemultiple")
    assert (response.status_code, response.content) == (204, b"")
    assert response.headers["odata-version"] == "4.0"
    assert names(dataverse) == [f"sample record 000000{n} Updated" for n in (1, 2, 3)]


def test_upsert_multiple_exchange_creates_then_updates(dataverse: DataverseStack) -> None:
    """204 both times; the second run updates the four records the first one created."""
    sample_key(dataverse)
    for _ in range(2):
        response = send_vector(dataverse, "upsertmultiple")
        assert (response.status_code, response.content) == (204, b"")
    assert names(dataverse, column="sample_keyattribute") == [f"000000{n}" for n in (1, 2, 3, 4)]


def test_one_bad_target_rolls_back_the_whole_request(dataverse: DataverseStack) -> None:
    """Standard tables: a too-long name in the third target leaves nothing written."""
    sample_key(dataverse)
    journal = len(dataverse.simulator.org.store.journal)
    targets = [
        {
            "@odata.type": "Microsoft.Dynamics.CRM.sample_example",
            "@odata.id": f"sample_examples(sample_keyattribute='{i}')",
            "sample_name": "x" * (101 if i == 2 else 5),
        }
        for i in range(4)
    ]
    response = bulk(dataverse, "sample_examples", "UpsertMultiple", targets)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "0x80044331"
    assert dataverse.simulator.org.store.rows("sample_example") == []
    assert dataverse.simulator.org.store.journal[journal:] == []


def test_duplicate_records_in_upsert_multiple_are_an_error(dataverse: DataverseStack) -> None:
    """Two targets for one key (compared case-insensitively) fail the request before anything is written."""
    sample_key(dataverse)
    targets = [
        {
            "@odata.type": "Microsoft.Dynamics.CRM.sample_example",
            "@odata.id": f"sample_examples(sample_keyattribute='{k}')",
        }
        for k in ("a1", "b2", "A1")
    ]
    response = bulk(dataverse, "sample_examples", "UpsertMultiple", targets)
    assert response.status_code == 400
    assert "Targets[0] and Targets[2]" in response.json()["error"]["message"]
    assert dataverse.simulator.org.store.rows("sample_example") == []


def test_update_multiple_applies_the_first_duplicate_and_needs_existing_rows(
    dataverse: DataverseStack,
) -> None:
    """Duplicates: only the first is applied; a missing row fails the request with 'Do Not Exist'."""
    org = dataverse.simulator.org
    row_id = str(org.create(SAMPLE_TABLE, {"sample_name": "before"}, org.system_caller)["sample_exampleid"])
    target = {"@odata.type": "Microsoft.Dynamics.CRM.sample_example", "sample_exampleid": row_id}
    response = bulk(
        dataverse,
        "sample_examples",
        "UpdateMultiple",
        [{**target, "sample_name": "first"}, {**target, "sample_name": "second"}],
    )
    assert response.status_code == 204
    assert names(dataverse) == ["first"]
    missing = str(uuid.uuid4())
    response = bulk(
        dataverse,
        "sample_examples",
        "UpdateMultiple",
        [{**target, "sample_name": "third"}, {**target, "sample_exampleid": missing, "sample_name": "x"}],
    )
    assert response.status_code == 404
    assert response.json()["error"]["message"] == f"sample_example With Ids = {missing} Do Not Exist"
    assert names(dataverse) == ["first"]


def test_targets_must_carry_their_type(dataverse: DataverseStack) -> None:
    """@odata.type is required on every target and must name the bound table."""
    response = bulk(dataverse, "sample_examples", "CreateMultiple", [{"sample_name": "no type"}])
    assert response.status_code == 400
    assert "@odata.type" in response.json()["error"]["message"]
    response = bulk(
        dataverse, "sample_examples", "CreateMultiple", [{"@odata.type": "Microsoft.Dynamics.CRM.account"}]
    )
    assert response.status_code == 400
    assert dataverse.simulator.org.store.rows("sample_example") == []


@pytest.mark.parametrize("message", ["CreateMultiple", "UpdateMultiple", "UpsertMultiple"])
def test_a_table_without_the_message_refuses_it(dataverse: DataverseStack, message: str) -> None:
    """Leads lack the bulk messages by default (the probe says so too); the request is refused."""
    response = bulk(
        dataverse, "leads", message, [{"@odata.type": "Microsoft.Dynamics.CRM.lead", "lastname": "A"}]
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(f"The '{message}' method does not support entities")
    assert dataverse.simulator.org.store.rows("lead") == []


def test_a_bulk_request_counts_once_for_service_protection(dataverse: DataverseStack) -> None:
    """A hundred creates in one CreateMultiple use one request of the window."""
    with dataverse.admin() as admin:
        admin.action("set_limits", {"requests": 2})
    targets = [
        {"@odata.type": "Microsoft.Dynamics.CRM.sample_example", "sample_name": f"n{i}"} for i in range(100)
    ]
    response = bulk(dataverse, "sample_examples", "CreateMultiple", targets)
    assert response.status_code == 200
    assert response.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] == "1"
    assert len(response.json()["Ids"]) == 100
