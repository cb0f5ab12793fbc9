"""The operations commands against the simulators: status, pause/resume, replay, reconcile, audit, jobs."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from devhost.scenario import SyncScenario
from shared.cli.app import COMMANDS, main
from shared.ops import runtime as ops_runtime
from shared.ops.runtime import operations
from shared.sync.messages import ChangedKey, Envelope, pack_changes
from shared.sync.pause import ExpiringPosition
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


def as_json(result: tuple[int, str]) -> Any:
    return json.loads(result[1])


def position(watermarks: Any, stream: str) -> str:
    mark = watermarks.get(stream)
    assert mark is not None
    return str(mark.value)


def attempts(scenario: SyncScenario, key: str) -> int:
    record = scenario.runtime.storage.parked.get("customers", key)
    assert record is not None
    return record.attempts


def customer_ids(scenario: SyncScenario) -> list[str]:
    return sorted(c["CustomerId"] for c in ifs_rows(scenario, "CustomerInfoSet"))


def park_one_customer(scenario: SyncScenario) -> str:
    """A new IFS customer in a currency the org lacks: its sync parks it."""
    ifs(scenario, "create", "CustomerInfoSet", values={"CustomerId": "NO1", "Name": "N", "Company": "10",
        "CurrencyCode": "NOK"})  # fmt: skip
    return "NO1"


def test_every_command_has_help(cli: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """--help on every command exits 0 and describes it."""
    for command in [c.name for c in COMMANDS]:
        with pytest.raises(SystemExit) as stopped:
            main([command, "--help"])
        assert stopped.value.code == 0
        assert f"usage: python -m shared.cli {command}" in capsys.readouterr().out


def test_status_shows_position_runs_lag_queue_and_parked(cli: Any, scenario: SyncScenario) -> None:
    """Before a run nothing is known; after one, the ledger position, runs, and the parked record."""
    code, out = cli("status", "--json")
    assert code == 0
    before = {e["entity"]: e for e in json.loads(out)["entities"]}
    assert set(before) == {"customers", "sales_parts", "orders", "quotations"}
    assert before["customers"]["position"] == "ledger: 0 keys in scope"
    assert before["customers"]["last_poll"] is None
    park_one_customer(scenario)
    ops = operations(scenario.settings)
    ops.poll("customers")  # what the timer does: the run is recorded
    queued = as_json(cli("status", "--entity", "customers", "--json"))["entities"][0]
    assert queued["queue_depth"] >= 1
    assert queued["unsynced"] == len(customer_ids(scenario))
    assert queued["lag_seconds"] is not None
    assert queued["last_poll"]["outcome"] == "ok"
    runtime = scenario.runtime
    queue = runtime.entities["customers"].queue
    message = runtime.storage.publisher.queue(queue).receive_message()
    assert message is not None
    ops.work("customers", str(message.content).encode(), message_id=str(message.id))
    runtime.storage.publisher.queue(queue).delete_message(message)
    code, out = cli("status", "--entity", "customers", "--json")
    after = json.loads(out)["entities"][0]
    assert code == 1  # a parked record needs attention
    assert after["parked"] == 1
    assert after["unsynced"] == 0  # the parked one is counted as parked, not as lag
    assert after["lag_seconds"] is None
    assert after["last_work"]["outcome"] == "parked"
    assert after["position"] == f"ledger: {len(customer_ids(scenario))} keys in scope"
    code, out = cli("status")
    header = out.splitlines()[0].split()
    assert header[:3] == ["entity", "paused", "position"]
    assert "customers" in out


def test_pause_holds_messages_and_keeps_the_position_then_resume_catches_up(
    scenario: SyncScenario, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Paused: polls do nothing, queued work is held (never poisoned); resumed: everything arrives in step."""
    scenario.values["PAUSE_HOLD_SECONDS"] = "1"
    for name, value in scenario.values.items():
        monkeypatch.setenv(name, value)

    def cli(*argv: str) -> tuple[int, str]:
        return main(list(argv)), capsys.readouterr().out

    ops = operations(scenario.settings)
    ops.poll("customers")
    assert cli("pause", "--entity", "customers", "--reason", "maintenance")[0] == 0
    assert as_json(cli("status", "--entity", "customers", "--json"))["entities"][0]["paused"]["reason"] == (
        "maintenance"
    )
    runtime = scenario.runtime
    queue_name = runtime.entities["customers"].queue
    queue = runtime.storage.publisher.queue(queue_name)
    waiting = int(queue.get_queue_properties().approximate_message_count or 0)
    message = queue.receive_message()
    assert message is not None
    original = str(message.content)
    ops.work("customers", original.encode(), message_id=str(message.id))  # the worker holds it
    queue.delete_message(message)  # the host completes the invocation
    assert accounts(scenario) == {}
    held = [m for m in queue.peek_messages(max_messages=32)]
    assert len(held) == waiting - 1  # the held one is invisible for PAUSE_HOLD_SECONDS
    assert queue.get_queue_properties().approximate_message_count == waiting
    ifs(scenario, "create", "CustomerInfoSet", values={"CustomerId": "NEW1", "Name": "Late", "Company": "10",
        "CurrencyCode": "EUR"})  # fmt: skip
    skipped = ops.poll("customers")
    assert skipped.skipped is not None
    assert skipped.skipped.startswith("paused since")
    assert scenario.drain("customers").outcomes == {}  # a paused queue is left alone
    assert ops.runs.last("customers")["work"].outcome == "held"
    code, out = cli("resume", "--entity", "customers")
    assert code == 0
    assert "customers resumed after" in out
    scenario.run_once("customers")  # the held message shows again after its hold, the poll catches up
    assert_in_step(scenario)
    assert "NEW1" in accounts(scenario)
    code, out = cli("resume", "--entity", "customers")
    assert "customers: customers was not paused" in out


