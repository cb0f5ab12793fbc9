"""The HTTP headers Dataverse sends with a webhook request (Microsoft Learn, "Use WebHooks", Header Data)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from shared.dataverse.webhook.errors import WebhookPayloadError

ORGANIZATION = "x-ms-dynamics-organization"
ENTITY_NAME = "x-ms-dynamics-entity-name"
REQUEST_NAME = "x-ms-dynamics-request-name"
CORRELATION_REQUEST_ID = "x-ms-correlation-request-id"
MSG_SIZE_EXCEEDED = "x-ms-dynamics-msg-size-exceeded"
REQUEST_ID = "x-request-id"
"""Listed only by the 2018/2019 revisions of the page; optional."""

MAX_PAYLOAD_BYTES = 256 * 1024
"""Above this Dataverse drops ParentContext, InputParameters and the images and sets MSG_SIZE_EXCEEDED."""


@dataclass(frozen=True)
class WebhookHeaders:
    """The documented Dataverse headers of one webhook request.

    ``size_exceeded`` is True when the body was trimmed for size: the header
    ``x-ms-dynamics-msg-size-exceeded`` is present and its value is not ``false`` (any case, surrounding
    spaces ignored). The docs name only the header ("sent only when the HTTP payload exceeds 256KB"), no
    value; ``true`` is what the simulator sends. An empty or unexpected value counts as trimmed: reading the
    row costs one request, while taking a trimmed body for a whole one would act on a context without its
    Target and images. A trimmed context lacks ParentContext, InputParameters and the images, and the
    handler must read the row from Dataverse.
    """

    organization: str
    entity_name: str
    request_name: str
    correlation_request_id: UUID
    request_id: str | None
    size_exceeded: bool


def parse_webhook_headers(headers: Mapping[str, str]) -> WebhookHeaders:
    """Read the documented headers, names in any case; a missing or bad one raises WebhookPayloadError.

    The four headers every revision of the documentation lists are required; ``x-request-id`` is optional.
    """
    lowered = {name.lower(): value for name, value in headers.items()}

    def required(name: str) -> str:
        value = lowered.get(name, "").strip()
        if not value:
            raise WebhookPayloadError(f"header {name}", "missing")
        return value

    organization, entity_name, request_name = (required(n) for n in (ORGANIZATION, ENTITY_NAME, REQUEST_NAME))
    correlation = required(CORRELATION_REQUEST_ID)
    try:
        correlation_id = UUID(correlation)
    except ValueError:
        raise WebhookPayloadError(
            f"header {CORRELATION_REQUEST_ID}", f"expected a GUID, got {correlation[:40]!r}"
        ) from None
    return WebhookHeaders(
        organization=organization,
        entity_name=entity_name,
        request_name=request_name,
        correlation_request_id=correlation_id,
        request_id=lowered.get(REQUEST_ID, "").strip() or None,
        size_exceeded=MSG_SIZE_EXCEEDED in lowered and lowered[MSG_SIZE_EXCEEDED].strip().lower() != "false",
    )
