"""The engine's guarantees across flows, and the settings a user can get wrong.

No older write wins, a bad mapping disables only its entity, throttled work waits without failing, and the
watermark strategy reads only what is new.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from devhost.scenario import SyncScenario
from shared.config import AppSettings, ConfigError, CustomersSyncSettings
from shared.config.sync import SHIPPED_MAPPINGS
from shared.dataverse.bulk import BulkUpserter
from shared.dataverse.target import DataverseTarget
from shared.state.clock import utc_now
from shared.state.idmap import IdMap
from shared.state.ledger import LedgerRepository
from shared.sync.engine import SyncEngine
from shared.sync.mapping.load import MappingError
from shared.sync.messages import ChangedKey
from shared.sync.ports import Aggregate, ChangeSource
from tests.integration.sync.oracle import accounts, assert_in_step, ifs, ifs_rows

pytestmark = pytest.mark.azurite


class ReadThenSomeoneElseWrites:
    """A source whose first read returns the state it read, after another worker synced a newer state."""

    def __init__(self, source: ChangeSource, meanwhile: Any) -> None:
        self._source = source
        self._meanwhile = meanwhile
        self.reads = 0

    def scan(self, *, whole: bool = False) -> Any:
        return self._source.scan(whole=whole)

    def scan_since(self, column: str, since: Any) -> Any:
        return self._source.scan_since(column, since)

    def read(self, keys: Sequence[str]) -> Mapping[str, Aggregate]:
        rows = self._source.read(keys)
        self.reads += 1
        if self.reads == 1:
            self._meanwhile()
        return rows


def test_an_older_read_never_wins_over_a_newer_one(scenario: SyncScenario) -> None:
    """Worker A reads, B syncs a newer edit and A writes its older state: A's record is synced again."""
    scenario.run_once("customers")
    runtime = scenario.runtime
    key = sorted(c["CustomerId"] for c in ifs_rows(scenario, "CustomerInfoSet"))[0]
    tables = runtime.storage.tables
    binding = runtime.engine.binding("customers")

    def other_worker() -> None:
        ifs(scenario, "touch", "CustomerInfoSet", key={"CustomerId": key}, changes={"Name": "NEWER NAME"})
        runtime.engine.process("customers", [ChangedKey(key)], correlation_id="worker-b")
        assert accounts(scenario)[key]["name"] == "NEWER NAME"

    ifs(scenario, "touch", "CustomerInfoSet", key={"CustomerId": key}, changes={"Name": "OLDER NAME"})
    slow = SyncEngine(
        entities={
            "customers": dataclasses.replace(
                binding, source=ReadThenSomeoneElseWrites(binding.source, other_worker)
            )
        },
        target=DataverseTarget(runtime.dataverse, BulkUpserter(runtime.dataverse)),
        ledger=LedgerRepository(tables),
        idmap=IdMap(tables),
        audit=runtime.storage.audit,
        parking=runtime.storage.parked,
        clock=utc_now,
    )
    report = slow.process("customers", [ChangedKey(key)], correlation_id="worker-a")
    assert report.forced == 1
    assert accounts(scenario)[key]["name"] == "OLDER NAME"  # A's write landed last, for now
    scenario.drain("customers")  # the forced re-sync reads IFS again
    assert accounts(scenario)[key]["name"] == "NEWER NAME"
    assert_in_step(scenario)


def test_a_bad_mapping_disables_its_entity_only(scenario: SyncScenario, tmp_path: Path) -> None:
    """A broken customers.toml stops customers (with file, line and field); sales parts still sync."""
    (tmp_path / "sales_parts.toml").write_text((SHIPPED_MAPPINGS / "sales_parts.toml").read_text())
    broken = (
        (SHIPPED_MAPPINGS / "customers.toml").read_text().replace('map = "payment_terms"', 'map = "terms"')
    )
    (tmp_path / "customers.toml").write_text(broken)
    scenario.values["SYNC_MAPPINGS_DIR"] = str(tmp_path)
    with pytest.raises(MappingError) as caught:
        scenario.run_once("customers")
    line = (
        broken.splitlines().index(next(x for x in broken.splitlines() if x.startswith("paymenttermscode")))
        + 1
    )
    assert f"customers.toml:{line}: account.columns.paymenttermscode.map: no value map 'terms'" in str(
        caught.value
    )
    polled, report = scenario.run_once("sales_parts")
    assert report.outcomes["created"] == polled.changed > 0


