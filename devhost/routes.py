r"""HTTP route templates as the Functions host reads and orders them (ASP.NET Core route templates).

A template is ``segment/segment/…``; a segment holds literal text and ``{parameter}`` parts. A parameter
is ``{name}``, ``{name?}`` (optional), ``{*name}`` or ``{**name}`` (catch-all: the rest of the path, may
be empty) or ``{name=default}``, with constraints chained by ``:`` — ``{id:int}``, ``{code:length(5)}``,
``{n:min(1):max(9)}``, ``{ssn:regex(^\d{{3}}-\d{{4}}$)}``. Braces meant literally, in text or in a
regex, are doubled. Literal text matches regardless of case. An unknown constraint, or one with wrong
arguments, is refused when the app is indexed, as the host refuses to map such a route.

Constraints follow ASP.NET Core's invariant-culture rules, with one simplification: ``datetime`` accepts
ISO 8601 only. ``file`` and ``nonfile`` are not supported.

When several templates match a path, the host tries them in the order of WebJobsRouteBuilder's route
comparison (Microsoft.Azure.WebJobs.Extensions.Http): segment by segment, a literal before a parameter,
a parameter with more constraints before one with fewer, literals in case-insensitive ordinal order,
and a longer template before a shorter one that is otherwise equal. ``ordered`` sorts the same way.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from devhost.functions import FunctionIndexError

Constraint = Callable[[str], bool]
T = TypeVar("T")


class RouteError(FunctionIndexError):
    """A route template the host would refuse: bad syntax, an unknown constraint or wrong arguments."""


@dataclass(frozen=True)
class Literal:
    """Literal text within a segment."""

    text: str


@dataclass(frozen=True)
class Parameter:
    """A route parameter and the checks its value must pass."""

    name: str
    constraints: tuple[Constraint, ...] = ()
    optional: bool = False
    catch_all: bool = False
    default: str | None = None

    def accepts(self, value: str) -> bool:
        """Whether ``value`` passes every constraint."""
        return all(check(value) for check in self.constraints)


Part = Literal | Parameter

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
# Invariant culture: ',' groups thousands and may appear anywhere in the integer part, '.' is the point.
_DECIMAL = re.compile(r"\s*[+-]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)\s*")
_DOUBLE = re.compile(r"\s*[+-]?(?:(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|NaN|Infinity|∞)\s*", re.I)
_GUID_D = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_GUID = re.compile(rf"\s*(?:[0-9a-f]{{32}}|{_GUID_D}|\{{{_GUID_D}\}}|\({_GUID_D}\))\s*", re.I)


def _integer(low: int, high: int) -> Constraint:
    return lambda value: bool(_INTEGER.fullmatch(value)) and low <= int(value) <= high


def _iso_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _regex(expression: str) -> Constraint:
    try:
        pattern = re.compile(expression, re.IGNORECASE)
    except re.error as exc:
        raise RouteError(f"regex({expression}) is not a valid regular expression: {exc}") from exc
    return lambda value: pattern.search(value) is not None  # not anchored, as in ASP.NET Core


_PLAIN: dict[str, Constraint] = {
    "int": _integer(*_INT32),
    "long": _integer(*_INT64),
    "bool": lambda value: value.strip().lower() in {"true", "false"},
    "alpha": lambda value: re.fullmatch(r"[A-Za-z]+", value) is not None,
    "guid": lambda value: _GUID.fullmatch(value) is not None,
    "decimal": lambda value: _DECIMAL.fullmatch(value) is not None,
    "double": lambda value: _DOUBLE.fullmatch(value) is not None,
    "float": lambda value: _DOUBLE.fullmatch(value) is not None,
    "datetime": _iso_datetime,
    "required": lambda value: value != "",
}


def _numbers(name: str, arguments: str, count: Sequence[int]) -> list[int]:
    texts = [a.strip() for a in arguments.split(",")]
    if len(texts) not in count or not all(_INTEGER.fullmatch(t) for t in texts):
        expected = " or ".join(str(c) for c in count)
        raise RouteError(f"{name}({arguments}) needs {expected} integer argument(s)")
    return [int(t) for t in texts]


def _length(arguments: str) -> Constraint:
    bounds = _numbers("length", arguments, (1, 2))
    low, high = bounds[0], bounds[-1]
    return lambda value: low <= len(value) <= high


def _minlength(arguments: str) -> Constraint:
    [low] = _numbers("minlength", arguments, (1,))
    return lambda value: len(value) >= low


def _maxlength(arguments: str) -> Constraint:
    [high] = _numbers("maxlength", arguments, (1,))
    return lambda value: len(value) <= high


def _between(name: str, arguments: str, count: int) -> Constraint:
    """min, max and range: the value must be a long within the bounds."""
    limits = _numbers(name, arguments, (count,))
    low = limits[0] if name != "max" else _INT64[0]
    high = limits[-1] if name != "min" else _INT64[1]
    return _integer(max(low, _INT64[0]), min(high, _INT64[1]))


_WITH_ARGUMENTS: dict[str, Callable[[str], Constraint]] = {
    "regex": _regex,
    "length": _length,
    "minlength": _minlength,
    "maxlength": _maxlength,
    "min": lambda arguments: _between("min", arguments, 1),
    "max": lambda arguments: _between("max", arguments, 1),
    "range": lambda arguments: _between("range", arguments, 2),
}


def constraint(name: str, arguments: str | None) -> Constraint:
    """The check for constraint ``name`` with its argument text (None when written without parentheses)."""
    lowered = name.lower()  # constraint names are case-insensitive in ASP.NET Core
    if lowered in {"file", "nonfile"}:
        raise RouteError(f"devhost does not support the {lowered} route constraint")
    if lowered in _PLAIN:
        if arguments is not None:
            raise RouteError(f"constraint {lowered} takes no arguments")
        return _PLAIN[lowered]
    if lowered in _WITH_ARGUMENTS:
        if arguments is None:
            raise RouteError(f"constraint {lowered} needs arguments, e.g. {lowered}(5)")
        return _WITH_ARGUMENTS[lowered](arguments)
    raise RouteError(f"unknown route constraint {name!r}")


def _closing_parenthesis(text: str) -> int:
    """Index of the ')' that ends a constraint's arguments (the next thing is ':', '=', '?' or the end)."""
    for index, char in enumerate(text):
        if char != ")":
            continue
        rest = text[index + 1 :]
        if rest in ("", "?") or rest.startswith("=") or re.match(r":[A-Za-z]", rest):
            return index
    raise RouteError(f"unclosed '(' in constraint {text!r}")


