"""The simulator's webhook machinery in-process, against a real loopback endpoint: rules, timeouts, options.

Each test builds its own simulated organization (to set the webhook timeout or the SetState option) and
registers through the organization's record operations, the same code the Web API routes call.
"""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.dataverse.endpoint_auth import WebhookAuth
from shared.dataverse.webhook import EntityReference, OptionSetValue
from simulators.common.server import BackgroundServer
from simulators.common.tls import loopback_certificate
from simulators.dataverse.app import DataverseSimulator, Settings
from simulators.dataverse.errors import WebApiError
from simulators.dataverse.keys import parse_locator
from simulators.dataverse.records import Caller
from simulators.dataverse.remote_context import WebhookDelivery
from simulators.dataverse.sdkmessages import message_by_name, message_filter
from simulators.dataverse.seed import application_user
from simulators.dataverse.store import Row
from simulators.dataverse.webhooks import Job, Step, WebhookDispatcher
from tests.integration.dataverse.conftest import WebhookEndpoint
from tests.integration.dataverse.receiver import PATH as RECEIVER_PATH
from tests.integration.dataverse.receiver import Receiver

APP = "4f6c2b0e-0b7a-4c4e-9d0e-3a1f5b8c9d10"
TIMED_OUT = -2147155454  # 0x80050202 WebhooksHttpRequestTimedOut
POST_FAILED = -2147155451  # 0x80050205 WebhooksPostRequestFailed
INVALID_HEADERS = -2147155453  # 0x80050203 WebhooksInvalidHttpHeaders


class Org:
    """A simulator's organization, driven in-process as its application user."""

    def __init__(self, **settings: Any) -> None:
        self.simulator = DataverseSimulator([APP], settings=Settings(limits=None, **settings))
        caller = application_user(self.simulator.org, APP)
        assert caller is not None
        self.caller: Caller = caller

    def create(self, logical_name: str, body: dict[str, Any]) -> Row:
        table = self.simulator.org.table(logical_name)
        assert table is not None
        return self.simulator.org.create(table, body, self.caller)

    def update(self, logical_name: str, row_id: uuid.UUID, body: dict[str, Any]) -> Row:
        table = self.simulator.org.table(logical_name)
        assert table is not None
        return self.simulator.org.update(table, parse_locator(table, str(row_id)), body, self.caller)

    def delete(self, logical_name: str, row_id: uuid.UUID) -> None:
        table = self.simulator.org.table(logical_name)
        assert table is not None
        self.simulator.org.delete(table, parse_locator(table, str(row_id)), caller=self.caller)

    def endpoint(self, url: str, authtype: int = 4, authvalue: str = "k") -> uuid.UUID:
        body = {"name": "hook", "url": url, "contract": 8, "authtype": authtype, "authvalue": authvalue}
        row_id: uuid.UUID = self.create("serviceendpoint", body)["serviceendpointid"]
        return row_id

    def step(self, endpoint_id: uuid.UUID, message: str, table: str, **columns: Any) -> uuid.UUID:
        org = self.simulator.org
        message_row, filter_row = message_by_name(org, message), message_filter(org, message, table)
        assert message_row is not None
        assert filter_row is not None
        body = {
            "name": f"hook: {message} of {table}",
            "stage": 40,
            "mode": 1,
            "rank": 1,
            "eventhandler_serviceendpoint@odata.bind": f"/serviceendpoints({endpoint_id})",
            "sdkmessageid@odata.bind": f"/sdkmessages({message_row['sdkmessageid']})",
            "sdkmessagefilterid@odata.bind": f"/sdkmessagefilters({filter_row['sdkmessagefilterid']})",
            **columns,
        }
        row_id: uuid.UUID = self.create("sdkmessageprocessingstep", body)["sdkmessageprocessingstepid"]
        return row_id

    def image(self, step_id: uuid.UUID, **columns: Any) -> Row:
        body = {"sdkmessageprocessingstepid@odata.bind": f"/sdkmessageprocessingsteps({step_id})", **columns}
        return self.create("sdkmessageprocessingstepimage", {"entityalias": "image", **body})

    def jobs(self) -> list[Row]:
        return self.simulator.org.store.rows("asyncoperation")


