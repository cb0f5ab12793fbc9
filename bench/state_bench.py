"""State on Table Storage: the connector's batched paths against the naive per-row baseline.

Run: ``.venv/bin/python -m devhost.azurite -- .venv/bin/python -m bench.state_bench [N]``
(Azurite in memory, loopback). Prints records/s, storage calls per record and peak Python memory.
"""

from __future__ import annotations

import os
import sys
import uuid

from azure.data.tables import TableServiceClient

from bench.common import HEADER, RequestCounter, Result, measure
from shared.state.keys import encode_key
from shared.state.ledger import LedgerRepository
from shared.state.tables import StateTables


def main(n: int) -> None:
    """Measure ledger writes and change detection for ``n`` keys."""
    counter = RequestCounter()
    service = TableServiceClient.from_connection_string(os.environ["AzureWebJobsStorage"], transport=counter)
    tables = StateTables(service, "b" + uuid.uuid4().hex[:10])
    ledger = LedgerRepository(tables)
    versions = {f"C{i:07d}": f"2026112912{i % 60:02d}00" for i in range(n)}
    table = tables.table(LedgerRepository.TABLE)
    results: list[Result] = []

    def per_row_upserts() -> None:
        for key, version in versions.items():
            table.upsert_entity(
                {"PartitionKey": "baseline", "RowKey": encode_key(key), "VersionSeen": version}
            )

    results.append(measure("baseline: mark seen, one upsert per row", n, counter, per_row_upserts))
    results.append(
        measure(
            "ledger.mark_seen (transactions of 100)", n, counter, lambda: ledger.mark_seen("orders", versions)
        )
    )

    scan = dict(versions)
    for i in range(0, n, 10):  # every tenth order changed since the last poll
        scan[f"C{i:07d}"] = "20261130000000"

    def per_row_lookup() -> None:
        changed = []
        for key, version in scan.items():
            entry = ledger.get("orders", key)
            if entry is None or entry.version_seen != version:
                changed.append(key)
        assert len(changed) == n // 10

    def partition_diff() -> None:
        assert len(ledger.changed("orders", scan)) == n // 10

    results.append(measure("baseline: detect changes, one read per key", n, counter, per_row_lookup))
    results.append(measure("ledger.changed (one partition scan)", n, counter, partition_diff))
    print(HEADER)
    for result in results:
        print(result.row())


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
