"""Reads over real HTTP: paging by nextLink and by $skip, filters with IFS literals, ETags, captured rows."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import httpx
import pytest

from shared.config import IfsSettings
from shared.ifs.auth import IfsTokenProvider
from shared.ifs.client import DEFAULT_MAX_URL_LENGTH, IfsClient
from shared.ifs.entities import EntitySet, Navigation
from shared.ifs.errors import IfsBadRequestError, IfsNotFoundError, IfsNotImplementedError
from shared.ifs.etag import decode_etag
from shared.ifs.query import Query, enum, eq, ge, one_of
from simulators.common.admin_client import AdminClient
from simulators.common.clock import SimClock
from simulators.ifs.app import IfsSimulator
from tests.integration.ifs.conftest import ifs_settings

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "ifs"
RELEASED = enum("CustomerOrderHandling", "CustomerOrderState", "Released")


def captured() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((VECTORS / "customer-orders-real.json").read_text(encoding="utf-8"))
    return document


def stored_orders(simulator: IfsSimulator) -> list[dict[str, Any]]:
    state = simulator.tenant.of_table("CustomerOrder")
    return [dict(r.values) for r in simulator.tenant.store.scan(state.table)]


def test_server_paging_follows_relative_next_links(
    client: IfsClient, settings: IfsSettings, simulator: IfsSimulator
) -> None:
    """Without $top the simulator pages by 25 with relative nextLinks; the client reads every order once."""
    before = client.requests_sent
    keys = [
        row["OrderNo"]
        for row in client.iter_rows(settings.entities.orders, Query(select=("OrderNo",)), page_size=0)
    ]
    assert len(keys) == len(set(keys)) == len(stored_orders(simulator)) == 50
    assert client.requests_sent - before == 2  # 25 + 25 rows, the second page has no nextLink


def test_next_link_is_relative_to_the_projection_root(
    http: Any, settings: IfsSettings, tokens: IfsTokenProvider
) -> None:
    """The wire shape: @odata.nextLink is 'CustomerOrderHandling.svc/CustomerOrderSet?…$skiptoken=25'."""
    response = http.get(
        settings.api_root + settings.entities.orders.path + "?$select=OrderNo",
        headers={"Authorization": f"Bearer {tokens.token()}"},
    )
    link = response.json()["@odata.nextLink"]
    assert link.startswith("CustomerOrderHandling.svc/CustomerOrderSet?")
    assert link.endswith("$skiptoken=25")


@pytest.mark.parametrize("page_size", [7, 10, 1000])
def test_skip_paging_reads_every_row_once(
    client: IfsClient, settings: IfsSettings, simulator: IfsSimulator, page_size: int
) -> None:
    """$top/$skip pages, ordered by key, until a short page: every order exactly once."""
    before = client.requests_sent
    keys = [
        r["OrderNo"]
        for r in client.iter_rows(settings.entities.orders, Query(select=("OrderNo",)), page_size=page_size)
    ]
    assert keys == sorted(r["OrderNo"] for r in stored_orders(simulator))
    assert client.requests_sent - before == len(keys) // page_size + 1


def test_top_caps_the_total_across_pages(client: IfsClient, settings: IfsSettings) -> None:
    """query.top limits the rows read in total, even across pages."""
    rows = list(client.iter_rows(settings.entities.orders, Query(select=("OrderNo",), top=12), page_size=5))
    assert len(rows) == 12


def test_token_expiring_in_the_middle_of_paging(
    client: IfsClient, settings: IfsSettings, tokens: IfsTokenProvider, sim_clock: SimClock
) -> None:
    """The token dies between two pages (server clock +200 s): one renewal, and no page lost or repeated."""
    reader = client.iter_rows(settings.entities.orders, Query(select=("OrderNo",)), page_size=10)
    first_page = [next(reader)["OrderNo"] for _ in range(10)]
    sim_clock.advance(200)
    rest = [row["OrderNo"] for row in reader]
    keys = first_page + rest
    assert len(keys) == len(set(keys)) == 50
    assert tokens.fetch_count == 2


def test_enum_filter_uses_the_qualified_literal(
    client: IfsClient, settings: IfsSettings, simulator: IfsSimulator
) -> None:
    """Objstate eq IfsApp.CustomerOrderHandling.CustomerOrderState'Released' selects the released orders."""
    rows = list(
        client.iter_rows(
            settings.entities.orders, Query(select=("OrderNo", "Objstate"), filter=eq("Objstate", RELEASED))
        )
    )
    expected = {r["OrderNo"] for r in stored_orders(simulator) if r["Objstate"] == "Released"}
    assert expected
    assert {r["OrderNo"] for r in rows} == expected


def test_plain_string_on_an_enum_is_rejected_like_ifs(client: IfsClient, settings: IfsSettings) -> None:
    """Objstate eq 'Released' is a 400 with IFS's Malformed Request body."""
    with pytest.raises(IfsBadRequestError) as caught:
        list(client.iter_rows(settings.entities.orders, Query(filter=eq("Objstate", "Released"))))
    assert caught.value.message == "Malformed Request."
    assert "enum" in caught.value.details[0].message


