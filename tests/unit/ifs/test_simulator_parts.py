"""The IFS simulator's building blocks: ROWIDs, keyrefs, Objversions, seed data, path segments, IAM."""

from __future__ import annotations

from argparse import ArgumentTypeError
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from simulators.common.odata.nodes import Literal
from simulators.common.odata.parser import Context, parse_filter
from simulators.ifs.__main__ import time_zone
from simulators.ifs.filters import in_server_time, walk
from simulators.ifs.iam import Iam
from simulators.ifs.projections import RecordView
from simulators.ifs.resources import PathError, parse_segment
from simulators.ifs.seed import generate
from simulators.ifs.store import Record, Store, ifs_column, keyref, next_objversion, rowid

NOON = datetime(2025, 11, 12, 12, 0, tzinfo=UTC)


def test_rowid_encodes_like_the_captured_objids() -> None:
    """Object 102966, file 22, block 2001147, row 4 is the captured order's Objid AAAZI2AAWAAHoj7AAE."""
    assert rowid(102_966, 22, 2_001_147, 4) == "AAAZI2AAWAAHoj7AAE"


def test_keyref_matches_the_captured_line() -> None:
    """Key columns in IFS's DB names, sorted, each closed by '^'."""
    line = {"OrderNo": "C1000000933", "LineNo": "1", "RelNo": "1", "LineItemNo": 0}
    assert keyref(line, ("LineNo", "RelNo", "OrderNo", "LineItemNo")) == (
        "LINE_ITEM_NO=0^LINE_NO=1^ORDER_NO=C1000000933^REL_NO=1^"
    )
    assert ifs_column("CatalogNo") == "CATALOG_NO"


def test_objversion_moves_forward_on_every_write() -> None:
    """Two writes in one second still get different, increasing Objversions."""
    first = next_objversion(NOON, None)
    second = next_objversion(NOON, first)
    assert (first, second) == ("20251112120000", "20251112120001")
    assert next_objversion(NOON + timedelta(hours=1), second) == "20251112130000"
    assert next_objversion(NOON, "7") == "8"


def test_store_transactions_undo_everything_on_failure() -> None:
    """A failing change set leaves no trace: inserts removed, updates restored."""
    store = Store(lambda: NOON)
    table = store.table("CustomerOrder", ("OrderNo",))
    kept = store.insert(table, {"OrderNo": "A", "NoteText": "before"})

    def change_set() -> None:
        with store.transaction():
            store.insert(table, {"OrderNo": "B"})
            store.update(table, ("A",), {"NoteText": "after"})
            raise RuntimeError("part 3 failed")

    with pytest.raises(RuntimeError):
        change_set()
    assert list(table.rows) == [("A",)]
    assert table.rows[("A",)] == kept


def test_store_matching_follows_every_write() -> None:
    """Rows by column values, in insertion order, current after inserts, updates, deletes and rollbacks."""
    store = Store(lambda: NOON)
    table = store.table("CustomerInfoAddress", ("CustomerId", "AddressId"))
    for customer, address in (("C1", "01"), ("C2", "01"), ("C1", "02")):
        store.insert(table, {"CustomerId": customer, "AddressId": address, "City": "Leeds"})

    def of(customer: str) -> list[tuple[str, str]]:
        found = store.matching(table, {"CustomerId": customer})
        expected = [r for r in store.scan(table) if r.values["CustomerId"] == customer]
        assert found == expected
        return [(r.values["AddressId"], r.values["City"]) for r in found]

    assert of("C1") == [("01", "Leeds"), ("02", "Leeds")]
    store.update(table, ("C1", "02"), {"City": "Derby"})
    store.insert(table, {"CustomerId": "C1", "AddressId": "03", "City": "York"})
    store.delete(table, ("C1", "01"))
    assert of("C1") == [("02", "Derby"), ("03", "York")]

    def rolled_back() -> None:
        with store.transaction():
            store.delete(table, ("C1", "03"))
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        rolled_back()
    assert of("C1") == [("02", "Derby"), ("03", "York")]
    assert of("C9") == []


