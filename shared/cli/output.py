"""How the command line speaks: tables for people, one JSON document with ``--json``, progress on stderr."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any, TextIO


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, out: TextIO | None = None) -> None:
    """Print ``rows`` as an aligned text table with a header (numbers right-aligned), to stdout by default."""
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max([len(column), *(len(line[i]) for line in cells)]) for i, column in enumerate(columns)]
    numeric = [all(_is_number(row.get(column)) for row in rows) and bool(rows) for column in columns]

    def render(values: Sequence[str]) -> str:
        parts = [
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    stream = out or sys.stdout
    print(render(list(columns)), file=stream)
    print(render(["-" * width for width in widths]), file=stream)
    for line in cells:
        print(render(line), file=stream)


def emit_json(document: Any, *, out: TextIO | None = None) -> None:
    """Print one JSON document (what ``--json`` gives scripts), to stdout by default."""
    print(json.dumps(document, default=str, sort_keys=True), file=out or sys.stdout)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


class Progress:
    """One self-overwriting line on stderr (only on a terminal, or when asked): ``what: 1,200/2,000 …``."""

    def __init__(self, what: str, *, enabled: bool | None = None, out: TextIO | None = None) -> None:
        self._what = what
        self._out = out or sys.stderr
        self._enabled = self._out.isatty() if enabled is None else enabled
        self._started = time.monotonic()
        self._shown = False

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        """Show how far the work is."""
        if not self._enabled:
            return
        elapsed = max(time.monotonic() - self._started, 1e-9)
        of = f"/{total:,}" if total is not None else ""
        bar = ""
        if total:
            filled = int(20 * min(done / total, 1.0))
            bar = "[" + "#" * filled + "." * (20 - filled) + "] "
        line = f"\r{self._what}: {bar}{done:,}{of} ({done / elapsed:,.0f}/s) {note}"
        print(line.ljust(79), end="", file=self._out, flush=True)
        self._shown = True

    def close(self) -> None:
        """End the progress line."""
        if self._shown:
            print(file=self._out, flush=True)
            self._shown = False
