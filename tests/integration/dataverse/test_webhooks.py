"""Webhooks end to end over real HTTP: registered by the client, fired by the simulator, parsed by the parser.

The Dataverse simulator runs over HTTPS with Entra tokens; the webhook endpoint is a plain-HTTP loopback
server. Asynchronous deliveries are awaited with the ``drain_webhooks`` admin action, never by sleeping.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import pytest

from shared.dataverse.actions import DataverseActions
from shared.dataverse.client import DataverseClient
from shared.dataverse.endpoint_auth import WebhookAuth
from shared.dataverse.errors import BadRequestError
from shared.dataverse.provisioning import (
    MODE_SYNCHRONOUS,
    Provisioner,
    Registration,
    StepImage,
    StepNotAllowedError,
    WebhookStep,
)
from shared.dataverse.webhook import EntityReference, OptionSetValue
from tests.integration.dataverse.conftest import DataverseStack, WebhookEndpoint
from tests.integration.dataverse.receiver import summary
from tests.integration.dataverse.sales import quote

NON_SUCCESS = -2147155455  # 0x80050201 WebhooksNonSuccessHttpResponse
ORDER_STEPS = (
    WebhookStep("Create", "salesorder"),
    WebhookStep("Update", "salesorder", ("statecode", "statuscode"), images=(StepImage("post"),)),
)


def drain(dataverse: DataverseStack) -> None:
    with dataverse.admin() as admin:
        assert admin.action("drain_webhooks", {"timeout": 30})["drained"] is True


def register(
    dataverse: DataverseStack,
    endpoint: WebhookEndpoint,
    steps: Iterable[WebhookStep] = ORDER_STEPS,
    auth: WebhookAuth | None = None,
) -> Registration:
    return Provisioner(dataverse.client()).register_webhook(
        "ifs-sync", endpoint.url, auth or WebhookAuth.webhook_key("fn-key"), steps
    )


def failed_jobs(client: DataverseClient, step_id: str) -> list[dict[str, Any]]:
    return list(
        client.query(
            "asyncoperations",
            select=["name", "friendlymessage", "errorcode", "message", "completedon", "statecode"],
            filter=f"statuscode eq 31 and _owningextensionid_value eq {step_id}",
            orderby="completedon desc",
        )
    )


def test_a_registered_webhook_is_delivered_and_parsed(
    dataverse: DataverseStack, endpoint: WebhookEndpoint
) -> None:
    """Converting a quote delivers the order's Create, in the real payload shape, with the key and headers."""
    registration = register(dataverse, endpoint)
    client = dataverse.client()
    me = client.who_am_i()
    order = DataverseActions(client).convert_quote_to_order(quote(client), ["salesorderid", "quoteid"])
    drain(dataverse)
    (call,) = endpoint.receiver.received()
    assert call.query == {"code": "fn-key"}
    assert call.headers["content-type"] == "application/json"
    headers = call.webhook_headers()
    context = call.context()
    assert (headers.request_name, headers.entity_name) == ("Create", "salesorder")
    assert headers.organization == "org.crm.dynamics.com"
    assert headers.correlation_request_id == context.correlation_id
    assert headers.request_id is not None
    assert not headers.size_exceeded
    assert (context.message_name, context.primary_entity_name) == ("Create", "salesorder")
    assert context.primary_entity_id == uuid.UUID(order["salesorderid"])
    assert (context.stage, context.mode, context.depth) == (40, 1, 1)
    assert context.initiating_user_id == context.user_id == me.user_id
    assert context.organization_id == me.organization_id
    assert context.owning_extension == EntityReference(
        "sdkmessageprocessingstep", uuid.UUID(registration.step_ids["ifs-sync: Create of salesorder"])
    )
    assert context.request_id is not None
    assert context.operation_id != context.request_id  # an async step's OperationId is its system job
    assert context.output_parameters == {"id": order["salesorderid"]}
    target = context.target
    assert target is not None
    assert target.attributes["quoteid"] == EntityReference("quote", uuid.UUID(order["_quoteid_value"]))
    assert target.attributes["statecode"] == OptionSetValue(0)
    image = context.post_image("AsynchronousStepPrimaryName")
    assert image is not None
    assert set(image.attributes) == {"name", "salesorderid"}
    assert context.parent_context is not None
    assert (context.parent_context.stage, context.parent_context.message_name) == (30, "Create")
    grandparent = context.parent_context.parent_context
    assert grandparent is not None
    assert grandparent.message_name == "ConvertQuoteToSalesOrder"
    assert context.dedupe_key.startswith(f"{context.operation_id}:Create:")


