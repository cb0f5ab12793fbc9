"""The webhook's answers (``shared.d365_webhook.answer``, what the HTTP function returns) on Azurite.

Every real payload in tests/vectors gets an answer a person can act on (processed, or ignored with a
reason); refusals carry the right status; fuzzed bodies and header sets never make it raise (the function
would answer 500). No simulator is needed: the webhook never calls Dataverse or IFS.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from devhost.host import REPO_ROOT
from shared import bootstrap
from shared.config import AppSettings, ConfigError, D365WebhookSettings, read_local_settings
from shared.d365_webhook import MAX_BODY_BYTES, answer
from shared.records import Subscription
from shared.state.subscriptions import SubscriptionRepository
from shared.sync.d365.messages import parse_order_message

pytestmark = pytest.mark.azurite
VECTORS = sorted((REPO_ROOT / "tests" / "vectors" / "dataverse").glob("webhook*.json")) + sorted(
    (REPO_ROOT / "tests" / "vectors" / "dataverse" / "webhook-captures").glob("*.json")
)
SECRET = "integration-webhook-secret-01"
APP_USER = "0d1a2b3c-4d5e-4f60-8172-839495a6b7c8"
QUOTE = "7a3bbd59-3a7f-4dd7-9a2c-b3a1ad4b1b52"
ORDER = "5b0c5c26-9d5d-4c41-a2ae-0b5b6e6df4a1"


def document(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def headers_for(doc: dict[str, Any], **extra: str) -> dict[str, str]:
    """The documented headers of a delivery of ``doc`` and the secret."""
    return {
        "x-ms-dynamics-organization": "org.crm4.dynamics.com",
        "x-ms-dynamics-entity-name": str(doc.get("PrimaryEntityName")),
        "x-ms-dynamics-request-name": str(doc.get("MessageName")),
        "x-ms-correlation-request-id": str(doc.get("CorrelationId")),
        "x-connector-webhook-secret": SECRET,
        **extra,
    }


def order_created(operation: str | None = None, *, user: str | None = None) -> dict[str, Any]:
    """The Microsoft sample turned into an async Create of a salesorder converted from a quote."""
    doc = copy.deepcopy(
        document(REPO_ROOT / "tests" / "vectors" / "dataverse" / "webhook-ms-docs-sample.json")
    )
    reference: dict[str, Any] = {
        "__type": "EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts",
        "Id": QUOTE,
        "KeyAttributes": [],
        "LogicalName": "quote",
        "Name": None,
        "RowVersion": None,
    }
    target = doc["InputParameters"][0]["value"]
    target.update(Id=ORDER, LogicalName="salesorder", Attributes=[{"key": "quoteid", "value": reference}])
    doc.update(MessageName="Create", PrimaryEntityName="salesorder", PrimaryEntityId=ORDER)
    if operation:
        doc["OperationId"] = operation
    if user:
        doc["UserId"] = doc["InitiatingUserId"] = user
    return doc


class Webhook:
    """The webhook's settings on this test's storage, and its answers."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    @property
    def settings(self) -> AppSettings:
        return AppSettings(self.values)

    def serve(self, organization_id: str, user_id: str = APP_USER) -> None:
        """Record a registration as provisioning would (the org and the connector's own user)."""
        repository = SubscriptionRepository(bootstrap.storage(self.settings).tables)
        repository.save(
            Subscription(
                "ifs-connector",
                "https://fn/api/webhooks/dataverse",
                "se",
                {},
                None,
                organization_id,
                user_id,
                "fp",
            )
        )

    def post(
        self, body: bytes | dict[str, Any], headers: dict[str, str], params: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str]]:
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        reply = answer(self.settings, headers, params or {}, raw)
        return reply.status, dict(reply.body)

    def queued(self) -> list[str]:
        queue = bootstrap.storage(self.settings).publisher.queue(self.values["D365_ORDERS_QUEUE"])
        return [str(m.content) for m in queue.peek_messages(max_messages=32)]


@pytest.fixture
def webhook(azurite_connection_string: str, unique_name: str) -> Webhook:
    values = read_local_settings(REPO_ROOT / "local.settings.sample.json") | {
        "AzureWebJobsStorage": azurite_connection_string,
        "STATE_TABLE_PREFIX": unique_name,
        "D365_ORDERS_QUEUE": f"{unique_name}-orders",
        "D365_WEBHOOK_SECRET": SECRET,
    }
    return Webhook(values)


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.name)
def test_every_real_payload_is_ignored_with_a_reason(webhook: Webhook, path: Path) -> None:
    """None of the captures is a sales event: each is ignored (200), naming the message and the table."""
    doc = document(path)
    webhook.serve(str(doc["OrganizationId"]))
    status, body = webhook.post(path.read_bytes(), headers_for(doc))
    assert (status, body["outcome"]) == (200, "ignored")
    assert body["reason"] == f"no flow handles {doc['MessageName']} of {doc['PrimaryEntityName']}"
    assert webhook.queued() == []


