"""Webhook context parser: every captured payload decodes to the values it carries."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest

from shared.dataverse.webhook import (
    MODE_ASYNCHRONOUS,
    MODE_SYNCHRONOUS,
    STAGE_MAIN_OPERATION,
    STAGE_POST_OPERATION,
    Entity,
    EntityCollection,
    EntityReference,
    KeyValuePair,
    Money,
    OpaqueValue,
    OptionSetValue,
    RemoteExecutionContext,
    parse_remote_execution_context,
    parse_webhook_headers,
)

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "dataverse"
CAPTURES = VECTORS / "webhook-captures"
MS_SAMPLE = VECTORS / "webhook-ms-docs-sample.json"
SHKO = CAPTURES / "shko_allfields-create-sync-all-column-types.json"
SHKO_EDITED = (
    CAPTURES / "shko_allfields-create-sync-all-column-types-EDITED-2026-unknown-key-activityparty.json"
)
SHAREPOINT = CAPTURES / "sharepointdocumentlocation-create-async-parent-queryexpression.json"
ACCOUNT_TYPED = CAPTURES / "account-update-sync-d365webhookhttptrigger-typed-guid-datetime.json"
ALBXRM = CAPTURES / "albxrm_alltypes-create-async-all-column-types.json"
ACTIVITY = CAPTURES / "new_customactivity-update-async-preimage-activityparty-collections.json"
ALL_PAYLOADS = [MS_SAMPLE, *sorted(CAPTURES.glob("*.json"))]


def parse(path: Path) -> RemoteExecutionContext:
    return parse_remote_execution_context(path.read_bytes())


def utc(year: int, month: int, day: int, *time: int) -> datetime:
    hour, minute, second = (*time, 0, 0, 0)[:3]
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def target_of(ctx: RemoteExecutionContext) -> Entity:
    assert ctx.target is not None
    return ctx.target


@pytest.mark.parametrize("path", ALL_PAYLOADS, ids=lambda p: p.name)
def test_every_vector_parses_from_bytes_and_from_text(path: Path) -> None:
    """Each of the seven vectors decodes, and bytes and str give the same context."""
    from_bytes = parse_remote_execution_context(path.read_bytes())
    assert from_bytes == parse_remote_execution_context(path.read_text(encoding="utf-8"))
    assert from_bytes.stage == STAGE_POST_OPERATION
    assert from_bytes.parent_context is not None
    assert from_bytes.parent_context.stage == STAGE_MAIN_OPERATION


def test_vector_list_is_complete() -> None:
    """The parametrised list covers the MS sample and all six captures."""
    assert len(ALL_PAYLOADS) == 7
    assert ACTIVITY in ALL_PAYLOADS


def test_ms_sample_top_level() -> None:
    """The MS docs sample: async post-operation Update of a contact, ids and names as published."""
    ctx = parse(MS_SAMPLE)
    assert (ctx.message_name, ctx.stage, ctx.mode, ctx.depth) == ("Update", 40, MODE_ASYNCHRONOUS, 1)
    assert ctx.primary_entity_name == "contact"
    assert ctx.primary_entity_id == UUID("6d81597f-0f9f-e711-8122-000d3aa2331c")
    assert ctx.secondary_entity_name == "none"
    assert ctx.operation_id == UUID("4af10637-4ea2-e711-8122-000d3aa2331c")
    assert ctx.correlation_id == UUID("b374239d-4233-41a9-8b17-a86cb4f737b5")
    assert ctx.request_id is None
    assert ctx.user_id == ctx.initiating_user_id == UUID("75c2dd85-e89e-e711-8122-000d3aa2331c")
    assert ctx.business_unit_id == UUID("e2b9dd85-e89e-e711-8122-000d3aa2331c")
    assert ctx.organization_id == UUID("4ef5b371-e89e-e711-8122-000d3aa2331c")
    assert ctx.organization_name == "OrgName"
    assert ctx.initiating_user_aad_object_id is None
    assert ctx.is_in_transaction is False
    assert ctx.isolation_mode == 1
    assert ctx.owning_extension == EntityReference(
        "sdkmessageprocessingstep", UUID("75417616-4ea2-e711-8122-000d3aa2331c")
    )
    assert ctx.pre_entity_images == {}
    assert ctx.output_parameters == {}


def test_ms_sample_target_values() -> None:
    """Target attributes: plain strings, the modifiedon date, a systemuser lookup and an explicit null."""
    target = target_of(parse(MS_SAMPLE))
    assert target.logical_name == "contact"
    assert target.attributes["firstname"] == "James"
    assert target.attributes["contactid"] == "6d81597f-0f9f-e711-8122-000d3aa2331c"
    assert target.attributes["modifiedon"] == utc(2017, 9, 26, 0, 4, 7)
    assert target.attributes["modifiedby"] == EntityReference(
        "systemuser", UUID("75c2dd85-e89e-e711-8122-000d3aa2331c"), name=None
    )
    assert "modifiedonbehalfby" in target.attributes
    assert target.attributes["modifiedonbehalfby"] is None
    assert list(target.attributes)[:3] == ["firstname", "contactid", "fullname"]


def test_ms_sample_operation_created_on_ignores_the_display_offset() -> None:
    """/Date(1506409448000-0700)/ is the UTC instant 1506409448 s; the -0700 only marks a local kind."""
    ctx = parse(MS_SAMPLE)
    assert ctx.operation_created_on == utc(2017, 9, 26, 7, 4, 8)
    assert ctx.operation_created_on is not None
    assert ctx.operation_created_on.utcoffset() == timedelta(0)


def test_ms_sample_parent_context() -> None:
    """ParentContext is the stage-30 main operation with its own org name and shared variables."""
    parent = parse(MS_SAMPLE).parent_context
    assert parent is not None
    assert parent.stage == 30
    assert parent.organization_name == "OneFarm"
    assert parent.parent_context is None
    assert parent.input_parameters["SuppressDuplicateDetection"] is False
    assert set(target_of(parent).attributes) == {"firstname", "contactid"}
    changed = parent.shared_variables["ChangedEntityTypes"]
    assert isinstance(changed, tuple)
    assert len(changed) == 14
    assert changed[0] == KeyValuePair("feedback", "Update")
    assert changed[-1] == KeyValuePair("contact", "Update")


def test_ms_sample_accessors() -> None:
    """post_image, attribute and dedupe_key as the handler will use them."""
    ctx = parse(MS_SAMPLE)
    image = ctx.post_image("AsynchronousStepPrimaryName")
    assert image is not None
    assert image.attributes["fullname"] == "James Glynn (sample)"
    assert ctx.post_image("PostImage") is None
    assert ctx.pre_image("PreImage") is None
    assert ctx.attribute("firstname") == "James"
    assert ctx.attribute("lastname") is None
    assert ctx.dedupe_key == (
        "4af10637-4ea2-e711-8122-000d3aa2331c:Update:6d81597f-0f9f-e711-8122-000d3aa2331c"
    )


def test_attribute_falls_back_to_the_post_image_without_a_target() -> None:
    """Without a Target (e.g. a Delete, or a Target that lacks the column) the post image answers."""
    ctx = dataclasses.replace(parse(MS_SAMPLE), input_parameters={})
    assert ctx.target is None
    assert ctx.attribute("fullname") == "James Glynn (sample)"


def test_target_is_none_when_the_target_is_a_reference() -> None:
    """A Target that is an EntityReference (Delete) is not returned by ctx.target."""
    reference = EntityReference("contact", UUID(int=1))
    ctx = dataclasses.replace(parse(MS_SAMPLE), input_parameters={"Target": reference})
    assert ctx.target is None
    assert ctx.input_parameters["Target"] == reference


def test_dedupe_key_names_operation_message_and_row_not_correlation() -> None:
    """Two rows created under one CorrelationId get different keys; the CorrelationId is not in the key."""
    ctx = parse(SHAREPOINT)
    assert ctx.dedupe_key == (
        "203839b3-08d4-ef11-aeb0-00155d000101:Create:1e3839b3-08d4-ef11-aeb0-00155d000101"
        ":e28dd17d-f8ee-4830-849d-8f9441ecac76"
    )
    assert str(ctx.correlation_id) not in ctx.dedupe_key
    sibling = dataclasses.replace(
        ctx, primary_entity_id=UUID(int=7), operation_id=UUID(int=8), request_id=None
    )
    assert sibling.correlation_id == ctx.correlation_id
    assert sibling.dedupe_key == f"{UUID(int=8)}:Create:{UUID(int=7)}"
    assert dataclasses.replace(ctx, message_name="Update").dedupe_key != ctx.dedupe_key


def test_shko_all_column_types() -> None:
    """Money, choice, multi-select, decimal, integer, boolean, lookup and date values decode exactly."""
    ctx = parse(SHKO)
    attributes = target_of(ctx).attributes
    assert attributes["shko_currency"] == Money(Decimal(100))
    assert attributes["shko_currency_base"] == Money(Decimal(100))
    decimal = attributes["shko_decimal"]
    assert isinstance(decimal, Decimal)
    assert decimal == Decimal("10.12")
    assert attributes["shko_integer"] == 321
    assert type(attributes["shko_integer"]) is int
    assert attributes["shko_choice"] == OptionSetValue(342490000)
    assert attributes["shko_choices"] == (OptionSetValue(342490001), OptionSetValue(342490002))
    assert attributes["statecode"] == OptionSetValue(0)
    assert attributes["shko_boolean"] is False
    assert attributes["shko_lookup"] == EntityReference(
        "systemuser", UUID("c7877889-0f5f-ee11-8def-000d3adbef1f")
    )
    assert attributes["shko_datetime"] == utc(2023, 10, 17, 7, 0, 0)
    assert attributes["exchangerate"] == 1


def test_shko_formatted_values_agree_with_decoded_dates() -> None:
    """FormattedValues are kept verbatim (mojibake of the source included) and match the UTC instants."""
    target = target_of(parse(SHKO))
    assert target.formatted_values["shko_datetime"] == "2023-10-17T09:00:00+02:00"
    shown = datetime.fromisoformat(target.formatted_values["shko_datetime"])
    assert shown == target.attributes["shko_datetime"]
    assert target.formatted_values["shko_choices"] == "One; Two"
    assert target.formatted_values["shko_currency"] == "\u00e2\u201a\u00ac100.00"


def test_shko_context_members() -> None:
    """Sync step in a transaction; the newer Azure AD members, output id and shared variables are read."""
    ctx = parse(SHKO)
    assert (ctx.message_name, ctx.mode, ctx.is_in_transaction) == ("Create", MODE_SYNCHRONOUS, True)
    aad = UUID("3d280606-3712-4759-b6b9-7302f8d1a3b0")
    assert ctx.initiating_user_aad_object_id == aad
    assert ctx.user_aad_object_id == aad
    assert ctx.initiating_user_agent == ""
    assert ctx.output_parameters["id"] == "6420f0cc-916b-ee11-9ae6-000d3a688809"
    assert dict(ctx.shared_variables) == {
        "IsAutoTransact": True,
        "AcceptLang": "en-US,en;q=0.9",
        "x-ms-app-name": "shko_Quick",
        "DefaultsAddedFlag": True,
    }
    assert ctx.operation_created_on == datetime(2023, 10, 15, 19, 34, 6, 12000, tzinfo=UTC)
    assert ctx.request_id == ctx.operation_id
    assert ctx.dedupe_key.endswith(":1ecf6213-9296-4772-b37c-c09138dd0d59")
    assert ctx.owning_extension is not None
    assert ctx.owning_extension.name == "Share RemoteExecutionContext: Create of shko_allfields"


def test_edited_capture_ignores_the_unknown_key() -> None:
    """The hand-edited copy differs only by "Unknown": null (ignored) and the added activity parties."""
    original, edited = parse(SHKO), parse(SHKO_EDITED)
    assert dataclasses.replace(edited, parent_context=None) == dataclasses.replace(
        original, parent_context=None
    )
    assert edited.parent_context != original.parent_context


def test_edited_capture_activity_party_array() -> None:
    """The requiredattendees column decodes to a tuple of activityparty Entities with partyid lookups."""
    parent = parse(SHKO_EDITED).parent_context
    assert parent is not None
    parties = target_of(parent).attributes["requiredattendees"]
    assert isinstance(parties, tuple)
    (party,) = parties
    assert isinstance(party, Entity)
    assert party.logical_name == "activityparty"
    assert party.id == UUID(int=0)
    assert party.attributes["partyid"] == EntityReference(
        "contact", UUID("f0459662-7d02-f111-8407-7ced8d48fc4e")
    )


def test_sharepoint_offset_dates_and_the_operation_created_on_quirk() -> None:
    """/Date(1737024736000+0200)/ is 10:52:16Z; adding the +0200 gives the row's createdon (see dates.py)."""
    ctx = parse(SHAREPOINT)
    assert ctx.operation_created_on == utc(2025, 1, 16, 10, 52, 16)
    target = target_of(ctx)
    assert target.attributes["createdon"] == utc(2025, 1, 16, 12, 52, 16)
    assert ctx.operation_created_on + timedelta(hours=2) == target.attributes["createdon"]
    parent = ctx.parent_context
    assert parent is not None
    assert parent.operation_created_on == ctx.operation_created_on


