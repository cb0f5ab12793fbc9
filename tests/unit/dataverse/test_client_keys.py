"""Record addresses: quoting, encoding, and refusing key values a URL cannot carry."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import httpx
import pytest

from shared.dataverse.actions import DataverseActions
from shared.dataverse.client import DataverseClient
from shared.dataverse.keys import UnaddressableKeyError, addressable, key_segment, record_path
from tests.unit.dataverse.test_client_edges import StaticCredential

ROW = uuid.UUID("00000000-0000-0000-0000-000000000001")


def test_guid_and_single_key_paths() -> None:
    """A GUID goes bare; a string key value is quoted."""
    assert record_path("accounts", ROW) == f"accounts({ROW})"
    assert record_path("accounts", {"accountnumber": "ABC123"}) == "accounts(accountnumber='ABC123')"


def test_multi_part_lookup_and_typed_keys() -> None:
    """Several columns join with commas; numbers, GUIDs (lookup keys) and dates are unquoted."""
    assert key_segment({"example_key1": 2, "example_key2": 2}) == "example_key1=2,example_key2=2"
    assert key_segment({"_primarycontactid_value": ROW}) == f"_primarycontactid_value={ROW}"
    assert key_segment({"validfrom": dt.date(2026, 1, 31)}) == "validfrom=2026-01-31"


def test_quotes_are_doubled_and_other_characters_percent_encoded() -> None:
    """O'Brien becomes 'O''Brien'; a space and # are encoded so they survive the URL."""
    assert key_segment({"name": "O'Brien"}) == "name='O''Brien'"
    assert key_segment({"name": "A B#1"}) == "name='A%20B%231'"


@pytest.mark.parametrize("character", list("/<>*%&:\\?+"))
def test_unaddressable_characters_are_refused_before_sending(character: str) -> None:
    """Each character the alternate-keys article names raises with the column, value and character."""
    value = f"SO{character}42"
    with pytest.raises(UnaddressableKeyError) as caught:
        record_path("salesorders", {"ordernumber": value})
    assert (caught.value.column, caught.value.value, caught.value.character) == (
        "ordernumber",
        value,
        character,
    )
    assert "write this row by its GUID" in str(caught.value)
    assert not addressable(value)


def test_booleans_and_empty_keys_are_programming_errors() -> None:
    """A boolean is no key value; a key needs a column."""
    with pytest.raises(TypeError):
        key_segment({"flag": True})
    with pytest.raises(ValueError, match="at least one column"):
        key_segment({})


def test_datetime_keys_are_written_in_utc_and_naive_ones_refused() -> None:
    """An aware datetime becomes its UTC instant; a naive one names no instant and is refused."""
    eastern = dt.timezone(dt.timedelta(hours=-5))
    aware = dt.datetime(2026, 1, 31, 3, 0, tzinfo=eastern)
    assert key_segment({"validfrom": aware}) == "validfrom=2026-01-31T08:00:00Z"
    with pytest.raises(ValueError, match="naive datetime"):
        key_segment({"validfrom": dt.datetime(2026, 1, 31, 3, 0)})


def test_a_naive_quote_close_date_is_refused_before_sending() -> None:
    """ConvertQuoteToSalesOrder's close date must say its time zone; nothing is sent otherwise."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"salesorderid": str(ROW)})

    client = DataverseClient(
        httpx.Client(transport=httpx.MockTransport(handler)), "https://org.example", StaticCredential()
    )
    with pytest.raises(ValueError, match="naive datetime"):
        DataverseActions(client).convert_quote_to_order(ROW, close_date=dt.datetime(2026, 1, 31, 3, 0))
    assert sent == []
    DataverseActions(client).convert_quote_to_order(
        ROW, close_date=dt.datetime(2026, 1, 31, 3, 0, tzinfo=dt.UTC)
    )
    assert json.loads(sent[0].content)["QuoteCloseDate"] == "2026-01-31T03:00:00Z"