@pytest.fixture
def orgs() -> Iterator[list[Org]]:
    """Organizations made by a test, their delivery workers stopped afterwards."""
    made: list[Org] = []
    yield made
    for org in made:
        if org.simulator.webhooks is not None:
            org.simulator.webhooks.close()


def make(orgs: list[Org], **settings: Any) -> Org:
    org = Org(**settings)
    orgs.append(org)
    return org


def test_a_call_that_outlasts_the_timeout_fails_without_a_retry(
    orgs: list[Org], endpoint: WebhookEndpoint
) -> None:
    """No answer within the (here shortened) timeout: one attempt, a failed job with the timeout code."""
    org = make(orgs, webhook_timeout_seconds=0.2)
    org.step(org.endpoint(endpoint.url), "Create", "account", asyncautodelete=True)
    endpoint.receiver.hold()
    org.create("account", {"name": "Slow"})
    assert org.simulator.drain_webhooks(10)
    endpoint.receiver.release()
    (job,) = org.jobs()
    assert (job["statecode"], job["statuscode"], job["errorcode"]) == (3, 31, TIMED_OUT)
    webhooks = org.simulator.webhooks
    assert webhooks is not None
    assert [record.statuses for record in webhooks.deliveries] == [(None,)]


def test_only_loopback_hosts_may_use_other_ports(orgs: list[Org]) -> None:
    """A non-loopback URL on port 8080 is never called: the job fails as a failed post."""
    org = make(orgs)
    org.step(org.endpoint("https://hooks.example.invalid:8080/api"), "Create", "account")
    org.create("account", {"name": "A"})
    assert org.simulator.drain_webhooks(10)
    (job,) = org.jobs()
    assert job["errorcode"] == POST_FAILED
    assert "port 8080" in job["message"]


def test_a_malformed_header_authvalue_fails_at_call_time(orgs: list[Org], endpoint: WebhookEndpoint) -> None:
    """HttpHeader auth whose value is not <settings> XML: WebhooksInvalidHttpHeaders, nothing sent."""
    org = make(orgs)
    org.step(org.endpoint(endpoint.url, authtype=5, authvalue="x-api-key: s"), "Create", "account")
    org.create("account", {"name": "A"})
    assert org.simulator.drain_webhooks(10)
    (job,) = org.jobs()
    assert job["errorcode"] == INVALID_HEADERS
    assert endpoint.receiver.received() == []


def test_setstate_steps_fire_for_state_updates_only_when_asked(
    orgs: list[Org], endpoint: WebhookEndpoint
) -> None:
    """By default an Update of statecode fires Update steps only; with the option, SetState steps too."""
    for option in (False, True):
        endpoint.receiver.reset()
        org = make(orgs, setstate_steps_on_update=option)
        hook = org.endpoint(endpoint.url)
        org.step(hook, "SetState", "salesorder")
        org.step(hook, "Update", "salesorder", filteringattributes="statecode")
        order = org.create("salesorder", {"name": "SO"})
        org.update("salesorder", order["salesorderid"], {"statecode": 1})
        assert org.simulator.drain_webhooks(10)
        messages = sorted(call.webhook_headers().request_name for call in endpoint.receiver.received())
        assert messages == (["SetState", "Update"] if option else ["Update"])
        if option:
            setstate = next(
                c.context()
                for c in endpoint.receiver.received()
                if c.webhook_headers().request_name == "SetState"
            )
            assert setstate.input_parameters["State"] == OptionSetValue(1)
            assert setstate.input_parameters["Status"] == OptionSetValue(3)
            assert setstate.input_parameters["EntityMoniker"] == EntityReference(
                "salesorder", order["salesorderid"]
            )


