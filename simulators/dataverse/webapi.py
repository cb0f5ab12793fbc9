"""The Web API's resources over HTTP: entity sets and records, WhoAmI, and EntityDefinitions with its keys.

``WebApi.handle`` receives an authenticated, admitted request and a path under ``/api/data/v9.x/`` and
answers as Dataverse does (shapes from the upsert and conditional-operations articles' exchanges):

- ``GET <set>``: query options through the toolkit's OData engine (``$filter``, ``$select``, ``$orderby``,
  ``$top``, ``$count``), single-valued ``$expand``, ``Prefer: odata.maxpagesize`` paging with an
  ``@odata.nextLink`` carrying a ``$skiptoken``; ``$skip`` is refused, as Dataverse does.
- ``POST <set>``: create; 204 with ``OData-EntityId``, or 201 with the record for ``Prefer:
  return=representation``.
- ``GET|PATCH|DELETE <set>(<id or key>)``: retrieve (``If-None-Match`` → 304), upsert/update
  (``If-Match``/``If-None-Match``; 204 with ``OData-EntityId`` naming the URL's key, or 201/200 with the
  record), delete.
- ``GET <set>(<id or key>)/<collection navigation>`` (``accounts(…)/Account_Tasks``) and ``GET
  <set>/$count`` (a plain-text number).
- ``GET <set>`` with ``Prefer: odata.track-changes`` or a ``$deltatoken``: change tracking
  (``tracking.py``).
- ``POST <set>/Microsoft.Dynamics.CRM.CreateMultiple|UpdateMultiple|UpsertMultiple`` (``bulk.py``) and
  ``POST $batch`` (``batch.py``).
- ``GET systemusers(<id>)/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()``: the user's privileges
  (``security.py``).
- ``GET WhoAmI``; the metadata resources (``EntityDefinitions``, ``RelationshipDefinitions``,
  ``RetrieveMetadataChanges``, ``CreateEntities``, ``ReactivateEntityKey``) are ``metadata_api.py``'s.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from simulators.common.odata import Dialect, ODataError, Query, apply, parse_query, resolve_nested
from simulators.dataverse import bulk, errors, query_functions, query_options, tracking
from simulators.dataverse.actions import ACTIONS, ReturnedEntity
from simulators.dataverse.batch import BatchProcessor
from simulators.dataverse.bulk_delete import BulkDeleteJobs
from simulators.dataverse.keys import Locator, parse_locator
from simulators.dataverse.metadata_api import MetadataApi, MetadataCall
from simulators.dataverse.records import Caller, Organization, etag
from simulators.dataverse.render import (
    Annotations,
    Expansion,
    context_fragment,
    parse_expand,
    render_row,
)
from simulators.dataverse.store import Ref, Row
from simulators.dataverse.tables import CollectionNavigation, Table

JSON_TYPE = "application/json; odata.metadata=minimal"
DEFAULT_PAGE_SIZE = 5000
_MAX_PAGE_SIZE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)
_REPRESENTATION = re.compile(r"return\s*=\s*representation", re.IGNORECASE)
_SKIPTOKEN_OFFSET = re.compile(r'offset="(\d+)"')
_SKIPTOKEN_DELTA = re.compile(r'deltatoken="([^"]+)"')
_QUERY_SAFE = "$,'()/:@=*;"
_METADATA_RESOURCES = frozenset(
    {
        "EntityDefinitions",
        "RelationshipDefinitions",
        "RetrieveMetadataChanges",
        "CreateEntities",
        "ReactivateEntityKey",
    }
)


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response with the Web API's content type and OData-Version."""
    return Response(
        json.dumps(body),
        status_code=status,
        headers={"Content-Type": JSON_TYPE, "OData-Version": "4.0", **(headers or {})},
    )


def empty_response(status: int = 204, headers: Mapping[str, str] | None = None) -> Response:
    """A response without a body (204, 304)."""
    return Response(status_code=status, headers={"OData-Version": "4.0", **(headers or {})})


def error_response(error: errors.WebApiError) -> Response:
    """The error body in the documented shape."""
    return json_response(error.body(), error.status, error.headers)


