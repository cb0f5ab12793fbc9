"""Change tracking reads: a delta token in; new or updated rows, deleted ids and the next token out.

Dataverse's change tracking (use-change-tracking-synchronize-data-external-systems.md, docs/dataverse-api.md,
"Change tracking"): a collection GET with ``Prefer: odata.track-changes`` returns every row and, on its last
page, an ``@odata.deltaLink`` whose ``$deltatoken`` marks that point; the same query with the token returns
the rows created or updated since (with the ``$select`` columns), then the deleted rows as
``$deletedEntity`` items, then a new delta link. Pages follow ``@odata.nextLink`` (``odata.maxpagesize``).
``$filter``, ``$orderby``, ``$expand`` and ``$top`` cannot be combined with it (the service refuses them),
so this module offers only ``select``.

``change_pages`` streams page by page, so a first full read of a large table does not have to fit in
memory; the last page carries the next token. ``changes`` collects them into one ``ChangeBatch``. Store
the token only after the changes are safely handed on: reading again from an older token repeats
changes, which is harmless when writes are idempotent, while skipping ahead loses them.

A token older than the org keeps changes (7 days by default) is refused; Dataverse does not publish how,
so any 400 to a read carrying a ``$deltatoken`` raises ``DeltaTokenExpiredError``: read again without a
token. A table without change tracking ignores the preference: the first page of a full read must say
``Preference-Applied: odata.track-changes`` (as the article's exchange does), else
``ChangeTrackingUnavailableError`` is raised before any row is handed on, rather than after streaming the
whole table only to find no delta link at its end.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from shared.dataverse.client import DataverseClient

DELETED_ENTITY = "/$deletedEntity"
TRACK_CHANGES = "odata.track-changes"


class ChangeTrackingUnavailableError(Exception):
    """The table does not track changes: the preference was not applied, or no delta link came."""


@dataclass(frozen=True)
class ChangePage:
    """One page of a change-tracking read; ``next_delta_token`` only on the last page."""

    changed: list[dict[str, Any]]
    deleted: list[uuid.UUID]
    next_delta_token: str | None


@dataclass(frozen=True)
class ChangeBatch:
    """Every change since a token.

    New or updated rows (``$select`` columns, primary key, ``@odata.etag``), the ids of deleted rows, and
    the token to read from next time.
    """

    changed_rows: list[dict[str, Any]] = field(default_factory=list)
    deleted_ids: list[uuid.UUID] = field(default_factory=list)
    next_delta_token: str = ""


def token_from_link(link: str) -> str:
    """The ``$deltatoken`` of a delta link, decoded (``919042!08/22/2017 08:10:44``)."""
    values = parse_qs(urlsplit(link).query).get("$deltatoken")
    if not values:
        raise ValueError(f"the delta link {link!r} carries no $deltatoken")
    return values[0]


def change_pages(
    client: DataverseClient,
    entity_set: str,
    select: Iterable[str],
    *,
    delta_token: str | None = None,
    page_size: int | None = None,
) -> Iterator[ChangePage]:
    """Read the changes of ``entity_set`` since ``delta_token`` (every row when None), page by page."""
    columns = list(select)
    if not columns:
        raise ValueError("change tracking needs the columns to return ($select)")
    params = {"$select": ",".join(columns)}
    if delta_token is not None:
        params["$deltatoken"] = delta_token
    prefer = f"odata.track-changes,odata.maxpagesize={page_size or client.page_size}"
    target, target_params = entity_set, params
    first = True
    while True:
        response = client.send(
            "GET", target, params=target_params, headers={"Prefer": prefer}, idempotent=True
        )
        if first and delta_token is None and not _applied(response.headers.get("Preference-Applied", "")):
            raise ChangeTrackingUnavailableError(
                f"{entity_set} did not apply {TRACK_CHANGES}: the table does not track changes"
            )
        first = False
        body = response.json()
        changed, deleted = _split(body.get("value", []))
        delta_link = body.get("@odata.deltaLink")
        next_link = body.get("@odata.nextLink")
        if delta_link is None and next_link is None:
            raise ChangeTrackingUnavailableError(
                f"{entity_set} answered without @odata.deltaLink: the table does not track changes"
            )
        yield ChangePage(changed, deleted, token_from_link(delta_link) if delta_link else None)
        if delta_link:
            return
        target, target_params = str(next_link), {}


def changes(
    client: DataverseClient,
    entity_set: str,
    select: Iterable[str],
    *,
    delta_token: str | None = None,
    page_size: int | None = None,
) -> ChangeBatch:
    """Every change since ``delta_token`` in one batch (see ``change_pages`` to stream large reads)."""
    batch = ChangeBatch()
    for page in change_pages(client, entity_set, select, delta_token=delta_token, page_size=page_size):
        batch.changed_rows.extend(page.changed)
        batch.deleted_ids.extend(page.deleted)
        if page.next_delta_token is not None:
            batch = ChangeBatch(batch.changed_rows, batch.deleted_ids, page.next_delta_token)
    return batch


def _applied(preference_applied: str) -> bool:
    return any(p.strip().lower() == TRACK_CHANGES for p in preference_applied.split(","))


def _split(items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[uuid.UUID]]:
    changed: list[dict[str, Any]] = []
    deleted: list[uuid.UUID] = []
    for item in items:
        if str(item.get("@odata.context", "")).endswith(DELETED_ENTITY) or item.get("reason") == "deleted":
            deleted.append(uuid.UUID(str(item["id"])))
        else:
            changed.append(item)
    return changed, deleted