def test_registration_rules(orgs: list[Org]) -> None:
    """Async steps only post-operation; images fit their message and stage; a filter fits its message."""
    org = make(orgs)
    hook = org.endpoint("http://127.0.0.1:9/hook")
    with pytest.raises(WebApiError, match="post-operation"):
        org.step(hook, "Update", "account", stage=20)
    pre_step = org.step(hook, "Update", "account", stage=20, mode=0)
    with pytest.raises(WebApiError) as post_on_pre:
        org.image(pre_step, imagetype=1, messagepropertyname="Target")
    assert post_on_pre.value.code == "0x8004416e"
    create_step = org.step(hook, "Create", "account")
    with pytest.raises(WebApiError) as pre_on_create:
        org.image(create_step, imagetype=0, messagepropertyname="Id")
    assert pre_on_create.value.code == "0x8004416d"
    with pytest.raises(WebApiError) as wrong_property:
        org.image(create_step, imagetype=1, messagepropertyname="Target")
    assert wrong_property.value.code == "0x8004416b"
    org.image(create_step, imagetype=1, messagepropertyname="Id")
    update_filter = message_filter(org.simulator.org, "Update", "account")
    assert update_filter is not None
    with pytest.raises(WebApiError, match="does not belong"):
        org.update(
            "sdkmessageprocessingstep",
            create_step,
            {"sdkmessagefilterid@odata.bind": f"/sdkmessagefilters({update_filter['sdkmessagefilterid']})"},
        )
    with pytest.raises(WebApiError, match="absolute http"):
        org.endpoint("not a url")


def test_deleting_an_endpoint_deletes_its_steps_and_their_images(orgs: list[Org]) -> None:
    """The serviceendpoint → step → image cascades of the table references."""
    org = make(orgs)
    hook = org.endpoint("http://127.0.0.1:9/hook")
    step = org.step(hook, "Create", "account")
    org.image(step, imagetype=1, messagepropertyname="Id")
    org.delete("serviceendpoint", hook)
    store = org.simulator.org.store
    assert store.rows("sdkmessageprocessingstep") == []
    assert store.rows("sdkmessageprocessingstepimage") == []


def test_a_disabled_step_does_not_fire(orgs: list[Org], endpoint: WebhookEndpoint) -> None:
    """A Disabled step (statecode 1) does not fire; enabled again, it does."""
    org = make(orgs)
    step = org.step(org.endpoint(endpoint.url), "Create", "account")
    org.update("sdkmessageprocessingstep", step, {"statecode": 1})
    org.create("account", {"name": "Quiet"})
    org.update("sdkmessageprocessingstep", step, {"statecode": 0, "statuscode": 1})
    org.create("account", {"name": "Heard"})
    assert org.simulator.drain_webhooks(10)
    (call,) = endpoint.receiver.received()
    assert call.context().attribute("name") == "Heard"


def test_a_reset_drops_queued_deliveries(orgs: list[Org], endpoint: WebhookEndpoint) -> None:
    """Jobs of the organization before a reset are not delivered to the new one's endpoint."""
    org = make(orgs)
    org.step(org.endpoint(endpoint.url), "Create", "account")
    old = org.simulator.webhooks
    assert old is not None
    endpoint.receiver.hold()
    org.create("account", {"name": "In flight"})
    org.create("account", {"name": "Queued"})
    assert endpoint.receiver.arrived.wait(10)
    org.simulator.admin.reset()
    endpoint.receiver.release()
    assert old.drain(10)
    assert org.simulator.drain_webhooks(10)
    assert [call.context().attribute("name") for call in endpoint.receiver.received()] == ["In flight"]
    assert old.pending == 0


