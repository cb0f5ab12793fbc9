"""Recursive-descent parser for ``$filter``, ``$orderby`` and ``$select``.

Operator precedence is OData v4's (URL conventions §5.1.1.16), tightest first: member access and ``in``;
unary ``-`` and ``not``; ``mul div``; ``add sub``; ``gt ge lt le``; ``eq ne``; ``and``; ``or``. So
``not A eq B`` means ``(not A) eq B``, as in Microsoft's ODataLib; write ``not (A eq B)`` for the other.

Parameter aliases (``@p``) are replaced by their parsed values at parse time. An alias the request does not
define is null: the OData URL conventions' rule for an alias given no value in the query part.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from simulators.common.odata.errors import ODataError
from simulators.common.odata.lexer import Kind, Token, syntax_error, tokenize
from simulators.common.odata.nodes import (
    Arithmetic,
    Call,
    Compare,
    EnumValue,
    Expr,
    FunctionCall,
    In,
    Literal,
    LiteralValue,
    Logical,
    Negate,
    Not,
    Property,
)

# name -> (minimum arguments, maximum arguments, result kind); "bool" results may stand alone in $filter.
FUNCTIONS: dict[str, tuple[int, int, str]] = {
    "contains": (2, 2, "bool"),
    "startswith": (2, 2, "bool"),
    "endswith": (2, 2, "bool"),
    "tolower": (1, 1, "string"),
    "toupper": (1, 1, "string"),
    "trim": (1, 1, "string"),
    "concat": (2, 2, "string"),
    "substring": (2, 3, "string"),
    "length": (1, 1, "number"),
    "indexof": (2, 2, "number"),
    "year": (1, 1, "number"),
    "month": (1, 1, "number"),
    "day": (1, 1, "number"),
    "hour": (1, 1, "number"),
    "minute": (1, 1, "number"),
    "second": (1, 1, "number"),
    "date": (1, 1, "date"),
}
# OData functions IFS documents as unsupported (docs/ifs-api.md, "Query options") or that need a type system.
UNSUPPORTED_FUNCTIONS = frozenset(
    {
        "round",
        "floor",
        "ceiling",
        "fractionalseconds",
        "totalseconds",
        "totaloffsetminutes",
        "mindatetime",
        "maxdatetime",
        "now",
        "time",
        "isof",
        "cast",
        "matchesPattern",
        "case",
        "hassubset",
        "hassubsequence",
    }
)
_ORDERING = {"gt", "ge", "lt", "le"}
_LITERAL_KINDS = (Kind.STRING, Kind.INT, Kind.DECIMAL, Kind.DATE, Kind.DATETIME, Kind.GUID)
_KEYWORD_LITERALS: dict[str, LiteralValue] = {
    "null": None,
    "true": True,
    "false": False,
    "INF": float("inf"),
    "NaN": float("nan"),
}
_BINARY_OPERATORS = frozenset(
    {"eq", "ne", "gt", "ge", "lt", "le", "and", "or", "add", "sub", "mul", "div", "mod", "divby", "has", "in"}
)
_MAX_ALIAS_DEPTH = 8
# Nesting of parentheses, function arguments and unary operators. The services' ODataLib stops at a
# recursion limit too ("The recursion limit has been exceeded."); this one keeps the parser's own
# recursion far from Python's limit. Logical chains (a or b or c …) are walked iteratively and have no
# limit; each arithmetic operator counts as one level (assumed: no document gives Dataverse's limit).
MAX_NESTING = 50
_INVALID_ARRAY = (
    "Invalid JSON. A comma character ',' was expected in scope 'Array'. Every two elements in an array and "
    "properties of an object must be separated by commas."
)


@dataclass(frozen=True)
class Context:
    """What the parser checks names against: the entity's properties and the request's aliases."""

    properties: frozenset[str] | None = None
    type_name: str = ""
    aliases: Mapping[str, str] = field(default_factory=dict)
    enum_properties: frozenset[str] = frozenset()
    functions: frozenset[str] = frozenset()  # qualified service functions (Microsoft.Dynamics.CRM.In)

    def check_property(self, name: str) -> None:
        """Raise the services' "not defined in type" error for a name the entity does not have."""
        if self.properties is not None and name not in self.properties:
            where = f" in type '{self.type_name}'" if self.type_name else ""
            raise ODataError(f"The property '{name}', used in a query expression, is not defined{where}.")