def parse_parameter(text: str) -> Parameter:
    """Parse the inside of ``{…}``."""
    stars = len(text) - len(text.lstrip("*"))
    if stars > 2:
        raise RouteError(f"{{{text}}}: a catch-all parameter starts with * or **")
    body = text[stars:]
    name_end = next((i for i, char in enumerate(body) if char in ":=?"), len(body))
    name, rest = body[:name_end], body[name_end:]
    if not name.strip() or any(char in name for char in "{}/*"):
        raise RouteError(f"{{{text}}}: missing or invalid parameter name")
    checks: list[Constraint] = []
    while rest.startswith(":"):
        match = re.match(r":([A-Za-z][A-Za-z0-9]*)", rest)
        if match is None:
            raise RouteError(f"{{{text}}}: a constraint name is expected after ':'")
        rest = rest[match.end() :]
        arguments = None
        if rest.startswith("("):
            close = _closing_parenthesis(rest)
            arguments, rest = rest[1:close], rest[close + 1 :]
        checks.append(constraint(match.group(1), arguments))
    default = None
    if rest.startswith("="):
        default, rest = rest[1:], ""
        if default.endswith("?"):
            raise RouteError(f"{{{text}}}: an optional parameter cannot have a default value")
    optional = rest == "?"
    if rest not in ("", "?"):
        raise RouteError(f"{{{text}}}: unexpected {rest!r}")
    if stars and (optional or default is not None):
        raise RouteError(f"{{{text}}}: a catch-all parameter cannot be optional or have a default")
    return Parameter(name, tuple(checks), optional, bool(stars), default)