def test_date_and_key_list_filters(client: IfsClient, settings: IfsSettings, simulator: IfsSimulator) -> None:
    """An Edm.Date bound and an or-chain of keys select exactly the matching rows."""
    since = date(2025, 6, 1)
    rows = list(
        client.iter_rows(
            settings.entities.orders, Query(select=("OrderNo",), filter=ge("DateEntered", since))
        )
    )
    expected = {r["OrderNo"] for r in stored_orders(simulator) if r["DateEntered"] >= since.isoformat()}
    assert {r["OrderNo"] for r in rows} == expected
    wanted = [*sorted(expected)[:3], "C1000000935"]
    keyed = list(
        client.iter_rows(
            settings.entities.orders, Query(select=("OrderNo",), filter=one_of("OrderNo", wanted))
        )
    )
    assert sorted(r["OrderNo"] for r in keyed) == sorted(wanted)


def test_unknown_property_raises_with_ifs_details(client: IfsClient, settings: IfsSettings) -> None:
    """A filter on a property the type lacks: IfsBadRequestError carrying ODataLib's detail text."""
    with pytest.raises(IfsBadRequestError) as caught:
        list(client.iter_rows(settings.entities.orders, Query(filter=eq("NotAColumn", "x"))))
    assert caught.value.details[0].message == (
        "The property 'NotAColumn', used in a query expression, is not defined in type "
        "'IfsApp.CustomerOrderHandling.CustomerOrder'."
    )


def test_captured_orders_round_trip(client: IfsClient, settings: IfsSettings) -> None:
    """Each real captured order is served back byte-for-byte, ETag included, by key and in the collection."""
    for header in captured()["customerOrderHeaders"]:
        row, etag = client.get(settings.entities.orders, {"OrderNo": header["OrderNo"]})
        assert etag == header["@odata.etag"]
        served = {k: v for k, v in row.items() if k != "@odata.context"}
        assert json.dumps(served) == json.dumps(header)


def test_captured_lines_round_trip_through_the_navigation(client: IfsClient, settings: IfsSettings) -> None:
    """The captured lines come back unchanged through CustomerOrderSet(…)/OrderLinesArray and by key."""
    lines = captured()["customerOrderLines"]
    served = list(
        client.iter_children(
            settings.entities.orders, {"OrderNo": "C1000000933"}, settings.entities.order_lines_navigation
        )
    )
    expected = [line for line in lines if line["OrderNo"] == "C1000000933"]
    assert json.dumps(served) == json.dumps(expected)
    line = lines[-1]
    row, etag = client.get(settings.entities.order_lines, settings.entities.order_lines.key_of(line))
    assert json.dumps({k: v for k, v in row.items() if k != "@odata.context"}) == json.dumps(line)
    assert decode_etag(etag or "").objid == decode_etag(line["@odata.etag"]).objid


def test_get_many_and_find_by(client: IfsClient, settings: IfsSettings) -> None:
    """Bulk read by keys skips missing ones; find_by matches on CustomerPoNo."""
    keys = [{"OrderNo": "C1000000933"}, {"OrderNo": "C1000000999"}, {"OrderNo": "C1000000940"}]
    rows = list(
        client.get_many(settings.entities.orders, keys, select=("OrderNo", "CustomerPoNo"), chunk_size=2)
    )
    assert sorted(r["OrderNo"] for r in rows) == ["C1000000933", "C1000000940"]
    found = client.find_by(settings.entities.orders, {"CustomerPoNo": "P1000003062"}, select=("OrderNo",))
    assert [r["OrderNo"] for r in found] == ["C1000000933"]


