"""Jobs: long operations (reconcile, backfill) asked for over HTTP, run later by the jobs timer.

An HTTP call in Azure is cut after 230 seconds, so the admin functions only queue a job and answer 202 with
its id; the jobs timer runs queued jobs one at a time and records their progress and result here, where the
caller polls them. One partition; rows are read by id, the unfinished ones by a filter on ``Status``.
Updates are conditional on the row's ETag, so a job is never moved by two runners at once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableEntity, UpdateMode

from shared.records import Job
from shared.state.clock import Clock, utc_now
from shared.state.tables import StateTables, get_entity

_PARTITION = "job"
RESULT_LIMIT = 30_000  # characters of the result document kept (a string property holds 32K UTF-16 units)
UNFINISHED = ("queued", "running")


class StaleJobError(RuntimeError):
    """The job changed since it was read (another runner, or it was cancelled)."""


def _job(row: TableEntity) -> Job:
    result = row.get("Result")
    return Job(
        id=row["RowKey"],
        kind=row["Kind"],
        params=json.loads(row.get("Params") or "{}"),
        status=row["Status"],
        created_at=row["CreatedAt"],
        updated_at=row["UpdatedAt"],
        started_at=row.get("StartedAt"),
        finished_at=row.get("FinishedAt"),
        done=int(row.get("Done", 0)),
        total=None if row.get("Total") is None else int(row["Total"]),
        slices=int(row.get("Slices", 0)),
        result=json.loads(result) if result else None,
        error=row.get("Error"),
        version=str(row.metadata.get("etag", "")),
    )


def _fit(document: Mapping[str, Any] | None) -> str | None:
    if document is None:
        return None
    text = json.dumps(document, default=str, sort_keys=True)
    if len(text) <= RESULT_LIMIT:
        return text
    return json.dumps({"truncated": True, "head": text[: RESULT_LIMIT - 100]})


class JobRepository:
    """Queued, running and finished jobs."""

    TABLE = "jobs"

    def __init__(self, tables: StateTables, clock: Clock = utc_now) -> None:
        self._table = tables.table(self.TABLE)
        self._clock = clock

    def submit(self, kind: str, params: Mapping[str, Any]) -> Job:
        """Queue a new job; returns it with its id."""
        now = self._clock()
        job_id = uuid.uuid4().hex
        self._table.create_entity(
            {
                "PartitionKey": _PARTITION,
                "RowKey": job_id,
                "Kind": kind,
                "Params": json.dumps(dict(params), default=str, sort_keys=True),
                "Status": "queued",
                "CreatedAt": now,
                "UpdatedAt": now,
                "Done": 0,
                "Slices": 0,
            }
        )
        found = self.get(job_id)
        assert found is not None
        return found

    def get(self, job_id: str) -> Job | None:
        """The job with that id."""
        if not job_id.isalnum():
            return None
        row = get_entity(self._table, _PARTITION, job_id)
        return None if row is None else _job(row)

    def unfinished(self) -> list[Job]:
        """Queued and running jobs, oldest first."""
        rows = self._table.query_entities(
            "PartitionKey eq @p and (Status eq 'queued' or Status eq 'running')", parameters={"p": _PARTITION}
        )
        return sorted((_job(r) for r in rows), key=lambda j: j.created_at)

    def update(self, job: Job, **changes: Any) -> Job:
        """Write ``changes`` (Job field names) to the job as read; StaleJobError if it changed since."""
        names = {
            "status": "Status",
            "started_at": "StartedAt",
            "finished_at": "FinishedAt",
            "done": "Done",
            "total": "Total",
            "slices": "Slices",
            "error": "Error",
        }
        row: dict[str, Any] = {"PartitionKey": _PARTITION, "RowKey": job.id, "UpdatedAt": self._clock()}
        for name, value in changes.items():
            if name == "result":
                row["Result"] = _fit(value)
            else:
                row[names[name]] = value
        try:
            self._table.update_entity(
                {k: v for k, v in row.items() if v is not None},
                mode=UpdateMode.MERGE,
                etag=job.version,
                match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceModifiedError, ResourceNotFoundError) as exc:
            raise StaleJobError(f"job {job.id} changed since it was read") from exc
        found = self.get(job.id)
        assert found is not None
        return found

    def purge_finished(self, before: datetime) -> int:
        """Delete finished jobs last updated before ``before``; how many."""
        rows = self._table.query_entities(
            "PartitionKey eq @p and UpdatedAt lt @before",
            parameters={"p": _PARTITION, "before": before},
            select=["RowKey", "Status"],
        )
        count = 0
        for row in rows:
            if row["Status"] not in UNFINISHED:
                self._table.delete_entity(_PARTITION, row["RowKey"])
                count += 1
        return count
