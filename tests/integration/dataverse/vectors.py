"""Sending a published request vector to the Dataverse simulator as written, with a real token."""

from __future__ import annotations

import httpx

from tests.integration.dataverse.conftest import DataverseStack
from tests.integration.dataverse.test_sim_documented_exchanges import Message, read_message

ACCOUNT = "00000000-0000-0000-0000-000000000001"


def request_target(message: Message) -> tuple[str, str]:
    """(method, URL) of a request line; the URL may hold spaces and the HTTP version may be missing."""
    method, rest = message.start.split(" ", 1)
    if rest.rstrip().endswith(("HTTP/1.1", "HTTP/1.0")):
        rest = rest.rstrip().rsplit(" ", 1)[0]
    return method, rest.strip()


def send_vector(
    dataverse: DataverseStack, name: str, substitutions: dict[str, str] | None = None
) -> httpx.Response:
    """Send ``<name>.request.http`` (Content-Length dropped: the published values do not match the text)."""
    request = read_message(f"{name}.request.http", dataverse.url)
    method, target = request_target(request)
    body = request.body
    for old, new in (substitutions or {}).items():
        target, body = target.replace(old, new), body.replace(old, new)
    headers = {
        k: v for k, v in request.headers.items() if k.lower() not in ("content-length", "authorization")
    }
    headers["Authorization"] = f"Bearer {dataverse.token()}"
    with dataverse.raw() as http:
        return http.request(method, target, headers=headers, content=body.encode() or None)


def expected_response(dataverse: DataverseStack, name: str) -> Message:
    """The published ``<name>.response.http`` with the simulator's URL for the placeholder."""
    return read_message(f"{name}.response.http", dataverse.url)


def create_account(
    dataverse: DataverseStack, account_id: str = ACCOUNT, name: str = "Sample Account"
) -> None:
    """The articles' account 00000000-…-0001 (tasks in the batch examples are regarding it)."""
    org = dataverse.simulator.org
    table = org.table("account")
    assert table is not None
    org.create(table, {"accountid": account_id, "name": name}, org.system_caller)