def test_missing_row_and_unknown_projection(client: IfsClient, settings: IfsSettings) -> None:
    """A missing key is IfsNotFoundError; so is an unknown projection, with IFS's "Metadata not found."."""
    with pytest.raises(IfsNotFoundError):
        client.get(settings.entities.orders, {"OrderNo": "C0"})
    with pytest.raises(IfsNotFoundError, match="Metadata not found"):
        list(client.iter_rows(EntitySet("NoSuchHandling", "Set", ("Id",))))


def test_one_to_one_expands_and_collections_do_not(client: IfsClient, settings: IfsSettings) -> None:
    """CustomerNoRef expands inline; expanding OrderLinesArray is ODP_NOT_IMPLEMENTED."""
    expanded = list(
        client.iter_rows(
            settings.entities.orders,
            Query(
                select=("OrderNo", "CustomerNo"),
                filter=eq("OrderNo", "C1000000933"),
                expand=("CustomerNoRef",),
            ),
        )
    )
    assert expanded[0]["CustomerNoRef"]["CustomerNo"] == "FR018"
    with pytest.raises(IfsNotImplementedError) as caught:
        list(client.iter_rows(settings.entities.orders, Query(expand=("OrderLinesArray",))))
    assert caught.value.code == "ODP_NOT_IMPLEMENTED"


def test_customers_with_addresses_and_sales_parts(client: IfsClient, settings: IfsSettings) -> None:
    """Customers read with their addresses through the navigation; sales parts by their two-part key."""
    customers = list(client.iter_rows(settings.entities.customers))
    assert customers
    first = customers[0]
    addresses = list(
        client.iter_children(
            settings.entities.customers,
            settings.entities.customers.key_of(first),
            settings.entities.customer_addresses,
        )
    )
    assert addresses
    assert all(a["CustomerId"] == first["CustomerId"] for a in addresses)
    part = next(client.iter_rows(settings.entities.sales_parts, Query(top=1)))
    row, etag = client.get(settings.entities.sales_parts, settings.entities.sales_parts.key_of(part))
    assert etag == part["@odata.etag"]
    assert row["CatalogNo"] == part["CatalogNo"]


def test_absolute_next_links_are_followed(
    client: IfsClient, settings: IfsSettings, simulator: IfsSimulator
) -> None:
    """A gateway that rewrites nextLinks to absolute URLs on the tenant's host is followed just the same."""
    simulator.api.absolute_next_links = True
    keys = [
        r["OrderNo"]
        for r in client.iter_rows(settings.entities.orders, Query(select=("OrderNo",)), page_size=0)
    ]
    assert len(keys) == len(set(keys)) == 50


def test_quotations_with_lines_and_potential_orders(client: IfsClient, settings: IfsSettings) -> None:
    """The assumed quotation projection serves headers and lines; a potential order gets its number."""
    entities = settings.entities
    won = enum("SalesQuotationHandling", "OrderQuotationState", "Won")
    quotation = next(client.iter_rows(entities.quotations, Query(filter=eq("Objstate", won), top=1)))
    key = entities.quotations.key_of(quotation)
    lines = list(client.iter_children(entities.quotations, key, entities.quotation_lines_navigation))
    assert lines
    assert {line["QuotationNo"] for line in lines} == {quotation["QuotationNo"]}
    assert (
        client.get(entities.quotation_lines, entities.quotation_lines.key_of(lines[0])).row["Objstate"]
        == "Won"
    )
    created, etag = client.create(
        entities.potential_orders, {"Description": "Pump retrofit", "CustomerId": "FR018"}
    )
    assert created["OpportunityNo"].startswith("BO")
    assert created["Objstate"] == "Active"
    assert etag


