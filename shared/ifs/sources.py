"""IFS entities as the sync engine reads them: aggregates of a root set and its child collections.

An aggregate is everything one synced record is made of: the root rows that share a key (one customer;
the sales-part rows of one catalog number on every site) and the rows of child collections reached by
navigation (a customer's addresses). ``scan`` lists every aggregate in the configured scope with a version
that changes whenever any of its rows changes: the ETags (which embed IFS's Objversion) of the root rows
and of the child rows, hashed together — a new address or a changed line changes the version even when
the parent's own ETag stays. Root rows are read a page of keys at a time; child keys come through
``$batch`` requests of navigation reads, one batch per ``batch_size`` parents (never one request per
parent outside a batch). ``read`` fetches the current rows of many keys: root rows by an ``or`` of key
filters chunked to stay within URL limits, children through the same batched navigation reads.
``read`` never applies the scope: a record that left the scope is read by key, once, so its last change
(a customer blocked, an order invoiced) still reaches Dynamics.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from shared.ifs.batch import Operation, OperationResult
from shared.ifs.client import IfsClient
from shared.ifs.entities import EntitySet, Navigation, key_predicate
from shared.ifs.errors import IfsProtocolError
from shared.ifs.query import Filter, Query, ge

Row = dict[str, Any]


@dataclass(frozen=True)
class ChildSet:
    """A collection navigation of the root rows, read as part ``part`` of the aggregate."""

    part: str
    navigation: Navigation


class AggregateSource:
    """One IFS entity read as aggregates keyed by ``group_by`` (the root set's key by default)."""

    def __init__(
        self,
        client: IfsClient,
        root: EntitySet,
        *,
        part: str,
        group_by: str | None = None,
        scope: Filter | None = None,
        children: Sequence[ChildSet] = (),
        batch_size: int = 100,
    ) -> None:
        if group_by is None:
            if len(root.keys) != 1:
                raise ValueError(f"{root} has keys {root.keys}: say which property groups its rows")
            group_by = root.keys[0]
        if not 1 <= batch_size <= 1000:
            raise ValueError(f"batch_size must be 1-1000, not {batch_size}")
        self._client = client
        self._root = root
        self._part = part
        self._group_by = group_by
        self._scope = scope
        self._children = tuple(children)
        self._batch_size = batch_size

    @property
    def root(self) -> EntitySet:
        """The root entity set."""
        return self._root

    @property
    def part(self) -> str:
        """The aggregate part the root rows are read into."""
        return self._part

    @property
    def children(self) -> tuple[ChildSet, ...]:
        """The child collections read with each root row."""
        return self._children

    # ---- change detection ----------------------------------------------------------------------

    def scan(self) -> Iterator[tuple[str, str]]:
        """Every aggregate in scope with its version (root and child ETags hashed together)."""
        return self._versions(self._scope, ())

    def scan_since(self, column: str, since: date | datetime) -> Iterator[tuple[str, str, str | None]]:
        """Aggregates whose root ``column`` is at or after ``since``, with their version and that value.

        ``since`` is a ``date`` for an ``Edm.Date`` column, a ``datetime`` for a timestamp; the value comes
        back as IFS wrote it (ISO text), the latest of the aggregate's root rows.
        """
        changed = ge(column, since)
        stamps: dict[str, str | None] = {}
        for key, version in self._versions(
            changed if self._scope is None else self._scope & changed, (column,), stamps
        ):
            yield key, version, stamps.get(key)

    def _versions(
        self, filter: Filter | None, extra: tuple[str, ...], stamps: dict[str, str | None] | None = None
    ) -> Iterator[tuple[str, str]]:
        select = tuple(dict.fromkeys((*self._root.keys, self._group_by, *extra)))
        groups: dict[str, list[str]] = {}
        parents: dict[str, list[Row]] = {}
        for row in self._client.iter_rows(self._root, Query(select=select, filter=filter)):
            key = str(row[self._group_by])
            groups.setdefault(key, []).append(
                f"{self._part}|{_row_key(row, self._root.keys)}|{row.get('@odata.etag')}"
            )
            if self._children:
                parents.setdefault(key, []).append(row)
            if stamps is not None and extra:
                value = row.get(extra[0])
                stamps[key] = max(
                    filter_none((stamps.get(key), value if isinstance(value, str) else None)), default=None
                )
        if self._children:
            for key, child, row in self._child_rows(parents, keys_only=True):
                row_key = _row_key(row, child.navigation.keys)
                groups[key].append(f"{child.part}|{row_key}|{row.get('@odata.etag')}")
        for key in sorted(groups):
            yield key, _digest(groups[key])

    # ---- current state -------------------------------------------------------------------------

    def read(self, keys: Sequence[str]) -> dict[str, dict[str, list[Row]]]:
        """The current rows of ``keys`` (every site, every child); keys IFS does not have are absent."""
        found: dict[str, dict[str, list[Row]]] = {}
        parents: dict[str, list[Row]] = {}
        for row in self._client.iter_matching(self._root, self._group_by, list(dict.fromkeys(keys))):
            key = str(row[self._group_by])
            found.setdefault(key, {self._part: [], **{c.part: [] for c in self._children}})[
                self._part
            ].append(row)
            parents.setdefault(key, []).append(row)
        for key, child, row in self._child_rows(parents, keys_only=False):
            found[key][child.part].append(row)
        return found

    # ---- children through $batch ------------------------------------------------------------------

    def _child_rows(
        self, parents: Mapping[str, list[Row]], *, keys_only: bool
    ) -> Iterator[tuple[str, ChildSet, Row]]:
        """(aggregate key, child set, child row) for every child of every parent, ``batch_size`` a batch."""
        reads = [
            (key, child, parent)
            for key, rows in parents.items()
            for parent in rows
            for child in self._children
        ]
        for start in range(0, len(reads), self._batch_size):
            chunk = reads[start : start + self._batch_size]
            operations = [self._navigation_read(parent, child, keys_only) for _, child, parent in chunk]
            outcomes = self._client.batch(operations)
            for (key, child, _), outcome in zip(chunk, outcomes, strict=True):
                if not isinstance(outcome, OperationResult):
                    raise IfsProtocolError("a read in $batch answered as a change set")
                if not outcome.ok:
                    raise outcome.error("GET", f"{self._root.name}/{child.navigation.name}")
                for row in self._collection(outcome):
                    yield key, child, row

    def _navigation_read(self, parent: Row, child: ChildSet, keys_only: bool) -> Operation:
        key = {name: parent[name] for name in self._root.keys}
        path = (
            f"{self._root.name}{key_predicate(self._root.keys, key, self._root.name)}/{child.navigation.name}"
        )
        query = Query(select=child.navigation.keys if keys_only and child.navigation.keys else ())
        text = query.query_string()
        return Operation(self._root.projection, "GET", f"{path}?{text}" if text else path)

    def _collection(self, outcome: OperationResult) -> Iterable[Row]:
        body = outcome.body or {}
        rows = body.get("value")
        if not isinstance(rows, list):
            raise IfsProtocolError("a navigation read in $batch answered without a 'value' list")
        yield from rows
        link = body.get("@odata.nextLink")
        if link:  # a long collection: the rest page by page, outside the batch
            yield from self._client.follow(str(link))


def _row_key(row: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    if keys:
        return "|".join(str(row.get(k)) for k in keys)
    # A navigation configured without keys: the row's own identity as IFS states it.
    return str(row.get("keyref") or row.get("@odata.id") or sorted(row.items()))


def _digest(parts: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(parts)).encode("utf-8")).hexdigest()[:32]


def filter_none(values: Iterable[str | None]) -> list[str]:
    """The values that are not None (ISO texts of one column compare in time order)."""
    return [v for v in values if v is not None]
