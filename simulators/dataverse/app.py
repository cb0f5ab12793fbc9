"""The Dataverse simulator: an organization's Web API under ``/api/data/v9.x/``, plus ``/_admin``.

The Web API sits behind Entra tokens and service protection.

Every request needs ``Authorization: Bearer <token>`` issued by the Entra simulator for this simulator's
own URL (the token's ``aud``; the client asks for ``<url>/.default``) and, when ``tenant_id`` is set, by
that tenant; otherwise 401. The token's ``appid`` must belong to an application user of the organization
(``application_ids`` seeds them; the ``add_application_user`` admin action adds more); otherwise 403.
Admitted requests count against service protection (``Limits``; ``None`` turns it off) on the simulator's
clock, which the toolkit's ``/_admin/clock`` moves.

Admin actions (``POST /_admin/actions/<name>``):

- ``add_application_user`` ``{"app_id": "<client id>", "name"?: "…"}``
- ``define_key`` ``{"table": "account", "columns": ["accountnumber"], "name"?: "…", "active"?: true}``:
  an alternate key, Active at once unless ``active`` is false (the Web API route builds it asynchronously).
- ``set_limits`` ``{"requests"?, "execution_ms"?, "concurrent"?, "window_seconds"?, "charge_ms"?}`` or
  ``{"off": true}``.
- ``protection`` ``{}``: the current limits and how many requests were refused.
- ``set_message_availability`` ``{"table": "account", "messages"?: ["CreateMultiple"], "available": true}``:
  add or remove the table's ``sdkmessagefilters`` rows (``messages`` defaults to the three bulk messages),
  which decides what the bulk-availability probe answers and whether the bulk actions run.
- ``drain_webhooks`` ``{"timeout"?: 30}``: wait until every asynchronous webhook delivery (and BulkDelete
  system job, ``bulk_delete.py``) has run ->
  ``{"drained": bool, "pending": n}`` (tests call it instead of sleeping).
- ``webhook_deliveries`` ``{}``: every webhook call made since the reset (step, message, table, the status
  of each attempt, success, error code).
- ``revoke_privilege`` ``{"table": "salesorderdetail", "privilege": "Create"}`` and ``grant_privilege``
  (the same, with ``"depth"?: "Global"``): change the connector's security role, which every application
  user holds (``security.py``); ``privileges`` ``{"app_id"?}``: the roles, or one application user's
  privileges.
- ``set_sales_rules`` ``{"reopen_closed_orders"?: bool}``: Sales behaviour no document settles
  (``sales_rules.py``): whether an Update may reopen a Canceled or Fulfilled order.
- ``add_user`` ``{"name": "…", "email": "…"}``: a (licensed, interactive) user, e.g. an order's owner ->
  ``{"systemuserid"}``.
- ``set_dop_hint`` ``{"value": n}``: the ``x-ms-dop-hint`` every response announces (``Settings.dop_hint``,
  48 by default; ``request_limits.py``).

URLs longer than 32 KB (64 KB inside a ``$batch`` body) are refused with 414 (``request_limits.py``).

Registered webhook steps (``serviceendpoints`` contract 8, ``sdkmessageprocessingsteps``) fire on the
organization's events and are delivered by ``simulators/dataverse/webhooks.py``; the Sales actions
(ConvertQuoteToSalesOrder, WinQuote, FulfillSalesOrder) are in ``simulators/dataverse/actions.py``.

Reset (``POST /_admin/reset``) gives a fresh organization with the application users the simulator was
created with, and the configured limits with empty windows.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from simulators.common.admin import Admin, AdminError
from simulators.common.clock import SimClock
from simulators.common.faults import Fault, FaultKind
from simulators.common.provenance import assumed, captured
from simulators.dataverse import errors
from simulators.dataverse.protection import Limits, ServiceProtection, requests_exceeded
from simulators.dataverse.records import Caller, Organization
from simulators.dataverse.request_limits import (
    DEFAULT_DOP_HINT,
    DOP_HINT_HEADER,
    MAX_URL_LENGTH,
    url_too_long,
)
from simulators.dataverse.sdkmessages import BULK_MESSAGES, set_message_availability
from simulators.dataverse.security import PRIVILEGE_TYPES, privilege_name
from simulators.dataverse.seed import BaseCurrency, add_application_user, application_user, seed_fresh_org
from simulators.dataverse.store import Ref
from simulators.dataverse.tables import Table
from simulators.dataverse.webapi import Call, WebApi, empty_response, error_response
from simulators.dataverse.webhooks import WebhookDispatcher
from simulators.entra.tokens import TokenError, validate

API_VERSIONS = frozenset({"v9.0", "v9.1", "v9.2"})

captured(
    "dataverse",
    "upsert responses",
    "204 + OData-EntityId naming the URL's key; 201 (Preference-Applied) / 200 with Prefer: "
    "return=representation -- MicrosoftDocs/powerapps-docs use-upsert-insert-update-record.md, "
    "tests/vectors/dataverse/http-exchanges/upsert-*",
)
captured(
    "dataverse",
    "conditional operation errors",
    "404 'account With Id = … Does Not Exist', 412 'A record with matching key values already exists.' and "
    "'The version of the existing record doesn't match the RowVersion property provided.' with code '' -- "
    "perform-conditional-operations-using-web-api.md, tests/vectors/dataverse/http-exchanges/",
)
captured(
    "dataverse",
    "service protection codes and messages",
    "api-limits.md (limits, hex codes, messages, Retry-After in seconds); the 429 body shape itself is "
    "assumed: no raw 429 was published",
)
assumed(
    "dataverse",
    "401 without a valid token",
    "Empty body with WWW-Authenticate: Bearer authorization_uri=…, resource_id=…; not in the references.",
)
assumed(
    "dataverse",
    "403 for an app without an application user",
    "Message 'The user is not a member of the organization.'; no capture.",
)
assumed(
    "dataverse",
    "key-value and OData-layer errors",
    "Codes 0x80060888/0x80060891 and the texts for unknown properties, missing key rows, unaddressable "
    "key characters (ASP.NET request validation) and missing SystemRequired values; see "
    "simulators/dataverse/errors.py",
)

assumed(
    "dataverse",
    "order and quote totals",
    "Header totals follow the Sales pricing model (detail amount, order discount, pre-freight amount, "
    "total); formulas in simulators/dataverse/pricing.py are not taken from a capture.",
)
captured(
    "dataverse",
    "bulk availability probe",
    "sdkmessagefilters?$filter=sdkmessageid/name eq @message and primaryobjecttypecode eq @table answers "
    "{@odata.context …#sdkmessagefilters(sdkmessagefilterid), value:[{@odata.etag, sdkmessagefilterid}]} -- "
    "bulk-operations.md, tests/vectors/dataverse/http-exchanges/bulk-availability-sdkmessagefilter.*",
)
assumed(
    "dataverse",
    "message catalog contents",
    "Which messages each table has and their Event flag follow the generated table references; bulk messages "
    "on salesorder, salesorderdetail, quote, account and opportunity (captured: the current references list "
    "CreateMultiple/UpdateMultiple), contact (assumed like account) and custom tables by default, "
    "UpsertMultiple with them (bulk-operations.md); availability, "
    "customizationlevel, isvisible and categoryname values, and 405 NotSupported for writes to sdkmessages/"
    "sdkmessagefilters, are assumed (simulators/dataverse/sdkmessages.py).",
)
captured(
    "dataverse",
    "$batch responses",
    "batchresponse_ multipart, nested changesetresponse_ echoing Content-ID, 204 parts with Location and "
    "OData-EntityId, error parts with REQ_ID, 400 without and 200 with Prefer: odata.continue-on-error, "
    "'Content-ID Reference: '$1' does not exist in the batch context.' -- "
    "execute-batch-operations-using-web-api.md, tests/vectors/dataverse/http-exchanges/batch-*",
)
assumed(
    "dataverse",
    "$batch edge cases",
    "Texts for more than 1000 requests, nested batches and GET in a change set; the responses of the "
    "requests before a failure are returned too; a stopped batch is 400 whatever failed "
    "(simulators/dataverse/batch.py).",
)
captured(
    "dataverse",
    "bulk actions",
    "CreateMultiple 200 {@odata.context …#Microsoft.Dynamics.CRM.CreateMultipleResponse, Ids}, "
    "UpdateMultiple and UpsertMultiple 204 -- bulk-operations.md, "
    "tests/vectors/dataverse/http-exchanges/{create,update,upsert}multiple.*",
)
assumed(
    "dataverse",
    "bulk action errors",
    "Unsupported table (400 NotSupported, MessageProcessor wording), missing @odata.type, UpdateMultiple "
    "without the primary key, UpsertMultiple duplicates (400 DuplicateRecord): bulk.py.",
)
captured(
    "dataverse",
    "change tracking",
    "Preference-Applied: odata.track-changes, @odata.deltaLink with "
    "$deltatoken=<version>!<MM/dd/yyyy HH:mm:ss>, $delta context, $deletedEntity items, new/updated before "
    "deleted, the refusal of $filter/$orderby/$expand/$top -- "
    "use-change-tracking-synchronize-data-external-systems.md, tests/vectors/.../change-tracking-*",
)
assumed(
    "dataverse",
    "change tracking token errors",
    "Expired (older than ExpireChangeTrackingInDays) and malformed delta tokens are 400 with the texts in "
    "simulators/dataverse/tracking.py; the article only says 'the system throws an exception'.",
)
assumed(
    "dataverse",
    "alternate key index build time",
    "Pending -> InProgress -> Active after key_activation_seconds of simulated time; real index builds "
    "take as long as the table needs.",
)


@dataclass(frozen=True)
class Settings:
    """How the simulated organization behaves."""

    tenant_id: str | None = None  # accept tokens of this tenant only (None: any tenant)
    org_url: str | None = None  # the audience tokens must name (None: the URL the request came to)
    organization_name: str = "org"
    currency: BaseCurrency = field(default_factory=BaseCurrency)
    limits: Limits | None = field(default_factory=Limits)
    charge_ms: float | None = None  # fixed execution-time charge per request (None: measured)
    key_activation_seconds: float = 1.0
    latency_seconds: float = 0.0  # added to every admitted request, so concurrency can build up
    bulk_tables: frozenset[str] | None = None  # tables with CreateMultiple/…; None: sdkmessages' default
    webhook_timeout_seconds: float = 60.0  # how long a webhook call may take (the documented 60 s)
    webhook_ca_file: str | None = None  # CA bundle trusted for https webhook endpoints (None: the default)
    setstate_steps_on_update: bool = False  # also fire SetState steps for state changes made by Update
    expire_change_tracking_days: float = 7  # Organization.ExpireChangeTrackingInDays (delta token lifetime)
    dop_hint: int = DEFAULT_DOP_HINT  # x-ms-dop-hint: the recommended degree of parallelism announced


def throttle_fault_response(fault: Fault) -> Response:
    """Injected faults in Dataverse's shapes: a throttle is the documented requests-limit 429."""
    if fault.kind is FaultKind.THROTTLE:
        return error_response(requests_exceeded(Limits(), fault.retry_after))
    error = errors.WebApiError(fault.status, "", f"Simulated {fault.status} fault.")
    if fault.retry_after:
        error.headers["Retry-After"] = str(fault.retry_after)
    return error_response(error)


