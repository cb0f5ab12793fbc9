"""Simulator payload builder: the RemoteExecutionContext shape Dataverse sends, and a lossless round trip."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from shared.dataverse.webhook import (
    STAGE_MAIN_OPERATION,
    Entity,
    EntityReference,
    KeyValuePair,
    Money,
    OptionSetValue,
    RemoteExecutionContext,
    parse_remote_execution_context,
    parse_webhook_headers,
)
from simulators.dataverse.remote_context import (
    context_document,
    dumps_like_dataverse,
    encode_context,
    new_context,
    webhook_delivery,
)

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "dataverse"
MS_SAMPLE = VECTORS / "webhook-ms-docs-sample.json"
ALL_PAYLOADS = [MS_SAMPLE, *sorted((VECTORS / "webhook-captures").glob("*.json"))]

CONTACT = UUID("6d81597f-0f9f-e711-8122-000d3aa2331c")
USER = UUID("75c2dd85-e89e-e711-8122-000d3aa2331c")
PACIFIC = timezone(timedelta(hours=-7))
_DATE_OFFSET = re.compile(r"^(/Date\(-?\d+)[+-]\d{4}(\)/)$")


def load_json(data: bytes | str) -> Any:
    return json.loads(data, parse_float=Decimal)


def ms_sample_context() -> RemoteExecutionContext:
    """The MS docs sample's content, described with Python values."""
    common: dict[str, Any] = {
        "message_name": "Update",
        "primary_entity_name": "contact",
        "primary_entity_id": CONTACT,
        "user_id": USER,
        "business_unit_id": UUID("e2b9dd85-e89e-e711-8122-000d3aa2331c"),
        "organization_id": UUID("4ef5b371-e89e-e711-8122-000d3aa2331c"),
        "correlation_id": UUID("b374239d-4233-41a9-8b17-a86cb4f737b5"),
        "operation_id": UUID("4af10637-4ea2-e711-8122-000d3aa2331c"),
        # The sample's -0700 display offset: the instant is 07:04:08Z, written with its local offset.
        "operation_created_on": datetime(2017, 9, 26, 7, 4, 8, tzinfo=UTC).astimezone(PACIFIC),
        "step": EntityReference("sdkmessageprocessingstep", UUID("75417616-4ea2-e711-8122-000d3aa2331c")),
    }
    changed = [
        "feedback",
        "contract",
        "salesorder",
        "connection",
        "socialactivity",
        "postfollow",
        "incident",
        "invoice",
        "entitlement",
        "lead",
        "opportunity",
        "quote",
        "socialprofile",
        "contact",
    ]
    parent = new_context(
        **common,
        stage=STAGE_MAIN_OPERATION,
        organization_name="OneFarm",
        target=Entity("contact", CONTACT, {"firstname": "James", "contactid": str(CONTACT)}),
        input_parameters={"SuppressDuplicateDetection": False},
        shared_variables={"ChangedEntityTypes": tuple(KeyValuePair(table, "Update") for table in changed)},
    )
    target = Entity(
        "contact",
        CONTACT,
        {
            "firstname": "James",
            "contactid": str(CONTACT),
            "fullname": "James Glynn (sample)",
            "yomifullname": "James Glynn (sample)",
            "modifiedon": datetime(2017, 9, 26, 0, 4, 7, tzinfo=UTC),
            "modifiedby": EntityReference("systemuser", USER),
            "modifiedonbehalfby": None,
        },
    )
    image = Entity("contact", CONTACT, {"fullname": "James Glynn (sample)", "contactid": str(CONTACT)})
    return new_context(
        **common,
        organization_name="OrgName",
        target=target,
        post_images={"AsynchronousStepPrimaryName": image},
        parent_context=parent,
    )


def test_building_the_ms_sample_reproduces_the_published_document() -> None:
    """The builder's body equals the MS docs sample as parsed JSON, key order included."""
    body = encode_context(ms_sample_context())
    built, published = load_json(body), load_json(MS_SAMPLE.read_bytes())
    assert built == published
    assert json.dumps(built, default=str) == json.dumps(published, default=str)


def test_wire_form_is_compact_and_escapes_like_dataverse() -> None:
    r"""Slashes as \/, the -0700 date literal, no whitespace between tokens, UTF-8 body."""
    body = encode_context(ms_sample_context())
    assert b'"__type":"Entity:http:\\/\\/schemas.microsoft.com\\/xrm\\/2011\\/Contracts"' in body
    assert b'"OperationCreatedOn":"\\/Date(1506409448000-0700)\\/"' in body
    assert b'"modifiedon","value":"\\/Date(1506384247000)\\/"' in body
    assert b'"KeyAttributes":[],"LogicalName":"systemuser","Name":null,"RowVersion":null' in body
    assert b'"EntityState":null,"FormattedValues":[]' in body
    assert not re.search(rb'[\n\t]|": |, "', body)
    assert body.startswith(b'{"BusinessUnitId":"e2b9dd85-')


