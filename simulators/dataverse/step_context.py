"""The RemoteExecutionContext a registered step receives for one pipeline event, in the real payloads' shape.

Shapes (the Microsoft sample and the captures in tests/vectors/dataverse/webhook-captures):

- ``Target`` is an ``Entity`` of the columns written (Delete: an ``EntityReference``), each value typed as
  the SDK types it: Money, OptionSetValue (choices, state, status), EntityReference (lookups), datetimes,
  Decimal, int, bool, GUID-valued columns as plain strings.
- ``ParentContext`` is the main operation (stage 30) of the same message with the Target as submitted plus
  ``SuppressDuplicateDetection: false``; a row written inside an action (an order created by
  ConvertQuoteToSalesOrder) has the action's stage-30 context as its grandparent. ASSUMED: that nesting
  for actions, and Depth 1 throughout (platform-internal writes are not plug-in calls).
- ``OperationId`` is the system job's id for an asynchronous step and equals ``RequestId`` for a
  synchronous one; ``RequestId`` is the request's id; ``CorrelationId`` is shared by everything one
  request causes; ``InitiatingUserId``/``UserId`` are the caller.
- ``SharedVariables``: ``IsAutoTransact`` true, plus ``DefaultsAddedFlag`` true for a Create (captures).
- Images are taken from the row before/after the write with the registered columns (all when none are
  given); every asynchronous step also gets ``AsynchronousStepPrimaryName`` (primary name and id).
- ``OutputParameters`` of a post-operation Create hold ``id``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shared.dataverse.webhook import (
    MODE_ASYNCHRONOUS,
    STAGE_MAIN_OPERATION,
    STAGE_POST_OPERATION,
    Entity,
    EntityReference,
    Money,
    OptionSetValue,
    RemoteExecutionContext,
    Value,
)
from simulators.dataverse.events import Operation, RowEvent
from simulators.dataverse.remote_context import new_context
from simulators.dataverse.store import Ref, Row
from simulators.dataverse.tables import Column, Kind, Table

ASYNC_PRIMARY_NAME_IMAGE = "AsynchronousStepPrimaryName"


@dataclass(frozen=True)
class Image:
    """A registered entity image: alias, pre/post, and the columns it holds (empty: all)."""

    alias: str
    pre: bool
    post: bool
    attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Organization:
    """What every context says about the organization."""

    id: uuid.UUID
    name: str


def _reference(value: Any) -> Value:
    return EntityReference(value.logical_name, value.id) if isinstance(value, Ref) else None


def _moment(value: Any) -> Value:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)  # a DateOnly value


def _plain(value: Any) -> Value:
    if isinstance(value, uuid.UUID):
        return str(value)  # GUID-valued columns arrive as plain strings
    if isinstance(value, bool | int | str):
        return value
    raise TypeError(f"no context form for {value!r}")


_TYPED: Mapping[Kind, Callable[[Any], Value]] = {
    Kind.LOOKUP: _reference,
    Kind.CUSTOMER: _reference,
    Kind.OWNER: _reference,
    Kind.PICKLIST: lambda value: OptionSetValue(int(value)),
    Kind.STATE: lambda value: OptionSetValue(int(value)),
    Kind.STATUS: lambda value: OptionSetValue(int(value)),
    Kind.MONEY: lambda value: Money(Decimal(value)),
    Kind.DECIMAL: Decimal,
    Kind.DOUBLE: Decimal,
    Kind.DATETIME: _moment,
}


def typed_value(column: Column, value: Any) -> Value:
    """A stored value as the SDK types it in a context."""
    if value is None:
        return None
    return _TYPED.get(column.kind, _plain)(value)


def entity(table: Table, row_id: uuid.UUID, values: Mapping[str, Any], only: Iterable[str] = ()) -> Entity:
    """An Entity of ``values`` (column name → stored value); with ``only``, those columns in that order."""
    names = list(only) or list(table.columns)
    attributes = {
        name: typed_value(table.columns[name], values[name])
        for name in names
        if name in values and name in table.columns and table.columns[name].readable
    }
    return Entity(table.logical_name, row_id, attributes)


def _images(
    table: Table, event: RowEvent, images: Iterable[Image], *, asynchronous: bool
) -> tuple[dict[str, Entity], dict[str, Entity]]:
    pre: dict[str, Entity] = {}
    post: dict[str, Entity] = {}
    for image in images:
        if image.pre and event.before is not None:
            pre[image.alias] = entity(table, event.row_id, event.before, image.attributes)
        if image.post and event.after is not None:
            post[image.alias] = entity(table, event.row_id, event.after, image.attributes)
    if asynchronous and event.after is not None:
        primary = (table.primary_name, table.primary_id)
        post[ASYNC_PRIMARY_NAME_IMAGE] = entity(table, event.row_id, event.after, primary)
    return pre, post


def _parameters(event: RowEvent, *, submitted: bool) -> dict[str, Value]:
    parameters: dict[str, Value] = {}
    if event.message == "Delete":
        parameters["Target"] = EntityReference(event.table.logical_name, event.row_id)
    elif event.message in ("Create", "Update"):
        values = event.submitted if submitted else event.target
        parameters["Target"] = entity(event.table, event.row_id, values)
    parameters.update(event.parameters)
    if submitted and event.message in ("Create", "Update"):
        parameters["SuppressDuplicateDetection"] = False
    return parameters


def _shared_variables(message: str) -> dict[str, Value]:
    variables: dict[str, Value] = {"IsAutoTransact": True}
    if message == "Create":
        variables["DefaultsAddedFlag"] = True
    return variables


def build_context(
    *,
    organization: Organization,
    operation: Operation,
    event: RowEvent,
    step_id: uuid.UUID,
    stage: int,
    mode: int,
    images: Iterable[Image] = (),
    operation_id: uuid.UUID | None = None,
) -> RemoteExecutionContext:
    """The context one step receives for ``event`` (``operation_id``: the system job, for async steps)."""
    asynchronous = mode == MODE_ASYNCHRONOUS
    common: dict[str, Any] = {
        "mode": mode,
        "user_id": operation.caller.user_id,
        "business_unit_id": operation.caller.business_unit_id,
        "organization_id": organization.id,
        "organization_name": organization.name,
        "correlation_id": operation.correlation_id,
        "request_id": operation.request_id,
        "operation_id": operation_id if asynchronous and operation_id else operation.request_id,
        "operation_created_on": operation.started,
        "step": EntityReference("sdkmessageprocessingstep", step_id),
    }
    grandparent: RemoteExecutionContext | None = None
    if operation.message != event.message:
        primary = operation.primary_entity or event.table.logical_name
        grandparent = new_context(
            message_name=operation.message,
            primary_entity_name=primary,
            primary_entity_id=operation.primary_id or event.row_id,
            input_parameters=dict(operation.parameters),
            output_parameters={},
            shared_variables=_shared_variables(operation.message),
            stage=STAGE_MAIN_OPERATION,
            **common,
        )
    parent = new_context(
        message_name=event.message,
        primary_entity_name=event.table.logical_name,
        primary_entity_id=event.row_id,
        input_parameters=_parameters(event, submitted=True),
        output_parameters={},
        shared_variables=_shared_variables(event.message),
        stage=STAGE_MAIN_OPERATION,
        parent_context=grandparent,
        **common,
    )
    post_operation = stage == STAGE_POST_OPERATION
    pre_images, post_images = _images(event.table, event, images, asynchronous=asynchronous)
    creates = event.message == "Create" and post_operation
    return new_context(
        message_name=event.message,
        primary_entity_name=event.table.logical_name,
        primary_entity_id=event.row_id,
        input_parameters=_parameters(event, submitted=not post_operation),
        output_parameters={"id": str(event.row_id)} if creates else {},
        pre_images=pre_images,
        post_images=post_images if post_operation else {},
        shared_variables=_shared_variables(event.message),
        stage=stage,
        parent_context=parent,
        **common,
    )


def primary_name(table: Table, row: Row | None) -> str | None:
    """The row's primary name, as a system job's regarding name."""
    value = (row or {}).get(table.primary_name)
    return value if isinstance(value, str) else None
