r"""Where a record's main Dataverse row is written: by id, by alternate key, or by a stable id.

Dataverse rows are upserted by alternate key (``accounts(accountnumber='C1')``) when the key value can be
a key value: it fits the column and holds none of the characters a URL cannot address
(``/ < > * % & : \\ ? +``). Otherwise, and whenever the id map already links the record, the row is
written by id: the linked one, or a stable id derived from the entity and the IFS key, so a retried first
write lands on the same row. The key column still gets the IFS key whenever it fits, so people can search
for it in Dynamics.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from shared.sync.mapping.model import TargetMapping
from shared.sync.plan import stable_id
from shared.sync.ports import RecordRef

Addressable = Callable[[str], bool]  # the Dataverse adapter's rule (shared.dataverse.keys.addressable)


def address(
    target: TargetMapping, entity: str, source_key: str, linked: uuid.UUID | None, addressable: Addressable
) -> tuple[RecordRef, dict[str, Any], uuid.UUID | None]:
    """(where to write, the key column's value to write, the row id known before writing)."""
    key_values: dict[str, Any] = {}
    fits = target.key is not None and (
        target.key_max_length is None or len(source_key) <= target.key_max_length
    )
    if target.key is not None and fits:
        key_values[target.key] = source_key
    if linked is not None:
        return linked, key_values, linked
    if target.key is not None and fits and addressable(source_key):
        return {target.key: source_key}, {}, None
    fixed = stable_id(entity, source_key)
    return fixed, key_values, fixed