def test_sharepoint_query_expression_is_kept_opaque() -> None:
    """The parent's QueryExpression stays raw JSON: read-only, order kept, nothing decoded inside it."""
    parent = parse(SHAREPOINT).parent_context
    assert parent is not None
    assert parent.message_name == "Create"
    assert parent.primary_entity_name == "sharepointdocument"
    query = parent.input_parameters["Query"]
    assert isinstance(query, OpaqueValue)
    assert query.type_name == "QueryExpression"
    assert query.fields["EntityName"] == "sharepointdocument"
    assert query.fields["PageInfo"]["Count"] == 10
    assert query.fields["ColumnSet"]["Columns"][0] == "documentid"
    assert query.fields["Criteria"]["Conditions"][2]["Values"] == ("0a3839b3-08d4-ef11-aeb0-00155d000101",)
    assert list(query.fields)[-2:] == ["NoLock", "QueryHints"]
    with pytest.raises(TypeError):
        query.fields["EntityName"] = "account"  # type: ignore[index]
    assert parent.input_parameters["AppModuleId"] == "00000000-0000-0000-0000-000000000000"


def test_sharepoint_post_images() -> None:
    """Two post images by alias; lookups in an image carry their Name."""
    ctx = parse(SHAREPOINT)
    assert list(ctx.post_entity_images) == ["PostImage", "AsynchronousStepPrimaryName"]
    image = ctx.post_image("PostImage")
    assert image is not None
    regarding = image.attributes["regardingobjectid"]
    assert isinstance(regarding, EntityReference)
    assert (regarding.logical_name, regarding.name) == ("account", "Mini test")
    assert image.formatted_values["statecode"] == "Active"
    assert ctx.initiating_user_aad_object_id == UUID(int=0)


