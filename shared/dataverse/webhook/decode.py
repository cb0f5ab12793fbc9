"""Decode a webhook body (the JSON RemoteExecutionContext) into typed, frozen values.

Strict where the connector depends on the shape (ids are GUIDs, typed values have a known ``__type``,
containers have the right JSON type) and tolerant where Dataverse evolves (unknown keys are ignored: newer
payloads add keys such as ``InitiatingUserAgent``). Every problem raises WebhookPayloadError naming the path
to the bad value.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TypeVar
from uuid import UUID

from shared.dataverse.webhook.context import RemoteExecutionContext
from shared.dataverse.webhook.dates import is_date_literal, parse_date_literal
from shared.dataverse.webhook.document import load_document
from shared.dataverse.webhook.errors import WebhookPayloadError
from shared.dataverse.webhook.headers import WebhookHeaders
from shared.dataverse.webhook.values import (
    GENERIC_COLLECTIONS_NAMESPACE,
    OPAQUE_CONTRACT_TYPES,
    SYSTEM_NAMESPACE,
    XRM_CONTRACTS_NAMESPACE,
    Entity,
    EntityCollection,
    EntityReference,
    KeyValuePair,
    Money,
    OpaqueValue,
    OptionSetValue,
    Value,
)

T = TypeVar("T")

# DataContractJsonSerializer writes Guid with format "D"; looser forms (braces, no hyphens) are not Dataverse.
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# The long form of DataContractJsonSerializer's "#" namespace shorthand; both are valid on the wire.
_DATACONTRACT_PREFIX = "http://schemas.datacontract.org/2004/07/"


def parse_remote_execution_context(
    body: bytes | str, *, headers: WebhookHeaders | None = None
) -> RemoteExecutionContext:
    """Decode a webhook request body; raises WebhookPayloadError saying what is wrong and where.

    Pass the request's parsed ``headers`` so the context can say whether Dataverse trimmed the body
    (``RemoteExecutionContext.trimmed``); without them the context reads as untrimmed.
    """
    document = load_document(body)
    if not isinstance(document, dict):
        raise WebhookPayloadError("", f"expected a JSON object, got {_json_type(document)}")
    try:
        context = _context(document, "")
    except RecursionError:
        raise WebhookPayloadError("", "values nested too deeply") from None
    if headers is not None and headers.size_exceeded:
        context = dataclasses.replace(context, trimmed=True)
    return context


def _context(doc: dict[str, Any], path: str) -> RemoteExecutionContext:
    def at(key: str) -> str:
        return f"{path}.{key}" if path else key

    def required(key: str, decode: Callable[[Any, str], T]) -> T:
        if key not in doc:
            raise WebhookPayloadError(at(key), "missing")
        return decode(doc[key], at(key))

    def optional(key: str, decode: Callable[[Any, str], T]) -> T | None:
        value = doc.get(key)
        return None if value is None else decode(value, at(key))

    def collection(key: str) -> Mapping[str, Value]:
        return optional(key, _value_collection) or MappingProxyType({})

    def images(key: str) -> Mapping[str, Entity]:
        return optional(key, _image_collection) or MappingProxyType({})

    # Required: what every published payload has and the handler cannot work without (the dedupe key, the
    # row to read, the user ids that loop prevention compares with the connector's own application user).
    return RemoteExecutionContext(
        message_name=required("MessageName", _nonempty_string),
        primary_entity_name=required("PrimaryEntityName", _nonempty_string),
        primary_entity_id=required("PrimaryEntityId", _guid),
        stage=required("Stage", _int),
        mode=required("Mode", _int),
        depth=required("Depth", _int),
        correlation_id=required("CorrelationId", _guid),
        operation_id=required("OperationId", _guid),
        user_id=required("UserId", _guid),
        initiating_user_id=required("InitiatingUserId", _guid),
        business_unit_id=required("BusinessUnitId", _guid),
        organization_id=required("OrganizationId", _guid),
        request_id=optional("RequestId", _guid),
        organization_name=optional("OrganizationName", _string),
        secondary_entity_name=optional("SecondaryEntityName", _string),
        operation_created_on=optional("OperationCreatedOn", _datetime),
        owning_extension=optional("OwningExtension", _untyped_reference),
        is_in_transaction=optional("IsInTransaction", _bool),
        is_executing_offline=optional("IsExecutingOffline", _bool),
        is_offline_playback=optional("IsOfflinePlayback", _bool),
        isolation_mode=optional("IsolationMode", _int),
        initiating_user_aad_object_id=optional("InitiatingUserAzureActiveDirectoryObjectId", _guid),
        user_aad_object_id=optional("UserAzureActiveDirectoryObjectId", _guid),
        initiating_user_agent=optional("InitiatingUserAgent", _string),
        input_parameters=collection("InputParameters"),
        output_parameters=collection("OutputParameters"),
        shared_variables=collection("SharedVariables"),
        pre_entity_images=images("PreEntityImages"),
        post_entity_images=images("PostEntityImages"),
        parent_context=optional("ParentContext", lambda value, where: _context(_object(value, where), where)),
    )


# --- collections: JSON arrays of {"key": …, "value": …} ---------------------------------------------------


def _pairs(raw: Any, path: str) -> list[tuple[str, Any, str]]:
    """The (key, raw value, path of the value) items of a key/value collection, keys unique."""
    items = _array(raw, path)
    seen: set[str] = set()
    pairs: list[tuple[str, Any, str]] = []
    for index, raw_item in enumerate(items):
        where = f"{path}[{index}]"
        item = _object(raw_item, where)
        if "__type" in item:
            name, namespace = _type_hint(item["__type"], f"{where}.__type")
            if namespace != GENERIC_COLLECTIONS_NAMESPACE or not name.startswith("KeyValuePairOf"):
                raise WebhookPayloadError(f"{where}.__type", f"not a key/value item: {item['__type']!r}")
        if "key" not in item:
            raise WebhookPayloadError(f"{where}.key", "missing")
        key = _string(item["key"], f"{where}.key")
        if key in seen:
            raise WebhookPayloadError(f"{path}[{key}]", "duplicate key")
        if "value" not in item:
            raise WebhookPayloadError(f"{path}[{key}]", "item has no value")
        seen.add(key)
        pairs.append((key, item["value"], f"{path}[{key}]"))
    return pairs


def _value_collection(raw: Any, path: str) -> Mapping[str, Value]:
    return MappingProxyType({key: _value(value, where) for key, value, where in _pairs(raw, path)})


def _formatted_values(raw: Any, path: str) -> Mapping[str, str | None]:
    """Display texts; Dataverse sends ``"value": null`` for a column without one, so null is kept as None."""
    return MappingProxyType(
        {key: None if value is None else _string(value, where) for key, value, where in _pairs(raw, path)}
    )


def _image_collection(raw: Any, path: str) -> Mapping[str, Entity]:
    return MappingProxyType({key: _untyped_entity(value, where) for key, value, where in _pairs(raw, path)})


# --- values ---------------------------------------------------------------------------------------------


def _value(raw: Any, path: str) -> Value:
    if raw is None or isinstance(raw, bool | int | Decimal):
        return raw
    if isinstance(raw, str):
        return _string_value(raw, path)
    if isinstance(raw, list):
        return tuple(_value(item, f"{path}[{index}]") for index, item in enumerate(raw))
    return _typed_value(_object(raw, path), path)


def _string_value(raw: str, path: str) -> str | datetime:
    if not is_date_literal(raw):
        return raw
    try:
        return parse_date_literal(raw)
    except ValueError as error:
        raise WebhookPayloadError(path, str(error)) from None


def _typed_value(obj: dict[str, Any], path: str) -> Value:
    if "__type" not in obj:
        raise WebhookPayloadError(path, "a JSON object value without a __type hint")
    name, namespace = _type_hint(obj["__type"], f"{path}.__type")
    if namespace == XRM_CONTRACTS_NAMESPACE:
        return _contract_value(name, obj, path)
    if namespace == SYSTEM_NAMESPACE and name in ("Guid", "DateTime"):
        decode = _guid if name == "Guid" else _datetime
        return decode(_member(obj, "__value", path), f"{path}.__value")
    if namespace == GENERIC_COLLECTIONS_NAMESPACE and name.startswith("KeyValuePairOf"):
        key = _string(_member(obj, "key", path), f"{path}.key")
        return KeyValuePair(key, _value(_member(obj, "value", path), f"{path}.value"))
    raise WebhookPayloadError(f"{path}.__type", f"unknown type {obj['__type']!r}")


def _contract_value(name: str, obj: dict[str, Any], path: str) -> Value:
    if name == "Entity":
        return _entity(obj, path)
    if name == "EntityReference":
        return _reference(obj, path)
    if name == "EntityCollection":
        return _entity_collection(obj, path)
    if name == "Money":
        return Money(_decimal(_member(obj, "Value", path), f"{path}.Value"))
    if name == "OptionSetValue":
        return OptionSetValue(_int(_member(obj, "Value", path), f"{path}.Value"))
    if name in OPAQUE_CONTRACT_TYPES:
        return OpaqueValue(name, _freeze({k: v for k, v in obj.items() if k != "__type"}))
    raise WebhookPayloadError(f"{path}.__type", f"unknown type {obj['__type']!r}")


def _type_hint(raw: Any, path: str) -> tuple[str, str]:
    """Split ``Name:namespace``; the serializer's "#" namespace shorthand and its long form are equivalent."""
    hint = _string(raw, path).replace("\\/", "/")
    name, colon, namespace = hint.partition(":")
    if not colon or not name:
        raise WebhookPayloadError(path, f"not a Name:namespace type hint: {hint!r}")
    if namespace.startswith(_DATACONTRACT_PREFIX):
        namespace = "#" + namespace.removeprefix(_DATACONTRACT_PREFIX)
    return name, namespace