@dataclass(frozen=True)
class Call:
    """One request as the resource handlers see it."""

    method: str
    path: str
    params: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    caller: Caller
    root: str  # https://host/api/data/v9.2/

    @property
    def prefer(self) -> str:
        """The Prefer header ('' when absent)."""
        return self.headers.get("prefer", "")

    @property
    def wants_representation(self) -> bool:
        """Prefer: return=representation."""
        return bool(_REPRESENTATION.search(self.prefer))

    def json(self) -> Any:
        """The parsed JSON body; WebApiError 400 when it is not JSON."""
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise errors.bad_request(f"The request body is not valid JSON: {exc}.") from exc


def split_segment(path: str) -> tuple[str, str | None, str]:
    """``name(locator)/rest`` → (name, locator or None, rest); quotes inside the parentheses are respected."""
    index = 0
    while index < len(path) and path[index] not in "(/":
        index += 1
    name = path[:index]
    if index == len(path) or path[index] == "/":
        return name, None, path[index + 1 :]
    quoted = False
    for end in range(index + 1, len(path)):
        character = path[end]
        if character == "'":
            quoted = not quoted
        elif character == ")" and not quoted:
            return name, path[index + 1 : end], path[end + 1 :].lstrip("/")
    raise errors.bad_request(f"Bad Request - Error in query syntax: unbalanced parentheses in '{path}'.")


def _query_string(params: Mapping[str, str], *, tracking: bool = False) -> str:
    # A delta token is fully escaped, as Dataverse writes it: 919042%2108%2f22%2f2017%2008%3a10%3a44.
    def encode(name: str, value: str) -> str:
        if tracking and name == "$deltatoken":
            return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(value, safe=""))
        return quote(value, safe=_QUERY_SAFE)

    return "&".join(f"{name}={encode(name, value)}" for name, value in params.items())


