"""Jobs: long operations (reconcile, backfill) queued over HTTP and run by a timer, a slice at a time.

An HTTP call in Azure is cut after 230 seconds, so the admin functions only ``submit`` a job (202 with its
id) and the jobs timer calls ``run``: it takes the oldest unfinished job, marks it running, and gives its
handler a time slice. A handler reports progress (``done``/``total``, kept on the job for whoever polls) and
calls ``check`` between chunks of work; past the slice's deadline ``check`` raises ``SliceOver`` and the job
stays ``running`` — a resumable handler (backfill keeps its own position) continues on the timer's next run.
A handler that finishes returns its result document (``done``); one that raises marks the job ``failed``
with the error. Updates are conditional on the job's version, so two runners never move one job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from shared.records import Job
from shared.sync.ports import JobStore

_log = logging.getLogger(__name__)
_PROGRESS_EVERY_SECONDS = 5.0


class SliceOver(Exception):  # noqa: N818 - a signal, not an error: the job continues on the next run
    """The job's time slice ended; it continues on the timer's next run."""


class UnknownJobError(ValueError):
    """A job of a kind no handler runs."""


class JobContext:
    """What a handler sees of its job: the parameters, progress reporting and the slice's deadline."""

    def __init__(
        self,
        job: Job,
        store: JobStore,
        deadline: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.job = job
        self._store = store
        self._deadline = deadline
        self._monotonic = monotonic
        self._reported = 0.0

    @property
    def params(self) -> Mapping[str, Any]:
        """The job's parameters."""
        return self.job.params

    def progress(
        self, done: int, total: int | None = None, *, partial: Mapping[str, Any] | None = None
    ) -> None:
        """Record how far the job is (written at most every few seconds, and with ``partial`` always)."""
        now = self._monotonic()
        if partial is None and now - self._reported < _PROGRESS_EVERY_SECONDS:
            return
        self._reported = now
        changes: dict[str, Any] = {"done": done, "total": total}
        if partial is not None:
            changes["result"] = partial
        self.job = self._store.update(self.job, **changes)

    def check(self) -> None:
        """Raise ``SliceOver`` when the slice's time is up."""
        if self._monotonic() >= self._deadline:
            raise SliceOver


JobHandler = Callable[[JobContext], Mapping[str, Any]]


class JobRunner:
    """Submits jobs and runs them, oldest first, one slice at a time."""

    def __init__(
        self,
        store: JobStore,
        handlers: Mapping[str, JobHandler],
        *,
        now: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._handlers = dict(handlers)
        self._now = now
        self._monotonic = monotonic

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of job this runner runs."""
        return tuple(self._handlers)

    def submit(self, kind: str, params: Mapping[str, Any]) -> Job:
        """Queue a job of ``kind``; UnknownJobError for a kind no handler runs."""
        if kind not in self._handlers:
            raise UnknownJobError(f"no job kind {kind!r} (known: {', '.join(self._handlers)})")
        return self._store.submit(kind, params)

    def get(self, job_id: str) -> Job | None:
        """The job with that id."""
        return self._store.get(job_id)

    def run(self, slice_seconds: float) -> list[Job]:
        """Run unfinished jobs, oldest first, until ``slice_seconds`` are used; the jobs as they were left.

        The first job always gets to start (its handler stops at its first ``check`` past the deadline).
        """
        deadline = self._monotonic() + slice_seconds
        touched: list[Job] = []
        while not touched or self._monotonic() < deadline:
            pending = self._store.unfinished()
            if not pending:
                break
            job = self._run_one(pending[0], deadline)
            touched.append(job)
            if job.status == "running":
                break  # its slice is over: the next run continues it
        return touched

    def _run_one(self, job: Job, deadline: float) -> Job:
        job = self._store.update(
            job, status="running", started_at=job.started_at or self._now(), slices=job.slices + 1
        )
        handler = self._handlers.get(job.kind)
        if handler is None:
            return self._store.update(
                job, status="failed", error=f"no handler for job kind {job.kind!r}", finished_at=self._now()
            )
        context = JobContext(job, self._store, deadline, self._monotonic)
        try:
            result = handler(context)
        except SliceOver:
            _log.info("job %s (%s) continues on the next run", job.id, job.kind)
            return context.job
        except Exception as exc:
            _log.exception("job %s (%s) failed", job.id, job.kind)
            return self._store.update(
                context.job,
                status="failed",
                error=f"{type(exc).__name__}: {exc}"[:2000],
                finished_at=self._now(),
            )
        return self._store.update(context.job, status="done", result=dict(result), finished_at=self._now())
