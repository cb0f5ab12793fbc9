"""Provisioning the sync needs in Dataverse: an Active alternate key for every mapping target that has one.

The same code path serves the ``provision`` command and a worker that finds a key missing: create the key
unless it exists, then wait until its index is Active (Dataverse builds it asynchronously; an upsert by a
key that is not Active fails). Running it again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.sync.mapping.model import EntityMapping
from shared.sync.ports import KeyProvisioner


@dataclass(frozen=True)
class KeyStatus:
    """One alternate key the sync relies on, and its state after provisioning."""

    table: str
    schema_name: str
    columns: tuple[str, ...]
    status: str


def key_name(column: str) -> str:
    """The schema name the connector gives the alternate key on ``column`` (``ifs_accountnumber``)."""
    return f"ifs_{column}"


def provision_keys(
    mappings: list[EntityMapping], provisioner: KeyProvisioner, *, timeout: float = 900.0, poll: float = 5.0
) -> list[KeyStatus]:
    """Ensure an Active alternate key for each keyed target of ``mappings``; the keys and their status."""
    done: dict[tuple[str, str], KeyStatus] = {}
    for mapping in mappings:
        for target in mapping.targets.values():
            if target.key is None or (target.table, target.key) in done:
                continue
            key = provisioner.ensure_alternate_key(
                target.table, key_name(target.key), [target.key], timeout=timeout, poll=poll
            )
            done[(target.table, target.key)] = KeyStatus(
                target.table, str(key.schema_name), (target.key,), str(key.status)
            )
    return list(done.values())
