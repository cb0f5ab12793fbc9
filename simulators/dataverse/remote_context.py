r"""Build the webhook request Dataverse sends: a RemoteExecutionContext JSON body in the real shape.

The reverse of ``shared.dataverse.webhook``: the simulator describes a pipeline step with the same frozen
values the connector's parser produces and gets the exact wire form back. Shape (from the MS docs sample
and the captures in tests/vectors/dataverse/): members in ordinal key order as
DataContractJsonSerializer writes them, compact, every ``/`` escaped as ``\/`` (``http:\/\/schemas…``,
``\/Date(…)\/``), control characters as ``
``, non-ASCII as UTF-8; ``KeyAttributes: []``,
``RowVersion``/``EntityState: null``; images and OwningExtension without ``__type``.

Value mapping: str → string (pass GUID-valued columns as ``str``, as Dataverse does); datetime →
``/Date(ms)/`` (see ``format_date_literal`` for the ``±hhmm`` form); Decimal/int/bool/None as JSON scalars;
UUID → the ``Guid:#System`` wrapper seen in one capture; Money, OptionSetValue, EntityReference, Entity,
EntityCollection, KeyValuePair and OpaqueValue as their contracts; tuples → arrays (multi-select choices).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any
from uuid import UUID

from shared.dataverse.webhook import (
    MAX_PAYLOAD_BYTES,
    MODE_ASYNCHRONOUS,
    MODE_SYNCHRONOUS,
    STAGE_POST_OPERATION,
    Entity,
    EntityCollection,
    EntityReference,
    KeyValuePair,
    Money,
    OpaqueValue,
    OptionSetValue,
    RemoteExecutionContext,
    Value,
    format_date_literal,
)
from shared.dataverse.webhook.headers import (
    CORRELATION_REQUEST_ID,
    ENTITY_NAME,
    MSG_SIZE_EXCEEDED,
    ORGANIZATION,
    REQUEST_ID,
    REQUEST_NAME,
)
from shared.dataverse.webhook.values import (
    GENERIC_COLLECTIONS_NAMESPACE,
    SYSTEM_NAMESPACE,
    XRM_CONTRACTS_NAMESPACE,
)

TRIMMED_MEMBERS = ("ParentContext", "InputParameters", "PreEntityImages", "PostEntityImages")
"""What Dataverse removes from a payload over 256 KB (Learn, "Use WebHooks")."""


def new_context(
    *,
    message_name: str,
    primary_entity_name: str,
    primary_entity_id: UUID,
    target: Entity | EntityReference | None = None,
    input_parameters: Mapping[str, Value] | None = None,
    output_parameters: Mapping[str, Value] | None = None,
    pre_images: Mapping[str, Entity] | None = None,
    post_images: Mapping[str, Entity] | None = None,
    shared_variables: Mapping[str, Value] | None = None,
    stage: int = STAGE_POST_OPERATION,
    mode: int = MODE_ASYNCHRONOUS,
    depth: int = 1,
    user_id: UUID | None = None,
    initiating_user_id: UUID | None = None,
    business_unit_id: UUID | None = None,
    organization_id: UUID | None = None,
    organization_name: str = "simulatedorg",
    correlation_id: UUID | None = None,
    operation_id: UUID | None = None,
    request_id: UUID | None = None,
    operation_created_on: datetime | None = None,
    step: EntityReference | None = None,
    is_in_transaction: bool | None = None,
    secondary_entity_name: str = "none",
    initiating_user_aad_object_id: UUID | None = None,
    user_aad_object_id: UUID | None = None,
    parent_context: RemoteExecutionContext | None = None,
) -> RemoteExecutionContext:
    """A RemoteExecutionContext for one step, with realistic defaults for whatever the caller leaves out.

    Defaults: an async post-operation step at depth 1; fresh random ids; the initiating user is the user;
    ``Target`` first among the input parameters; a post-operation Create reports the new id as output
    parameter ``id`` (as the captures show); sync steps run inside the transaction, async ones outside; the
    step (OwningExtension) is a fresh ``sdkmessageprocessingstep`` reference; created "now" in UTC, to the
    millisecond.
    """
    user = user_id or uuid.uuid4()
    parameters: dict[str, Value] = {} if target is None else {"Target": target}
    parameters.update(input_parameters or {})
    if output_parameters is None:
        creates = message_name == "Create" and stage == STAGE_POST_OPERATION
        output_parameters = {"id": str(primary_entity_id)} if creates else {}
    return RemoteExecutionContext(
        message_name=message_name,
        primary_entity_name=primary_entity_name,
        primary_entity_id=primary_entity_id,
        stage=stage,
        mode=mode,
        depth=depth,
        correlation_id=correlation_id or uuid.uuid4(),
        operation_id=operation_id or uuid.uuid4(),
        user_id=user,
        initiating_user_id=initiating_user_id or user,
        business_unit_id=business_unit_id or uuid.uuid4(),
        organization_id=organization_id or uuid.uuid4(),
        request_id=request_id,
        organization_name=organization_name,
        secondary_entity_name=secondary_entity_name,
        operation_created_on=operation_created_on or _now_to_the_millisecond(),
        owning_extension=step or EntityReference("sdkmessageprocessingstep", uuid.uuid4()),
        is_in_transaction=mode == MODE_SYNCHRONOUS if is_in_transaction is None else is_in_transaction,
        is_executing_offline=False,
        is_offline_playback=False,
        isolation_mode=1,
        initiating_user_aad_object_id=initiating_user_aad_object_id,
        user_aad_object_id=user_aad_object_id,
        input_parameters=MappingProxyType(parameters),
        output_parameters=MappingProxyType(dict(output_parameters)),
        shared_variables=MappingProxyType(dict(shared_variables or {})),
        pre_entity_images=MappingProxyType(dict(pre_images or {})),
        post_entity_images=MappingProxyType(dict(post_images or {})),
        parent_context=parent_context,
    )


def _now_to_the_millisecond() -> datetime:
    """Now, at the precision the wire carries, so a built context equals its parsed self."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def context_document(ctx: RemoteExecutionContext, *, trimmed: bool = False) -> dict[str, Any]:
    """The JSON object (numbers as int/Decimal) Dataverse would send for ``ctx``.

    ``trimmed`` leaves out the four members Dataverse removes from payloads over 256 KB. The members added by
    newer platform versions (the two Azure AD object ids, InitiatingUserAgent) appear only when set.
    """
    doc: dict[str, Any] = {
        "BusinessUnitId": str(ctx.business_unit_id),
        "CorrelationId": str(ctx.correlation_id),
        "Depth": ctx.depth,
        "InitiatingUserId": str(ctx.initiating_user_id),
        "InputParameters": _collection(ctx.input_parameters.items()),
        "IsExecutingOffline": ctx.is_executing_offline,
        "IsInTransaction": ctx.is_in_transaction,
        "IsOfflinePlayback": ctx.is_offline_playback,
        "IsolationMode": ctx.isolation_mode,
        "MessageName": ctx.message_name,
        "Mode": ctx.mode,
        "OperationCreatedOn": _optional(ctx.operation_created_on, format_date_literal),
        "OperationId": str(ctx.operation_id),
        "OrganizationId": str(ctx.organization_id),
        "OrganizationName": ctx.organization_name,
        "OutputParameters": _collection(ctx.output_parameters.items()),
        "OwningExtension": _optional(ctx.owning_extension, _untyped_reference),
        "ParentContext": _optional(ctx.parent_context, context_document),
        "PostEntityImages": _images(ctx.post_entity_images),
        "PreEntityImages": _images(ctx.pre_entity_images),
        "PrimaryEntityId": str(ctx.primary_entity_id),
        "PrimaryEntityName": ctx.primary_entity_name,
        "RequestId": _optional(ctx.request_id, str),
        "SecondaryEntityName": ctx.secondary_entity_name,
        "SharedVariables": _collection(ctx.shared_variables.items()),
        "Stage": ctx.stage,
        "UserId": str(ctx.user_id),
    }
    newer = {
        "InitiatingUserAgent": ctx.initiating_user_agent,
        "InitiatingUserAzureActiveDirectoryObjectId": _optional(ctx.initiating_user_aad_object_id, str),
        "UserAzureActiveDirectoryObjectId": _optional(ctx.user_aad_object_id, str),
    }
    doc.update({key: value for key, value in newer.items() if value is not None})
    if trimmed:
        for member in TRIMMED_MEMBERS:
            del doc[member]
    return dict(sorted(doc.items()))


