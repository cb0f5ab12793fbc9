"""State on Table Storage: the connector's batched and point-read paths against the naive baselines.

Run: ``.venv/bin/python -m devhost.azurite -- .venv/bin/python -m bench.state_bench [N] [LINKS]``
(Azurite in memory, loopback). Prints records/s, storage calls per record and peak Python memory, then,
as the last line, one JSON object of the figures.

Besides ledger writes and change detection for N keys, it resolves keys through the id map holding LINKS
links (20,000 by default), as a worker does for every message: the former ``target_ids`` (one scan of
the whole partition per look-up, kept here as the baseline) beside the current one (parallel point reads).
"""

from __future__ import annotations

import json
import os
import sys
import uuid

from azure.data.tables import TableClient, TableServiceClient

from bench.common import HEADER, RequestCounter, Result, measure
from shared.state.idmap import IdMap
from shared.state.keys import decode_key, encode_key
from shared.state.ledger import LedgerRepository
from shared.state.tables import StateTables, upsert_in_batches

LOOKUPS = 5  # look-ups measured per case
KEYS_PER_LOOKUP = 10  # source keys one look-up resolves (a message's worth)


class BenchError(SystemExit):
    """A run did not do its work: no figure is printed for it."""


def scanned_target_ids(idmap_table: TableClient, entity: str, wanted: set[str]) -> dict[str, str]:
    """The former ``IdMap.target_ids``: read the whole forward partition, keep the wanted keys."""
    rows = idmap_table.query_entities(
        "PartitionKey eq @p", parameters={"p": encode_key(f"{entity}|source")}, select=["RowKey", "TargetId"]
    )
    found = {decode_key(r["RowKey"]): str(r["TargetId"]) for r in rows}
    return {key: target for key, target in found.items() if key in wanted}


def main(n: int, links: int) -> None:
    """Measure ledger writes and change detection for ``n`` keys, and id-map look-ups among ``links``."""
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

    # The id map of a grown installation: LINKS forward links, written in transactions of 100.
    idmap = IdMap(tables)
    idmap_table = tables.table(IdMap.TABLE)
    upsert_in_batches(
        idmap_table,
        [
            {"PartitionKey": "account|source", "RowKey": f"A{i:07d}", "TargetId": f"T{i}"}
            for i in range(links)
        ],
    )
    step = max(1, links // (LOOKUPS * KEYS_PER_LOOKUP))
    spread = [(i * step) % links for i in range(LOOKUPS * KEYS_PER_LOOKUP)]  # keys across the partition
    batches = [
        [f"A{i:07d}" for i in spread[start : start + KEYS_PER_LOOKUP]]
        for start in range(0, len(spread), KEYS_PER_LOOKUP)
    ]
    keys = LOOKUPS * KEYS_PER_LOOKUP

    def check(found: dict[str, str], batch: list[str]) -> None:
        if found != {key: f"T{int(key[1:])}" for key in batch}:
            raise BenchError(f"a look-up resolved {len(found)} of {len(batch)} keys")

    def scans() -> None:
        for batch in batches:
            check(scanned_target_ids(idmap_table, "account", set(batch)), batch)

    def point_reads() -> None:
        for batch in batches:
            check(idmap.target_ids("account", batch), batch)

    before = measure(f"before: idmap look-up, scan of {links} links", keys, counter, scans)
    after = measure(f"idmap.target_ids, point reads ({links} links)", keys, counter, point_reads)
    results += [before, after]

    print(HEADER)
    for result in results:
        print(result.row())
    summary = {
        "bench": "state",
        "records": n,
        "links": links,
        "keys_per_lookup": KEYS_PER_LOOKUP,
        "idmap_lookup_ms_before": round(before.seconds / LOOKUPS * 1000, 1),
        "idmap_lookup_ms_after": round(after.seconds / LOOKUPS * 1000, 1),
        "cases": {result.name: result.figures() for result in results},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 2000,
        int(sys.argv[2]) if len(sys.argv) > 2 else 20_000,
    )
