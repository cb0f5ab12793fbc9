"""The webhook authentication codec and the step descriptions provisioning accepts."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from shared.dataverse.endpoint_auth import (
    AuthType,
    AuthValueError,
    WebhookAuth,
    parse_settings_xml,
    settings_xml,
)
from shared.dataverse.provisioning import (
    MODE_SYNCHRONOUS,
    RegisteredStep,
    Registration,
    StepImage,
    WebhookStep,
)
from shared.state.subscriptions import Subscription


def test_settings_round_trip_with_escaping() -> None:
    """Names and values with quotes, ampersands and angle brackets survive."""
    pairs = {"x-api-key": 'a"b&c<d>', "x-tenant": "t1"}
    text = settings_xml(pairs)
    assert text.startswith("<settings><setting name=")
    assert parse_settings_xml(text) == pairs


@pytest.mark.parametrize(
    "text",
    [
        "not xml",
        "<config><setting name='a' value='b'/></config>",
        "<settings><item name='a' value='b'/></settings>",
        "<settings><setting value='b'/></settings>",
        "<settings></settings>",
    ],
)
def test_malformed_settings_are_refused(text: str) -> None:
    """Anything but <settings> with named <setting> children raises AuthValueError."""
    with pytest.raises(AuthValueError):
        parse_settings_xml(text)


def test_each_auth_type_says_where_its_values_go() -> None:
    """WebhookKey → ?code=, HttpHeader → headers, HttpQueryString → query; the secret is not in repr."""
    key = WebhookAuth.webhook_key("s3cret")
    headers = WebhookAuth.http_headers({"x-api-key": "h"})
    query = WebhookAuth.query_string({"k": "q"})
    assert (key.authtype, dict(key.query()), dict(key.headers())) == (
        AuthType.WEBHOOK_KEY,
        {"code": "s3cret"},
        {},
    )
    assert (headers.authtype, dict(headers.headers()), dict(headers.query())) == (
        AuthType.HTTP_HEADER,
        {"x-api-key": "h"},
        {},
    )
    assert (query.authtype, dict(query.query())) == (AuthType.HTTP_QUERY_STRING, {"k": "q"})
    assert "s3cret" not in repr(key)
    with pytest.raises(AuthValueError):
        WebhookAuth.webhook_key("")
    with pytest.raises(AuthValueError):
        WebhookAuth.http_headers({})


def test_a_step_is_named_after_its_registration_message_and_table() -> None:
    """``<registration>: <message> of <table>``, the convention of the register-web-hook examples."""
    assert WebhookStep("Update", "salesorder").step_name("ifs-sync") == "ifs-sync: Update of salesorder"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: WebhookStep("Create", "account", stage=20), "asynchronous"),
        (lambda: WebhookStep("Create", "account", mode=2), "mode"),
        (lambda: WebhookStep("Create", "account", mode=MODE_SYNCHRONOUS, stage=30), "stage"),
        (
            lambda: WebhookStep(
                "Update", "account", mode=MODE_SYNCHRONOUS, stage=20, images=(StepImage("post"),)
            ),
            "post image",
        ),
        (lambda: WebhookStep("Create", "account", images=(StepImage("pre", "pre"),)), "pre image"),
        (lambda: WebhookStep("Delete", "account", images=(StepImage("post", "post"),)), "post image"),
    ],
)
def test_steps_dataverse_would_refuse_are_refused_before_any_call(
    make: Callable[[], WebhookStep], reason: str
) -> None:
    """Invalid combinations fail fast with a reason, instead of half-registering a webhook."""
    with pytest.raises(ValueError, match=reason):
        make()


def test_a_registration_gives_what_a_subscription_stores() -> None:
    """name, endpoint_url, service_endpoint_id and step_ids (step name → id) build a Subscription."""
    step_id = uuid.uuid4()
    step = RegisteredStep(
        step_id, "ifs-sync: Create of salesorder", "Create", "salesorder", 40, 1, 1, (), True, True
    )
    registration = Registration("ifs-sync", "https://fn/api/hook", "e1", (step,))
    subscription = Subscription(
        registration.name, registration.endpoint_url, registration.service_endpoint_id, registration.step_ids
    )
    assert subscription.step_ids == {"ifs-sync: Create of salesorder": str(step_id)}