def test_fulfilment_is_delivered_as_an_update_of_state(
    dataverse: DataverseStack, endpoint: WebhookEndpoint
) -> None:
    """FulfillSalesOrder changes state: the Update step filtered on statecode fires; other updates do not."""
    register(dataverse, endpoint)
    client = dataverse.client()
    actions = DataverseActions(client)
    order_id = uuid.UUID(actions.convert_quote_to_order(quote(client), ["salesorderid"])["salesorderid"])
    client.update("salesorders", order_id, {"description": "not a state change"})
    actions.fulfill_order(order_id)
    drain(dataverse)
    assert [(m, t) for m, t, _ in summary(endpoint.receiver.received())] == [
        ("Create", "salesorder"),
        ("Update", "salesorder"),
    ]
    update = endpoint.receiver.received()[1].context()
    assert update.attribute("statecode") == OptionSetValue(3)
    assert update.attribute("statuscode") == OptionSetValue(100001)
    assert "description" not in (update.target.attributes if update.target else {})
    post = update.post_image("post")
    assert post is not None
    assert post.attributes["description"] == "not a state change"


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_gateway_failure_is_retried_exactly_once(
    dataverse: DataverseStack, endpoint: WebhookEndpoint, status: int
) -> None:
    """502/503/504 then 200: two calls, the job succeeds; twice: two calls, then a failed system job."""
    registration = register(dataverse, endpoint, [WebhookStep("Create", "account", asyncautodelete=False)])
    client = dataverse.client()
    endpoint.receiver.answer(status, 200)
    client.create("accounts", {"name": "First"})
    drain(dataverse)
    assert [answer for _, _, answer in summary(endpoint.receiver.received())] == [status, 200]
    first, second = endpoint.receiver.received()
    assert first.body == second.body
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    jobs = list(client.query("asyncoperations", select=["statecode", "statuscode", "name"]))
    assert [(j["statecode"], j["statuscode"], j["name"]) for j in jobs] == [
        (3, 30, "ifs-sync: Create of account")
    ]
    endpoint.receiver.reset()
    endpoint.receiver.answer(status, status, then=200)
    client.create("accounts", {"name": "Second"})
    drain(dataverse)
    assert [answer for _, _, answer in summary(endpoint.receiver.received())] == [status, status]
    (failed,) = failed_jobs(client, registration.step_ids["ifs-sync: Create of account"])
    assert failed["errorcode"] == NON_SUCCESS
    assert str(status) in failed["message"]


@pytest.mark.parametrize("status", [400, 408, 429, 500])
def test_other_failures_are_not_retried_and_fail_the_system_job(
    dataverse: DataverseStack, endpoint: WebhookEndpoint, status: int
) -> None:
    """One call only, even for 408 and 429; the failed job is queryable as register-web-hook shows."""
    registration = register(dataverse, endpoint, [WebhookStep("Create", "account")])
    client = dataverse.client()
    endpoint.receiver.answer(status)
    account = client.create("accounts", {"name": "Contoso"})
    drain(dataverse)
    assert [answer for _, _, answer in summary(endpoint.receiver.received())] == [status]
    (job,) = failed_jobs(client, registration.step_ids["ifs-sync: Create of account"])
    assert job["statecode"] == 3
    assert job["errorcode"] == NON_SUCCESS
    assert job["friendlymessage"].startswith(
        "The webhook call failed because the http request received non-success"
    )
    assert str(status) in job["message"]
    assert job["completedon"] is not None
    assert job["name"] == "ifs-sync: Create of account"
    full = client.get("asyncoperations", uuid.UUID(job["asyncoperationid"]))
    assert full is not None
    assert full["_regardingobjectid_value"] == str(account.id)
    assert full["messagename"] == "Create"
    assert full["primaryentitytype"] == "account"


