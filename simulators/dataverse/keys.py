"""Alternate keys: their definitions and index status, uniqueness, and addressing rows by key in URLs.

Keys are created through the Web API (``POST EntityDefinitions(LogicalName='account')/Keys`` with an
EntityKeyMetadata body). As in Dataverse the index is built asynchronously: a new key is ``Pending``, then
``InProgress``, then ``Active`` once ``activation_seconds`` of simulated time have passed, or ``Failed``
if existing rows already break uniqueness (``ReactivateEntityKey`` retries it). Only Active keys can
address rows and enforce uniqueness. Constraints from the alternate-keys article: allowed column types,
at most 16 columns and 10 keys per table.

URL addressing (``accounts(accountnumber='ABC123')``, ``contacts(firstname='Joe',emailaddress1='…')``,
``accounts(_primarycontactid_value=<guid>)``, ``accounts(<guid>)``, ``accounts(accountid=<guid>)``) is
parsed by ``parse_locator``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from simulators.dataverse import errors, values
from simulators.dataverse.store import Ref, Row, Store
from simulators.dataverse.tables import Column, Kind, Table

# The alternate-keys article: values containing these characters cannot be used to GET/PATCH by key.
UNADDRESSABLE_CHARACTERS = "/<>*%&:\\?+"
KEY_COLUMN_KINDS = frozenset(
    {Kind.DECIMAL, Kind.INTEGER, Kind.STRING, Kind.DATETIME, Kind.LOOKUP, Kind.PICKLIST}
)
MAX_KEY_COLUMNS = 16
MAX_KEYS_PER_TABLE = 10


class IndexStatus(StrEnum):
    """EntityKeyMetadata.EntityKeyIndexStatus."""

    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    ACTIVE = "Active"
    FAILED = "Failed"


@dataclass
class EntityKey:
    """One alternate key of a table."""

    metadata_id: uuid.UUID
    schema_name: str
    entity: str
    attributes: tuple[str, ...]
    display_name: str
    created_at: float
    async_job: uuid.UUID = field(default_factory=uuid.uuid4)
    status: IndexStatus = IndexStatus.PENDING

    @property
    def logical_name(self) -> str:
        """The key's logical name (its schema name, lower case)."""
        return self.schema_name.lower()


@dataclass(frozen=True)
class Locator:
    """How a URL names a row: by primary id, or by alternate-key values (property name → URL literal)."""

    text: str
    id: uuid.UUID | None = None
    key: tuple[tuple[str, str], ...] = ()


