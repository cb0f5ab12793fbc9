"""Webhook request headers: the documented set, read case-insensitively, with the size-exceeded signal."""

from __future__ import annotations

import re
from pathlib import Path
from uuid import UUID

import pytest

from shared.dataverse.webhook import WebhookHeaders, WebhookPayloadError, parse_webhook_headers
from shared.dataverse.webhook import headers as names

DOCUMENTED = Path(__file__).resolve().parents[2] / "vectors" / "dataverse" / "webhook-headers.md"
CORRELATION = "b374239d-4233-41a9-8b17-a86cb4f737b5"
BASE = {
    "X-Ms-Dynamics-Organization": "orgname.crm.dynamics.com",
    "x-ms-dynamics-entity-name": "contact",
    "X-MS-DYNAMICS-REQUEST-NAME": "Update",
    "x-ms-correlation-request-id": CORRELATION,
    "Content-Type": "application/json",
}


def test_every_documented_header_is_known() -> None:
    """The header names in both documentation tables are exactly the ones the parser reads."""
    table_rows = re.findall(r"^\|`(x-[a-z-]+)`\|", DOCUMENTED.read_text(encoding="utf-8"), flags=re.MULTILINE)
    known = {
        names.ORGANIZATION,
        names.ENTITY_NAME,
        names.REQUEST_NAME,
        names.CORRELATION_REQUEST_ID,
        names.MSG_SIZE_EXCEEDED,
        names.REQUEST_ID,
    }
    assert set(table_rows) == known


def test_headers_are_read_case_insensitively() -> None:
    """Header names in any case give the same typed value; x-request-id is optional."""
    assert parse_webhook_headers(BASE) == WebhookHeaders(
        organization="orgname.crm.dynamics.com",
        entity_name="contact",
        request_name="Update",
        correlation_request_id=UUID(CORRELATION),
        request_id=None,
        size_exceeded=False,
    )


def test_request_id_and_size_exceeded() -> None:
    """x-request-id is kept as sent; an empty size header counts: its presence is the documented signal."""
    parsed = parse_webhook_headers({**BASE, "X-Request-Id": "abc-123", "x-ms-dynamics-msg-size-exceeded": ""})
    assert parsed.request_id == "abc-123"
    assert parsed.size_exceeded is True


@pytest.mark.parametrize(
    ("value", "exceeded"),
    [("true", True), ("True", True), ("1", True), ("false", False), ("False", False), (" FALSE ", False)],
)
def test_size_exceeded_is_present_and_not_false(value: str, exceeded: bool) -> None:
    """Only an explicit false clears the flag; any other value means trimmed, so the row is read."""
    parsed = parse_webhook_headers({**BASE, "X-MS-Dynamics-Msg-Size-Exceeded": value})
    assert parsed.size_exceeded is exceeded


@pytest.mark.parametrize(
    "missing",
    [names.ORGANIZATION, names.ENTITY_NAME, names.REQUEST_NAME, names.CORRELATION_REQUEST_ID],
)
def test_a_missing_required_header_is_named(missing: str) -> None:
    """Each of the four always-documented headers is required, and the error names it."""
    headers = {name: value for name, value in BASE.items() if name.lower() != missing}
    with pytest.raises(WebhookPayloadError) as caught:
        parse_webhook_headers(headers)
    assert caught.value.path == f"header {missing}"
    assert caught.value.reason == "missing"


def test_a_blank_header_counts_as_missing() -> None:
    """A header present with only whitespace is reported as missing."""
    with pytest.raises(WebhookPayloadError, match="x-ms-dynamics-entity-name: missing"):
        parse_webhook_headers({**BASE, "x-ms-dynamics-entity-name": "  "})


def test_a_correlation_id_that_is_not_a_guid_is_rejected() -> None:
    """The correlation header must be a GUID."""
    with pytest.raises(WebhookPayloadError, match="expected a GUID, got 'op-1'"):
        parse_webhook_headers({**BASE, "x-ms-correlation-request-id": "op-1"})
