"""Webhook context parser: malformed payloads (mutated captures) raise WebhookPayloadError naming the path."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shared.dataverse.webhook import WebhookPayloadError, parse_remote_execution_context

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "dataverse"
CAPTURES = VECTORS / "webhook-captures"
MS_SAMPLE = VECTORS / "webhook-ms-docs-sample.json"
SHKO = CAPTURES / "shko_allfields-create-sync-all-column-types.json"
SHKO_EDITED = (
    CAPTURES / "shko_allfields-create-sync-all-column-types-EDITED-2026-unknown-key-activityparty.json"
)
ACCOUNT_TYPED = CAPTURES / "account-update-sync-d365webhookhttptrigger-typed-guid-datetime.json"
ACTIVITY = CAPTURES / "new_customactivity-update-async-preimage-activityparty-collections.json"

Document = dict[str, Any]


def load(path: Path) -> Document:
    document: Document = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    return document


def attribute(item_holder: Document, name: str) -> Document:
    """The {"key": name, "value": …} item of an entity's Attributes."""
    for item in item_holder["Attributes"]:
        if item["key"] == name:
            found: Document = item
            return found
    raise AssertionError(f"no attribute {name}")


def target(document: Document) -> Document:
    value: Document = document["InputParameters"][0]["value"]
    return value


def dumps(document: Document) -> str:
    return json.dumps(document, default=float)


def mutated(path: Path, change: Callable[[Document], object]) -> str:
    document = load(path)
    change(document)
    return dumps(document)


def set_value(holder: Document, key: str, value: object) -> None:
    holder[key] = value


def with_literal(path: Path, change: Callable[[Document], object], literal: str) -> str:
    """The vector with ``change`` applied, then the placeholder string "@@" replaced by raw JSON text."""
    text = mutated(path, change)
    assert text.count('"@@"') == 1
    return text.replace('"@@"', literal)


def pre_image(document: Document) -> Document:
    value: Document = document["PreEntityImages"][0]["value"]
    return value


def recipients(document: Document) -> Document:
    """The activity capture's pre-image "to" EntityCollection."""
    value: Document = attribute(pre_image(document), "to")["value"]
    return value