def test_typed_guid_and_datetime_wrappers_are_unwrapped() -> None:
    """{"__type":"Guid:#System"} becomes a UUID and {"__type":"DateTime:#System"} a datetime."""
    ctx = parse(ACCOUNT_TYPED)
    attributes = target_of(ctx).attributes
    assert attributes["accountid"] == UUID("ec4e2f7d-9d60-e811-a95a-000d3af24950")
    assert attributes["modifiedon"] == utc(2018, 5, 31, 9, 5, 24)
    assert attributes["telephone1"] == "1111"
    parent = ctx.parent_context
    assert parent is not None
    assert target_of(parent).attributes["accountid"] == "ec4e2f7d-9d60-e811-a95a-000d3af24950"
    assert parent.shared_variables["ChangedEntityTypes"] == (KeyValuePair("account", "Update"),)
    assert ctx.owning_extension is not None
    assert ctx.owning_extension.name == "D365WebHookHttpTrigger: Update of account"
    assert (ctx.mode, ctx.is_in_transaction) == (MODE_SYNCHRONOUS, True)


def test_albxrm_numbers_keep_their_decimal_places() -> None:
    """Money 2154.32, float 2365.12 and exchangerate 1.0000000000 stay exact Decimals."""
    attributes = target_of(parse(ALBXRM)).attributes
    assert attributes["albxrm_currency"] == Money(Decimal("2154.32"))
    assert attributes["albxrm_float"] == Decimal("2365.12")
    assert str(attributes["exchangerate"]) == "1.0000000000"
    assert attributes["albxrm_wholenumber"] == 987654321
    assert attributes["albxrm_multiselectoptionset"] == (OptionSetValue(257760001), OptionSetValue(257760002))
    assert attributes["albxrm_multiplelinesoftext"] == "sdafasf\nasdfas\nafsd"
    assert attributes["albxrm_twooptions"] is True
    assert attributes["albxrm_dateandtime"] == utc(2020, 12, 15, 7, 0, 0)


