"""``GET <set>?sql=…``: the read-only SQL the Web API's ``sql`` parameter takes, for one table.

Served: ``SELECT [DISTINCT] [TOP n] <columns> FROM <table> [alias] [WHERE …] [ORDER BY <column> [ASC|DESC],
…]`` where the columns are logical names (``alias.column`` allowed) and the condition combines ``=``,
``!=``/``<>``, ``<``, ``<=``, ``>``, ``>=``, ``[NOT] LIKE``, ``[NOT] IN (…)``, ``IS [NOT] NULL``, ``[NOT]
BETWEEN … AND …`` with ``AND``, ``OR``, ``NOT`` and parentheses. Strings compare case-insensitively and
``LIKE`` uses T-SQL wildcards, as on SQL Server.

Refused with 400 (texts ASSUMED; the SDK documents the same limits client-side): ``SELECT *``, joins,
``GROUP BY``/aggregates, ``OFFSET``/``FETCH``, subqueries, ``UNION``, functions, a table other than the
URL's, and every statement but ``SELECT``. Rows carry exactly the selected columns (a lookup as its id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from simulators.common.odata import Expr, ODataError
from simulators.common.odata.nodes import Not
from simulators.dataverse import conditions
from simulators.dataverse.tables import Column, Table

_TOKEN = re.compile(
    r"\s*(?:(?P<string>N?'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<op><>|!=|<=|>=|[=<>(),*])"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?|\[[^\]]+\]))",
)
_REFUSED = frozenset(
    {"JOIN", "GROUP", "HAVING", "UNION", "OFFSET", "FETCH", "INTO", "EXISTS", "CASE", "OVER"}
)
_CLAUSES = frozenset({"FROM", "WHERE", "ORDER", "AND", "OR", "NOT", "AS", "ASC", "DESC", "BY"})


@dataclass(frozen=True)
class Select:
    """What a SELECT statement asks for."""

    columns: tuple[Column, ...]
    filter: Expr | None
    orderby: tuple[tuple[str, bool], ...]
    top: int | None
    distinct: bool


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.strip().rstrip(";")
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            if text[position:].strip() == "":
                break
            raise ODataError(f"Incorrect syntax near '{text[position : position + 20]}'.")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, table: Table, text: str) -> None:
        self.table = table
        self.tokens = _tokens(text)
        self.index = 0
        self.alias: str | None = None

    def peek(self, offset: int = 0) -> tuple[str, str]:
        at = self.index + offset
        return self.tokens[at] if at < len(self.tokens) else ("end", "")

    def word(self, *words: str) -> str | None:
        kind, value = self.peek()
        if kind == "word" and value.upper() in words:
            self.index += 1
            return value.upper()
        return None

    def expect_word(self, word: str) -> None:
        if self.word(word) is None:
            raise ODataError(f"Incorrect syntax: expected {word} near '{self.peek()[1]}'.")

    def op(self, *ops: str) -> str | None:
        kind, value = self.peek()
        if kind == "op" and value in ops:
            self.index += 1
            return value
        return None

    def parse(self) -> Select:  # noqa: PLR0912 - the clauses of a SELECT, in order
        for kind, value in self.tokens:
            if kind == "word" and value.upper() in _REFUSED:
                raise ODataError(f"The SQL keyword {value.upper()} is not supported by the simulator.")
        if self.word("SELECT") is None:
            raise ODataError("Only SELECT statements are supported.")
        distinct = self.word("DISTINCT") is not None
        top = None
        if self.word("TOP"):
            kind, value = self.peek()
            if kind != "number" or not value.isdigit():
                raise ODataError("TOP needs a whole number.")
            self.index += 1
            top = int(value)
        if self.op("*"):
            raise ODataError("SELECT * is not supported: name the columns.")
        names = [self.name()]
        while self.op(","):
            names.append(self.name())
        self.expect_word("FROM")
        kind, table = self.peek()
        self.index += 1
        if kind != "word" or table.lower() != self.table.logical_name:
            raise ODataError(f"The table '{table}' does not match the entity set {self.table.entity_set}.")
        alias_kind, alias = self.peek()
        if alias_kind == "word" and alias.upper() not in _CLAUSES:
            self.alias = alias.lower()
            self.index += 1
        columns = tuple(self.column(n) for n in names)
        condition = self.expression() if self.word("WHERE") else None
        orderby: list[tuple[str, bool]] = []
        if self.word("ORDER"):
            self.expect_word("BY")
            while True:
                target = self.column(self.name())
                descending = self.word("DESC") is not None
                if not descending:
                    self.word("ASC")
                orderby.append((target.name, descending))
                if not self.op(","):
                    break
        if self.peek()[0] != "end":
            raise ODataError(f"Incorrect syntax near '{self.peek()[1]}'.")
        return Select(columns, condition, tuple(orderby), top, distinct)

    def name(self) -> str:
        kind, value = self.peek()
        if kind != "word" or value.upper() in _CLAUSES or self.peek(1) == ("op", "("):
            raise ODataError(f"A column name was expected near '{value}' (functions are not supported).")
        self.index += 1
        return value.strip("[]")

    def column(self, name: str) -> Column:
        prefix, _, rest = name.rpartition(".")
        if prefix and prefix.lower() not in (self.alias, self.table.logical_name):
            raise ODataError(f"The multi-part identifier '{name}' could not be bound.")
        return conditions.column(self.table, rest)

    # -- conditions ----------------------------------------------------------------------------------------

    def expression(self) -> Expr:
        parts = [self.conjunction()]
        while self.word("OR"):
            parts.append(self.conjunction())
        return conditions.combine("or", parts) or parts[0]

    def conjunction(self) -> Expr:
        parts = [self.negation()]
        while self.word("AND"):
            parts.append(self.negation())
        return conditions.combine("and", parts) or parts[0]

    def negation(self) -> Expr:
        if self.word("NOT"):
            return Not(self.negation())
        if self.op("("):
            inner = self.expression()
            if not self.op(")"):
                raise ODataError("Incorrect syntax: ')' expected.")
            return inner
        return self.predicate()

    def predicate(self) -> Expr:
        target = self.column(self.name()).name
        comparison = self.op("=", "!=", "<>", "<", "<=", ">", ">=")
        if comparison is not None:
            operator = {"=": "eq", "!=": "ne", "<>": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}[
                comparison
            ]
            return conditions.condition(self.table, target, operator, [self.literal()])
        if self.word("IS"):
            negate = self.word("NOT") is not None
            self.expect_word("NULL")
            return conditions.condition(self.table, target, "not-null" if negate else "null", [])
        negate = self.word("NOT") is not None
        if self.word("LIKE"):
            return conditions.condition(
                self.table, target, "not-like" if negate else "like", [self.literal()]
            )
        if self.word("IN"):
            if not self.op("("):
                raise ODataError("IN needs a parenthesised list of values.")
            values = [self.literal()]
            while self.op(","):
                values.append(self.literal())
            if not self.op(")"):
                raise ODataError("Incorrect syntax: ')' expected after the IN list.")
            return conditions.condition(self.table, target, "not-in" if negate else "in", values)
        if self.word("BETWEEN"):
            low = self.literal()
            self.expect_word("AND")
            return conditions.condition(
                self.table, target, "not-between" if negate else "between", [low, self.literal()]
            )
        raise ODataError(f"Incorrect syntax near '{self.peek()[1]}'.")

    def literal(self) -> Any:
        kind, value = self.peek()
        self.index += 1
        if kind == "string":
            return value.removeprefix("N")[1:-1].replace("''", "'")
        if kind == "number":
            return value
        if kind == "word" and value.upper() in ("TRUE", "FALSE"):
            return value.lower()
        raise ODataError(f"A literal value was expected near '{value}'.")


def parse(table: Table, text: str) -> Select:
    """The SELECT in ``text``; ODataError (400) for anything the simulator does not serve."""
    if not text.strip():
        raise ODataError("The sql parameter is empty.")
    return _Parser(table, text).parse()
