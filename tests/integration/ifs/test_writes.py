"""Writes over real HTTP: create with server-assigned keys, ETag-guarded updates, bound actions."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.config import IfsSettings
from shared.ifs.auth import IfsTokenProvider
from shared.ifs.client import IfsClient
from shared.ifs.errors import (
    IfsBadRequestError,
    IfsConflictError,
    IfsNotFoundError,
    IfsNotImplementedError,
)
from shared.ifs.etag import decode_etag
from simulators.common.clock import SimClock
from simulators.ifs.app import IfsSimulator

NEW_ORDER = {
    "CustomerNo": "FR018",
    "Contract": "FR020",
    "CustomerPoNo": "D365-SO-0001",
    "WantedDeliveryDate": "2025-12-01T00:00:00Z",
}


def create_order(client: IfsClient, settings: IfsSettings, **extra: Any) -> tuple[dict[str, Any], str]:
    row, etag = client.create(settings.entities.orders, {**NEW_ORDER, **extra})
    assert etag is not None
    return row, etag


def test_create_assigns_the_order_number(client: IfsClient, settings: IfsSettings) -> None:
    """POST returns the stored row: server-assigned OrderNo, state Planned, defaults from the customer."""
    row, etag = create_order(client, settings)
    assert row["OrderNo"].startswith("C")
    assert row["Objstate"] == "Planned"
    assert row["CurrencyCode"] == "EUR"
    assert row["PayTermId"] == "30FDM"
    assert row["keyref"] == f"ORDER_NO={row['OrderNo']}^"
    assert client.get(settings.entities.orders, {"OrderNo": row["OrderNo"]}).etag == etag


def test_lines_are_created_through_the_order(client: IfsClient, settings: IfsSettings) -> None:
    """Lines posted to OrderLinesArray get LineNo 1, 2 …, RelNo '1', LineItemNo 0 and the part's data."""
    order, _ = create_order(client, settings)
    key = {"OrderNo": order["OrderNo"]}
    nav = settings.entities.order_lines_navigation
    first, _ = client.create_child(
        settings.entities.orders, key, nav, {"CatalogNo": "D0579K", "BuyQtyDue": 2, "SaleUnitPrice": 10.5}
    )
    second, _ = client.create_child(
        settings.entities.orders, key, nav, {"CatalogNo": "D0579K", "BuyQtyDue": 1}
    )
    assert (first["LineNo"], first["RelNo"], first["LineItemNo"]) == ("1", "1", 0)
    assert second["LineNo"] == "2"
    assert first["NetAmountCurr"] == 21.0
    assert first["CatalogDesc"].startswith("POUF AVEC POIGNEE")
    lines = list(client.iter_children(settings.entities.orders, key, nav))
    assert [line["LineNo"] for line in lines] == ["1", "2"]


def test_business_rules_reject_bad_creates(client: IfsClient, settings: IfsSettings) -> None:
    """Unknown customer, a non-insertable attribute and an unknown sales part are 400s with IFS's body."""
    with pytest.raises(IfsBadRequestError, match="Customer NOPE does not exist"):
        client.create(settings.entities.orders, {**NEW_ORDER, "CustomerNo": "NOPE"})
    with pytest.raises(IfsBadRequestError, match="'ExternalRef' is not insertable"):
        client.create(settings.entities.orders, {**NEW_ORDER, "ExternalRef": "x"})
    order, _ = create_order(client, settings)
    with pytest.raises(IfsBadRequestError, match="Sales part NOPE does not exist"):
        client.create_child(
            settings.entities.orders,
            {"OrderNo": order["OrderNo"]},
            settings.entities.order_lines_navigation,
            {"CatalogNo": "NOPE", "BuyQtyDue": 1},
        )


def test_update_with_etag_changes_objversion(
    client: IfsClient, settings: IfsSettings, sim_clock: SimClock
) -> None:
    """PATCH with the current ETag succeeds and returns a new ETag: same Objid, later Objversion."""
    order, etag = create_order(client, settings)
    key = {"OrderNo": order["OrderNo"]}
    updated, new_etag = client.update(settings.entities.orders, key, {"CustomerPoNo": "D365-SO-0002"}, etag)
    assert updated["CustomerPoNo"] == "D365-SO-0002"
    assert new_etag != etag
    before, after = decode_etag(etag), decode_etag(new_etag or "")
    assert before.objid == after.objid
    assert after.objversion > before.objversion  # same second on the server clock: still bumped


def test_stale_etag_is_a_conflict(client: IfsClient, settings: IfsSettings, simulator: IfsSimulator) -> None:
    """Someone edits the order in IFS after we read it: our PATCH gets 412 as IfsConflictError."""
    order, etag = create_order(client, settings)
    key = {"OrderNo": order["OrderNo"]}
    simulator.tenant.touch(simulator.tenant.of_table("CustomerOrder"), key, {"NoteText": "edited in IFS"})
    with pytest.raises(IfsConflictError) as caught:
        client.update(settings.entities.orders, key, {"CustomerPoNo": "D365-SO-0003"}, etag)
    assert caught.value.status == 412
    row, _ = client.get(settings.entities.orders, key)
    assert row["CustomerPoNo"] == NEW_ORDER["CustomerPoNo"]


