"""The history of one record across both directions, or of one correlation id, from the audit trail.

A record is known by several keys: its IFS key, its Dataverse id, the keys of the other direction's rows.
``history`` widens the key through the id map (IFS key → Dataverse id for every entity, and a Dataverse id
back to its IFS key) and returns every audit row naming any of them, as source or target, oldest first.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from shared.records import AuditEntry
from shared.sync.ports import AuditSearch, IdLookup

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def related_keys(idmap: IdLookup, entities: Sequence[str], key: str) -> set[str]:
    """``key`` and the keys the id map links it to, in every entity."""
    keys = {key}
    for entity in entities:
        keys.update(idmap.target_ids(entity, [key]).values())
    try:
        target = str(uuid.UUID(key))
    except ValueError:
        return keys
    keys.add(target)
    for entity in entities:
        source = idmap.source_key(entity, target)
        if source is not None:
            keys.add(source)
    return keys


def history(
    audit: AuditSearch,
    idmap: IdLookup,
    entities: Sequence[str],
    *,
    key: str | None = None,
    correlation_id: str | None = None,
    days: int = 30,
) -> list[AuditEntry]:
    """Audit rows of one record (``key``) or one correlation id over the last ``days`` days, oldest first."""
    if (key is None) == (correlation_id is None):
        raise ValueError("give a key or a correlation id")
    keys = related_keys(idmap, entities, key) if key is not None else set()
    rows = audit.search(days, keys=keys, correlation_id=correlation_id)
    unique = {row.entry_id: row for row in rows}
    return sorted(unique.values(), key=lambda row: row.at or _EPOCH)
