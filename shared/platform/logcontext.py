"""The correlation id (and entity) of the work in progress, stamped on every log record.

A poll, a queue message, a webhook event each carry a correlation id; ``log_context`` makes it the current
one (a ``contextvars`` variable, so threads and concurrent invocations keep their own) and every log record
created meanwhile, by any logger, gets ``correlation_id`` and ``entity`` attributes. With Application
Insights on, the exporter sends record attributes as custom dimensions, so one id follows a record along
its whole path: timer → queue → worker → Dataverse → webhook → IFS. ``install`` adds the stamp once per
process (a log record factory wrapping the current one).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
from collections.abc import Iterator
from typing import Any

_correlation: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)
_entity: contextvars.ContextVar[str | None] = contextvars.ContextVar("entity", default=None)
_lock = threading.Lock()
_installed = False


def current_correlation_id() -> str | None:
    """The correlation id of the work in progress, if any."""
    return _correlation.get()


@contextlib.contextmanager
def log_context(*, correlation_id: str | None = None, entity: str | None = None) -> Iterator[None]:
    """Make ``correlation_id`` and ``entity`` current for the block (None keeps the outer value)."""
    install()
    tokens = []
    if correlation_id is not None:
        tokens.append((_correlation, _correlation.set(correlation_id)))
    if entity is not None:
        tokens.append((_entity, _entity.set(entity)))
    try:
        yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)


def install() -> None:
    """Stamp every log record with the current correlation id and entity (idempotent)."""
    global _installed  # noqa: PLW0603 - the record factory is process-wide; wrapping it twice stamps twice
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            record.correlation_id = _correlation.get()
            record.entity = _entity.get()
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


install()  # at import: every record from now on has the attributes, so a formatter may name them