def _split(template: str) -> list[list[Part]]:
    """Segments of ``template``, each a list of literal and parameter parts."""
    segments: list[list[Part]] = [[]]
    literal, index = "", 0

    def flush() -> None:
        nonlocal literal
        if literal:
            segments[-1].append(Literal(literal))
            literal = ""

    while index < len(template):
        char, pair = template[index], template[index : index + 2]
        if pair in ("{{", "}}"):
            literal, index = literal + char, index + 2
        elif char == "{":
            inside, index = "", index + 1
            while True:
                if index >= len(template):
                    raise RouteError(f"{template!r}: unclosed '{{'")
                pair = template[index : index + 2]
                if pair in ("{{", "}}"):
                    inside, index = inside + pair[0], index + 2
                elif template[index] == "}":
                    break
                elif template[index] == "{":
                    raise RouteError(f"{template!r}: '{{' inside a parameter must be doubled")
                else:
                    inside, index = inside + template[index], index + 1
            flush()
            segments[-1].append(parse_parameter(inside))
            index += 1
        elif char == "}":
            raise RouteError(f"{template!r}: unmatched '}}'")
        elif char == "/":
            flush()
            segments.append([])
            index += 1
        else:
            literal, index = literal + char, index + 1
    flush()
    return segments


@dataclass(frozen=True)
class RouteTemplate:
    """A parsed route template (route prefix included) that matches request paths."""

    text: str
    segments: tuple[tuple[Part, ...], ...]
    parameters: tuple[Parameter, ...]
    pattern: re.Pattern[str]

    @classmethod
    def parse(cls, prefix: str, template: str) -> RouteTemplate:
        """Parse ``<prefix>/<template>`` as the host maps it; raises RouteError."""
        text = f"{prefix.strip('/')}/{template.strip('/')}".strip("/")
        segments = [tuple(s) for s in _split(text)]
        if any(not segment for segment in segments) and text:
            raise RouteError(f"{template!r}: empty segment ('//')")
        parameters: list[Parameter] = []
        pattern = ""
        for position, segment in enumerate(segments):
            if not segment:
                continue
            groups = ""
            for part in segment:
                if isinstance(part, Literal):
                    groups += re.escape(part.text)
                    continue
                if part.name.lower() in {p.name.lower() for p in parameters}:
                    raise RouteError(f"{template!r}: parameter {part.name!r} appears twice")
                if part.catch_all and (len(segment) > 1 or position < len(segments) - 1):
                    raise RouteError(f"{template!r}: a catch-all parameter must be the whole last segment")
                if (part.optional or part.default is not None) and len(segment) > 1:
                    raise RouteError(
                        f"{template!r}: devhost supports optional parameters only as whole segments"
                    )
                groups += f"(?P<p{len(parameters)}>{'.*' if part.catch_all else '[^/]+'})"
                parameters.append(part)
            first = segment[0] if len(segment) == 1 else None
            may_be_absent = isinstance(first, Parameter) and (
                first.optional or first.catch_all or first.default is not None
            )
            pattern += f"(?:/{groups})?" if may_be_absent else f"/{groups}"
        return cls(text, tuple(segments), tuple(parameters), re.compile(f"^{pattern}/?$", re.IGNORECASE))

    def match(self, path: str) -> dict[str, str] | None:
        """Route values for ``path`` (absent optional parameters left out), or None if it does not match."""
        found = self.pattern.match(path)
        if found is None:
            return None
        values: dict[str, str] = {}
        for index, parameter in enumerate(self.parameters):
            value = found.group(f"p{index}")
            if value is None or (parameter.catch_all and value == ""):
                value = parameter.default
            if value is None:
                continue
            if not parameter.accepts(value):
                return None
            values[parameter.name] = value
        return values


def compare(x: RouteTemplate, y: RouteTemplate) -> int:
    """WebJobsRouteBuilder's route comparison: negative when ``x`` is tried before ``y``."""
    for index, x_segment in enumerate(x.segments):
        if index >= len(y.segments):
            return -1
        x_part, y_part = x_segment[0], y.segments[index][0]
        if isinstance(x_part, Literal) != isinstance(y_part, Literal):
            return -1 if isinstance(x_part, Literal) else 1
        if isinstance(x_part, Parameter) and isinstance(y_part, Parameter):
            difference = len(y_part.constraints) - len(x_part.constraints)
            if difference:
                return difference
        elif isinstance(x_part, Literal) and isinstance(y_part, Literal):
            a, b = x_part.text.upper(), y_part.text.upper()
            if a != b:
                return -1 if a < b else 1
    return 1 if len(y.segments) > len(x.segments) else 0


def ordered(items: Iterable[T], template: Callable[[T], RouteTemplate]) -> list[T]:
    """``items`` in the order the host tries their routes (equal routes keep their registration order)."""

    def by_precedence(a: T, b: T) -> int:
        return compare(template(a), template(b))

    return sorted(items, key=functools.cmp_to_key(by_precedence))
