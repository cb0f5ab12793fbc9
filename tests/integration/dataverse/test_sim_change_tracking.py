"""Change tracking over HTTPS: the published exchanges, ordering, paging, refused options and token expiry."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest

from simulators.dataverse.keys import Locator
from tests.integration.dataverse.conftest import DataverseStack
from tests.integration.dataverse.vectors import expected_response, send_vector

PUBLISHED_TOKEN = "919042%2108%2f22%2f2017%2008%3a10%3a44"
DELTA_LINK = re.compile(
    r"^(?P<base>.+/api/data/v9\.0/accounts\?\$select=name,accountnumber,telephone1,fax)"
    r"&\$deltatoken=(?P<token>\d+%21\d\d%2f\d\d%2f\d{4}%20\d\d%3a\d\d%3a\d\d)$"
)
SELECT = "name,accountnumber,telephone1,fax"


def account(dataverse: DataverseStack, name: str, **values: Any) -> str:
    org = dataverse.simulator.org
    table = org.table("account")
    assert table is not None
    return str(org.create(table, {"name": name, **values}, org.system_caller)["accountid"])


def get(dataverse: DataverseStack, url: str, prefer: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {dataverse.token()}"}
    if prefer:
        headers["Prefer"] = prefer
    with dataverse.raw() as http:
        return http.get(
            url if url.startswith("https://") else f"{dataverse.url}/api/data/v9.2/{url}", headers=headers
        )


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["$deltatoken"][0]


def encoded(token: str) -> str:
    """A token as the article's URLs spell it: every reserved character escaped, lower-case hex."""
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(token, safe=""))


def initial_token(dataverse: DataverseStack) -> str:
    response = get(dataverse, f"accounts?$select={SELECT}", prefer="odata.track-changes")
    assert response.status_code == 200
    return str(response.json()["@odata.deltaLink"])


def test_initial_exchange(dataverse: DataverseStack) -> None:
    """Every row, Preference-Applied, and a delta link built from the same $select."""
    account_id = account(dataverse, "Monte Orton", telephone1="555000", fax="10101")
    response = send_vector(dataverse, "change-tracking-initial")
    expected = expected_response(dataverse, "change-tracking-initial")
    assert response.status_code == 200
    assert response.headers["preference-applied"] == expected.headers["Preference-Applied"]
    body, published = response.json(), json.loads(expected.body)
    assert list(body) == list(published)
    assert body["@odata.context"] == published["@odata.context"]
    assert DELTA_LINK.match(body["@odata.deltaLink"])
    [row] = body["value"]
    [published_row] = published["value"]
    assert set(row) == set(published_row)
    assert {k: row[k] for k in ("name", "accountnumber", "telephone1", "fax")} == {
        k: published_row[k] for k in ("name", "accountnumber", "telephone1", "fax")
    }
    assert row["accountid"] == account_id


def test_delta_exchange_with_a_deletion(dataverse: DataverseStack) -> None:
    """After a create and a delete the delta link returns the new row, then the $deletedEntity."""
    doomed = account(dataverse, "Doomed")
    token = token_of(initial_token(dataverse))
    created = account(dataverse, "Monte Orton", telephone1="555000", fax="10101")
    dataverse.simulator.org.store.remove("account", uuid.UUID(doomed))
    response = send_vector(dataverse, "change-tracking-delta-with-deleted", {PUBLISHED_TOKEN: encoded(token)})
    expected = expected_response(dataverse, "change-tracking-delta-with-deleted")
    assert response.status_code == 200
    assert "preference-applied" not in response.headers
    body, published = response.json(), json.loads(expected.body)
    assert list(body) == list(published)
    # The published context lacks "/api" and "accountnumber" (a slip in the article); ours is consistent.
    assert body["@odata.context"] == f"{dataverse.url}/api/data/v9.0/$metadata#accounts({SELECT})/$delta"
    assert DELTA_LINK.match(body["@odata.deltaLink"])
    assert token_of(body["@odata.deltaLink"]) != token
    changed, deleted = body["value"]
    assert set(changed) == set(published["value"][0]) | {"accountnumber"}
    assert (changed["accountid"], changed["name"]) == (created, "Monte Orton")
    assert deleted == {**published["value"][1], "id": doomed}


def test_count_of_changes(dataverse: DataverseStack) -> None:
    """accounts/$count with a delta token counts the changes since it."""
    token = token_of(initial_token(dataverse))
    account(dataverse, "one")
    account(dataverse, "two")
    response = send_vector(dataverse, "change-tracking-count", {PUBLISHED_TOKEN: encoded(token)})
    assert (response.status_code, response.text) == (200, "2")


