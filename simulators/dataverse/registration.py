"""Platform rules for webhook registrations: endpoints, steps and step images, checked on every write.

From the sdkmessageprocessingstep and serviceendpoint references and register-web-hook, with the refusal
codes and texts ASSUMED (attributed to the Web API error table, which neither docs/dataverse-api.md nor
the vectors reproduce):

- a step on a message/table filter that does not allow custom steps is refused with
  SdkCustomProcessingStepIsNotAllowed (``iscustomprocessingstepallowed`` false: ConvertQuoteToSalesOrder,
  FulfillSalesOrder, Upsert…);
- a pre-operation step cannot carry a post image (SdkMessageDoesNotSupportPostImageRegistration), an image
  type a message does not support is refused (SdkMessageInvalidImageTypeRegistration: Create has no pre
  image, Delete no post image), and an image must be taken from the message's parameter
  (SdkInvalidMessagePropertyName: ``Id`` for Create, ``EntityMoniker`` for SetState, else ``Target``);
- ``isauthvalueset`` tells whether the write-only ``authvalue`` holds a value.

ASSUMED (no document gives the text): a webhook endpoint (contract 8) needs an absolute http(s) URL with a
valid port and a webhook authtype (4, 5, 6); custom steps run in stage 10, 20 or 40 and asynchronous ones
only in 40; a step's filter must belong to its message. These refusals are 400s with the OData layer's code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from simulators.common.provenance import assumed
from simulators.dataverse import errors
from simulators.dataverse.delivery import url_problem
from simulators.dataverse.store import Ref, Row, Store

WEBHOOK_CONTRACT = 8
WEBHOOK_AUTH_TYPES = frozenset({4, 5, 6})
CUSTOM_STAGES = frozenset({10, 20, 40})
POST_OPERATION = 40
_PRE_IMAGE, _POST_IMAGE, _BOTH_IMAGES = 0, 1, 2
_MESSAGE_PROPERTY = {"Create": "Id", "SetState": "EntityMoniker", "SetStateDynamicEntity": "EntityMoniker"}
INVALID_MESSAGE_PROPERTY = "0x8004416b"
INVALID_IMAGE_TYPE = "0x8004416d"

assumed(
    "dataverse",
    "step registration refusals",
    "Codes and texts of SdkCustomProcessingStepIsNotAllowed (0x80044187), "
    "SdkMessageDoesNotSupportPostImageRegistration (0x8004416e), SdkMessageInvalidImageTypeRegistration "
    "(0x8004416d) and SdkInvalidMessagePropertyName (0x8004416b): attributed to data-service-errors.md, "
    "which neither docs/dataverse-api.md nor the vectors reproduce. Which filters allow custom steps "
    "(Event True/False) is documented (docs/dataverse-api.md, 'Sales actions').",
)
assumed(
    "dataverse",
    "endpoint and step validation",
    "Texts and the 400 status for: webhook endpoint without an absolute URL or webhook authtype, stage "
    "outside 10/20/40, asynchronous step outside stage 40, filter of another message.",
)

Rule = Callable[[Store, Row, Row | None], None]


def _reference_row(store: Store, value: Any) -> Row | None:
    return store.get(value.logical_name, value.id) if isinstance(value, Ref) else None


def endpoint_rule(store: Store, row: Row, current: Row | None) -> None:
    """A webhook endpoint calls an absolute http(s) URL with a webhook authentication type."""
    del store, current
    row["isauthvalueset"] = row.get("authvalue") is not None
    if row.get("contract") != WEBHOOK_CONTRACT:
        return
    problem = url_problem(str(row.get("url") or ""))
    if problem:
        raise errors.bad_request(
            f"A webhook service endpoint needs an absolute http or https url: {problem}."
        )
    if row.get("authtype") not in WEBHOOK_AUTH_TYPES:
        raise errors.bad_request(
            "A webhook service endpoint needs authtype 4 (WebhookKey), 5 (HttpHeader) or 6 (HttpQueryString)."
        )
    if row.get("messageformat") is None:
        row["messageformat"] = 2  # Json


def step_rule(store: Store, row: Row, current: Row | None) -> None:
    """Custom steps: stages 10/20/40, asynchronous only post-operation, on a filter that allows them."""
    stage, mode = row.get("stage"), row.get("mode")
    if stage not in CUSTOM_STAGES:
        raise errors.bad_request(f"Custom steps run in stage 10, 20 or 40, not {stage}.")
    if mode == 1 and stage != POST_OPERATION:
        raise errors.bad_request("Asynchronous steps run only in the post-operation stage (40).")
    message, message_filter = row.get("sdkmessageid"), row.get("sdkmessagefilterid")
    if current is not None and (message, message_filter) == (
        current.get("sdkmessageid"),
        current.get("sdkmessagefilterid"),
    ):
        return
    filter_row = _reference_row(store, message_filter)
    if filter_row is None:
        return
    if not isinstance(message, Ref) or filter_row.get("sdkmessageid") != message:
        raise errors.bad_request("The sdkmessagefilter of the step does not belong to its sdkmessage.")
    if not filter_row.get("iscustomprocessingstepallowed"):
        raise errors.custom_step_not_allowed()


def image_rule(store: Store, row: Row, current: Row | None) -> None:
    """An image fits its step: taken from the message's parameter, of a type the message and stage allow."""
    del current
    step = _reference_row(store, row.get("sdkmessageprocessingstepid"))
    if step is None:
        return
    message_row = _reference_row(store, step.get("sdkmessageid")) or {}
    message = str(message_row.get("name") or "")
    expected = _MESSAGE_PROPERTY.get(message, "Target")
    if row.get("messagepropertyname") != expected:
        raise errors.WebApiError(
            400,
            INVALID_MESSAGE_PROPERTY,
            f"Message property name '{row.get('messagepropertyname')}' is not valid on message {message}.",
        )
    image_type = row.get("imagetype")
    wants_post = image_type in (_POST_IMAGE, _BOTH_IMAGES)
    wants_pre = image_type in (_PRE_IMAGE, _BOTH_IMAGES)
    if wants_post and step.get("stage") != POST_OPERATION:
        raise errors.WebApiError(
            400,
            errors.SDK_MESSAGE_DOES_NOT_SUPPORT_POST_IMAGE,
            "PreEvent step registration does not support Post Image.",
        )
    if (message == "Create" and wants_pre) or (message == "Delete" and wants_post):
        raise errors.WebApiError(
            400, INVALID_IMAGE_TYPE, f"Message {message} does not support this image type."
        )


def close_activity_rule(store: Store, row: Row, current: Row | None) -> None:
    """Close activities record their type (``activitytypecode``)."""
    del store, current
    row["activitytypecode"] = "quoteclose" if "quoteid" in row else "orderclose"


RULES: Mapping[str, Rule] = {
    "serviceendpoint": endpoint_rule,
    "sdkmessageprocessingstep": step_rule,
    "sdkmessageprocessingstepimage": image_rule,
    "quoteclose": close_activity_rule,
    "orderclose": close_activity_rule,
}