def test_https_endpoints_are_called_with_the_configured_trust(orgs: list[Org], tmp_path: Path) -> None:
    """An https endpoint with the loopback certificate is reached when its CA file is configured."""
    tls = loopback_certificate(tmp_path)
    receiver = Receiver()
    with BackgroundServer(receiver.app, tls=tls) as server:
        org = make(orgs, webhook_ca_file=str(tls.cert_path))
        org.step(org.endpoint(f"{server.url}{RECEIVER_PATH}"), "Create", "account")
        org.create("account", {"name": "Secure"})
        assert org.simulator.drain_webhooks(10)
    (call,) = receiver.received()
    assert call.context().attribute("name") == "Secure"


def test_a_delete_carries_a_reference_and_its_pre_image(orgs: list[Org], endpoint: WebhookEndpoint) -> None:
    """Target is an EntityReference; the registered pre image holds the deleted row's columns."""
    org = make(orgs)
    step = org.step(org.endpoint(endpoint.url), "Delete", "account")
    org.image(step, entityalias="gone", imagetype=0, messagepropertyname="Target", attributes="name")
    account = org.create("account", {"name": "Bye"})
    org.delete("account", account["accountid"])
    assert org.simulator.drain_webhooks(10)
    (call,) = endpoint.receiver.received()
    context = call.context()
    assert context.input_parameters["Target"] == EntityReference("account", account["accountid"])
    image = context.pre_image("gone")
    assert image is not None
    assert dict(image.attributes) == {"name": "Bye"}
    assert context.post_entity_images == {}


def two_steps(org: Org, first_url: str, second_url: str, **first_endpoint: Any) -> None:
    """Create of account on two endpoints, the first one's step running first (rank 1, then 2)."""
    org.step(org.endpoint(first_url, **first_endpoint), "Create", "account", rank=1)
    org.step(org.endpoint(second_url), "Create", "account", rank=2)


def jobs_by_url(org: Org) -> dict[str, Row]:
    """The system jobs by the URL of the step's endpoint."""
    store = org.simulator.org.store
    found: dict[str, Row] = {}
    for job in org.jobs():
        step = store.get("sdkmessageprocessingstep", job["owningextensionid"].id)
        assert step is not None
        endpoint = store.get("serviceendpoint", step["eventhandler"].id)
        assert endpoint is not None
        found[endpoint["url"]] = job
    return found


def test_an_endpoint_with_an_impossible_port_fails_its_job_and_the_next_is_delivered(
    orgs: list[Org], endpoint: WebhookEndpoint
) -> None:
    """Port 99999 (stored past registration's check) fails as a failed post; the worker carries on."""
    org = make(orgs)
    bad = "http://127.0.0.1:9/hook"
    two_steps(org, bad, endpoint.url)
    store = org.simulator.org.store
    (row,) = [r for r in store.rows("serviceendpoint") if r["url"] == bad]
    store.put("serviceendpoint", row["serviceendpointid"], {**row, "url": "http://127.0.0.1:99999/hook"})
    org.create("account", {"name": "A"})
    assert org.simulator.drain_webhooks(10)
    job = jobs_by_url(org)["http://127.0.0.1:99999/hook"]
    assert (job["statuscode"], job["errorcode"]) == (31, POST_FAILED)
    assert "is not a valid URL (Port out of range" in job["message"]
    assert [call.context().attribute("name") for call in endpoint.receiver.received()] == ["A"]


def test_a_header_value_http_cannot_carry_is_an_invalid_header(
    orgs: list[Org], endpoint: WebhookEndpoint
) -> None:
    """A non-ASCII HttpHeader value: WebhooksInvalidHttpHeaders, nothing sent; the next job is delivered."""
    org = make(orgs)
    auth = WebhookAuth.http_headers({"x-api-key": "clé"})
    two_steps(org, endpoint.url + "?bad", endpoint.url, authtype=auth.authtype, authvalue=auth.authvalue)
    org.create("account", {"name": "A"})
    assert org.simulator.drain_webhooks(10)
    job = jobs_by_url(org)[endpoint.url + "?bad"]
    assert (job["statuscode"], job["errorcode"]) == (31, INVALID_HEADERS)
    (call,) = endpoint.receiver.received()
    assert "x-api-key" not in call.headers


