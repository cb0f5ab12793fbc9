"""``IfsClient``: reads and writes IFS Cloud projections over an ``httpx.Client``.

Reads stream page by page (``iter_rows``), so an entity set is never held in memory: with a page size the
client asks ``$top``/``$skip`` (what a live tenant answered in the recorded exchange) and follows
``@odata.nextLink`` whenever IFS sends one, absolute or relative to the projection root; with page size 0 it
relies on server-driven paging alone. Single rows come with their ETag; updates and bound actions send it in
``If-Match``, and a stale one raises ``IfsConflictError`` (``modify`` re-reads and re-applies).

Every request goes through the one ``RetryPolicy`` (shared.platform.retry): reads and ETag-guarded updates
and actions are retried on 429, 5xx, timeouts and connection errors; creates, actions with ``If-Match: *``
and batches that write only when nothing reached IFS. A write whose outcome the client cannot know raises
``IfsWriteOutcomeUnknownError`` (``IfsCreateOutcomeUnknownError`` for creates: look the row up with
``find_by`` before creating again): a timeout or 5xx on a write that is not retried, or a 412 on a retry
after an earlier try may have been applied (that try changed the ETag the retry still sends).
A 401 fetches a new token once and repeats the request. Each call has one total budget
(``RetryPolicy.budget_seconds``, ``CALL_BUDGET_SECONDS``): when 429s outlast it, ``IfsThrottledError``
carries the last ``Retry-After`` so the worker can re-enqueue the work with that delay.

Every request says ``X-Ifs-Time-Zone-Aware-Request: true`` unless the client is built with
``time_zone_aware=False``: then IFS reads the ``…Z`` timestamps of filters in its server or site time zone
(docs/ifs-api.md, "Time zones").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol
from urllib.parse import urljoin, urlsplit

import httpx

from shared.config import IfsSettings
from shared.ifs import batch as batch_ops
from shared.ifs.batch import Atomic, BatchItem, BatchOutcome, OperationResult
from shared.ifs.entities import EntitySet, Key, Navigation
from shared.ifs.errors import (
    IfsConflictError,
    IfsCreateOutcomeUnknownError,
    IfsDuplicateRowsError,
    IfsError,
    IfsInvalidRequestError,
    IfsProtocolError,
    IfsServerError,
    IfsUnavailableError,
    IfsWriteOutcomeUnknownError,
    error_from_response,
)
from shared.ifs.query import (
    TIME_ZONE_AWARE_HEADER,
    Filter,
    Query,
    Scalar,
    any_of,
    check_name,
    encode_query,
    eq,
    matching,
)
from shared.platform.odata_batch import (
    BatchFormatError,
    BatchResponse,
    ChangeSet,
    decode_batch_response,
    encode_batch_request,
)
from shared.platform.retry import REFUSED_LOCALLY, RetryPolicy, may_have_run, request_timeout_seconds

# The longest URL a read of many keys builds. IFS documents no limit, but the proxies in front of it buffer
# about 8 KB of request line (the simulator refuses longer URLs with 414), so stay safely under that.
DEFAULT_MAX_URL_LENGTH = 7500
# $skip value assumed while measuring a read's URL: as long as any skip a chunk of keys can need.
_SKIP_RESERVE = 9_999_999


class TokenSource(Protocol):
    """What the client needs from a token provider (``IfsTokenProvider`` satisfies it)."""

    def token(self) -> str:
        """A token that should still be valid."""
        ...

    def renew(self, rejected: str) -> str:
        """A new token after ``rejected`` was refused with 401."""
        ...


class RowWithEtag(NamedTuple):
    """One row as IFS returned it, and its ETag (``None`` only if IFS sent none)."""

    row: dict[str, Any]
    etag: str | None


@dataclass(frozen=True)
class _Write:
    """What a writing request does: the words of its outcome-unknown error, and whether it creates rows."""

    what: str  # "create in CustomerOrderSet", "action CustomerOrder_ReleaseOrder on …", "$batch of …"
    advice: str  # what the caller should do before writing again
    creates: bool = False

    def unknown(self, reason: str, *, method: str, url: str, cause: IfsError | None = None) -> IfsError:
        kind = IfsCreateOutcomeUnknownError if self.creates else IfsWriteOutcomeUnknownError
        return kind(
            f"the {self.what} {reason}; {self.advice}",
            status=cause.status if cause else None,
            code=cause.code if cause else None,
            details=cause.details if cause else (),
            method=method,
            url=url,
        )


class IfsClient:
    """Reads and writes IFS projections; entity names come from configuration (``IfsSettings.entities``)."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        api_root: str,
        tokens: TokenSource,
        retry: RetryPolicy | None = None,
        page_size: int = 1000,
        time_zone_aware: bool = True,
        max_url_length: int = DEFAULT_MAX_URL_LENGTH,
    ) -> None:
        if max_url_length < 1:
            raise ValueError("max_url_length must be positive")
        self._http = http
        self._max_url_length = max_url_length
        self._root = api_root if api_root.endswith("/") else api_root + "/"
        self._origin = _origin(self._root)
        self._tokens = tokens
        self._retry = retry or RetryPolicy()
        self._retry.check_budget(request_timeout_seconds(http), "the IFS client's request timeout")
        self._page_size = page_size
        self._headers = {"Accept": "application/json"}
        if time_zone_aware:
            self._headers[TIME_ZONE_AWARE_HEADER] = "true"
        self.requests_sent = 0  # every attempt that went out, retries included (diagnostics, benchmarks)

    @classmethod
    def from_settings(
        cls,
        http: httpx.Client,
        settings: IfsSettings,
        tokens: TokenSource,
        *,
        retry: RetryPolicy | None = None,
    ) -> IfsClient:
        """A client for the tenant in ``settings`` (each call's budget is ``CALL_BUDGET_SECONDS``)."""
        return cls(
            http,
            api_root=settings.api_root,
            tokens=tokens,
            retry=retry or RetryPolicy(budget_seconds=settings.call_budget_seconds),
            page_size=settings.page_size,
            time_zone_aware=settings.time_zone_aware,
        )

    # ---- reads ---------------------------------------------------------------------------------

    def iter_rows(
        self, entity: EntitySet, query: Query | None = None, *, page_size: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every row of ``entity`` matching ``query``, page by page (``query.top`` caps the total).

        ``$skip`` paging orders by the key properties (after ``query.orderby``, if any, so equal values
        cannot trade places between pages); without configured keys it is refused with ValueError unless
        one request reads everything (``query.top`` within the page size, no ``skip``) or the page size is 0
        (server-driven paging, where the caller's ``$orderby`` is sent as given).
        """
        return self._iter(entity.path, query or Query(), entity.keys, page_size, str(entity))

    def iter_children(
        self,
        entity: EntitySet,
        key: Key,
        navigation: Navigation,
        query: Query | None = None,
        *,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The rows of a collection navigation of one row, e.g. an order's ``OrderLinesArray``."""
        path = f"{entity.row_path(key)}/{navigation.name}"
        return self._iter(path, query or Query(), navigation.keys, page_size, f"{entity.name}/{navigation}")

    def get(self, entity: EntitySet, key: Key, *, select: Iterable[str] = ()) -> RowWithEtag:
        """One row by key, with its ETag; ``IfsNotFoundError`` when it does not exist."""
        url = self._url(entity.row_path(key), Query(select=tuple(select)).query_string())
        response = self._send("GET", url, idempotent=True)
        row = self._document(response)
        return RowWithEtag(row, _etag(row, response))

    def get_many(
        self,
        entity: EntitySet,
        keys: Iterable[Key],
        *,
        select: Iterable[str] = (),
        chunk_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The rows with the given keys (missing ones are simply absent), as many keys per request as fit.

        Keys are grouped so that every request's URL, percent-encoded and with its paging options, stays
        within ``max_url_length`` (the constructor's); ``chunk_size`` additionally caps the keys per request.
        ValueError when a single key alone would make a longer URL.
        """
        chosen = tuple(select)
        filters = (entity.filter_for(key) for key in keys)
        for group in self._url_sized_groups(entity, chosen, filters, chunk_size):
            yield from self.iter_rows(entity, Query(select=chosen, filter=any_of(group)))

    def iter_matching(
        self,
        entity: EntitySet,
        name: str,
        values: Iterable[Scalar],
        *,
        select: Iterable[str] = (),
        expand: Iterable[str] = (),
    ) -> Iterator[dict[str, Any]]:
        """The rows whose property ``name`` is one of ``values`` (every sales-part row of many catalogs).

        Grouped as ``get_many`` groups keys: an ``or`` of ``eq`` per request, each URL within
        ``max_url_length``. ``expand`` names one-to-one references to read along (``CustomerNoRef``).
        """
        chosen, expanded = tuple(select), tuple(expand)
        filters = (eq(name, value) for value in values)
        for group in self._url_sized_groups(entity, chosen, filters, None, expanded):
            yield from self.iter_rows(entity, Query(select=chosen, expand=expanded, filter=any_of(group)))

    def follow(self, link: str) -> Iterator[dict[str, Any]]:
        """The rows of an ``@odata.nextLink`` IFS sent (e.g. inside a ``$batch`` answer) and of its chain."""
        return self._follow(self._resolve_next(link))

    def find_by(
        self, entity: EntitySet, values: Mapping[str, Scalar], *, select: Iterable[str] = ()
    ) -> list[dict[str, Any]]:
        """The rows whose properties equal ``values``: e.g. an order by ``CustomerPoNo`` (create dedupe)."""
        return list(self.iter_rows(entity, Query(select=tuple(select), filter=matching(values))))

    def metadata(self, projection: str) -> str:
        """The projection's ``$metadata`` (EDMX XML): what its entity types, keys and enums really are."""
        url = self._url(f"{check_name(projection)}.svc/$metadata")
        response = self._send("GET", url, idempotent=True, headers={"Accept": "application/xml"})
        return response.text

    # ---- writes --------------------------------------------------------------------------------

    def create(self, entity: EntitySet, body: Mapping[str, Any]) -> RowWithEtag:
        """POST a new row; returns it as IFS stored it (server-assigned keys such as ``OrderNo`` included)."""
        return self._create(entity.path, body, entity.name)

    def create_unique(
        self, entity: EntitySet, body: Mapping[str, Any], *, unique_on: Iterable[str]
    ) -> tuple[RowWithEtag, bool]:
        """Create a row unless one with the same ``unique_on`` values exists; returns (row, created).

        The single-worker primitive: the flows create through ``shared.sync.ifs_create.create_once``, which
        adds the lease that makes a create exactly-once across workers and redeliveries.

        IFS has no idempotency key, so the row is looked up first (``CustomerPoNo`` carrying the Dynamics
        order number, say), and looked up again when the create's outcome is unknown (timeout, dropped
        connection, 5xx). If that lookup finds nothing, the ``IfsCreateOutcomeUnknownError`` propagates.
        Calling this again later is *not* safe by itself: IFS may commit the lost create after both
        lookups (a slow commit behind a gateway timeout), and a second POST then makes a second row.
        More than one matching row raises ``IfsDuplicateRowsError`` with every key; none is picked.

        Every ``unique_on`` value must be present and not empty (``X eq null`` would match unrelated rows).
        Look-up-then-create is not atomic either: two workers creating the same row at the same moment can
        both find nothing and both create.
        """
        names = tuple(unique_on)
        if not names:
            raise ValueError("unique_on must name at least one property")
        empty = [name for name in names if _is_empty(body.get(name))]
        if empty:
            raise ValueError(f"unique_on values must be present and not empty; {empty} are not")
        match = {name: body[name] for name in names}
        existing = self._unique_row(entity, match)
        if existing is not None:
            return existing, False
        try:
            return self.create(entity, body), True
        except IfsCreateOutcomeUnknownError:
            stored = self._unique_row(entity, match)
            if stored is None:
                raise
            return stored, True

    def _unique_row(self, entity: EntitySet, match: Mapping[str, Any]) -> RowWithEtag | None:
        rows = self.find_by(entity, match)
        if len(rows) > 1:
            raise IfsDuplicateRowsError(entity.name, dict(match), [entity.key_of(row) for row in rows])
        if not rows:
            return None
        etag = rows[0].get("@odata.etag")
        return RowWithEtag(rows[0], etag if isinstance(etag, str) else None)

    def create_child(
        self, entity: EntitySet, key: Key, navigation: Navigation, body: Mapping[str, Any]
    ) -> RowWithEtag:
        """POST a new row through a collection navigation, e.g. a line into an order's ``OrderLinesArray``."""
        return self._create(
            f"{entity.row_path(key)}/{navigation.name}", body, f"{entity.name} {dict(key)}/{navigation.name}"
        )

    def update(self, entity: EntitySet, key: Key, changes: Mapping[str, Any], etag: str) -> RowWithEtag:
        """PATCH ``changes`` if the row still has ``etag`` (``"*"``: no check); else ``IfsConflictError``.

        An ETag is required on purpose: IFS treats a PATCH without ``If-Match`` as an upsert, which would
        create a row that was meant to exist.
        """
        if not etag:
            raise ValueError("update needs the row's ETag (or '*' to skip the check)")
        headers = {"If-Match": etag, "Prefer": "return=representation"}
        response = self._send(
            "PATCH",
            self._url(entity.row_path(key)),
            json_body=dict(changes),
            headers=headers,
            idempotent=True,
            write=_Write(f"update of {entity.name} {dict(key)}", "read the row before writing again"),
        )
        if response.status_code == 204:
            return RowWithEtag({}, response.headers.get("ETag"))
        row = self._document(response)
        return RowWithEtag(row, _etag(row, response))

    def modify(
        self,
        entity: EntitySet,
        key: Key,
        change: Callable[[dict[str, Any]], Mapping[str, Any] | None],
        *,
        attempts: int = 3,
    ) -> RowWithEtag:
        """Read the row, compute changes with ``change`` and PATCH them; on a conflict, read and try again.

        ``change`` returns the properties to set, or nothing when the row already is as wanted (then no
        write happens). After ``attempts`` conflicts the last ``IfsConflictError`` propagates. An update
        whose outcome is unknown is handled the same way: the re-read row shows whether it was applied.
        """
        for attempt in range(1, attempts + 1):
            current = self.get(entity, key)
            changes = change(current.row)
            if not changes:
                return current
            if current.etag is None:
                raise IfsProtocolError(f"{entity.name} row {dict(key)} came without an ETag")
            try:
                return self.update(entity, key, changes, current.etag)
            except (IfsConflictError, IfsWriteOutcomeUnknownError):
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def call_action(
        self,
        entity: EntitySet,
        key: Key,
        action: str,
        params: Mapping[str, Any] | None = None,
        *,
        etag: str,
    ) -> Any:
        """Call a bound action such as ``CustomerOrder_ReleaseOrder``; returns its ``value`` (None for 204).

        With a real ETag the call is retried like a guarded update: if an earlier try went through, the
        ETag no longer matches and IFS refuses the repeat with 412 instead of acting twice, which the client
        reports as ``IfsWriteOutcomeUnknownError`` (not a conflict) when an earlier try may have reached IFS.
        With ``"*"`` it is retried only when nothing reached IFS; a timeout or 5xx is an unknown outcome.
        """
        path = f"{entity.row_path(key)}/{entity.qualified(action)}"
        response = self._send(
            "POST",
            self._url(path),
            json_body=dict(params or {}),
            headers={"If-Match": etag},
            idempotent=etag != "*",
            write=_Write(
                f"action {action} on {entity.name} {dict(key)}", "read the row before calling it again"
            ),
        )
        if response.status_code == 204 or not response.content:
            return None
        document = self._document(response)
        return document.get("value", document)

    # ---- $batch --------------------------------------------------------------------------------

    def batch(self, items: Sequence[BatchItem], *, continue_on_error: bool = False) -> list[BatchOutcome]:
        """Send operations and change sets (``Atomic``) of one projection in one ``$batch`` request.

        Returns one outcome per item: an ``OperationResult`` for an operation, a list of them for a change
        set that succeeded, or the single failed ``OperationResult`` of a change set IFS rolled back.
        Without ``continue_on_error`` IFS stops at the first failure and later items get no outcome.

        A batch of reads only is retried like a read. One that writes is sent again only when nothing
        reached IFS: after a timeout or 5xx it raises ``IfsWriteOutcomeUnknownError``
        (``IfsCreateOutcomeUnknownError`` when it creates rows), since its parts may have been applied.
        """
        operations = [
            op for item in items for op in (item.operations if isinstance(item, Atomic) else (item,))
        ]
        projections = {op.projection for op in operations}
        if len(projections) != 1:
            raise ValueError(f"a batch talks to exactly one projection, not {sorted(projections)}")
        requests = [
            ChangeSet([op.to_request() for op in item.operations])
            if isinstance(item, Atomic)
            else item.to_request()
            for item in items
        ]
        content_type, body = encode_batch_request(requests)
        headers = {"Content-Type": content_type, "Accept": "multipart/mixed"}
        if continue_on_error:
            headers["Prefer"] = "odata.continue-on-error"
        response = self._send(
            "POST",
            self._url(f"{projections.pop()}.svc/$batch"),
            content=body,
            headers=headers,
            idempotent=all(op.is_read for op in operations),
            write=_Write(
                f"$batch of {len(operations)} operations",
                "read what it writes before sending it again",
                creates=any(op.creates for op in operations),
            ),
        )
        try:
            decoded = decode_batch_response(response.headers.get("Content-Type", ""), response.content)
        except BatchFormatError as exc:
            raise IfsProtocolError(f"unreadable $batch response: {exc}", status=response.status_code) from exc
        return [
            OperationResult.from_response(part)
            if isinstance(part, BatchResponse)
            else [OperationResult.from_response(p) for p in part]
            for part in decoded
        ]

    def create_with_children(
        self,
        entity: EntitySet,
        body: Mapping[str, Any],
        navigation: Navigation,
        children: Sequence[Mapping[str, Any]],
    ) -> tuple[RowWithEtag, list[RowWithEtag]]:
        """Create a row and its children (an order and its lines) in one change set: all or nothing.

        A failure raises the typed error of the operation IFS refused; nothing was stored. A timeout raises
        ``IfsCreateOutcomeUnknownError`` like any create: look the header up before trying again.
        """
        operations = [batch_ops.create(entity, body, content_id="1")]
        operations += [
            batch_ops.create_under(entity.projection, "$1", navigation, child, content_id=str(index))
            for index, child in enumerate(children, start=2)
        ]
        [outcome] = self.batch([Atomic(tuple(operations))])
        if isinstance(outcome, OperationResult):
            raise outcome.error("POST", f"{entity.path} (change set)")
        rows = [RowWithEtag(result.body or {}, result.etag) for result in outcome]
        return rows[0], rows[1:]

    # ---- plumbing ------------------------------------------------------------------------------

    def _create(self, path: str, body: Mapping[str, Any], where: str) -> RowWithEtag:
        response = self._send(
            "POST",
            self._url(path),
            json_body=dict(body),
            headers={"Prefer": "return=representation"},
            idempotent=False,
            write=_Write(f"create in {where}", "look it up before creating again", creates=True),
        )
        try:
            row = self._document(response)
        except IfsProtocolError as exc:
            # IFS answered success, so the row exists: reporting a refusal would invite a second create.
            raise IfsCreateOutcomeUnknownError(
                f"the create in {where} succeeded ({response.status_code}) but its answer is unreadable; "
                "look it up",
                status=response.status_code,
                method="POST",
                url=str(response.request.url),
            ) from exc
        return RowWithEtag(row, _etag(row, response))

    def _iter(
        self, path: str, query: Query, keys: tuple[str, ...], page_size: int | None, where: str
    ) -> Iterator[dict[str, Any]]:
        size = self._page_size if page_size is None else page_size
        if size <= 0:
            return self._follow(self._url(path, query.query_string()))
        if keys:
            # $skip paging needs a total order: Oracle gives none without ORDER BY, nor among equal values.
            sorted_by = {item.partition(" ")[0] for item in query.orderby}
            query = query.with_(orderby=(*query.orderby, *(k for k in keys if k not in sorted_by)))
        elif query.top is None or query.top > size or query.skip:
            raise ValueError(
                f"$skip paging of {where} needs its key properties to order by: configure them as "
                "Name(Key,…), or read with page size 0 (server-driven paging)"
            )
        return self._skip_pages(path, query, size)

    def _skip_pages(self, path: str, ordered: Query, size: int) -> Iterator[dict[str, Any]]:
        limit, offset, taken = ordered.top, ordered.skip or 0, 0
        while limit is None or taken < limit:
            top = size if limit is None else min(size, limit - taken)
            page = ordered.with_(top=top, skip=(offset + taken) or None)
            received = 0
            for row in self._follow(self._url(path, page.query_string())):
                received += 1
                yield row
            taken += received
            if received < top:
                return

    def _follow(self, url: str) -> Iterator[dict[str, Any]]:
        """The rows of the page at ``url`` and of every page its ``@odata.nextLink`` chain leads to."""
        next_url: str | None = url
        while next_url is not None:
            document = self._document(self._send("GET", next_url, idempotent=True))
            rows = document.get("value")
            if not isinstance(rows, list):
                raise IfsProtocolError("collection response without a 'value' list", url=next_url)
            next_link = document.get("@odata.nextLink")
            del document  # only the rows are kept while they are handed out
            yield from rows
            next_url = self._resolve_next(next_link) if next_link else None

    def _resolve_next(self, link: Any) -> str:
        if not isinstance(link, str):
            raise IfsProtocolError(f"@odata.nextLink is not a string: {link!r}")
        # Relative links are relative to …/projection/v1/ (IFS sends "Svc.svc/Set?$skiptoken=…").
        resolved = urljoin(self._root, link)
        if _origin(resolved) != self._origin:
            # Never send the bearer token to another host.
            raise IfsProtocolError(f"@odata.nextLink leaves the tenant: {link!r}")
        return resolved

    def _url(self, path: str, query_string: str = "") -> str:
        return self._root + path + (f"?{query_string}" if query_string else "")

    def _read_url_length(
        self, entity: EntitySet, select: tuple[str, ...], filters: list[Filter], expand: tuple[str, ...] = ()
    ) -> int:
        """The length of the longest URL ``iter_rows`` builds for ``filters`` (any page's ``$skip``)."""
        query = Query(select=select, expand=expand, filter=any_of(filters))
        if self._page_size > 0 and entity.keys:
            query = query.with_(orderby=entity.keys, top=self._page_size, skip=_SKIP_RESERVE)
        return len(self._url(entity.path, query.query_string()))

    def _url_sized_groups(
        self,
        entity: EntitySet,
        select: tuple[str, ...],
        filters: Iterable[Filter],
        most: int | None,
        expand: tuple[str, ...] = (),
    ) -> Iterator[list[Filter]]:
        """Groups of key filters whose ``or`` chain keeps the read's encoded URL within the budget."""
        group: list[Filter] = []
        length = 0
        for item in filters:
            # Appending " or (<filter>)" adds its encoded length; the first item gains its parentheses.
            added = len(encode_query([("", f" or ({item.text})")])) - 1 + (2 if len(group) == 1 else 0)
            if group and (length + added > self._max_url_length or (most is not None and len(group) >= most)):
                yield group
                group = []
            if not group:
                length = self._read_url_length(entity, select, [item], expand)
                if length > self._max_url_length:
                    raise ValueError(
                        f"one key of {entity.name} alone makes a URL of {length} characters, over the "
                        f"budget of {self._max_url_length}"
                    )
            else:
                length += added
            group.append(item)
        if group:
            yield group

    def _send(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool,
        write: _Write | None = None,
        json_body: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = {**self._headers, **(headers or {})}  # callers may override Accept
        request = self._http.build_request(method, url, json=json_body, content=content, headers=all_headers)
        used = ""
        reached = False  # whether a try may have been executed by IFS (timeout, dropped connection, 5xx)
        deadline = self._retry.deadline()  # one budget for the whole call, the resend after a 401 included

        def authorize(_attempt: int) -> None:
            nonlocal used
            used = self._tokens.token()
            request.headers["Authorization"] = f"Bearer {used}"
            self.requests_sent += 1

        def note(outcome: httpx.Response | Exception) -> None:
            nonlocal reached
            reached = reached or may_have_run(outcome)

        def send() -> httpx.Response:
            return self._retry.send(
                self._http,
                request,
                idempotent=idempotent,
                on_attempt=authorize,
                on_outcome=note,
                deadline=deadline,
            )

        try:
            response = send()
            if response.status_code == 401:
                # The cached token was revoked or expired early: fetch a new one, once.
                response.close()
                self._tokens.renew(used)
                response = send()
        except httpx.TransportError as exc:
            if isinstance(exc, REFUSED_LOCALLY) and not reached:
                raise IfsInvalidRequestError(
                    f"the request was not sent ({type(exc).__name__}: {exc})", method=method, url=url
                ) from exc
            if write is not None and reached:
                raise write.unknown(
                    f"may have reached IFS ({type(exc).__name__}: {exc})", method=method, url=url
                ) from exc
            raise IfsUnavailableError(f"{type(exc).__name__}: {exc}", method=method, url=url) from exc
        if response.status_code >= 400:
            error = error_from_response(response)
            if write is not None and isinstance(error, IfsServerError):
                raise write.unknown(
                    f"failed with {response.status_code} and may have been applied",
                    method=method,
                    url=url,
                    cause=error,
                ) from error
            if write is not None and reached and isinstance(error, IfsConflictError):
                # The earlier try may have been applied and changed the ETag this retry still sends.
                raise write.unknown(
                    f"was refused with {response.status_code} after an earlier try may have been applied "
                    "(timeout, dropped connection or 5xx)",
                    method=method,
                    url=url,
                    cause=error,
                ) from error
            raise error
        return response

    @staticmethod
    def _document(response: httpx.Response) -> dict[str, Any]:
        try:
            document = response.json()
        except ValueError as exc:
            raise IfsProtocolError(
                f"response is not JSON: {response.text[:200]!r}",
                status=response.status_code,
                method=response.request.method,
                url=str(response.request.url),
            ) from exc
        if not isinstance(document, dict):
            raise IfsProtocolError("response is not a JSON object", status=response.status_code)
        return document


def _etag(row: Mapping[str, Any], response: httpx.Response) -> str | None:
    value = row.get("@odata.etag")
    return value if isinstance(value, str) else response.headers.get("ETag")


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


__all__ = ["IfsClient", "IfsError", "RowWithEtag", "TokenSource", "encode_query"]
