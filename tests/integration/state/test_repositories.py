"""Each state repository against Azurite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import pytest
from azure.core.pipeline.transport import RequestsTransport
from azure.data.tables import TableServiceClient, UpdateMode

from shared.platform.encryption import Cipher
from shared.platform.tokens import AccessToken
from shared.records import AuditEntry, ParkedRecord
from shared.state.audit import AuditTrail
from shared.state.dedupe import WebhookDedupe
from shared.state.idmap import IdMap
from shared.state.keys import KeyEncodingError, encode_key
from shared.state.ledger import LedgerRepository
from shared.state.parked import ParkedRecords
from shared.state.subscriptions import Subscription, SubscriptionRepository
from shared.state.tables import StateTables, upsert_in_batches
from shared.state.tokens import EncryptedTokenCache
from shared.state.watermarks import StaleWatermarkError, WatermarkRepository

AWKWARD_KEYS = ["C1000000933", "FR020/10062", "a\\b#c?d", "50% off", "ÅÄÖ 'quoted'", "tab\there"]


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_watermark_advances_only_from_what_was_read(tables: StateTables) -> None:
    """A second advance from the same read is refused; a fresh read can advance."""
    repo = WatermarkRepository(tables)
    assert repo.get("CustomerInfoSet") is None
    first = repo.advance("CustomerInfoSet", "2026-11-01T00:00:00Z", read=None)
    with pytest.raises(StaleWatermarkError):
        repo.advance("CustomerInfoSet", "2026-11-02T00:00:00Z", read=None)
    second = repo.advance("CustomerInfoSet", "2026-11-02T00:00:00Z", read=first)
    with pytest.raises(StaleWatermarkError):
        repo.advance("CustomerInfoSet", "2026-11-03T00:00:00Z", read=first)
    current = repo.get("CustomerInfoSet")
    assert current is not None
    assert current.value == "2026-11-02T00:00:00Z"
    assert current.etag == second.etag
    assert [w.stream for w in repo.streams()] == ["CustomerInfoSet"]


def test_ledger_reports_only_new_and_changed_versions(tables: StateTables) -> None:
    """After marking versions seen, only differing or unknown keys come back as changed."""
    ledger = LedgerRepository(tables)
    ledger.mark_seen("CustomerOrder", {k: "v1" for k in AWKWARD_KEYS})
    scan = {k: "v1" for k in AWKWARD_KEYS} | {AWKWARD_KEYS[1]: "v2", "NEW/1": "v1"}
    assert ledger.changed("CustomerOrder", scan) == {AWKWARD_KEYS[1]: "v2", "NEW/1": "v1"}
    assert ledger.versions("CustomerOrder") == {k: "v1" for k in AWKWARD_KEYS}


def test_ledger_keeps_seen_and_synced_apart(tables: StateTables) -> None:
    """Seen and synced versions are recorded independently, with the target id."""
    ledger = LedgerRepository(tables)
    ledger.mark_seen("CustomerOrder", {"A/1": "v1"})
    synced = ledger.mark_synced("CustomerOrder", "A/1", "v1", "0000-guid")
    assert (synced.version_seen, synced.version_synced, synced.target_id) == ("v1", "v1", "0000-guid")
    ledger.mark_seen("CustomerOrder", {"A/1": "v2"})
    entry = ledger.get("CustomerOrder", "A/1")
    assert entry is not None
    assert (entry.version_seen, entry.version_synced, entry.target_id) == ("v2", "v1", "0000-guid")
    ledger.forget("CustomerOrder", ["A/1"])
    assert ledger.get("CustomerOrder", "A/1") is None


def test_ledger_batches_more_than_one_transaction(tables: StateTables) -> None:
    """250 keys (three transactions) are all recorded."""
    ledger = LedgerRepository(tables)
    ledger.mark_seen("SalesPart", {f"SITE/{i}": f"v{i}" for i in range(250)})
    assert len(ledger.versions("SalesPart")) == 250


def test_id_map_links_both_ways(tables: StateTables) -> None:
    """A link is found from the source key and from the target id, whatever the GUID's case."""
    idmap = IdMap(tables)
    for i, key in enumerate(AWKWARD_KEYS):
        idmap.link("account", key, f"AAAA000{i}-0000-0000-0000-00000000000{i}")
    assert idmap.target_id("account", "FR020/10062") == "AAAA0001-0000-0000-0000-000000000001"
    assert idmap.source_key("account", "aaaa0001-0000-0000-0000-000000000001") == "FR020/10062"
    assert idmap.target_ids("account", ["a\\b#c?d", "missing"]) == {
        "a\\b#c?d": "AAAA0002-0000-0000-0000-000000000002"
    }
    assert idmap.target_id("account", "missing") is None


