"""What an environment offers the connector: the application user's privileges and the tables' columns.

Read-only look-ups for the ``check`` command, from the Web API's documented resources:

- ``EntityDefinitions(LogicalName='t')?$select=SchemaName,Privileges``: the table's privileges
  (SecurityPrivilegeMetadata: ``Name`` such as ``prvCreateAccount``, ``PrivilegeId``, ``PrivilegeType``);
- ``systemusers(<id>)/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()``: the privileges the user holds
  through its roles (``RolePrivileges``: ``PrivilegeId``, ``PrivilegeName``, ``Depth``);
- ``EntityDefinitions(LogicalName='t')/Attributes``: the columns, with ``IsValidForCreate``/``…Update``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.dataverse.client import DataverseClient


@dataclass(frozen=True)
class TablePrivilege:
    """One privilege of a table (``prvCreateSalesOrderDetail``)."""

    table: str
    type: str  # Create, Read, Write, Delete, Append, AppendTo, Assign, Share
    name: str
    id: uuid.UUID


@dataclass(frozen=True)
class HeldPrivilege:
    """A privilege the user holds, and at which depth (Basic, Local, Deep, Global)."""

    id: uuid.UUID
    name: str
    depth: str


@dataclass(frozen=True)
class ColumnInfo:
    """One column as the table's metadata describes it."""

    name: str
    type: str
    valid_for_create: bool
    valid_for_update: bool


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def table_privileges(client: DataverseClient, table: str) -> dict[str, TablePrivilege]:
    """The privileges of ``table`` by type (``Create`` → ``prvCreateAccount``)."""
    body = client.send(
        "GET",
        f"EntityDefinitions(LogicalName={_literal(table)})",
        params={"$select": "LogicalName,Privileges"},
        idempotent=True,
    ).json()
    return {
        str(p["PrivilegeType"]): TablePrivilege(
            table, str(p["PrivilegeType"]), str(p["Name"]), uuid.UUID(str(p["PrivilegeId"]))
        )
        for p in body.get("Privileges") or []
    }


def user_privileges(client: DataverseClient, user_id: uuid.UUID) -> dict[uuid.UUID, HeldPrivilege]:
    """The privileges ``user_id`` holds through its roles, by privilege id."""
    body = client.send(
        "GET", f"systemusers({user_id})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()", idempotent=True
    ).json()
    held: dict[uuid.UUID, HeldPrivilege] = {}
    for item in body.get("RolePrivileges") or []:
        privilege = HeldPrivilege(
            uuid.UUID(str(item["PrivilegeId"])), str(item.get("PrivilegeName") or ""), str(item.get("Depth"))
        )
        held[privilege.id] = privilege
    return held


def table_columns(client: DataverseClient, table: str) -> dict[str, ColumnInfo]:
    """The columns of ``table`` by logical name."""
    rows = client.query(
        f"EntityDefinitions(LogicalName={_literal(table)})/Attributes",
        select=["LogicalName", "AttributeType", "IsValidForCreate", "IsValidForUpdate"],
    )
    return {
        str(r["LogicalName"]): ColumnInfo(
            str(r["LogicalName"]),
            str(r.get("AttributeType") or ""),
            r.get("IsValidForCreate") is not False,
            r.get("IsValidForUpdate") is not False,
        )
        for r in rows
    }
