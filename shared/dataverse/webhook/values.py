"""Typed, frozen values of the Dataverse SDK data contracts a webhook's RemoteExecutionContext carries.

Dataverse serialises ``Microsoft.Xrm.Sdk`` objects with .NET's DataContractJsonSerializer: typed values
carry a ``"__type": "<Name>:<namespace>"`` hint, collections are JSON arrays of ``{"key": …, "value": …}``.
These classes are the decoded form; ``decode.py`` builds them and the Dataverse simulator writes them back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TypeAlias
from uuid import UUID

XRM_CONTRACTS_NAMESPACE = "http://schemas.microsoft.com/xrm/2011/Contracts"
"""Data contract namespace of the Microsoft.Xrm.Sdk types (Entity, EntityReference, Money, …)."""

SYSTEM_NAMESPACE = "#System"
"""Short form DataContractJsonSerializer uses for ``http://schemas.datacontract.org/2004/07/System``."""

GENERIC_COLLECTIONS_NAMESPACE = "#System.Collections.Generic"
"""Short namespace of ``KeyValuePair<,>`` items (``KeyValuePairOfstringstring``)."""

OPAQUE_CONTRACT_TYPES = frozenset(
    {
        "QueryExpression",
        "QueryByAttribute",
        "FetchExpression",
        "ColumnSet",
        "Relationship",
        "EntityReferenceCollection",
        "AliasedValue",
    }
)
"""Xrm contract types that may appear as request parameters and are kept as raw JSON.

Only QueryExpression is confirmed by a capture; the others are SDK request-parameter types whose JSON shape
no capture shows, so they are carried unparsed rather than guessed at (or rejected, failing the webhook).
``EntityCollection`` is not among them: a capture shows its shape and it is decoded (``EntityCollection``).
"""


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Money:
    """A currency column value (``Money`` contract): the amount in the row's transaction currency."""

    value: Decimal


@dataclass(frozen=True)
class OptionSetValue:
    """A choice column value (``OptionSetValue`` contract); a multi-select choice is a tuple of these."""

    value: int


@dataclass(frozen=True)
class EntityReference:
    """A lookup to a row (``EntityReference`` contract): table logical name and id, optionally its name."""

    logical_name: str
    id: UUID
    name: str | None = None
    key_attributes: Mapping[str, Value] = field(default_factory=_empty)
    row_version: str | None = None


@dataclass(frozen=True)
class Entity:
    """A row (``Entity`` contract): a webhook Target, an entity image, or an activity party.

    ``attributes`` holds decoded values in payload order; ``formatted_values`` the user-visible strings
    Dataverse adds for choices, money, dates and numbers (only some payloads carry them); an entry may be
    None, as Dataverse sends ``"value": null`` for a column it has no display text for.
    ``related_entities`` is kept as raw JSON: no capture shows a non-empty one.
    """

    logical_name: str
    id: UUID
    attributes: Mapping[str, Value] = field(default_factory=_empty)
    formatted_values: Mapping[str, str | None] = field(default_factory=_empty)
    key_attributes: Mapping[str, Value] = field(default_factory=_empty)
    row_version: str | None = None
    entity_state: int | None = None
    related_entities: tuple[Any, ...] = ()

    def reference(self) -> EntityReference:
        """A reference to this row."""
        return EntityReference(self.logical_name, self.id)


@dataclass(frozen=True)
class EntityCollection:
    """A list of rows (``EntityCollection`` contract), e.g. an activity-party column (``to``, ``from``).

    ``entities`` are decoded like any row (each activity party with its ``partyid`` lookup and dates). The
    other fields are the contract's paging members, None when the payload leaves them out or sends null; for
    a column value the capture shows ``MoreRecords: false``, ``PagingCookie: null``, ``TotalRecordCount: -1``.
    """

    entities: tuple[Entity, ...]
    entity_name: str | None = None
    min_active_row_version: str | None = None
    more_records: bool | None = None
    paging_cookie: str | None = None
    total_record_count: int | None = None
    total_record_count_limit_exceeded: bool | None = None


@dataclass(frozen=True)
class KeyValuePair:
    """One ``KeyValuePairOfstringstring`` (or ``…OfstringanyType``) item inside a collection value.

    Seen in ``SharedVariables.ChangedEntityTypes``: table name → message name.
    """

    key: str
    value: Value


@dataclass(frozen=True)
class OpaqueValue:
    """A typed contract value the connector does not interpret (e.g. a ``QueryExpression``), kept as raw JSON.

    ``fields`` is the JSON object without its ``__type``, deeply frozen (objects as read-only mappings,
    arrays as tuples), in payload order.
    """

    type_name: str
    fields: Mapping[str, Any]


Value: TypeAlias = (
    bool
    | int
    | Decimal
    | str
    | datetime
    | UUID
    | Money
    | OptionSetValue
    | EntityReference
    | Entity
    | EntityCollection
    | KeyValuePair
    | OpaqueValue
    | tuple["Value", ...]
    | None
)
"""A decoded parameter or attribute value.

JSON numbers with a fraction or exponent are ``Decimal``, whole numbers ``int``. Strings stay strings
(GUID-valued columns arrive as plain strings), except ``/Date(…)/`` literals, which become UTC datetimes.
The ``Guid:#System`` and ``DateTime:#System`` wrappers become ``UUID`` and ``datetime``. Arrays become
tuples (a multi-select choice is a tuple of OptionSetValue). An activity-party column is an
EntityCollection (as Dataverse sends it) or, in one hand-edited capture, a plain array: a tuple of Entity.
"""