def _expect_type(obj: dict[str, Any], expected: str, path: str) -> None:
    """Images and OwningExtension carry no __type; if one is present it must name the expected contract."""
    if "__type" in obj:
        name, namespace = _type_hint(obj["__type"], f"{path}.__type")
        if (name, namespace) != (expected, XRM_CONTRACTS_NAMESPACE):
            raise WebhookPayloadError(f"{path}.__type", f"expected {expected}, got {obj['__type']!r}")


def _entity(obj: dict[str, Any], path: str) -> Entity:
    def opt(key: str) -> Any:
        return obj.get(key)

    return Entity(
        logical_name=_nonempty_string(_member(obj, "LogicalName", path), f"{path}.LogicalName"),
        id=_guid(_member(obj, "Id", path), f"{path}.Id"),
        attributes=_value_collection(_listed(obj, "Attributes"), f"{path}.Attributes"),
        formatted_values=_formatted_values(_listed(obj, "FormattedValues"), f"{path}.FormattedValues"),
        key_attributes=_value_collection(_listed(obj, "KeyAttributes"), f"{path}.KeyAttributes"),
        row_version=None if opt("RowVersion") is None else _string(opt("RowVersion"), f"{path}.RowVersion"),
        entity_state=None if opt("EntityState") is None else _int(opt("EntityState"), f"{path}.EntityState"),
        related_entities=_freeze(_array(_listed(obj, "RelatedEntities"), f"{path}.RelatedEntities")),
    )


