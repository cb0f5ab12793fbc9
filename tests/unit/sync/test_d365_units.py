"""The pure parts of Dynamics → IFS: dedupe key, messages, mapping files, discounts, settings."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devhost.host import REPO_ROOT
from shared.config import (
    AppSettings,
    D365OrdersSettings,
    D365ProvisionSettings,
    D365WebhookSettings,
    SyncSettings,
    read_local_settings,
)
from shared.d365_runtime import mapping_problems
from shared.sync.d365 import opportunities, orders
from shared.sync.d365.events import WebhookEvent
from shared.sync.d365.mapping import load_inbound, parse_inbound
from shared.sync.d365.messages import OrderEvent, order_message, parse_order_message
from shared.sync.d365.orders import discount_percent
from shared.sync.mapping.evaluate import MappingValueError
from shared.sync.mapping.load import MappingError
from shared.sync.messages import MessageFormatError

SHIPPED = Path(__file__).resolve().parents[3] / "shared" / "mappings"
OP, ORDER, REQ = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def event(**changes: object) -> WebhookEvent:
    values: dict[str, object] = {
        "message": "Create",
        "entity": "salesorder",
        "record_id": ORDER,
        "operation_id": OP,
        "stage": 40,
        "mode": 1,
        "correlation_id": REQ,
        "user_id": uuid.uuid4(),
        "initiating_user_id": uuid.uuid4(),
        "organization_id": uuid.uuid4(),
    }
    return WebhookEvent(**(values | changes))  # type: ignore[arg-type]


def test_the_dedupe_key_is_operation_message_record_and_stage() -> None:
    """OperationId, MessageName, PrimaryEntityId and Stage (docs/architecture.md, "Webhook dedupe key")."""
    assert event().dedupe_key == f"{OP}:Create:{ORDER}:40"
    assert event(correlation_id=uuid.uuid4()).dedupe_key == event().dedupe_key
    assert event(stage=20).dedupe_key != event().dedupe_key


def test_order_messages_round_trip_and_refuse_what_they_are_not() -> None:
    """An order event survives the queue; other envelopes and broken keys are named."""
    sent = OrderEvent("quote", ORDER, "reconcile", message="ConvertQuoteToSalesOrder", trimmed=True)
    got = parse_order_message(order_message(sent, enqueued_at=datetime.now(UTC)))
    assert (got.kind, got.record_id, got.source, got.message, got.trimmed) == (
        "quote",
        ORDER,
        "reconcile",
        "ConvertQuoteToSalesOrder",
        True,
    )
    with pytest.raises(MessageFormatError, match="not a GUID"):
        parse_order_message(order_message(sent, enqueued_at=datetime.now(UTC)).replace(str(ORDER), "nope"))
    with pytest.raises(MessageFormatError, match="unknown kind"):
        parse_order_message(
            order_message(sent, enqueued_at=datetime.now(UTC)).replace('"quote"', '"invoice"')
        )


def test_the_shipped_mapping_files_are_valid() -> None:
    """Both files load against their flows' schemas."""
    assert load_inbound(SHIPPED / "d365_orders.toml", orders.SCHEMA).option("lines") == "batch"
    assert (
        load_inbound(SHIPPED / "d365_opportunities.toml", opportunities.SCHEMA).option("on_delete") == "close"
    )


def test_every_problem_is_named_with_file_line_and_field() -> None:
    """An unknown part, type, map and section: all reported at once."""
    text = '\n'.join([
        'entity = "d365_orders"',
        "[order]",
        'CustomerNo = "shipment.CustomerId"',
        'Contract = { value = "MFG10", type = "currency" }',
        "[line]",
        'CatalogNo = { from = "product.productnumber", map = "nowhere" }',
        "[invoice]",
    ])  # fmt: skip
    with pytest.raises(MappingError) as caught:
        parse_inbound(text, "d365_orders.toml", orders.SCHEMA)
    problems = [str(p) for p in caught.value.problems]
    assert any(
        p.startswith("d365_orders.toml:3: order.CustomerNo.from: no view part 'shipment'") for p in problems
    )
    assert any(p.startswith("d365_orders.toml:4: order.Contract.type: unknown type") for p in problems)
    assert any(
        p.startswith("d365_orders.toml:6: line.CatalogNo.map: no value map 'nowhere'") for p in problems
    )
    assert any(p.startswith("d365_orders.toml:7: invoice: unknown section") for p in problems)