def test_successful_jobs_are_deleted_when_the_step_says_so(
    dataverse: DataverseStack, endpoint: WebhookEndpoint
) -> None:
    """Asyncautodelete (the provisioning default) leaves no system job behind a delivered event."""
    register(dataverse, endpoint, [WebhookStep("Create", "account")])
    client = dataverse.client()
    client.create("accounts", {"name": "Contoso"})
    drain(dataverse)
    assert len(endpoint.receiver.received()) == 1
    assert list(client.query("asyncoperations")) == []


def test_one_request_shares_its_correlation_id(dataverse: DataverseStack, endpoint: WebhookEndpoint) -> None:
    """An order and its lines from one conversion: one CorrelationId, one OperationId per system job."""
    register(
        dataverse, endpoint, [WebhookStep("Create", "salesorder"), WebhookStep("Create", "salesorderdetail")]
    )
    client = dataverse.client()
    DataverseActions(client).convert_quote_to_order(quote(client), ["salesorderid"])
    drain(dataverse)
    contexts = [call.context() for call in endpoint.receiver.received()]
    assert sorted(c.primary_entity_name for c in contexts) == [
        "salesorder",
        "salesorderdetail",
        "salesorderdetail",
    ]
    assert len({c.correlation_id for c in contexts}) == 1
    assert len({c.operation_id for c in contexts}) == 3
    lines = [c for c in contexts if c.primary_entity_name == "salesorderdetail"]
    assert all(isinstance(c.attribute("quotedetailid"), EntityReference) for c in lines)


def test_headers_and_query_string_authentication(
    dataverse: DataverseStack, endpoint: WebhookEndpoint
) -> None:
    """HttpHeader sends the pairs as headers, HttpQueryString as query parameters; no code either way."""
    client = dataverse.client()
    register(
        dataverse, endpoint, [WebhookStep("Create", "account")], WebhookAuth.http_headers({"x-api-key": "s3"})
    )
    client.create("accounts", {"name": "A"})
    drain(dataverse)
    register(
        dataverse, endpoint, [WebhookStep("Create", "account")], WebhookAuth.query_string({"key": "k&1"})
    )
    client.create("accounts", {"name": "B"})
    drain(dataverse)
    by_header, by_query = endpoint.receiver.received()
    assert by_header.headers["x-api-key"] == "s3"
    assert by_header.query == {}
    assert by_query.query == {"key": "k&1"}
    assert "x-api-key" not in by_query.headers


def test_auth_value_is_write_only(dataverse: DataverseStack, endpoint: WebhookEndpoint) -> None:
    """Reads never return authvalue; isauthvalueset says it is set; $select=authvalue is refused."""
    registration = register(dataverse, endpoint)
    client = dataverse.client()
    row = client.get("serviceendpoints", uuid.UUID(registration.service_endpoint_id))
    assert row is not None
    assert "authvalue" not in row
    assert (row["isauthvalueset"], row["contract"], row["authtype"], row["messageformat"]) == (True, 8, 4, 2)
    with pytest.raises(BadRequestError):
        client.get("serviceendpoints", uuid.UUID(registration.service_endpoint_id), select=["authvalue"])


