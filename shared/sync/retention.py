"""Retention: what the purge timer deletes — audit rows, finished jobs and expired webhook dedupe claims.

Audit rows are kept ``AUDIT_RETENTION_DAYS`` whole UTC days (a day's partition goes at once), finished jobs
as long; a dedupe claim expires by itself (its ``ExpiresAt``, set by the webhook when it claimed the event)
and is deleted once expired. Nothing else is purged: the ledger, the id map and parked records are state,
not history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.sync.ports import AuditSearch, ExpiringClaims, JobStore


@dataclass(frozen=True)
class Purged:
    """How many rows one purge deleted."""

    audit: int
    jobs: int
    dedupe: int


def purge(
    *, audit: AuditSearch, jobs: JobStore, dedupe: ExpiringClaims, now: datetime, keep_days: int
) -> Purged:
    """Delete what is older than ``keep_days`` (and the dedupe claims that expired)."""
    cutoff = now.astimezone(UTC) - timedelta(days=keep_days)
    return Purged(
        audit=audit.purge_before(cutoff.date()),
        jobs=jobs.purge_finished(cutoff),
        dedupe=dedupe.purge_expired(),
    )
