"""The demo runs the connector's own command line (``python -m shared.cli``) in its process, as a user would.

``environment`` puts a scenario's app settings where the command line reads them (the environment);
``cli_json`` runs a command with ``--json`` and returns its document, ``cli_text`` returns what a person
sees. Each narrates the command it runs.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

from shared.cli.app import main as cli

Say = Callable[[str], None]


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` in ``os.environ`` for the block, as they were afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def cli_json(say: Say | None, *argv: str) -> tuple[int, Any]:
    """Run ``python -m shared.cli ARGV --json``; its exit code and document (narrated when ``say``)."""
    if say is not None:
        say(f"$ python -m shared.cli {' '.join(argv)}")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli([*argv, "--json"])
    return code, json.loads(out.getvalue() or "{}")


def cli_text(say: Say, *argv: str) -> int:
    """Run ``python -m shared.cli ARGV`` and print what a person sees, indented; its exit code."""
    say(f"$ python -m shared.cli {' '.join(argv)}")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli(list(argv))
    for line in out.getvalue().splitlines():
        say(f"  {line}")
    return code