def test_strings_are_escaped_as_the_serializer_does() -> None:
    r"""Control characters become \u00XX (as in the albxrm capture), quotes and backslashes are escaped."""
    text = dumps_like_dataverse({"v": 'a\nb\x01"\\/€'})
    assert text == '{"v":"a\\u000ab\\u0001\\"\\\\\\/€"}'
    assert json.loads(text) == {"v": 'a\nb\x01"\\/€'}


def test_floats_and_non_finite_decimals_are_refused() -> None:
    """Only exact numbers go on the wire: floats and NaN have no faithful form."""
    with pytest.raises(TypeError, match="float"):
        dumps_like_dataverse({"v": 1.5})
    ctx = new_context(
        message_name="Update",
        primary_entity_name="account",
        primary_entity_id=UUID(int=1),
        target=Entity("account", UUID(int=1), {"revenue": Decimal("NaN")}),
    )
    with pytest.raises(ValueError, match="NaN"):
        encode_context(ctx)


@pytest.mark.parametrize("path", ALL_PAYLOADS, ids=lambda p: p.name)
def test_every_parsed_vector_survives_encoding_unchanged(path: Path) -> None:
    """parse(encode(parse(vector))) == parse(vector) for the sample and all captures."""
    ctx = parse_remote_execution_context(path.read_bytes())
    assert parse_remote_execution_context(encode_context(ctx)) == ctx


def normalised(node: Any) -> Any:
    """The vector with the three lossy points undone: date offsets, DateTime wrappers, unknown keys."""
    if isinstance(node, dict):
        if node.get("__type") == "DateTime:#System":
            return normalised(node["__value"])
        return {key: normalised(value) for key, value in node.items() if key != "Unknown"}
    if isinstance(node, list):
        return [normalised(item) for item in node]
    if isinstance(node, str):
        return _DATE_OFFSET.sub(r"\1\2", node)
    return node


@pytest.mark.parametrize("path", ALL_PAYLOADS, ids=lambda p: p.name)
def test_reencoding_a_vector_reproduces_it(path: Path) -> None:
    """Re-encoding a parsed vector gives the same document, key order included, up to the lossy points."""
    ctx = parse_remote_execution_context(path.read_bytes())
    built = load_json(encode_context(ctx))
    expected = normalised(load_json(path.read_bytes()))
    assert json.dumps(built, default=str) == json.dumps(expected, default=str)


def every_value_kind() -> RemoteExecutionContext:
    account, order = (
        UUID("0a3839b3-08d4-ef11-aeb0-00155d000101"),
        UUID("44bfc2a7-903e-eb11-a813-000d3ad9c2e1"),
    )
    party = Entity(
        "activityparty", UUID(int=0), {"partyid": EntityReference("contact", UUID(int=5), name="Ann")}
    )
    target = Entity(
        "salesorder",
        order,
        {
            "name": 'Order "A/B" \\ line\nbreak\x01 €',
            "salesorderid": str(order),
            "totalamount": Money(Decimal("2154.32")),
            "exchangerate": Decimal("1.0000000000"),
            "quantity": 3,
            "statecode": OptionSetValue(3),
            "new_tags": (OptionSetValue(1), OptionSetValue(2)),
            "customerid": EntityReference("account", account, name="Contoso"),
            "requestdeliveryby": datetime(2025, 1, 16, 12, 52, 16, 123000, tzinfo=UTC),
            "quoteid": UUID(int=9),
            "ispricelocked": True,
            "description": None,
            "to": (party,),
        },
        formatted_values={"statecode": "Fulfilled", "totalamount": "€2,154.32"},
        key_attributes={"ordernumber": "ORD-1"},
        row_version="123456",
    )
    parent = new_context(
        message_name="Update",
        primary_entity_name="salesorder",
        primary_entity_id=order,
        stage=STAGE_MAIN_OPERATION,
        target=Entity("salesorder", order, {"statecode": OptionSetValue(3)}),
        shared_variables={"ChangedEntityTypes": (KeyValuePair("salesorder", "Update"),)},
    )
    return new_context(
        message_name="Update",
        primary_entity_name="salesorder",
        primary_entity_id=order,
        target=target,
        input_parameters={"SuppressDuplicateDetection": False, "Note": KeyValuePair("depth", 2)},
        pre_images={"pre": Entity("salesorder", order, {"statecode": OptionSetValue(0)})},
        post_images={"post": Entity("salesorder", order, {"statecode": OptionSetValue(3)})},
        request_id=UUID(int=3),
        initiating_user_aad_object_id=UUID(int=4),
        user_aad_object_id=UUID(int=6),
        operation_created_on=datetime(2025, 1, 16, 10, 52, 16, tzinfo=timezone(timedelta(hours=2))),
        parent_context=parent,
    )


