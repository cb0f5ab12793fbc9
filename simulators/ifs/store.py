"""The simulated tenant's tables: rows by key, each with an Oracle-style ROWID and an Objversion.

An ETag is ``W/"<base64 of W/"<Objid>:<Objversion>">"`` built with the same codec the client decodes with;
Objversion is a ``YYYYMMDDHHMMSS`` timestamp (as for CustomerOrder) taken from the simulator clock and
bumped past the previous value, so it changes on every write even within one second. Rows are stored with
their attributes in serving order (``luname``, ``keyref``, …), so captured rows are served back unchanged.

All access goes through one lock: the HTTP app and in-process admin/test code may touch the store from
different threads. ``transaction()`` gives change sets their all-or-nothing behaviour with an undo log.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.ifs.etag import IfsEtag

_ROWID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_VERSION_FORMAT = "%Y%m%d%H%M%S"
Key = tuple[Any, ...]


def _base64_number(value: int, width: int) -> str:
    digits = []
    for _ in range(width):
        digits.append(_ROWID_ALPHABET[value % 64])
        value //= 64
    return "".join(reversed(digits))


def rowid(object_no: int, file_no: int, block_no: int, row_no: int) -> str:
    """An 18-character extended Oracle ROWID (object, file, block, row), as IFS puts in ``Objid``."""
    return (
        _base64_number(object_no, 6)
        + _base64_number(file_no, 3)
        + _base64_number(block_no, 6)
        + _base64_number(row_no, 3)
    )


def ifs_column(prop: str) -> str:
    """The database column of a property, as used in ``keyref``: ``LineItemNo`` -> ``LINE_ITEM_NO``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", prop).upper()


