"""Dialects of the OData engine: collation, LIKE wildcards, service functions, deep chains and nesting."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from simulators.common.odata import Dialect, FunctionCall, ODataError, Query, apply, matches, parse_query
from simulators.common.odata.evaluator import AnyOf, prepare, resolve_nested
from simulators.common.odata.parser import MAX_NESTING, parse_json_array

ROWS = [{"Name": "Contoso Ltd", "No": 1}, {"Name": "contoso LTD", "No": 2}, {"Name": "Fabrikam", "No": 3}]
DATAVERSE = Dialect(ignore_case=True, like_wildcards=True)
ORACLE = Dialect()


def names(text: str, dialect: Dialect = ORACLE, **extra: Any) -> list[str]:
    page = apply(ROWS, parse_query({"$filter": text, **extra}), dialect=dialect)
    return [str(row["Name"]) for row in page.rows]


def test_the_default_dialect_compares_by_code_point() -> None:
    """IFS (Oracle) compares strings case-sensitively."""
    assert names("Name eq 'contoso ltd'") == []
    assert names("contains(Name,'contoso')") == ["contoso LTD"]


def test_a_case_insensitive_dialect_finds_every_casing() -> None:
    """Dataverse: eq, contains, startswith and in ignore case."""
    assert names("Name eq 'contoso ltd'", DATAVERSE) == ["Contoso Ltd", "contoso LTD"]
    assert names("contains(Name,'CONTOSO')", DATAVERSE) == ["Contoso Ltd", "contoso LTD"]
    assert names("startswith(Name,'fab')", DATAVERSE) == ["Fabrikam"]
    assert names("Name in ('FABRIKAM','x')", DATAVERSE) == ["Fabrikam"]


def test_ordering_follows_the_collation() -> None:
    """Ordered case-insensitively, equal strings keep their order (a stable sort)."""
    query = parse_query({"$orderby": "Name desc"})
    rows = [{"Name": "b"}, {"Name": "A"}, {"Name": "a"}, {"Name": "B"}]
    assert [r["Name"] for r in apply(rows, query, dialect=DATAVERSE).rows] == ["b", "B", "A", "a"]
    assert [r["Name"] for r in apply(rows, query).rows] == ["b", "a", "B", "A"]


def test_like_wildcards_in_string_functions() -> None:
    """With LIKE semantics % and _ are wildcards and [] a character set, as filter-rows documents."""
    assert names("contains(Name,'on%so')", DATAVERSE) == ["Contoso Ltd", "contoso LTD"]
    assert names("startswith(Name,'_abri')", DATAVERSE) == ["Fabrikam"]
    assert names("endswith(Name,'[kx]am')", DATAVERSE) == ["Fabrikam"]
    assert names("contains(Name,'on%so')") == []  # literally, without the dialect


def test_thousands_of_or_terms_are_evaluated_without_recursion() -> None:
    """A 5000-term or chain (a tree 5000 deep) filters like a short one, prepared or not."""
    text = " or ".join(f"Name eq 'N{n}'" for n in range(5000)) + " or Name eq 'Fabrikam'"
    assert names(text, DATAVERSE) == ["Fabrikam"]
    expr = parse_query({"$filter": text}).filter
    assert expr is not None
    assert isinstance(prepare(expr), AnyOf)
    assert matches(expr, ROWS[2])  # the unprepared chain too
    anded = " and ".join(f"No ne {n}" for n in range(10, 5000))
    assert len(names(anded)) == 3


def test_a_prepared_chain_keeps_three_valued_logic_and_type_errors() -> None:
    """Null never equals a string; a number compared with a string is still an error."""
    expr = parse_query({"$filter": "Name eq 'a' or Name eq 'b' or No gt 2"}).filter
    assert expr is not None
    prepared = prepare(expr)
    assert not matches(prepared, {"Name": None, "No": None})
    assert matches(prepared, {"Name": "x", "No": 3})
    with pytest.raises(ODataError, match="Cannot compare"):
        matches(prepared, {"Name": 5, "No": 1})


def test_nesting_deeper_than_the_limit_is_refused() -> None:
    """Parentheses nested past the limit are a 400 ('recursion limit'), never a stack overflow."""
    deep = "(" * (MAX_NESTING + 1) + "No eq 1" + ")" * (MAX_NESTING + 1)
    with pytest.raises(ODataError, match="recursion limit"):
        parse_query({"$filter": deep})
    shallow = "(" * (MAX_NESTING - 1) + "No eq 1" + ")" * (MAX_NESTING - 1)
    assert parse_query({"$filter": shallow}).filter is not None
    with pytest.raises(ODataError, match="recursion limit"):
        parse_query({"$filter": "not " * (MAX_NESTING + 1) + "(No eq 1)"})


def is_even(call: FunctionCall, row: Mapping[str, Any], resolve: Any) -> bool | None:
    value = resolve(row, (str(call.parameter("PropertyName")),))
    return None if value is None else value % 2 == 0


def test_service_functions_with_named_parameters_arrays_and_aliases() -> None:
    """Ns.Fn(PropertyName='x',PropertyValues=[…]) parses only when the service lists the function."""
    dialect = Dialect(functions={"Ns.IsEven": is_even})
    query = parse_query({"$filter": "Ns.IsEven(PropertyName='No')"}, functions=["Ns.IsEven"])
    assert [r["Name"] for r in apply(ROWS, query, dialect=dialect).rows] == ["contoso LTD"]
    aliased = parse_query(
        {"$filter": "Ns.IsEven(PropertyName=@p,Values=@v)", "@p": "'No'", "@v": '["a","b"]'},
        functions=["Ns.IsEven"],
    )
    assert isinstance(aliased.filter, FunctionCall)
    assert aliased.filter.parameters == (("PropertyName", "No"), ("Values", ("a", "b")))
    with pytest.raises(ODataError, match="not implemented"):
        parse_query({"$filter": "Ns.IsEven(PropertyName='No')"})
    with pytest.raises(ODataError, match="not implemented"):
        apply(ROWS, query)  # listed by the parser but not implemented by the dialect


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ('["a","b"]', ("a", "b")),
        ("['a', 'b']", ("a", "b")),
        ('["O\'Brian","x"]', ("O'Brian", "x")),
        ("[1, 2.5, true, null]", (1, 2.5, True, None)),
        ("[]", ()),
    ],
)
def test_json_array_values(text: str, items: tuple[object, ...]) -> None:
    """Array parameter values: JSON, single-quoted strings leniently, numbers and literals."""
    assert parse_json_array(text) == items


def test_a_single_quote_inside_a_single_quoted_value_is_dataverses_json_error() -> None:
    """filter-rows: values holding ' need double quotes, else the documented 'Invalid JSON' error."""
    with pytest.raises(ODataError, match="A comma character ',' was expected in scope 'Array'"):
        parse_json_array("['OBrian','O'Brian']")


def test_query_defaults_stay_unchanged() -> None:
    """Without a dialect, apply behaves as before (plain equality, no functions)."""
    page = apply(ROWS, Query(filter=parse_query({"$filter": "No ge 2"}).filter))
    assert [r["No"] for r in page.rows] == [2, 3]
    assert resolve_nested({"a": {"b": 1}}, ("a", "b")) == 1
