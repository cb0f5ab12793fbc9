"""Query options end to end: parse a request's ``$…`` parameters, then filter, order, page and project rows.

``apply`` does what an OData service does with a collection request, in this order: ``$filter``,
``$count`` (counts the filtered rows, ignoring paging), ``$orderby`` (stable, multi-key), ``$skip``,
``$top``, then server-driven paging (``page_size``) and ``$select``.

Nulls in ``$orderby``: by default null sorts below every value, so it comes first ascending and last
descending — SQL Server's rule, hence Dataverse's. IFS runs on Oracle, where null sorts above every value
(last ascending, first descending); pass ``null_order="high"`` for that.

Strings compare by code point (case-sensitive), as Oracle does by default; a ``Dialect`` with
``ignore_case`` compares, matches and orders them case-insensitively, as Dataverse's SQL Server collation
does. ``parse_query(functions=…)`` accepts a service's qualified functions (Dataverse's query functions) and
the dialect implements them.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from simulators.common.odata.dialect import DEFAULT, Dialect
from simulators.common.odata.errors import ODataError
from simulators.common.odata.evaluator import AnyOf, Resolver, describe, evaluate, prepare, resolve_nested
from simulators.common.odata.nodes import Expr
from simulators.common.odata.parser import Context, parse_filter, parse_orderby, parse_select

Path = tuple[str, ...]
_EXPAND_NAME = re.compile(r"\*|[^\W\d]\w*(?:/[^\W\d]\w*)*")


@dataclass(frozen=True)
class Query:
    """The parsed system query options of one request.

    ``select`` is None when every property is wanted (no ``$select``, or ``$select=*``); ``orderby`` holds
    (property path, descending) pairs; ``expand`` holds only the navigation names (nested options are the
    simulator's business); ``skiptoken`` is passed through as sent.
    """

    filter: Expr | None = None
    select: tuple[Path, ...] | None = None
    orderby: tuple[tuple[Path, bool], ...] = ()
    top: int | None = None
    skip: int | None = None
    count: bool = False
    expand: tuple[str, ...] = ()
    skiptoken: str | None = None
    filter_text: str | None = None

    @property
    def select_names(self) -> tuple[str, ...] | None:
        """``$select`` as the request spelled it (``a/b`` for paths), e.g. for an ``@odata.context``."""
        return None if self.select is None else tuple("/".join(path) for path in self.select)


@dataclass(frozen=True)
class Page:
    """One response page.

    ``rows``: copies of the selected rows, ``$select`` applied. ``total``: the ``$count`` (filtered rows
    before ``$skip``/``$top``) when requested, else None. ``next_skip``: when ``page_size`` cut the result,
    the ``offset`` to pass to :func:`apply` for the next page (simulators encode it in their
    ``$skiptoken``/``@odata.nextLink``), else None.
    """

    rows: list[dict[str, Any]]
    total: int | None
    next_skip: int | None


def parse_query(
    params: Mapping[str, str],
    *,
    properties: Collection[str] | None = None,
    type_name: str = "",
    enum_properties: Collection[str] = (),
    functions: Collection[str] = (),
) -> Query:
    """Parse the system query options in ``params`` (a request's decoded query parameters).

    ``properties``: the entity's property names (navigation names included); when given, an unknown name in
    ``$filter``/``$select``/``$orderby`` raises ODataError "The property 'X', used in a query expression,
    is not defined in type '<type_name>'." Only the first segment of a path is checked; what lies behind
    a navigation property is the ``resolve`` callback's business. ``enum_properties``: properties whose
    type is an enumeration; comparing one with a plain string literal is an error, as on IFS, where
    ``Objstate eq 'Released'`` fails and
    ``Objstate eq IfsApp.CustomerOrderHandling.CustomerOrderState'Released'`` works. Parameter aliases
    (``@name`` keys) are substituted in ``$filter``. ``functions``: the qualified service functions
    ``$filter`` may call (``Microsoft.Dynamics.CRM.In``; others stay unsupported). Options this engine
    does not know (``$format``, ``$apply``, ``$deltatoken``, …) are left for the simulator to handle or
    reject.
    """
    context = Context(
        properties=None if properties is None else frozenset(properties),
        type_name=type_name,
        aliases={key: value for key, value in params.items() if key.startswith("@")},
        enum_properties=frozenset(enum_properties),
        functions=frozenset(functions),
    )
    filter_text = params.get("$filter")
    select_text = params.get("$select")
    orderby_text = params.get("$orderby")
    return Query(
        filter=None if filter_text is None else parse_filter(filter_text, context),
        select=None if select_text is None or not select_text.strip() else parse_select(select_text, context),
        orderby=() if orderby_text is None else parse_orderby(orderby_text, context),
        top=_non_negative(params, "$top"),
        skip=_non_negative(params, "$skip"),
        count=_count(params.get("$count")),
        expand=_expand(params.get("$expand")),
        skiptoken=params.get("$skiptoken"),
        filter_text=filter_text,
    )


def matches(
    query_or_expr: Query | Expr | AnyOf | None,
    row: Mapping[str, Any],
    *,
    resolve: Resolver | None = None,
    dialect: Dialect = DEFAULT,
) -> bool:
    """Whether ``row`` passes the filter (a Query's ``$filter``, or a bare expression; None passes all).

    ``resolve(row, path)`` returns the value at a property path; the default follows nested dicts, so
    ``sdkmessageid/name`` reads ``row["sdkmessageid"]["name"]``.
    """
    expr = query_or_expr.filter if isinstance(query_or_expr, Query) else query_or_expr
    if expr is None:
        return True
    result = evaluate(expr, row, resolve or resolve_nested, dialect)
    if result is None or isinstance(result, bool):
        return result is True
    raise ODataError(f"The $filter expression evaluated to {describe(result)}, not a boolean.")


def apply(
    rows: Iterable[Mapping[str, Any]],
    query: Query,
    *,
    page_size: int | None = None,
    offset: int = 0,
    resolve: Resolver | None = None,
    keep: Collection[str] = (),
    null_order: Literal["low", "high"] = "low",
    dialect: Dialect = DEFAULT,
) -> Page:
    """Run ``query`` over ``rows`` and return one page.

    ``page_size``: the server's page size (None: no server paging). ``offset``: rows of this result already
    served on earlier pages (a previous Page's ``next_skip``). ``keep``: row keys kept even when
    ``$select`` leaves them out (``@odata.etag``, or IFS's key fields, which it always returns).
    ``null_order``: where null sorts (see the module docstring). ``dialect``: string collation and the
    service's functions.
    """
    if page_size is not None and page_size < 1:
        raise ValueError(f"page_size must be at least 1, not {page_size}")
    if offset < 0:
        raise ValueError(f"offset must not be negative, not {offset}")
    resolver = resolve or resolve_nested
    prepared = None if query.filter is None else prepare(query.filter, dialect)
    selected = [row for row in rows if matches(prepared, row, resolve=resolver, dialect=dialect)]
    total = len(selected) if query.count else None
    ordered = _order(selected, query.orderby, resolver, nulls_low=null_order == "low", dialect=dialect)
    window = ordered[query.skip or 0 :]
    if query.top is not None:
        window = window[: query.top]
    end = len(window) if page_size is None else min(len(window), offset + page_size)
    page = window[offset:end]
    next_skip = end if end < len(window) else None
    kept = frozenset(keep) | frozenset(query.expand)
    projected = [_project(row, query.select, kept) for row in page]
    return Page(rows=projected, total=total, next_skip=next_skip)


# -- option values ---------------------------------------------------------------------------------------
def _non_negative(params: Mapping[str, str], name: str) -> int | None:
    text = params.get(name)
    if text is None:
        return None
    if not text.strip().isdigit():
        raise ODataError(
            f"Invalid value '{text}' for {name} query option found. "
            f"The {name} query option requires a non-negative integer value."
        )
    return int(text)


def _count(text: str | None) -> bool:
    if text is None:
        return False
    if text.strip().lower() not in ("true", "false"):
        raise ODataError(f"'{text}' is not a valid count option.")
    return text.strip().lower() == "true"


def _expand(text: str | None) -> tuple[str, ...]:
    if text is None or not text.strip():
        return ()
    names: list[str] = []
    for item in _split_top_level(text):
        name = item.split("(", 1)[0].strip()
        if not _EXPAND_NAME.fullmatch(name):
            raise ODataError(f"Syntax error in $expand '{text}': '{item.strip()}' is not a navigation name.")
        names.append(name)
    return tuple(names)


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses (``A($select=x,y),B`` is two items)."""
    items: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "," and depth == 0:
            items.append("".join(current))
            current = []
            continue
        depth += (char == "(") - (char == ")")
        if depth < 0:
            raise ODataError(f"Syntax error in $expand '{text}': unbalanced ')'.")
        current.append(char)
    if depth != 0:
        raise ODataError(f"Syntax error in $expand '{text}': unbalanced '('.")
    items.append("".join(current))
    return items


# -- ordering --------------------------------------------------------------------------------------------
SortKey = tuple[int, int, Any]


def _order(
    rows: list[Mapping[str, Any]],
    orderby: tuple[tuple[Path, bool], ...],
    resolve: Resolver,
    *,
    nulls_low: bool,
    dialect: Dialect = DEFAULT,
) -> list[Mapping[str, Any]]:
    ordered = list(rows)
    # Sorting by the last key first, then each earlier key, is a stable multi-key sort (Python's sort is
    # stable in both directions), and lets every key have its own direction.
    for path, descending in reversed(orderby):
        ordered.sort(key=_key_function(path, resolve, nulls_low, dialect), reverse=descending)
    return ordered


def _key_function(
    path: Path, resolve: Resolver, nulls_low: bool, dialect: Dialect
) -> Callable[[Mapping[str, Any]], SortKey]:
    def key(row: Mapping[str, Any]) -> SortKey:
        return _sort_key(resolve(row, path), path, nulls_low, dialect)

    return key


def _sort_key(value: Any, path: Path, nulls_low: bool, dialect: Dialect = DEFAULT) -> SortKey:
    # (null rank, kind rank, value): values of different kinds never meet in one comparison.
    if value is None:
        return (0 if nulls_low else 2, 0, 0)
    if isinstance(value, str):
        value = dialect.fold(value)
    for rank, (kind, normalise) in enumerate(_SORTABLE):
        if isinstance(value, kind):
            return (1, rank, normalise(value))
    raise ODataError(f"Cannot order by '{'/'.join(path)}': it holds {describe(value)}.")


def _utc(value: dt.date) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# Kinds a row value may have, in rank order; bool before numbers since bool is an int.
_SORTABLE: tuple[tuple[type | tuple[type, ...], Callable[[Any], Any]], ...] = (
    (bool, lambda value: value),
    ((int, float, Decimal), lambda value: value),
    (str, lambda value: value),
    (dt.date, _utc),
    (uuid.UUID, str),
)


# -- $select ---------------------------------------------------------------------------------------------
_Tree = dict[str, "_Tree | None"]


def _select_tree(paths: tuple[Path, ...]) -> _Tree:
    tree: _Tree = {}
    for path in paths:
        node = tree
        for segment in path[:-1]:
            child = node.setdefault(segment, {})
            if child is None:  # the whole value is already selected
                break
            node = child
        else:
            node[path[-1]] = None
    return tree


def _project(row: Mapping[str, Any], select: tuple[Path, ...] | None, keep: frozenset[str]) -> dict[str, Any]:
    if select is None:
        return dict(row)
    return _project_tree(row, _select_tree(select), keep)


def _project_tree(row: Mapping[str, Any], tree: _Tree, keep: frozenset[str]) -> dict[str, Any]:
    projected: dict[str, Any] = {}
    for key, value in row.items():
        # "statuscode@OData.Community.Display.V1.FormattedValue" annotates statuscode and goes with it.
        name = key.split("@", 1)[0] if "@" in key[1:] else key
        if key in keep:
            projected[key] = value
        elif name in tree:
            subtree = tree[name]
            if subtree is not None and key == name and isinstance(value, Mapping):
                projected[key] = _project_tree(value, subtree, frozenset())
            else:
                projected[key] = value
    for name in tree:
        projected.setdefault(name, None)  # a selected property the row lacks is null on the wire
    return projected
