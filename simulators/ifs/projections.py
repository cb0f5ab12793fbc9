"""The OData side of the simulated projections: reads, writes, bound actions, in IFS's wire shapes.

What it reproduces (docs/ifs-api.md, captures in tests/vectors/ifs):
- collections as ``{"@odata.context": "<absolute …/$metadata#Set>", "value": […]}`` with
  ``Content-Type: application/json;odata.metadata=minimal``; ``$select`` always brings the keys and
  ``@odata.etag`` along and names them in the context, plus ``@odata.id`` when the select left keys out
  (query-select-top1 cassette; the paging cassette selects every key and has none);
- server-driven paging only when the client sends no ``$top``: then ``@odata.nextLink`` is relative to
  ``…/projection/v1/`` (``Svc.svc/Set?…&$skiptoken=N``); with ``$top`` exactly that many rows and no
  nextLink (paging cassette);
- rows that ``$orderby`` leaves unordered (all of them without one, ties with one) come in an order of
  their own, different for every query, as Oracle promises no order beyond ORDER BY: shuffled by the
  tenant's seed and the query's options except ``$skiptoken``, so a nextLink chain stays consistent but
  ``$skip`` pages without a total order overlap and miss rows;
- ``$expand`` of one-to-one ``…Ref`` navigations only; a collection answers 501 ``ODP_NOT_IMPLEMENTED``;
- enum properties compare only with qualified enum literals of their own type (``Objstate eq 'Released'``
  is a 400, and so is another enum type's literal);
- ``…Z`` timestamp literals read as UTC with ``X-Ifs-Time-Zone-Aware-Request: true``, else in the
  simulated server's time zone (``server_time_zone``, UTC by default);
- ETags on every row, ``If-Match`` on PATCH/DELETE/actions (stale -> 412, ``*`` skips the check, none on
  PATCH -> upsert as the entity-upserts page documents); a PATCH answers 204 with the new ETag unless
  ``Prefer: return=representation`` asks for the row (OData's default);
- errors as ``{"error":{"code","message","details":[…]}}``; unknown projection -> 404 "Metadata not found."
  and unknown property -> 400 "Malformed Request." with the ODataLib detail (both recorded).
Error codes no capture shows (the recorder redacted them) are assumed, named after codes seen in public code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, tzinfo
from typing import Any

from shared.ifs.query import TIME_ZONE_AWARE_HEADER, encode_query
from simulators.common.odata import ODataError, Query, apply, parse_query
from simulators.common.odata.evaluator import prepare
from simulators.common.odata.query import matches
from simulators.ifs.batch import run_batch
from simulators.ifs.filters import IncompatibleEnumError, check_enum_types, in_server_time
from simulators.ifs.model import HIDDEN_SETS, PROJECTIONS, EntitySetModel
from simulators.ifs.resources import PathError, Segment, parse_segment, split_outside_quotes, split_path
from simulators.ifs.store import Record
from simulators.ifs.tenant import (
    ActionNotSimulatedError,
    BusinessError,
    NotFoundError,
    SetState,
    Tenant,
)
from simulators.ifs.wire import API_ROOT, ApiError, ApiRequest, ApiResponse

_KNOWN_OPTIONS = frozenset(
    {"$filter", "$select", "$orderby", "$top", "$skip", "$count", "$expand", "$skiptoken"}
)
_UNSUPPORTED_OPTIONS = frozenset({"$apply", "$search", "$compute", "$deltatoken", "$levels"})
_DELETABLE = frozenset({"CustomerOrderLineSet", "OrderQuotationLineSet"})


class RecordView(Mapping[str, Any]):
    """A stored row seen as the entity IFS serves: ``@odata.etag``, then every property (null if unset)."""

    __slots__ = ("_properties", "record")

    def __init__(self, record: Record, properties: Sequence[str]) -> None:
        self.record = record
        self._properties = properties

    def __getitem__(self, name: str) -> Any:
        if name == "@odata.etag":
            return self.record.etag
        values = self.record.values
        if name in values:
            return values[name]
        if name in self._properties:
            return None
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        yield "@odata.etag"
        yield from self._properties
        for name in self.record.values:
            if name not in self._properties:
                yield name

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _not_found(what: str) -> ApiError:
    return ApiError(404, "ODP_RESOURCE_NOT_FOUND", f"Resource not found for the segment '{what}'.")


def _malformed(detail: str, code: str = "ODP_UNSUPPORTED_URL") -> ApiError:
    return ApiError(400, code, "Malformed Request.", [(_detail_code(detail), detail)])


def _detail_code(detail: str) -> str:
    if detail.startswith("The property '"):
        return "EXPRESSION_PROPERTY_NOT_IN_TYPE"
    return "ODP_SYNTAX_ERROR"


def etag_matches(if_match: str, etag: str) -> bool:
    """Whether an ``If-Match`` value (one ETag, a list, or ``*``) matches ``etag``."""
    if if_match.strip() == "*":
        return True
    return any(candidate.strip() == etag for candidate in split_outside_quotes(if_match, '"')[0])


class ProjectionApi:
    """Answers requests below ``…/projection/v1/`` for one tenant."""

    def __init__(
        self,
        tenant: Tenant,
        *,
        page_size: int = 100,
        absolute_next_links: bool = False,
        server_time_zone: tzinfo = UTC,
    ) -> None:
        self.tenant = tenant
        self.page_size = page_size
        # Real tenants were seen sending relative nextLinks; some gateways rewrite them absolute.
        self.absolute_next_links = absolute_next_links
        self.server_time_zone = server_time_zone

    def handle(self, request: ApiRequest) -> ApiResponse:  # noqa: PLR0911 - one answer per error kind
        """Answer one request; every failure becomes an IFS-shaped error response."""
        try:
            return self._route(request)
        except ApiError as error:
            return error.response()
        except BusinessError as error:
            return ApiError(400, error.code, error.message).response()
        except NotFoundError as error:
            return ApiError(404, "ODP_RESOURCE_NOT_FOUND", str(error)).response()
        except ActionNotSimulatedError as error:
            return ApiError(
                501, "ODP_NOT_IMPLEMENTED", f"The simulator does not implement the action {error}."
            ).response()
        except ODataError as error:
            if error.unsupported:
                return ApiError(501, "ODP_NOT_IMPLEMENTED", error.message).response()
            return _malformed(error.message).response()
        except PathError as error:
            return _malformed(str(error)).response()
        except RecursionError:
            # A backstop: the parser limits nesting and chains are walked iteratively, but a well-formed
            # request must never get a 500 from the simulator's own recursion.
            return _malformed("The recursion limit has been exceeded.").response()

    # ---- routing ---------------------------------------------------------------------------------

    def _route(self, request: ApiRequest) -> ApiResponse:
        segments = split_path(request.path)
        if not segments or not segments[0].endswith(".svc"):
            raise _not_found(segments[0] if segments else "")
        projection = segments[0][: -len(".svc")]
        if projection not in PROJECTIONS:
            raise ApiError(404, "MI_METADATA_NOTFOUND", "Metadata not found.")
        rest = segments[1:]
        if not rest or rest[0].startswith("$"):
            return self._service_resource(request, projection, rest)
        first = parse_segment(rest[0])
        state = self.tenant.set_state(projection, first.name)
        if state is None or first.name in HIDDEN_SETS:
            raise _not_found(first.name)
        if not first.has_key:
            if len(rest) > 1:
                raise _not_found(rest[1])
            if request.method == "GET":
                return self._collection(request, state, rest[0], {})
            if request.method == "POST":
                return self._create(request, state, None)
            raise self._method_not_allowed(request)
        key = self._key(state.model, first)
        if len(rest) == 1:
            return self._entity(request, state, key)
        second = parse_segment(rest[1])
        if len(rest) > 2:
            raise _not_found(rest[2])
        if "." in second.name:
            return self._action(request, state, key, second.name)
        return self._navigation(request, state, key, second, rest)

    def _service_resource(self, request: ApiRequest, projection: str, rest: list[str]) -> ApiResponse:
        """The service document, ``$metadata`` and ``$batch``."""
        if not rest:
            self._only(request, "GET")
            return self._service_document(request, projection)
        if rest == ["$batch"]:
            self._only(request, "POST")
            return run_batch(request, projection, self.handle, self.tenant.store)
        if rest == ["$metadata"]:
            self._only(request, "GET")
            return ApiResponse(200, content=self._metadata(projection), content_type="application/xml")
        raise _not_found(rest[0])

    def _only(self, request: ApiRequest, method: str) -> None:
        if request.method != method:
            raise self._method_not_allowed(request)

    @staticmethod
    def _method_not_allowed(request: ApiRequest) -> ApiError:
        return ApiError(405, "ODP_METHOD_NOT_ALLOWED", f"The method {request.method} is not allowed here.")

    def _key(self, model: EntitySetModel, segment: Segment) -> dict[str, Any]:
        if segment.named is not None:
            values = segment.named
        elif len(model.keys) == 1:
            values = {model.keys[0]: segment.positional}
        else:
            raise _malformed(f"The key of {model.name} needs named values for {', '.join(model.keys)}.")
        if set(values) != set(model.keys):
            raise _malformed(
                f"The key of {model.name} is ({', '.join(model.keys)}), not ({', '.join(values)})."
            )
        for name, value in values.items():
            numeric = model.key_types.get(name) == "Edm.Int64"
            if numeric != (isinstance(value, int) and not isinstance(value, bool)):
                kind = "a number" if numeric else "a quoted string"
                raise _malformed(f"The key value of {name} must be {kind}.")
        return {name: values[name] for name in model.keys}

    # ---- reads ---------------------------------------------------------------------------------

    def _service_document(self, request: ApiRequest, projection: str) -> ApiResponse:
        names = [
            s.model.name
            for s in self.tenant.sets.values()
            if s.model.projection == projection and s.model.name not in HIDDEN_SETS
        ]
        return ApiResponse(
            200,
            {
                "@odata.context": f"{request.origin}{API_ROOT}/{projection}.svc/$metadata",
                "value": [{"name": n, "url": n} for n in names],
            },
        )

    def _parse(self, request: ApiRequest, state: SetState) -> Query:
        params: dict[str, str] = {}
        for name, value in request.params:
            if name.startswith("$") and name not in _KNOWN_OPTIONS:
                if name in _UNSUPPORTED_OPTIONS:
                    raise ApiError(501, "ODP_NOT_IMPLEMENTED", f"The query option {name} is not supported.")
                raise _malformed(f"The query parameter '{name}' is not supported.")
            params[name] = value
        model = state.model
        navigations = list(model.collections) + list(model.references)
        query = parse_query(
            params,
            properties=[*state.properties, *navigations],
            type_name=f"IfsApp.{model.projection}.{model.entity_type}",
            enum_properties=[p for p in state.properties if model.enum_type(p)],
        )
        for path in query.select or ():
            if path[0] in navigations:
                raise _malformed(f"The navigation property '{path[0]}' cannot be used in $select.")
        if query.filter is not None:
            sample = next(iter(state.table.rows.values()), None)
            try:
                check_enum_types(
                    query.filter,
                    lambda name: model.types.get(name) or model.key_types.get(name) or _infer(sample, name),
                )
            except IncompatibleEnumError as error:
                raise _malformed(str(error)) from None
            aware = request.headers.get(TIME_ZONE_AWARE_HEADER.lower(), "").strip().lower() == "true"
            if not aware:
                query = replace(query, filter=in_server_time(query.filter, self.server_time_zone))
        for name in query.expand:
            if name in model.collections:
                raise ApiError(
                    501,
                    "ODP_NOT_IMPLEMENTED",
                    f"Expanding the collection '{name}' is not implemented (only one-to-one navigations).",
                )
            if name not in model.references:
                raise _malformed(
                    f"The navigation property '{name}' is not defined in type '{model.entity_type}'."
                )
        return query

    def _collection(
        self,
        request: ApiRequest,
        state: SetState,
        raw_segment: str,
        link: Mapping[str, Any],
        context: str = "",
    ) -> ApiResponse:
        query = self._parse(request, state)
        try:
            offset = int(query.skiptoken) if query.skiptoken is not None else 0
        except ValueError:
            raise _malformed(f"The $skiptoken '{query.skiptoken}' is not valid.") from None
        if offset < 0:
            raise _malformed(f"The $skiptoken '{query.skiptoken}' is not valid.")
        properties = state.properties
        store = self.tenant.store
        records = store.matching(state.table, link) if link else store.scan(state.table)
        rows = [RecordView(r, properties) for r in records]
        if query.filter is not None:
            # Filtered first, then put in the query's own order: shuffling only what matched keeps a read of
            # a few rows from a big table as cheap as IFS makes it (and a navigation read as cheap as its
            # parent's children: the link went through the store's index).
            prepared = prepare(query.filter)
            rows = [row for row in rows if matches(prepared, row)]
        rows = self._shuffled(request, rows)  # $orderby then sorts them (stably)
        model = state.model
        page = apply(
            rows,
            replace(query, filter=None),
            page_size=self.page_size if query.top is None else None,
            offset=offset,
            keep=("@odata.etag", *model.keys),
            null_order="high",
        )
        shaped = [self._shape(state, row, query) for row in page.rows]
        body: dict[str, Any] = {"@odata.context": self._context(request, state, query, context)}
        if page.total is not None:
            body["@odata.count"] = page.total
        body["value"] = shaped
        if page.next_skip is not None:
            kept = [(k, v) for k, v in request.params if k != "$skiptoken"]
            kept.append(("$skiptoken", str(page.next_skip)))
            next_link = f"{request.path}?{encode_query(kept)}"
            body["@odata.nextLink"] = (
                f"{request.origin}{API_ROOT}/{next_link}" if self.absolute_next_links else next_link
            )
        return ApiResponse(200, body)

    def _shuffled(self, request: ApiRequest, rows: list[RecordView]) -> list[RecordView]:
        """The rows in an order of this query's own (the same for every page of a nextLink chain)."""
        options = [(k, v) for k, v in request.params if k != "$skiptoken"]
        salt = f"{self.tenant.config.seed}|{request.path}|{encode_query(options)}|".encode()

        def scrambled(row: RecordView) -> bytes:
            return hashlib.blake2b(salt + row.record.objid.encode(), digest_size=8).digest()

        return sorted(rows, key=scrambled)

    def _context(self, request: ApiRequest, state: SetState, query: Query, context: str) -> str:
        model = state.model
        base = f"{request.origin}{API_ROOT}/{model.projection}.svc/$metadata#{context or model.name}"
        if query.select is None:
            return base
        names = list(model.keys) + [n for n in query.select_names or () if n not in model.keys]
        return f"{base}({','.join(names)})"

    def _shape(self, state: SetState, row: dict[str, Any], query: Query) -> dict[str, Any]:
        """Meta first, keys next when selecting; expanded references filled in."""
        model = state.model
        if query.select is not None:
            shaped: dict[str, Any] = {"@odata.etag": row["@odata.etag"]}
            if not set(model.keys) <= set(query.select_names or ()):
                shaped["@odata.id"] = self._odata_id(model, row)
            for key in model.keys:
                shaped[key] = row[key]
            for name, value in row.items():
                shaped.setdefault(name, value)
            row = shaped
        for name in query.expand:
            row[name] = self._reference(model, name, row)
        return row

    @staticmethod
    def _odata_id(model: EntitySetModel, row: Mapping[str, Any]) -> str:
        parts = ",".join(
            f"{k}={row[k]}"
            if isinstance(row[k], int)
            else f"{k}='{str(row[k]).replace(chr(39), chr(39) * 2)}'"
            for k in model.keys
        )
        return f"{model.name}({parts})"

    def _reference(self, model: EntitySetModel, name: str, row: Mapping[str, Any]) -> dict[str, Any] | None:
        reference = model.references[name]
        record = self._find(model, row)
        source = record.values if record is not None else row
        target = self.tenant.of_table(reference.target_table)
        key = tuple(source.get(column) for column in reference.link)
        found = self.tenant.store.get(target.table, key)
        if found is None:
            return None
        return _customer_view(self.tenant, found) if reference.view == "cust_ord" else found.served()

    def _find(self, model: EntitySetModel, row: Mapping[str, Any]) -> Record | None:
        state = self.tenant.set_state(model.projection, model.name)
        assert state is not None
        return self.tenant.store.get(state.table, tuple(row[k] for k in model.keys))

    def _entity(self, request: ApiRequest, state: SetState, key: dict[str, Any]) -> ApiResponse:
        if request.method == "GET":
            return self._single(request, state, self.tenant.get(state, key))
        if request.method == "PATCH":
            return self._patch(request, state, key)
        if request.method == "DELETE":
            return self._delete(request, state, key)
        raise self._method_not_allowed(request)

    def _single(self, request: ApiRequest, state: SetState, record: Record, status: int = 200) -> ApiResponse:
        query = self._parse(request, state) if request.method == "GET" else Query()
        if any((query.filter, query.orderby, query.top, query.skip, query.count)):
            raise _malformed("Only $select and $expand apply to a single entity.")
        page = apply([RecordView(record, state.properties)], query, keep=("@odata.etag", *state.model.keys))
        row = self._shape(state, page.rows[0], query)
        model = state.model
        body = {"@odata.context": self._context(request, state, query, "") + "/$entity", **row}
        headers = {"ETag": record.etag}
        if status == 201:
            headers["Location"] = (
                f"{request.origin}{API_ROOT}/{model.projection}.svc/{self._odata_id(model, row)}"
            )
        return ApiResponse(status, body, headers)

    # ---- writes --------------------------------------------------------------------------------

    @staticmethod
    def _json_object(request: ApiRequest) -> dict[str, Any]:
        if not request.body.strip():
            return {}
        try:
            document = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, "ODP_INVALID_JSON", f"The request body is not valid JSON: {exc}") from None
        if not isinstance(document, dict):
            raise ApiError(400, "ODP_INVALID_JSON", "The request body must be a JSON object.")
        return document

    def _create(self, request: ApiRequest, state: SetState, parent: Mapping[str, Any] | None) -> ApiResponse:
        if not state.model.insertable:
            raise self._method_not_allowed(request)
        record = self.tenant.create(state, self._json_object(request), parent)
        return self._written(request, state, record, 201)

    def _written(self, request: ApiRequest, state: SetState, record: Record, status: int) -> ApiResponse:
        """A created row comes back unless the client prefers minimal; an updated one only if asked for."""
        prefer = request.headers.get("prefer", "")
        asked = "return=representation" in prefer if status == 200 else "return=minimal" not in prefer
        if not asked:
            return ApiResponse(204, headers={"ETag": record.etag})
        return self._single(request, state, record, status)

    def _check_if_match(self, request: ApiRequest, record: Record) -> None:
        if_match = request.headers.get("if-match")
        if if_match is not None and not etag_matches(if_match, record.etag):
            raise ApiError(
                412,
                "ODP_PRECONDITION_FAILED",
                "The record has been changed by another user since it was read. Refresh and try again.",
            )

    def _patch(self, request: ApiRequest, state: SetState, key: dict[str, Any]) -> ApiResponse:
        if not state.model.updatable:
            raise self._method_not_allowed(request)
        body = self._json_object(request)
        with self.tenant.store.lock:
            if request.headers.get("if-match") is None:
                # Documented IFS behaviour: PATCH without If-Match is an upsert.
                record, created = self.tenant.upsert(state, key, body)
                return self._written(request, state, record, 201 if created else 200)
            current = self.tenant.get(state, key)
            self._check_if_match(request, current)
            record = self.tenant.update(state, key, body)
        return self._written(request, state, record, 200)

    def _delete(self, request: ApiRequest, state: SetState, key: dict[str, Any]) -> ApiResponse:
        if state.model.name not in _DELETABLE:
            raise self._method_not_allowed(request)
        with self.tenant.store.lock:
            self._check_if_match(request, self.tenant.get(state, key))
            self.tenant.delete(state, key)
        return ApiResponse(204)

    def _action(
        self, request: ApiRequest, state: SetState, key: dict[str, Any], qualified: str
    ) -> ApiResponse:
        self._only(request, "POST")
        model = state.model
        prefix = f"IfsApp.{model.projection}."
        if not qualified.startswith(prefix):
            raise _not_found(qualified)
        action = qualified[len(prefix) :]
        params = self._json_object(request)
        if request.headers.get("if-match") is None:
            raise ApiError(
                400, "ODP_IF_MATCH_REQUIRED", "The If-Match header is required for this operation."
            )
        with self.tenant.store.lock:
            self._check_if_match(request, self.tenant.get(state, key))
            result = self.tenant.run_action(state, key, action, params)
            record = self.tenant.get(state, key)
        if result is None:
            return ApiResponse(204, headers={"ETag": record.etag})
        context = f"{request.origin}{API_ROOT}/{model.projection}.svc/$metadata#Edm.{_edm_name(result)}"
        return ApiResponse(200, {"@odata.context": context, "value": result})

    def _navigation(
        self, request: ApiRequest, state: SetState, key: dict[str, Any], second: Segment, rest: list[str]
    ) -> ApiResponse:
        model = state.model
        parent = self.tenant.get(state, key)
        if second.name in model.references and not second.has_key:
            self._only(request, "GET")
            reference = self._reference(model, second.name, parent.values)
            if reference is None:
                return ApiResponse(204)
            root = f"{request.origin}{API_ROOT}/{model.projection}.svc"
            context = f"{root}/$metadata#{model.name}/{second.name}/$entity"
            return ApiResponse(200, {"@odata.context": context, **reference})
        collection = model.collections.get(second.name)
        if collection is None:
            raise _not_found(second.name)
        child = self.tenant.set_state(model.projection, collection.target)
        assert child is not None
        link = {child_column: parent.values[column] for column, child_column in collection.link.items()}
        if second.has_key:
            child_key = self._key(child.model, second)
            if any(child_key.get(c) != v for c, v in link.items()):
                raise _not_found(rest[1])
            return self._entity(request, child, child_key)
        if request.method == "GET":
            parent_id = self._odata_id(model, parent.values)
            return self._collection(request, child, rest[1], link, context=f"{parent_id}/{second.name}")
        if request.method == "POST":
            return self._create(request, child, link)
        raise self._method_not_allowed(request)

    # ---- $metadata -------------------------------------------------------------------------------

    def _metadata(self, projection: str) -> bytes:
        """A small EDMX of the simulated entity types (types inferred where the model declares none)."""
        namespace = f"IfsApp.{projection}"
        lines = [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">',
            "<edmx:DataServices>",
            f'<Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="{namespace}">',
        ]
        states = [s for s in self.tenant.sets.values() if s.model.projection == projection]
        for state in states:
            model = state.model
            lines.append(f'<EntityType Name="{model.entity_type}">')
            lines.append("<Key>" + "".join(f'<PropertyRef Name="{k}"/>' for k in model.keys) + "</Key>")
            sample = next(iter(state.table.rows.values()), None)
            for name in state.properties:
                kind = model.types.get(name) or model.key_types.get(name) or _infer(sample, name)
                nullable = "false" if name in model.keys else "true"
                lines.append(f'<Property Name="{name}" Type="{kind}" Nullable="{nullable}"/>')
            for name, collection in model.collections.items():
                target = self.tenant.set_state(projection, collection.target)
                assert target is not None
                collection_type = f"Collection({namespace}.{target.model.entity_type})"
                lines.append(f'<NavigationProperty Name="{name}" Type="{collection_type}"/>')
            lines.append("</EntityType>")
        lines.append('<EntityContainer Name="Container">')
        for state in states:
            if state.model.name not in HIDDEN_SETS:
                entity_type = f"{namespace}.{state.model.entity_type}"
                lines.append(f'<EntitySet Name="{state.model.name}" EntityType="{entity_type}"/>')
        lines += ["</EntityContainer>", "</Schema>", "</edmx:DataServices>", "</edmx:Edmx>"]
        return "\n".join(lines).encode("utf-8")