def test_albxrm_zero_offset_date() -> None:
    """/Date(1608007658000+0000)/ equals the row's createdon, written without offset."""
    ctx = parse(ALBXRM)
    assert ctx.operation_created_on == utc(2020, 12, 15, 4, 47, 38)
    assert ctx.operation_created_on == target_of(ctx).attributes["createdon"]


def test_size_trimmed_payload_still_parses() -> None:
    """Without ParentContext, InputParameters and images (over 256 KB) the context is still usable."""
    document = json.loads(MS_SAMPLE.read_text(encoding="utf-8"))
    for member in ("ParentContext", "InputParameters", "PreEntityImages", "PostEntityImages"):
        del document[member]
    ctx = parse_remote_execution_context(json.dumps(document))
    assert ctx.target is None
    assert ctx.parent_context is None
    assert ctx.post_entity_images == {}
    assert ctx.attribute("fullname") is None
    assert ctx.dedupe_key == parse(MS_SAMPLE).dedupe_key


def test_decoded_values_are_frozen() -> None:
    """Contexts, entities and their mappings cannot be changed after parsing."""
    ctx = parse(MS_SAMPLE)
    target = target_of(ctx)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.stage = 20  # type: ignore[misc]
    with pytest.raises(TypeError):
        target.attributes["firstname"] = "Jim"  # type: ignore[index]
    with pytest.raises(TypeError):
        ctx.input_parameters["Target"] = None  # type: ignore[index]


