"""Security roles and privileges: what an application user may do to each table, checked on every write.

Dataverse checks a privilege before each operation: creating a row needs ``prvCreate<Table>``, changing one
``prvWrite<Table>``, deleting one ``prvDelete<Table>`` (``<Table>`` is the table's schema name, e.g.
``prvCreateSalesOrderDetail``). Privileges come from the security roles assigned to the user. A write without
the privilege is refused with 403 and ``0x80040220`` (PrivilegeDenied, -2147220960: "Principal user is
missing privilege on OTC for entity", the client-errors troubleshooting article). The SYSTEM user, which
seeds reference data, is never checked.

The simulator keeps one role per organization that every application user gets when it is added, the role
an administrator would create for the connector: every privilege of every table at Global depth, so the
demo and the tests work out of the box. Admin actions revoke or grant one privilege of that role, so a test
can take away, say, Create on salesorderdetail and watch the write (and the connector's ``check``) fail.

What the Web API shows of it:

- ``EntityDefinitions`` carry ``Privileges`` (SecurityPrivilegeMetadata: ``Name``, ``PrivilegeId``,
  ``PrivilegeType``, ``CanBeBasic``/``Local``/``Deep``/``Global``), one per privilege type of the table;
- ``systemusers(<id>)/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()`` answers the user's privileges,
  ``{"RolePrivileges": [{"Depth", "PrivilegeId", "BusinessUnitId", "PrivilegeName"}]}``.

Privilege ids are derived from their names (uuid5), so they are the same in every organization the
simulator makes; in real Dataverse they are fixed per privilege as well.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from simulators.common.provenance import assumed, captured
from simulators.dataverse import errors
from simulators.dataverse.events import Caller
from simulators.dataverse.tables import Table

# The privilege types of a user-owned table, in the order the metadata lists them.
PRIVILEGE_TYPES: tuple[str, ...] = (
    "Create", "Read", "Write", "Delete", "Assign", "Share", "Append", "AppendTo"
)  # fmt: skip
DEPTHS: tuple[str, ...] = ("Basic", "Local", "Deep", "Global")
DEFAULT_ROLE = "IFS Connector"
PRIVILEGE_DENIED = "0x80040220"
_NAMESPACE = uuid.UUID("0e3c50a4-4b5e-4d4a-9a51-7c3f0d9b2d11")

captured(
    "dataverse",
    "privilege denied code",
    "0x80040220 / -2147220960 'Principal user is missing privilege on OTC for entity' -- "
    "learn.microsoft.com/troubleshoot/power-platform/dataverse/user-permissions/client-errors",
)
assumed(
    "dataverse",
    "privilege denied response",
    "Status 403 and the message 'Principal user (Id=…, type=8, roleCount=…, privilegeCount=…, accessMode=4), "
    "is missing prv<Type><Schema> privilege (Id=…) on OTC=<code> for entity '<table>'. context.Caller=…', "
    "as seen in public forum reports; no raw capture.",
)
captured(
    "dataverse",
    "RetrieveUserPrivileges",
    "RetrieveUserPrivilegesResponse {RolePrivileges: Collection(RolePrivilege)} with Depth, PrivilegeId, "
    "BusinessUnitId, PrivilegeName -- Web API function and complex type reference (mt608095)",
)
assumed(
    "dataverse",
    "EntityMetadata.Privileges",
    "SecurityPrivilegeMetadata per privilege type (Name, PrivilegeId, PrivilegeType, CanBe*) as the "
    "metadata reference lists; every table has all eight types here, real organization-owned tables fewer.",
)


def privilege_name(privilege_type: str, table: Table) -> str:
    """``prvCreateAccount``: the privilege of ``privilege_type`` on ``table``."""
    return f"prv{privilege_type}{table.schema_name}"


def privilege_id(name: str) -> uuid.UUID:
    """The privilege's id (stable across organizations and resets)."""
    return uuid.uuid5(_NAMESPACE, name.lower())


def privileges_json(table: Table) -> list[dict[str, Any]]:
    """``EntityMetadata.Privileges``: one SecurityPrivilegeMetadata per privilege type of ``table``."""
    return [
        {
            "CanBeBasic": True,
            "CanBeDeep": True,
            "CanBeGlobal": True,
            "CanBeLocal": True,
            "CanBeEntityReference": False,
            "CanBeParentEntityReference": False,
            "Name": privilege_name(kind, table),
            "PrivilegeId": str(privilege_id(privilege_name(kind, table))),
            "PrivilegeType": kind,
        }
        for kind in PRIVILEGE_TYPES
    ]