def test_modify_rereads_and_reapplies_after_a_conflict(
    client: IfsClient, settings: IfsSettings, simulator: IfsSimulator
) -> None:
    """modify(): the first PATCH meets a concurrent edit (412), the second, on the re-read row, lands."""
    order, _ = create_order(client, settings)
    key = {"OrderNo": order["OrderNo"]}
    calls: list[str] = []

    def change(row: dict[str, Any]) -> dict[str, Any]:
        calls.append(row["NoteText"] or "")
        if len(calls) == 1:  # a user saves the order in IFS while we compute our change
            simulator.tenant.touch(simulator.tenant.of_table("CustomerOrder"), key, {"NoteText": "user"})
        return {"CustomerPoNo": "D365-SO-0004"}

    row, _ = client.modify(settings.entities.orders, key, change)
    assert calls == ["", "user"]
    assert (row["CustomerPoNo"], row["NoteText"]) == ("D365-SO-0004", "user")


def test_star_skips_the_check_and_missing_rows_stay_missing(client: IfsClient, settings: IfsSettings) -> None:
    """If-Match: * updates whatever version is current; on a missing row it is a 404, not a create."""
    order, _ = create_order(client, settings)
    updated, _ = client.update(
        settings.entities.orders, {"OrderNo": order["OrderNo"]}, {"NoteText": "x"}, "*"
    )
    assert updated["NoteText"] == "x"
    with pytest.raises(IfsNotFoundError):
        client.update(settings.entities.orders, {"OrderNo": "C42"}, {"NoteText": "x"}, "*")


def test_patch_without_if_match_is_an_upsert(
    http: httpx.Client, settings: IfsSettings, tokens: IfsTokenProvider
) -> None:
    """As documented: no If-Match updates an existing row, or creates it from the URL's key (201).

    An update answers 204 with the new ETag unless ``Prefer: return=representation`` asks for the row.
    """
    headers = {"Authorization": f"Bearer {tokens.token()}"}
    url = settings.api_root + settings.entities.potential_orders.row_path({"OpportunityNo": "BO-D365-1"})
    created = http.patch(url, json={"Description": "Pump upgrade", "CustomerId": "FR018"}, headers=headers)
    assert created.status_code == 201
    assert created.json()["OpportunityNo"] == "BO-D365-1"
    updated = http.patch(url, json={"Description": "Pump upgrade, phase 2"}, headers=headers)
    assert (updated.status_code, updated.content) == (204, b"")
    assert updated.headers["ETag"] != created.headers["ETag"]
    represented = http.patch(
        url, json={"Probability": 40}, headers={**headers, "Prefer": "return=representation"}
    )
    assert represented.status_code == 200
    assert represented.json()["Description"] == "Pump upgrade, phase 2"
    assert represented.json()["@odata.etag"] == represented.headers["ETag"]


def test_not_updatable_attributes_are_refused(client: IfsClient, settings: IfsSettings) -> None:
    """CustomerNo is not in CustomerOrderSet's PATCH payload (real OpenAPI digest): 400."""
    order, etag = create_order(client, settings)
    with pytest.raises(IfsBadRequestError, match="'CustomerNo' is not updatable"):
        client.update(settings.entities.orders, {"OrderNo": order["OrderNo"]}, {"CustomerNo": "FR05A"}, etag)


def test_release_action_with_if_match(client: IfsClient, settings: IfsSettings) -> None:
    """CustomerOrder_ReleaseOrder moves a Planned order and its lines to Released and changes the ETag."""
    order, _ = create_order(client, settings)
    key = {"OrderNo": order["OrderNo"]}
    client.create_child(
        settings.entities.orders,
        key,
        settings.entities.order_lines_navigation,
        {"CatalogNo": "D0579K", "BuyQtyDue": 1},
    )
    _, etag = client.get(settings.entities.orders, key)
    assert (
        client.call_action(settings.entities.orders, key, "CustomerOrder_ReleaseOrder", etag=etag or "")
        is None
    )
    row, new_etag = client.get(settings.entities.orders, key)
    assert row["Objstate"] == "Released"
    assert new_etag != etag
    [line] = client.iter_children(settings.entities.orders, key, settings.entities.order_lines_navigation)
    assert line["Objstate"] == "Released"
    with pytest.raises(IfsConflictError):
        client.call_action(settings.entities.orders, key, "CustomerOrder_SetCancelled", etag=etag or "")
    with pytest.raises(IfsBadRequestError, match="is Released"):
        client.call_action(settings.entities.orders, key, "CustomerOrder_ReleaseOrder", etag=new_etag or "")


def test_action_results_and_unknown_actions(client: IfsClient, settings: IfsSettings) -> None:
    """A value-returning action gives its value; unknown actions 404; real but unsimulated ones 501."""
    order, etag = create_order(client, settings)
    key = {"OrderNo": order["OrderNo"]}
    value = client.call_action(
        settings.entities.orders,
        key,
        "CustomerOrder_PrintResultKey",
        {"ReportId": "CUSTOMER_ORDER_CONF_REP"},
        etag=etag,
    )
    assert isinstance(value, int)
    with pytest.raises(IfsNotFoundError):
        client.call_action(settings.entities.orders, key, "CustomerOrder_Teleport", etag=etag)
    with pytest.raises(IfsNotImplementedError):
        client.call_action(settings.entities.orders, key, "CustomerOrder_CalculateCommissions", etag=etag)