def _reference(obj: dict[str, Any], path: str) -> EntityReference:
    name = obj.get("Name")
    row_version = obj.get("RowVersion")
    return EntityReference(
        logical_name=_nonempty_string(_member(obj, "LogicalName", path), f"{path}.LogicalName"),
        id=_guid(_member(obj, "Id", path), f"{path}.Id"),
        name=None if name is None else _string(name, f"{path}.Name"),
        key_attributes=_value_collection(_listed(obj, "KeyAttributes"), f"{path}.KeyAttributes"),
        row_version=None if row_version is None else _string(row_version, f"{path}.RowVersion"),
    )


def _entity_collection(obj: dict[str, Any], path: str) -> EntityCollection:
    """Rows of an ``EntityCollection`` (activity parties); as in the capture, they carry no ``__type``."""

    def opt(key: str, decode: Callable[[Any, str], T]) -> T | None:
        value = obj.get(key)
        return None if value is None else decode(value, f"{path}.{key}")

    where = f"{path}.Entities"
    rows = _array(_listed(obj, "Entities"), where)
    return EntityCollection(
        entities=tuple(_untyped_entity(row, f"{where}[{index}]") for index, row in enumerate(rows)),
        entity_name=opt("EntityName", _string),
        min_active_row_version=opt("MinActiveRowVersion", _string),
        more_records=opt("MoreRecords", _bool),
        paging_cookie=opt("PagingCookie", _string),
        total_record_count=opt("TotalRecordCount", _int),
        total_record_count_limit_exceeded=opt("TotalRecordCountLimitExceeded", _bool),
    )