def test_registering_twice_registers_once_and_changes_are_applied(
    dataverse: DataverseStack, endpoint: WebhookEndpoint
) -> None:
    """Same ids the second time; a new URL updates the endpoint; dropped steps go; remove cleans up."""
    provisioner = Provisioner(dataverse.client())
    first = register(dataverse, endpoint)
    second = register(dataverse, endpoint)
    assert second == first
    assert sorted(first.step_ids) == ["ifs-sync: Create of salesorder", "ifs-sync: Update of salesorder"]
    moved = provisioner.register_webhook(
        "ifs-sync",
        endpoint.url + "?v=2",
        WebhookAuth.webhook_key("fn-key"),
        [WebhookStep("Update", "salesorder", ("statecode",), images=(StepImage("pre", "pre", ("name",)),))],
    )
    assert moved.service_endpoint_id == first.service_endpoint_id
    assert moved.endpoint_url.endswith("?v=2")
    (step,) = moved.steps
    assert step.id == uuid.UUID(first.step_ids["ifs-sync: Update of salesorder"])
    assert step.filtering_attributes == ("statecode",)
    assert [(i.alias, i.image_type, i.attributes) for i in step.images] == [("pre", "pre", ("name",))]
    assert provisioner.inspect_webhook("ifs-sync") == moved
    client = dataverse.client()
    assert len(list(client.query("sdkmessageprocessingsteps"))) == 1
    assert len(list(client.query("sdkmessageprocessingstepimages"))) == 1
    assert provisioner.remove_webhook("ifs-sync") is True
    assert provisioner.remove_webhook("ifs-sync") is False
    assert provisioner.inspect_webhook("ifs-sync") is None
    assert list(client.query("sdkmessageprocessingsteps")) == []
    assert list(client.query("sdkmessageprocessingstepimages")) == []


def test_steps_are_refused_where_dataverse_refuses_them(
    dataverse: DataverseStack, endpoint: WebhookEndpoint
) -> None:
    """No custom steps on ConvertQuoteToSalesOrder or FulfillSalesOrder; PascalCase binds are a 400."""
    provisioner = Provisioner(dataverse.client())
    with pytest.raises(StepNotAllowedError):
        provisioner.register_webhook(
            "ifs-sync",
            endpoint.url,
            WebhookAuth.webhook_key("k"),
            [WebhookStep("FulfillSalesOrder", "salesorder")],
        )
    endpoint_id = provisioner.inspect_webhook("ifs-sync")
    assert endpoint_id is not None
    client = dataverse.client()
    (message,) = client.query(
        "sdkmessages", select=["sdkmessageid"], filter="name eq 'ConvertQuoteToSalesOrder'"
    )
    (message_filter,) = client.query(
        "sdkmessagefilters",
        select=["sdkmessagefilterid"],
        filter=f"_sdkmessageid_value eq {message['sdkmessageid']} and primaryobjecttypecode eq 'quote'",
    )
    step = {
        "name": "direct",
        "stage": 40,
        "mode": 1,
        "rank": 1,
        "eventhandler_serviceendpoint@odata.bind": f"/serviceendpoints({endpoint_id.service_endpoint_id})",
        "sdkmessageid@odata.bind": f"/sdkmessages({message['sdkmessageid']})",
        "sdkmessagefilterid@odata.bind": f"/sdkmessagefilters({message_filter['sdkmessagefilterid']})",
    }
    with pytest.raises(BadRequestError) as refused:
        client.create("sdkmessageprocessingsteps", step)
    assert refused.value.code == "0x80044187"
    assert (
        refused.value.message
        == "Custom SdkMessageProcessingStep is not allowed on the specified message and entity."
    )
    pascal = {k.replace("sdkmessageid@", "SdkMessageId@"): v for k, v in step.items()}
    with pytest.raises(BadRequestError) as bad_bind:
        client.create("sdkmessageprocessingsteps", pascal)
    assert "SdkMessageId" in bad_bind.value.message