def test_updates_and_creates_come_before_deletes_in_version_order(dataverse: DataverseStack) -> None:
    """New/updated rows by version, then deletions; a row created and deleted since is reported deleted."""
    org = dataverse.simulator.org
    first, second = account(dataverse, "first"), account(dataverse, "second")
    link = initial_token(dataverse)
    table = org.table("account")
    assert table is not None
    org.store.remove("account", uuid.UUID(first))
    brief = account(dataverse, "brief")
    newer = account(dataverse, "newer")
    org.update(table, Locator(second, id=uuid.UUID(second)), {"name": "second v2"}, org.system_caller)
    org.store.remove("account", uuid.UUID(brief))
    body = get(dataverse, link).json()
    assert [(row.get("name"), row.get("id")) for row in body["value"]] == [
        ("newer", None),
        ("second v2", None),
        (None, first),
        (None, brief),
    ]
    assert newer  # created after the token: reported as a change


def test_paging_inside_a_delta(dataverse: DataverseStack) -> None:
    """With odata.maxpagesize the delta is paged by next links; only the last page has the delta link."""
    link = initial_token(dataverse)
    created = [account(dataverse, f"A{i}") for i in range(5)]
    seen: list[str] = []
    pages = 0
    url: str | None = link
    final: dict[str, Any] = {}
    while url:
        body = get(dataverse, url, prefer="odata.maxpagesize=2").json()
        pages += 1
        seen += [row["accountid"] for row in body["value"]]
        url = body.get("@odata.nextLink")
        if url:
            assert "@odata.deltaLink" not in body
            account(dataverse, f"late{pages}")  # written while paging: left for the next delta
        final = body
    assert (pages, seen) == (3, created)
    later = get(dataverse, final["@odata.deltaLink"]).json()
    assert [row["name"] for row in later["value"]] == ["late1", "late2"]


def test_initial_read_is_paged_too(dataverse: DataverseStack) -> None:
    """The first read of every row pages like any query and ends with the delta link."""
    for i in range(3):
        account(dataverse, f"A{i}")
    first = get(
        dataverse, f"accounts?$select={SELECT}", prefer="odata.track-changes,odata.maxpagesize=2"
    ).json()
    assert len(first["value"]) == 2
    assert "@odata.deltaLink" not in first
    second = get(dataverse, first["@odata.nextLink"], prefer="odata.track-changes,odata.maxpagesize=2").json()
    assert len(second["value"]) == 1
    assert get(dataverse, second["@odata.deltaLink"]).json()["value"] == []


@pytest.mark.parametrize(
    "option", ["$filter=name eq 'x'", "$orderby=name", "$expand=primarycontactid", "$top=1"]
)
def test_options_refused_with_change_tracking(dataverse: DataverseStack, option: str) -> None:
    """$filter, $orderby, $expand and $top with track-changes: the documented message."""
    response = get(dataverse, f"accounts?$select=name&{option}", prefer="odata.track-changes")
    assert response.status_code == 400
    name = option.split("=", maxsplit=1)[0]
    assert response.json()["error"]["message"] == (
        f'The "{name}" query parameter isn\'t supported when Change Tracking is enabled.'
    )


def test_tokens_expire_after_the_organization_setting(dataverse: DataverseStack) -> None:
    """A token is good for 7 days of simulated time, then refused with a clear message."""
    link = initial_token(dataverse)
    dataverse.clock.advance(7 * 86_400)
    assert get(dataverse, link).status_code == 200
    dataverse.clock.advance(1)
    response = get(dataverse, link)
    assert response.status_code == 400
    assert "has expired" in response.json()["error"]["message"]


def test_malformed_and_future_tokens_are_refused(dataverse: DataverseStack) -> None:
    """Tokens the organization never issued are a 400."""
    assert get(dataverse, "accounts?$select=name&$deltatoken=garbage").status_code == 400
    future = f"{dataverse.simulator.org.store.version + 10}!01/01/2026 00:00:00"
    response = get(dataverse, f"accounts?$select=name&$deltatoken={future.replace('/', '%2f')}")
    assert response.status_code == 400


def test_tables_without_change_tracking(dataverse: DataverseStack) -> None:
    """The preference is ignored (no delta link); a delta token is refused."""
    body = get(dataverse, "uoms?$select=name", prefer="odata.track-changes").json()
    assert "@odata.deltaLink" not in body
    assert get(dataverse, "uoms?$select=name&$deltatoken=1!01/01/2026 00:00:00").status_code == 400