def test_dedupe_claims_once_until_expiry_and_purges(tables: StateTables) -> None:
    """The first delivery wins, a repeat loses, an expired claim can be taken again, purge removes it."""
    clock = FakeClock()
    dedupe = WebhookDedupe(tables, clock)
    key = "op-1|Update|guid-1"
    assert dedupe.claim(key, timedelta(hours=1)) is True
    assert dedupe.claim(key, timedelta(hours=1)) is False
    clock.now += timedelta(hours=2)
    assert dedupe.claim(key, timedelta(hours=1)) is True
    assert dedupe.claim("other", timedelta(minutes=1)) is True
    clock.now += timedelta(minutes=30)
    assert dedupe.purge_expired() == 1
    assert dedupe.claim("other", timedelta(minutes=1)) is True
    assert dedupe.claim(key, timedelta(hours=1)) is False


def test_dedupe_release_lets_a_retry_through(tables: StateTables) -> None:
    """After release, the same event can be claimed again."""
    dedupe = WebhookDedupe(tables)
    assert dedupe.claim("evt", timedelta(hours=1))
    dedupe.release("evt")
    assert dedupe.claim("evt", timedelta(hours=1))


def test_audit_trail_reads_newest_first_and_by_record(tables: StateTables) -> None:
    """Entries come back newest first within a day, and a record's history is found by key."""
    clock = FakeClock()
    trail = AuditTrail(tables, clock)
    for minute, outcome in enumerate(["parked", "synced", "unchanged"]):
        clock.now = datetime(2026, 11, 29, 12, minute, tzinfo=UTC)
        trail.record([AuditEntry("ifs->dataverse", "CustomerOrder", "C1/1", outcome, correlation_id="c1")])
    trail.record([AuditEntry("ifs->dataverse", "Customer", "10041988", "synced", target_id="g1")])
    assert [e.outcome for e in trail.for_record("CustomerOrder", "C1/1")] == ["unchanged", "synced", "parked"]
    assert len(list(trail.recent())) == 4


def test_parked_records_count_attempts_and_resolve(tables: StateTables) -> None:
    """Parking twice keeps one entry with two attempts and the latest error; resolve closes it."""
    clock = FakeClock()
    parked = ParkedRecords(tables, clock)
    record = ParkedRecord(
        "CustomerOrder",
        "C1/1",
        "unknown_product",
        "product X not found",
        "ifs->dataverse",
        queue="orders",
        payload={"keys": ["C1/1"]},
    )
    parked.park(record)
    clock.now += timedelta(minutes=5)
    again = parked.park(ParkedRecord("CustomerOrder", "C1/1", "invalid_value", "bad qty", "ifs->dataverse"))
    assert again.attempts == 2
    assert again.error_class == "invalid_value"
    assert again.first_parked_at == datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    parked.park(ParkedRecord("Customer", "a/b", "invalid_value", "too long", "ifs->dataverse"))
    assert {r.source_key for r in parked.list(error_class="invalid_value")} == {"C1/1", "a/b"}
    assert [r.source_key for r in parked.list(entity="Customer")] == ["a/b"]
    assert parked.resolve("CustomerOrder", "C1/1") is True
    assert parked.resolve("CustomerOrder", "C1/1") is False
    assert parked.get("CustomerOrder", "C1/1") is None


