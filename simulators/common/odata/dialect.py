"""What one service makes of the generic OData grammar: string collation, wildcards and its own functions.

IFS runs on Oracle, whose default comparison is by code point: ``Dialect()`` (the default) compares
strings case-sensitively and treats ``contains``' argument literally. Dataverse runs on SQL Server with a
case-insensitive collation ("All filters using string values are case insensitive", filter-rows article)
and turns ``contains``/``startswith``/``endswith`` into ``LIKE`` patterns, so ``%``, ``_`` and ``[]`` in
their argument are wildcards (same article, "Use wildcard characters"): ``Dialect(ignore_case=True,
like_wildcards=True, functions=…)``. ``functions`` maps a qualified function name
(``Microsoft.Dynamics.CRM.In``) to its implementation; the parser accepts only the names listed there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from simulators.common.odata.nodes import FunctionCall

Resolver = Callable[[Mapping[str, Any], tuple[str, ...]], Any]
# (the call, the row, the resolver) -> True / False / None (unknown)
QueryFunction = Callable[[FunctionCall, Mapping[str, Any], Resolver], bool | None]


@dataclass(frozen=True)
class Dialect:
    """String semantics and service functions of one OData service."""

    ignore_case: bool = False
    like_wildcards: bool = False
    functions: Mapping[str, QueryFunction] = field(default_factory=dict)

    def fold(self, text: str) -> str:
        """``text`` as the collation compares it."""
        return text.casefold() if self.ignore_case else text


DEFAULT = Dialect()


def like_pattern(pattern: str, *, ignore_case: bool, prefix: bool, suffix: bool) -> re.Pattern[str]:
    """A regular expression for a T-SQL ``LIKE`` pattern (``%``, ``_``, ``[abc]``, ``[^abc]``, ``[a-f]``).

    ``prefix``/``suffix`` add an implicit ``%`` before/after (``contains`` adds both, ``startswith`` a
    trailing one). An unclosed ``[`` is a literal bracket, as in SQL Server.
    """
    parts: list[str] = [".*"] if prefix else []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        elif char == "[" and "]" in pattern[index + 1 :]:
            end = pattern.index("]", index + 1)
            body = pattern[index + 1 : end]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            escaped = "".join("\\" + c if c in "\\^[]" else c for c in body)
            parts.append(f"[{'^' if negate else ''}{escaped}]")
            index = end
        else:
            parts.append(re.escape(char))
        index += 1
    if suffix:
        parts.append(".*")
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("".join(parts), flags)
