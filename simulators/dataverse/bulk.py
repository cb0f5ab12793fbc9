"""The bulk actions CreateMultiple, UpdateMultiple and UpsertMultiple bound to an entity set.

``POST <set>/Microsoft.Dynamics.CRM.CreateMultiple|UpdateMultiple|UpsertMultiple`` with ``{"Targets": […]}``
(bulk-operations.md, docs/dataverse-api.md, "Bulk actions", the createmultiple/updatemultiple/ upsertmultiple
vectors). Every target carries ``@odata.type`` naming the table. CreateMultiple answers 200 with the new
``Ids`` in order; UpdateMultiple and UpsertMultiple answer 204. Standard tables run the whole request as one
transaction: any failing target rolls every write back and the request fails with that target's error.
UpdateMultiple needs each target's primary key ("Using alternate keys with Web API and UpdateMultiple is not
supported") and applies only the first of duplicate targets; UpsertMultiple addresses targets by ``@odata.id``
(alternate key or id) or by the primary key in the body and refuses duplicates.

A table must have the message in the message catalog (``sdkmessages.message_available``), as the
bulk-availability probe reports. Each bulk request is one request for service protection: the HTTP route
admits it once.

ASSUMED (no document shows them): the errors for an unsupported table (400, NotSupported with the
platform's "MessageProcessor" wording), for a missing or wrong ``@odata.type``, for UpdateMultiple without
the primary key, for UpsertMultiple duplicates and for a target UpsertMultiple cannot address; a missing
UpdateMultiple row uses the troubleshooting section's "<table> With Ids = <id> Do Not Exist" with 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from simulators.dataverse import errors, values
from simulators.dataverse.keys import Locator, parse_locator
from simulators.dataverse.payload import record_path
from simulators.dataverse.records import Caller, Organization
from simulators.dataverse.sdkmessages import BULK_MESSAGES, message_available
from simulators.dataverse.tables import Table

ACTION_PREFIX = "Microsoft.Dynamics.CRM."


def unsupported(message: str, logical_name: str) -> errors.WebApiError:
    """A table whose message catalog lacks the bulk message (ASSUMED status and wording)."""
    return errors.WebApiError(
        400,
        errors.NOT_SUPPORTED,
        f"The '{message}' method does not support entities of type '{logical_name}'. "
        "MessageProcessorCache returned MessageProcessor.Empty.",
    )


def _targets(table: Table, body: Any) -> list[Mapping[str, Any]]:
    if not isinstance(body, Mapping) or not isinstance(body.get("Targets"), list):
        raise errors.bad_request("The request body must be an object with a 'Targets' array.")
    expected = f"Microsoft.Dynamics.CRM.{table.logical_name}"
    targets: list[Mapping[str, Any]] = []
    for index, target in enumerate(body["Targets"]):
        if not isinstance(target, Mapping):
            raise errors.bad_request(f"Targets[{index}] must be an object.")
        kind = target.get("@odata.type")
        if not isinstance(kind, str):
            raise errors.bad_request(
                f"Targets[{index}] has no '@odata.type' annotation; every item in Targets must name its type."
            )
        if kind.lstrip("#") != expected:
            raise errors.bad_request(
                f"Targets[{index}] is of type '{kind}', but this request is bound to '{expected}'."
            )
        targets.append(target)
    return targets


def _primary_id(table: Table, target: Mapping[str, Any], index: int) -> uuid.UUID | None:
    value = target.get(table.primary_id)
    if value is None:
        return None
    if not isinstance(value, str) or not values.is_guid(value):
        raise errors.bad_request(f"Targets[{index}].{table.primary_id} is not a GUID.")
    return uuid.UUID(value)


def _without(target: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in target.items() if k not in names}


def execute(
    org: Organization, table: Table, message: str, body: Any, caller: Caller
) -> list[uuid.UUID] | None:
    """Run one bulk action: the created ids for CreateMultiple, else None; WebApiError on failure."""
    if message not in BULK_MESSAGES:
        raise errors.resource_not_found(f"{table.entity_set}/{ACTION_PREFIX}{message}")
    if not message_available(org, message, table.logical_name):
        raise unsupported(message, table.logical_name)
    targets = _targets(table, body)
    # One request, one transaction (standard tables: all targets or none); each target raises its own
    # Create/Update pipeline event inside it, as the bulk-operations article says webhooks see them.
    with org.operation(caller, message, table=table):
        if message == "CreateMultiple":
            return [org.create(table, target, caller)[table.primary_id] for target in targets]
        if message == "UpdateMultiple":
            _update_multiple(org, table, targets, caller)
        else:
            _upsert_multiple(org, table, targets, caller)
    return None


def _update_multiple(
    org: Organization, table: Table, targets: Sequence[Mapping[str, Any]], caller: Caller
) -> None:
    seen: set[uuid.UUID] = set()
    for index, target in enumerate(targets):
        row_id = _primary_id(table, target, index)
        if row_id is None:
            raise errors.bad_request(
                f"Targets[{index}] has no {table.primary_id}: UpdateMultiple identifies rows by their "
                "primary key (alternate keys are not supported with the Web API)."
            )
        if row_id in seen:
            continue  # duplicates: only the first is applied
        seen.add(row_id)
        if org.store.get(table.logical_name, row_id) is None:
            raise errors.WebApiError(
                404, errors.OBJECT_DOES_NOT_EXIST, f"{table.logical_name} With Ids = {row_id} Do Not Exist"
            )
        org.update(table, Locator(str(row_id), id=row_id), _without(target, table.primary_id), caller)


def _locator(table: Table, target: Mapping[str, Any], index: int) -> Locator:
    reference = target.get("@odata.id")
    if isinstance(reference, str):
        entity_set, paren, rest = record_path(reference).partition("(")
        if entity_set != table.entity_set or not paren or not rest.endswith(")"):
            raise errors.bad_request(
                f"Targets[{index}]['@odata.id'] '{reference}' is not a record of {table.entity_set}."
            )
        return parse_locator(table, rest[:-1])
    row_id = _primary_id(table, target, index)
    if row_id is None:
        raise errors.bad_request(
            f"Targets[{index}] names no record: give '@odata.id' (an alternate key) or {table.primary_id}."
        )
    return Locator(str(row_id), id=row_id)


def _upsert_multiple(
    org: Organization, table: Table, targets: Sequence[Mapping[str, Any]], caller: Caller
) -> None:
    located: list[tuple[Locator, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for index, target in enumerate(targets):
        locator = _locator(table, target, index)
        # Key values compare case-insensitively (SQL Server's collation), so 'c1' and 'C1' are one record.
        identity = str(locator.id) if locator.id else ",".join(f"{k}={v}".casefold() for k, v in locator.key)
        if identity in seen:
            raise errors.WebApiError(
                400,
                errors.DUPLICATE_RECORD,
                f"Targets[{seen[identity]}] and Targets[{index}] address the same record ({locator.text}); "
                "UpsertMultiple does not accept duplicate records.",
            )
        seen[identity] = index
        body = _without(target, "@odata.id")
        if locator.id is not None and body.get(table.primary_id) is not None:
            body = _without(body, table.primary_id)
        located.append((locator, body))
    for locator, body in located:
        org.upsert(table, locator, body, caller)