def test_seed_is_deterministic_and_scales() -> None:
    """Same seed, same rows; a bigger size gives more orders, customers and parts."""
    small, again, other = generate(5, 40), generate(5, 40), generate(6, 40)
    assert [r.values for r in small.rows] == [r.values for r in again.rows]
    assert [r.values for r in small.rows] != [r.values for r in other.rows]
    counts, bigger = Counter(r.luname for r in small.rows), Counter(r.luname for r in generate(5, 400).rows)
    assert counts["CustomerOrder"] == 40
    assert bigger["CustomerOrder"] == 400
    assert bigger["CustomerInfo"] > counts["CustomerInfo"]
    assert bigger["SalesPart"] > counts["SalesPart"]


def test_seed_takes_exact_counts_and_part_sites() -> None:
    """Exact customer and catalog counts, parts on the sites asked for only; size still sets the orders."""
    data = generate(5, 40, customers=300, sales_parts=120, part_sites=("MFG10", "UK30", "SE40"))
    counts = Counter(r.luname for r in data.rows)
    assert counts["CustomerInfo"] == 300
    assert counts["CustomerOrder"] == 40
    parts = data.of("SalesPart")
    assert len({r.values["CatalogNo"] for r in parts}) == 120
    assert {r.values["Contract"] for r in parts} == {"MFG10", "UK30", "SE40"}
    assert len({(r.values["Contract"], r.values["CatalogNo"]) for r in parts}) == len(parts)


def test_seed_without_counts_is_unchanged_by_the_options() -> None:
    """Leaving the options out gives the rows of seed and size alone (existing seeds keep their data)."""
    plain = [r.values for r in generate(5, 40).rows]
    assert [r.values for r in generate(5, 40, customers=None, part_sites=None).rows] == plain


@pytest.mark.parametrize(
    "options",
    [{"part_sites": ("XX99",)}, {"part_sites": ()}, {"customers": 0}, {"sales_parts": 9001}],
)
def test_seed_refuses_counts_and_sites_it_cannot_honour(options: dict[str, object]) -> None:
    """An unknown site, no site, no customers, or more parts than distinct catalog numbers: ValueError."""
    with pytest.raises(ValueError, match=r"part_sites|customers|sales parts"):
        generate(5, 40, **options)  # type: ignore[arg-type]


def test_seed_orders_look_like_ifs() -> None:
    """Orders have 1-20 lines, enum states, Edm.Date vs timestamps, keyrefs, and lines agree with headers."""
    data = generate(2, 120)
    orders = {r.values["OrderNo"]: r.values for r in data.of("CustomerOrder")}
    lines = Counter(r.values["OrderNo"] for r in data.of("CustomerOrderLine"))
    assert set(lines) == set(orders)
    assert min(lines.values()) >= 1
    assert max(lines.values()) <= 20
    states = Counter(o["Objstate"] for o in orders.values())
    assert {"Invoiced", "Released"} <= set(states)
    order = next(iter(orders.values()))
    assert len(order["DateEntered"]) == 10
    assert order["OrderCreationDate"].endswith("Z")
    assert order["keyref"] == f"ORDER_NO={order['OrderNo']}^"
    for line in data.of("CustomerOrderLine"):
        header = orders[line.values["OrderNo"]]
        if header["Objstate"] in ("Invoiced", "Cancelled", "Planned"):
            assert line.values["Objstate"] == header["Objstate"]
    assert data.of("OrderQuotation")
    assert data.of("CustomerInfoAddress")