def test_timestamp_watermark_filter(
    client: IfsClient, settings: IfsSettings, simulator: IfsSimulator
) -> None:
    """A watermark on a timestamp column (OrderCreationDate ge <instant>) selects the later orders only."""
    mark = datetime(2025, 10, 1, 12, 0, tzinfo=UTC)
    query = Query(select=("OrderNo", "OrderCreationDate"), filter=ge("OrderCreationDate", mark))
    rows = list(client.iter_rows(settings.entities.orders, query))
    expected = {
        r["OrderNo"] for r in stored_orders(simulator) if r["OrderCreationDate"] >= "2025-10-01T12:00:00Z"
    }
    assert expected
    assert {r["OrderNo"] for r in rows} == expected


def keys_read(http: httpx.Client, url: str, token: str, **options: str) -> list[str]:
    response = http.get(url, params=options, headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    return [row["OrderNo"] for row in response.json()["value"]]


def test_without_an_order_skip_pages_miss_and_repeat_rows(
    http: httpx.Client, settings: IfsSettings, tokens: IfsTokenProvider
) -> None:
    """The simulator orders rows differently per query when no $orderby is sent, as Oracle may."""
    url, token = settings.api_root + settings.entities.orders.path, tokens.token()
    pages = [
        keys_read(http, url, token, **{"$select": "OrderNo", "$top": "10", "$skip": str(skip)})
        for skip in range(0, 50, 10)
    ]
    assert len({key for page in pages for key in page}) < 50
    ordered = [
        keys_read(
            http,
            url,
            token,
            **{"$select": "OrderNo", "$top": "10", "$skip": str(skip), "$orderby": "OrderNo"},
        )
        for skip in range(0, 50, 10)
    ]
    assert len({key for page in ordered for key in page}) == 50
    again = keys_read(http, url, token, **{"$select": "OrderNo", "$top": "10", "$skip": "10"})
    assert again == pages[1]  # the same query, the same order: reproducible by seed


def test_a_caller_order_gets_the_keys_as_tie_breakers(
    client: IfsClient, settings: IfsSettings, simulator: IfsSimulator
) -> None:
    """Ordered by CustomerNo (shared by many orders), $skip pages still hold every order exactly once."""
    query = Query(select=("OrderNo", "CustomerNo"), orderby=("CustomerNo desc",))
    rows = list(client.iter_rows(settings.entities.orders, query, page_size=7))
    keys = [r["OrderNo"] for r in rows]
    assert sorted(keys) == sorted(r["OrderNo"] for r in stored_orders(simulator))
    customers = [r["CustomerNo"] for r in rows]
    assert customers == sorted(customers, reverse=True)
    assert len(set(customers)) < len(customers)  # ties exist, so the keys had to break them


def test_order_lines_are_paged_by_their_keys(
    client: IfsClient, settings: IfsSettings, simulator: IfsSimulator
) -> None:
    """The default OrderLinesArray(LineNo,RelNo,OrderNo,LineItemNo) pages an order's lines in key order."""
    lines = simulator.tenant.of_table("CustomerOrderLine")
    counts = Counter(r.values["OrderNo"] for r in simulator.tenant.store.scan(lines.table))
    order_no, count = counts.most_common(1)[0]
    assert count > 6
    entities = settings.entities
    read = list(
        client.iter_children(
            entities.orders, {"OrderNo": order_no}, entities.order_lines_navigation, page_size=3
        )
    )
    keys = [tuple(line[k] for k in entities.order_lines.keys) for line in read]
    assert len(set(keys)) == len(keys) == count
    assert keys == sorted(keys)


def test_skip_paging_without_keys_is_refused(client: IfsClient, settings: IfsSettings) -> None:
    """A navigation configured without keys cannot be $skip-paged; server paging or one request still work."""
    orders, bare = settings.entities.orders, Navigation("OrderLinesArray")
    key = {"OrderNo": "C1000000933"}
    with pytest.raises(ValueError, match=r"\$skip paging of CustomerOrderSet/OrderLinesArray needs its key"):
        client.iter_children(orders, key, bare, page_size=2)
    every = list(client.iter_children(orders, key, bare, page_size=0))
    assert len(list(client.iter_children(orders, key, bare, Query(top=len(every)), page_size=1000))) == len(
        every
    )


def test_timestamps_are_utc_with_the_time_zone_header(
    http: httpx.Client,
    client: IfsClient,
    settings: IfsSettings,
    tokens: IfsTokenProvider,
    simulator: IfsSimulator,
) -> None:
    """A server in Stockholm (UTC+2 on 1 October) reads 12:00Z as 10:00 UTC unless the header says UTC."""
    simulator.api.server_time_zone = ZoneInfo("Europe/Stockholm")
    key = {"OrderNo": "C1000000933"}
    orders = simulator.tenant.of_table("CustomerOrder")
    simulator.tenant.touch(orders, key, {"OrderCreationDate": "2025-10-01T11:00:00Z"})
    query = Query(
        select=("OrderNo",),
        filter=eq("OrderNo", "C1000000933") & ge("OrderCreationDate", datetime(2025, 10, 1, 12, tzinfo=UTC)),
    )
    unaware_settings = ifs_settings(settings.base_url, IFS_TIME_ZONE_AWARE="false")
    unaware = IfsClient.from_settings(http, unaware_settings, tokens)
    assert list(client.iter_rows(settings.entities.orders, query)) == []  # 11:00 UTC is before 12:00 UTC
    assert [r["OrderNo"] for r in unaware.iter_rows(settings.entities.orders, query)] == ["C1000000933"]
    sent = [r.headers for r in simulator.admin.log.entries(path="/main", method="GET")][-2:]
    assert [h.get("x-ifs-time-zone-aware-request") for h in sent] == ["true", None]
    simulator.api.server_time_zone = UTC
    assert list(unaware.iter_rows(settings.entities.orders, query)) == []


def test_odata_id_comes_only_when_the_select_leaves_keys_out(
    client: IfsClient, settings: IfsSettings
) -> None:
    """As captured: @odata.id with $select=VoucherNo (keys left out), none when every key is selected."""
    lines = settings.entities.order_lines
    [some] = client.iter_rows(
        lines, Query(select=("OrderNo", "CatalogNo"), filter=eq("OrderNo", "C1000000933"), top=1)
    )
    [every] = client.iter_rows(
        lines, Query(select=(*lines.keys, "CatalogNo"), filter=eq("OrderNo", "C1000000933"), top=1)
    )
    assert some["@odata.id"].startswith("CustomerOrderLineSet(LineNo='")
    assert list(some)[:2] == ["@odata.etag", "@odata.id"]
    assert "@odata.id" not in every
    assert list(every)[:5] == ["@odata.etag", *lines.keys]


def test_an_enum_literal_of_another_type_is_refused(client: IfsClient, settings: IfsSettings) -> None:
    """Objstate is a CustomerOrderState: the same identifier under another enum type is a 400."""
    wrong = enum("CustomerOrderHandling", "CustomerOrderLineState", "Released")
    with pytest.raises(IfsBadRequestError) as caught:
        list(client.iter_rows(settings.entities.orders, Query(filter=eq("Objstate", wrong))))
    assert caught.value.message == "Malformed Request."
    assert caught.value.details[0].message == (
        "A binary operator with incompatible types was detected. Found operand types "
        "'IfsApp.CustomerOrderHandling.CustomerOrderState' and "
        "'IfsApp.CustomerOrderHandling.CustomerOrderLineState' for operator kind 'Equal'."
    )


def test_long_key_lists_are_split_into_several_requests(
    client: IfsClient, settings: IfsSettings, simulator: IfsSimulator, admin: AdminClient
) -> None:
    """250 keys make a URL longer than the client's 7500-character budget: two requests, each within it."""
    stored = sorted(r["OrderNo"] for r in stored_orders(simulator))
    keys = [{"OrderNo": no} for no in stored] + [{"OrderNo": f"C9{n:09d}"} for n in range(250 - len(stored))]
    before = client.requests_sent
    rows = list(client.get_many(settings.entities.orders, keys, select=("OrderNo",), chunk_size=250))
    assert sorted(r["OrderNo"] for r in rows) == stored
    assert client.requests_sent - before == 2
    sent = admin.requests(path="/main", method="GET")[-2:]
    assert all(len(settings.base_url + r["path"] + "?" + r["query"]) <= DEFAULT_MAX_URL_LENGTH for r in sent)
    filters = [dict(parse_qsl(r["query"]))["$filter"] for r in sent]
    assert sum(text.count(" eq ") for text in filters) == 250
