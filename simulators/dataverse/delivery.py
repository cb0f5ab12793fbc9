"""One webhook call as Dataverse makes it: the POST, its authentication, the timeout and the retry rule.

From the use-webhooks article (tests/vectors/dataverse/webhook-headers.md): the body is the
RemoteExecutionContext, the headers the documented ``x-ms-…`` set (built by ``remote_context``); only the
response status counts; no answer within the timeout (60 s) or a non-2xx status is a failure, except 502,
503 and 504, after which the service makes exactly one more attempt. Authentication comes from the
serviceendpoint (``shared.dataverse.endpoint_auth``): ``?code=`` for WebhookKey, the ``<settings>`` pairs
as headers (HttpHeader) or query parameters (HttpQueryString).

Failures carry webhook error codes 0x80050201-0x80050205 with their messages (WebhooksNonSuccessHttpResponse,
WebhooksHttpRequestTimedOut, WebhooksInvalidHttpHeaders/QueryParams, WebhooksPostRequestFailed). ASSUMED:
those codes and texts are attributed to the Web API error table, which neither docs/dataverse-api.md nor
the vectors reproduce; the detailed ``message`` text is ASSUMED too. Only ports 80 and 443 are supported
for webhooks (Spanish copy of register-web-hook); the simulator allows any port on a loopback host so
tests can run local endpoints.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from shared.dataverse.endpoint_auth import AuthType, AuthValueError, WebhookAuth
from shared.dataverse.webhook.headers import REQUEST_ID
from simulators.common.provenance import assumed, captured
from simulators.dataverse.remote_context import WebhookDelivery

RETRIED_STATUSES = frozenset({502, 503, 504})
_LOOPBACK_NAMES = frozenset({"localhost"})
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[\x20-\x7e]*")

captured(
    "dataverse",
    "webhook request and retry rule",
    "POST with the x-ms-dynamics-* headers, 60 s timeout, one more attempt on 502/503/504 only, auth by "
    "?code=, headers or query pairs: use-webhooks.md and register-web-hook.md (tests/vectors/dataverse/"
    "webhook-headers.md, docs/dataverse-api.md, 'Webhooks')",
)
assumed(
    "dataverse",
    "webhook error codes and messages",
    "0x80050201-0x80050205 (WebhooksNonSuccessHttpResponse, WebhooksHttpRequestTimedOut, "
    "WebhooksInvalidHttpHeaders, WebhooksInvalidHttpQueryParams, WebhooksPostRequestFailed) and their "
    "messages: attributed to the Web API error table (data-service-errors.md), which neither "
    "docs/dataverse-api.md nor the vectors reproduce, so they are unverified.",
)
assumed(
    "dataverse",
    "webhook failure details",
    "The detailed asyncoperation.message text and a fresh x-request-id per attempt; no capture.",
)


@dataclass(frozen=True)
class WebhookError:
    """One of the error table's webhook failures: code (hex), its int form, and the table's message."""

    code: str
    message: str

    @property
    def number(self) -> int:
        """The code as the signed 32-bit integer asyncoperation.errorcode holds."""
        value = int(self.code, 16)
        return value - 2**32 if value >= 2**31 else value


NON_SUCCESS = WebhookError(
    "0x80050201",
    "The webhook call failed because the http request received non-success httpStatus code. Please check "
    "your webhook request handler.",
)
TIMED_OUT = WebhookError(
    "0x80050202",
    "The webhook call failed because the Http request timed out at client side. Please check your webhook "
    "request handler.",
)
INVALID_HEADERS = WebhookError(
    "0x80050203",
    "The webhook call failed because of invalid http headers in authValue. Check if the authValue format, "
    "header names and values are valid for your Service Endpoint entity.",
)
INVALID_QUERY = WebhookError(
    "0x80050204",
    "The webhook call failed because of invalid http query params in authValue. Check if the authValue "
    "format, query parameter names and values are valid for your Service Endpoint entity.",
)
POST_FAILED = WebhookError(
    "0x80050205",
    "The webhook call failed during http post. Please check the exception for more details.",
)


@dataclass(frozen=True)
class Endpoint:
    """The serviceendpoint a step posts to, as read when the call is made."""

    url: str
    authtype: int | None
    authvalue: str | None


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt: its status (None when no response came) and what went wrong, if anything."""

    status: int | None
    detail: str = ""


