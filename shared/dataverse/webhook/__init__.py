"""Dataverse webhook requests: decode the RemoteExecutionContext body and the documented headers.

The HTTP trigger calls ``parse_webhook_headers`` and then ``parse_remote_execution_context(body, headers=…)``
(so the context's ``trimmed`` says whether the body was cut for size) and hands the typed context to the
service layer; both raise ``WebhookPayloadError`` (a ValueError) for a malformed request, and nothing else
for any body or header values.
"""

from shared.dataverse.webhook.context import (
    MODE_ASYNCHRONOUS,
    MODE_SYNCHRONOUS,
    STAGE_MAIN_OPERATION,
    STAGE_POST_OPERATION,
    STAGE_PRE_OPERATION,
    STAGE_PRE_VALIDATION,
    RemoteExecutionContext,
)
from shared.dataverse.webhook.dates import format_date_literal, parse_date_literal
from shared.dataverse.webhook.decode import parse_remote_execution_context
from shared.dataverse.webhook.errors import WebhookPayloadError
from shared.dataverse.webhook.headers import MAX_PAYLOAD_BYTES, WebhookHeaders, parse_webhook_headers
from shared.dataverse.webhook.values import (
    Entity,
    EntityCollection,
    EntityReference,
    KeyValuePair,
    Money,
    OpaqueValue,
    OptionSetValue,
    Value,
)

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "MODE_ASYNCHRONOUS",
    "MODE_SYNCHRONOUS",
    "STAGE_MAIN_OPERATION",
    "STAGE_POST_OPERATION",
    "STAGE_PRE_OPERATION",
    "STAGE_PRE_VALIDATION",
    "Entity",
    "EntityCollection",
    "EntityReference",
    "KeyValuePair",
    "Money",
    "OpaqueValue",
    "OptionSetValue",
    "RemoteExecutionContext",
    "Value",
    "WebhookHeaders",
    "WebhookPayloadError",
    "format_date_literal",
    "parse_date_literal",
    "parse_remote_execution_context",
    "parse_webhook_headers",
]