class DataverseSimulator:
    """One simulated Dataverse organization and the ASGI app serving it (``.app``)."""

    def __init__(
        self,
        application_ids: Iterable[str] = (),
        *,
        clock: SimClock | None = None,
        settings: Settings = Settings(),
        tables: Iterable[Table] = (),
    ) -> None:
        self.admin = Admin("dataverse", clock=clock, responder=throttle_fault_response)
        self.clock = self.admin.clock
        self.settings = settings
        self._application_ids = list(application_ids)
        self._extra_tables = list(tables)
        self.webhooks: WebhookDispatcher | None = None
        self.org = self._new_org()
        self.protection: ServiceProtection | None = self._new_protection(settings.limits, settings.charge_ms)
        self.dop_hint = settings.dop_hint
        self.api = WebApi(lambda: self.org)
        self._register_admin()
        self.app: ASGIApp = self.admin.build_app(
            [
                Route(
                    "/api/data/{version}/{path:path}",
                    self._handle,
                    methods=["GET", "POST", "PATCH", "DELETE", "PUT"],
                )
            ]
        )

    # -- state -----------------------------------------------------------------------------------------

    def _new_org(self) -> Organization:
        org = Organization(
            now=self.clock.now,
            key_activation_seconds=self.settings.key_activation_seconds,
            expire_change_tracking_days=self.settings.expire_change_tracking_days,
        )
        for table in self._extra_tables:
            org.add_table(table)
        seed_fresh_org(
            org,
            name=self.settings.organization_name,
            currency=self.settings.currency,
            bulk_tables=self.settings.bulk_tables,
        )
        for app_id in self._application_ids:
            add_application_user(org, app_id)
        self._attach_webhooks(org)
        return org

    def _attach_webhooks(self, org: Organization) -> None:
        """Give ``org`` its webhook dispatcher, stopping the previous organization's deliveries."""
        if self.webhooks is not None:
            self.webhooks.close()
        settings = self.settings
        domain = urlsplit(settings.org_url).hostname if settings.org_url else None
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=settings.webhook_ca_file) if settings.webhook_ca_file else True
        )

        def http() -> httpx.Client:
            # trust_env=False: deliveries go straight to the endpoint, never through an environment proxy.
            return httpx.Client(timeout=settings.webhook_timeout_seconds, verify=verify, trust_env=False)

        self.webhooks = WebhookDispatcher(
            org,
            organization_domain=domain or f"{settings.organization_name}.crm.dynamics.com",
            organization_name=settings.organization_name,
            http_factory=http,
            setstate_steps_on_update=settings.setstate_steps_on_update,
        )
        org.pipeline = self.webhooks

    def drain_webhooks(self, timeout: float = 30.0) -> bool:
        """Wait until every asynchronous webhook delivery and bulk-delete job has run (False: timed out)."""
        jobs = self.api.jobs.drain(timeout)
        return (self.webhooks.drain(timeout) if self.webhooks is not None else True) and jobs

    def _new_protection(self, limits: Limits | None, charge_ms: float | None) -> ServiceProtection | None:
        return None if limits is None else ServiceProtection(limits, self.clock.now, charge_ms=charge_ms)

    def add_application_user(self, app_id: str, name: str | None = None) -> uuid.UUID:
        """Let an Entra app in until the next reset; returns its systemuserid."""
        return uuid.UUID(str(add_application_user(self.org, app_id, name)["systemuserid"]))

    def _register_admin(self) -> None:  # noqa: PLR0915 - one small closure per admin action
        @self.admin.action("add_application_user", "Let an Entra app in: {app_id, name?} -> {systemuserid}")
        def add_user(body: dict[str, Any]) -> dict[str, Any]:
            app_id = body.get("app_id")
            try:
                user_id = self.add_application_user(str(app_id), body.get("name"))
            except ValueError as exc:
                raise AdminError(f"app_id must be a GUID, got {app_id!r}") from exc
            return {"systemuserid": str(user_id)}

        @self.admin.action("define_key", "Define an alternate key: {table, columns, name?, active?}")
        def define_key(body: dict[str, Any]) -> dict[str, Any]:
            table = self.org.table(str(body.get("table", "")))
            columns = body.get("columns")
            if table is None or not isinstance(columns, list):
                raise AdminError('expected {"table": "<logical name>", "columns": ["<column>", …]}')
            name = str(body.get("name") or f"sim_{table.logical_name}_{'_'.join(map(str, columns))}")
            try:
                key = self.org.keys.define(table, name, columns, active=body.get("active", True) is not False)
            except errors.WebApiError as exc:
                raise AdminError(exc.message) from exc
            return {"MetadataId": str(key.metadata_id), "EntityKeyIndexStatus": str(key.status)}

        @self.admin.action("set_limits", "Service protection limits: {requests?, execution_ms?, …} or {off}")
        def set_limits(body: dict[str, Any]) -> dict[str, Any]:
            if body.get("off"):
                self.protection = None
                return {"limits": None}
            base = self.protection.limits if self.protection else Limits()
            names = ("requests", "execution_ms", "concurrent", "window_seconds")
            try:
                changes: dict[str, int] = {name: int(body[name]) for name in names if name in body}
                limits = replace(base, **changes)
            except (TypeError, ValueError) as exc:
                raise AdminError(f"invalid limits: {exc}") from exc
            self.protection = self._new_protection(limits, body.get("charge_ms", self.settings.charge_ms))
            return {"limits": asdict(limits)}

        @self.admin.action("protection", "Current service protection limits and refusals")
        def protection(body: dict[str, Any]) -> dict[str, Any]:
            guard = self.protection
            if guard is None:
                return {"limits": None, "refusals": 0}
            return {"limits": asdict(guard.limits), "refusals": guard.refusals}

        @self.admin.action(
            "set_message_availability",
            "Add/remove a table's message filters: {table, messages? (bulk three), available}",
        )
        def message_availability(body: dict[str, Any]) -> dict[str, Any]:
            messages = body.get("messages", list(BULK_MESSAGES))
            available = body.get("available")
            if not isinstance(messages, list) or not isinstance(available, bool):
                raise AdminError(
                    'expected {"table": "<logical name>", "messages"?: [...], "available": bool}'
                )
            try:
                set_message_availability(
                    self.org, str(body.get("table", "")), [str(m) for m in messages], available=available
                )
            except LookupError as exc:
                raise AdminError(str(exc)) from exc
            return {"table": body.get("table"), "messages": messages, "available": available}

        def privilege(body: dict[str, Any]) -> str:
            table = self.org.table(str(body.get("table", "")))
            kind = body.get("privilege")
            if table is None or kind not in PRIVILEGE_TYPES:
                kinds = ", ".join(PRIVILEGE_TYPES)
                raise AdminError(f'expected {{"table": "<logical name>", "privilege": one of {kinds}}}')
            return privilege_name(str(kind), table)

        @self.admin.action("revoke_privilege", "Revoke a privilege of the connector role: {table, privilege}")
        def revoke(body: dict[str, Any]) -> dict[str, Any]:
            name = privilege(body)
            self.org.security.set_privilege(name, None)
            return {"revoked": name}

        @self.admin.action("grant_privilege", "Grant the connector role one: {table, privilege, depth?}")
        def grant(body: dict[str, Any]) -> dict[str, Any]:
            name = privilege(body)
            try:
                self.org.security.set_privilege(name, str(body.get("depth", "Global")))
            except ValueError as exc:
                raise AdminError(str(exc)) from exc
            return {"granted": name}

        @self.admin.action("privileges", "Security roles, or one application user's privileges: {app_id?}")
        def privileges(body: dict[str, Any]) -> dict[str, Any]:
            if "app_id" not in body:
                return dict(self.org.security.describe())
            caller = application_user(self.org, str(body["app_id"]))
            if caller is None:
                raise AdminError(f"no application user for app_id {body['app_id']!r}")
            return {"privileges": self.org.security.user_privileges(caller.user_id)}

        @self.admin.action("set_sales_rules", "Sales behaviour no document settles: {reopen_closed_orders?}")
        def set_sales_rules(body: dict[str, Any]) -> dict[str, Any]:
            rules = self.org.sales_rules
            reopen = body.get("reopen_closed_orders", rules.reopen_closed_orders)
            if not isinstance(reopen, bool):
                raise AdminError('expected {"reopen_closed_orders": true | false}')
            rules.reopen_closed_orders = reopen
            return asdict(rules)

        @self.admin.action("add_user", "A user of the organization: {name, email} -> {systemuserid}")
        def add_user_row(body: dict[str, Any]) -> dict[str, Any]:
            name, email = body.get("name"), body.get("email")
            if not isinstance(name, str) or not isinstance(email, str):
                raise AdminError('expected {"name": "<first last>", "email": "<address>"}')
            first, _, last = name.partition(" ")
            table = self.org.table("systemuser")
            assert table is not None
            row = self.org.insert_system_row(
                table,
                {
                    "firstname": first,
                    "lastname": last or first,
                    "domainname": email,
                    "internalemailaddress": email,
                    "businessunitid": Ref("businessunit", self.org.business_unit_id),
                },
            )
            return {"systemuserid": str(row["systemuserid"])}

        @self.admin.action("set_dop_hint", "The x-ms-dop-hint announced: {value} (a positive integer)")
        def set_dop_hint(body: dict[str, Any]) -> dict[str, Any]:
            value = body.get("value")
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise AdminError('expected {"value": <a positive integer>}')
            self.dop_hint = value
            return {"dop_hint": value}

        @self.admin.action("drain_webhooks", "Wait for queued webhook deliveries: {timeout?} -> {drained}")
        def drain(body: dict[str, Any]) -> dict[str, Any]:
            timeout = body.get("timeout", 30)
            if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
                raise AdminError('expected {"timeout": <seconds>}')
            drained = self.drain_webhooks(float(timeout))
            return {"drained": drained, "pending": self.webhooks.pending if self.webhooks else 0}

        @self.admin.action("webhook_deliveries", "Webhook calls since the reset: {} -> {deliveries}")
        def deliveries(body: dict[str, Any]) -> dict[str, Any]:
            records = list(self.webhooks.deliveries) if self.webhooks else []
            return {"deliveries": [record.to_json() for record in records]}

        @self.admin.on_reset
        def fresh() -> None:
            self.dop_hint = self.settings.dop_hint
            self.org = self._new_org()
            self.protection = self._new_protection(self.settings.limits, self.settings.charge_ms)

    # -- requests --------------------------------------------------------------------------------------

    def _audience(self, request: Request) -> str:
        return self.settings.org_url or f"{request.url.scheme}://{request.url.netloc}"

    def _authenticate(self, request: Request) -> Caller:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        audience = self._audience(request)
        challenge = {
            "WWW-Authenticate": f"Bearer authorization_uri=https://login.microsoftonline.com/"
            f"{self.settings.tenant_id or 'common'}/oauth2/authorize, resource_id={audience}"
        }
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.WebApiError(401, "", "", challenge)
        try:
            claims = validate(
                token.strip(), audience, now=self.clock.now(), tenant_id=self.settings.tenant_id
            )
        except TokenError as exc:
            raise errors.WebApiError(401, "", "", challenge) from exc
        caller = application_user(self.org, claims.app_id)
        if caller is None:
            raise errors.WebApiError(403, "0x80072560", "The user is not a member of the organization.")
        return caller

    async def _handle(self, request: Request) -> Response:
        response = await self._answer(request)
        response.headers[DOP_HINT_HEADER] = str(self.dop_hint)
        return response

    async def _answer(self, request: Request) -> Response:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        query = request.scope.get("query_string", b"")
        length = (
            len(self._audience(request)) + len(raw_path.split(b"?", 1)[0]) + (len(query) + 1 if query else 0)
        )
        if length > MAX_URL_LENGTH:
            return error_response(url_too_long(length, MAX_URL_LENGTH))
        version = request.path_params["version"]
        if version not in API_VERSIONS:
            return error_response(errors.resource_not_found(version))
        try:
            caller = self._authenticate(request)
        except errors.WebApiError as exc:
            if exc.status == 401:
                return empty_response(401, exc.headers)
            return error_response(exc)
        guard = self.protection
        try:
            ticket = guard.admit(caller.user_id) if guard else None
        except errors.WebApiError as exc:
            return error_response(exc)
        started = time.perf_counter()
        try:
            if self.settings.latency_seconds:
                await asyncio.sleep(self.settings.latency_seconds)
            call = Call(
                method=request.method,
                path=request.path_params["path"],
                params=dict(request.query_params),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=await request.body(),
                caller=caller,
                root=f"{self._audience(request)}/api/data/{version}/",
            )
            # In a worker thread: a request that waits (a synchronous webhook call) must not stop the
            # event loop from serving others, among them the webhook endpoint reading back.
            response = await run_in_threadpool(self.api.handle, call)
        finally:
            if guard is not None and ticket is not None:
                guard.release(ticket, (time.perf_counter() - started) * 1000)
        if guard is not None:
            response.headers.update(guard.remaining(caller.user_id))
        return response
