"""Change tracking: delta tokens, and a table's changes since a token, answered from the store's journal.

From the change-tracking article (use-change-tracking-synchronize-data-external-systems.md,
docs/dataverse-api.md, "Change tracking"): a collection GET with ``Prefer: odata.track-changes`` returns every
row and an ``@odata.deltaLink`` carrying a ``$deltatoken``; GETting that link returns the rows created or
updated since (with the ``$select`` columns), then the deleted rows as ``$deletedEntity`` entries, then a new
delta link. New and updated rows come first, sorted by version, deletions after them; a row created and
deleted between two reads is still reported as deleted ("they'll get the deleted item even if they didn't have
the item to begin with"). ``$filter``, ``$orderby``, ``$expand`` and ``$top`` are refused with the documented
message. A token is valid for ``ExpireChangeTrackingInDays`` (default 7) days.

The token is the store version at the time of the read plus that time, ``<version>!<MM/dd/yyyy
HH:mm:ss>`` as in the article's ``919042!08/22/2017 08:10:44``. ASSUMED: the error for an expired or
malformed token (400 with the messages below; the article only says "the system throws an exception"),
that a table without change tracking ignores the preference but refuses a ``$deltatoken``, and that a
delta's rows are the rows as they are now (a row changed again after the token's read is reported once
more by the next delta, which is harmless).
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
import uuid
from dataclasses import dataclass

from simulators.dataverse import errors
from simulators.dataverse.store import Row, Store

TRACK_CHANGES = re.compile(r"odata\.track-changes", re.IGNORECASE)
UNSUPPORTED_OPTIONS = ("$filter", "$orderby", "$expand", "$top")
_TOKEN = re.compile(r"^(\d+)!(\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2})$")
_TOKEN_TIME = "%m/%d/%Y %H:%M:%S"  # noqa: S105 - a date format, not a secret


@dataclass(frozen=True)
class DeltaToken:
    """A point in a table's change history: the store version and the (simulated) time it was read."""

    version: int
    issued: dt.datetime

    def __str__(self) -> str:
        return f"{self.version}!{self.issued.strftime(_TOKEN_TIME)}"


@dataclass(frozen=True)
class Delta:
    """What changed in a table between two versions: rows as they are now (by last change), deleted ids."""

    changed: list[Row]
    deleted: list[uuid.UUID]


def unsupported_option(option: str) -> errors.WebApiError:
    """The documented refusal of a query option together with change tracking."""
    return errors.bad_request(
        f'The "{option}" query parameter isn\'t supported when Change Tracking is enabled.'
    )


def not_tracked(logical_name: str) -> errors.WebApiError:
    """A $deltatoken on a table without change tracking (ASSUMED text)."""
    return errors.bad_request(f"Change tracking is not enabled for the entity '{logical_name}'.")


def invalid_token(text: str) -> errors.WebApiError:
    """A $deltatoken this organization never handed out (ASSUMED text)."""
    return errors.bad_request(f"The delta token '{text}' is not valid.")


def expired_token(token: DeltaToken, days: float) -> errors.WebApiError:
    """A token older than ExpireChangeTrackingInDays (ASSUMED text and status)."""
    return errors.bad_request(
        f"The delta token '{token}' has expired: changes are kept for {days:g} days "
        "(ExpireChangeTrackingInDays). Read the table again without a delta token."
    )


def parse_token(text: str, store: Store) -> DeltaToken:
    """The token in a ``$deltatoken`` value; WebApiError when malformed or from the future."""
    match = _TOKEN.match(text.strip())
    if match is None or int(match.group(1)) > store.version:
        raise invalid_token(text)
    issued = dt.datetime.strptime(match.group(2), _TOKEN_TIME).replace(tzinfo=dt.UTC)
    return DeltaToken(int(match.group(1)), issued)


def check_age(token: DeltaToken, now: dt.datetime, days: float) -> None:
    """Refuse a token older than the organization keeps changes."""
    if now - token.issued > dt.timedelta(days=days):
        raise expired_token(token, days)


def changes_between(store: Store, logical_name: str, since: int, until: int) -> Delta:
    """The table's rows written after version ``since`` up to ``until`` (as they are now), and deletions."""
    with store.lock:
        journal = store.journal
        start = bisect.bisect_right(journal, since, key=lambda change: change.version)
        end = bisect.bisect_right(journal, until, key=lambda change: change.version)
        last: dict[uuid.UUID, tuple[int, str]] = {}
        for change in journal[start:end]:
            if change.logical_name == logical_name:
                last[change.id] = (change.version, change.kind)
        changed: list[tuple[int, Row]] = []
        deleted: list[tuple[int, uuid.UUID]] = []
        for row_id, (version, kind) in last.items():
            row = store.get(logical_name, row_id)
            if kind == "delete" and row is None:
                deleted.append((version, row_id))
            elif kind == "upsert" and row is not None:
                changed.append((version, row))
    changed.sort(key=lambda item: item[0])
    deleted.sort(key=lambda item: item[0])
    return Delta([row for _, row in changed], [row_id for _, row_id in deleted])
