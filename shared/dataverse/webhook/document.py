r"""Turn a webhook body into a JSON tree, refusing what no Dataverse serializer can have written.

Beyond what ``json.loads`` checks, a body is refused when it is not valid text in its encoding (invalid
UTF-8, or UTF-8-encoded surrogates that Python's JSON decoder would otherwise let through), when a string
holds a lone surrogate (``"\ud800"``: not Unicode, so it cannot be logged, stored or sent on as UTF-8), when
a number lies beyond the range of .NET's ``double`` (no Dataverse column holds one; Python's ``Decimal``
cannot even represent ``1e9999999999999999999``), and when a member name repeats within one object. Every
refusal is a WebhookPayloadError with path ``""``, except a lone surrogate's: its JSON path
(``InputParameters[0].value.Attributes[2].value``), as it is found after decoding.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from shared.dataverse.webhook.errors import WebhookPayloadError

_SURROGATE = re.compile("[\ud800-\udfff]")
# A \uXXXX escape of a surrogate; only such escapes can put a surrogate into text decoded strictly.
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")

_DOUBLE_MAX = Decimal("1.7976931348623157e308")
"""The largest finite .NET ``double``; .NET ``decimal`` (about 7.9e28) and ``long`` lie well inside it."""
_DOUBLE_MIN = Decimal("4.9406564584124654e-324")
"""The smallest positive .NET ``double`` (subnormal); anything non-zero below it cannot come from .NET."""
_INTEGER_DIGITS_MAX = len(str(int(_DOUBLE_MAX)))


def load_document(body: bytes | str) -> Any:
    """The JSON value of ``body``, fractions and exponents as Decimal; WebhookPayloadError if it is bad."""
    text = _text(body)
    try:
        document = json.loads(
            text,
            parse_float=_decimal,
            parse_int=_integer,
            parse_constant=_reject_constant,
            object_pairs_hook=_object_without_duplicates,
        )
    except WebhookPayloadError:
        raise
    except RecursionError:
        raise WebhookPayloadError("", "not JSON: nested too deeply") from None
    except ValueError as error:  # JSONDecodeError
        raise WebhookPayloadError("", f"not JSON: {error}") from None
    if _ESCAPED_SURROGATE.search(text):
        _refuse_lone_surrogates(document)
    return document


def _text(body: bytes | str) -> str:
    if isinstance(body, str):
        found = _SURROGATE.search(body)
        if found is not None:
            raise WebhookPayloadError(
                "", f"not JSON: {_surrogate(found.group())} at character {found.start()}"
            )
        return body
    # json.loads would pick the same encoding (UTF-8 unless the first bytes say UTF-16/32) but decode with
    # "surrogatepass", accepting the UTF-8 form of a surrogate (b"\xed\xa0\x80"); strict decoding refuses it.
    encoding = json.detect_encoding(body)
    try:
        return body.decode(encoding)
    except UnicodeDecodeError as error:
        raise WebhookPayloadError(
            "", f"not JSON: invalid {encoding} at byte {error.start}: {error.reason}"
        ) from None


def _surrogate(char: str) -> str:
    return f"a lone surrogate (U+{ord(char):04X}), which is not Unicode text,"


def _refuse_lone_surrogates(document: Any) -> None:
    """Walk the tree (iteratively: it may be deep) for strings that kept an unpaired surrogate escape."""
    pending: list[tuple[Any, str]] = [(document, "")]
    while pending:
        node, path = pending.pop()
        if isinstance(node, str):
            found = _SURROGATE.search(node)
            if found is not None:
                raise WebhookPayloadError(path, f"{_surrogate(found.group())} in a string")
        elif isinstance(node, dict):
            for key, value in node.items():
                found = _SURROGATE.search(key)
                if found is not None:
                    raise WebhookPayloadError(path, f"{_surrogate(found.group())} in a member name")
                pending.append((value, f"{path}.{key}" if path else key))
        elif isinstance(node, list):
            pending.extend((item, f"{path}[{index}]") for index, item in enumerate(node))


def _decimal(literal: str) -> Decimal:
    try:
        value = Decimal(literal)
    except ArithmeticError:  # decimal.InvalidOperation: an exponent beyond what Decimal can hold
        raise _out_of_range(literal) from None
    magnitude = value.copy_abs()  # copy_abs, unlike abs(), applies no context: it cannot overflow
    if magnitude and not _DOUBLE_MIN <= magnitude <= _DOUBLE_MAX:
        raise _out_of_range(literal)
    return value


def _integer(literal: str) -> int:
    # The length first: Python refuses to convert more than 4300 digits, with a less clear message.
    if len(literal.lstrip("-")) > _INTEGER_DIGITS_MAX:
        raise _out_of_range(literal)
    value = int(literal)
    if abs(value) > _DOUBLE_MAX:
        raise _out_of_range(literal)
    return value


def _out_of_range(literal: str) -> WebhookPayloadError:
    shown = literal if len(literal) <= 40 else f"{literal[:40]}…"
    return WebhookPayloadError("", f"not JSON: the number {shown} is beyond the range of a .NET double")


def _reject_constant(name: str) -> Any:
    raise WebhookPayloadError("", f"not JSON: {name} is not a JSON number")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise WebhookPayloadError("", f"not JSON: the key {key!r} appears twice in one object")
        result[key] = value
    return result