def test_a_failing_synchronous_step_fails_the_request(
    dataverse: DataverseStack, endpoint: WebhookEndpoint
) -> None:
    """A sync step is called before the create returns; its 500 fails the create, which leaves no row."""
    register(dataverse, endpoint, [WebhookStep("Create", "account", mode=MODE_SYNCHRONOUS)])
    client = dataverse.client()
    created = client.create("accounts", {"name": "Delivered"})
    (call,) = endpoint.receiver.received()  # no drain: delivered inside the request
    context = call.context()
    assert (context.mode, context.is_in_transaction) == (0, True)
    assert context.operation_id == context.request_id
    assert context.primary_entity_id == created.id
    endpoint.receiver.answer(500)
    with pytest.raises(BadRequestError) as refused:
        client.create("accounts", {"name": "Refused"})
    assert refused.value.code == "0x80050201"
    assert [row["name"] for row in client.query("accounts", select=["name"])] == ["Delivered"]


def test_a_rolled_back_request_delivers_nothing(dataverse: DataverseStack, endpoint: WebhookEndpoint) -> None:
    """An async step's job is written in the request: when a sync step fails it, nothing is queued."""
    register(
        dataverse,
        endpoint,
        [WebhookStep("Create", "account", mode=MODE_SYNCHRONOUS), WebhookStep("Create", "contact")],
    )
    client = dataverse.client()
    endpoint.receiver.answer(500)
    with pytest.raises(BadRequestError):
        client.create("accounts", {"name": "Refused"})
    drain(dataverse)
    assert len(endpoint.receiver.received()) == 1
    assert list(client.query("asyncoperations")) == []


def test_a_payload_over_256_kb_is_trimmed(dataverse: DataverseStack, endpoint: WebhookEndpoint) -> None:
    """The size header is sent and Target, images and ParentContext are left out."""
    register(dataverse, endpoint, [WebhookStep("Create", "product")])
    client = dataverse.client()
    product = client.create(
        "products", {"name": "Manual", "productnumber": "P-1", "description": "x" * 300_000}
    )
    drain(dataverse)
    (call,) = endpoint.receiver.received()
    assert call.webhook_headers().size_exceeded is True
    assert len(call.body) < 256 * 1024
    context = call.context()
    assert context.target is None
    assert context.parent_context is None
    assert context.post_entity_images == {}
    assert context.primary_entity_id == product.id


def test_pre_and_post_images(dataverse: DataverseStack, endpoint: WebhookEndpoint) -> None:
    """Registered images hold the row before and after with the registered columns."""
    register(
        dataverse,
        endpoint,
        [
            WebhookStep(
                "Update",
                "account",
                ("name",),
                images=(
                    StepImage("before", "pre", ("name",)),
                    StepImage("after", "post", ("name", "telephone1")),
                ),
            )
        ],
    )
    client = dataverse.client()
    account = client.create("accounts", {"name": "Old", "telephone1": "555"}).id
    assert account is not None
    client.update("accounts", account, {"name": "New"})
    drain(dataverse)
    (call,) = endpoint.receiver.received()
    context = call.context()
    before, after = context.pre_image("before"), context.post_image("after")
    assert before is not None
    assert after is not None
    assert dict(before.attributes) == {"name": "Old"}
    assert dict(after.attributes) == {"name": "New", "telephone1": "555"}


def test_registering_again_re_enables_a_disabled_step(
    dataverse: DataverseStack, endpoint: WebhookEndpoint
) -> None:
    """Someone disabled the step in Dataverse; provisioning turns it back on, and it fires again."""
    registration = register(dataverse, endpoint, [WebhookStep("Create", "account")])
    client = dataverse.client()
    step_id = uuid.UUID(registration.step_ids["ifs-sync: Create of account"])
    client.update("sdkmessageprocessingsteps", step_id, {"statecode": 1, "statuscode": 2})
    inspected = Provisioner(client).inspect_webhook("ifs-sync")
    assert inspected is not None
    assert [step.enabled for step in inspected.steps] == [False]
    again = register(dataverse, endpoint, [WebhookStep("Create", "account")])
    assert [(step.id, step.enabled) for step in again.steps] == [(step_id, True)]
    client.create("accounts", {"name": "Heard"})
    drain(dataverse)
    assert [call.context().attribute("name") for call in endpoint.receiver.received()] == ["Heard"]