def party_collection(image: Entity, column: str) -> EntityCollection:
    parties = image.attributes[column]
    assert isinstance(parties, EntityCollection)
    return parties


def test_activity_party_collections_decode_into_rows() -> None:
    """The pre-image's from/to EntityCollections become activityparty rows with lookups, choices and dates."""
    image = parse(ACTIVITY).pre_image("Image")
    assert image is not None
    sender = party_collection(image, "from")
    assert sender.entity_name == "activityparty"
    (party,) = sender.entities
    assert (party.logical_name, party.id) == ("activityparty", UUID("861579d9-7e63-ef11-9e4a-00155d0001ea"))
    assert party.row_version == "147059704"
    assert party.attributes["partyid"] == EntityReference(
        "contact", UUID("a76c0a41-4dec-ea11-a2d1-00155d04e323"), name="Some Contact"
    )
    assert party.attributes["activityid"] == EntityReference(
        "activitypointer", UUID("841579d9-7e63-ef11-9e4a-00155d0001ea")
    )
    assert party.attributes["participationtypemask"] == OptionSetValue(1)
    assert party.attributes["ispartydeleted"] is False
    assert party.attributes["scheduledstart"] == utc(2024, 8, 26, 19, 43, 14)
    assert party.formatted_values["participationtypemask"] == "Sender"
    shown = datetime.fromisoformat(party.formatted_values["scheduledend"] or "")
    assert shown == party.attributes["scheduledend"]