def unsupported(what: str, token: Token | None = None) -> ODataError:
    """An ODataError for a construct the services do not implement (``token``: where it starts)."""
    position = None if token is None else token.pos
    return ODataError(f"{what} is not implemented by this service.", position=position, unsupported=True)


def parse_filter(text: str, context: Context) -> Expr:
    """Parse a ``$filter`` value into an expression that must be boolean."""
    parser = _Parser(text, context)
    expr = parser.expression()
    parser.expect_end()
    if _kind(expr) not in ("bool", "unknown"):
        raise ODataError(f"The $filter expression '{text}' does not evaluate to a boolean value.")
    return expr


def parse_orderby(text: str, context: Context) -> tuple[tuple[tuple[str, ...], bool], ...]:
    """Parse ``$orderby`` into (property path, descending) pairs."""
    parser = _Parser(text, context)
    items: list[tuple[tuple[str, ...], bool]] = []
    while True:
        start = parser.peek()
        expr = parser.expression()
        if not isinstance(expr, Property):
            raise ODataError(
                f"Ordering by the expression at position {start.pos} in '{text}' is not implemented by this "
                "service; order by property paths.",
                position=start.pos,
                unsupported=True,
            )
        descending = False
        direction = parser.peek()
        if direction.kind is Kind.IDENT and direction.text in ("asc", "desc"):
            parser.advance()
            descending = direction.text == "desc"
        items.append((expr.path, descending))
        if not parser.accept(Kind.COMMA):
            break
    parser.expect_end()
    return tuple(items)


def parse_select(text: str, context: Context) -> tuple[tuple[str, ...], ...] | None:
    """Parse ``$select`` into property paths; ``*`` (all properties) gives None."""
    parser = _Parser(text, context)
    paths: list[tuple[str, ...]] = []
    star = False
    while True:
        if parser.accept(Kind.STAR):
            star = True
        else:
            first = parser.expect(Kind.IDENT, "a property name")
            paths.append(parser.member_path(first, in_filter=False).path)
        if parser.peek().kind is Kind.LPAREN:
            raise unsupported("Nested query options inside $select")
        if not parser.accept(Kind.COMMA):
            break
    parser.expect_end()
    return None if star else tuple(paths)


def _kind(expr: Expr) -> str:
    """The static result kind of an expression: bool, number, string, date, value or unknown."""
    if isinstance(expr, Compare | Logical | Not | In | FunctionCall):
        return "bool"
    if isinstance(expr, Arithmetic | Negate):
        return "number"
    if isinstance(expr, Call):
        return FUNCTIONS[expr.name][2]
    if isinstance(expr, Literal):
        return "bool" if expr.value is None or isinstance(expr.value, bool) else "value"
    return "unknown"