def test_a_converted_order_is_queued_and_a_redelivery_recognised(webhook: Webhook) -> None:
    """202 and one message; the same operation again (another RequestId) is a duplicate; another is new."""
    doc = order_created()
    webhook.serve(str(doc["OrganizationId"]))
    status, body = webhook.post(doc, headers_for(doc, **{"x-request-id": str(uuid.uuid4())}))
    assert (status, body["outcome"]) == (202, "accepted")
    [queued] = webhook.queued()
    event = parse_order_message(queued)
    assert (event.kind, str(event.record_id), event.message, event.source) == (
        "order",
        ORDER,
        "Create",
        "webhook",
    )
    again = dict(doc, RequestId=str(uuid.uuid4()))
    assert (
        webhook.post(again, headers_for(again, **{"x-request-id": str(uuid.uuid4())}))[1]["outcome"]
        == "duplicate"
    )
    other = order_created(str(uuid.uuid4()))
    assert webhook.post(other, headers_for(other))[0] == 202
    assert len(webhook.queued()) == 2


def test_a_trimmed_payload_is_queued_for_the_worker_to_read(webhook: Webhook) -> None:
    """Over 256 KB Dataverse drops Target and images: the webhook cannot tell, the worker reads the order."""
    doc = order_created()
    for key in ("InputParameters", "PostEntityImages", "PreEntityImages"):
        doc[key] = []
    doc["ParentContext"] = None
    webhook.serve(str(doc["OrganizationId"]))
    status, _ = webhook.post(doc, headers_for(doc, **{"x-ms-dynamics-msg-size-exceeded": "true"}))
    assert status == 202
    assert parse_order_message(webhook.queued()[0]).trimmed


def test_the_connectors_own_events_are_ignored(webhook: Webhook) -> None:
    """Caused by the connector's application user (the IFS → Dynamics flow): no ping-pong."""
    doc = order_created(user=APP_USER)
    webhook.serve(str(doc["OrganizationId"]))
    status, body = webhook.post(doc, headers_for(doc))
    assert (status, body["reason"]) == (200, "caused by the connector's own application user")
    assert webhook.queued() == []


def test_an_order_entered_directly_is_not_queued_on_create(webhook: Webhook) -> None:
    """Create without quoteid in state Active: it goes when submitted."""
    doc = order_created()
    doc["InputParameters"][0]["value"]["Attributes"] = [
        {
            "key": "statecode",
            "value": {"__type": "OptionSetValue:http://schemas.microsoft.com/xrm/2011/Contracts", "Value": 0},
        }
    ]
    webhook.serve(str(doc["OrganizationId"]))
    status, body = webhook.post(doc, headers_for(doc))
    assert (status, body["outcome"]) == (200, "ignored")
    assert "D365_ORDERS_SEND_STATES" in body["reason"]


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        (lambda h, p, b: (dict(h, **{"x-connector-webhook-secret": "wrong"}), p, b), 401, "unauthenticated"),
        (
            lambda h, p, b: ({k: v for k, v in h.items() if k != "x-connector-webhook-secret"}, p, b),
            401,
            "unauthenticated",
        ),
        (lambda h, p, b: (h, p, b"x" * (MAX_BODY_BYTES + 1)), 413, "at most"),
        (lambda h, p, b: (h, p, b"{not json"), 400, "not a Dataverse webhook request"),
        (lambda h, p, b: (h, p, b"[]"), 400, "expected a JSON object"),
        (
            lambda h, p, b: ({k: v for k, v in h.items() if k != "x-ms-dynamics-organization"}, p, b),
            400,
            "x-ms-dynamics-organization",
        ),
        (lambda h, p, b: (h, p, b.replace(b'"MessageName"', b'"MessageNam"')), 400, "MessageName"),
    ],
)
def test_refusals_say_why(
    webhook: Webhook,
    change: Callable[..., tuple[dict[str, str], dict[str, str], bytes]],
    status: int,
    reason: str,
) -> None:
    """401 without the secret (nothing more said), 413 when too big, 400 with the reason when malformed."""
    doc = order_created()
    webhook.serve(str(doc["OrganizationId"]))
    headers, params, body = change(headers_for(doc), {}, json.dumps(doc).encode())
    got, answer_body = webhook.post(body, headers, params)
    assert got == status
    assert reason in answer_body["reason"]
    assert webhook.queued() == []


def test_another_organization_is_refused_and_an_unprovisioned_webhook_unavailable(webhook: Webhook) -> None:
    """403 for another org's call; 503 before provisioning recorded whom the webhook serves."""
    doc = order_created()
    assert webhook.post(doc, headers_for(doc))[0] == 503
    webhook.serve(str(uuid.uuid4()))
    status, body = webhook.post(doc, headers_for(doc))
    assert status == 403
    assert str(doc["OrganizationId"]) in body["reason"]