def test_bodies_convert_dates_to_timestamps_and_leave_empty_values_out() -> None:
    """A Dynamics date becomes midnight UTC; an empty value is not sent; a required one parks the record."""
    mapping = parse_inbound(
        '\n'.join([
            'entity = "d365_orders"',
            "[order]",
            'WantedDeliveryDate = { from = "order.requestdeliveryby", type = "timestamp" }',
            'NoteText = { from = "order.description", max_length = 5, truncate = true }',
            'CustomerNo = { from = "customer.CustomerId", required = true }',
            "[line]",
        ]),
        "d365_orders.toml",
        orders.SCHEMA,
    )  # fmt: skip
    view = {"order": {"requestdeliveryby": "2026-03-02", "description": ""}, "customer": {"CustomerId": "C1"}}
    assert mapping.body("order", view) == {"WantedDeliveryDate": "2026-03-02T00:00:00Z", "CustomerNo": "C1"}
    view["order"] = {"requestdeliveryby": "2026-03-02T10:00:00+02:00", "description": "long text"}
    assert mapping.body("order", view)["WantedDeliveryDate"] == "2026-03-02T08:00:00Z"
    with pytest.raises(MappingValueError, match=r"customer\.CustomerId has no value"):
        mapping.body("order", {"order": {}, "customer": None})


@pytest.mark.parametrize(
    ("line", "percent"),
    [
        ({"quantity": 2, "priceperunit": 100, "manualdiscountamount": 20}, 10.0),
        ({"quantity": 3, "priceperunit": 10, "manualdiscountamount": 1}, 3.3333),
        ({"quantity": 0, "priceperunit": 10, "manualdiscountamount": 1}, 0.0),
        ({"quantity": 1, "priceperunit": 10}, 0.0),
    ],
)
def test_a_discount_amount_becomes_the_percentage_ifs_keeps(line: dict[str, float], percent: float) -> None:
    """Dynamics keeps an amount per line, IFS a percentage of quantity times price."""
    assert discount_percent(line) == percent


def sample(**changes: str) -> AppSettings:
    return AppSettings(read_local_settings(REPO_ROOT / "local.settings.sample.json") | changes)


def test_send_states_and_actions_are_checked() -> None:
    """Names of states, none for optional actions, and a webhook secret of at least 16 characters."""
    orders_config = sample(D365_ORDERS_SEND_STATES="submitted, fulfilled", D365_FULFIL_ACTION="none").get(
        D365OrdersSettings
    )
    assert orders_config.send_states == frozenset({1, 3})
    assert orders_config.fulfil_action is None
    problems = sample(D365_ORDERS_SEND_STATES="canceled", D365_WEBHOOK_SECRET="short").problems()
    assert "D365_ORDERS_SEND_STATES is invalid" in problems["d365_orders"][0]
    assert problems["d365_webhook"] == ["D365_WEBHOOK_SECRET is invalid: use at least 16 characters"]
    assert sample().get(D365WebhookSettings).auth == "header"


def test_the_webhook_url_comes_from_azure_when_not_set() -> None:
    """Empty D365_WEBHOOK_URL: https://<WEBSITE_HOSTNAME>/api/webhooks/dataverse in Azure; None elsewhere."""
    assert sample(D365_WEBHOOK_URL="").get(D365ProvisionSettings).webhook_url is None
    in_azure = sample(D365_WEBHOOK_URL="", WEBSITE_HOSTNAME="func-x.azurewebsites.net")
    assert (
        in_azure.get(D365ProvisionSettings).webhook_url
        == "https://func-x.azurewebsites.net/api/webhooks/dataverse"
    )


def test_health_names_a_broken_dynamics_to_ifs_mapping_file(tmp_path: Path) -> None:
    """A bad d365_orders.toml is reported with its line; the opportunities file stays valid."""
    for file in SHIPPED.glob("*.toml"):
        shutil.copy(file, tmp_path / file.name)
    broken = tmp_path / "d365_orders.toml"
    broken.write_text(broken.read_text().replace('type = "timestamp"', 'type = "when"', 1))
    problems = mapping_problems(SyncSettings(company=None, sales_part_sites=(), mappings_dir=tmp_path))
    assert list(problems) == ["d365_orders"]
    assert "order.WantedDeliveryDate.type: unknown type" in problems["d365_orders"][0]