class _Parser:
    def __init__(self, text: str, context: Context, depth: int = 0) -> None:
        self.text = text
        self.context = context
        self.depth = depth
        self.tokens = tokenize(text)
        self.nesting = 0
        self.current: Token | None = None  # the next token, once read
        self.last = Token(Kind.EOF, "", 0)  # the token most recently consumed

    # -- token plumbing ------------------------------------------------------------------------------
    def peek(self) -> Token:
        if self.current is None:
            self.current = next(self.tokens)
        return self.current

    def advance(self) -> Token:
        token = self.peek()
        if token.kind is not Kind.EOF:  # EOF stays: peeking past the end keeps answering EOF
            self.current = None
        self.last = token
        return token

    def accept(self, kind: Kind) -> bool:
        if self.peek().kind is kind:
            self.advance()
            return True
        return False

    def expect(self, kind: Kind, what: str) -> Token:
        token = self.peek()
        if token.kind is not kind:
            raise self.error(token, f"expected {what} but found {_describe(token)}")
        return self.advance()

    def expect_end(self) -> None:
        token = self.peek()
        if token.kind is not Kind.EOF:
            raise self.error(token, f"unexpected {_describe(token)} after a complete expression")

    def error(self, token: Token, detail: str) -> ODataError:
        return syntax_error(self.text, token.pos, detail)

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token.kind is Kind.IDENT and token.text in words:
            self.advance()
            return token.text
        return None

    # -- grammar, loosest binding first ----------------------------------------------------------------
    def expression(self) -> Expr:
        self._enter()
        try:
            return self._or()
        finally:
            self.nesting -= 1

    def _enter(self) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise ODataError(
                f"The recursion limit has been exceeded: '{self.text[:80]}…' nests deeper than "
                f"{MAX_NESTING} levels."
            )

    def _or(self) -> Expr:
        left = self._and()
        while self.keyword("or"):
            left = Logical("or", self._boolean(left, "or"), self._boolean(self._and(), "or"))
        return left

    def _and(self) -> Expr:
        left = self._equality()
        while self.keyword("and"):
            left = Logical("and", self._boolean(left, "and"), self._boolean(self._equality(), "and"))
        return left

    def _equality(self) -> Expr:
        left = self._relational()
        while (op := self.keyword("eq", "ne")) is not None:
            left = self._compare(op, left, self._relational())
        return left

    def _relational(self) -> Expr:
        left = self._additive()
        while (op := self.keyword("gt", "ge", "lt", "le", "has")) is not None:
            if op == "has":
                raise unsupported("The 'has' operator", self.last)
            left = self._compare(op, left, self._additive())
        return left

    def _additive(self) -> Expr:
        entered = self.nesting
        try:
            left = self._multiplicative()
            while (op := self.keyword("add", "sub")) is not None:
                # Unlike an "or" chain, arithmetic is evaluated by recursion: each operator deepens the
                # tree, so it counts toward the nesting limit (2500 "add" terms are refused with a 400,
                # never a RecursionError deep in the evaluator).
                self._enter()
                left = Arithmetic(op, left, self._multiplicative())
            return left
        finally:
            self.nesting = entered

    def _multiplicative(self) -> Expr:
        entered = self.nesting
        try:
            left = self._unary()
            while (op := self.keyword("mul", "div", "mod", "divby")) is not None:
                if op in ("mod", "divby"):
                    raise unsupported(f"The '{op}' operator", self.last)
                self._enter()  # as in _additive: each operator deepens the evaluated tree
                left = Arithmetic(op, left, self._unary())
            return left
        finally:
            self.nesting = entered

    def _unary(self) -> Expr:
        if self.keyword("not"):
            self._enter()
            try:
                return Not(self._boolean(self._unary(), "not"))
            finally:
                self.nesting -= 1
        if self.accept(Kind.MINUS):
            self._enter()
            try:
                return Negate(self._unary())
            finally:
                self.nesting -= 1
        return self._primary_with_in()

    def _primary_with_in(self) -> Expr:
        operand = self._primary()
        if not self.keyword("in"):
            return operand
        self.expect(Kind.LPAREN, "'(' to open the list after 'in'")
        items = [self.expression()]
        while self.accept(Kind.COMMA):
            items.append(self.expression())
        self.expect(Kind.RPAREN, "',' or ')' in the list after 'in'")
        for item in items:
            self._check_enum_pair("eq", operand, item)
        return In(operand, tuple(items))

    def _primary(self) -> Expr:
        token = self.peek()
        if token.kind is Kind.LPAREN:
            self.advance()
            inner = self.expression()
            self.expect(Kind.RPAREN, "')'")
            return inner
        if token.kind in _LITERAL_KINDS:
            self.advance()
            return Literal(token.value, token.text)
        if token.kind is Kind.TYPED:
            self.advance()
            return self._typed_literal(token)
        if token.kind is Kind.ALIAS:
            self.advance()
            return self._alias(token)
        if token.kind is Kind.IDENT:
            self.advance()
            return self._identifier(token)
        raise self.error(token, f"expected an expression but found {_describe(token)}")

    def _identifier(self, token: Token) -> Expr:
        if token.text in _BINARY_OPERATORS and self.peek().kind not in (Kind.SLASH, Kind.LPAREN):
            raise self.error(token, f"expected an expression but found the operator '{token.text}'")
        if token.text in _KEYWORD_LITERALS and self.peek().kind is not Kind.SLASH:
            return Literal(_KEYWORD_LITERALS[token.text], token.text)
        if self.peek().kind is Kind.LPAREN:
            return self._call(token)
        return self.member_path(token, in_filter=True)

    # -- pieces ----------------------------------------------------------------------------------------
    def member_path(self, first: Token, *, in_filter: bool) -> Property:
        segments = [self._segment(first)]
        while self.peek().kind is Kind.SLASH:
            self.advance()
            segment = self.expect(Kind.IDENT, "a property name after '/'")
            if segment.text in _BINARY_OPERATORS:
                raise self.error(
                    segment, f"expected a property name after '/' but found the operator '{segment.text}'"
                )
            if segment.text in ("any", "all") and self.peek().kind is Kind.LPAREN:
                raise unsupported(f"The lambda operator '{segment.text}'", segment)
            if self.peek().kind is Kind.LPAREN:
                raise unsupported(f"The bound function '{segment.text}'", segment)
            segments.append(self._segment(segment))
        if in_filter and self.peek().kind is Kind.LPAREN:
            raise self.error(self.peek(), f"unexpected '(' after the property path '{'/'.join(segments)}'")
        self.context.check_property(segments[0])
        return Property(tuple(segments))

    def _segment(self, token: Token) -> str:
        if token.text.startswith("$"):
            raise unsupported(f"'{token.text}'", token)
        if "." in token.text:
            raise unsupported(f"The type-cast or qualified segment '{token.text}'", token)
        return token.text

    def _call(self, name_token: Token) -> Call | FunctionCall:
        name = name_token.text
        if name in self.context.functions:
            return self._function_call(name)
        if name in ("any", "all"):
            raise unsupported(f"The lambda operator '{name}'", name_token)
        if name in UNSUPPORTED_FUNCTIONS or "." in name:
            raise unsupported(f"The function '{name}'", name_token)
        if name not in FUNCTIONS:
            raise ODataError(f"An unknown function with name '{name}' was found.", position=name_token.pos)
        self.expect(Kind.LPAREN, "'('")
        args: list[Expr] = []
        if self.peek().kind is not Kind.RPAREN:
            args.append(self.expression())
            while self.accept(Kind.COMMA):
                args.append(self.expression())
        self.expect(Kind.RPAREN, "',' or ')' after a function argument")
        low, high, _ = FUNCTIONS[name]
        if not low <= len(args) <= high:
            expected = str(low) if low == high else f"{low} or {high}"
            raise ODataError(
                f"The function '{name}' takes {expected} argument(s) but {len(args)} were given "
                f"(position {name_token.pos} in '{self.text}').",
                position=name_token.pos,
            )
        return Call(name, tuple(args))

    def _function_call(self, name: str) -> FunctionCall:
        """``Ns.Function(Name=value,…)``: named parameters, each a literal, an alias or a JSON array."""
        self.expect(Kind.LPAREN, "'('")
        parameters: list[tuple[str, object]] = []
        if self.peek().kind is not Kind.RPAREN:
            while True:
                parameter = self.expect(Kind.IDENT, "a parameter name")
                self.expect(Kind.EQUALS, f"'=' after the parameter name '{parameter.text}'")
                parameters.append((parameter.text, self._parameter_value()))
                if not self.accept(Kind.COMMA):
                    break
        self.expect(Kind.RPAREN, "',' or ')' after a function parameter")
        return FunctionCall(name, tuple(parameters))

    def _parameter_value(self) -> object:
        token = self.peek()
        if token.kind is Kind.ARRAY:
            self.advance()
            return parse_json_array(token.value)
        if token.kind is Kind.ALIAS:
            self.advance()
            text = self.context.aliases.get(token.text)
            if text is None:
                return None
            if text.strip().startswith("["):
                return parse_json_array(text.strip())
            expr = self._alias(token)
            if not isinstance(expr, Literal):
                raise ODataError(f"The parameter alias {token.text} must hold a literal or a JSON array.")
            return expr.value
        expr = self._primary()
        if not isinstance(expr, Literal):
            raise self.error(token, "expected a literal, an alias or a JSON array as a parameter value")
        return expr.value

    def _typed_literal(self, token: Token) -> Literal:
        type_name, value = token.value
        if "." not in type_name:
            raise unsupported(f"The {type_name} literal {token.text}", token)
        return Literal(EnumValue(type_name, value), token.text)

    def _alias(self, token: Token) -> Expr:
        value = self.context.aliases.get(token.text)
        if value is None:
            return Literal(None, token.text)
        if self.depth >= _MAX_ALIAS_DEPTH:
            raise ODataError(f"The parameter alias {token.text} refers to itself through other aliases.")
        try:
            parser = _Parser(value, self.context, self.depth + 1)
            expr = parser.expression()
            parser.expect_end()
        except ODataError as error:
            if error.position is None:
                raise
            # The position counts within the alias value, so say which value.
            raise ODataError(
                f"In the value of parameter alias {token.text}: {error.message}",
                unsupported=error.unsupported,
            ) from error
        return expr

    def _compare(self, op: str, left: Expr, right: Expr) -> Compare:
        self._check_enum_pair(op, left, right)
        return Compare(op, left, right)

    def _check_enum_pair(self, op: str, left: Expr, right: Expr) -> None:
        for one, other in ((left, right), (right, left)):
            if isinstance(one, Literal) and isinstance(one.value, EnumValue) and op in _ORDERING:
                raise unsupported(f"Comparing ('{op}') with the enumeration literal {one.text}")
            if (
                isinstance(one, Property)
                and len(one.path) == 1
                and one.path[0] in self.context.enum_properties
                and isinstance(other, Literal)
                and isinstance(other.value, str)
            ):
                raise ODataError(
                    f"The enumeration property '{one.path[0]}' cannot be compared with the string "
                    f"{other.text}; use a qualified enum literal such as Namespace.EnumType{other.text}."
                )

    def _boolean(self, expr: Expr, operator: str) -> Expr:
        if _kind(expr) not in ("bool", "unknown"):
            raise ODataError(f"The operand of '{operator}' in '{self.text}' is not a boolean expression.")
        return expr