@dataclass(frozen=True)
class Outcome:
    """The result of a call: success, or the webhook error and a detailed message."""

    attempts: tuple[Attempt, ...] = field(default_factory=tuple)
    error: WebhookError | None = None
    detail: str = ""

    @property
    def succeeded(self) -> bool:
        """Whether the endpoint answered 2xx."""
        return self.error is None


def _loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: str) -> str:
    """Why ``url`` cannot be called ("" when it can): unparseable (a bad port…), or not absolute http(s)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is part of the check
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:
        return f"the endpoint URL {url!r} is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"the endpoint URL {url!r} is not an absolute http(s) URL"
    return ""


def _target(endpoint: Endpoint) -> tuple[str, str]:
    """(url, "") when the URL can be called, else ("", why not)."""
    url = endpoint.url or ""
    problem = url_problem(url)
    if problem:
        return "", problem
    parts = urlsplit(url)
    assert parts.hostname is not None  # url_problem checked it
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if port not in (80, 443) and not _loopback(parts.hostname):
        return "", f"port {port} is not supported for webhooks (80 and 443 only)"
    return endpoint.url, ""


def _auth(endpoint: Endpoint) -> tuple[Mapping[str, str], Mapping[str, str], WebhookError | None, str]:
    """(headers, query parameters, error, detail) for the endpoint's authentication."""
    if endpoint.authtype is None:
        return {}, {}, None, ""
    try:
        kind = AuthType(endpoint.authtype)
    except ValueError:
        return {}, {}, POST_FAILED, f"authtype {endpoint.authtype} is not a webhook authentication type"
    try:
        auth = WebhookAuth(kind, endpoint.authvalue or "")
        if kind is AuthType.WEBHOOK_KEY and not endpoint.authvalue:
            raise AuthValueError("the webhook key is empty")
        headers = auth.headers()
        for name, value in headers.items():
            _check_header(name, value)
        return headers, auth.query(), None, ""
    except AuthValueError as exc:
        error = INVALID_HEADERS if kind is AuthType.HTTP_HEADER else INVALID_QUERY
        return {}, {}, error, str(exc)


def _check_header(name: str, value: str) -> None:
    """A header HTTP/1.1 can carry: a token name, a value of visible ASCII and spaces (RFC 9110)."""
    if not _HEADER_NAME.fullmatch(name):
        raise AuthValueError(f"{name!r} is not a valid HTTP header name")
    if not _HEADER_VALUE.fullmatch(value):
        raise AuthValueError(f"the value of header {name!r} holds characters HTTP headers cannot carry")


def deliver(http: httpx.Client, endpoint: Endpoint, delivery: WebhookDelivery) -> Outcome:
    """POST ``delivery`` to the endpoint, with one more attempt after a 502, 503 or 504."""
    url, why_not = _target(endpoint)
    if not url:
        return Outcome(error=POST_FAILED, detail=why_not)
    auth_headers, query, error, detail = _auth(endpoint)
    if error is not None:
        return Outcome(error=error, detail=detail)
    attempts: list[Attempt] = []
    while True:
        headers = {**delivery.headers, REQUEST_ID: str(uuid.uuid4()), **auth_headers}
        try:
            response = http.post(url, content=delivery.body, headers=headers, params=dict(query))
        except httpx.TimeoutException as exc:
            attempts.append(Attempt(None, f"timed out: {exc}"))
            return Outcome(tuple(attempts), TIMED_OUT, f"no response from {url} within the timeout")
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # last two: httpx refused the request
            attempts.append(Attempt(None, f"{type(exc).__name__}: {exc}"))
            return Outcome(tuple(attempts), POST_FAILED, f"POST {url} failed: {type(exc).__name__}: {exc}")
        attempts.append(Attempt(response.status_code))
        if response.is_success:
            return Outcome(tuple(attempts))
        if response.status_code in RETRIED_STATUSES and len(attempts) == 1:
            continue
        reason = f"{response.status_code} {response.reason_phrase}".strip()
        return Outcome(tuple(attempts), NON_SUCCESS, f"POST {url} answered {reason}")