def test_throttled_work_goes_back_to_the_queue_and_is_not_a_failure(scenario: SyncScenario) -> None:
    """429s outlasting the client's retries send the keys back after Retry-After; nothing parked or lost."""
    dataverse = scenario.admin("dataverse")
    dataverse.set_faults(
        {
            "script": [{"kind": "throttle", "retry_after": 1, "times": 12}],
            "methods": ["POST", "PATCH"],
            "paths": ["/api/data/*"],
        }
    )
    polled, report = scenario.run_once("customers")
    assert report.requeued > 0
    assert scenario.failures == 0
    assert list(scenario.runtime.storage.parked.list()) == []
    assert sum(r.written for r in scenario.reports) == polled.changed
    assert_in_step(scenario)


def test_the_watermark_strategy_sees_new_rows_and_moves_on(scenario: SyncScenario) -> None:
    """Sales parts by DateEntered: the first poll reads all, the next only what is new (less the overlap)."""
    scenario.values |= {
        "SYNC_SALES_PARTS_DETECTION": "watermark",
        "SYNC_SALES_PARTS_WATERMARK_COLUMN": "DateEntered",
    }
    first, report = scenario.run_once("sales_parts")
    assert first.watermark is not None
    assert report.outcomes["created"] == first.changed > 0
    quiet, _ = scenario.run_once("sales_parts")
    assert quiet.changed == 0
    ifs(scenario, "create", "SalesPartSet", values={"Contract": "MFG10", "CatalogNo": "NEW-1",
        "CatalogDesc": "New part", "SalesUnitMeas": "pcs", "ListPrice": 5.0, "CurrencyCode": "EUR",
        "Activeind": "ActivePart", "CatalogType": "InventoryPart", "DateEntered": "2030-01-01"})  # fmt: skip
    later, report = scenario.run_once("sales_parts")
    assert (later.changed, report.outcomes) == (1, {"created": 1})
    assert later.watermark is not None
    assert later.watermark.startswith("2030-01-01")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"SYNC_CUSTOMERS_DETECTION": "magic"},
            "SYNC_CUSTOMERS_DETECTION is invalid: expected etag-ledger or watermark",
        ),
        (
            {"SYNC_CUSTOMERS_DETECTION": "watermark"},
            "SYNC_CUSTOMERS_WATERMARK_COLUMN is missing (needed for SYNC_CUSTOMERS_DETECTION=watermark)",
        ),
        ({"SYNC_CUSTOMERS_QUEUE": "Bad_Queue"}, "SYNC_CUSTOMERS_QUEUE is invalid: expected a queue name"),
        ({"SYNC_CUSTOMERS_SCHEDULE": "*/5 * * * *"}, "SYNC_CUSTOMERS_SCHEDULE is invalid"),
    ],
)
def test_bad_sync_settings_are_named(values: dict[str, str], message: str) -> None:
    """Each bad setting of an entity is reported by name, with what was expected."""
    base = {"SYNC_CUSTOMERS_SCHEDULE": "0 */5 * * * *", "SYNC_CUSTOMERS_QUEUE": "sync-customers"}
    with pytest.raises(ConfigError) as caught:
        AppSettings(base | values).get(CustomersSyncSettings)
    assert message in str(caught.value)


def test_a_dependency_is_synced_first_and_a_dry_run_only_reports_it(
    scenario: SyncScenario, tmp_path: Path
) -> None:
    """A customer's parent (a synced entity lookup) is synced on demand; a dry run writes neither."""
    (tmp_path / "sales_parts.toml").write_text((SHIPPED_MAPPINGS / "sales_parts.toml").read_text())
    parent_rule = (
        'parentaccountid = { from = "customer.ParentCustomerId", '
        'lookup = { entity = "customers", entity_set = "accounts" } }\n'
    )
    customers_toml = (SHIPPED_MAPPINGS / "customers.toml").read_text()
    (tmp_path / "customers.toml").write_text(
        customers_toml.replace("[account.columns]\n", "[account.columns]\n" + parent_rule)
    )
    scenario.values["SYNC_MAPPINGS_DIR"] = str(tmp_path)
    child, parent = sorted(c["CustomerId"] for c in ifs_rows(scenario, "CustomerInfoSet"))[:2]
    ifs(scenario, "touch", "CustomerInfoSet", key={"CustomerId": child}, changes={"ParentCustomerId": parent})
    engine = scenario.runtime.engine
    planned = engine.process("customers", [ChangedKey(child)], correlation_id="dry", dry_run=True)
    [record] = planned.planned
    assert record.action == "park"
    assert record.detail is not None
    assert record.detail.startswith("missing_dependency")
    assert scenario.rows("accounts", ["accountid"]) == []
    report = engine.process("customers", [ChangedKey(child)], correlation_id="real")
    assert report.outcomes == {"created": 1}
    synced = accounts(scenario)
    assert set(synced) == {child, parent}  # the parent first, on demand, then the child
    [row] = scenario.rows("accounts", ["_parentaccountid_value"], accountnumber=child)
    assert row["_parentaccountid_value"] == synced[parent]["accountid"]