def keyref(values: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    """IFS's ``keyref``: ``COLUMN=value^`` for each key column, sorted by column name."""
    parts = sorted((ifs_column(k), values[k]) for k in keys)
    return "".join(f"{column}={value}^" for column, value in parts)


@dataclass(frozen=True)
class Record:
    """One stored row: its attributes (without ``@odata.etag``), Objid and Objversion."""

    values: Mapping[str, Any]
    objid: str
    objversion: str

    @property
    def etag(self) -> str:
        """The row's ETag as IFS serves it."""
        return IfsEtag(self.objid, self.objversion).encode()

    def served(self) -> dict[str, Any]:
        """The row as a JSON object: ``@odata.etag`` first, then the attributes in stored order."""
        return {"@odata.etag": self.etag, **self.values}


class Table:
    """Rows of one logical unit (LU), keyed by its key columns, in insertion order."""

    def __init__(self, luname: str, keys: tuple[str, ...], object_no: int) -> None:
        self.luname = luname
        self.keys = keys
        self._object_no = object_no
        self._next_slot = 0
        self._objids: set[str] = set()
        self.rows: dict[Key, Record] = {}
        self.version = 0  # moves on every write (Store's), so indexes know when to rebuild
        self.indexes: dict[tuple[str, ...], tuple[int, dict[tuple[Any, ...], list[Record]]]] = {}

    def key_of(self, values: Mapping[str, Any]) -> Key:
        """The key tuple of a row's values."""
        return tuple(values[k] for k in self.keys)

    def new_objid(self) -> str:
        """A ROWID not used in this table yet."""
        while True:
            slot = self._next_slot
            self._next_slot += 1
            # Blocks far from the captured rows' blocks; 24 rows per block like a well-filled Oracle block.
            candidate = rowid(self._object_no, 22, 2_200_000 + slot // 24, slot % 24)
            if candidate not in self._objids:
                return candidate

    def claim(self, objid: str) -> None:
        """Remember an Objid (of a loaded row) so no new row gets it."""
        self._objids.add(objid)

    def __len__(self) -> int:
        return len(self.rows)


def next_objversion(now: datetime, previous: str | None) -> str:
    """Objversion for a write at ``now``: its timestamp, or one second past ``previous`` if not later."""
    version = now.strftime(_VERSION_FORMAT)
    if previous is not None and version <= previous:
        try:
            bumped = datetime.strptime(previous, _VERSION_FORMAT) + timedelta(seconds=1)
        except ValueError:  # a non-timestamp Objversion (counter)
            return str(int(previous) + 1) if previous.isdigit() else previous + "1"
        version = bumped.strftime(_VERSION_FORMAT)
    return version


# Object numbers of the captured tables, read from the captured ROWIDs (AAAZI2…, AAAZMv…); others invented.
_OBJECT_NUMBERS = {
    "CustomerOrder": 102_966,
    "CustomerOrderLine": 103_215,
    "CustomerInfo": 81_203,
    "CustomerInfoAddress": 81_377,
    "CustomerInfoCommMethod": 81_391,
    "SalesPart": 90_114,
    "OrderQuotation": 97_051,
    "OrderQuotationLine": 97_066,
    "BusinessOpportunity": 99_402,
}


class Store:
    """Every table of the simulated tenant, the number sequences and the clock writes are stamped with."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.tables: dict[str, Table] = {}
        self.sequences: dict[str, int] = {}
        self._undo: list[tuple[Table, Key, Record | None]] | None = None

    def table(self, luname: str, keys: tuple[str, ...] | None = None) -> Table:
        """The table of ``luname`` (created on first use when ``keys`` is given)."""
        existing = self.tables.get(luname)
        if existing is not None:
            return existing
        if keys is None:
            raise KeyError(luname)
        created = Table(luname, keys, _OBJECT_NUMBERS.get(luname, 100_000 + len(self.tables)))
        self.tables[luname] = created
        return created

    def next_number(self, sequence: str) -> int:
        """The next value of a number sequence (order numbers, quotation numbers …)."""
        with self.lock:
            value = self.sequences.get(sequence, 0) + 1
            self.sequences[sequence] = value
            return value

    def bump_sequence(self, sequence: str, at_least: int) -> None:
        """Make sure the sequence continues after ``at_least``."""
        with self.lock:
            self.sequences[sequence] = max(self.sequences.get(sequence, 0), at_least)

    def get(self, table: Table, key: Key) -> Record | None:
        """The row with ``key``, or None."""
        with self.lock:
            return table.rows.get(key)

    def load(self, table: Table, values: Mapping[str, Any], objid: str, objversion: str) -> Record:
        """Put a row with a given Objid and Objversion (seed data, captured rows)."""
        with self.lock:
            record = Record(dict(values), objid, objversion)
            table.claim(objid)
            self._remember(table, table.key_of(values))
            table.rows[table.key_of(values)] = record
            table.version += 1
            return record

    def insert(self, table: Table, values: Mapping[str, Any]) -> Record:
        """Create a row now; raises KeyError if the key exists."""
        with self.lock:
            key = table.key_of(values)
            if key in table.rows:
                raise KeyError(key)
            objid = table.new_objid()
            table.claim(objid)
            record = Record(dict(values), objid, next_objversion(self.clock(), None))
            self._remember(table, key)
            table.rows[key] = record
            table.version += 1
            return record

    def update(self, table: Table, key: Key, changes: Mapping[str, Any]) -> Record:
        """Apply ``changes`` to the row now, with a new Objversion; raises KeyError if absent."""
        with self.lock:
            current = table.rows[key]
            values = dict(current.values)
            values.update(changes)
            record = Record(values, current.objid, next_objversion(self.clock(), current.objversion))
            self._remember(table, key)
            table.rows[key] = record
            table.version += 1
            return record

    def delete(self, table: Table, key: Key) -> None:
        """Remove the row; raises KeyError if absent."""
        with self.lock:
            self._remember(table, key)
            del table.rows[key]
            table.version += 1

    def scan(self, table: Table) -> list[Record]:
        """A consistent snapshot of the table's rows, in insertion order."""
        with self.lock:
            return list(table.rows.values())

    def matching(self, table: Table, values: Mapping[str, Any]) -> list[Record]:
        """The rows whose ``values`` columns hold those values (``scan`` filtered), in insertion order.

        Answered from an index per column set, rebuilt after a write: a navigation read of one parent's
        children costs its own rows, not a pass over the whole child table.
        """
        columns = tuple(sorted(values))
        wanted = tuple(values[c] for c in columns)
        with self.lock:
            built = table.indexes.get(columns)
            if built is None or built[0] != table.version:
                index: dict[tuple[Any, ...], list[Record]] = {}
                for record in table.rows.values():
                    index.setdefault(tuple(record.values.get(c) for c in columns), []).append(record)
                built = (table.version, index)
                table.indexes[columns] = built
            return list(built[1].get(wanted, ()))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside happen together or not at all (the block's exception undoes them)."""
        with self.lock:
            if self._undo is not None:
                raise RuntimeError("transactions do not nest")
            self._undo = []
            try:
                yield
            except BaseException:
                for table, key, previous in reversed(self._undo):
                    if previous is None:
                        table.rows.pop(key, None)
                    else:
                        table.rows[key] = previous
                    table.version += 1
                raise
            finally:
                self._undo = None

    def _remember(self, table: Table, key: Key) -> None:
        if self._undo is not None:
            self._undo.append((table, key, table.rows.get(key)))