def parse_json_array(text: str) -> tuple[object, ...]:
    """A JSON array parameter value: strings in double (or, leniently, single) quotes, numbers, literals."""
    inner = text.strip()
    if not (inner.startswith("[") and inner.endswith("]")):
        raise ODataError(f"'{text}' is not a JSON array.")
    items: list[object] = []
    position, end = 1, len(inner) - 1
    expect_item = True
    while True:
        while position < end and inner[position] in " \t":
            position += 1
        if position >= end:
            break
        char = inner[position]
        if not expect_item:
            if char != ",":
                raise ODataError(_INVALID_ARRAY)
            position += 1
            expect_item = True
            continue
        if char in "'\"":
            close = _closing_quote(inner, position)
            if close < 0:
                raise ODataError(_INVALID_ARRAY)
            raw = inner[position : close + 1]
            items.append(json.loads(raw) if char == '"' else raw[1:-1])
            position = close + 1
        else:
            stop = position
            while stop < end and inner[stop] not in ", \t":
                stop += 1
            word = inner[position:stop]
            try:
                items.append(json.loads(word))
            except ValueError as exc:
                raise ODataError(f"'{word}' in the JSON array {text} is not a JSON value.") from exc
            position = stop
        expect_item = False
    return tuple(items)


def _closing_quote(text: str, start: int) -> int:
    quote = text[start]
    index = start + 1
    while index < len(text):
        if text[index] == "\\" and quote == '"':
            index += 2
            continue
        if text[index] == quote:
            return index
        index += 1
    return -1


def _describe(token: Token) -> str:
    return "the end of the expression" if token.kind is Kind.EOF else f"'{token.text}'"
