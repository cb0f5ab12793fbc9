"""Line numbers of keys in a TOML document, which ``tomllib`` does not report.

A small scanner over the text: it follows table headers (``[a.b]``, ``[[a]]``) and ``key = value`` lines
(bare, quoted and dotted keys, inline tables on one line) and remembers on which line each dotted path was
written. Good enough to point a user at the right line of a mapping file; it does not validate TOML
(``tomllib`` has done that by the time this runs).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_KEY_PART = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_DOTTED = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_HEADER = re.compile(rf"^\s*\[\[?\s*({_DOTTED})\s*\]\]?\s*(?:#.*)?$")
_ASSIGN = re.compile(rf"^\s*({_DOTTED})\s*=")
_INLINE_KEY = re.compile(rf"[{{,]\s*({_DOTTED})\s*=")


def _parts(dotted: str) -> list[str]:
    return [part[1:-1] if part[:1] in "\"'" else part for part in re.findall(_KEY_PART, dotted)]


class LineIndex:
    """Dotted key path → the line (1-based) it is written on."""

    def __init__(self, text: str) -> None:
        self._lines: dict[tuple[str, ...], int] = {}
        header: list[str] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if match := _HEADER.match(line):
                header = _parts(match.group(1))
                self._lines.setdefault(tuple(header), number)
                continue
            if match := _ASSIGN.match(line):
                path = (*header, *_parts(match.group(1)))
                self._lines.setdefault(path, number)
                # keys of an inline table written on the same line: name = { from = "…", map = "…" }
                rest = line[match.end() :]
                for inner in _INLINE_KEY.finditer(rest):
                    self._lines.setdefault((*path, *_parts(inner.group(1))), number)

    def line_of(self, path: Sequence[str]) -> int:
        """The line of ``path``, else of its longest written prefix, else 1."""
        for end in range(len(path), 0, -1):
            found = self._lines.get(tuple(path[:end]))
            if found is not None:
                return found
        return 1
