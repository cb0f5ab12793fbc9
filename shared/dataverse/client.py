"""DataverseClient: the Dataverse Web API over ``httpx.Client``, with Entra tokens and the retry policy.

One place builds every request (``send``): the URL under ``<environment>/api/data/v9.2/``, the headers
every Web API request should carry (``Accept``, ``OData-MaxVersion``, ``OData-Version``, ``If-None-Match:
null`` unless a condition is given), ``Prefer`` preferences, a bearer token for ``<environment>/.default``
from any azure-identity ``TokenCredential``; it sends through ``RetryPolicy`` and turns error responses
into typed ``DataverseError``s. The record operations on top:

- ``get`` / ``query`` / ``query_page``: reads, with ``Prefer: odata.maxpagesize`` and ``@odata.nextLink``;
- ``create`` (POST), ``update`` (PATCH with ``If-Match``: never creates), ``upsert`` (PATCH by alternate key
  or GUID), ``delete``; ``who_am_i``.

Built on ``send`` in their own modules: ``batch.execute_batch`` ($batch and change sets),
``bulk.BulkUpserter`` (UpsertMultiple → $batch → single requests, per-record results) and
``changes.changes``/``change_pages`` (change tracking with delta tokens).

Retries follow docs/architecture.md, "Retries": reads, upserts, updates and deletes are idempotent and are
retried on 429, 5xx, timeouts and connection errors, honouring ``Retry-After``. A create (POST) is not
idempotent, so it is retried only when the server cannot have executed it: a connection never made, or a 429
(service protection refuses a request before running it).

The token is asked for on every attempt, so a call that waits out long ``Retry-After``s never sends a token
that expired meanwhile (the credential caches and renews it). A 401 is answered before anything runs, so
any request is sent once more with a token asked for again.

A retry after an attempt whose answer was lost (timeout, dropped connection, 5xx) may meet that attempt's
own effect. A DELETE that then finds nothing is done. A conditional write that is then refused with 412
(``If-None-Match: *`` finds the row, ``If-Match: <etag>`` finds a newer version) raises
``WriteOutcomeUnknownError`` rather than blaming another writer, and a retried upsert cannot say whether
it created the row (``created`` None).

Each call has one total budget (``RetryPolicy.budget_seconds``, ``CALL_BUDGET_SECONDS``), the resend after a
401 included: when 429s outlast it, ``ThrottledError`` carries the last ``Retry-After`` (``retry_after``) so
the worker can re-enqueue the work with that delay. A request httpx refuses to send (a header value with
CR/LF) raises ``InvalidRequestError``: nothing was sent and nothing is retried.

Absolute links (``@odata.nextLink``, delta links) are followed only under ``service_root``: the token never
goes to another host (``ForeignLinkError``).
"""

from __future__ import annotations

import json
import re
import ssl
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import httpx
from azure.core.credentials import TokenCredential

from shared.config import DataverseSettings
from shared.dataverse.errors import (
    DataverseUnavailableError,
    ForeignLinkError,
    InvalidRequestError,
    PreconditionFailedError,
    WriteOutcomeUnknownError,
    error_from_response,
)
from shared.dataverse.keys import RecordId, record_path
from shared.platform.retry import REFUSED_LOCALLY, RetryPolicy, may_have_run, request_timeout_seconds

API_VERSION = "v9.2"
# Dataverse accepts URLs up to 32 KB (32,768 characters; "Compose HTTP requests and handle errors"). A read
# of many keys stays under this, which leaves room for the $skiptoken a next page's link adds.
DEFAULT_MAX_URL_LENGTH = 30_000
NOT_EXECUTED = frozenset({429})
_ENTITY_ID = re.compile(r"\(([0-9a-fA-F-]{36})\)\s*$")
_QUERY_SAFE = "$,'()/:@*=;"
UpsertMode = Literal["upsert", "create_only", "update_only"]


@dataclass(frozen=True)
class Page:
    """One page of a query: its rows, the link to the next page (None on the last) and ``@odata.count``."""

    rows: list[dict[str, Any]]
    next_link: str | None
    count: int | None = None