@dataclass
class Role:
    """A security role: privilege name -> depth.

    ``everything`` grants every table's privileges (Global) except the ``revoked`` ones, so tables created
    later are covered too.
    """

    name: str
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    privileges: dict[str, str] = field(default_factory=dict)
    everything: bool = False
    revoked: set[str] = field(default_factory=set)


class Security:
    """The organization's roles, who holds them, and the privilege check of every write."""

    def __init__(
        self, system_user_id: uuid.UUID, business_unit_id: uuid.UUID, tables: Callable[[], Iterable[Table]]
    ) -> None:
        self._system_user_id = system_user_id
        self._business_unit_id = business_unit_id
        self._tables = tables
        self._lock = threading.Lock()
        self.roles: dict[str, Role] = {DEFAULT_ROLE: Role(DEFAULT_ROLE, everything=True)}
        self._assigned: dict[uuid.UUID, set[str]] = {}

    def assign(self, user_id: uuid.UUID, role_name: str = DEFAULT_ROLE) -> None:
        """Give ``user_id`` the role."""
        with self._lock:
            if role_name not in self.roles:
                raise LookupError(f"no security role named {role_name!r}")
            self._assigned.setdefault(user_id, set()).add(role_name)

    def _role_privileges(self, role: Role) -> dict[str, str]:
        found = dict(role.privileges)
        if role.everything:
            for table in self._tables():
                for kind in PRIVILEGE_TYPES:
                    name = privilege_name(kind, table)
                    if name not in role.revoked:
                        found.setdefault(name, "Global")
        return found

    def held(self, user_id: uuid.UUID) -> dict[str, str]:
        """The user's privileges (name -> deepest depth) through its roles."""
        with self._lock:
            found: dict[str, str] = {}
            for role_name in self._assigned.get(user_id, ()):
                for privilege, depth in self._role_privileges(self.roles[role_name]).items():
                    if DEPTHS.index(depth) >= DEPTHS.index(found.get(privilege, "Basic")):
                        found[privilege] = depth
            return found

    def set_privilege(self, name: str, depth: str | None, role_name: str = DEFAULT_ROLE) -> None:
        """Grant privilege ``name`` at ``depth`` in the role, or revoke it (``depth`` None)."""
        if depth is not None and depth not in DEPTHS:
            raise ValueError(f"depth must be one of {', '.join(DEPTHS)}, not {depth!r}")
        with self._lock:
            role = self.roles.get(role_name)
            if role is None:
                raise LookupError(f"no security role named {role_name!r}")
            if depth is None:
                role.privileges.pop(name, None)
                role.revoked.add(name)
            else:
                role.privileges[name] = depth
                role.revoked.discard(name)

    def require(self, caller: Caller, table: Table, privilege_type: str) -> None:
        """Refuse the operation (403, PrivilegeDenied) unless the caller holds the privilege."""
        if caller.user_id == self._system_user_id:
            return
        name = privilege_name(privilege_type, table)
        held = self.held(caller.user_id)
        if name in held:
            return
        with self._lock:
            role_count = len(self._assigned.get(caller.user_id, ()))
        raise errors.WebApiError(
            403,
            PRIVILEGE_DENIED,
            f"Principal user (Id={caller.user_id}, type=8, roleCount={role_count}, "
            f"privilegeCount={len(held)}, accessMode=4), is missing {name} privilege "
            f"(Id={privilege_id(name)}) on OTC={table.object_type_code} for entity "
            f"'{table.logical_name}'. context.Caller={caller.user_id}",
        )

    def user_privileges(self, user_id: uuid.UUID) -> list[dict[str, str]]:
        """``RolePrivileges`` of RetrieveUserPrivileges for ``user_id``."""
        return [
            {
                "Depth": depth,
                "PrivilegeId": str(privilege_id(name)),
                "BusinessUnitId": str(self._business_unit_id),
                "PrivilegeName": name,
            }
            for name, depth in sorted(self.held(user_id).items())
        ]

    def describe(self) -> Mapping[str, Any]:
        """The roles (revoked privileges of each) and who holds them, for the admin surface."""
        with self._lock:
            return {
                "roles": {
                    name: {
                        "everything": role.everything,
                        "granted": dict(role.privileges),
                        "revoked": sorted(role.revoked),
                    }
                    for name, role in self.roles.items()
                },
                "assigned": {str(user): sorted(names) for user, names in self._assigned.items()},
            }
