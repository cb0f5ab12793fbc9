"""The Dataverse webhook's HTTP entry: authenticate, parse at the edge, hand a typed event to the intake.

``POST /api/webhooks/dataverse`` (``function_app.dataverse_webhook``) calls ``answer``. In order:

1. a body over ``MAX_BODY_BYTES`` is 413 (Dataverse trims its own payloads above 256 KB, so a larger one
   is not from Dataverse);
2. the call must present the secret of ``D365_WEBHOOK_AUTH``: the header ``D365_WEBHOOK_HEADER``, or
   ``?code=``; compared in constant time (``hmac.compare_digest``); otherwise 401, saying nothing more;
3. the headers and the RemoteExecutionContext are parsed (``shared.dataverse.webhook``); anything
   malformed is 400 with the reason (the parser raises nothing else for any bytes);
4. the typed ``WebhookEvent`` goes to ``WebhookIntake.accept``: 403 for another organization, 200 for an
   event ignored (with the reason) or recognised as a repeat, 202 when queued.

Nothing a client sends is answered 500. A missing setting, an unreadable vault or storage that refuses is
503: Dataverse retries once on 502/503/504 and then records the failure on its system job.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from azure.core.exceptions import AzureError

from shared.config import AppSettings, ConfigError, D365WebhookSettings
from shared.d365_runtime import webhook_intake, webhook_secret
from shared.dataverse.webhook import (
    Entity,
    EntityReference,
    Money,
    OptionSetValue,
    RemoteExecutionContext,
    WebhookPayloadError,
    parse_remote_execution_context,
    parse_webhook_headers,
)
from shared.sync.d365.events import WebhookEvent

_log = logging.getLogger(__name__)
MAX_BODY_BYTES = 1024 * 1024
# The columns of an order event the intake looks at (statecode to tell a directly entered order).
_HINTED = ("statecode", "statuscode", "quoteid", "ordernumber")


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status and JSON body."""

    status: int
    body: Mapping[str, str]

    def text(self) -> str:
        """The body as JSON text."""
        return json.dumps(dict(self.body))


def _plain(value: Any) -> Any:
    if isinstance(value, OptionSetValue):
        return value.value
    if isinstance(value, EntityReference):
        return value.id
    if isinstance(value, Money):
        return value.value
    if isinstance(value, Decimal):
        return value
    if isinstance(value, Entity):
        return None
    return value if isinstance(value, str | int | float | bool) else None


def event_of(context: RemoteExecutionContext) -> WebhookEvent:
    """The service layer's event for a parsed context (plain values of the columns it looks at)."""
    attributes = {name: _plain(context.attribute(name)) for name in _HINTED}
    parent = context.parent_context
    return WebhookEvent(
        message=context.message_name,
        entity=context.primary_entity_name,
        record_id=context.primary_entity_id,
        operation_id=context.operation_id,
        stage=context.stage,
        mode=context.mode,
        correlation_id=context.correlation_id,
        user_id=context.user_id,
        initiating_user_id=context.initiating_user_id,
        organization_id=context.organization_id,
        trimmed=context.trimmed,
        parent_message=parent.message_name if parent is not None else None,
        attributes={k: v for k, v in attributes.items() if v is not None},
    )


def _refuse(status: int, outcome: str, reason: str) -> Answer:
    return Answer(status, {"outcome": outcome, "reason": reason})


def _authenticated(
    config: D365WebhookSettings,
    secret: str,
    headers: Mapping[str, str],
    params: Mapping[str, str],
    now: datetime,
) -> bool:
    """Whether the call presents the secret, or the previous one during a rotation's grace window."""
    if config.auth == "query_key":
        presented = params.get("code", "")
    else:
        lowered = {name.lower(): value for name, value in headers.items()}
        presented = lowered.get(config.header.lower(), "")
    given = presented.encode("utf-8", "surrogateescape")
    accepted = [secret]
    if config.previous and config.previous_until is not None and now < config.previous_until:
        accepted.append(config.previous)
    # Every accepted secret is compared, in constant time, so the answer's timing tells nothing.
    matches = [hmac.compare_digest(given, candidate.encode("utf-8")) for candidate in accepted]
    return any(matches)


def answer(  # noqa: PLR0911 - one answer per step of the module docstring
    settings: AppSettings, headers: Mapping[str, str], params: Mapping[str, str], body: bytes
) -> Answer:
    """The answer to one webhook call; see the module docstring."""
    if len(body) > MAX_BODY_BYTES:
        return _refuse(
            413, "refused", f"the body has {len(body)} bytes; at most {MAX_BODY_BYTES} are accepted"
        )
    try:
        config = settings.get(D365WebhookSettings)
        secret = webhook_secret(settings)
        intake = webhook_intake(settings)
    except ConfigError as exc:
        _log.error("the Dataverse webhook is not configured: %s", exc)
        return _refuse(503, "unavailable", "the webhook's settings are incomplete (see /api/health/details)")
    except Exception:  # the vault could not be read: nothing the caller did
        _log.exception("the webhook secret could not be read")
        return _refuse(503, "unavailable", "the webhook secret could not be read")
    if not _authenticated(config, secret, headers, params, datetime.now(UTC)):
        return _refuse(401, "refused", "unauthenticated")
    try:
        parsed = parse_webhook_headers(headers)
        context = parse_remote_execution_context(body, headers=parsed)
    except WebhookPayloadError as exc:
        return _refuse(400, "refused", f"not a Dataverse webhook request: {exc}")
    try:
        result = intake.accept(event_of(context))
    except AzureError:
        _log.exception("storage refused the webhook event %s", context.operation_id)
        return _refuse(503, "unavailable", "the event could not be queued; Dataverse retries it")
    return Answer(result.status, result.to_json())