def encode_context(ctx: RemoteExecutionContext, *, trimmed: bool = False) -> bytes:
    """The request body Dataverse would send for ``ctx``, byte for byte in its serializer's style."""
    return dumps_like_dataverse(context_document(ctx, trimmed=trimmed)).encode("utf-8")


@dataclass(frozen=True)
class WebhookDelivery:
    """One webhook POST as Dataverse would make it: body and headers (auth headers are the caller's)."""

    body: bytes
    headers: Mapping[str, str]
    size_exceeded: bool


def webhook_delivery(
    ctx: RemoteExecutionContext, *, organization: str, request_id: str | None = None
) -> WebhookDelivery:
    """Body and documented headers for delivering ``ctx``; trimmed, with the size header, when over 256 KB.

    ``organization`` is the environment's domain name (``x-ms-dynamics-organization``); ``request_id``, when
    given, is sent as ``x-request-id`` (listed only by older revisions of the docs). Assumed, not documented:
    the Content-Type, the size header's value (``true``), and that the limit applies to the body alone.
    """
    body = encode_context(ctx)
    size_exceeded = len(body) > MAX_PAYLOAD_BYTES
    if size_exceeded:
        body = encode_context(ctx, trimmed=True)
    headers = {
        "Content-Type": "application/json",
        ORGANIZATION: organization,
        ENTITY_NAME: ctx.primary_entity_name,
        REQUEST_NAME: ctx.message_name,
        CORRELATION_REQUEST_ID: str(ctx.correlation_id),
    }
    if request_id is not None:
        headers[REQUEST_ID] = request_id
    if size_exceeded:
        headers[MSG_SIZE_EXCEEDED] = "true"
    return WebhookDelivery(body=body, headers=MappingProxyType(headers), size_exceeded=size_exceeded)


