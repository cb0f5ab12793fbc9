"""``GET <set>?fetchXml=…``: the FetchXML forms a query of one table uses, and paging by cookie.

Served ("Query data using FetchXml", "Page results using FetchXml"): ``<fetch>`` with ``top``, ``count``
(page size, 5000 by default), ``page`` and ``paging-cookie``, ``distinct``, ``no-lock``,
``returntotalrecordcount``; ``<entity name>`` (it must be the table the URL names) with ``<attribute>``,
``<all-attributes/>``, ``<order attribute descending>`` and ``<filter type="and|or">`` holding
``<condition attribute operator value>`` (and ``<value>`` children for ``in``/``between``) and nested
filters. When more rows follow, the response carries ``@Microsoft.Dynamics.CRM.morerecords`` and
``@Microsoft.Dynamics.CRM.fetchxmlpagingcookie`` (a ``<cookie pagenumber=… pagingcookie=…/>`` whose inner
cookie is URL-encoded twice) if ``Prefer: odata.include-annotations`` asks for them; the next page is asked
for with ``page`` and ``paging-cookie`` set.

Refused with 400 (the platform's "not valid"/"not supported" texts ASSUMED): ``link-entity`` (joins),
``aggregate``, another entity than the URL's, and anything malformed.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from simulators.common.odata import Expr, ODataError
from simulators.dataverse import conditions
from simulators.dataverse.tables import Table

DEFAULT_COUNT = 5000
_FETCH_ATTRIBUTES = frozenset(
    {"top", "count", "page", "paging-cookie", "distinct", "no-lock", "returntotalrecordcount", "version",
     "output-format", "mapping", "useraworderby", "latematerialize", "options", "datasource"}
)  # fmt: skip


@dataclass(frozen=True)
class Fetch:
    """What a FetchXML query asks for."""

    columns: tuple[str, ...] | None  # logical names; None: all attributes
    filter: Expr | None
    orderby: tuple[tuple[str, bool], ...]  # (logical name, descending)
    top: int | None
    count: int
    page: int
    distinct: bool


def parse(table: Table, text: str) -> Fetch:  # noqa: PLR0912 - one branch per element
    """The query in ``text``; ODataError (400) for anything the simulator does not serve."""
    try:
        root = ET.fromstring(text)  # noqa: S314 - ElementTree does not resolve external entities
    except ET.ParseError as exc:
        raise ODataError(f"The FetchXML is not well-formed: {exc}.") from exc
    if root.tag != "fetch":
        raise ODataError("The FetchXML root element must be <fetch>.")
    unknown = set(root.attrib) - _FETCH_ATTRIBUTES
    if root.get("aggregate", "").lower() == "true" or "aggregate" in unknown:
        raise ODataError("Aggregate FetchXML queries are not supported by the simulator.")
    if unknown:
        raise ODataError(f"The attribute '{sorted(unknown)[0]}' is not valid on <fetch>.")
    entities = root.findall("entity")
    if len(entities) != 1:
        raise ODataError("The FetchXML must hold exactly one <entity>.")
    entity = entities[0]
    if entity.get("name", "").lower() != table.logical_name:
        raise ODataError(
            f"The FetchXML entity '{entity.get('name')}' does not match the entity set {table.entity_set}."
        )
    columns: list[str] | None = []
    orderby: list[tuple[str, bool]] = []
    parts: list[Expr] = []
    for child in entity:
        if child.tag == "attribute":
            if columns is not None:
                columns.append(conditions.column(table, child.get("name", "")).name)
        elif child.tag == "all-attributes":
            columns = None
        elif child.tag == "order":
            name = conditions.column(table, child.get("attribute", "")).name
            orderby.append((name, child.get("descending", "false").lower() == "true"))
        elif child.tag == "filter":
            expression = _filter(table, child)
            if expression is not None:
                parts.append(expression)
        elif child.tag == "link-entity":
            raise ODataError("link-entity (joins) is not supported by the simulator.")
        else:
            raise ODataError(f"The element <{child.tag}> is not valid inside <entity>.")
    top = _integer(root, "top")
    if top is not None and (root.get("page") or root.get("count")):
        raise ODataError("The top attribute can't be specified with paging attribute page or count.")
    return Fetch(
        columns=None if columns is None else tuple(columns),
        filter=conditions.combine("and", parts),
        orderby=tuple(orderby),
        top=top,
        count=_integer(root, "count") or DEFAULT_COUNT,
        page=_integer(root, "page") or 1,
        distinct=root.get("distinct", "false").lower() == "true",
    )


def _integer(element: ET.Element, name: str) -> int | None:
    text = element.get(name)
    if text is None:
        return None
    if not text.strip().isdigit() or int(text) < 1:
        raise ODataError(f"The FetchXML attribute {name}='{text}' must be a positive integer.")
    return int(text)


def _filter(table: Table, element: ET.Element) -> Expr | None:
    kind = element.get("type", "and").lower()
    if kind not in ("and", "or"):
        raise ODataError(f"The filter type '{kind}' is not valid: use and or or.")
    parts: list[Expr] = []
    for child in element:
        if child.tag == "condition":
            if child.get("entityname"):
                raise ODataError("Conditions on linked entities are not supported by the simulator.")
            values: list[Any] = [v.text or "" for v in child.findall("value")]
            if child.get("value") is not None:
                values.insert(0, child.get("value"))
            parts.append(
                conditions.condition(table, child.get("attribute", ""), child.get("operator", ""), values)
            )
        elif child.tag == "filter":
            nested = _filter(table, child)
            if nested is not None:
                parts.append(nested)
        else:
            raise ODataError(f"The element <{child.tag}> is not valid inside <filter>.")
    return conditions.combine(kind, parts)


def paging_cookie(table: Table, page: int, rows: list[dict[str, Any]]) -> str:
    """The ``fetchxmlpagingcookie`` annotation for the page after ``page`` (inner cookie encoded twice)."""
    first = rows[0].get(table.primary_id) if rows else None
    last = rows[-1].get(table.primary_id) if rows else None
    inner = (
        f'<cookie page="{page}"><{table.primary_id} last="{{{_upper(last)}}}" first="{{{_upper(first)}}}" />'
        "</cookie>"
    )
    encoded = quote(quote(inner, safe=""), safe="")
    return f'<cookie pagenumber="{page + 1}" pagingcookie="{encoded}" istracking="False" />'


def _upper(value: Any) -> str:
    try:
        return str(uuid.UUID(str(value))).upper()
    except ValueError:
        return ""
