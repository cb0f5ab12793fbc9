"""Tokenizer for OData URL expressions ($filter, $orderby, $select, alias values).

Operators (eq, and, not, …) are plain identifiers here; the parser gives them meaning by position, as
OData's grammar does. Literal forms follow the OData v4 ABNF: ``'…'`` strings with ``''`` escaping,
GUIDs, ``2025-01-15`` dates, ``2026-01-01T00:00:00Z`` timestamps (an offset is mandatory), integers,
decimals and doubles, and ``Qualified.Type'value'`` typed literals (enums).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from simulators.common.odata.errors import ODataError


class Kind(enum.Enum):
    """Token kinds."""

    IDENT = "identifier"
    STRING = "string"
    INT = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "timestamp"
    GUID = "GUID"
    TYPED = "typed literal"
    ALIAS = "parameter alias"
    LPAREN = "'('"
    RPAREN = "')'"
    COMMA = "','"
    SLASH = "'/'"
    COLON = "':'"
    STAR = "'*'"
    MINUS = "'-'"
    EQUALS = "'='"
    ARRAY = "JSON array"
    EOF = "end of expression"


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, source text, parsed value (for literals) and 0-based position."""

    kind: Kind
    text: str
    pos: int
    value: Any = None


_HEX = "[0-9A-Fa-f]"
_END = r"(?![\w.:-])"
_GUID = re.compile(rf"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}(?![\w.-])")
_DATETIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)([Zz]|[+-]\d{2}:\d{2})?" + _END
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}" + _END)
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?(?![\w.])")
_IDENT = re.compile(r"\$?[^\W\d]\w*(?:\.[^\W\d]\w*)*")
_ALIAS = re.compile(r"@[^\W\d]\w*")
_ISO_TIMESTAMP = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2})(?::(\d{2})(?:\.(\d+))?)?([Zz]|[+-]\d{2}:?\d{2})?"
)
_WHITESPACE = re.compile(r"[ \t]+")
_PUNCTUATION = {
    "(": Kind.LPAREN,
    ")": Kind.RPAREN,
    ",": Kind.COMMA,
    "/": Kind.SLASH,
    ":": Kind.COLON,
    "*": Kind.STAR,
    "-": Kind.MINUS,
    "=": Kind.EQUALS,
}


def syntax_error(text: str, pos: int, detail: str) -> ODataError:
    """An ODataError naming the position, the whole expression and what was wrong."""
    return ODataError(f"Syntax error at position {pos} in '{text}': {detail}.", position=pos)


def parse_timestamp(text: str) -> dt.datetime | None:
    """Parse an ISO 8601 timestamp (``Z``/offset optional: a missing offset means UTC), else None.

    Fractions beyond microseconds (.NET writes 7 digits) are truncated; Python keeps 6.
    """
    match = _ISO_TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    day, hour_minute, seconds, fraction, offset = match.groups()
    iso = f"{day}T{hour_minute}:{seconds or '00'}"
    if fraction:
        iso += "." + fraction[:6].ljust(6, "0")
    iso += "+00:00" if offset is None or offset in "Zz" else offset
    try:
        return dt.datetime.fromisoformat(iso)
    except ValueError:
        return None


