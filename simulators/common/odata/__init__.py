"""OData v4 query engine for the simulators, evaluated over JSON-like rows.

Covers ``$filter``, ``$select``, ``$orderby``, ``$top``/``$skip``, ``$count``, ``$expand`` names,
``$skiptoken`` and parameter aliases.

Typical use in a simulator route::

    query = parse_query(request.query_params, properties=FIELDS, type_name="IfsApp.X.Y")  # ODataError: 400
    page = apply(rows, query, page_size=500, offset=decode(query.skiptoken), keep=("@odata.etag",))

Modules: ``lexer`` (tokens), ``parser`` (grammar, precedence, name checks), ``nodes`` (expression tree),
``evaluator`` (values, comparisons, functions, null logic), ``query`` (options, paging, projection),
``dialect`` (a service's collation, wildcards and own functions).
"""

from simulators.common.odata.dialect import Dialect, QueryFunction, like_pattern
from simulators.common.odata.errors import ODataError
from simulators.common.odata.evaluator import Resolver, resolve_nested
from simulators.common.odata.nodes import EnumValue, Expr, FunctionCall
from simulators.common.odata.query import Page, Query, apply, matches, parse_query

__all__ = [
    "Dialect",
    "EnumValue",
    "Expr",
    "FunctionCall",
    "ODataError",
    "Page",
    "Query",
    "QueryFunction",
    "Resolver",
    "apply",
    "like_pattern",
    "matches",
    "parse_query",
    "resolve_nested",
]
