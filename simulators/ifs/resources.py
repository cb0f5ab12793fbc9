"""Resource paths of IFS projections: ``Svc.svc/Set(Key='v',N=1)/Navigation(…)`` parsed into parts.

Paths are parsed from the raw (percent-encoded) request path, one ``/`` segment at a time, so an encoded
``/`` inside a key value never splits a segment; each segment is then decoded and its key predicate read
with OData literal rules (``'…'`` with ``''`` for a quote, bare integers, qualified enum literals).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

_SEGMENT = re.compile(r"(?P<name>[A-Za-z_$][A-Za-z0-9_.]*)(?:\((?P<args>.*)\))?", re.DOTALL)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INTEGER = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?\d+\.\d+")
_ENUM = re.compile(r"[A-Za-z_][\w.]*'((?:[^']|'')*)'")


class PathError(ValueError):
    """A resource path that cannot be read; the message says where."""


@dataclass(frozen=True)
class Segment:
    """One path segment: a name and, when it had parentheses, its key values (named or one positional)."""

    name: str
    named: dict[str, Any] | None = None
    positional: Any = None
    has_key: bool = False


def _literal(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        inner = text[1:-1]
        if re.search(r"(?<!')'(?!')", inner.replace("''", "")):
            raise PathError(f"malformed string literal {text}")
        return inner.replace("''", "'")
    if _INTEGER.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text):
        return float(text)
    if text in ("true", "false"):
        return text == "true"
    enum = _ENUM.fullmatch(text)
    if enum:
        return enum.group(1).replace("''", "'")
    raise PathError(f"malformed key literal {text!r}")


def split_outside_quotes(text: str, quote: str) -> tuple[list[str], bool]:
    """Split ``text`` on commas outside ``quote``-delimited runs; also say whether a quote was left open."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == quote:
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts, quoted


def _split_args(text: str) -> list[str]:
    parts, unterminated = split_outside_quotes(text, "'")
    if unterminated:
        raise PathError(f"unterminated string in key ({text})")
    return parts


def parse_segment(raw: str) -> Segment:
    """Read one raw path segment."""
    text = unquote(raw)
    match = _SEGMENT.fullmatch(text)
    if match is None:
        raise PathError(f"malformed segment {text!r}")
    args = match.group("args")
    if args is None:
        return Segment(match.group("name"))
    items = _split_args(args)
    if len(items) == 1 and "=" not in _unquoted(items[0]):
        return Segment(match.group("name"), positional=_literal(items[0]), has_key=True)
    named: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not _NAME.fullmatch(name.strip()):
            raise PathError(f"malformed key part {item!r}")
        named[name.strip()] = _literal(value)
    return Segment(match.group("name"), named=named, has_key=True)


def _unquoted(text: str) -> str:
    """The text with quoted literals removed (to see whether an '=' is syntax)."""
    return re.sub(r"'(?:[^']|'')*'", "", text)


def split_path(raw_path: str) -> list[str]:
    """Raw segments of a path (empty segments dropped, so ``Svc.svc/`` is one segment)."""
    return [part for part in raw_path.split("/") if part]
