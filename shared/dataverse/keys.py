r"""Record addresses in Web API URLs: by GUID or by alternate key, refusing key values a URL cannot carry.

``accounts(<guid>)``, ``accounts(accountnumber='ABC123')``, ``contacts(firstname='Joe',emailaddress1='…')``,
``accounts(_primarycontactid_value=<guid>)``. String values are quoted with ``'`` (doubled inside), then
percent-encoded so spaces and ``#`` survive. The alternate-keys article warns that values containing
``/ < > * % & : \\ ? +`` break GET/PATCH by key; ``record_path`` refuses them with
``UnaddressableKeyError`` before anything is sent, so the caller can write that row by GUID instead.
Datetimes must be timezone-aware: a naive one is refused (ValueError), not read in the host's time zone.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from decimal import Decimal
from urllib.parse import quote

UNADDRESSABLE_CHARACTERS = frozenset("/<>*%&:\\?+")
KeyValue = str | int | Decimal | uuid.UUID | dt.date
RecordId = uuid.UUID | Mapping[str, KeyValue]


class UnaddressableKeyError(ValueError):
    """An alternate-key value holds a character that cannot be addressed in a Web API URL."""

    def __init__(self, column: str, value: str, character: str) -> None:
        self.column = column
        self.value = value
        self.character = character
        super().__init__(
            f"alternate-key value {value!r} of {column} contains {character!r}, which Dataverse cannot "
            "address in a URL (/ < > * % & : \\ ? +); write this row by its GUID instead"
        )


def _literal(column: str, value: KeyValue) -> str:
    if isinstance(value, bool):
        raise TypeError(f"alternate-key value of {column} cannot be a boolean")
    if isinstance(value, str):
        for character in value:
            if character in UNADDRESSABLE_CHARACTERS:
                raise UnaddressableKeyError(column, value, character)
        return quote("'" + value.replace("'", "''") + "'", safe="'")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return utc_literal(value, f"alternate-key value of {column}")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def utc_literal(value: dt.datetime, what: str) -> str:
    """``2026-01-31T08:00:00Z`` for an aware datetime; ValueError for a naive one.

    A naive datetime names no instant (``astimezone`` would read it in the host's local time zone), so it
    is refused rather than guessed.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} is a naive datetime ({value.isoformat()}); give it a time zone")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def key_segment(values: Mapping[str, KeyValue]) -> str:
    """``accountnumber='C1'`` (several columns joined with commas)."""
    if not values:
        raise ValueError("an alternate key needs at least one column")
    return ",".join(f"{column}={_literal(column, value)}" for column, value in values.items())


def record_path(entity_set: str, record: RecordId) -> str:
    """``accounts(<guid>)`` or ``accounts(accountnumber='C1')``; UnaddressableKeyError for bad key values."""
    if isinstance(record, uuid.UUID):
        return f"{entity_set}({record})"
    return f"{entity_set}({key_segment(record)})"


def addressable(value: str) -> bool:
    """Whether a string key value can be used in a URL (else write the row by GUID)."""
    return not any(character in UNADDRESSABLE_CHARACTERS for character in value)