def parse_date(text: str) -> dt.date | None:
    """Parse an ``YYYY-MM-DD`` date, else None."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _read_string(text: str, start: int) -> tuple[str, int]:
    """Read a quoted string starting at ``text[start] == "'"``; return (value, index after the quote)."""
    chunks: list[str] = []
    index = start + 1
    while True:
        quote = text.find("'", index)
        if quote < 0:
            raise syntax_error(text, start, "unterminated string literal")
        chunks.append(text[index:quote])
        if text.startswith("''", quote):
            chunks.append("'")
            index = quote + 2
            continue
        return "".join(chunks), quote + 1


def tokenize(text: str) -> Iterator[Token]:
    """Yield the tokens of an expression, then an EOF token; raise ODataError on a bad character.

    Lazy on purpose: the parser then reports the leftmost problem first, whether lexical or grammatical.
    """
    index = 0
    while index < len(text):
        token, index = _next_token(text, index)
        if token is not None:
            yield token
    yield Token(Kind.EOF, "", len(text))


def _next_token(text: str, index: int) -> tuple[Token | None, int]:
    for scan in _SCANNERS:
        found = scan(text, index)
        if found is not None:
            return found
    char = text[index]
    if char.isdigit():
        word = re.match(r"[\w.:+-]+", text[index:])
        raise syntax_error(text, index, f"'{word.group() if word else char}' is not a valid literal")
    raise syntax_error(text, index, f"character '{char}' is not valid here")


Scanned = tuple[Token | None, int] | None


def _scan_whitespace(text: str, index: int) -> Scanned:
    match = _WHITESPACE.match(text, index)
    return None if match is None else (None, match.end())


def _scan_string(text: str, index: int) -> Scanned:
    if text[index] != "'":
        return None
    value, end = _read_string(text, index)
    return Token(Kind.STRING, text[index:end], index, value), end


def _scan_guid(text: str, index: int) -> Scanned:
    match = _GUID.match(text, index)
    if match is None:
        return None
    return Token(Kind.GUID, match.group(), index, uuid.UUID(match.group())), match.end()


def _scan_timestamp(text: str, index: int) -> Scanned:
    match = _DATETIME.match(text, index)
    if match is None:
        return None
    return _timestamp_token(text, index, match), match.end()


def _scan_date(text: str, index: int) -> Scanned:
    match = _DATE.match(text, index)
    if match is None:
        return None
    value = parse_date(match.group())
    if value is None:
        raise syntax_error(text, index, f"'{match.group()}' is not a valid Edm.Date")
    return Token(Kind.DATE, match.group(), index, value), match.end()


def _scan_number(text: str, index: int) -> Scanned:
    match = _NUMBER.match(text, index)
    if match is None:
        return None
    literal = match.group()
    if match.group(1) is None and match.group(2) is None:
        return Token(Kind.INT, literal, index, int(literal)), match.end()
    return Token(Kind.DECIMAL, literal, index, float(literal)), match.end()


def _scan_alias(text: str, index: int) -> Scanned:
    match = _ALIAS.match(text, index)
    return None if match is None else (Token(Kind.ALIAS, match.group(), index, match.group()), match.end())


def _scan_identifier(text: str, index: int) -> Scanned:
    match = _IDENT.match(text, index)
    if match is None:
        return None
    end = match.end()
    if end < len(text) and text[end] == "'":  # Qualified.Type'value': an enum (or another typed) literal
        value, end = _read_string(text, end)
        return Token(Kind.TYPED, text[index:end], index, (match.group(), value)), end
    return Token(Kind.IDENT, match.group(), index, match.group()), end


def _scan_array(text: str, index: int) -> Scanned:
    """``[…]`` up to its closing bracket, quotes respected: a JSON array parameter value (raw text)."""
    if text[index] != "[":
        return None
    quote: str | None = None
    position = index + 1
    while position < len(text):
        char = text[position]
        if quote is not None:
            if char == "\\" and quote == '"':
                position += 1
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "]":
            raw = text[index : position + 1]
            return Token(Kind.ARRAY, raw, index, raw), position + 1
        position += 1
    raise syntax_error(text, index, "unterminated JSON array")


def _scan_punctuation(text: str, index: int) -> Scanned:
    kind = _PUNCTUATION.get(text[index])
    return None if kind is None else (Token(kind, text[index], index), index + 1)


# Order matters: a GUID or a date may start with digits, a timestamp starts with a date.
_SCANNERS = (
    _scan_whitespace,
    _scan_string,
    _scan_guid,
    _scan_timestamp,
    _scan_date,
    _scan_number,
    _scan_alias,
    _scan_identifier,
    _scan_array,
    _scan_punctuation,
)


def _timestamp_token(text: str, index: int, match: re.Match[str]) -> Token:
    if match.group(3) is None:
        detail = f"the Edm.DateTimeOffset literal '{match.group()}' needs an offset (Z or +hh:mm)"
        if re.match(r" \d{2}:\d{2}", text[match.end() :]):
            detail += "; a '+' must be sent as %2B in a URL, or it arrives as a space"
        raise syntax_error(text, index, detail)
    value = parse_timestamp(match.group())
    if value is None:
        raise syntax_error(text, index, f"'{match.group()}' is not a valid Edm.DateTimeOffset")
    return Token(Kind.DATETIME, match.group(), index, value)
