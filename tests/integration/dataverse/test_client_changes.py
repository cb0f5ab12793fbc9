"""Change tracking through the client over HTTPS: creates, updates and deletes since a delta token."""

from __future__ import annotations

import uuid

import pytest

from shared.dataverse.changes import ChangeTrackingUnavailableError, change_pages, changes
from shared.dataverse.errors import DeltaTokenExpiredError
from tests.integration.dataverse.conftest import DataverseStack

SELECT = ["name", "accountnumber"]


def test_changes_return_creates_updates_and_deletes(dataverse: DataverseStack) -> None:
    """A first read gives every row and a token; the next gives what changed since, deletions last."""
    client = dataverse.client()
    kept = client.create("accounts", {"name": "kept", "accountnumber": "K"}).id
    edited = client.create("accounts", {"name": "edited"}).id
    removed = client.create("accounts", {"name": "removed"}).id
    assert kept is not None
    assert edited is not None
    assert removed is not None

    first = changes(client, "accounts", SELECT)
    assert sorted(row["name"] for row in first.changed_rows) == ["edited", "kept", "removed"]
    assert first.deleted_ids == []
    assert first.next_delta_token

    client.update("accounts", edited, {"name": "edited v2"})
    added = client.create("accounts", {"name": "added"}).id
    client.delete("accounts", removed)
    second = changes(client, "accounts", SELECT, delta_token=first.next_delta_token)
    assert [(row["accountid"], row["name"]) for row in second.changed_rows] == [
        (str(edited), "edited v2"),
        (str(added), "added"),
    ]
    assert set(second.changed_rows[0]) == {"@odata.etag", "accountid", "name", "accountnumber"}
    assert second.deleted_ids == [removed]
    assert second.next_delta_token != first.next_delta_token

    third = changes(client, "accounts", SELECT, delta_token=second.next_delta_token)
    assert (third.changed_rows, third.deleted_ids) == ([], [])


def test_pages_stream_and_only_the_last_has_the_token(dataverse: DataverseStack) -> None:
    """Seven rows in pages of three: three pages, the token on the last one only."""
    client = dataverse.client()
    for index in range(7):
        client.create("accounts", {"name": f"A{index}"})
    pages = list(change_pages(client, "accounts", SELECT, page_size=3))
    assert [len(page.changed) for page in pages] == [3, 3, 1]
    assert [page.next_delta_token is not None for page in pages] == [False, False, True]


def test_an_expired_token_is_a_typed_error(dataverse: DataverseStack) -> None:
    """Eight days later the token is refused with DeltaTokenExpiredError (read everything again)."""
    dataverse.identity.entra.token_lifetime = 30 * 86_400  # the client's token outlives the jump in time
    client = dataverse.client()
    token = changes(client, "accounts", SELECT).next_delta_token
    dataverse.clock.advance(8 * 86_400)
    with pytest.raises(DeltaTokenExpiredError):
        changes(client, "accounts", SELECT, delta_token=token)
    assert changes(client, "accounts", SELECT).next_delta_token  # the remedy: a fresh full read


def test_a_table_without_change_tracking(dataverse: DataverseStack) -> None:
    """Units of measure do not track changes: the read says so instead of returning no token."""
    with pytest.raises(ChangeTrackingUnavailableError):
        changes(dataverse.client(), "uoms", ["name"])


def test_deleted_ids_are_uuids(dataverse: DataverseStack) -> None:
    """Deletions come back as UUIDs of the rows."""
    client = dataverse.client()
    row_id = client.create("accounts", {"name": "gone"}).id
    assert row_id is not None
    token = changes(client, "accounts", SELECT).next_delta_token
    client.delete("accounts", row_id)
    assert changes(client, "accounts", SELECT, delta_token=token).deleted_ids == [uuid.UUID(str(row_id))]
