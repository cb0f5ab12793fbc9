"""The command line against the simulators: provision, deprovision, sync --once, backfill, exit codes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devhost.scenario import SyncScenario
from shared.cli.app import main
from shared.sync import backfill as backfill_service
from tests.integration.sync.oracle import accounts, assert_in_step, ifs, ifs_rows

pytestmark = pytest.mark.azurite


@pytest.fixture
def cli(scenario: SyncScenario, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run ``python -m shared.cli`` in this process with the scenario's app settings; (exit code, stdout)."""
    for name, value in scenario.values.items():
        monkeypatch.setenv(name, value)

    def run(*argv: str) -> tuple[int, str]:
        code = main(list(argv))
        return code, capsys.readouterr().out

    return run


def test_provision_twice_changes_nothing(cli: Any) -> None:
    """The connector's columns, every key and the webhook after the first run; the second changes nothing."""
    first = cli("provision", "--json")
    second = cli("provision", "--json")
    assert first[0] == second[0] == 0
    done, again = json.loads(first[1]), json.loads(second[1])
    keys = {(k["table"], k["key"], k["columns"], k["status"]) for k in done["keys"]}
    assert keys == {
        ("account", "ifs_accountnumber", "accountnumber", "Active"),
        ("product", "ifs_productnumber", "productnumber", "Active"),
        ("salesorder", "ifs_key_ordernumber", "ifs_ordernumber", "Active"),
        ("salesorderdetail", "ifs_key_salesorderid_linekey", "salesorderid,ifs_linekey", "Active"),
        ("quote", "ifs_key_revisionnumber_quotationno", "revisionnumber,ifs_quotationno", "Active"),
        ("quotedetail", "ifs_key_quoteid_linekey", "quoteid,ifs_linekey", "Active"),
    }
    assert again["keys"] == done["keys"]
    columns = {(c["table"], c["column"]): c["created"] for c in again["columns"]}
    assert ("salesorderdetail", "ifs_linekey") in columns
    assert not any(columns.values())  # the scenario provisioned them already
    assert done["changed"]
    assert again["changed"] == []
    assert again["steps"] == done["steps"]
    assert again["endpoint_id"] == done["endpoint_id"]


def test_provision_keys_only_touches_nothing_else(cli: Any) -> None:
    """--keys-only: the connector's columns and the alternate keys, no webhook."""
    code, out = cli("provision", "--keys-only", "--json")
    assert code == 0
    assert set(json.loads(out)) == {"columns", "keys"}


def test_sync_once_loads_then_finds_nothing(cli: Any, scenario: SyncScenario) -> None:
    """One poll and its work per entity; a second run changes nothing; a human table without --json."""
    code, out = cli("sync", "--once", "--json")
    assert code == 0
    rows = {row["entity"]: row for row in json.loads(out)["entities"]}
    assert (
        rows["customers"]["created"]
        == rows["customers"]["changed"]
        == len(ifs_rows(scenario, "CustomerInfoSet"))
    )
    assert rows["sales_parts"]["created"] > 0
    assert_in_step(scenario)
    code, out = cli("sync", "--once", "--entity", "customers")
    assert code == 0
    header, _, line = out.splitlines()
    assert header.split()[:3] == ["entity", "changed", "left_scope"]
    assert line.split()[:3] == ["customers", "0", "0"]


def test_usage_errors_exit_with_2(cli: Any) -> None:
    """Sync without --once and an unknown entity are refused with a reason."""
    assert cli("sync")[0] == 2
    code, out = cli("backfill", "--entity", "vendors")
    assert code == 2
    assert "unknown entity vendors (known: customers, sales_parts, orders, quotations)" in out


def test_parked_records_exit_with_1(cli: Any, scenario: SyncScenario) -> None:
    """A record parked during the run makes the exit code say so."""
    ifs(
        scenario,
        "create",
        "CustomerInfoSet",
        values={"CustomerId": "NO1", "Name": "N", "Company": "10", "CurrencyCode": "NOK"},
    )
    code, out = cli("sync", "--once", "--entity", "customers", "--json")
    assert code == 1
    assert json.loads(out)["entities"][0]["parked"] == 1


