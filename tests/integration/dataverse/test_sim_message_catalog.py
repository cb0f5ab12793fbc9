"""The message catalog (sdkmessages, sdkmessagefilters) over HTTPS: the documented probes and look-ups."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx
import pytest

from tests.integration.dataverse.conftest import DataverseStack
from tests.integration.dataverse.test_sim_documented_exchanges import read_message

PROBE = (
    "sdkmessagefilters?$select=sdkmessagefilterid&$filter=sdkmessageid/name eq @message and "
    "primaryobjecttypecode eq @table&@message='{message}'&@table='{table}'"
)
WEAK_ETAG = re.compile(r'^W/"\d+"$')


def get(dataverse: DataverseStack, path: str) -> httpx.Response:
    with dataverse.raw() as http:
        return http.get(
            f"{dataverse.url}/api/data/v9.2/{path}",
            headers={"Authorization": f"Bearer {dataverse.token()}", "Accept": "application/json"},
        )


def rows(dataverse: DataverseStack, path: str) -> list[dict[str, Any]]:
    response = get(dataverse, path)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["value"]
    return found


def supports(dataverse: DataverseStack, message: str, table: str) -> bool:
    return bool(rows(dataverse, PROBE.format(message=message, table=table)))


def test_documented_probe_exchange(dataverse: DataverseStack) -> None:
    """The bulk-operations article's probe, sent as published, answers in the published shape."""
    request = read_message("bulk-availability-sdkmessagefilter.request.http", dataverse.url)
    expected = read_message("bulk-availability-sdkmessagefilter.response.http", dataverse.url)
    method, rest = request.start.split(" ", 1)
    target = rest.rsplit(" ", 1)[0]  # the published URL holds spaces (sent percent-encoded)
    with dataverse.raw() as http:
        response = http.request(
            method, target, headers={**request.headers, "Authorization": f"Bearer {dataverse.token()}"}
        )
    assert (response.status_code, response.reason_phrase) == (200, "OK")
    assert response.headers["content-type"] == expected.headers["Content-Type"]
    assert response.headers["odata-version"] == "4.0"
    body, published = response.json(), json.loads(expected.body)
    assert body["@odata.context"] == published["@odata.context"]
    [row] = body["value"]
    assert set(row) == set(published["value"][0]) == {"@odata.etag", "sdkmessagefilterid"}
    assert WEAK_ETAG.match(row["@odata.etag"])
    assert uuid.UUID(row["sdkmessagefilterid"])


@pytest.mark.parametrize(
    "table",
    ["salesorder", "salesorderdetail", "quote", "account", "contact", "opportunity", "sample_example"],
)
@pytest.mark.parametrize("message", ["CreateMultiple", "UpdateMultiple", "UpsertMultiple"])
def test_bulk_messages_exist_for_sales_and_custom_tables(
    dataverse: DataverseStack, message: str, table: str
) -> None:
    """Per the generated references (and the article: custom tables), the probe finds a filter."""
    assert supports(dataverse, message, table)


def test_bulk_availability_is_switched_per_table(dataverse: DataverseStack) -> None:
    """Accounts have the bulk messages by default, leads not; the admin action adds and removes them."""
    assert all(
        supports(dataverse, m, "account") for m in ("CreateMultiple", "UpdateMultiple", "UpsertMultiple")
    )
    assert not supports(dataverse, "UpsertMultiple", "lead")
    assert supports(dataverse, "Create", "lead")
    with dataverse.admin() as admin:
        admin.action("set_message_availability", {"table": "account", "available": False})
        assert not any(
            supports(dataverse, m, "account") for m in ("CreateMultiple", "UpdateMultiple", "UpsertMultiple")
        )
        admin.action("set_message_availability", {"table": "lead", "available": True})
        assert all(
            supports(dataverse, m, "lead") for m in ("CreateMultiple", "UpdateMultiple", "UpsertMultiple")
        )
        admin.action(
            "set_message_availability",
            {"table": "salesorder", "messages": ["UpsertMultiple"], "available": False},
        )
    assert not supports(dataverse, "UpsertMultiple", "salesorder")
    assert supports(dataverse, "CreateMultiple", "salesorder")


def test_step_lookups_by_message_id(dataverse: DataverseStack) -> None:
    """The step registration look-ups: message id by name, then its filter where custom steps are allowed."""

    def filters(message: str, table: str) -> list[dict[str, Any]]:
        [found] = rows(dataverse, f"sdkmessages?$filter=name eq '{message}'&$select=sdkmessageid")
        return rows(
            dataverse,
            f"sdkmessagefilters?$filter=_sdkmessageid_value eq {found['sdkmessageid']} and "
            f"primaryobjecttypecode eq '{table}' and iscustomprocessingstepallowed eq true"
            "&$select=sdkmessagefilterid,_sdkmessageid_value",
        )

    assert len(filters("Update", "salesorder")) == 1
    assert len(filters("SetState", "salesorder")) == 1
    assert len(filters("WinQuote", "quote")) == 1
    assert len(filters("Create", "salesorderdetail")) == 1
    # Event: False in the generated references: the messages exist, but no custom step may be registered.
    assert filters("ConvertQuoteToSalesOrder", "quote") == []
    assert filters("FulfillSalesOrder", "salesorder") == []
    assert filters("UpsertMultiple", "salesorder") == []


def test_filters_expand_their_message(dataverse: DataverseStack) -> None:
    """A filter expands its sdkmessage and reports the table it applies to."""
    found = rows(
        dataverse,
        "sdkmessagefilters?$select=primaryobjecttypecode,iscustomprocessingstepallowed,isvisible"
        "&$expand=sdkmessageid($select=name)&$filter=primaryobjecttypecode eq 'salesorder'",
    )
    by_message = {row["sdkmessageid"]["name"]: row for row in found}
    assert {
        "Create",
        "Update",
        "Delete",
        "SetState",
        "Assign",
        "CancelSalesOrder",
        "FulfillSalesOrder",
    } <= set(by_message)
    assert "WinQuote" not in by_message
    assert by_message["CancelSalesOrder"]["iscustomprocessingstepallowed"] is True
    assert by_message["FulfillSalesOrder"]["iscustomprocessingstepallowed"] is False
    assert all(row["isvisible"] is True for row in found)


def test_catalog_tables_refuse_writes(dataverse: DataverseStack) -> None:
    """The catalog tables (sdkmessages, sdkmessagefilters) are read-only system tables."""
    with dataverse.raw() as http:
        response = http.post(
            f"{dataverse.url}/api/data/v9.2/sdkmessages",
            headers={"Authorization": f"Bearer {dataverse.token()}"},
            json={"name": "MyMessage"},
        )
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "0x80040315"