def _infer(sample: Record | None, name: str) -> str:
    value = sample.values.get(name) if sample is not None else None
    if isinstance(value, bool):
        return "Edm.Boolean"
    if isinstance(value, int | float):
        return "Edm.Decimal"
    return "Edm.String"


def _edm_name(value: Any) -> str:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Int64"
    if isinstance(value, float):
        return "Decimal"
    return "String"


def _customer_view(tenant: Tenant, customer: Record) -> dict[str, Any]:
    """``CustomerNoRef`` as the order projection shapes a customer (assumed from the digest's field list)."""
    values = customer.values
    addresses = tenant.of_table("CustomerInfoAddress")
    default = next(
        (
            r.values
            for r in tenant.store.scan(addresses.table)
            if r.values.get("CustomerId") == values["CustomerId"] and r.values.get("DefaultDocumentAddress")
        ),
        {},
    )
    return {
        "@odata.etag": customer.etag,
        "Company": values.get("Company"),
        "CustomerNo": values["CustomerId"],
        "Name": values.get("Name"),
        "DefaultAddressNo": default.get("AddressId"),
        "DefaultAddress1": default.get("Address1"),
        "DefaultAddress2": default.get("Address2"),
        "DefaultAddress3": None,
        "DefaultAddress4": None,
        "DefaultAddress5": None,
        "DefaultAddress6": None,
        "DefaultZipCode": default.get("ZipCode"),
        "DefaultCity": default.get("City"),
        "DefaultState": default.get("State"),
        "DefaultCounty": default.get("County"),
        "DefaultCountry": default.get("Country"),
        "Category": values.get("CustomerCategory"),
    }