def test_a_resume_after_the_position_expired_clears_it_and_says_so(
    scenario: SyncScenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An expiring position older than its lifetime is cleared on resume, with a note; a young one stays."""
    expiring = ExpiringPosition("delta:customers", timedelta(days=7), "Dataverse delta token")
    monkeypatch.setitem(ops_runtime.EXPIRING_POSITIONS, "customers", expiring)
    ops = operations(scenario.settings)
    watermarks = scenario.runtime.watermarks
    watermarks.advance("delta:customers", "token-1", read=None)
    ops.pause("customers")
    assert ops.resume("customers").notes == []  # a day-old token survives a short pause
    assert position(watermarks, "delta:customers") == "token-1"
    ops.pause("customers")
    eight_days_later = dataclasses.replace(ops, clock=lambda: ops.clock() + timedelta(days=8))
    resumed = eight_days_later.resume("customers")
    assert position(watermarks, "delta:customers") == ""
    assert resumed.paused_for is not None
    assert resumed.paused_for >= timedelta(days=8)
    [note] = resumed.notes
    assert "Dataverse delta token" in note
    assert "compares everything" in note


def test_unknown_entities_are_usage_errors(cli: Any) -> None:
    """Every entity argument is checked against the engine's entities."""
    for argv in (
        ("status", "--entity", "vendors"),
        ("pause", "--entity", "vendors"),
        ("resume", "--entity", "vendors"),
        ("replay", "--entity", "vendors"),
        ("reconcile", "--entity", "vendors"),
    ):
        code, out = cli(*argv)
        assert code == 2, argv
        assert "unknown entity vendors (known: customers, sales_parts, orders, quotations)" in out
    assert cli("audit")[0] == 2
    assert cli("jobs", "nosuchjob")[0] == 2


# ---- replay ----------------------------------------------------------------------------------------------


def test_a_parked_record_replayed_fails_again_counted_then_heals(cli: Any, scenario: SyncScenario) -> None:
    """Replayed while the cause remains: parked again with one more attempt; once fixed: synced and closed."""
    key = park_one_customer(scenario)
    assert cli("sync", "--once", "--entity", "customers")[0] == 1
    parked = scenario.runtime.storage.parked
    assert attempts(scenario, key) == 1
    code, out = cli("replay", "--parked", "--dry-run", "--json")
    assert code == 0
    assert as_json((code, out))["counts"] == {"would requeue": 1}
    assert scenario.drain("customers").outcomes == {}  # a dry run moved nothing
    report = as_json(cli("replay", "--parked", "--entity", "customers", "--json"))
    assert report["items"] == [
        {"source": "parked", "entity": "customers", "item": key, "outcome": "requeued",
         "detail": "missing_reference, 1 attempts"}
    ]  # fmt: skip
    assert scenario.drain("customers").outcomes == {"parked": 1}
    assert attempts(scenario, key) == 2  # returned where it was, one more attempt counted
    scenario.add_currencies(["NOK"])  # the cause, fixed by an administrator
    code, out = cli("replay", "--key", key)
    assert code == 0
    assert "replayed: requeued 1" in out
    assert scenario.drain("customers").outcomes == {"created": 1}
    assert parked.get("customers", key) is None
    assert key in accounts(scenario)


def test_replay_filters_by_error_class(cli: Any, scenario: SyncScenario) -> None:
    """Only the parked records of the error class asked for are replayed."""
    park_one_customer(scenario)
    cli("sync", "--once", "--entity", "customers")
    assert as_json(cli("replay", "--error-class", "value_too_long", "--json"))["counts"] == {}
    assert as_json(cli("replay", "--error-class", "missing_reference", "--json"))["counts"] == {"requeued": 1}


def poison(scenario: SyncScenario, entity: str, text: str) -> None:
    """What the Functions host does after maxDequeueCount failures: the message, unchanged, on -poison."""
    queue = scenario.runtime.entities[entity].queue
    scenario.runtime.storage.publisher.send(f"{queue}-poison", [text])


def test_poison_messages_go_back_to_their_queue_counting_replays(cli: Any, scenario: SyncScenario) -> None:
    """An envelope returns counting body.replays; by key only its message; garbage goes back as it was."""
    first, second = customer_ids(scenario)[:2]
    runtime = scenario.runtime
    for key in (first, second):
        [envelope] = pack_changes("changes", "customers", [ChangedKey(key)], correlation_id=f"c-{key}",
                                  enqueued_at=runtime.engine._clock())  # fmt: skip
        poison(scenario, "customers", envelope.to_json())
    poison(scenario, "customers", "not an envelope")
    listed = as_json(cli("replay", "--poison", "--dry-run", "--json"))
    assert listed["counts"] == {"would requeue": 3}
    report = as_json(cli("replay", "--poison", "--key", first, "--json"))
    assert report["counts"] == {"requeued": 1}
    assert report["items"][0]["detail"] == "1 keys, replay 1"
    queue = runtime.storage.publisher.queue(runtime.entities["customers"].queue)
    [message] = queue.receive_messages(max_messages=32)
    replayed = Envelope.from_json(str(message.content))
    assert ([k.key for k in replayed.keys], replayed.correlation_id, replayed.body["replays"]) == (
        [first],
        f"c-{first}",
        1,
    )
    queue.delete_message(message)
    poison(scenario, "customers", replayed.to_json())  # it failed again: back to poison
    report = as_json(cli("replay", "--poison", "--entity", "customers", "--json"))
    assert sorted(i["detail"] for i in report["items"]) == [
        "1 keys, replay 1", "1 keys, replay 2", "not a change envelope: sent back unchanged"
    ]  # fmt: skip
    texts = sorted(str(m.content) for m in queue.receive_messages(max_messages=32))
    assert "not an envelope" in texts
    assert as_json(cli("status", "--entity", "customers", "--json"))["entities"][0]["poison"] == 0


# ---- reconcile ---------------------------------------------------------------------------------------------


def test_reconcile_finds_drift_on_both_sides_and_fix_repairs_it(cli: Any, scenario: SyncScenario) -> None:
    """Hand edits, a deleted account, a hand-made account and a customer gone from IFS: found, then fixed."""
    assert cli("sync", "--once", "--entity", "customers")[0] == 0
    ids = customer_ids(scenario)
    code, out = cli("reconcile", "--entity", "customers", "--json")
    clean = json.loads(out)
    assert code == 0
    assert clean["summary"]["in_step"] == clean["summary"]["ifs"] == clean["summary"]["dataverse"] == len(ids)
    dataverse = scenario.runtime.dataverse
    synced = accounts(scenario)
    edited, deleted, gone = ids[0], ids[1], ids[2]
    dataverse.update("accounts", uuid.UUID(synced[edited]["accountid"]), {"name": "Edited by hand"})
    dataverse.delete("accounts", uuid.UUID(synced[deleted]["accountid"]))
    dataverse.create("accounts", {"name": "Made by hand", "accountnumber": "ZZ999"})
    ifs(scenario, "delete", "CustomerInfoSet", key={"CustomerId": gone})
    requests = scenario.admin("dataverse")
    requests.clear_requests()
    code, out = cli("reconcile", "--entity", "customers", "--json")
    assert code == 1
    report = json.loads(out)
    assert [r for r in requests.requests() if r["method"] != "GET"] == []  # reconcile writes nothing
    assert report["missing_in_dataverse"] == [deleted]
    assert sorted(report["missing_in_ifs"]) == sorted([gone, "ZZ999"])
    assert sorted(report["differs"]) == sorted([edited, gone])
    name = next(f for f in report["findings"] if f["key"] == edited)
    assert (name["target"], name["column"], name["dataverse"]) == ("account", "name", "Edited by hand")
    assert name["ifs"] == next(
        c["Name"] for c in ifs_rows(scenario, "CustomerInfoSet") if c["CustomerId"] == edited
    )
    state = {f["column"]: (f["ifs"], f["dataverse"]) for f in report["findings"] if f["key"] == gone}
    assert state["statecode"] == (1, 0)  # gone from IFS: the flow deactivates, Dataverse still has it active
    assert report["summary"]["ifs"] == len(ids) - 1
    code, out = cli("reconcile", "--entity", "customers")
    assert "summary: ifs" in out
    assert out.splitlines()[1].split()[:2] == ["key", "issue"]
    fixed = as_json(cli("reconcile", "--entity", "customers", "--fix", "--json"))
    assert fixed["enqueued"] == sorted([deleted, edited, gone])
    scenario.drain("customers")
    after = as_json(cli("reconcile", "--entity", "customers", "--json"))
    assert after["missing_in_dataverse"] == []
    assert after["differs"] == []
    assert after["missing_in_ifs"] == ["ZZ999"]  # not the connector's row: reported, never touched
    assert after["summary"]["retired"] == 1


def test_reconcile_compares_price_list_items_of_products(cli: Any, scenario: SyncScenario) -> None:
    """A price changed by hand in Dataverse differs on the price target; unit and list binds are compared."""
    assert cli("sync", "--once", "--entity", "sales_parts")[0] == 0
    clean = as_json(cli("reconcile", "--entity", "sales_parts", "--json"))
    assert clean["findings"] == []
    item = next(iter(scenario.rows("productpricelevels", ["productpricelevelid", "amount"])))
    row_id = uuid.UUID(item["productpricelevelid"])
    scenario.runtime.dataverse.update("productpricelevels", row_id, {"amount": 1.5})
    report = as_json(cli("reconcile", "--entity", "sales_parts", "--json"))
    [finding] = report["findings"]
    assert (finding["issue"], finding["target"], finding["column"], finding["dataverse"]) == (
        "differs", "price", "amount", 1.5
    )  # fmt: skip


# ---- audit and jobs ----------------------------------------------------------------------------------------


def test_audit_follows_a_record_by_ifs_key_dataverse_id_or_correlation(
    cli: Any, scenario: SyncScenario
) -> None:
    """The same history whichever key names the record; by correlation id, every record of that run."""
    key = customer_ids(scenario)[0]
    cli("sync", "--once", "--entity", "customers")
    by_key = as_json(cli("audit", key, "--json"))["entries"]
    assert [(e["entity"], e["key"], e["outcome"]) for e in by_key] == [("customers", key, "created")]
    account_id = accounts(scenario)[key]["accountid"]
    assert as_json(cli("audit", account_id, "--json"))["entries"] == by_key
    correlation = by_key[0]["correlation"]
    run = as_json(cli("audit", "--correlation", correlation, "--json"))["entries"]
    assert len(run) == len(customer_ids(scenario))
    code, out = cli("audit", key)
    assert code == 0
    assert out.splitlines()[0].split()[:4] == ["at", "direction", "entity", "key"]
    assert cli("audit", "NOT-A-KEY")[0] == 1


def test_jobs_run_reconcile_whole_and_backfill_in_slices(cli: Any, scenario: SyncScenario) -> None:
    """A reconcile job finishes in one run; a backfill job stops after each slice and continues."""
    ops = operations(scenario.settings)
    job = ops.submit("reconcile", {"entity": "customers"})
    assert as_json(cli("jobs", "--json"))["jobs"][0]["status"] == "queued"
    [ran] = ops.run_jobs()
    assert ran.status == "done"
    assert ran.result is not None
    assert ran.result["summary"]["missing_in_dataverse"] == len(customer_ids(scenario))
    assert as_json(cli("jobs", job.id, "--json"))["jobs"][0]["result"]["entity"] == "customers"
    backfill = ops.submit("backfill", {"entity": "customers", "chunk": 3})
    slices = 0
    while (current := ops.jobs.get(backfill.id)) is not None and current.status != "done":
        ops.job_runner.run(1e-9)  # a slice that ends after the first chunk
        slices += 1
        assert slices < 50
    total = len(customer_ids(scenario))
    assert slices == -(-total // 3)  # one chunk per slice
    assert current is not None
    assert current.result == {"entity": "customers", "outcomes": {"created": total}, "requeued": 0}
    assert_in_step(scenario)
    with pytest.raises(ValueError, match="unknown parameter fix"):
        ops.submit("backfill", {"entity": "customers", "fix": True})
    with pytest.raises(ValueError, match="unknown entity vendors"):
        ops.submit("reconcile", {"entity": "vendors"})


def test_jobs_refuse_bad_parameters_when_submitted(scenario: SyncScenario) -> None:
    """A wrong type or date is refused with the reason, before anything is queued."""
    ops = operations(scenario.settings)
    for params, reason in (
        ({"entity": "customers", "fix": "yes"}, "fix must be true or false"),
        ({"entity": "customers", "chunk": 0}, "chunk must be a positive integer"),
        ({"entity": "customers", "since": "2025-13-01"}, "month must be in 1..12"),
        ({}, "give the entity"),
    ):
        kind = "reconcile" if "fix" in params else "backfill"
        with pytest.raises(ValueError, match=reason):
            ops.submit(kind, params)
    assert ops.jobs.unfinished() == []
