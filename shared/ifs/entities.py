"""Where an IFS entity lives: projection, entity set, key properties, and how to address one row.

The names come from configuration (``IfsSettings``), written as in the URL: an entity set is
``<Projection>.svc/<EntitySet>(<Key>,…)``, a collection navigation ``<Navigation>(<Key>,…)`` or just
``<Navigation>``. Key values are formatted by their Python type: ``str`` quoted, ``int`` bare (IFS keys such
as ``LineItemNo`` are numeric: ``(LineNo='1',RelNo='1',OrderNo='X',LineItemNo=0)``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from shared.ifs.query import Filter, all_of, check_name, eq, literal

_ENTITY_SET = re.compile(
    r"^(?P<projection>[A-Za-z_][A-Za-z0-9_]*)\.svc/(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:\((?P<keys>[A-Za-z_][A-Za-z0-9_]*(?:,[A-Za-z_][A-Za-z0-9_]*)*)\))?$"
)
_NAVIGATION = re.compile(
    r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:\((?P<keys>[A-Za-z_][A-Za-z0-9_]*(?:,[A-Za-z_][A-Za-z0-9_]*)*)\))?$"
)
# Inside a path segment: keep OData key punctuation readable, encode everything else ('/', '?', '#', ' ' …).
_PATH_SAFE = "'=,()$:@!*;-._~"

KeyValue = str | int
Key = Mapping[str, KeyValue]


def _key_values(keys: tuple[str, ...], key: Key, where: str) -> list[tuple[str, KeyValue]]:
    missing = [k for k in keys if k not in key]
    unknown = [k for k in key if k not in keys]
    if missing or unknown:
        raise ValueError(f"key of {where} needs exactly {list(keys)}; missing {missing}, unknown {unknown}")
    values: list[tuple[str, KeyValue]] = []
    for name in keys:
        value = key[name]
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise TypeError(f"key {name} of {where} must be str or int, not {type(value).__name__}")
        values.append((name, value))
    return values


def key_predicate(keys: tuple[str, ...], key: Key, where: str = "entity") -> str:
    """``(A='x',B=1)`` for a path segment (percent-encoded where a URL needs it)."""
    parts = ",".join(f"{name}={literal(value)}" for name, value in _key_values(keys, key, where))
    return quote(f"({parts})", safe=_PATH_SAFE)


def key_filter(keys: tuple[str, ...], key: Key, where: str = "entity") -> Filter:
    """The ``$filter`` that selects exactly the row with ``key``."""
    return all_of(eq(name, value) for name, value in _key_values(keys, key, where))


@dataclass(frozen=True)
class Navigation:
    """A collection navigation from one row, such as ``OrderLinesArray`` from a customer order."""

    name: str
    keys: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Navigation:
        """Read ``Name`` or ``Name(Key,…)``; ValueError explains a malformed value."""
        match = _NAVIGATION.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"expected <Navigation> or <Navigation>(<Key>,…), got {text!r}")
        keys = tuple(match["keys"].split(",")) if match["keys"] else ()
        return cls(name=match["name"], keys=keys)

    def __str__(self) -> str:
        return self.name + (f"({','.join(self.keys)})" if self.keys else "")


@dataclass(frozen=True)
class EntitySet:
    """One entity set of one projection, with the properties that make up its key."""

    projection: str
    name: str
    keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_name(self.projection)
        check_name(self.name)
        for key in self.keys:
            check_name(key)

    @classmethod
    def parse(cls, text: str) -> EntitySet:
        """Read ``Projection.svc/EntitySet(Key,…)``; ValueError explains a malformed value."""
        match = _ENTITY_SET.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"expected <Projection>.svc/<EntitySet>(<Key>,…), got {text!r}")
        keys = tuple(match["keys"].split(",")) if match["keys"] else ()
        return cls(projection=match["projection"], name=match["name"], keys=keys)

    def __str__(self) -> str:
        return f"{self.path}" + (f"({','.join(self.keys)})" if self.keys else "")

    @property
    def service(self) -> str:
        """``<Projection>.svc``."""
        return f"{self.projection}.svc"

    @property
    def path(self) -> str:
        """``<Projection>.svc/<EntitySet>``, relative to the projection root."""
        return f"{self.service}/{self.name}"

    def row_path(self, key: Key) -> str:
        """``<Projection>.svc/<EntitySet>(<key predicate>)``."""
        if not self.keys:
            raise ValueError(f"{self.path} has no key properties configured; cannot address one row")
        return self.path + key_predicate(self.keys, key, self.name)

    def key_of(self, row: Mapping[str, Any]) -> dict[str, KeyValue]:
        """The key values of a row read from this entity set."""
        return {name: row[name] for name in self.keys}

    def qualified(self, operation: str) -> str:
        """``IfsApp.<Projection>.<operation>``: how bound actions and functions are named in URLs."""
        return f"IfsApp.{self.projection}.{check_name(operation)}"

    def filter_for(self, key: Key) -> Filter:
        """The ``$filter`` selecting one row by key."""
        return key_filter(self.keys, key, self.name)