def test_a_built_context_with_every_value_kind_round_trips() -> None:
    """Money, choices, lookups, dates, decimals, GUIDs, pairs, parties, images and parent come back equal."""
    ctx = every_value_kind()
    body = encode_context(ctx)
    assert parse_remote_execution_context(body) == ctx
    assert "€".encode() in body
    assert b"\\u000a" in body
    assert b'{"__type":"Guid:#System","__value":"00000000-0000-0000-0000-000000000009"}' in body
    assert b'"KeyValuePairOfstringanyType:#System.Collections.Generic","key":"depth","value":2' in body
    assert b'"RowVersion":"123456"' in body
    document = context_document(ctx)
    assert list(document) == sorted(document)
    assert document["UserAzureActiveDirectoryObjectId"] == str(UUID(int=6))


def test_new_context_defaults_follow_dataverse() -> None:
    """Async post-op; a Create reports its id; sync steps run in the transaction; the user initiates."""
    row = UUID(int=11)
    created = new_context(message_name="Create", primary_entity_name="account", primary_entity_id=row)
    assert (created.stage, created.mode, created.depth, created.is_in_transaction) == (40, 1, 1, False)
    assert created.output_parameters == {"id": str(row)}
    assert created.initiating_user_id == created.user_id
    assert created.owning_extension is not None
    assert created.owning_extension.logical_name == "sdkmessageprocessingstep"
    assert created.operation_created_on is not None
    assert created.operation_created_on.tzinfo is UTC
    updated = new_context(message_name="Update", primary_entity_name="account", primary_entity_id=row, mode=0)
    assert updated.output_parameters == {}
    assert updated.is_in_transaction is True
    assert updated.operation_id != created.operation_id


def test_delivery_headers_describe_the_context() -> None:
    """The documented headers carry the org, table, message and correlation id; the parser reads them back."""
    ctx = ms_sample_context()
    delivery = webhook_delivery(ctx, organization="orgname.crm.dynamics.com", request_id="r-1")
    headers = parse_webhook_headers(delivery.headers)
    assert (headers.organization, headers.entity_name, headers.request_name) == (
        "orgname.crm.dynamics.com",
        "contact",
        "Update",
    )
    assert headers.correlation_request_id == ctx.correlation_id
    assert headers.request_id == "r-1"
    assert headers.size_exceeded is False
    assert delivery.body == encode_context(ctx)


LIMIT = 262_144  # 256 KB, the documented threshold (use-webhooks.md), written out rather than imported


def with_description(ctx: RemoteExecutionContext, description: str) -> RemoteExecutionContext:
    """``ctx`` with the target's ``description`` replaced."""
    target = ctx.target
    assert target is not None
    padded = Entity(target.logical_name, target.id, {**target.attributes, "description": description})
    return new_context(
        message_name=ctx.message_name,
        primary_entity_name=ctx.primary_entity_name,
        primary_entity_id=ctx.primary_entity_id,
        operation_id=ctx.operation_id,
        request_id=ctx.request_id,
        target=padded,
        post_images=ctx.post_entity_images,
        parent_context=ctx.parent_context,
    )


def with_body_of(size: int) -> RemoteExecutionContext:
    """A context whose full encoding is exactly ``size`` bytes (padded with an ASCII description)."""
    base = len(encode_context(with_description(every_value_kind(), "")))
    ctx = with_description(every_value_kind(), "x" * (size - base))
    assert len(encode_context(ctx)) == size
    return ctx


def test_a_body_one_byte_over_256_kb_is_trimmed_and_flagged() -> None:
    """262 145 bytes: ParentContext, InputParameters and images go, the size header is set; it parses."""
    oversized = with_body_of(LIMIT + 1)
    delivery = webhook_delivery(oversized, organization="org.crm.dynamics.com")
    assert delivery.size_exceeded is True
    assert len(delivery.body) < LIMIT
    assert parse_webhook_headers(delivery.headers).size_exceeded is True
    document = load_json(delivery.body)
    for member in ("ParentContext", "InputParameters", "PreEntityImages", "PostEntityImages"):
        assert member not in document
    received = parse_remote_execution_context(delivery.body)
    assert received.target is None
    assert received.parent_context is None
    assert received.dedupe_key == oversized.dedupe_key


def test_a_body_of_exactly_256_kb_is_whole() -> None:
    """262 144 bytes: every member is kept and no size header is sent."""
    delivery = webhook_delivery(with_body_of(LIMIT), organization="org.crm.dynamics.com")
    assert len(delivery.body) == LIMIT
    assert delivery.size_exceeded is False
    assert "x-ms-dynamics-msg-size-exceeded" not in delivery.headers
    assert "InputParameters" in load_json(delivery.body)