def test_backfill_dry_run_plans_creates_and_links_and_writes_nothing(
    cli: Any, scenario: SyncScenario
) -> None:
    """Against an org with an unnumbered account of a customer's name: a link, creates, no write."""
    customers = sorted(ifs_rows(scenario, "CustomerInfoSet"), key=lambda c: c["CustomerId"])
    existing = scenario.runtime.dataverse.create("accounts", {"name": customers[0]["Name"]}).id
    dataverse = scenario.admin("dataverse")
    dataverse.clear_requests()
    code, out = cli("backfill", "--entity", "customers", "--dry-run", "--json")
    assert code == 0
    plan = json.loads(out)
    actions = {r["key"]: (r["action"], r["dataverse_id"]) for r in plan["records"]}
    assert actions[customers[0]["CustomerId"]] == ("link", str(existing))
    assert plan["summary"] == {"create": len(customers) - 1, "link": 1}
    assert [r for r in dataverse.requests() if r["method"] != "GET"] == []
    assert len(scenario.rows("accounts", ["accountid"])) == 1
    code, out = cli("backfill", "--entity", "customers", "--dry-run")
    assert code == 0
    assert "customers: planned (nothing written)" in out
    assert f"summary: create {len(customers) - 1}, link 1" in out


def test_a_stopped_backfill_continues_where_it_stopped(cli: Any, scenario: SyncScenario) -> None:
    """Stopped after its first chunk, a backfill resumes after the last key done, then clears its position."""
    runtime = scenario.runtime

    def stop_after_first_chunk(report: Any, done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backfill_service.backfill(
            runtime.engine, runtime.sources["customers"], runtime.watermarks, "customers", chunk_size=2,
            progress=stop_after_first_chunk,
        )  # fmt: skip
    first_two = sorted(c["CustomerId"] for c in ifs_rows(scenario, "CustomerInfoSet"))[:2]
    assert backfill_service.position(runtime.watermarks, "customers").after == first_two[-1]
    assert set(accounts(scenario)) == set(first_two)
    code, out = cli("backfill", "--entity", "customers")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"customers: continuing a stopped backfill after key {first_two[-1]!r}"
    created = len(ifs_rows(scenario, "CustomerInfoSet")) - 2
    assert lines[-1].split()[:2] == ["customers", str(created)]  # only the rest, in this run
    assert_in_step(scenario)
    assert backfill_service.position(runtime.watermarks, "customers").after is None


def test_deprovision_removes_what_provision_registered_and_keeps_the_keys(cli: Any) -> None:
    """The webhook's steps and endpoint go, the keys stay; a second run finds nothing to remove."""
    provisioned = json.loads(cli("provision", "--json")[1])
    code, out = cli("deprovision", "--json")
    assert code == 0
    removed = json.loads(out)
    assert removed["removed_steps"] == len(provisioned["steps"]) > 0
    assert removed["endpoint_removed"] is True
    keys = json.loads(cli("provision", "--keys-only", "--json")[1])["keys"]
    assert {k["status"] for k in keys} == {"Active"}
    code, out = cli("deprovision")
    assert code == 0
    assert out.splitlines()[0].split() == ["what", "value"]
    assert "steps removed     0" in out
    assert "endpoint removed  False" in out


def test_a_missing_setting_exits_2_naming_it(
    scenario: SyncScenario, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without DATAVERSE_URL a command stops before doing anything, naming the setting (exit 2)."""
    for name, value in scenario.values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DATAVERSE_URL")
    assert main(["sync", "--once"]) == 2
    assert "DATAVERSE_URL is missing" in capsys.readouterr().err


def test_a_system_that_does_not_answer_exits_3(
    scenario: SyncScenario, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """IFS unreachable: the command says which error it met and exits 3, for a script to retry later."""
    for name, value in scenario.values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("IFS_BASE_URL", "https://127.0.0.1:9")
    assert main(["sync", "--once", "--entity", "customers"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: IfsUnavailableError: "), err