@dataclass(frozen=True)
class Written:
    """The outcome of a create or upsert.

    ``entity_id`` is the ``OData-EntityId`` URL (for an upsert by key it names the key, as Dataverse
    returns it; representation responses carry none); ``id`` is the row's GUID when that URL names it
    (otherwise read the primary key from ``record``). ``created`` is known only with
    ``return_representation`` (201 vs 200) or for a POST; a plain upsert's 204 does not say.
    """

    entity_id: str
    id: uuid.UUID | None
    created: bool | None
    record: dict[str, Any] | None = None
    etag: str | None = None


@dataclass(frozen=True)
class WhoAmI:
    """The caller as Dataverse sees it (the application user)."""

    user_id: uuid.UUID
    business_unit_id: uuid.UUID
    organization_id: uuid.UUID


def _query_string(params: Mapping[str, str]) -> str:
    # OData system query options keep their literal "$"; values are percent-encoded (spaces, &, #, +).
    return "&".join(f"{name}={quote(value, safe=_QUERY_SAFE)}" for name, value in params.items())


def _in_filter(column: str, items: list[str]) -> str:
    """``Microsoft.Dynamics.CRM.In`` over JSON string items (filter-rows: double quotes keep apostrophes)."""
    return f"Microsoft.Dynamics.CRM.In(PropertyName='{column}',PropertyValues=[{','.join(items)}])"


def _prefer(*preferences: str | None) -> dict[str, str]:
    present = [p for p in preferences if p]
    return {"Prefer": ",".join(present)} if present else {}


@dataclass(frozen=True)
class Sent:
    """A response and whether an attempt before the one that produced it may have run unseen.

    After such a lost answer, a conditional write's 412 may be the echo of that earlier attempt, and a 404
    to a DELETE may mean that attempt deleted the row: callers must not blame another writer.
    """

    response: httpx.Response
    after_lost_answer: bool