def _listed(obj: dict[str, Any], key: str) -> Any:
    """A collection member; absent or null reads as empty, anything else is checked by the caller."""
    value = obj.get(key)
    return [] if value is None else value


def _untyped_entity(raw: Any, path: str) -> Entity:
    obj = _object(raw, path)
    _expect_type(obj, "Entity", path)
    return _entity(obj, path)


def _untyped_reference(raw: Any, path: str) -> EntityReference:
    obj = _object(raw, path)
    _expect_type(obj, "EntityReference", path)
    return _reference(obj, path)


def _freeze(raw: Any) -> Any:
    if isinstance(raw, dict):
        return MappingProxyType({key: _freeze(value) for key, value in raw.items()})
    if isinstance(raw, list):
        return tuple(_freeze(item) for item in raw)
    return raw


# --- scalars --------------------------------------------------------------------------------------------


def _member(obj: dict[str, Any], key: str, path: str) -> Any:
    if key not in obj:
        raise WebhookPayloadError(f"{path}.{key}", "missing")
    return obj[key]


def _object(raw: Any, path: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise WebhookPayloadError(path, f"expected a JSON object, got {_json_type(raw)}")
    return raw


def _array(raw: Any, path: str) -> list[Any]:
    if not isinstance(raw, list):
        raise WebhookPayloadError(path, f"expected a JSON array, got {_json_type(raw)}")
    return raw


def _string(raw: Any, path: str) -> str:
    if not isinstance(raw, str):
        raise WebhookPayloadError(path, f"expected a string, got {_json_type(raw)}")
    return raw


def _nonempty_string(raw: Any, path: str) -> str:
    if not _string(raw, path):
        raise WebhookPayloadError(path, "empty")
    return str(raw)


def _guid(raw: Any, path: str) -> UUID:
    if not isinstance(raw, str) or _GUID.fullmatch(raw) is None:
        shown = repr(raw[:40]) if isinstance(raw, str) else _json_type(raw)
        raise WebhookPayloadError(path, f"expected a GUID, got {shown}")
    return UUID(raw)


def _int(raw: Any, path: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise WebhookPayloadError(path, f"expected an integer, got {_json_type(raw)}")
    return raw


def _decimal(raw: Any, path: str) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal):
        raise WebhookPayloadError(path, f"expected a number, got {_json_type(raw)}")
    return Decimal(raw)


def _bool(raw: Any, path: str) -> bool:
    if not isinstance(raw, bool):
        raise WebhookPayloadError(path, f"expected true or false, got {_json_type(raw)}")
    return raw


def _datetime(raw: Any, path: str) -> datetime:
    value = _value(raw, path)
    if not isinstance(value, datetime):
        raise WebhookPayloadError(path, "expected a /Date(milliseconds)/ date")
    return value


def _json_type(raw: Any) -> str:
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "a boolean"
    if isinstance(raw, int | Decimal):
        return f"the number {raw}"
    if isinstance(raw, str):
        return f"the string {raw[:40]!r}"
    if isinstance(raw, list):
        return "an array"
    return "an object"