def test_an_unexpected_failure_fails_the_job_and_the_worker_carries_on(
    orgs: list[Org], endpoint: WebhookEndpoint
) -> None:
    """Whatever breaks inside one delivery marks its job Failed (failed post) and the next still runs."""
    org = make(orgs)
    clients = iter([None])

    def http() -> httpx.Client:
        if next(clients, "made") is None:
            raise RuntimeError("no HTTP client this time")
        return httpx.Client(timeout=10, trust_env=False)

    simulator = org.simulator
    assert simulator.webhooks is not None
    simulator.webhooks.close()
    simulator.webhooks = WebhookDispatcher(
        simulator.org, organization_domain="org.crm.dynamics.com", organization_name="org", http_factory=http
    )
    simulator.org.pipeline = simulator.webhooks
    org.step(org.endpoint(endpoint.url), "Create", "account")
    org.create("account", {"name": "First"})
    org.create("account", {"name": "Second"})
    assert simulator.drain_webhooks(10)
    (failed,) = [job for job in org.jobs() if job["statuscode"] == 31]
    assert failed["errorcode"] == POST_FAILED
    assert "RuntimeError: no HTTP client this time" in failed["message"]
    assert [call.context().attribute("name") for call in endpoint.receiver.received()] == ["Second"]


def test_registration_refuses_an_endpoint_url_with_an_impossible_port(orgs: list[Org]) -> None:
    """A webhook endpoint whose URL cannot be parsed is a 400 when it is written, not a crash later."""
    org = make(orgs)
    with pytest.raises(WebApiError, match="not a valid URL") as refused:
        org.endpoint("http://127.0.0.1:99999/hook")
    assert refused.value.status == 400
    assert org.simulator.org.store.rows("serviceendpoint") == []


class GatedQueue(queue.Queue[Any]):
    """A queue whose first ``put`` of a job waits, signalling ``entered``, until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is not None and not self.entered.is_set():
            self.entered.set()
            self.release.wait(10)
        super().put(item, block, timeout)


def test_a_close_cannot_slip_between_counting_a_delivery_and_queuing_it(orgs: list[Org]) -> None:
    """While a job is being queued, close() cannot run; once it does, nothing is left counted as pending."""
    org = make(orgs)
    dispatcher = WebhookDispatcher(
        org.simulator.org,
        organization_domain="org.crm.dynamics.com",
        organization_name="org",
        http_factory=lambda: httpx.Client(timeout=10, trust_env=False),
    )
    gated = GatedQueue()
    dispatcher._queue = gated  # the stdlib queue, swapped for one that pauses mid-put
    step = Step(uuid.uuid4(), "hook", 40, 1, 1, uuid.uuid4(), True, ())
    delivery = WebhookDelivery(b"{}", {}, size_exceeded=False)
    job = Job(uuid.uuid4(), step, "Create", "account", delivery)
    submitting = threading.Thread(target=dispatcher._submit, args=(job,))
    submitting.start()
    assert gated.entered.wait(10)
    window_open = dispatcher._idle.acquire(blocking=False)
    if window_open:  # the race: close() runs between counting the job and queuing it
        dispatcher._idle.release()
        dispatcher.close()
    gated.release.set()
    submitting.join(10)
    if not window_open:
        dispatcher.close()
    assert dispatcher.drain(10)
    assert dispatcher.pending == 0
    assert not window_open


def test_deliveries_ignore_proxy_settings_in_the_environment(
    orgs: list[Org], endpoint: WebhookEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every proxy variable pointing at a closed port, the call still goes straight to the endpoint."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    org = make(orgs)
    org.step(org.endpoint(endpoint.url), "Create", "account")
    org.create("account", {"name": "Direct"})
    assert org.simulator.drain_webhooks(10)
    assert [call.context().attribute("name") for call in endpoint.receiver.received()] == ["Direct"]