def _split_top_level(segment: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for character in segment:
        if character == "'":
            quoted = not quoted  # '' (an escaped quote) toggles twice, which is right
        if character == "," and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(character)
    parts.append("".join(current))
    return parts


def parse_locator(table: Table, segment: str) -> Locator:
    """The locator inside ``<entityset>(…)``; WebApiError if malformed or holding a forbidden character."""
    text = segment.strip()
    if values.is_guid(text):
        return Locator(text, id=uuid.UUID(text))
    pairs: list[tuple[str, str]] = []
    for part in _split_top_level(text):
        name, separator, literal = part.partition("=")
        name, literal = name.strip(), literal.strip()
        if not separator or not name or not literal:
            raise errors.invalid_key(table.logical_name)
        if literal.startswith("'"):
            for character in literal[1:-1]:
                if character in UNADDRESSABLE_CHARACTERS:
                    raise errors.unaddressable_key_value(character)
        pairs.append((name, literal))
    if len(pairs) == 1 and pairs[0][0] == table.primary_id:
        if not values.is_guid(pairs[0][1]):
            raise errors.invalid_key(table.logical_name)
        return Locator(text, id=uuid.UUID(pairs[0][1]))
    return Locator(text, key=tuple(pairs))


def key_column(table: Table, property_name: str) -> Column | None:
    """The column a key property names (``_x_value`` for a lookup column)."""
    column = table.by_value_property(property_name)
    if column is None or column.kind not in KEY_COLUMN_KINDS:
        return None
    return column


def _row_key_values(row: Row, attributes: Iterable[str]) -> tuple[Any, ...] | None:
    found: list[Any] = []
    for attribute in attributes:
        value = row.get(attribute)
        if value is None:
            return None  # rows with an empty key column are not in the (filtered) unique index
        found.append(value.id if isinstance(value, Ref) else value)
    return tuple(_comparable(v) for v in found)


def _comparable(value: Any) -> Any:
    # SQL Server's default collation compares strings case-insensitively.
    return value.casefold() if isinstance(value, str) else value


@dataclass
class _Index:
    """One Active key's unique index: key values → row id, kept current by following the store's journal."""

    generation: int
    position: int  # journal entries applied so far
    by_values: dict[tuple[Any, ...], uuid.UUID] = field(default_factory=dict)
    by_row: dict[uuid.UUID, tuple[Any, ...]] = field(default_factory=dict)

    def add(self, row_id: uuid.UUID, found: tuple[Any, ...] | None) -> None:
        old = self.by_row.pop(row_id, None)
        if old is not None and self.by_values.get(old) == row_id:
            del self.by_values[old]
        if found is not None:
            self.by_values[found] = row_id
            self.by_row[row_id] = found


class Keys:
    """The alternate keys of every table, their index status, and key-based lookups."""

    def __init__(self, store: Store, now: Callable[[], float], activation_seconds: float = 1.0) -> None:
        self._store = store
        self._now = now
        self.activation_seconds = activation_seconds
        self._keys: dict[str, list[EntityKey]] = {}
        self._indexes: dict[uuid.UUID, _Index] = {}  # by key MetadataId

    def clear(self) -> None:
        """Forget every key."""
        with self._store.lock:
            self._keys.clear()
            self._indexes.clear()

    def _index(self, table: Table, key: EntityKey) -> _Index:
        """The key's index, brought up to date (call under the store lock).

        Lookups by key happen on every upsert and uniqueness is checked on every write, so scanning the
        table each time would make a bulk load quadratic; the index follows the journal instead and is
        rebuilt only after a rollback or a clear (which change rows without journal entries).
        """
        store = self._store
        index = self._indexes.get(key.metadata_id)
        if index is None or index.generation != store.generation or index.position > len(store.journal):
            index = _Index(store.generation, len(store.journal))
            for existing in store.iter_live(table.logical_name):
                index.add(existing[table.primary_id], _row_key_values(existing, key.attributes))
            self._indexes[key.metadata_id] = index
            return index
        for change in store.journal[index.position :]:
            if change.logical_name == table.logical_name:
                current = store.live(table.logical_name, change.id)
                index.add(change.id, None if current is None else _row_key_values(current, key.attributes))
        index.position = len(store.journal)
        return index

    def define(
        self,
        table: Table,
        schema_name: str,
        attributes: Iterable[str],
        display_name: str | None = None,
        *,
        active: bool = False,
    ) -> EntityKey:
        """Create a key (Pending, or Active at once when ``active``); WebApiError when a constraint fails."""
        attributes = tuple(attributes)
        with self._store.lock:
            existing = self._keys.setdefault(table.logical_name, [])
            self._validate(table, schema_name, attributes, existing)
            key = EntityKey(
                metadata_id=uuid.uuid4(),
                schema_name=schema_name,
                entity=table.logical_name,
                attributes=attributes,
                display_name=display_name or schema_name,
                created_at=self._now(),
            )
            existing.append(key)
            if active:
                self._activate(table, key)
            return key

    def _validate(
        self, table: Table, schema_name: str, attributes: tuple[str, ...], existing: list[EntityKey]
    ) -> None:
        if not schema_name:
            raise errors.bad_request("EntityKeyMetadata.SchemaName is required.")
        if not attributes:
            raise errors.bad_request("EntityKeyMetadata.KeyAttributes must name at least one attribute.")
        if len(attributes) > MAX_KEY_COLUMNS:
            raise errors.bad_request(f"An entity key can have at most {MAX_KEY_COLUMNS} attributes.")
        if len(existing) >= MAX_KEYS_PER_TABLE:
            raise errors.bad_request(
                f"The {table.logical_name} entity already has the maximum of {MAX_KEYS_PER_TABLE} keys."
            )
        for name in attributes:
            column = table.column(name)
            if column is None:
                raise errors.bad_request(
                    f"Attribute {name} does not exist on the {table.logical_name} entity."
                )
            if column.kind not in KEY_COLUMN_KINDS:
                raise errors.bad_request(
                    f"Attribute {name} of type {column.kind} cannot be part of an entity key."
                )
        if any(k.logical_name == schema_name.lower() for k in existing):
            raise errors.WebApiError(
                400,
                errors.ENTITY_KEY_NAME_EXISTS,
                f"An entity key with the name {schema_name} already exists on entity {table.logical_name}.",
            )
        if any(set(k.attributes) == set(attributes) for k in existing):
            raise errors.WebApiError(
                400,
                errors.ENTITY_KEY_WITH_SELECTED_ATTRIBUTES_EXISTS,
                "An entity key with the selected attributes already exists on entity.",
            )

    def _activate(self, table: Table, key: EntityKey) -> None:
        seen: set[tuple[Any, ...]] = set()
        for row in self._store.iter_live(table.logical_name):
            found = _row_key_values(row, key.attributes)
            if found is None:
                continue
            if found in seen:
                key.status = IndexStatus.FAILED
                return
            seen.add(found)
        key.status = IndexStatus.ACTIVE

    def _refresh(self, table: Table) -> list[EntityKey]:
        keys = self._keys.get(table.logical_name, [])
        now = self._now()
        for key in keys:
            if key.status in (IndexStatus.ACTIVE, IndexStatus.FAILED):
                continue
            age = now - key.created_at
            if age >= self.activation_seconds:
                self._activate(table, key)
            elif age >= self.activation_seconds / 2:
                key.status = IndexStatus.IN_PROGRESS
        return keys

    def for_table(self, table: Table) -> list[EntityKey]:
        """Every key of the table, with its current index status."""
        with self._store.lock:
            return list(self._refresh(table))

    def get(self, table: Table, key_id: uuid.UUID) -> EntityKey | None:
        """The key with that MetadataId."""
        return next((k for k in self.for_table(table) if k.metadata_id == key_id), None)

    def delete(self, table: Table, key_id: uuid.UUID) -> bool:
        """Delete a key (cancelling its index job); whether it existed."""
        with self._store.lock:
            keys = self._keys.get(table.logical_name, [])
            kept = [k for k in keys if k.metadata_id != key_id]
            self._keys[table.logical_name] = kept
            return len(kept) != len(keys)

    def reactivate(self, table: Table, key_id: uuid.UUID) -> EntityKey:
        """ReactivateEntityKey: rebuild a Failed key's index (Pending again)."""
        with self._store.lock:
            key = self.get(table, key_id)
            if key is None:
                raise errors.bad_request(f"No entity key with id {key_id} on {table.logical_name}.")
            key.status = IndexStatus.PENDING
            key.created_at = self._now()
            return key

    def resolve(self, table: Table, pairs: Iterable[tuple[str, str]]) -> tuple[EntityKey, dict[str, Any]]:
        """The Active key the URL's key properties match, and the typed key values by column name."""
        typed: dict[str, Any] = {}
        for name, literal in pairs:
            column = key_column(table, name)
            if column is None or column.name in typed:
                raise errors.invalid_key(table.logical_name)
            typed[column.name] = values.parse_literal(table, column, literal)
        with self._store.lock:
            for key in self._refresh(table):
                if key.status is IndexStatus.ACTIVE and set(key.attributes) == set(typed):
                    return key, typed
        raise errors.invalid_key(table.logical_name)

    def find(self, table: Table, key_values: Mapping[str, Any]) -> Row | None:
        """The row whose key columns hold ``key_values`` (lookup values given as UUIDs)."""
        with self._store.lock:
            key = next(
                (
                    k
                    for k in self._refresh(table)
                    if k.status is IndexStatus.ACTIVE and set(k.attributes) == set(key_values)
                ),
                None,
            )
            if key is None:  # not an Active key's columns: look row by row
                names = tuple(key_values)
                wanted = tuple(_comparable(v) for v in key_values.values())
                for row in self._store.iter_live(table.logical_name):
                    if _row_key_values(row, names) == wanted:
                        return dict(row)
                return None
            row_id = self._index(table, key).by_values.get(
                tuple(_comparable(key_values[name]) for name in key.attributes)
            )
            return self._store.get(table.logical_name, row_id) if row_id is not None else None

    def conflict(self, table: Table, row: Row, row_id: uuid.UUID) -> EntityKey | None:
        """An Active key that ``row`` would duplicate in another row, if any (call under the store lock)."""
        for key in self._refresh(table):
            if key.status is not IndexStatus.ACTIVE:
                continue
            found = _row_key_values(row, key.attributes)
            if found is None:
                continue
            holder = self._index(table, key).by_values.get(found)
            if holder is not None and holder != row_id:
                return key
        return None