def test_parked_payload_is_kept_and_large_payloads_truncated(tables: StateTables) -> None:
    """The payload needed for replay round-trips; an oversized one is truncated, not rejected."""
    parked = ParkedRecords(tables)
    parked.park(ParkedRecord("Quote", "Q1", "invalid_value", "x", "ifs->dataverse", payload={"a": [1, 2]}))
    assert parked.get("Quote", "Q1").payload == {"a": [1, 2]}  # type: ignore[union-attr]
    parked.park(
        ParkedRecord("Quote", "Q2", "invalid_value", "x", "ifs->dataverse", payload={"a": "x" * 50_000})
    )
    assert parked.get("Quote", "Q2").payload["truncated"] is True  # type: ignore[union-attr,index]


def test_subscriptions_round_trip(tables: StateTables) -> None:
    """A saved subscription is read back, listed and deleted."""
    repo = SubscriptionRepository(tables)
    repo.save(
        Subscription("ifs-sync", "https://fn/api/webhooks/dataverse", "se-1", {"Create salesorder": "s1"})
    )
    got = repo.get("ifs-sync")
    assert got is not None
    assert got.step_ids == {"Create salesorder": "s1"}
    assert [s.name for s in repo.list()] == ["ifs-sync"]
    repo.delete("ifs-sync")
    assert repo.get("ifs-sync") is None


def test_token_cache_encrypts_at_rest(tables: StateTables) -> None:
    """The stored row does not contain the token; the token reads back; a wrong key reads as a miss."""
    expires = datetime(2026, 11, 29, 12, 3, tzinfo=UTC)
    cache = EncryptedTokenCache(tables, Cipher(bytes(range(32))))
    cache.put("ifs:acme1", AccessToken("eyJ.secret.token", expires))
    raw = tables.table(EncryptedTokenCache.TABLE).get_entity("token", "ifs:acme1")
    assert "eyJ.secret.token" not in str(dict(raw))
    assert cache.get("ifs:acme1") == AccessToken("eyJ.secret.token", expires)
    assert cache.get("absent") is None
    assert EncryptedTokenCache(tables, Cipher(bytes(32))).get("ifs:acme1") is None


def test_token_ciphertext_is_bound_to_its_row(tables: StateTables) -> None:
    """A ciphertext copied onto another row does not decrypt there."""
    cache = EncryptedTokenCache(tables, Cipher(bytes(range(32))))
    cache.put("a", AccessToken("token-a", datetime(2030, 1, 1, tzinfo=UTC)))
    table = tables.table(EncryptedTokenCache.TABLE)
    row = dict(table.get_entity("token", "a"))
    table.upsert_entity({**row, "RowKey": "b"})
    assert cache.get("b") is None


@pytest.mark.parametrize("filler", ['"', "\\", "Å", "😀"])
def test_payloads_that_grow_when_escaped_still_fit(tables: StateTables, filler: str) -> None:
    """Quotes, backslashes and non-ASCII text (inflated by JSON escaping) are truncated within the limit."""
    parked = ParkedRecords(tables)
    parked.park(
        ParkedRecord("Quote", "Q3", "invalid_value", "x", "ifs->dataverse", payload={"k": filler * 40_000})
    )
    stored = parked.get("Quote", "Q3")
    assert stored is not None
    assert stored.payload is not None
    assert stored.payload["truncated"] is True
    assert str(stored.payload["head"]).startswith('{"k": "')


def test_corrupted_or_retimed_token_rows_read_as_misses(tables: StateTables) -> None:
    """A row with a ciphertext that is not base64, or an expiry pushed later, is a miss, not an error."""
    cache = EncryptedTokenCache(tables, Cipher(bytes(range(32))))
    table = tables.table(EncryptedTokenCache.TABLE)
    cache.put("a", AccessToken("token-a", datetime(2030, 1, 1, tzinfo=UTC)))
    row = dict(table.get_entity("token", "a"))
    table.upsert_entity({**row, "ExpiresAt": datetime(2099, 1, 1, tzinfo=UTC)})
    assert cache.get("a") is None
    table.upsert_entity({**row, "Sealed": "***not base64***"})
    assert cache.get("a") is None


