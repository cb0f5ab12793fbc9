"""The metadata Web API: EntityDefinitions and what hangs off it, RelationshipDefinitions, and the actions.

Reads ("Query table definitions using the Web API"):

- ``GET EntityDefinitions`` / ``EntityDefinitions(LogicalName='x')`` or ``(<MetadataId>)`` with ``$select``,
  ``$filter`` (e.g. ``IsPrivate eq false``) and ``$expand`` of ``Attributes``, ``Keys``,
  ``OneToManyRelationships``, ``ManyToOneRelationships``, ``ManyToManyRelationships`` (nested ``$select``);
- ``…/Attributes``, ``…/Attributes(LogicalName='x')`` or ``(<MetadataId>)``, each optionally cast to a
  derived type (``/Microsoft.Dynamics.CRM.PicklistAttributeMetadata``), with ``$select``, ``$filter`` and,
  on types that have them, ``$expand=OptionSet(…)``/``GlobalOptionSet(…)``;
- ``…/Keys``, ``…/Keys(<id>)``; ``…/OneToManyRelationships`` and its siblings;
- ``RelationshipDefinitions`` (``$filter=SchemaName eq 'x'``) and ``RelationshipDefinitions(<id>)``;
- ``RetrieveMetadataChanges(Query=@p)``: the entities matching an EntityQueryExpression, attributes
  inline with their typed properties (``customization.retrieve_metadata_changes``).

Writes (``customization.py``): ``CreateEntities`` and ``POST EntityDefinitions`` (custom tables),
``POST``/``PUT``/``DELETE`` on ``…/Attributes`` (custom columns), ``DELETE EntityDefinitions(…)``,
``POST RelationshipDefinitions`` (one-to-many with its lookup, many-to-many), ``DELETE``
``RelationshipDefinitions(…)``; and ``POST …/Keys``, ``DELETE …/Keys(…)``, ``ReactivateEntityKey``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from simulators.common.odata import Query, apply, parse_query
from simulators.dataverse import customization, errors, metadata, values
from simulators.dataverse.attributes import (
    CASTS,
    NAMESPACE,
    OPTION_SET_KINDS,
    attribute_json,
    option_set_json,
)
from simulators.dataverse.keys import EntityKey
from simulators.dataverse.records import Organization
from simulators.dataverse.tables import Column, Kind, Table

Respond = Callable[..., Response]
_RELATIONSHIP_NAVIGATIONS = ("OneToManyRelationships", "ManyToOneRelationships", "ManyToManyRelationships")
_ENTITY_NAVIGATIONS = ("Attributes", "Keys", *_RELATIONSHIP_NAVIGATIONS)
_ENUM_CASTS = frozenset(
    {
        "PicklistAttributeMetadata",
        "StateAttributeMetadata",
        "StatusAttributeMetadata",
        "EnumAttributeMetadata",
        "EntityNameAttributeMetadata",
        "MultiSelectPicklistAttributeMetadata",
    }
)


@dataclass(frozen=True)
class MetadataCall:
    """One request to a metadata resource: its method, the parts of its path, options, JSON body, root."""

    method: str
    locator: str | None
    rest: str
    params: Mapping[str, str]
    body: Any
    root: str  # https://host/api/data/v9.2/


@dataclass(frozen=True)
class Expand:
    """One ``$expand`` item of a metadata request and its nested options."""

    name: str
    options: Mapping[str, str]

    @property
    def select(self) -> tuple[str, ...] | None:
        """The nested ``$select`` names, if any."""
        text = self.options.get("$select")
        return None if text is None else tuple(s.strip() for s in text.split(",") if s.strip())


def split_items(text: str, separator: str = ",") -> list[str]:
    """Split on ``separator`` outside parentheses."""
    items: list[str] = []
    depth = 0
    current: list[str] = []
    for character in text:
        if character == separator and depth == 0:
            items.append("".join(current).strip())
            current = []
            continue
        depth += (character == "(") - (character == ")")
        current.append(character)
    if "".join(current).strip():
        items.append("".join(current).strip())
    return items


def parse_expands(text: str | None) -> list[Expand]:
    """``A($select=x,y;$expand=B($select=z)),C`` → [Expand(A, {$select, $expand}), Expand(C, {})]."""
    expands: list[Expand] = []
    for item in split_items(text or ""):
        name, _, rest = item.partition("(")
        options: dict[str, str] = {}
        if rest:
            if not rest.endswith(")"):
                raise errors.bad_request(f"Syntax error in $expand: unbalanced parentheses in '{item}'.")
            for option in split_items(rest[:-1], ";"):
                key, _, value = option.partition("=")
                options[key.strip()] = value.strip()
        expands.append(Expand(name.strip(), options))
    return expands


def project(row: dict[str, Any], select: Sequence[str] | None) -> dict[str, Any]:
    """``row`` with only ``select`` (plus ``MetadataId`` and ``@odata.type``)."""
    if select is None:
        return row
    return {k: v for k, v in row.items() if k in select or k in ("MetadataId", "@odata.type")}


class MetadataApi:
    """Answers the metadata resources of one organization (``org()``: replaced on reset)."""

    def __init__(
        self, org: Callable[[], Organization], json_response: Respond, empty_response: Respond
    ) -> None:
        self._org = org
        self._json = json_response
        self._empty = empty_response

    @property
    def org(self) -> Organization:
        """The current organization."""
        return self._org()

    # -- routing ----------------------------------------------------------------------------------------

    def entity_definitions(self, call: MetadataCall) -> Response:
        """``EntityDefinitions[(…)][/…]``."""
        if call.locator is None:
            return self._entity_collection(call)
        table = self.entity(call.locator)
        if not call.rest:
            return self._entity_resource(call, table)
        part, sub_locator, tail = _split_segment(call.rest)
        if part == "Keys" and not tail:
            return self._keys(call, table, sub_locator)
        if part == "Attributes":
            return self._attributes(call, table, sub_locator, tail)
        if part in _RELATIONSHIP_NAVIGATIONS and not tail and sub_locator is None and call.method == "GET":
            rows = customization.relationships_of(self.org, table, part)
            page = apply(rows, parse_query(call.params), keep=("MetadataId", "@odata.type"))
            return self._json({"@odata.context": f"{call.root}$metadata#{part}", "value": page.rows})
        raise errors.resource_not_found(f"EntityDefinitions({call.locator})/{call.rest}")

    def _entity_collection(self, call: MetadataCall) -> Response:
        if call.rest:
            raise errors.resource_not_found(f"EntityDefinitions/{call.rest}")
        if call.method == "GET":
            return self._entities(call.params, f"{call.root}$metadata#")
        if call.method == "POST":
            table = customization.create_table(self.org, call.body)
            return self._empty(204, {"OData-EntityId": f"{call.root}EntityDefinitions({table.metadata_id})"})
        raise errors.method_not_allowed(call.method, "EntityDefinitions")

    def _entity_resource(self, call: MetadataCall, table: Table) -> Response:
        if call.method == "GET":
            return self._entity(table, call.params, f"{call.root}$metadata#")
        if call.method == "DELETE":
            customization.delete_table(self.org, table)
            return self._empty(204)
        if call.method in ("PUT", "PATCH"):
            customization.update_table(self.org, table, call.body)
            return self._empty(204)
        raise errors.method_not_allowed(call.method, "EntityDefinitions")

    def relationship_definitions(self, call: MetadataCall) -> Response:
        """``RelationshipDefinitions[(…)]``."""
        if call.rest:
            raise errors.resource_not_found(f"RelationshipDefinitions/{call.rest}")
        context = f"{call.root}$metadata#RelationshipDefinitions"
        keep = ("MetadataId", "@odata.type")
        if call.locator is None:
            if call.method == "GET":
                page = apply(customization.all_relationships(self.org), parse_query(call.params), keep=keep)
                return self._json({"@odata.context": context, "value": page.rows})
            if call.method == "POST":
                relationship_id = customization.create_relationship(self.org, call.body)
                location = f"{call.root}RelationshipDefinitions({relationship_id})"
                return self._empty(204, {"OData-EntityId": location})
            raise errors.method_not_allowed(call.method, "RelationshipDefinitions")
        found = customization.find_relationship(self.org, call.locator)
        if call.method == "GET":
            page = apply([found], parse_query(call.params), keep=keep)
            return self._json({"@odata.context": f"{context}/$entity", **page.rows[0]})
        if call.method == "DELETE":
            customization.delete_relationship(self.org, str(found["MetadataId"]))
            return self._empty(204)
        raise errors.method_not_allowed(call.method, "RelationshipDefinitions")

    def create_entities(self, call: MetadataCall) -> Response:
        """``POST CreateEntities``: custom tables from ComplexEntityMetadata (the reply's shape ASSUMED)."""
        ids = customization.create_entities(self.org, call.body)
        return self._json(
            {
                "@odata.context": f"{call.root}$metadata#{NAMESPACE}CreateEntitiesResponse",
                "EntityIds": [str(i) for i in ids],
            }
        )

    def retrieve_metadata_changes(self, call: MetadataCall) -> Response:
        """``GET RetrieveMetadataChanges(Query=@p1)?@p1=<EntityQueryExpression JSON>``."""
        body = customization.retrieve_metadata_changes(self.org, call.locator or "", call.params)
        context = f"{call.root}$metadata#{NAMESPACE}RetrieveMetadataChangesResponse"
        return self._json({"@odata.context": context, **body})

    def reactivate(self, call: MetadataCall) -> Response:
        """``POST ReactivateEntityKey``."""
        body, root = call.body, call.root
        if not isinstance(body, Mapping):
            raise errors.bad_request(
                "ReactivateEntityKey expects EntityLogicalName and EntityKeyLogicalName."
            )
        table = self.org.table(str(body.get("EntityLogicalName", "")))
        if table is None:
            raise metadata.entity_not_found(str(body.get("EntityLogicalName", "")))
        key = self._key(table, f"LogicalName='{body.get('EntityKeyLogicalName', '')}'")
        self.org.keys.reactivate(table, key.metadata_id)
        return self._json(
            {
                "@odata.context": f"{root}$metadata#{NAMESPACE}ReactivateEntityKeyResponse",
                "EntityKeyIndexStatus": str(key.status),
            }
        )

    # -- entities -----------------------------------------------------------------------------------------

    def entity(self, locator: str) -> Table:
        """The table a locator names: ``LogicalName='x'`` or a MetadataId (404 when there is none)."""
        text = locator.strip()
        if values.is_guid(text):
            found = next((t for t in self.org.tables if t.metadata_id == text.lower()), None)
        else:
            name, _, literal = text.partition("=")
            if name.strip() != "LogicalName" or not literal.strip().startswith("'"):
                raise errors.bad_request(f"EntityDefinitions({locator}) is not a valid key.")
            found = self.org.table(literal.strip().strip("'"))
        if found is None:
            raise metadata.entity_not_found(text)
        return found

    def _entity_row(self, table: Table, expands: Sequence[Expand]) -> dict[str, Any]:
        row = metadata.entity_json(table, self.org.keys)
        for expand in expands:
            if expand.name == "Attributes":
                rows = [attribute_json(table, c) for c in table.columns.values()]
                row["Attributes"] = self._nested(rows, expand)
            elif expand.name == "Keys":
                row["Keys"] = self._nested(
                    [metadata.key_json(k) for k in self.org.keys.for_table(table)], expand
                )
            elif expand.name in _RELATIONSHIP_NAVIGATIONS:
                row[expand.name] = self._nested(
                    customization.relationships_of(self.org, table, expand.name), expand
                )
            else:
                raise errors.bad_request(
                    f"Could not find a property named '{expand.name}' on type '{NAMESPACE}EntityMetadata'."
                )
        return row

    @staticmethod
    def _nested(rows: list[dict[str, Any]], expand: Expand) -> list[dict[str, Any]]:
        unsupported = set(expand.options) - {"$select", "$filter"}
        if unsupported:
            raise errors.bad_request(
                f"The query option '{sorted(unsupported)[0]}' is not supported inside $expand."
            )
        if "$filter" in expand.options:
            rows = apply(rows, parse_query({"$filter": expand.options["$filter"]}), keep=("MetadataId",)).rows
        return [project(r, expand.select) for r in rows]

    def _entity_query(self, params: Mapping[str, str]) -> tuple[Query, list[Expand]]:
        sample = metadata.entity_json(self.org.tables[0], self.org.keys)
        query = parse_query(
            {k: v for k, v in params.items() if k != "$expand"},
            properties=[*sample, *_ENTITY_NAVIGATIONS],
            type_name=f"{NAMESPACE}EntityMetadata",
        )
        return query, parse_expands(params.get("$expand"))

    def _entities(self, params: Mapping[str, str], context: str) -> Response:
        query, expands = self._entity_query(params)
        rows = [self._entity_row(t, expands) for t in self.org.tables]
        page = apply(rows, query, keep=("MetadataId", *(e.name for e in expands)))
        return self._json({"@odata.context": f"{context}EntityDefinitions", "value": page.rows})

    def _entity(self, table: Table, params: Mapping[str, str], context: str) -> Response:
        query, expands = self._entity_query(params)
        page = apply(
            [self._entity_row(table, expands)], query, keep=("MetadataId", *(e.name for e in expands))
        )
        return self._json({"@odata.context": f"{context}EntityDefinitions/$entity", **page.rows[0]})

    # -- attributes ---------------------------------------------------------------------------------------

    def _attributes(self, call: MetadataCall, table: Table, locator: str | None, tail: str) -> Response:
        method, params, body, root = call.method, call.params, call.body, call.root
        cast = _cast(tail)
        context = f"{root}$metadata#EntityDefinitions({table.metadata_id})/Attributes"
        if locator is None:
            if tail and cast is None:
                raise errors.resource_not_found(f"Attributes/{tail}")
            if method == "POST" and not tail:
                column = customization.add_column(self.org, table, body)
                attribute_id = attributes_id(table, column)
                location = f"{root}EntityDefinitions({table.metadata_id})/Attributes({attribute_id})"
                return self._empty(204, {"OData-EntityId": location})
            if method != "GET":
                raise errors.method_not_allowed(method, "Attributes")
            columns = [c for c in table.columns.values() if cast is None or c.kind in CASTS[cast]]
            rows = self._attribute_rows(table, columns, cast, params)
            page = apply(
                rows,
                self._attribute_query(params),
                keep=("MetadataId", "@odata.type", "OptionSet", "GlobalOptionSet"),
            )
            suffix = f"/{NAMESPACE}{cast}" if cast else ""
            return self._json({"@odata.context": f"{context}{suffix}", "value": page.rows})
        column = self._column(table, locator)
        if method == "DELETE" and not tail:
            customization.delete_column(self.org, table, column)
            return self._empty(204)
        if method == "PUT" and not tail:
            customization.update_column(self.org, table, column, body)
            return self._empty(204)
        if method != "GET":
            raise errors.method_not_allowed(method, "Attributes")
        if tail and cast is None:
            raise errors.resource_not_found(f"Attributes({locator})/{tail}")
        if cast is not None and column.kind not in CASTS[cast]:
            raise errors.WebApiError(
                404, errors.OBJECT_DOES_NOT_EXIST,
                f"The attribute {column.name} is not of type {NAMESPACE}{cast}.",
            )  # fmt: skip
        rows = self._attribute_rows(table, [column], cast or _own_cast(column), params)
        page = apply(
            rows,
            self._attribute_query(params),
            keep=("MetadataId", "@odata.type", "OptionSet", "GlobalOptionSet"),
        )
        return self._json({"@odata.context": f"{context}/$entity", **page.rows[0]})

    @staticmethod
    def _attribute_query(params: Mapping[str, str]) -> Query:
        return parse_query({k: v for k, v in params.items() if k != "$expand"})

    def _attribute_rows(
        self, table: Table, columns: Sequence[Column], cast: str | None, params: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        expands = parse_expands(params.get("$expand"))
        for expand in expands:
            allowed = expand.name in ("OptionSet", "GlobalOptionSet") and (
                cast in _ENUM_CASTS or cast == "BooleanAttributeMetadata"
            )
            if not allowed:
                type_name = f"{NAMESPACE}{cast or 'AttributeMetadata'}"
                raise errors.bad_request(
                    f"Could not find a property named '{expand.name}' on type '{type_name}'."
                )
        rows: list[dict[str, Any]] = []
        for column in columns:
            row = attribute_json(table, column)
            for expand in expands:
                if expand.name == "GlobalOptionSet" or column.kind not in OPTION_SET_KINDS:
                    row[expand.name] = None  # local option sets only: no global one
                else:
                    row[expand.name] = project(option_set_json(table, column), expand.select)
            rows.append(row)
        return rows

    def _column(self, table: Table, locator: str) -> Column:
        text = locator.strip()
        if values.is_guid(text):
            found = next((c for c in table.columns.values() if attributes_id(table, c) == text.lower()), None)
        else:
            found = table.columns.get(text.partition("=")[2].strip().strip("'"))
        if found is None:
            raise errors.WebApiError(
                404,
                errors.OBJECT_DOES_NOT_EXIST,
                f"Could not find an attribute {text} on {table.logical_name}.",
            )
        return found

    # -- keys ---------------------------------------------------------------------------------------------

    def _keys(self, call: MetadataCall, table: Table, key_locator: str | None) -> Response:
        method, params, body, root = call.method, call.params, call.body, call.root
        if method == "POST" and key_locator is None:
            schema_name, key_attributes, display = metadata.key_definition(body)
            key = self.org.keys.define(table, schema_name, key_attributes, display)
            entity_id = f"{root}EntityDefinitions(LogicalName='{table.logical_name}')/Keys({key.metadata_id})"
            return self._empty(204, {"OData-EntityId": entity_id})
        context = f"{root}$metadata#EntityDefinitions('{table.logical_name}')/Keys"
        if key_locator is None:
            if method != "GET":
                raise errors.method_not_allowed(method, "Keys")
            rows = [metadata.key_json(k) for k in self.org.keys.for_table(table)]
            page = apply(rows, parse_query(params), keep=("MetadataId",))
            return self._json({"@odata.context": context, "value": page.rows})
        key = self._key(table, key_locator)
        if method == "DELETE":
            self.org.keys.delete(table, key.metadata_id)
            return self._empty(204)
        if method != "GET":
            raise errors.method_not_allowed(method, "Keys")
        page = apply([metadata.key_json(key)], parse_query(params), keep=("MetadataId",))
        return self._json({"@odata.context": f"{context}/$entity", **page.rows[0]})

    def _key(self, table: Table, key_locator: str) -> EntityKey:
        text = key_locator.strip()
        keys = self.org.keys.for_table(table)
        if values.is_guid(text):
            found = next((k for k in keys if str(k.metadata_id) == text.lower()), None)
        else:
            logical_name = text.partition("=")[2].strip().strip("'").lower()
            found = next((k for k in keys if k.logical_name == logical_name), None)
        if found is None:
            raise errors.WebApiError(
                404, errors.OBJECT_DOES_NOT_EXIST, f"No entity key {text} on {table.logical_name}."
            )
        return found


def attributes_id(table: Table, column: Column) -> str:
    """The MetadataId of a column's AttributeMetadata."""
    return str(attribute_json(table, column)["MetadataId"])


def _cast(tail: str) -> str | None:
    """``Microsoft.Dynamics.CRM.PicklistAttributeMetadata`` → ``PicklistAttributeMetadata`` (or None)."""
    if not tail:
        return None
    name = tail.removeprefix(NAMESPACE)
    if name == tail or "/" in name or name not in CASTS:
        return None
    return name


def _own_cast(column: Column) -> str | None:
    """A single attribute read without a cast still carries its type's navigation properties."""
    if column.kind in OPTION_SET_KINDS:
        return "BooleanAttributeMetadata" if column.kind is Kind.BOOLEAN else "EnumAttributeMetadata"
    return None


_SEGMENT = re.compile(r"^([^(/]*)(?:\(([^)]*)\))?/?(.*)$")


def _split_segment(path: str) -> tuple[str, str | None, str]:
    """``Name(locator)/rest`` → (Name, locator or None, rest)."""
    match = _SEGMENT.match(path)
    if match is None:
        raise errors.resource_not_found(path)
    return match.group(1), match.group(2), match.group(3)


def new_id() -> uuid.UUID:
    """A fresh MetadataId."""
    return uuid.uuid4()
