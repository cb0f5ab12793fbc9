"""IFS entities as the sync engine reads them: aggregates of a root set and its child collections.

An aggregate is everything one synced record is made of: the root rows that share a key (one customer;
the sales-part rows of one catalog number on every site) and the rows of child sets: collections reached by
navigation (a customer's addresses, ``ChildSet``) or a top-level entity set linked by a property (an
order's lines in ``CustomerOrderLineSet`` by ``OrderNo``, ``LinkedSet``). ``scan`` lists every aggregate in
the configured scope with a version that changes whenever any of its rows changes: the ETags (which embed
IFS's Objversion) of the root rows and of the child rows, hashed together — a new address or a changed line
changes the version even when the parent's own ETag stays. Root rows are read a page of keys at a time;
navigation children come through ``$batch`` requests of navigation reads, one batch per ``batch_size``
parents, and linked children through reads of their set filtered by many parents at once (an ``or`` of
``eq`` per request, as long as the URL budget allows): never one request per parent outside a batch. IFS
does not serve ``$expand`` of a collection (ODP_NOT_IMPLEMENTED), so children are always read apart from
their parents; one-to-one references (``CustomerNoRef``) can be expanded along with the root rows.
``read`` fetches the current rows of many keys: root rows by an ``or`` of key filters chunked to stay
within URL limits, children the same way as in ``scan``. ``read`` never applies the scope: a record that
left the scope is read by key, once, so its last change (a customer blocked, an order invoiced) still
reaches Dynamics. The scope may be a function, evaluated at each scan (orders entered in the last N days).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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


@dataclass(frozen=True)
class LinkedSet:
    """A top-level entity set whose rows belong to a root row by one property, read as part ``part``.

    ``parent_property`` of the root row equals ``child_property`` of its children (``OrderNo`` of an order
    and of its lines in ``CustomerOrderLineSet``).
    """

    part: str
    entity: EntitySet
    parent_property: str
    child_property: str


Scope = Filter | Callable[[], Filter | None] | None


class AggregateSource:
    """One IFS entity read as aggregates keyed by ``group_by`` (the root set's key by default)."""

    def __init__(
        self,
        client: IfsClient,
        root: EntitySet,
        *,
        part: str,
        group_by: str | None = None,
        scope: Scope = None,
        children: Sequence[ChildSet] = (),
        linked: Sequence[LinkedSet] = (),
        expand: Sequence[str] = (),
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
        self._linked = tuple(linked)
        self._expand = tuple(expand)
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

    @property
    def parts(self) -> tuple[str, ...]:
        """The parts of every aggregate: the root's, then each child set's."""
        return (self._part, *(c.part for c in self._children), *(c.part for c in self._linked))

    def _scope_filter(self) -> Filter | None:
        return self._scope() if callable(self._scope) else self._scope

    def scan(self, *, whole: bool = False) -> Iterator[tuple[str, str]]:
        """Every aggregate in scope (``whole``: every one IFS has) with its version (all ETags hashed)."""
        return self._versions(None if whole else self._scope_filter(), ())

    def scan_since(self, column: str, since: date | datetime) -> Iterator[tuple[str, str, str | None]]:
        """Aggregates whose root ``column`` is at or after ``since``, with their version and that value.

        ``since`` is a ``date`` for an ``Edm.Date`` column, a ``datetime`` for a timestamp; the value comes
        back as IFS wrote it (ISO text), the latest of the aggregate's root rows.
        """
        changed = ge(column, since)
        stamps: dict[str, str | None] = {}
        scope = self._scope_filter()
        for key, version in self._versions(changed if scope is None else scope & changed, (column,), stamps):
            yield key, version, stamps.get(key)

    def _versions(
        self, filter: Filter | None, extra: tuple[str, ...], stamps: dict[str, str | None] | None = None
    ) -> Iterator[tuple[str, str]]:
        links = tuple(c.parent_property for c in self._linked)
        select = tuple(dict.fromkeys((*self._root.keys, self._group_by, *links, *extra)))
        groups: dict[str, list[str]] = {}
        parents: dict[str, list[Row]] = {}
        for row in self._client.iter_rows(self._root, Query(select=select, filter=filter)):
            key = str(row[self._group_by])
            groups.setdefault(key, []).append(
                f"{self._part}|{_row_key(row, self._root.keys)}|{row.get('@odata.etag')}"
            )
            if self._children or self._linked:
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
        for key, linked, row in self._linked_rows(parents, keys_only=True):
            groups[key].append(f"{linked.part}|{_row_key(row, linked.entity.keys)}|{row.get('@odata.etag')}")
        for key in sorted(groups):
            yield key, _digest(groups[key])

    # ---- current state -------------------------------------------------------------------------

    def read(self, keys: Sequence[str]) -> dict[str, dict[str, list[Row]]]:
        """The current rows of ``keys`` (every site, every child); keys IFS does not have are absent."""
        found: dict[str, dict[str, list[Row]]] = {}
        parents: dict[str, list[Row]] = {}
        wanted = list(dict.fromkeys(keys))
        for row in self._client.iter_matching(self._root, self._group_by, wanted, expand=self._expand):
            key = str(row[self._group_by])
            found.setdefault(key, {part: [] for part in self.parts})[self._part].append(row)
            parents.setdefault(key, []).append(row)
        for key, child, row in self._child_rows(parents, keys_only=False):
            found[key][child.part].append(row)
        for key, linked, row in self._linked_rows(parents, keys_only=False):
            found[key][linked.part].append(row)
        return found

    # ---- children from their own entity set -----------------------------------------------------------

    def _linked_rows(
        self, parents: Mapping[str, list[Row]], *, keys_only: bool
    ) -> Iterator[tuple[str, LinkedSet, Row]]:
        """(aggregate key, linked set, child row) for the children of every parent, many parents a request."""
        for linked in self._linked:
            owners: dict[Any, set[str]] = {}
            for key, rows in parents.items():
                for parent in rows:
                    value = parent.get(linked.parent_property)
                    if value is not None:
                        owners.setdefault(value, set()).add(key)
            if not owners:
                continue
            select = tuple(dict.fromkeys((*linked.entity.keys, linked.child_property))) if keys_only else ()
            for row in self._client.iter_matching(
                linked.entity, linked.child_property, list(owners), select=select
            ):
                for key in sorted(owners.get(row.get(linked.child_property), ())):
                    yield key, linked, row

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
