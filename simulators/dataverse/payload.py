"""Bodies of creates and updates: JSON properties and ``@odata.bind`` lookups, to stored column values.

What the Web API accepts: declared, writable properties (by logical name); ``<navigation>@odata.bind``
with a record URL (``/accounts(<id>)``, ``/accounts(accountnumber='C1')``, absolute, or ``null`` to clear);
instance annotations (``@odata.type`` and ``x@…``) are ignored. Anything else is refused with the OData
layer's message. Binds are resolved by the caller-supplied ``resolve`` (which raises when the referenced
row does not exist).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from simulators.dataverse import errors, values
from simulators.dataverse.store import Ref
from simulators.dataverse.tables import Table

# (target tables allowed, the bind's URL) -> the referenced row
ResolveReference = Callable[[tuple[str, ...], str], Ref]
_SERVICE_ROOT = re.compile(r"^.*?/api/data/v9\.[0-9]/", re.IGNORECASE)
BIND = "@odata.bind"


def record_path(url: str) -> str:
    """``accounts(<id>)`` from any spelling of a record URL (absolute, rooted, relative; percent-decoded)."""
    return unquote(_SERVICE_ROOT.sub("", url).lstrip("/"))


def parse_body(table: Table, body: Any, *, creating: bool, resolve: ResolveReference) -> dict[str, Any]:
    """The column values ``body`` writes; WebApiError on anything the Web API would refuse."""
    if not isinstance(body, Mapping):
        raise errors.bad_request("The request body must be a JSON object.")
    changes: dict[str, Any] = {}
    for name, value in body.items():
        if name.startswith("@"):
            continue  # @odata.type, @odata.id (bulk operations) and other instance annotations
        if name.endswith(BIND):
            column_name, reference = _bind(table, name[: -len(BIND)], value, creating, resolve)
            changes[column_name] = reference
            continue
        if "@" in name:
            continue  # a property annotation such as x@OData.Community.Display.V1.FormattedValue
        column = table.by_value_property(name)
        if column is None:
            raise errors.unknown_property(table.logical_name, name)
        if column.is_lookup or not (column.valid_for_create if creating else column.valid_for_update):
            raise errors.read_only(table.logical_name, name)
        changes[column.name] = values.from_json(table, column, value)
    return changes


def _bind(
    table: Table, navigation_name: str, value: Any, creating: bool, resolve: ResolveReference
) -> tuple[str, Ref | None]:
    navigation = table.navigations.get(navigation_name)
    if navigation is None:
        raise errors.undeclared_navigation(navigation_name)
    column = table.columns[navigation.column]
    if not (column.valid_for_create if creating else column.valid_for_update):
        raise errors.read_only(table.logical_name, navigation_name)
    if value is None:
        return column.name, None
    if not isinstance(value, str):
        raise errors.bad_request(f"The value of '{navigation_name}@odata.bind' must be a record URL or null.")
    return column.name, resolve(navigation.targets, value)