CASES: list[tuple[str, Callable[[], bytes | str], str, str]] = [
    ("not json", lambda: b'{"MessageName": ', "", "not JSON"),
    ("not utf-8", lambda: b'{"MessageName": "\xff"}', "", "not JSON"),
    ("nan", lambda: '{"Depth": NaN}', "", "NaN is not a JSON number"),
    ("too deep", lambda: '{"a":' * 100_000 + "1" + "}" * 100_000, "", "not JSON"),
    (
        "values nested too deeply",
        lambda: mutated(
            MS_SAMPLE,
            lambda d: d["InputParameters"].append(
                {"key": "deep", "value": json.loads("[" * 900 + "]" * 900)}
            ),
        ),
        "",
        "nested too deeply",
    ),
    ("top-level array", lambda: "[]", "", "expected a JSON object, got an array"),
    ("duplicate member", lambda: '{"Stage": 40, "Stage": 30}', "", "appears twice"),
    (
        "missing MessageName",
        lambda: mutated(MS_SAMPLE, lambda d: d.pop("MessageName")),
        "MessageName",
        "missing",
    ),
    (
        "missing PrimaryEntityName",
        lambda: mutated(MS_SAMPLE, lambda d: d.pop("PrimaryEntityName")),
        "PrimaryEntityName",
        "missing",
    ),
    (
        "missing PrimaryEntityId",
        lambda: mutated(MS_SAMPLE, lambda d: d.pop("PrimaryEntityId")),
        "PrimaryEntityId",
        "missing",
    ),
    (
        "missing OperationId",
        lambda: mutated(MS_SAMPLE, lambda d: d.pop("OperationId")),
        "OperationId",
        "missing",
    ),
    (
        "empty MessageName",
        lambda: mutated(MS_SAMPLE, lambda d: set_value(d, "MessageName", "")),
        "MessageName",
        "empty",
    ),
    (
        "PrimaryEntityId not a GUID",
        lambda: mutated(MS_SAMPLE, lambda d: set_value(d, "PrimaryEntityId", "contact-42")),
        "PrimaryEntityId",
        "expected a GUID, got 'contact-42'",
    ),
    (
        "GUID in braces",
        lambda: mutated(
            MS_SAMPLE, lambda d: set_value(d, "UserId", "{75c2dd85-e89e-e711-8122-000d3aa2331c}")
        ),
        "UserId",
        "expected a GUID",
    ),
    (
        "RequestId a number",
        lambda: mutated(MS_SAMPLE, lambda d: set_value(d, "RequestId", 7)),
        "RequestId",
        "expected a GUID, got the number 7",
    ),
    (
        "Stage a string",
        lambda: mutated(MS_SAMPLE, lambda d: set_value(d, "Stage", "40")),
        "Stage",
        "expected an integer, got the string '40'",
    ),
    (
        "Mode a boolean",
        lambda: mutated(MS_SAMPLE, lambda d: set_value(d, "Mode", True)),
        "Mode",
        "expected an integer, got a boolean",
    ),
    (
        "IsInTransaction a number",
        lambda: mutated(MS_SAMPLE, lambda d: set_value(d, "IsInTransaction", 0)),
        "IsInTransaction",
        "expected true or false",
    ),
    (
        "OperationCreatedOn not a date",
        lambda: mutated(MS_SAMPLE, lambda d: set_value(d, "OperationCreatedOn", "2017-09-26T07:04:08Z")),
        "OperationCreatedOn",
        "expected a /Date(milliseconds)/ date",
    ),
    (
        "InputParameters an object",
        lambda: mutated(MS_SAMPLE, lambda d: set_value(d, "InputParameters", {"Target": None})),
        "InputParameters",
        "expected a JSON array, got an object",
    ),
    (
        "parameter item without key",
        lambda: mutated(MS_SAMPLE, lambda d: d["InputParameters"][0].pop("key")),
        "InputParameters[0].key",
        "missing",
    ),
    (
        "parameter item without value",
        lambda: mutated(MS_SAMPLE, lambda d: d["InputParameters"][0].pop("value")),
        "InputParameters[Target]",
        "item has no value",
    ),
    (
        "Attributes a string",
        lambda: mutated(MS_SAMPLE, lambda d: set_value(target(d), "Attributes", "firstname=James")),
        "InputParameters[Target].Attributes",
        "expected a JSON array, got the string",
    ),
    (
        "duplicate attribute",
        lambda: mutated(
            MS_SAMPLE, lambda d: target(d)["Attributes"].append({"key": "firstname", "value": "X"})
        ),
        "InputParameters[Target].Attributes[firstname]",
        "duplicate key",
    ),
    (
        "lookup id not a GUID",
        lambda: mutated(
            MS_SAMPLE, lambda d: set_value(attribute(target(d), "modifiedby")["value"], "Id", "me")
        ),
        "InputParameters[Target].Attributes[modifiedby].Id",
        "expected a GUID, got 'me'",
    ),
    (
        "lookup without LogicalName",
        lambda: mutated(MS_SAMPLE, lambda d: attribute(target(d), "modifiedby")["value"].pop("LogicalName")),
        "InputParameters[Target].Attributes[modifiedby].LogicalName",
        "missing",
    ),
    (
        "object value without __type",
        lambda: mutated(MS_SAMPLE, lambda d: attribute(target(d), "modifiedby")["value"].pop("__type")),
        "InputParameters[Target].Attributes[modifiedby]",
        "without a __type hint",
    ),
    (
        "unknown xrm type",
        lambda: mutated(
            SHKO,
            lambda d: set_value(
                attribute(target(d), "shko_currency")["value"],
                "__type",
                "Moolah:http://schemas.microsoft.com/xrm/2011/Contracts",
            ),
        ),
        "InputParameters[Target].Attributes[shko_currency].__type",
        "unknown type 'Moolah:http://schemas.microsoft.com/xrm/2011/Contracts'",
    ),
    (
        "known name in a foreign namespace",
        lambda: mutated(
            SHKO,
            lambda d: set_value(
                attribute(target(d), "statecode")["value"],
                "__type",
                "OptionSetValue:http://example.com/Contracts",
            ),
        ),
        "InputParameters[Target].Attributes[statecode].__type",
        "unknown type",
    ),
    (
        "type hint without namespace",
        lambda: mutated(
            SHKO, lambda d: set_value(attribute(target(d), "statecode")["value"], "__type", "Money")
        ),
        "InputParameters[Target].Attributes[statecode].__type",
        "not a Name:namespace type hint",
    ),
    (
        "Money value a string",
        lambda: mutated(
            SHKO, lambda d: set_value(attribute(target(d), "shko_currency")["value"], "Value", "100")
        ),
        "InputParameters[Target].Attributes[shko_currency].Value",
        "expected a number",
    ),
    (
        "OptionSetValue with a fraction",
        lambda: mutated(
            SHKO, lambda d: set_value(attribute(target(d), "shko_choice")["value"], "Value", Decimal("1.5"))
        ),
        "InputParameters[Target].Attributes[shko_choice].Value",
        "expected an integer, got the number 1.5",
    ),
    (
        "multi-select item unknown",
        lambda: mutated(
            SHKO, lambda d: set_value(attribute(target(d), "shko_choices")["value"][1], "__type", "X:#System")
        ),
        "InputParameters[Target].Attributes[shko_choices][1].__type",
        "unknown type 'X:#System'",
    ),
    (
        "FormattedValues value not a string",
        lambda: mutated(SHKO, lambda d: set_value(target(d)["FormattedValues"][0], "value", 0)),
        "InputParameters[Target].FormattedValues[timezoneruleversionnumber]",
        "expected a string",
    ),
    (
        "date out of range",
        lambda: mutated(
            MS_SAMPLE,
            lambda d: set_value(attribute(target(d), "modifiedon"), "value", "/Date(999999999999999999)/"),
        ),
        "InputParameters[Target].Attributes[modifiedon]",
        "date out of range",
    ),
    (
        "Guid wrapper with a bad value",
        lambda: mutated(
            ACCOUNT_TYPED,
            lambda d: set_value(attribute(target(d), "accountid")["value"], "__value", "ec4e2f7d"),
        ),
        "InputParameters[Target].Attributes[accountid].__value",
        "expected a GUID",
    ),
    (
        "DateTime wrapper without value",
        lambda: mutated(ACCOUNT_TYPED, lambda d: attribute(target(d), "modifiedon")["value"].pop("__value")),
        "InputParameters[Target].Attributes[modifiedon].__value",
        "missing",
    ),
    (
        "DateTime wrapper with an ISO date",
        lambda: mutated(
            ACCOUNT_TYPED,
            lambda d: set_value(
                attribute(target(d), "modifiedon")["value"], "__value", "2018-05-31T09:05:24Z"
            ),
        ),
        "InputParameters[Target].Attributes[modifiedon].__value",
        "expected a /Date(milliseconds)/ date",
    ),
    (
        "image value a string",
        lambda: mutated(MS_SAMPLE, lambda d: set_value(d["PostEntityImages"][0], "value", "contact")),
        "PostEntityImages[AsynchronousStepPrimaryName]",
        "expected a JSON object",
    ),
    (
        "image typed as a reference",
        lambda: mutated(
            MS_SAMPLE,
            lambda d: set_value(
                d["PostEntityImages"][0]["value"],
                "__type",
                "EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts",
            ),
        ),
        "PostEntityImages[AsynchronousStepPrimaryName].__type",
        "expected Entity",
    ),
    (
        "OwningExtension an array",
        lambda: mutated(MS_SAMPLE, lambda d: set_value(d, "OwningExtension", [])),
        "OwningExtension",
        "expected a JSON object, got an array",
    ),
    (
        "ParentContext without MessageName",
        lambda: mutated(MS_SAMPLE, lambda d: d["ParentContext"].pop("MessageName")),
        "ParentContext.MessageName",
        "missing",
    ),
    (
        "ParentContext a string",
        lambda: mutated(MS_SAMPLE, lambda d: set_value(d, "ParentContext", "none")),
        "ParentContext",
        "expected a JSON object",
    ),
    (
        "shared variable item with a foreign type",
        lambda: mutated(
            MS_SAMPLE,
            lambda d: set_value(d["ParentContext"]["SharedVariables"][0]["value"][3], "__type", "Pair:#Mine"),
        ),
        "ParentContext.SharedVariables[ChangedEntityTypes][3].__type",
        "unknown type 'Pair:#Mine'",
    ),
    (
        "number beyond Decimal (Depth)",
        lambda: with_literal(MS_SAMPLE, lambda d: set_value(d, "Depth", "@@"), "1e9999999999999999999"),
        "",
        "the number 1e9999999999999999999 is beyond the range of a .NET double",
    ),
    (
        "Money below Decimal",
        lambda: with_literal(
            SHKO,
            lambda d: set_value(attribute(target(d), "shko_currency")["value"], "Value", "@@"),
            "1e-9999999999999999999",
        ),
        "",
        "the number 1e-9999999999999999999 is beyond the range",
    ),
    (
        "Money beyond a double",
        lambda: with_literal(
            SHKO, lambda d: set_value(attribute(target(d), "shko_currency")["value"], "Value", "@@"), "1e309"
        ),
        "",
        "the number 1e309 is beyond the range",
    ),
    (
        "Money below the smallest double",
        lambda: with_literal(
            SHKO,
            lambda d: set_value(attribute(target(d), "shko_currency")["value"], "Value", "@@"),
            "-1e-325",
        ),
        "",
        "the number -1e-325 is beyond the range",
    ),
    (
        "integer beyond a double",
        lambda: with_literal(MS_SAMPLE, lambda d: set_value(d, "Depth", "@@"), "1" + "0" * 309),
        "",
        "the number 1000000000000000000000000000000000000000… is beyond the range",
    ),
    (
        "integer of 5000 digits",
        lambda: with_literal(MS_SAMPLE, lambda d: set_value(d, "Depth", "@@"), "-" + "9" * 5000),
        "",
        "is beyond the range",
    ),
    (
        "escaped high surrogate followed by a letter",
        lambda: with_literal(
            MS_SAMPLE, lambda d: set_value(d, "OrganizationName", "@@"), '"Org\\ud800\\u0041"'
        ),
        "OrganizationName",
        "a lone surrogate (U+D800), which is not Unicode text, in a string",
    ),
    (
        "escaped lone low surrogate in an attribute",
        lambda: with_literal(
            MS_SAMPLE, lambda d: set_value(attribute(target(d), "firstname"), "value", "@@"), '"Ja\\udc00"'
        ),
        "InputParameters[0].value.Attributes[0].value",
        "a lone surrogate (U+DC00), which is not Unicode text, in a string",
    ),
    (
        "escaped lone surrogate in a member name",
        lambda: with_literal(MS_SAMPLE, lambda d: set_value(d, "Unknown", "@@"), '{"\\ud83d": 1}'),
        "Unknown",
        "a lone surrogate (U+D83D), which is not Unicode text, in a member name",
    ),
    (
        "lone surrogate in a str body",
        lambda: '{"MessageName": "\ud800"}',
        "",
        "not JSON: a lone surrogate (U+D800), which is not Unicode text, at character 17",
    ),
    (
        "UTF-8-encoded surrogate",
        lambda: b'{"MessageName": "\xed\xa0\x80"}',
        "",
        "not JSON: invalid utf-8 at byte 17",
    ),
    (
        "EntityCollection rows an object",
        lambda: mutated(ACTIVITY, lambda d: set_value(recipients(d), "Entities", {})),
        "PreEntityImages[Image].Attributes[to].Entities",
        "expected a JSON array, got an object",
    ),
    (
        "EntityCollection row without Id",
        lambda: mutated(ACTIVITY, lambda d: recipients(d)["Entities"][0].pop("Id")),
        "PreEntityImages[Image].Attributes[to].Entities[0].Id",
        "missing",
    ),
    (
        "EntityCollection party lookup id not a GUID",
        lambda: mutated(
            ACTIVITY,
            lambda d: set_value(attribute(recipients(d)["Entities"][0], "partyid")["value"], "Id", "q"),
        ),
        "PreEntityImages[Image].Attributes[to].Entities[0].Attributes[partyid].Id",
        "expected a GUID, got 'q'",
    ),
    (
        "EntityCollection row typed as a reference",
        lambda: mutated(
            ACTIVITY,
            lambda d: set_value(
                recipients(d)["Entities"][0],
                "__type",
                "EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts",
            ),
        ),
        "PreEntityImages[Image].Attributes[to].Entities[0].__type",
        "expected Entity",
    ),
    (
        "EntityCollection MoreRecords a string",
        lambda: mutated(ACTIVITY, lambda d: set_value(recipients(d), "MoreRecords", "false")),
        "PreEntityImages[Image].Attributes[to].MoreRecords",
        "expected true or false",
    ),
    (
        "EntityCollection TotalRecordCount a string",
        lambda: mutated(ACTIVITY, lambda d: set_value(recipients(d), "TotalRecordCount", "-1")),
        "PreEntityImages[Image].Attributes[to].TotalRecordCount",
        "expected an integer",
    ),
    (
        "activity party id not a GUID",
        lambda: mutated(
            SHKO_EDITED,
            lambda d: set_value(
                attribute(attribute(target(d["ParentContext"]), "requiredattendees")["value"][0], "partyid")[
                    "value"
                ],
                "Id",
                "nobody",
            ),
        ),
        "ParentContext.InputParameters[Target].Attributes[requiredattendees][0].Attributes[partyid].Id",
        "expected a GUID, got 'nobody'",
    ),
]


@pytest.mark.parametrize(("body", "path", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_payload_names_what_and_where(
    body: Callable[[], bytes | str], path: str, reason: str
) -> None:
    """Each mutation raises WebhookPayloadError with the exact path and a reason that says what is wrong."""
    with pytest.raises(WebhookPayloadError) as caught:
        parse_remote_execution_context(body())
    assert caught.value.path == path
    assert reason in caught.value.reason
    assert str(caught.value) == (f"{path}: {caught.value.reason}" if path else caught.value.reason)


def test_the_error_is_a_value_error() -> None:
    """Callers that catch ValueError also catch malformed webhooks."""
    assert issubclass(WebhookPayloadError, ValueError)


def test_unchanged_vectors_pass_the_same_helpers() -> None:
    """The mutation helpers alone (no change) leave each vector valid, so every case tests its own change."""
    for path in (MS_SAMPLE, SHKO, SHKO_EDITED, ACCOUNT_TYPED, ACTIVITY):
        parse_remote_execution_context(mutated(path, lambda d: None))
