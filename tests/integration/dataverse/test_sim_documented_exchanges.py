"""The simulator reproduces every documented upsert and conditional-operation exchange.

Each ``*.request.http`` from Microsoft's articles is sent as published (with the simulator's URL for
``[Organization URI]`` and a real Entra token) and the answer is compared with the ``*.response.http``:
status line, the documented headers (and no documented header that the article's response lacks), and
the body. Values the server chooses (ETags, record ids) are checked for form and consistency instead of
equality; where a request names a version the article's server had given its row, the row's actual ETag
is used.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from simulators.dataverse.keys import parse_locator
from simulators.dataverse.records import etag
from tests.integration.dataverse.conftest import EXAMPLE_TABLE, DataverseStack

EXCHANGES = Path(__file__).resolve().parents[2] / "vectors" / "dataverse" / "http-exchanges"
ORG_PLACEHOLDER = re.compile(r"\[Organization (?:Uri|URI)\]")
ACCOUNT = "00000000-0000-0000-0000-000000000001"
WEAK_ETAG = re.compile(r'^W/"\d+"$')
# Response headers whose presence the articles document (others, such as Date, are the server's own).
DOCUMENTED_HEADERS = ("content-type", "etag", "odata-entityid", "odata-version", "preference-applied")


@dataclass(frozen=True)
class Message:
    """One raw HTTP message from a vector file."""

    start: str
    headers: dict[str, str]
    body: str


def read_message(name: str, url: str) -> Message:
    """Parse a vector, stripping trailing whitespace per line (see tests/vectors/PROVENANCE.md)."""
    text = ORG_PLACEHOLDER.sub(url, (EXCHANGES / name).read_text(encoding="utf-8"))
    lines = [line.rstrip() for line in text.splitlines()]
    blank = lines.index("") if "" in lines else len(lines)
    headers = {}
    for line in lines[1:blank]:
        header, _, value = line.partition(":")
        headers[header.strip()] = value.strip()
    return Message(lines[0], headers, "\n".join(lines[blank + 1 :]).strip())


def existing_account(stack: DataverseStack) -> str:
    """The article's account 00000000-…-0001, created; returns its ETag."""
    org = stack.simulator.org
    table = org.table("account")
    assert table is not None
    row, _ = org.upsert(table, parse_locator(table, ACCOUNT), {"name": "Sample Account"}, org.system_caller)
    return etag(row)


def example_key(stack: DataverseStack, *rows: tuple[int, int]) -> dict[str, str]:
    """The example table's two-column alternate key (Active), and rows with those key values."""
    org = stack.simulator.org
    org.keys.define(EXAMPLE_TABLE, "example_key", ["example_key1", "example_key2"], active=True)
    for key1, key2 in rows:
        org.create(
            EXAMPLE_TABLE,
            {"example_key1": key1, "example_key2": key2, "example_name": f"{key1}:{key2}"},
            org.system_caller,
        )
    return {}


Setup = Callable[[DataverseStack], dict[str, str]]  # returns placeholder substitutions for the request


def no_setup(stack: DataverseStack) -> dict[str, str]:
    return {}


def account_exists(stack: DataverseStack) -> dict[str, str]:
    existing_account(stack)
    return {}


def account_version_is_current(stack: DataverseStack) -> dict[str, str]:
    return {'W/"468026"': existing_account(stack)}


CASES: dict[str, Setup] = {
    "upsert-create-204": example_key,
    "upsert-update-204": lambda stack: example_key(stack, (2, 2)),
    "upsert-create-201-return-representation": example_key,
    "upsert-update-200-return-representation": lambda stack: example_key(stack, (3, 3)),
    "upsert-prevent-create-if-match-star-404": no_setup,
    "upsert-prevent-update-if-none-match-star-412": account_exists,
    "conditional-get-if-none-match-304": account_version_is_current,
    "update-if-match-etag-mismatch-412": account_exists,
    "delete-if-match-etag-mismatch-412": account_exists,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_documented_exchange_is_reproduced(name: str, dataverse: DataverseStack) -> None:
    """Status line, documented headers and body match the article's response."""
    substitutions = CASES[name](dataverse)
    request = read_message(f"{name}.request.http", dataverse.url)
    expected = read_message(f"{name}.response.http", dataverse.url)
    method, target, _version = request.start.split()
    headers = {k: substitutions.get(v, v) for k, v in request.headers.items()}
    headers["Authorization"] = f"Bearer {dataverse.token()}"
    with dataverse.raw() as http:
        response = http.request(method, target, headers=headers, content=request.body.encode() or None)

    _, status, reason = expected.start.split(" ", 2)
    assert (response.status_code, response.reason_phrase) == (int(status), reason)
    documented = {k.lower(): v for k, v in expected.headers.items()}
    for header in DOCUMENTED_HEADERS:
        assert (header in response.headers) == (header in documented), header
    for header, value in documented.items():
        if header == "etag":
            assert WEAK_ETAG.match(response.headers[header])
        else:
            assert response.headers[header] == value, header

    if not expected.body:
        assert response.content == b""
        return
    body, published = response.json(), json.loads(expected.body)
    if "@odata.etag" in published:
        assert WEAK_ETAG.match(body["@odata.etag"])
        assert body["@odata.etag"] == response.headers["ETag"]
        published["@odata.etag"] = body["@odata.etag"]
    if "example_recordid" in published:
        row = dataverse.simulator.org.store.rows("example_record")[0]
        assert body["example_recordid"] == str(row["example_recordid"])
        assert uuid.UUID(published["example_recordid"])
        published["example_recordid"] = body["example_recordid"]
    assert body == published
