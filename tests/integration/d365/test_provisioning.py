"""Provisioning of the Dynamics → IFS direction against the Dataverse simulator and Azurite."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from devhost.d365_scenario import D365Scenario
from shared.d365_runtime import deprovision_d365, provision_d365
from shared.dataverse.endpoint_auth import WebhookAuth
from shared.dataverse.provisioning import Provisioner, WebhookStep
from shared.state.subscriptions import SubscriptionRepository
from simulators.dataverse.store import Ref
from tests.integration.d365.conftest import UNSERVED_WEBHOOK

pytestmark = pytest.mark.azurite
WRITES = ("POST", "PATCH", "PUT", "DELETE")


def writes_since(scenario: D365Scenario, since: int) -> list[tuple[str, str]]:
    requests = scenario.admin("dataverse").requests(since=since, path="/api/data/")
    return [(r["method"], r["path"]) for r in requests if r["method"] in WRITES]


def last_sequence(scenario: D365Scenario) -> int:
    requests = scenario.admin("dataverse").requests()
    return max((int(r["seq"]) for r in requests), default=0)


def provision(scenario: D365Scenario, notices: list[str] | None = None) -> object:
    sink = notices if notices is not None else []
    return provision_d365(
        scenario.settings, scenario.runtime.dataverse, notify=sink.append, url=UNSERVED_WEBHOOK
    )


def test_provisioning_registers_the_steps_and_records_whom_the_webhook_serves(d365: D365Scenario) -> None:
    """Create and state Updates of salesorder, and the action steps the org allows; org and user recorded."""
    report = provision(d365)
    record = SubscriptionRepository(d365.runtime.storage.tables).get("ifs-connector")
    assert record is not None
    me = d365.runtime.dataverse.who_am_i()
    assert (record.organization_id, record.application_user_id) == (str(me.organization_id), str(me.user_id))
    assert record.step_ids == report.steps  # type: ignore[attr-defined]
    assert set(record.step_ids) == {
        "ifs-connector: Create of salesorder",
        "ifs-connector: Update of salesorder",
        "ifs-connector: CancelSalesOrder of salesorder",
    }
    # The simulated org, like the generated references, allows no custom step on these two actions.
    assert report.skipped_steps == ["ConvertQuoteToSalesOrder of quote", "FulfillSalesOrder of salesorder"]  # type: ignore[attr-defined]
    registered = Provisioner(d365.runtime.dataverse).inspect_webhook("ifs-connector")
    assert registered is not None
    update = next(s for s in registered.steps if s.message == "Update")
    assert (update.filtering_attributes, update.mode, update.stage) == (("statecode", "statuscode"), 1, 40)
    column = d365.runtime.dataverse.query("salesorders", select=["ifs_ordernumber"], top=1)
    assert list(column) is not None


def test_running_it_twice_writes_nothing_to_dataverse(d365: D365Scenario) -> None:
    """The second run finds the column, change tracking, endpoint and steps in place: only reads."""
    before = last_sequence(d365)
    provision(d365)
    # The endpoint and three steps; the column ifs_ordernumber came with the sync's provisioning.
    assert len(writes_since(d365, before)) >= 4
    mark = last_sequence(d365)
    again = provision(d365)
    assert writes_since(d365, mark) == []
    assert again.changed == []  # type: ignore[attr-defined]


def test_a_new_secret_rewrites_the_endpoint_only(d365: D365Scenario) -> None:
    """Authvalue cannot be read back: the recorded fingerprint tells that the secret changed."""
    provision(d365)
    mark = last_sequence(d365)
    d365.values["D365_WEBHOOK_SECRET"] = "a-rotated-webhook-secret-0001"
    provision(d365)
    assert [method for method, path in writes_since(d365, mark)] == ["PATCH"]


def test_action_steps_are_registered_where_the_org_allows_them(d365: D365Scenario) -> None:
    """The sdkmessage probe decides: once the org allows ConvertQuoteToSalesOrder steps, one is registered."""
    provision(d365)
    store = d365.stack.dataverse.org.store
    message = next(r for r in store.rows("sdkmessage") if r["name"] == "ConvertQuoteToSalesOrder")
    for row in store.rows("sdkmessagefilter"):
        reference = row.get("sdkmessageid")
        if isinstance(reference, Ref) and reference.id == message["sdkmessageid"]:
            store.put(
                "sdkmessagefilter", row["sdkmessagefilterid"], {**row, "iscustomprocessingstepallowed": True}
            )
    report = provision(d365)
    assert "ifs-connector: ConvertQuoteToSalesOrder of quote" in report.steps  # type: ignore[attr-defined]


def test_change_tracking_is_announced_before_it_is_switched_on(d365: D365Scenario) -> None:
    """A table without change tracking gets it, after the notice that it cannot be turned off again."""
    org = d365.stack.dataverse.org
    lead = org.table("lead")
    assert lead is not None
    org.add_table(replace(lead, change_tracking=False))
    notices: list[str] = []
    provision(d365, notices)
    assert len(notices) == 1
    assert "cannot turn it off" in notices[0]
    assert "lead" in notices[0]
    assert org.table("lead").change_tracking  # type: ignore[union-attr]


def test_deprovision_removes_exactly_what_was_registered(d365: D365Scenario) -> None:
    """Ours go; another endpoint, and a step someone added to ours, stay (and so does our endpoint then)."""
    provision(d365)
    provisioner = Provisioner(d365.runtime.dataverse)
    other = provisioner.register_webhook(
        "someone-else",
        "http://127.0.0.1:9/x",
        WebhookAuth.webhook_key("k" * 20),
        [WebhookStep("Create", "account")],
    )
    report = deprovision_d365(d365.settings, d365.runtime.dataverse)
    assert report.removed_steps == 3
    assert report.endpoint_removed
    assert provisioner.inspect_webhook("ifs-connector") is None
    assert provisioner.inspect_webhook("someone-else") == other
    assert SubscriptionRepository(d365.runtime.storage.tables).get("ifs-connector") is None
    # Again, with a foreign step on our endpoint: that step and the endpoint stay.
    provision(d365)
    ours = provisioner.inspect_webhook("ifs-connector")
    assert ours is not None
    foreign = d365.runtime.dataverse.create(
        "sdkmessageprocessingsteps",
        {
            "name": "added by hand",
            "stage": 40,
            "mode": 1,
            "rank": 1,
            "supporteddeployment": 0,
            "eventhandler_serviceendpoint@odata.bind": f"/serviceendpoints({ours.service_endpoint_id})",
            "sdkmessageid@odata.bind": f"/sdkmessages({_message_id(d365, 'Delete')})",
        },
    )
    report = deprovision_d365(d365.settings, d365.runtime.dataverse)
    assert report.removed_steps == 3
    assert not report.endpoint_removed
    left = provisioner.inspect_webhook("ifs-connector")
    assert left is not None
    assert [s.id for s in left.steps] == [foreign.id]


def _message_id(scenario: D365Scenario, name: str) -> uuid.UUID:
    [row] = scenario.runtime.dataverse.query(
        "sdkmessages", select=["sdkmessageid"], filter=f"name eq '{name}'"
    )
    return uuid.UUID(row["sdkmessageid"])
