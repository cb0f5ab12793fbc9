"""Links the service returns and change tracking's first page, as the client takes them (MockTransport)."""

from __future__ import annotations

import httpx
import pytest

from shared.dataverse.changes import ChangeTrackingUnavailableError, change_pages
from shared.dataverse.client import DataverseClient
from shared.dataverse.errors import DeltaTokenExpiredError, ForeignLinkError
from tests.unit.dataverse.test_client_edges import StaticCredential

ROOT = "https://org.example/api/data/v9.2/"


def serving(pages: dict[str, httpx.Response]) -> tuple[DataverseClient, list[str]]:
    """A client whose GETs are answered by path and query; the list records each URL requested."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        key = request.url.raw_path.decode()
        return pages.get(key, httpx.Response(404, json={"error": {"code": "", "message": key}}))

    http = httpx.Client(transport=httpx.MockTransport(handler))
    return DataverseClient(http, "https://org.example", StaticCredential()), seen


@pytest.mark.parametrize(
    "link",
    [
        "https://attacker.example/api/data/v9.2/accounts?$skiptoken=2",
        "http://org.example/api/data/v9.2/accounts?$skiptoken=2",
        "https://org.example:8443/api/data/v9.2/accounts?$skiptoken=2",
        "https://org.example/other/accounts?$skiptoken=2",
    ],
    ids=["other host", "other scheme", "other port", "outside the api path"],
)
def test_a_next_link_outside_the_service_root_is_not_followed(link: str) -> None:
    """The first page is read; the foreign link is refused without a request, so the token stays home."""
    first = httpx.Response(200, json={"value": [{"name": "A"}], "@odata.nextLink": link})
    client, seen = serving({"/api/data/v9.2/accounts": first})
    rows = client.query("accounts")
    assert next(rows) == {"name": "A"}
    with pytest.raises(ForeignLinkError) as refused:
        next(rows)
    assert refused.value.transient is False
    assert seen == [ROOT + "accounts"]


def test_a_next_link_under_the_service_root_is_followed() -> None:
    """The service's own absolute links (any letter case of the host) are followed."""
    pages = {
        "/api/data/v9.2/accounts": httpx.Response(
            200,
            json={"value": [{"n": 1}], "@odata.nextLink": "https://ORG.example/api/data/v9.2/accounts?p=2"},
        ),
        "/api/data/v9.2/accounts?p=2": httpx.Response(200, json={"value": [{"n": 2}]}),
    }
    client, _ = serving(pages)
    assert list(client.query("accounts")) == [{"n": 1}, {"n": 2}]


def test_a_table_that_ignores_track_changes_is_detected_on_the_first_page() -> None:
    """No Preference-Applied on the first page: an error at once, before any row or a second page."""
    first = httpx.Response(
        200, json={"value": [{"name": "A"}], "@odata.nextLink": ROOT + "uoms?$skiptoken=2"}
    )
    client, seen = serving({"/api/data/v9.2/uoms?$select=name": first})
    pages = change_pages(client, "uoms", ["name"])
    with pytest.raises(ChangeTrackingUnavailableError):
        next(pages)
    assert len(seen) == 1


def test_a_tracked_first_page_is_read_on() -> None:
    """With Preference-Applied the pages follow to the delta link."""
    applied = {"Preference-Applied": "odata.track-changes"}
    link = ROOT + "accounts?$select=name&$deltatoken=7%2101%2f01%2f2026%2000%3a00%3a00"
    first = httpx.Response(
        200, headers=applied, json={"value": [{"name": "A"}], "@odata.nextLink": ROOT + "accounts?p=2"}
    )
    last = httpx.Response(200, json={"value": [{"name": "B"}], "@odata.deltaLink": link})
    client, _ = serving({"/api/data/v9.2/accounts?$select=name": first, "/api/data/v9.2/accounts?p=2": last})
    pages = list(change_pages(client, "accounts", ["name"]))
    assert [page.next_delta_token for page in pages] == [None, "7!01/01/2026 00:00:00"]


def test_a_refused_delta_token_needs_a_resync_whatever_the_wording() -> None:
    """A 400 with wording nobody has captured still tells the caller to read everything again."""
    refusal = httpx.Response(400, json={"error": {"code": "0x80040203", "message": "Invalid argument."}})
    client, _ = serving({"/api/data/v9.2/accounts?$select=name&$deltatoken=42": refusal})
    with pytest.raises(DeltaTokenExpiredError):
        next(change_pages(client, "accounts", ["name"], delta_token="42"))