def test_the_query_key_mode_checks_code(webhook: Webhook) -> None:
    """D365_WEBHOOK_AUTH=query_key: ?code=<secret>, compared in constant time."""
    webhook.values["D365_WEBHOOK_AUTH"] = "query_key"
    doc = order_created()
    webhook.serve(str(doc["OrganizationId"]))
    headers = {k: v for k, v in headers_for(doc).items() if k != "x-connector-webhook-secret"}
    assert webhook.post(doc, headers, {"code": "nope"})[0] == 401
    assert webhook.post(doc, headers, {"code": SECRET})[0] == 202


def test_missing_settings_are_unavailable_not_a_crash(webhook: Webhook) -> None:
    """A webhook whose secret is not configured answers 503 (Dataverse retries once), never 500."""
    del webhook.values["D365_WEBHOOK_SECRET"]
    doc = order_created()
    status, body = webhook.post(doc, headers_for(doc))
    assert status == 503
    assert "settings" in body["reason"]


ANSWERS = {200, 202, 400, 401, 403, 413, 503}
FUZZ_ORG = "4ef5b371-e89e-e711-8122-000d3aa2331c"
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def _fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


@_fuzz(120)
@given(body=st.binary(max_size=2000) | JSON.map(lambda d: json.dumps(d).encode()))
def test_fuzzed_bodies_never_make_it_fail(webhook: Webhook, body: bytes) -> None:
    """Any bytes or JSON, authenticated: an answer from the documented set, never an exception (500)."""
    doc = order_created()
    webhook.serve(str(doc["OrganizationId"]))
    status = webhook.post(body, headers_for(doc))[0]
    event(f"status {status}")
    assert status in ANSWERS


@_fuzz(120)
@given(
    path=st.sampled_from([*VECTORS, None]),
    drop=st.sets(
        st.sampled_from(
            ["x-ms-dynamics-organization", "x-ms-dynamics-entity-name", "x-ms-correlation-request-id"]
        )
    ),
    changed=st.dictionaries(
        st.sampled_from(["x-ms-correlation-request-id", "x-ms-dynamics-msg-size-exceeded", "x-request-id"]),
        st.text(max_size=12),
    ),
    mutate=st.dictionaries(
        st.sampled_from(
            ["OperationId", "PrimaryEntityId", "Stage", "UserId", "OrganizationId", "MessageName"]
        ),
        JSON,
    ),
)
def test_fuzzed_real_payloads_and_headers_never_make_it_fail(
    webhook: Webhook, path: Path | None, drop: set[str], changed: dict[str, str], mutate: dict[str, Any]
) -> None:
    """Real payloads with members replaced and headers dropped or changed: only documented answers."""
    doc = dict(document(path) if path is not None else order_created(), OrganizationId=FUZZ_ORG)
    webhook.serve(FUZZ_ORG)  # every payload comes from the org served, unless the mutation changes it
    headers = {k: v for k, v in headers_for(doc).items() if k not in drop} | changed
    status = webhook.post(dict(doc, **mutate), headers)[0]
    event(f"status {status}")
    assert status in ANSWERS


def test_a_rotated_secret_and_the_previous_one_are_both_accepted_during_the_grace_window(
    webhook: Webhook,
) -> None:
    """Old and new secrets both pass until D365_WEBHOOK_SECRET_PREVIOUS_UNTIL; then only the new one."""
    new = "integration-webhook-secret-02"
    webhook.values |= {
        "D365_WEBHOOK_SECRET": new,
        "D365_WEBHOOK_SECRET_PREVIOUS": SECRET,
        "D365_WEBHOOK_SECRET_PREVIOUS_UNTIL": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
    }
    doc = order_created()
    webhook.serve(str(doc["OrganizationId"]))
    old_headers = headers_for(doc)
    new_headers = dict(old_headers, **{"x-connector-webhook-secret": new})
    assert webhook.post(doc, old_headers)[0] == 202
    assert webhook.post(order_created(str(uuid.uuid4())), new_headers)[0] == 202  # each a new event
    webhook.values["D365_WEBHOOK_SECRET_PREVIOUS_UNTIL"] = (
        datetime.now(UTC) - timedelta(seconds=1)
    ).isoformat()
    refused = webhook.post(order_created(str(uuid.uuid4())), old_headers)
    assert refused == (401, {"outcome": "refused", "reason": "unauthenticated"})
    assert webhook.post(order_created(str(uuid.uuid4())), new_headers)[0] == 202


def test_a_previous_secret_without_the_end_of_its_grace_window_is_a_settings_problem(
    webhook: Webhook,
) -> None:
    """D365_WEBHOOK_SECRET_PREVIOUS alone is refused by name: a grace window must end."""
    webhook.values["D365_WEBHOOK_SECRET_PREVIOUS"] = SECRET
    with pytest.raises(ConfigError, match="D365_WEBHOOK_SECRET_PREVIOUS_UNTIL is missing"):
        webhook.settings.get(D365WebhookSettings)
    webhook.values["D365_WEBHOOK_SECRET_PREVIOUS_UNTIL"] = "tomorrow"
    with pytest.raises(ConfigError, match="D365_WEBHOOK_SECRET_PREVIOUS_UNTIL is invalid"):
        webhook.settings.get(D365WebhookSettings)