# --- values -> JSON tree --------------------------------------------------------------------------------


def _optional(value: Any, encode: Any) -> Any:
    return None if value is None else encode(value)


def _contract(name: str) -> str:
    return f"{name}:{XRM_CONTRACTS_NAMESPACE}"


def _collection(items: Iterable[tuple[str, Value]]) -> list[dict[str, Any]]:
    return [{"key": key, "value": _value(value)} for key, value in items]


def _images(images: Mapping[str, Entity]) -> list[dict[str, Any]]:
    return [{"key": alias, "value": _entity(image, typed=False)} for alias, image in images.items()]


def _entity(entity: Entity, *, typed: bool = True) -> dict[str, Any]:
    doc: dict[str, Any] = {"__type": _contract("Entity")} if typed else {}
    doc.update(
        {
            "Attributes": _collection(entity.attributes.items()),
            "EntityState": entity.entity_state,
            "FormattedValues": [{"key": k, "value": v} for k, v in entity.formatted_values.items()],
            "Id": str(entity.id),
            "KeyAttributes": _collection(entity.key_attributes.items()),
            "LogicalName": entity.logical_name,
            "RelatedEntities": _thaw(entity.related_entities),
            "RowVersion": entity.row_version,
        }
    )
    return doc


def _entity_collection(collection: EntityCollection) -> dict[str, Any]:
    # Rows without __type and the paging members in ordinal order, as in the activity-party capture.
    return {
        "__type": _contract("EntityCollection"),
        "Entities": [_entity(row, typed=False) for row in collection.entities],
        "EntityName": collection.entity_name,
        "MinActiveRowVersion": collection.min_active_row_version,
        "MoreRecords": collection.more_records,
        "PagingCookie": collection.paging_cookie,
        "TotalRecordCount": collection.total_record_count,
        "TotalRecordCountLimitExceeded": collection.total_record_count_limit_exceeded,
    }


