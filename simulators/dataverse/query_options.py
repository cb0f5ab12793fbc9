"""Which query options a collection request may carry, and the FetchXML and SQL forms of a query.

Never answer a query the simulator did not understand: an option it does not know is refused, not
ignored. ``$select``, ``$filter``, ``$orderby``, ``$top``, ``$count``, ``$expand``, ``$skiptoken``,
``$deltatoken`` and parameter aliases (``@p``) are served through the OData engine; ``fetchXml`` and ``sql``
are served here, alone (with an alias at most); ``$skip`` is refused as Dataverse refuses it. Options
Dataverse has but the simulator does not serve (``$apply``, ``$search``, ``savedQuery``, ``userQuery``,
``$compute``) answer 501 Not Implemented, which the Web API documents for "some requested operation isn't
implemented"; any other option is 400 with ODataLib's "The query parameter '…' is not supported." (both
texts ASSUMED).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from simulators.common.odata import Dialect, Query, Resolver, apply
from simulators.common.provenance import assumed
from simulators.dataverse import errors, fetchxml, sql
from simulators.dataverse.render import Annotations
from simulators.dataverse.tables import Table

COLLECTION_OPTIONS = frozenset(
    {"$select", "$filter", "$orderby", "$top", "$count", "$expand", "$skiptoken", "$deltatoken"}
)
RECORD_OPTIONS = frozenset({"$select", "$expand"})
NOT_SERVED = frozenset({"$apply", "$search", "savedQuery", "userQuery", "$compute", "$levels", "$index"})
MORE_RECORDS = "Microsoft.Dynamics.CRM.morerecords"
PAGING_COOKIE = "Microsoft.Dynamics.CRM.fetchxmlpagingcookie"
SQL_ROW_LIMIT = 5000

assumed(
    "dataverse",
    "unknown query options",
    "400 'The query parameter 'X' is not supported.' (ODataLib's text) for unknown options, custom ones "
    "included; 501 for $apply, $search, savedQuery, userQuery, $compute, which Dataverse has and the "
    "simulator does not serve.",
)
assumed(
    "dataverse",
    "sql and fetchXml",
    "The subset served (one table, no joins or aggregates), 400 texts for the rest, SQL rows holding exactly "
    "the selected columns (lookups as ids, at most 5000, no paging); FetchXML paging annotations and the "
    "cookie shape follow 'Page results using FetchXml'.",
)


def check(params: Mapping[str, str], allowed: Collection[str]) -> None:
    """Refuse every option outside ``allowed`` (aliases are always allowed)."""
    for name in params:
        if name.startswith("@") or name in allowed:
            continue
        if name == "$skip":
            raise errors.bad_request("The query parameter $skip is not supported.")
        if name in NOT_SERVED:
            raise errors.WebApiError(
                501,
                errors.ODATA_BAD_REQUEST,
                f"The query parameter '{name}' is not implemented by the simulator.",
            )
        raise errors.bad_request(f"The query parameter '{name}' is not supported.")


def fetch(
    table: Table,
    text: str,
    rows: list[dict[str, Any]],
    *,
    resolve: Resolver,
    dialect: Dialect,
    prefer: str,
) -> dict[str, Any]:
    """The body of a ``?fetchXml=`` query: one page of rows and, when asked for, the paging annotations."""
    query = fetchxml.parse(table, text)
    select = (
        None if query.columns is None else tuple((table.columns[c].value_property,) for c in query.columns)
    )
    orderby = tuple(((table.columns[n].value_property,), d) for n, d in query.orderby)
    paged = query.top is None
    page = apply(
        rows,
        Query(filter=query.filter, select=select, orderby=orderby, top=query.top),
        page_size=query.count if paged else None,
        offset=(query.page - 1) * query.count if paged else 0,
        resolve=resolve,
        keep=("@odata.etag", table.primary_id),
        dialect=dialect,
    )
    found = page.rows
    if query.distinct:
        found = _distinct(found, select)
    body: dict[str, Any] = {}
    annotations = Annotations.from_prefer(prefer)
    more = page.next_skip is not None
    if annotations.wants(MORE_RECORDS):
        body[f"@{MORE_RECORDS}"] = more
    if more and annotations.wants(PAGING_COOKIE):
        body[f"@{PAGING_COOKIE}"] = fetchxml.paging_cookie(table, query.page, found)
    body["value"] = found
    return body


def _distinct(rows: list[dict[str, Any]], select: tuple[tuple[str, ...], ...] | None) -> list[dict[str, Any]]:
    names = None if select is None else [path[0] for path in select]
    seen: set[tuple[Any, ...]] = set()
    unique: list[dict[str, Any]] = []
    for row in rows:
        key = tuple(repr(row.get(n)) for n in (names or sorted(k for k in row if not k.startswith("@"))))
        if key not in seen:
            seen.add(key)
            unique.append({k: v for k, v in row.items() if names is None or k in names})
    return unique


def select(
    table: Table, text: str, rows: list[dict[str, Any]], *, resolve: Resolver, dialect: Dialect
) -> list[dict[str, Any]]:
    """The rows of a ``?sql=`` query, each with exactly the selected columns (logical names)."""
    statement = sql.parse(table, text)
    paths = tuple((c.value_property,) for c in statement.columns)
    orderby = tuple(((table.columns[n].value_property,), d) for n, d in statement.orderby)
    top = min(statement.top, SQL_ROW_LIMIT) if statement.top is not None else SQL_ROW_LIMIT
    page = apply(
        rows,
        Query(filter=statement.filter, select=paths, orderby=orderby, top=top),
        resolve=resolve,
        dialect=dialect,
    )
    shaped = [{c.name: row.get(c.value_property) for c in statement.columns} for row in page.rows]
    return _distinct(shaped, None) if statement.distinct else shaped


Renderer = Callable[[], list[dict[str, Any]]]
