"""OData literals, filters and query strings are written the way IFS parses them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest

from shared.ifs.query import (
    EnumValue,
    Query,
    contains,
    enum,
    eq,
    ge,
    literal,
    lt,
    matching,
    one_of,
    startswith,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("C1000000933", "'C1000000933'"),
        ("O'Brien's", "'O''Brien''s'"),
        ("", "''"),
        (0, "0"),
        (-12, "-12"),
        (True, "true"),
        (None, "null"),
        (Decimal("271.70"), "271.70"),
        (Decimal("1E+3"), "1000"),  # str() would give 1E+3, which OData does not read as a decimal
        (1.5, "1.5"),
        (date(2025, 1, 15), "2025-01-15"),
        (datetime(2025, 1, 15, 2, 0, 42, tzinfo=UTC), "2025-01-15T02:00:42Z"),
        (datetime(2025, 1, 15, 3, 0, 42, tzinfo=timezone(timedelta(hours=1))), "2025-01-15T02:00:42Z"),
        (datetime(2025, 1, 15, 2, 0, 42, 500000, tzinfo=UTC), "2025-01-15T02:00:42.5Z"),
        (
            enum("CustomerOrderHandling", "CustomerOrderState", "Released"),
            "IfsApp.CustomerOrderHandling.CustomerOrderState'Released'",
        ),
    ],
)
def test_literals(value: object, expected: str) -> None:
    """Each Python value becomes the OData literal IFS expects."""
    assert literal(value) == expected  # type: ignore[arg-type]


def test_naive_timestamps_are_refused() -> None:
    """A datetime without zone is ambiguous for IFS and is not guessed."""
    with pytest.raises(ValueError, match="time zone"):
        literal(datetime(2025, 1, 15, 2, 0))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), Decimal("NaN")])
def test_non_finite_numbers_are_refused(bad: object) -> None:
    """NaN and infinity have no OData literal."""
    with pytest.raises(ValueError, match="no OData literal"):
        literal(bad)  # type: ignore[arg-type]


def test_enum_parts_are_checked() -> None:
    """An enum identifier cannot smuggle in quotes."""
    with pytest.raises(ValueError, match="identifier"):
        EnumValue("IfsApp.P.T", "Released' or 1 eq 1 or 'x")


def test_property_names_cannot_inject_syntax() -> None:
    """Only plain identifiers (and paths) are accepted as property names."""
    with pytest.raises(ValueError, match="property path"):
        eq("OrderNo eq 'x' or OrderNo", "y")
    with pytest.raises(ValueError, match="identifier"):
        Query(expand=("CustomerNoRef,Foo",))
    with pytest.raises(ValueError, match="property path"):
        eq("OrderNo\n", "y")


def test_filters_combine_with_operators() -> None:
    """&, | and ~ nest with explicit parentheses."""
    state = enum("CustomerOrderHandling", "CustomerOrderState", "Released")
    combined = (eq("Objstate", state) | eq("Objstate", "x")) & ~ge("DateEntered", date(2025, 1, 1))
    assert combined.text == (
        "((Objstate eq IfsApp.CustomerOrderHandling.CustomerOrderState'Released') or (Objstate eq 'x'))"
        " and (not (DateEntered ge 2025-01-01))"
    )


def test_key_lists_and_matches() -> None:
    """one_of chains equality with or; matching chains with and; string functions quote their text."""
    assert one_of("OrderNo", ["A", "B"]).text == "(OrderNo eq 'A') or (OrderNo eq 'B')"
    assert one_of("OrderNo", ["A"]).text == "OrderNo eq 'A'"
    assert matching({"CustomerPoNo": "PO-1", "Contract": "S1"}).text == (
        "(CustomerPoNo eq 'PO-1') and (Contract eq 'S1')"
    )
    assert contains("Name", "it's").text == "contains(Name,'it''s')"
    assert startswith("Name", "A").text == "startswith(Name,'A')"
    assert lt("LineItemNo", 1).text == "LineItemNo lt 1"


def test_query_string_encodes_values_and_decodes_back() -> None:
    """The query string percent-encodes spaces and '+' and decodes to the same options."""
    query = Query(
        select=("OrderNo", "Objstate"),
        filter=ge("OrderCreationDate", datetime(2025, 1, 1, tzinfo=UTC)) & eq("CustRef", "a+b & c#"),
        orderby=("OrderNo desc",),
        top=60,
        skip=120,
    )
    text = query.query_string()
    assert not {" ", "+", "#"} & set(text)
    assert text.startswith("$select=OrderNo,Objstate&$filter=")
    assert parse_qsl(text) == [
        ("$select", "OrderNo,Objstate"),
        ("$filter", "(OrderCreationDate ge 2025-01-01T00:00:00Z) and (CustRef eq 'a+b & c#')"),
        ("$orderby", "OrderNo desc"),
        ("$top", "60"),
        ("$skip", "120"),
    ]


def test_query_rejects_bad_options() -> None:
    """Negative paging values and unknown sort directions are refused."""
    with pytest.raises(ValueError, match="negative"):
        Query(top=-1)
    with pytest.raises(ValueError, match="asc or desc"):
        Query(orderby=("OrderNo sideways",))
