r"""Encode arbitrary source keys into valid Table Storage PartitionKey/RowKey values, reversibly.

Table Storage forbids ``/ \ # ?`` and control characters in keys. Those become ``~XX`` escapes (two
uppercase hex digits), and so do ``~`` itself (to stay reversible) and ``%``: the table service has
decoded percent signs in keys twice, turning point operations on such keys into 404s or writes under
another key, so no stored key carries one. Everything else is kept, so keys stay readable in Storage
Explorer (``C1000000933`` stays ``C1000000933``, ``FR020/10062`` becomes ``FR020~2F10062``), unlike base64.
"""

from __future__ import annotations

import re

MAX_KEY_BYTES = 1024  # Table Storage: PartitionKey and RowKey are each at most 1 KiB
_UNSAFE = re.compile(r"[~%/\\#?\x00-\x1f\x7f-\x9f]")
_ESCAPE = re.compile(r"~([0-9A-F]{2})")


class KeyEncodingError(ValueError):
    """A source key cannot become a table key (empty, too long, or a malformed encoded value)."""


def encode_key(source_key: str) -> str:
    """The table-safe form of ``source_key``."""
    if source_key == "":
        raise KeyEncodingError("an empty key cannot be stored")
    encoded = _UNSAFE.sub(lambda m: f"~{ord(m.group()):02X}", source_key)
    # The service measures keys in UTF-16 code units of 2 bytes.
    try:
        size = len(encoded.encode("utf-16-le"))
    except UnicodeEncodeError as exc:
        # A lone surrogate ("C\ud800") is valid JSON but not text: no storage service can hold it.
        raise KeyEncodingError(
            f"key holds a lone surrogate (\\u{ord(exc.object[exc.start]):04x}), not text: {source_key!r}"
        ) from exc
    if size > MAX_KEY_BYTES:
        raise KeyEncodingError(f"key is longer than {MAX_KEY_BYTES} bytes once encoded: {source_key[:40]!r}…")
    return encoded


def decode_key(table_key: str) -> str:
    """The source key that ``encode_key`` turned into ``table_key``."""
    if _UNSAFE.search(_ESCAPE.sub("", table_key)):
        raise KeyEncodingError(f"not an encoded key: {table_key!r}")
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), table_key)