class WebApi:
    """Routes one request to the operation it names and renders the answer."""

    def __init__(self, organization: Callable[[], Organization]) -> None:
        self._org = organization
        self.metadata = MetadataApi(organization, json_response, empty_response)
        self._jobs: tuple[Organization, BulkDeleteJobs] | None = None

    @property
    def jobs(self) -> BulkDeleteJobs:
        """The current organization's bulk-delete jobs."""
        org = self.org
        if self._jobs is None or self._jobs[0] is not org:
            self._jobs = (org, BulkDeleteJobs(org))
        return self._jobs[1]

    @property
    def org(self) -> Organization:
        """The organization (replaced on reset)."""
        return self._org()

    def handle(self, call: Call) -> Response:
        """Answer ``call``; WebApiError and ODataError become error responses."""
        try:
            return self._route(call)
        except ODataError as exc:
            return error_response(errors.bad_request(exc.message))
        except errors.WebApiError as exc:
            return error_response(exc)
        except RecursionError:
            # A backstop: the parser limits nesting and chains are walked iteratively, but a well-formed
            # request must never get a 500 from the simulator's own recursion.
            return error_response(errors.bad_request("The recursion limit has been exceeded."))

    def _route(self, call: Call) -> Response:  # noqa: PLR0911 - one return per kind of resource
        name, locator, rest = split_segment(call.path)
        if name == "" and call.method == "GET":
            return self._service_document(call)
        if name in ("WhoAmI", "WhoAmI()") and locator in (None, "") and call.method == "GET":
            return self._who_am_i(call)
        if name in _METADATA_RESOURCES:
            return self._metadata_resource(call, name, locator, rest)
        if name in ACTIONS and locator is None and not rest and call.method == "POST":
            return self._action(call, name)
        if name == "BulkDelete" and locator is None and not rest and call.method == "POST":
            job_id = self.jobs.start(call.json(), call.caller)
            context = self._context(call, "Microsoft.Dynamics.CRM.BulkDeleteResponse")
            return json_response({"@odata.context": context, "JobId": str(job_id)})
        if name == "$batch" and locator is None and not rest:
            return BatchProcessor(self.handle, self.org.store.transaction).run(call)
        table = self.org.table_for_set(name)
        if table is None:
            raise errors.resource_not_found(call.path)
        return self._table_route(call, table, locator, rest)

    def _table_route(self, call: Call, table: Table, locator: str | None, rest: str) -> Response:
        if locator is None:
            if not rest:
                return self._collection(call, table)
            if rest.startswith(bulk.ACTION_PREFIX):
                return self._bulk(call, table, rest[len(bulk.ACTION_PREFIX) :])
            if rest == "$count" and call.method == "GET":
                return self._count(call, table)
            raise errors.resource_not_found(call.path)
        parsed = parse_locator(table, locator)
        if not rest:
            return self._record(call, table, parsed)
        if table.logical_name == "systemuser" and rest in _USER_PRIVILEGES and call.method == "GET":
            return self._user_privileges(call, table, parsed)
        collection = table.collections.get(rest)
        if collection is None or call.method != "GET":
            raise errors.resource_not_found(call.path)
        return self._related(call, table, parsed, collection)

    def _metadata_resource(self, call: Call, name: str, locator: str | None, rest: str) -> Response:
        """EntityDefinitions, RelationshipDefinitions and the metadata actions (``metadata_api.py``)."""
        body = call.json() if call.method in ("POST", "PUT", "PATCH") else None
        request = MetadataCall(call.method, locator, rest, call.params, body, call.root)
        if name == "EntityDefinitions":
            return self.metadata.entity_definitions(request)
        if name == "RelationshipDefinitions":
            return self.metadata.relationship_definitions(request)
        if name == "RetrieveMetadataChanges" and call.method == "GET" and not rest:
            return self.metadata.retrieve_metadata_changes(request)
        if name == "CreateEntities" and call.method == "POST" and locator is None and not rest:
            return self.metadata.create_entities(request)
        if name == "ReactivateEntityKey" and call.method == "POST" and locator is None and not rest:
            return self.metadata.reactivate(request)
        raise errors.resource_not_found(call.path)

    def _collection(self, call: Call, table: Table) -> Response:
        if call.method == "GET":
            return self._query(call, table)
        _check_writable(call, table)
        if call.method == "POST":
            return self._create(call, table)
        raise errors.method_not_allowed(call.method, call.path)

    def _record(self, call: Call, table: Table, locator: Locator) -> Response:
        if call.method == "GET":
            return self._retrieve(call, table, locator)
        _check_writable(call, table)
        if call.method == "PATCH":
            return self._upsert(call, table, locator)
        if call.method == "DELETE":
            self.org.delete(table, locator, if_match=call.headers.get("if-match"), caller=call.caller)
            return empty_response()
        raise errors.method_not_allowed(call.method, call.path)

    # -- helpers ---------------------------------------------------------------------------------------

    def _load(self, logical_name: str, row_id: Any) -> Row | None:
        return self.org.store.get(logical_name, row_id)

    def _render(
        self,
        table: Table,
        row: Row,
        call: Call,
        *,
        select: Sequence[str] | None = None,
        expand: Sequence[Expansion] = (),
    ) -> dict[str, Any]:
        return render_row(
            table,
            row,
            select=select,
            expand=expand,
            annotations=Annotations.from_prefer(call.prefer),
            load=self._load,
            tables=self.org.table,
        )

    def _options(self, call: Call, table: Table) -> tuple[Query, list[Expansion]]:
        properties = [c.value_property for c in table.columns.values() if c.readable]
        properties += list(table.navigations)
        query = parse_query(
            call.params,
            properties=properties,
            type_name=f"Microsoft.Dynamics.CRM.{table.logical_name}",
            functions=query_functions.NAMES,
        )
        return query, parse_expand(table, call.params.get("$expand"), self.org.table)

    def _entity_id(self, call: Call, table: Table, locator_text: str) -> str:
        return f"{call.root}{table.entity_set}({locator_text})"

    def _context(self, call: Call, fragment: str) -> str:
        return f"{call.root}$metadata#{fragment}"

    # -- records ---------------------------------------------------------------------------------------

    def _retrieve(self, call: Call, table: Table, locator: Locator) -> Response:
        query_options.check(call.params, query_options.RECORD_OPTIONS)
        query, expand = self._options(call, table)
        row = self.org.retrieve(table, locator)
        # A 304 is never given for an expanded or annotated retrieve (conditional-operations article).
        condition = call.headers.get("if-none-match", "").strip()
        plain = not expand and not Annotations.from_prefer(call.prefer).patterns
        if plain and condition == etag(row):
            return empty_response(304, {"Content-Type": JSON_TYPE})
        select = query.select_names
        body = {
            "@odata.context": self._context(
                call, context_fragment(table.entity_set, select, expand) + "/$entity"
            ),
            **self._render(table, row, call, select=select, expand=expand),
        }
        return json_response(body, headers={"ETag": etag(row)})

    def _representation(self, call: Call, table: Table, row: Row, status: int, applied: bool) -> Response:
        query, expand = self._options(call, table)
        select = query.select_names
        body = {
            "@odata.context": self._context(
                call, context_fragment(table.entity_set, select, expand) + "/$entity"
            ),
            **self._render(table, row, call, select=select, expand=expand),
        }
        headers = {"ETag": etag(row)}
        if applied:
            headers["Preference-Applied"] = "return=representation"
        return json_response(body, status, headers)

    def _create(self, call: Call, table: Table) -> Response:
        row = self.org.create(table, call.json(), call.caller)
        if call.wants_representation:
            return self._representation(call, table, row, 201, applied=True)
        return empty_response(
            204, {"OData-EntityId": self._entity_id(call, table, str(row[table.primary_id]))}
        )

    def _upsert(self, call: Call, table: Table, locator: Locator) -> Response:
        row, created = self.org.upsert(
            table,
            locator,
            call.json(),
            call.caller,
            if_match=call.headers.get("if-match"),
            if_none_match=call.headers.get("if-none-match"),
        )
        if call.wants_representation:
            # As published: 201 carries Preference-Applied, 200 does not.
            return self._representation(call, table, row, 201 if created else 200, applied=created)
        return empty_response(204, {"OData-EntityId": self._entity_id(call, table, locator.text)})

    def _query(
        self, call: Call, table: Table, *, scope: Callable[[Row], bool] | None = None, path: str | None = None
    ) -> Response:
        if scope is None and table.change_tracking and tracking.TRACK_CHANGES.search(call.prefer):
            return self._tracked(call, table)
        if "$deltatoken" in call.params:
            if scope is not None or not table.change_tracking:
                raise tracking.not_tracked(table.logical_name)
            return self._tracked(call, table)
        if "fetchXml" in call.params or "sql" in call.params:
            return self._query_language(call, table, scope)
        query_options.check(call.params, query_options.COLLECTION_OPTIONS)
        query, expand = self._options(call, table)
        match = _MAX_PAGE_SIZE.search(call.prefer)
        page_size = None if query.top is not None else int(match.group(1)) if match else DEFAULT_PAGE_SIZE
        token = _SKIPTOKEN_OFFSET.search(query.skiptoken or "")
        offset = int(token.group(1)) if token else 0
        with self.org.store.lock:
            internal = {
                row[table.primary_id]: row
                for row in self.org.store.rows(table.logical_name)
                if scope is None or scope(row)
            }
        rendered = [self._render(table, row, call, expand=expand) for row in internal.values()]
        page = apply(
            rendered,
            query,
            page_size=max(1, page_size) if page_size is not None else None,
            offset=offset,
            resolve=self._resolver(table, internal, call),
            keep=("@odata.etag", table.primary_id),
            dialect=self._dialect(call, table),
        )
        body: dict[str, Any] = {
            "@odata.context": self._context(
                call, context_fragment(table.entity_set, query.select_names, expand)
            )
        }
        if page.total is not None:
            body["@odata.count"] = page.total
        body["value"] = page.rows
        if page.next_skip is not None:
            params = {k: v for k, v in call.params.items() if k != "$skiptoken"}
            pagenumber = page.next_skip // max(1, page_size or 1) + 1
            params["$skiptoken"] = f'<cookie pagenumber="{pagenumber}" offset="{page.next_skip}" />'
            body["@odata.nextLink"] = f"{call.root}{path or table.entity_set}?{_query_string(params)}"
        return json_response(body)

    def _query_language(self, call: Call, table: Table, scope: Callable[[Row], bool] | None) -> Response:
        """``?fetchXml=`` or ``?sql=``: a query in another language over the same rows and dialect."""
        language = "fetchXml" if "fetchXml" in call.params else "sql"
        query_options.check(call.params, {language})
        with self.org.store.lock:
            internal = {
                row[table.primary_id]: row
                for row in self.org.store.rows(table.logical_name)
                if scope is None or scope(row)
            }
        rendered = [self._render(table, row, call) for row in internal.values()]
        resolve, dialect = self._resolver(table, internal, call), self._dialect(call, table)
        context = self._context(call, table.entity_set)
        if language == "sql":
            rows = query_options.select(table, call.params["sql"], rendered, resolve=resolve, dialect=dialect)
            return json_response({"@odata.context": context, "value": rows})
        body = query_options.fetch(
            table, call.params["fetchXml"], rendered, resolve=resolve, dialect=dialect, prefer=call.prefer
        )
        return json_response({"@odata.context": context, **body})

    def _related(
        self, call: Call, table: Table, locator: Locator, collection: CollectionNavigation
    ) -> Response:
        """``<set>(<id>)/<collection>``: the target table's rows whose lookup names this row."""
        parent = self.org.retrieve(table, locator)[table.primary_id]
        target = self.org.table(collection.table)
        if target is None:
            raise errors.resource_not_found(call.path)

        def belongs(row: Row) -> bool:
            reference = row.get(collection.column)
            return isinstance(reference, Ref) and reference.id == parent

        return self._query(call, target, scope=belongs, path=call.path)

    def _count(self, call: Call, table: Table) -> Response:
        """``<set>/$count``: the number of rows, or of changes since a ``$deltatoken``, as plain text."""
        if "$deltatoken" in call.params:
            if not table.change_tracking:
                raise tracking.not_tracked(table.logical_name)
            token = self._token(call.params["$deltatoken"])
            delta = tracking.changes_between(
                self.org.store, table.logical_name, token.version, self.org.store.version
            )
            total = len(delta.changed) + len(delta.deleted)
        else:
            total = len(self.org.store.rows(table.logical_name))
        return Response(str(total), headers={"Content-Type": "text/plain", "OData-Version": "4.0"})

    # -- change tracking -------------------------------------------------------------------------------

    def _token(self, text: str) -> tracking.DeltaToken:
        token = tracking.parse_token(text, self.org.store)
        tracking.check_age(token, self.org.now_datetime(), self.org.expire_change_tracking_days)
        return token

    def _tracked(self, call: Call, table: Table) -> Response:
        """A change-tracking read: every row (no token) or the changes since ``$deltatoken``, paged."""
        for option in tracking.UNSUPPORTED_OPTIONS:
            if option in call.params:
                raise tracking.unsupported_option(option)
        query, _expand = self._options(call, table)
        select = query.select_names
        match = _MAX_PAGE_SIZE.search(call.prefer)
        page_size = max(1, int(match.group(1))) if match else DEFAULT_PAGE_SIZE
        skiptoken = call.params.get("$skiptoken", "")
        offset_match = _SKIPTOKEN_OFFSET.search(skiptoken)
        offset = int(offset_match.group(1)) if offset_match else 0
        snapshot_match = _SKIPTOKEN_DELTA.search(skiptoken)
        snapshot = (
            tracking.parse_token(snapshot_match.group(1), self.org.store)
            if snapshot_match
            else tracking.DeltaToken(self.org.store.version, self.org.now_datetime())
        )
        since = call.params.get("$deltatoken")
        items: list[Row | uuid.UUID]
        if since is None:
            items = list(self.org.store.rows(table.logical_name))
        else:
            token = self._token(since)
            delta = tracking.changes_between(
                self.org.store, table.logical_name, token.version, snapshot.version
            )
            items = [*delta.changed, *delta.deleted]
        window = items[offset : offset + page_size]
        value: list[dict[str, Any]] = []
        for item in window:
            if isinstance(item, uuid.UUID):
                value.append(
                    {
                        "@odata.context": self._context(call, f"{table.entity_set}/$deletedEntity"),
                        "id": str(item),
                        "reason": "deleted",
                    }
                )
            else:
                value.append(self._render(table, item, call, select=select))
        fragment = context_fragment(table.entity_set, select, [])
        body: dict[str, Any] = {
            "@odata.context": self._context(call, fragment + ("" if since is None else "/$delta"))
        }
        kept = {k: v for k, v in call.params.items() if k in ("$select",)}
        if offset + page_size < len(items):
            pagenumber = offset // page_size + 2
            params = {
                **{k: v for k, v in call.params.items() if k != "$skiptoken"},
                "$skiptoken": f'<cookie pagenumber="{pagenumber}" offset="{offset + page_size}" '
                f'deltatoken="{snapshot}" />',
            }
            body["@odata.nextLink"] = f"{call.root}{table.entity_set}?{_query_string(params)}"
        else:
            link = {**kept, "$deltatoken": str(snapshot)}
            body["@odata.deltaLink"] = f"{call.root}{table.entity_set}?{_query_string(link, tracking=True)}"
        body["value"] = value
        headers = {"Preference-Applied": "odata.track-changes"} if since is None else {}
        return json_response(body, headers=headers)

    # -- bulk ------------------------------------------------------------------------------------------

    def _bulk(self, call: Call, table: Table, message: str) -> Response:
        if call.method != "POST":
            raise errors.method_not_allowed(call.method, call.path)
        _check_writable(call, table)
        ids = bulk.execute(self.org, table, message, call.json(), call.caller)
        if ids is None:
            return empty_response(204)
        return json_response(
            {
                "@odata.context": self._context(call, "Microsoft.Dynamics.CRM.CreateMultipleResponse"),
                "Ids": [str(row_id) for row_id in ids],
            }
        )

    def _dialect(self, call: Call, table: Table) -> Dialect:
        """Dataverse's collation and query functions for this request's table and caller."""
        scope = query_functions.Scope(table, call.caller, self.org.now_datetime(), self._load)
        return query_functions.dialect(scope)

    def _resolver(
        self, table: Table, internal: Mapping[Any, Row], call: Call
    ) -> Callable[[Mapping[str, Any], tuple[str, ...]], Any]:
        """Property paths in $filter/$orderby, following single-valued navigation properties."""

        def resolve(row: Mapping[str, Any], path: tuple[str, ...]) -> Any:
            navigation = table.navigations.get(path[0]) if len(path) > 1 else None
            if navigation is None:
                return resolve_nested(row, path)
            source = internal.get(uuid.UUID(str(row[table.primary_id])))
            reference = source.get(navigation.column) if source else None
            if not isinstance(reference, Ref) or reference.logical_name not in navigation.targets:
                return None
            target_table = self.org.table(reference.logical_name)
            target = self._load(reference.logical_name, reference.id)
            if target_table is None or target is None:
                return None
            return resolve_nested(self._render(target_table, target, call), path[1:])

        return resolve

    # -- service document and WhoAmI -------------------------------------------------------------------

    def _service_document(self, call: Call) -> Response:
        sets = [{"name": t.entity_set, "kind": "EntitySet", "url": t.entity_set} for t in self.org.tables]
        return json_response({"@odata.context": f"{call.root}$metadata", "value": sets})

    def _who_am_i(self, call: Call) -> Response:
        return json_response(
            {
                "@odata.context": self._context(call, "Microsoft.Dynamics.CRM.WhoAmIResponse"),
                "BusinessUnitId": str(call.caller.business_unit_id),
                "UserId": str(call.caller.user_id),
                "OrganizationId": str(self.org.organization_id),
            }
        )

    def _user_privileges(self, call: Call, table: Table, locator: Locator) -> Response:
        """The bound function RetrieveUserPrivileges: the privileges the user holds through its roles."""
        user = self.org.retrieve(table, locator)
        privileges = self.org.security.user_privileges(user["systemuserid"])
        context = self._context(call, "Microsoft.Dynamics.CRM.RetrieveUserPrivilegesResponse")
        return json_response({"@odata.context": context, "RolePrivileges": privileges})

    # -- actions ---------------------------------------------------------------------------------------

    def _action(self, call: Call, name: str) -> Response:
        """An unbound action: 204, or 200 with the entity it returns (the converted order, the revision)."""
        result = ACTIONS[name](self.org, call.json(), call.caller)
        if not isinstance(result, ReturnedEntity):
            return empty_response()
        table = result.table
        select = None if result.columns is None else [table.columns[c].value_property for c in result.columns]
        body = {
            "@odata.context": self._context(call, f"{table.entity_set}/$entity"),
            **self._render(table, result.row, call, select=select),
        }
        return json_response(body)


_USER_PRIVILEGES = frozenset(
    {"Microsoft.Dynamics.CRM.RetrieveUserPrivileges()", "Microsoft.Dynamics.CRM.RetrieveUserPrivileges"}
)


def _check_writable(call: Call, table: Table) -> None:
    """System tables the platform maintains (the message catalog) refuse writes through the Web API."""
    if not table.api_writable:
        raise errors.method_not_allowed(call.method, call.path)
