"""Provisioning the sync needs in Dataverse: the connector's own columns and Active alternate keys.

The same code path serves the ``provision`` command and a worker that finds a key missing: create the
columns named with the connector's prefix (``ifs_ordernumber``, ``ifs_linekey``, ``ifs_state`` …) as text
of their mapped length unless they exist, create an alternate key for every keyed mapping target unless it
exists (over the target's ``key`` and the columns its flow keys it with: a line within its order, a quote
with its revision), then wait until it is Active (Dataverse builds it asynchronously; an upsert by a key
that is not Active fails; every key is created before any is waited for). Running it again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.sync.mapping.load import CUSTOM_PREFIX
from shared.sync.mapping.model import EntityMapping
from shared.sync.ports import KeyProvisioner


@dataclass(frozen=True)
class KeyStatus:
    """One alternate key the sync relies on, and its state after provisioning."""

    table: str
    schema_name: str
    columns: tuple[str, ...]
    status: str


@dataclass(frozen=True)
class ColumnStatus:
    """One of the connector's own columns, and whether provisioning created it now."""

    table: str
    column: str
    max_length: int
    created: bool


def key_name(columns: tuple[str, ...] | str) -> str:
    """The schema name the connector gives an alternate key.

    ``ifs_accountnumber`` for one standard column, ``ifs_key_salesorderid_linekey`` for the connector's own
    columns and for keys of several columns.
    """
    names = (columns,) if isinstance(columns, str) else columns
    if len(names) == 1 and not names[0].startswith(CUSTOM_PREFIX):
        return f"ifs_{names[0]}"
    return "ifs_key_" + "_".join(name.removeprefix(CUSTOM_PREFIX) for name in names)


def custom_columns(mappings: list[EntityMapping]) -> list[tuple[str, str, int]]:
    """(table, column, max length) of every column the mappings name with the connector's prefix."""
    found: dict[tuple[str, str], int] = {}
    for mapping in mappings:
        for target in mapping.targets.values():
            if target.key is not None and target.key.startswith(CUSTOM_PREFIX):
                found[(target.table, target.key)] = target.key_max_length or 100
            for rule in target.written():
                if rule.column.startswith(CUSTOM_PREFIX) and rule.lookup is None:
                    found[(target.table, rule.column)] = max(
                        rule.max_length or 100, found.get((target.table, rule.column), 0)
                    )
    return [(table, column, length) for (table, column), length in found.items()]


def provision_columns(mappings: list[EntityMapping], provisioner: KeyProvisioner) -> list[ColumnStatus]:
    """Ensure the connector's own columns exist (text of their mapped length)."""
    done = []
    for table, column, length in custom_columns(mappings):
        label = column.removeprefix(CUSTOM_PREFIX).replace("_", " ").capitalize()
        created = provisioner.ensure_text_column(table, column, length, f"IFS {label}")
        done.append(ColumnStatus(table, column, length, bool(created)))
    return done


def provision(
    mappings: list[EntityMapping], provisioner: KeyProvisioner, *, timeout: float = 900.0, poll: float = 5.0
) -> tuple[list[ColumnStatus], list[KeyStatus]]:
    """Everything the mappings need: the connector's columns first, then the alternate keys over them."""
    columns = provision_columns(mappings, provisioner)
    return columns, provision_keys(mappings, provisioner, timeout=timeout, poll=poll)


def provision_keys(
    mappings: list[EntityMapping], provisioner: KeyProvisioner, *, timeout: float = 900.0, poll: float = 5.0
) -> list[KeyStatus]:
    """Ensure an Active alternate key for each keyed target of ``mappings`` (their columns exist).

    Every missing key is created before any is waited for: Dataverse builds the indexes side by side, so
    provisioning takes the longest build, not the sum of them.
    """
    wanted: dict[tuple[str, tuple[str, ...]], str] = {}
    for mapping in mappings:
        for target in mapping.targets.values():
            columns = target.key_columns
            if columns and (target.table, columns) not in wanted:
                wanted[(target.table, columns)] = key_name(columns)
    for (table, columns), name in wanted.items():
        provisioner.create_alternate_key(table, name, list(columns))
    done = []
    for (table, columns), name in wanted.items():
        key = provisioner.await_alternate_key(table, name, timeout=timeout, poll=poll)
        done.append(KeyStatus(table, str(key.schema_name), columns, str(key.status)))
    return done
