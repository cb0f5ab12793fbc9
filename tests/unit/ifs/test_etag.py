"""IFS ETags decode to Objid and Objversion, and are rebuilt byte for byte."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.ifs.etag import IfsEtag, MalformedEtagError, decode_etag

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "ifs"


def captured_rows() -> list[dict[str, object]]:
    document = json.loads((VECTORS / "customer-orders-real.json").read_text(encoding="utf-8"))
    return [*document["customerOrderHeaders"], *document["customerOrderLines"]]


def test_captured_order_etag_decodes_to_rowid_and_objversion() -> None:
    """The first captured order's ETag is Objid AAAZI2AAWAAHoj7AAE at Objversion 20250414084421."""
    header = captured_rows()[0]
    etag = decode_etag(str(header["@odata.etag"]))
    assert etag == IfsEtag("AAAZI2AAWAAHoj7AAE", "20250414084421")
    assert etag.version_timestamp() == datetime(2025, 4, 14, 8, 44, 21, tzinfo=UTC)


def test_documented_sample_etag_decodes() -> None:
    """The Script-A-Rest documentation sample decodes as published."""
    etag = decode_etag('W/"Vy8iQUFDSU1HQUFGQUFCcElIQUFBOjIwMTkxMDMxMTMyNDAwIg=="')
    assert etag == IfsEtag("AACIMGAAFAABpIHAAA", "20191031132400")


@pytest.mark.parametrize("row", captured_rows(), ids=lambda r: str(r["keyref"]))
def test_every_captured_etag_round_trips(row: dict[str, object]) -> None:
    """Decoding and re-encoding each captured ETag gives the captured string exactly."""
    captured = str(row["@odata.etag"])
    assert decode_etag(captured).encode() == captured


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ('"abc"', "not a weak ETag"),
        ('W/"@@@"', "not a weak ETag"),
        ('W/"QUJD"', "is not W/"),  # base64 of "ABC"
        ('W/"/w=="', "not base64 of ASCII"),
        ('W/"Vy8iQUFBOjEiCg=="', "is not W/"),  # trailing newline inside
    ],
)
def test_malformed_etags_are_refused_with_a_reason(value: str, reason: str) -> None:
    """Values that are not IFS ETags raise MalformedEtagError naming the problem."""
    with pytest.raises(MalformedEtagError, match=reason):
        decode_etag(value)


def test_counter_objversions_are_not_timestamps() -> None:
    """An Objversion that is a counter has no timestamp reading."""
    assert IfsEtag("AAA", "7").version_timestamp() is None
