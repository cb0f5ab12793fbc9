"""What every command gets: the app settings, the runtime built from them, how to print, and exit codes."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from shared.cli.output import Progress, emit_json, table
from shared.config import AppSettings
from shared.ops.runtime import Operations, operations
from shared.runtime import SyncRuntime, sync_runtime

EXIT_OK = 0
EXIT_ATTENTION = 1  # done, but something needs a person: records parked, checks failed
EXIT_USAGE = 2  # wrong arguments, settings or mapping files
EXIT_UNAVAILABLE = 3  # IFS or Dataverse could not be reached or refused the work


@dataclass
class Context:
    """One run of the command line."""

    settings: AppSettings
    json_output: bool = False

    @functools.cached_property
    def runtime(self) -> SyncRuntime:
        """The sync runtime (clients and engine), built on first use."""
        return sync_runtime(self.settings)

    @functools.cached_property
    def operations(self) -> Operations:
        """Status, replay, reconcile, audit, pause and jobs over the runtime, built on first use."""
        return operations(self.settings)

    def progress(self, what: str) -> Progress:
        """A progress line for long work."""
        return Progress(what)  # on stderr, and only on a terminal: stdout stays the table or the document

    def show(
        self, document: Any, rows: list[dict[str, Any]], columns: list[str], title: str | None = None
    ) -> None:
        """Print ``document`` as JSON, or ``rows`` as a table under ``title``."""
        if self.json_output:
            emit_json(document)
            return
        if title:
            print(title)
        table(rows, columns)