@pytest.mark.parametrize("expires_at", ["2030-01-01T00:00:00Z", 1_893_456_000, None])
def test_a_token_row_with_an_unexpected_expiry_type_is_a_miss_and_overwritten(
    tables: StateTables, expires_at: object
) -> None:
    """ExpiresAt edited into a string, a number or nothing: a miss (not an error), and put() repairs it."""
    cache = EncryptedTokenCache(tables, Cipher(bytes(range(32))))
    table = tables.table(EncryptedTokenCache.TABLE)
    cache.put("a", AccessToken("token-a", datetime(2030, 1, 1, tzinfo=UTC)))
    row = {k: v for k, v in dict(table.get_entity("token", "a")).items() if k != "ExpiresAt"}
    table.upsert_entity(
        row if expires_at is None else {**row, "ExpiresAt": expires_at}, mode=UpdateMode.REPLACE
    )
    assert cache.get("a") is None
    fresh = AccessToken("token-b", datetime(2030, 1, 2, tzinfo=UTC))
    cache.put("a", fresh)
    assert cache.get("a") == fresh


def test_keys_that_are_not_text_are_refused_by_name(tables: StateTables) -> None:
    """A lone surrogate in a source key or event key raises KeyEncodingError before any write."""
    with pytest.raises(KeyEncodingError):
        IdMap(tables).link("account", "C\ud800", "00000000-0000-0000-0000-000000000001")
    with pytest.raises(KeyEncodingError):
        WebhookDedupe(tables).claim("op\ud800", timedelta(days=1))
    with pytest.raises(KeyEncodingError):
        LedgerRepository(tables).mark_seen("orders", {"C\udfff": "v1"})


class RecordingTransport(RequestsTransport):  # type: ignore[misc]  # azure-core ships it untyped
    """An azure-core transport that records the URL of every request it sends."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls: list[str] = []

    def send(self, request: Any, **kwargs: Any) -> Any:
        self.urls.append(unquote(request.url))
        return super().send(request, **kwargs)


@pytest.fixture
def recorded(azurite_connection_string: str, unique_name: str) -> tuple[StateTables, RecordingTransport]:
    """State tables whose every request is recorded."""
    transport = RecordingTransport()
    service = TableServiceClient.from_connection_string(azurite_connection_string, transport=transport)
    return StateTables(service, unique_name), transport


def test_id_map_resolves_a_few_keys_by_point_reads_not_a_partition_scan(
    recorded: tuple[StateTables, RecordingTransport],
) -> None:
    """Among 150 links, three keys cost three point reads; no query reads the partition."""
    tables, transport = recorded
    idmap = IdMap(tables)
    upsert_in_batches(
        tables.table(IdMap.TABLE),
        [
            {"PartitionKey": "account|source", "RowKey": encode_key(f"C/{i}"), "TargetId": f"T{i}"}
            for i in range(150)
        ],
    )
    idmap.link("account", "a\\b#c?d", "AAAA0002-0000-0000-0000-000000000002")
    transport.urls.clear()
    found = idmap.target_ids("account", ["C/7", "a\\b#c?d", "C/149", "missing", "", "bad\ud800"])
    assert found == {"C/7": "T7", "a\\b#c?d": "AAAA0002-0000-0000-0000-000000000002", "C/149": "T149"}
    assert len(transport.urls) == 4  # one point read per encodable key
    assert all("RowKey=" in url and "$filter" not in url for url in transport.urls)


def test_ledger_entries_are_point_reads_of_the_keys_asked_for(
    recorded: tuple[StateTables, RecordingTransport],
) -> None:
    """entries(): full entries of the known keys, unknown ones absent, without reading the partition."""
    tables, transport = recorded
    ledger = LedgerRepository(tables)
    ledger.mark_seen("CustomerOrder", {f"O/{i}": f"v{i}" for i in range(120)})
    ledger.mark_synced("CustomerOrder", "O/3", "v3", "guid-3")
    transport.urls.clear()
    entries = ledger.entries("CustomerOrder", ["O/3", "O/119", "O/120", "O/3"])
    assert len(transport.urls) == 3  # a repeated key is read once
    assert all("$filter" not in url for url in transport.urls)
    assert sorted(entries) == ["O/119", "O/3"]
    assert (entries["O/3"].version_seen, entries["O/3"].version_synced, entries["O/3"].target_id) == (
        "v3",
        "v3",
        "guid-3",
    )
    assert entries["O/119"] == ledger.get("CustomerOrder", "O/119")