def test_activity_party_collection_members_and_the_captures_own_assertions() -> None:
    """The "to" queue party and the collection's paging members; the C# test's two GUID checks hold."""
    ctx = parse(ACTIVITY)
    image = ctx.pre_image("Image")
    assert image is not None
    recipients = party_collection(image, "to")
    assert (recipients.more_records, recipients.paging_cookie, recipients.total_record_count) == (
        False,
        None,
        -1,
    )
    assert (recipients.min_active_row_version, recipients.total_record_count_limit_exceeded) == ("-1", False)
    (queue,) = recipients.entities
    assert queue.attributes["activitypartyid"] == "871579d9-7e63-ef11-9e4a-00155d0001ea"
    assert queue.attributes["partyid"] == EntityReference(
        "queue", UUID("64b14206-8fbb-e611-80ef-005056bd19ee"), name="Queue Name"
    )
    assert target_of(ctx).attributes["activityid"] == "841579d9-7e63-ef11-9e4a-00155d0001ea"
    assert image.formatted_values["regardingobjectid"] == "Other entity name"


def test_activity_capture_set_state_parent_and_the_date_quirk() -> None:
    """SetState arrives as Update; the parent has EntityMoniker/State/Status; instant + 0300 = modifiedon."""
    ctx = parse(ACTIVITY)
    parent = ctx.parent_context
    assert parent is not None
    assert parent.input_parameters["EntityMoniker"] == EntityReference(
        "new_customactivity", UUID("841579d9-7e63-ef11-9e4a-00155d0001ea")
    )
    assert (parent.input_parameters["State"], parent.input_parameters["Status"]) == (
        OptionSetValue(3),
        OptionSetValue(4),
    )
    assert ctx.operation_created_on == utc(2024, 8, 26, 4, 43, 16)
    assert ctx.operation_created_on + timedelta(hours=3) == target_of(ctx).attributes["modifiedon"]
    assert ctx.input_parameters["parentExecutionId"] == "1ede9b8e-fdad-4116-9706-d21cd5e30eea"


def test_a_null_formatted_value_is_kept_as_none() -> None:
    """{"key": "new_dateto", "value": null} in FormattedValues (albanian-xrm AllowNulls) reads as None."""
    document = json.loads(SHKO.read_text(encoding="utf-8"), parse_float=Decimal)
    formatted = document["InputParameters"][0]["value"]["FormattedValues"]
    formatted.insert(1, {"key": "new_dateto", "value": None})
    target = target_of(parse_remote_execution_context(json.dumps(document, default=str)))
    assert "new_dateto" in target.formatted_values
    assert target.formatted_values["new_dateto"] is None
    assert list(target.formatted_values)[:2] == [formatted[0]["key"], "new_dateto"]


HEADERS = {
    "x-ms-dynamics-organization": "orgname.crm.dynamics.com",
    "x-ms-dynamics-entity-name": "contact",
    "x-ms-dynamics-request-name": "Update",
    "x-ms-correlation-request-id": "b374239d-4233-41a9-8b17-a86cb4f737b5",
}


@pytest.mark.parametrize(
    ("size_header", "trimmed"),
    [(None, False), ("true", True), ("True", True), (" TRUE ", True), ("", True), ("false", False)],
)
def test_the_context_says_whether_the_body_was_trimmed(size_header: str | None, trimmed: bool) -> None:
    """Trimmed follows x-ms-dynamics-msg-size-exceeded: present and not "false"; the body is the same."""
    headers = dict(HEADERS)
    if size_header is not None:
        headers["X-MS-Dynamics-Msg-Size-Exceeded"] = size_header
    document = json.loads(MS_SAMPLE.read_text(encoding="utf-8"))
    for member in ("ParentContext", "InputParameters", "PreEntityImages", "PostEntityImages"):
        del document[member]
    body = json.dumps(document)
    ctx = parse_remote_execution_context(body, headers=parse_webhook_headers(headers))
    assert ctx.trimmed is trimmed
    assert dataclasses.replace(ctx, trimmed=False) == parse_remote_execution_context(body)


def test_without_headers_and_in_the_parent_the_context_is_untrimmed() -> None:
    """No headers: trimmed is False; a whole body with the header set is flagged, its ParentContext is not."""
    assert parse(MS_SAMPLE).trimmed is False
    headers = parse_webhook_headers({**HEADERS, "x-ms-dynamics-msg-size-exceeded": "true"})
    ctx = parse_remote_execution_context(MS_SAMPLE.read_bytes(), headers=headers)
    assert ctx.trimmed is True
    assert ctx.parent_context is not None
    assert ctx.parent_context.trimmed is False