class DataverseClient:
    """The Dataverse Web API of one environment (``url`` such as ``https://org.crm.dynamics.com``)."""

    def __init__(
        self,
        http: httpx.Client,
        url: str,
        credential: TokenCredential,
        *,
        retry: RetryPolicy | None = None,
        page_size: int = 500,
        api_version: str = API_VERSION,
    ) -> None:
        self._http = http
        self.url = url.rstrip("/")
        self.scope = f"{self.url}/.default"
        self.service_root = f"{self.url}/api/data/{api_version}/"
        self._credential = credential
        self._retry = retry or RetryPolicy()
        self._retry.check_budget(request_timeout_seconds(http), "the Dataverse request timeout")
        self.page_size = page_size

    @classmethod
    def from_settings(
        cls,
        settings: DataverseSettings,
        credential: TokenCredential,
        *,
        verify: ssl.SSLContext | bool = True,
        retry: RetryPolicy | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
    ) -> DataverseClient:
        """A client for the configured environment, on a new ``httpx.Client`` with the configured timeout.

        Each call's budget is ``CALL_BUDGET_SECONDS`` unless ``retry`` says otherwise; ``event_hooks`` are
        httpx's (called on every request or response the client sends or receives).
        """
        http = httpx.Client(timeout=settings.timeout_seconds, verify=verify, event_hooks=event_hooks)
        policy = retry or RetryPolicy(budget_seconds=settings.call_budget_seconds)
        return cls(http, settings.url, credential, retry=policy, page_size=settings.page_size)

    def close(self) -> None:
        """Close the underlying ``httpx.Client`` (for clients made by ``from_settings``)."""
        self._http.close()

    def __enter__(self) -> DataverseClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------------------

    def url_for(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """The absolute URL of a Web API path (``accounts(…)``), or ``path`` itself when already absolute."""
        base = path if path.startswith(("https://", "http://")) else self.service_root + path.lstrip("/")
        if params:
            base += ("&" if "?" in base else "?") + _query_string(params)
        return base

    def _within_service_root(self, url: httpx.URL) -> bool:
        root = httpx.URL(self.service_root)
        same_origin = (url.scheme, url.host, url.port) == (root.scheme, root.host, root.port)
        return same_origin and url.path.startswith(root.path)

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool,
        on_attempt: Callable[[int], None] | None = None,
        accept: Collection[int] = (),
    ) -> httpx.Response:
        """Send one Web API request through the retry policy; DataverseError for an error response.

        ``headers`` are added to (and may override) the standard ones; a 304 is returned, not raised, and
        so is any status in ``accept`` (a ``$batch`` that stopped at a failure answers 400 with the parts).
        ``path`` may be an absolute link the service returned, but only one under ``service_root``.
        """
        return self.exchange(
            method,
            path,
            params=params,
            json=json,
            content=content,
            headers=headers,
            idempotent=idempotent,
            on_attempt=on_attempt,
            accept=accept,
        ).response

    def exchange(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool,
        on_attempt: Callable[[int], None] | None = None,
        accept: Collection[int] = (),
    ) -> Sent:
        """``send``, also saying whether an earlier attempt's answer was lost (``Sent.after_lost_answer``).

        A 412 refusal after such a lost answer raises ``WriteOutcomeUnknownError``; writers that read the
        outcome of each part themselves (``$batch``) apply the same rule with ``after_lost_answer``.
        """
        request_headers = {
            "Accept": "application/json",
            "OData-MaxVersion": "4.0",
            "OData-Version": "4.0",
            "If-None-Match": "null",
        }
        if json is not None:
            request_headers["Content-Type"] = "application/json"
        request_headers.update(headers or {})
        request = self._http.build_request(
            method, self.url_for(path, params), json=json, content=content, headers=request_headers
        )
        if not self._within_service_root(request.url):
            raise ForeignLinkError(str(request.url), self.service_root)
        lost: list[bool] = []  # per attempt: whether it may have run although its answer was lost
        attempts = 0
        deadline = self._retry.deadline()  # one budget for the whole call, the resend after a 401 included

        def authorize(_attempt: int) -> None:
            nonlocal attempts
            attempts += 1
            # Asked for on every attempt: Retry-After waits can outlast a token; the credential caches it.
            request.headers["Authorization"] = f"Bearer {self._credential.get_token(self.scope).token}"
            if on_attempt is not None:
                on_attempt(attempts)

        def outcome(result: httpx.Response | Exception) -> None:
            lost.append(may_have_run(result))

        def attempt() -> httpx.Response:
            return self._retry.send(
                self._http,
                request,
                idempotent=idempotent,
                on_attempt=authorize,
                not_executed_statuses=NOT_EXECUTED,
                on_outcome=outcome,
                deadline=deadline,
            )

        try:
            response = attempt()
            if response.status_code == 401:
                # Refused before anything ran, whatever the method: once more, with a token asked for again.
                response.read()
                response.close()
                response = attempt()
        except httpx.TransportError as exc:
            if isinstance(exc, REFUSED_LOCALLY) and not any(lost):
                raise InvalidRequestError(
                    0,
                    "",
                    f"the request was not sent ({type(exc).__name__}: {exc})",
                    method=method,
                    url=str(request.url),
                ) from exc
            raise DataverseUnavailableError(
                0, "", f"{type(exc).__name__}: {exc}", method=method, url=str(request.url)
            ) from exc
        after_lost_answer = any(lost[:-1])
        if response.status_code >= 400 and response.status_code not in accept:
            response.read()
            error = error_from_response(response)
            if isinstance(error, PreconditionFailedError) and after_lost_answer:
                raise WriteOutcomeUnknownError(error) from error
            raise error
        return Sent(response, after_lost_answer)

    # -- reads -----------------------------------------------------------------------------------------

    def get(
        self,
        entity_set: str,
        record: RecordId,
        *,
        select: Iterable[str] | None = None,
        expand: str | None = None,
        if_none_match: str | None = None,
        annotations: str | None = None,
    ) -> dict[str, Any] | None:
        """One row; None only when ``if_none_match`` is given and the row is unchanged (304)."""
        params: dict[str, str] = {}
        if select:
            params["$select"] = ",".join(select)
        if expand:
            params["$expand"] = expand
        headers = _prefer(f'odata.include-annotations="{annotations}"' if annotations else None)
        if if_none_match:
            headers["If-None-Match"] = if_none_match
        response = self.send(
            "GET", record_path(entity_set, record), params=params, headers=headers, idempotent=True
        )
        if response.status_code == 304:
            return None
        body: dict[str, Any] = response.json()
        return body

    def query_page(
        self,
        entity_set_or_link: str,
        *,
        select: Iterable[str] | None = None,
        filter: str | None = None,
        orderby: str | None = None,
        expand: str | None = None,
        top: int | None = None,
        count: bool = False,
        params: Mapping[str, str] | None = None,
        page_size: int | None = None,
        annotations: str | None = None,
    ) -> Page:
        """One page of an entity set (or of an ``@odata.nextLink``, whose query is used as given)."""
        options: dict[str, str] = {}
        if not entity_set_or_link.startswith(("https://", "http://")):
            if select:
                options["$select"] = ",".join(select)
            if filter:
                options["$filter"] = filter
            if orderby:
                options["$orderby"] = orderby
            if expand:
                options["$expand"] = expand
            if top is not None:
                options["$top"] = str(top)
            if count:
                options["$count"] = "true"
            options.update(params or {})
        headers = _prefer(
            f"odata.maxpagesize={page_size or self.page_size}",
            f'odata.include-annotations="{annotations}"' if annotations else None,
        )
        response = self.send("GET", entity_set_or_link, params=options, headers=headers, idempotent=True)
        body = response.json()
        return Page(
            rows=list(body.get("value", [])),
            next_link=body.get("@odata.nextLink"),
            count=body.get("@odata.count"),
        )

    def query(
        self,
        entity_set: str,
        *,
        select: Iterable[str] | None = None,
        filter: str | None = None,
        orderby: str | None = None,
        expand: str | None = None,
        top: int | None = None,
        params: Mapping[str, str] | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every row of a query, following ``@odata.nextLink`` page by page."""
        page = self.query_page(
            entity_set,
            select=select,
            filter=filter,
            orderby=orderby,
            expand=expand,
            top=top,
            params=params,
            page_size=page_size,
        )
        while True:
            yield from page.rows
            if not page.next_link:
                return
            page = self.query_page(page.next_link, page_size=page_size)

    def get_many(
        self,
        entity_set: str,
        column: str,
        values: Iterable[str | int | uuid.UUID],
        *,
        select: Iterable[str] | None = None,
        page_size: int | None = None,
        max_url_length: int = DEFAULT_MAX_URL_LENGTH,
    ) -> Iterator[dict[str, Any]]:
        """The rows whose ``column`` holds one of ``values`` (``Microsoft.Dynamics.CRM.In``), in few reads.

        Values are grouped so that each request's URL, percent-encoded, stays within ``max_url_length``
        (never by count alone); missing values are simply absent from the result. ValueError when one value
        alone would make a longer URL.
        """
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", column):
            raise ValueError(f"column must be a logical name, got {column!r}")
        chosen = list(select) if select is not None else None
        for group in self._in_groups(entity_set, column, values, chosen, max_url_length):
            yield from self.query(
                entity_set, select=chosen, filter=_in_filter(column, group), page_size=page_size
            )

    def _in_groups(
        self,
        entity_set: str,
        column: str,
        values: Iterable[str | int | uuid.UUID],
        select: list[str] | None,
        limit: int,
    ) -> Iterator[list[str]]:
        params = {"$select": ",".join(select)} if select else {}
        empty = len(self.url_for(entity_set, {**params, "$filter": _in_filter(column, [])}))
        group: list[str] = []
        length = empty
        for value in values:
            item = json.dumps(str(value))
            # Each value adds its encoded JSON string, and a comma after the first.
            added = len(quote(item, safe=_QUERY_SAFE)) + (1 if group else 0)
            if group and length + added > limit:
                yield group
                group, length = [], empty
                added -= 1
            if empty + added > limit:
                raise ValueError(f"one value of {column} alone makes a URL longer than {limit} characters")
            group.append(item)
            length += added
        if group:
            yield group

    def who_am_i(self) -> WhoAmI:
        """The ``WhoAmI`` function: the application user's id, business unit and organization."""
        body = self.send("GET", "WhoAmI", idempotent=True).json()
        return WhoAmI(
            user_id=uuid.UUID(body["UserId"]),
            business_unit_id=uuid.UUID(body["BusinessUnitId"]),
            organization_id=uuid.UUID(body["OrganizationId"]),
        )

    # -- writes ----------------------------------------------------------------------------------------

    def create(
        self,
        entity_set: str,
        body: Mapping[str, Any],
        *,
        return_representation: bool = False,
        select: Iterable[str] | None = None,
    ) -> Written:
        """POST a new row. Not idempotent: retried only on 429 and connection failures."""
        params = {"$select": ",".join(select)} if select and return_representation else None
        response = self.send(
            "POST",
            entity_set,
            params=params,
            json=dict(body),
            headers=_prefer("return=representation" if return_representation else None),
            idempotent=False,
        )
        return self._written(response, created=True)

    def update(
        self, entity_set: str, record: RecordId, body: Mapping[str, Any], *, if_match: str = "*"
    ) -> None:
        """PATCH an existing row (``If-Match: *`` by default: a missing row is NotFoundError, not created).

        With an ETag, a stale version is ConcurrencyConflictError, or WriteOutcomeUnknownError when the
        refusal came on a retry after a lost answer (the version may have moved on by this very write).
        """
        self.send(
            "PATCH",
            record_path(entity_set, record),
            json=dict(body),
            headers={"If-Match": if_match},
            idempotent=True,
        )

    def upsert(
        self,
        entity_set: str,
        record: RecordId,
        body: Mapping[str, Any],
        *,
        mode: UpsertMode = "upsert",
        return_representation: bool = False,
        select: Iterable[str] | None = None,
    ) -> Written:
        """PATCH by alternate key (or GUID): update the row or create it.

        ``create_only`` sends ``If-None-Match: *`` (an existing row is AlreadyExistsError), ``update_only``
        sends ``If-Match: *`` (a missing row is NotFoundError). Idempotent: retried on throttling and failure;
        a create-only upsert refused on a retry after a lost answer is WriteOutcomeUnknownError.
        """
        headers = _prefer("return=representation" if return_representation else None)
        if mode == "create_only":
            headers["If-None-Match"] = "*"
        elif mode == "update_only":
            headers["If-Match"] = "*"
        params = {"$select": ",".join(select)} if select and return_representation else None
        sent = self.exchange(
            "PATCH",
            record_path(entity_set, record),
            params=params,
            json=dict(body),
            headers=headers,
            idempotent=True,
        )
        # After a lost answer, the attempt that created the row may have been the earlier one.
        created = None if sent.after_lost_answer else {201: True, 200: False}.get(sent.response.status_code)
        return self._written(sent.response, created=created)

    def delete(self, entity_set: str, record: RecordId, *, if_match: str | None = None) -> None:
        """DELETE a row; NotFoundError when it does not exist.

        A retried DELETE that finds nothing after an attempt whose answer was lost is success: that attempt
        of this same call deleted the row.
        """
        sent = self.exchange(
            "DELETE",
            record_path(entity_set, record),
            headers={"If-Match": if_match} if if_match else None,
            idempotent=True,
            accept=(404,),
        )
        if sent.response.status_code == 404 and not sent.after_lost_answer:
            raise error_from_response(sent.response)

    def _written(self, response: httpx.Response, *, created: bool | None) -> Written:
        entity_id = response.headers.get("OData-EntityId", "")
        record: dict[str, Any] | None = response.json() if response.content else None
        match = _ENTITY_ID.search(entity_id)
        row_id = uuid.UUID(match.group(1)) if match else None
        etag = response.headers.get("ETag") or (record or {}).get("@odata.etag")
        return Written(entity_id=entity_id, id=row_id, created=created, record=record, etag=etag)