@pytest.mark.parametrize(
    ("raw", "name", "named", "positional"),
    [
        ("CustomerOrderSet", "CustomerOrderSet", None, None),
        ("CustomerOrderSet(OrderNo='C1')", "CustomerOrderSet", {"OrderNo": "C1"}, None),
        ("CustomerOrderSet('C1')", "CustomerOrderSet", None, "C1"),
        (
            "CustomerOrderLineSet(LineNo='1',RelNo='1',OrderNo='X',LineItemNo=0)",
            "CustomerOrderLineSet",
            {"LineNo": "1", "RelNo": "1", "OrderNo": "X", "LineItemNo": 0},
            None,
        ),
        (
            "SalesPartSet(Contract='S%201',CatalogNo='A%2FB''C,D')",
            "SalesPartSet",
            {"Contract": "S 1", "CatalogNo": "A/B'C,D"},
            None,
        ),
        (
            "IfsApp.CustomerOrderHandling.CustomerOrder_ReleaseOrder",
            "IfsApp.CustomerOrderHandling.CustomerOrder_ReleaseOrder",
            None,
            None,
        ),
    ],
)
def test_path_segments(raw: str, name: str, named: dict[str, object] | None, positional: object) -> None:
    """Names, named keys, a positional key, escaped quotes and encoded characters."""
    segment = parse_segment(raw)
    assert (segment.name, segment.named, segment.positional) == (name, named, positional)


@pytest.mark.parametrize("raw", ["Set(OrderNo='C1)", "Set(OrderNo=C1)", "Set(=1)", "Set('a'b')"])
def test_malformed_segments(raw: str) -> None:
    """Unterminated strings, bare words and empty names are refused."""
    with pytest.raises(PathError):
        parse_segment(raw)


def test_iam_answers_like_keycloak() -> None:
    """Missing or unsupported grant, unknown client, wrong secret; a token expires on the clock."""
    now = [NOON]
    iam = Iam("acme1", {"c": "s"}, lambda: now[0], token_lifetime=180)
    assert iam.token({}).body["error"] == "invalid_request"
    assert iam.token({"grant_type": "password", "client_id": "c", "client_secret": "s"}).body["error"] == (
        "unsupported_grant_type"
    )
    assert iam.token({"grant_type": "client_credentials", "client_id": "x"}).status == 401
    assert iam.token({"grant_type": "client_credentials", "client_id": "c", "client_secret": "no"}).body == {
        "error": "unauthorized_client",
        "error_description": "Invalid client or Invalid client credentials",
    }
    reply = iam.token({"grant_type": "client_credentials"}, basic=("c", "s"))
    assert (reply.status, reply.body["expires_in"], reply.body["token_type"]) == (200, 180, "Bearer")
    header = "Bearer " + reply.body["access_token"]
    assert iam.accepts(header)
    now[0] += timedelta(seconds=180)
    assert not iam.accepts(header)


def test_a_record_view_counts_what_it_lists() -> None:
    """len() agrees with iteration, also when a row carries attributes beyond the set's property list."""
    record = Record({"OrderNo": "A", "NoteText": "n", "Cf_Extra": 1}, "AAAZI2AAWAAHoj7AAE", "20251112120000")
    view = RecordView(record, ["OrderNo", "NoteText", "CustomerNo"])
    assert list(view) == ["@odata.etag", "OrderNo", "NoteText", "CustomerNo", "Cf_Extra"]
    assert len(view) == 5
    assert dict(view)["CustomerNo"] is None


def test_server_time_zone_option() -> None:
    """--server-time-zone takes UTC or an IANA name and refuses anything else."""
    assert time_zone("utc") is UTC
    assert time_zone("Europe/Stockholm") == ZoneInfo("Europe/Stockholm")
    with pytest.raises(ArgumentTypeError, match="unknown time zone"):
        time_zone("Mars/Olympus")


def test_z_timestamps_are_read_in_the_server_zone() -> None:
    """Only literals written with Z move; an explicit offset and dates stay as they are."""
    context = Context(properties=frozenset({"At", "Day"}))
    expr = parse_filter(
        "At ge 2025-10-01T12:00:00Z and At lt 2025-10-01T12:00:00+02:00 and Day eq 2025-10-01", context
    )
    moved = in_server_time(expr, ZoneInfo("Europe/Stockholm"))
    literals = [node.value for node in walk(moved) if isinstance(node, Literal)]
    assert literals == [
        datetime(2025, 10, 1, 10, 0, tzinfo=UTC),
        datetime(2025, 10, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))),
        date(2025, 10, 1),
    ]
