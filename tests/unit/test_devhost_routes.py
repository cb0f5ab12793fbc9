"""Route templates as the Functions host reads them: parameters, constraints, which route is tried first."""

from __future__ import annotations

import azure.functions as func
import pytest

from devhost.functions import FunctionIndexError, index_app
from devhost.http import HttpFunctions, KeyPolicy
from devhost.outputs import OutputSender
from devhost.routes import RouteError, RouteTemplate, ordered


def values(template: str, path: str) -> dict[str, str] | None:
    """Route values of ``path`` under the ``api`` prefix, or None when the template does not match."""
    return RouteTemplate.parse("api", template).match(path)


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("items/{id}", "/api/items/7", {"id": "7"}),
        ("Items/{id}", "/API/items/7/", {"id": "7"}),  # literals ignore case; a trailing slash is fine
        ("items/{id}", "/api/items", None),
        ("items/{id}/{rest?}", "/api/items/7", {"id": "7"}),
        ("items/{id}/{rest?}", "/api/items/7/x", {"id": "7", "rest": "x"}),
        ("files/{*path}", "/api/files/a/b.txt", {"path": "a/b.txt"}),
        ("files/{**path}", "/api/files", {}),
        ("pages/{page=1}", "/api/pages", {"page": "1"}),
        ("pages/{page=1}", "/api/pages/3", {"page": "3"}),
        ("v{version}/ping", "/api/v2/ping", {"version": "2"}),
        ("{{literal}}/{id}", "/api/{literal}/1", {"id": "1"}),
    ],
)
def test_parameters(template: str, path: str, expected: dict[str, str] | None) -> None:
    """Plain, optional, catch-all, defaulted and embedded parameters bind as ASP.NET Core binds them."""
    assert values(template, path) == expected


@pytest.mark.parametrize(
    ("constraint", "accepted", "refused"),
    [
        ("int", ["42", "-7", "2147483647"], ["4.2", "abc", "2147483648"]),
        ("long", ["9223372036854775807"], ["9223372036854775808", "1e3"]),
        ("bool", ["true", "FALSE"], ["yes", "1"]),
        ("alpha", ["Rick"], ["R2D2"]),
        ("guid", ["CD2C1638-1638-72D5-1638-DEADBEEF1638", "cd2c1638163872d51638deadbeef1638"], ["CD2C-1638"]),
        ("decimal", ["49.99", "-1,000.01"], ["1e3", "abc"]),
        ("double", ["1.234", "-1,001.01e8", "NaN"], ["1.2.3"]),
        ("float", ["1.5E-3"], ["one"]),
        ("datetime", ["2016-12-31", "2016-12-31T07:32:00"], ["yesterday"]),
        ("minlength(4)", ["Rick"], ["Ric"]),
        ("maxlength(8)", ["MyFile"], ["MyFile123"]),
        ("length(12)", ["somefile.txt"], ["somefile.md"]),
        ("length(8,16)", ["somefile.txt"], ["file.txt0123456789"]),
        ("min(18)", ["19", "18"], ["17", "x"]),
        ("max(120)", ["91"], ["121"]),
        ("range(18,120)", ["91"], ["17", "121"]),
        (r"regex(^\d{{3}}-\d{{2}}-\d{{4}}$)", ["123-45-6789"], ["123-456-789"]),
        ("regex(abc)", ["xxABCxx"], ["ab"]),  # unanchored and case-insensitive, as in ASP.NET Core
        ("int:min(1)", ["1"], ["0", "a"]),
    ],
)
def test_constraints(constraint: str, accepted: list[str], refused: list[str]) -> None:
    """Each ASP.NET Core inline constraint accepts and refuses the values its documentation lists."""
    template = f"items/{{value:{constraint}}}"
    for value in accepted:
        assert values(template, f"/api/items/{value}") == {"value": value}, value
    for value in refused:
        assert values(template, f"/api/items/{value}") is None, value


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("items/{id:nosuch}", "unknown route constraint 'nosuch'"),
        ("items/{id:length}", "needs arguments"),
        ("items/{id:int(5)}", "takes no arguments"),
        ("items/{id:length(a)}", "integer argument"),
        ("items/{id:range(1)}", "2 integer argument"),
        ("items/{id:regex(()}", "not a valid regular expression"),
        ("items/{id:file}", "does not support the file"),
        ("items/{id", "unclosed"),
        ("items/id}", "unmatched"),
        ("items/{id}/{id}", "appears twice"),
        ("files/{*path}/more", "catch-all"),
        ("items/{id=1?}", "cannot have a default"),
    ],
)
def test_templates_the_host_refuses(template: str, problem: str) -> None:
    """A constraint the host does not know, or a malformed template, is refused at indexing with a reason."""
    with pytest.raises(RouteError, match=problem):
        RouteTemplate.parse("api", template)


def test_precedence_literal_then_constrained_then_longer() -> None:
    """Routes are tried literal first, then parameters with more constraints, then longer templates."""
    registered = ["{*all}", "items/{id}", "items/{id}/parts", "items/{id:int}", "items/new", "items"]
    tried = ordered(registered, lambda template: RouteTemplate.parse("api", template))
    assert tried == ["items/new", "items/{id:int}", "items/{id}/parts", "items/{id}", "items", "{*all}"]


def test_unknown_constraint_stops_indexing_with_the_function_name() -> None:
    """An app with an unknown constraint cannot be served: the error names the function and the constraint."""
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route="orders/{id:number}")
    def orders(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("never")

    functions = index_app(app, {})
    outputs = {f.name: OutputSender(f, {}, "base64") for f in functions}
    with pytest.raises(FunctionIndexError, match=r"orders: route 'orders/\{id:number\}'.*'number'"):
        HttpFunctions(functions, "api", KeyPolicy(), outputs)


def test_method_is_part_of_the_match() -> None:
    """Two functions on one path split by method; a method neither lists matches nothing; none listed: all."""
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route="things", methods=["GET"])
    def list_things(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("list")

    @app.route(route="things", methods=["POST"])
    def add_thing(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("add")

    @app.route(route="anything")
    def anything(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("any")

    functions = index_app(app, {})
    http = HttpFunctions(
        functions, "api", KeyPolicy(), {f.name: OutputSender(f, {}, "base64") for f in functions}
    )

    def served_by(method: str, path: str) -> str | None:
        found = http.match(method, path)
        return found[0].function.name if found else None

    assert served_by("GET", "/api/things") == "list_things"
    assert served_by("POST", "/api/things") == "add_thing"
    assert served_by("DELETE", "/api/things") is None
    assert [served_by(m, "/api/anything") for m in ("GET", "PUT", "DELETE", "PATCH")] == ["anything"] * 4