def _reference(reference: EntityReference, *, typed: bool = True) -> dict[str, Any]:
    doc: dict[str, Any] = {"__type": _contract("EntityReference")} if typed else {}
    doc.update(
        {
            "Id": str(reference.id),
            "KeyAttributes": _collection(reference.key_attributes.items()),
            "LogicalName": reference.logical_name,
            "Name": reference.name,
            "RowVersion": reference.row_version,
        }
    )
    return doc


def _untyped_reference(reference: EntityReference) -> dict[str, Any]:
    return _reference(reference, typed=False)


def _value(value: Value) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, tuple):
        return [_value(item) for item in value]
    encode = _ENCODERS.get(type(value))
    if encode is None:
        raise TypeError(f"no RemoteExecutionContext form for {type(value).__name__}")
    return encode(value)


def _decimal(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError(f"{value} has no JSON form")
    return value


def _guid(value: UUID) -> dict[str, Any]:
    return {"__type": f"Guid:{SYSTEM_NAMESPACE}", "__value": str(value)}


def _money(value: Money) -> dict[str, Any]:
    return {"__type": _contract("Money"), "Value": _decimal(value.value)}


def _option(value: OptionSetValue) -> dict[str, Any]:
    return {"__type": _contract("OptionSetValue"), "Value": value.value}


def _pair(pair: KeyValuePair) -> dict[str, Any]:
    kind = "KeyValuePairOfstringstring" if isinstance(pair.value, str) else "KeyValuePairOfstringanyType"
    return {"__type": f"{kind}:{GENERIC_COLLECTIONS_NAMESPACE}", "key": pair.key, "value": _value(pair.value)}


def _opaque(value: OpaqueValue) -> dict[str, Any]:
    return {"__type": _contract(value.type_name), **_thaw(value.fields)}


_ENCODERS: dict[type, Callable[[Any], Any]] = {
    Decimal: _decimal,
    datetime: format_date_literal,
    UUID: _guid,
    Money: _money,
    OptionSetValue: _option,
    EntityReference: _reference,
    Entity: _entity,
    EntityCollection: _entity_collection,
    KeyValuePair: _pair,
    OpaqueValue: _opaque,
}


def _thaw(raw: Any) -> Any:
    if isinstance(raw, Mapping):
        return {key: _thaw(value) for key, value in raw.items()}
    if isinstance(raw, tuple | list):
        return [_thaw(item) for item in raw]
    return raw


# --- JSON text in DataContractJsonSerializer's style ----------------------------------------------------

_ESCAPES = {'"': '\\"', "\\": "\\\\", "/": "\\/"}
_LITERALS = {None: "null", True: "true", False: "false"}


def dumps_like_dataverse(document: Any) -> str:
    r"""JSON text as Dataverse writes it: compact, ``/`` escaped, control characters as ``\u00XX``.

    Numbers are written from int or Decimal exactly (``1.0000000000`` stays so); floats are refused.
    """
    if document is None or isinstance(document, bool):
        return _LITERALS[document]
    if isinstance(document, int | Decimal):
        return str(document)
    if isinstance(document, str):
        return '"' + "".join(_escape(char) for char in document) + '"'
    if isinstance(document, dict):
        members = (
            f"{dumps_like_dataverse(key)}:{dumps_like_dataverse(value)}" for key, value in document.items()
        )
        return "{" + ",".join(members) + "}"
    if isinstance(document, list | tuple):
        return "[" + ",".join(dumps_like_dataverse(item) for item in document) + "]"
    raise TypeError(f"not a JSON value: {type(document).__name__}")


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    if char < " ":
        return f"\\u{ord(char):04x}"
    return char
