"""Metadata writes: custom tables and columns, relationships, and RetrieveMetadataChanges.

What "Create and update table definitions / column definitions / table relationships using the Web API"
describes, for custom tables and custom columns (names with a publisher prefix, ``new_Budget``):

- tables from EntityMetadata (``POST EntityDefinitions``) or ComplexEntityMetadata (``CreateEntities``),
  with exactly one primary-name string attribute; the entity set is the plural of the logical name;
- columns of type string, memo, integer, big integer, decimal, double, money, date/time, yes/no and choice
  (``POST …/Attributes``, definitions as ``…AttributeMetadata`` with ``@odata.type``), updated with ``PUT``
  (display name, required level, MaxLength, MinValue/MaxValue, Precision) and deleted;
- lookups through ``POST RelationshipDefinitions`` with a ``OneToManyRelationshipMetadata`` and its ``Lookup``
  (the lookup's SchemaName is its navigation property for ``@odata.bind``); many-to-many relationships are
  recorded (no intersect rows are served);
- a built-in table's lookups are listed as its relationships (names ``<target>_<table>_<column>``).

Refusals (texts and codes ASSUMED, no capture shows them): a name without a prefix, a duplicate name,
deleting or changing a system table or column, and file/image columns, which answer the documented
``NotSupported`` (405, 0x80040315).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from simulators.common.provenance import assumed, captured
from simulators.dataverse import errors, sdkmessages
from simulators.dataverse.attributes import NAMESPACE, attribute_json
from simulators.dataverse.metadata import entity_json, key_json
from simulators.dataverse.records import Organization
from simulators.dataverse.tables import (
    CollectionNavigation,
    Column,
    Kind,
    Navigation,
    Ownership,
    Table,
    custom_table,
    money,
)

_PREFIXED = re.compile(r"^[A-Za-z][A-Za-z0-9]{1,7}_[A-Za-z0-9_]+$")
_SIMPLE_KINDS: Mapping[str, Kind] = {
    "StringAttributeMetadata": Kind.STRING,
    "MemoAttributeMetadata": Kind.MEMO,
    "IntegerAttributeMetadata": Kind.INTEGER,
    "BigIntAttributeMetadata": Kind.BIGINT,
    "DecimalAttributeMetadata": Kind.DECIMAL,
    "DoubleAttributeMetadata": Kind.DOUBLE,
    "MoneyAttributeMetadata": Kind.MONEY,
    "DateTimeAttributeMetadata": Kind.DATETIME,
    "BooleanAttributeMetadata": Kind.BOOLEAN,
    "PicklistAttributeMetadata": Kind.PICKLIST,
}
_UNSUPPORTED_TYPES = frozenset(
    {"FileAttributeMetadata", "ImageAttributeMetadata", "MultiSelectPicklistAttributeMetadata"}
)
_BUILTIN_RELATIONSHIP_TARGETS = frozenset({"systemuser", "businessunit", "team", "transactioncurrency"})

captured(
    "dataverse",
    "RetrieveMetadataChanges",
    "EntityMetadata with Complex* attribute types and inline OptionSet, DeletedMetadata -- "
    "tests/vectors/dataverse/metadata/opportunity-metadata.json (a real response)",
)
assumed(
    "dataverse",
    "metadata writes",
    "CreateEntities' reply ({EntityIds}), entity set plurals, the refusals of unprefixed names, duplicates, "
    "system tables/columns and file/image columns (405 NotSupported 0x80040315 as documented), the names "
    "of built-in relationships (<target>_<table>_<column>), relationship JSON beyond the SDK's fields.",
)


def not_supported() -> errors.WebApiError:
    """The documented NotSupported refusal (405, 0x80040315)."""
    return errors.WebApiError(405, errors.NOT_SUPPORTED, "This action is not supported.")


def _prefixed(name: Any, what: str) -> str:
    if not isinstance(name, str) or not _PREFIXED.match(name):
        raise errors.bad_request(
            f"The {what} SchemaName '{name}' must start with a publisher customization prefix "
            "followed by an underscore, such as 'new_'."
        )
    return name


def _label_text(value: Any) -> str:
    if isinstance(value, Mapping):
        for item in value.get("LocalizedLabels") or []:
            if isinstance(item, Mapping) and isinstance(item.get("Label"), str):
                return str(item["Label"])
    return ""


def _type_of(body: Mapping[str, Any]) -> str:
    name = str(body.get("@odata.type", "")).lstrip("#").removeprefix(NAMESPACE).removeprefix("Complex")
    if not name:
        raise errors.bad_request(
            "An attribute definition needs its @odata.type (e.g. StringAttributeMetadata)."
        )
    return name


def _required(body: Mapping[str, Any]) -> Any:
    level = body.get("RequiredLevel")
    value = level.get("Value", "None") if isinstance(level, Mapping) else "None"
    if value not in ("None", "ApplicationRequired", "Recommended", "SystemRequired"):
        raise errors.bad_request(f"RequiredLevel '{value}' is not valid.")
    return value


def _options(body: Mapping[str, Any]) -> tuple[tuple[int, str], ...]:
    option_set = body.get("OptionSet")
    if not isinstance(option_set, Mapping):
        raise errors.bad_request("A choice column needs an OptionSet with its Options.")
    found: list[tuple[int, str]] = []
    for option in option_set.get("Options") or []:
        if not isinstance(option, Mapping) or not isinstance(option.get("Value"), int):
            raise errors.bad_request("Every option needs an integer Value.")
        found.append((int(option["Value"]), _label_text(option.get("Label")) or str(option["Value"])))
    if not found:
        raise errors.bad_request("A choice column needs at least one option.")
    return tuple(found)


def columns_from_metadata(body: Any) -> list[Column]:
    """The columns one AttributeMetadata definition makes (a money column brings its ``_base`` twin)."""
    if not isinstance(body, Mapping):
        raise errors.bad_request("The request body must be an AttributeMetadata object.")
    schema = _prefixed(body.get("SchemaName"), "column")
    type_name = _type_of(body)
    if type_name in _UNSUPPORTED_TYPES:
        raise not_supported()
    if type_name == "LookupAttributeMetadata":
        raise errors.bad_request(
            "A lookup column is created with its relationship: POST RelationshipDefinitions."
        )
    kind = _SIMPLE_KINDS.get(type_name)
    if kind is None:
        raise errors.bad_request(f"The attribute type '{type_name}' cannot be created.")
    name = schema.lower()
    common: dict[str, Any] = {
        "schema_name": schema,
        "display_name": _label_text(body.get("DisplayName")),
        "custom": True,
        "min_value": body.get("MinValue"),
        "max_value": body.get("MaxValue"),
        "precision": body.get("Precision"),
    }
    required = _required(body)
    if kind is Kind.MONEY:
        value, base = money(name, required)
        return [replace(value, **common), replace(base, schema_name=f"{schema}_Base", custom=True)]
    if kind is Kind.STRING or kind is Kind.MEMO:
        length = body.get("MaxLength") or (100 if kind is Kind.STRING else 2000)
        return [Column(name, kind, required, max_length=int(length), **common)]
    if kind is Kind.DATETIME:
        return [Column(name, kind, required, date_only=body.get("Format") == "DateOnly", **common)]
    if kind is Kind.BOOLEAN:
        option_set = body.get("OptionSet")
        options: Mapping[str, Any] = option_set if isinstance(option_set, Mapping) else {}
        yes = _label_text((options.get("TrueOption") or {}).get("Label")) or "Yes"
        no = _label_text((options.get("FalseOption") or {}).get("Label")) or "No"
        return [Column(name, kind, required, default=False, labels=((1, yes), (0, no)), **common)]
    if kind is Kind.PICKLIST:
        labels = _options(body)
        return [Column(name, kind, required, options=tuple(v for v, _ in labels), labels=labels, **common)]
    return [Column(name, kind, required, **common)]


def _plural(logical_name: str) -> str:
    """The entity set name Dataverse derives from a logical name (English plural; ASSUMED rules)."""
    if re.search(r"(s|x|z|ch|sh)$", logical_name):
        return logical_name + "es"
    if re.search(r"[^aeiou]y$", logical_name):
        return logical_name[:-1] + "ies"
    return logical_name + "s"


def create_table(org: Organization, body: Any) -> Table:
    """A custom table from an EntityMetadata (or ComplexEntityMetadata) definition."""
    if not isinstance(body, Mapping):
        raise errors.bad_request("The request body must be an EntityMetadata object.")
    schema = _prefixed(body.get("SchemaName"), "table")
    logical = schema.lower()
    if org.table(logical) is not None:
        raise errors.WebApiError(
            400, "0x80047013", f"An entity with the specified name already exists. Name: {logical}"
        )
    attributes = body.get("Attributes")
    if not isinstance(attributes, list):
        raise errors.bad_request("EntityMetadata.Attributes must list the table's primary name attribute.")
    primary = [a for a in attributes if isinstance(a, Mapping) and a.get("IsPrimaryName")]
    if len(primary) != 1 or _type_of(primary[0]) != "StringAttributeMetadata":
        raise errors.bad_request("A new table needs exactly one primary name attribute of type String.")
    columns: list[Column] = []
    for attribute in attributes:
        columns += columns_from_metadata(attribute)
    organization_owned = body.get("OwnershipType") == "OrganizationOwned"
    ownership: Ownership = "OrganizationOwned" if organization_owned else "UserOwned"
    customs = [t for t in org.tables if t.custom]
    table = custom_table(
        logical,
        _plural(logical),
        columns,
        primary_name=str(primary[0]["SchemaName"]).lower(),
        schema_name=schema,
        object_type_code=10100 + len(customs),
        ownership=ownership,
    )
    table = replace(
        table,
        custom=True,
        display_name=_label_text(body.get("DisplayName")),
        change_tracking=bool(body.get("ChangeTrackingEnabled", False)),
        metadata_id=str(uuid.uuid4()),
    )
    with org.store.lock:
        org.add_table(table)
        sdkmessages.add_table_filters(org, table)
    return table


def create_entities(org: Organization, body: Any) -> list[str]:
    """``CreateEntities``: every table in ``Entities``; the MetadataIds created."""
    entities = body.get("Entities") if isinstance(body, Mapping) else None
    if not isinstance(entities, list) or not entities:
        raise errors.bad_request("CreateEntities expects Entities: a list of ComplexEntityMetadata.")
    return [create_table(org, entity).metadata_id for entity in entities]


def update_table(org: Organization, table: Table, body: Any) -> None:
    """``PUT EntityDefinitions(…)``: the display name and change tracking of a table."""
    if not isinstance(body, Mapping):
        raise errors.bad_request("The request body must be an EntityMetadata object.")
    changes: dict[str, Any] = {}
    if "DisplayName" in body:
        changes["display_name"] = _label_text(body["DisplayName"])
    if "ChangeTrackingEnabled" in body:
        changes["change_tracking"] = bool(body["ChangeTrackingEnabled"]) or table.change_tracking
    org.add_table(replace(table, **changes))


def delete_table(org: Organization, table: Table) -> None:
    """``DELETE EntityDefinitions(…)`` of a custom table: its rows, keys and relationships go with it."""
    if not table.custom:
        raise errors.WebApiError(
            400,
            errors.NOT_SUPPORTED,
            f"The entity {table.logical_name} is not a custom entity and cannot be deleted.",
        )
    with org.store.lock:
        for key in org.keys.for_table(table):
            org.keys.delete(table, key.metadata_id)
        for row in list(org.store.rows(table.logical_name)):
            org.store.remove(table.logical_name, row[table.primary_id])
        for relationship_id, relationship in list(org.relationships.items()):
            if table.logical_name in _ends(relationship):
                delete_relationship(org, relationship_id)
        org.remove_table(table.logical_name)


def add_column(org: Organization, table: Table, body: Any) -> Column:
    """``POST …/Attributes``: a custom column on any table."""
    columns = columns_from_metadata(body)
    if any(c.name in table.columns for c in columns):
        raise errors.WebApiError(
            400, "0x80044363", f"An attribute with the specified name {columns[0].name} already exists."
        )
    _replace_columns(org, table, {**table.columns, **{c.name: c for c in columns}})
    return columns[0]


def update_column(org: Organization, table: Table, column: Column, body: Any) -> None:
    """``PUT …/Attributes(…)``: display name, required level, MaxLength, MinValue/MaxValue, Precision."""
    if not isinstance(body, Mapping):
        raise errors.bad_request("The request body must be an AttributeMetadata object.")
    changes: dict[str, Any] = {}
    if "DisplayName" in body:
        changes["display_name"] = _label_text(body["DisplayName"])
    if "RequiredLevel" in body and column.required != "SystemRequired":
        changes["required"] = _required(body)
    if "MaxLength" in body and column.kind in (Kind.STRING, Kind.MEMO):
        changes["max_length"] = int(body["MaxLength"])
    for prop, field in (("MinValue", "min_value"), ("MaxValue", "max_value"), ("Precision", "precision")):
        if prop in body and body[prop] is not None:
            changes[field] = body[prop]
    _replace_columns(org, table, {**table.columns, column.name: replace(column, **changes)})


def delete_column(org: Organization, table: Table, column: Column) -> None:
    """``DELETE …/Attributes(…)`` of a custom column (a money column takes its ``_base`` twin along)."""
    if not column.custom:
        raise errors.WebApiError(
            400,
            errors.NOT_SUPPORTED,
            f"The attribute {column.name} is not a custom attribute and cannot be deleted.",
        )
    gone = {column.name, f"{column.name}_base"} if column.kind is Kind.MONEY else {column.name}
    _replace_columns(org, table, {k: v for k, v in table.columns.items() if k not in gone})


def _replace_columns(
    org: Organization,
    table: Table,
    columns: Mapping[str, Column],
    navigations: Mapping[str, Navigation] | None = None,
) -> Table:
    navs = dict(table.navigations if navigations is None else navigations)
    navs = {k: v for k, v in navs.items() if v.column in columns}
    updated = replace(table, columns=dict(columns), navigations=navs)
    org.add_table(updated)
    return updated


# -- relationships -----------------------------------------------------------------------------------------


def _ends(relationship: Mapping[str, Any]) -> set[str]:
    return {
        str(relationship.get(k))
        for k in ("ReferencedEntity", "ReferencingEntity", "Entity1LogicalName", "Entity2LogicalName")
        if relationship.get(k)
    }


def _one_to_many(
    schema: str,
    referenced: str,
    referencing: str,
    attribute: str,
    navigation: str,
    *,
    custom: bool,
    relationship_id: str,
    cascade: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    cascades = {"Assign": "NoCascade", "Delete": "RemoveLink", "Merge": "NoCascade", "Reparent": "NoCascade",
                "Share": "NoCascade", "Unshare": "NoCascade", "RollupView": "NoCascade"}  # fmt: skip
    cascades.update({k: v for k, v in (cascade or {}).items() if isinstance(v, str)})
    return {
        "@odata.type": f"#{NAMESPACE}OneToManyRelationshipMetadata",
        "MetadataId": relationship_id,
        "HasChanged": None,
        "SchemaName": schema,
        "RelationshipType": "OneToManyRelationship",
        "IsCustomRelationship": custom,
        "IsManaged": not custom,
        "IsValidForAdvancedFind": True,
        "IsHierarchical": False,
        "SecurityTypes": "Append",
        "ReferencedEntity": referenced,
        "ReferencedAttribute": f"{referenced}id",
        "ReferencingEntity": referencing,
        "ReferencingAttribute": attribute,
        "ReferencedEntityNavigationPropertyName": schema,
        "ReferencingEntityNavigationPropertyName": navigation,
        "CascadeConfiguration": cascades,
        "AssociatedMenuConfiguration": {"Behavior": "UseCollectionName", "Group": "Details", "Order": 10000,
                                        "Label": {"LocalizedLabels": [], "UserLocalizedLabel": None}},
    }  # fmt: skip


def _builtin_relationships(org: Organization) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for table in org.tables:
        for column in table.columns.values():
            if not column.is_lookup or column.custom:
                continue
            for target in column.targets:
                if target in _BUILTIN_RELATIONSHIP_TARGETS or org.table(target) is None:
                    continue
                schema = f"{target}_{table.logical_name}_{column.name}"
                navigation = next(
                    (
                        n.name
                        for n in table.navigations.values()
                        if n.column == column.name and target in n.targets
                    ),
                    column.name,
                )
                relationship_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"dataverse-sim:relationship:{schema}"))
                found.append(
                    _one_to_many(schema, target, table.logical_name, column.name, navigation, custom=False,
                                 relationship_id=relationship_id)
                )  # fmt: skip
    return found


def all_relationships(org: Organization) -> list[dict[str, Any]]:
    """Every relationship: the built-in tables' lookups and the custom ones."""
    return [*_builtin_relationships(org), *org.relationships.values()]


def relationships_of(org: Organization, table: Table, kind: str) -> list[dict[str, Any]]:
    """``OneToManyRelationships`` (referenced), ``ManyToOneRelationships`` (referencing), or many-to-many."""
    name = table.logical_name
    rows = all_relationships(org)
    if kind == "OneToManyRelationships":
        return [r for r in rows if r.get("ReferencedEntity") == name]
    if kind == "ManyToOneRelationships":
        return [r for r in rows if r.get("ReferencingEntity") == name]
    return [r for r in rows if name in (r.get("Entity1LogicalName"), r.get("Entity2LogicalName"))]


def find_relationship(org: Organization, locator: str) -> dict[str, Any]:
    """The relationship a ``RelationshipDefinitions(…)`` locator names (MetadataId or ``SchemaName='x'``)."""
    text = locator.strip()
    wanted = text.partition("=")[2].strip().strip("'") if "=" in text else text.lower()
    key = "SchemaName" if "=" in text else "MetadataId"
    for row in all_relationships(org):
        if str(row.get(key)) == wanted:
            return row
    raise errors.WebApiError(404, errors.OBJECT_DOES_NOT_EXIST, f"Could not find a relationship {text}.")


def create_relationship(org: Organization, body: Any) -> str:
    """``POST RelationshipDefinitions``: a one-to-many with its lookup column, or a many-to-many."""
    if not isinstance(body, Mapping):
        raise errors.bad_request("The request body must be a RelationshipMetadata object.")
    schema = _prefixed(body.get("SchemaName"), "relationship")
    if any(r.get("SchemaName") == schema for r in all_relationships(org)):
        raise errors.WebApiError(400, "0x80047013", f"A relationship named {schema} already exists.")
    relationship_type = str(body.get("@odata.type", "")).lstrip("#").removeprefix(NAMESPACE)
    relationship_id = str(uuid.uuid4())
    if relationship_type == "ManyToManyRelationshipMetadata":
        first, second = (_table(org, body.get(k)) for k in ("Entity1LogicalName", "Entity2LogicalName"))
        org.relationships[relationship_id] = {
            "@odata.type": f"#{NAMESPACE}ManyToManyRelationshipMetadata",
            "MetadataId": relationship_id,
            "SchemaName": schema,
            "RelationshipType": "ManyToManyRelationship",
            "IsCustomRelationship": True,
            "IsManaged": False,
            "Entity1LogicalName": first.logical_name,
            "Entity2LogicalName": second.logical_name,
            "Entity1IntersectAttribute": first.primary_id,
            "Entity2IntersectAttribute": second.primary_id,
            "Entity1NavigationPropertyName": schema,
            "Entity2NavigationPropertyName": schema,
            "IntersectEntityName": str(body.get("IntersectEntityName") or schema.lower()),
        }
        return relationship_id
    if relationship_type != "OneToManyRelationshipMetadata":
        raise errors.bad_request(f"'{relationship_type}' is not a relationship type that can be created.")
    referenced = _table(org, body.get("ReferencedEntity"))
    referencing = _table(org, body.get("ReferencingEntity"))
    lookup = body.get("Lookup")
    if not isinstance(lookup, Mapping):
        raise errors.bad_request("A one-to-many relationship needs its Lookup attribute definition.")
    lookup_schema = _prefixed(lookup.get("SchemaName"), "lookup column")
    name = lookup_schema.lower()
    if name in referencing.columns:
        raise errors.WebApiError(
            400, "0x80044363", f"An attribute with the specified name {name} already exists."
        )
    column = Column(
        name,
        Kind.LOOKUP,
        _required(lookup),
        targets=(referenced.logical_name,),
        schema_name=lookup_schema,
        display_name=_label_text(lookup.get("DisplayName")),
        custom=True,
    )
    navigations = {
        **referencing.navigations,
        lookup_schema: Navigation(lookup_schema, name, (referenced.logical_name,)),
    }
    with org.store.lock:
        _replace_columns(org, referencing, {**referencing.columns, name: column}, navigations)
        refreshed = org.table(referenced.logical_name) or referenced
        collection = CollectionNavigation(schema, referencing.logical_name, name)
        org.add_table(replace(refreshed, collections={**refreshed.collections, schema: collection}))
        cascade = body.get("CascadeConfiguration")
        org.relationships[relationship_id] = _one_to_many(
            schema, referenced.logical_name, referencing.logical_name, name, lookup_schema, custom=True,
            relationship_id=relationship_id, cascade=cascade if isinstance(cascade, Mapping) else None,
        )  # fmt: skip
    return relationship_id


def delete_relationship(org: Organization, relationship_id: str) -> None:
    """``DELETE RelationshipDefinitions(…)`` of a custom relationship (its lookup column goes too)."""
    relationship = org.relationships.pop(relationship_id.lower(), None)
    if relationship is None:
        raise errors.WebApiError(400, errors.NOT_SUPPORTED, "Only custom relationships can be deleted.")
    referencing = org.table(str(relationship.get("ReferencingEntity", "")))
    attribute = str(relationship.get("ReferencingAttribute", ""))
    if referencing is not None and attribute in referencing.columns:
        _replace_columns(org, referencing, {k: v for k, v in referencing.columns.items() if k != attribute})
    referenced = org.table(str(relationship.get("ReferencedEntity", "")))
    if referenced is not None and relationship["SchemaName"] in referenced.collections:
        collections = {k: v for k, v in referenced.collections.items() if k != relationship["SchemaName"]}
        org.add_table(replace(referenced, collections=collections))


def _table(org: Organization, name: Any) -> Table:
    table = org.table(str(name or "").lower())
    if table is None:
        raise errors.WebApiError(
            404, errors.OBJECT_DOES_NOT_EXIST, f"Could not find an entity with LogicalName = '{name}'."
        )
    return table


# -- RetrieveMetadataChanges --------------------------------------------------------------------------------


def _conditions(expression: Any) -> list[tuple[str, str, Any]]:
    if not isinstance(expression, Mapping):
        return []
    found: list[tuple[str, str, Any]] = []
    for condition in (expression.get("Criteria") or {}).get("Conditions") or []:
        value = condition.get("Value")
        if isinstance(value, Mapping):
            value = value.get("Value")
        found.append((str(condition.get("PropertyName")), str(condition.get("ConditionOperator")), value))
    return found


def _passes(row: Mapping[str, Any], conditions: Iterable[tuple[str, str, Any]]) -> bool:
    for name, operator, value in conditions:
        actual = row.get(name)
        if operator == "Equals" and actual != value:
            return False
        if operator == "NotEquals" and actual == value:
            return False
        if operator == "In" and actual not in (value or []):
            return False
        if operator not in ("Equals", "NotEquals", "In"):
            raise errors.bad_request(
                f"The condition operator '{operator}' is not supported by the simulator."
            )
    return True


def _properties(expression: Any) -> list[str] | None:
    if not isinstance(expression, Mapping):
        return None
    properties = expression.get("Properties")
    if not isinstance(properties, Mapping) or properties.get("AllProperties"):
        return None
    names = properties.get("PropertyNames")
    return [str(n) for n in names] if isinstance(names, list) else None


def retrieve_metadata_changes(org: Organization, locator: str, params: Mapping[str, str]) -> dict[str, Any]:
    """``RetrieveMetadataChanges(Query=@p1)``: tables and attributes matching an EntityQueryExpression."""
    name, _, alias = locator.partition("=")
    if name.strip() != "Query":
        raise errors.bad_request(
            "RetrieveMetadataChanges expects its Query parameter: RetrieveMetadataChanges(Query=@p1)."
        )
    text = params.get(alias.strip()) if alias.strip().startswith("@") else alias
    try:
        query = json.loads(text or "")
    except ValueError as exc:
        raise errors.bad_request(f"The Query parameter is not a valid EntityQueryExpression: {exc}.") from exc
    entity_conditions = _conditions(query)
    entity_properties = _properties(query)
    attribute_query = query.get("AttributeQuery") if isinstance(query, Mapping) else None
    attribute_conditions = _conditions(attribute_query)
    attribute_properties = _properties(attribute_query)
    entities: list[dict[str, Any]] = []
    for table in org.tables:
        body = entity_json(table, org.keys)
        if not _passes(body, entity_conditions):
            continue
        attributes = [attribute_json(table, c, complex_types=True) for c in table.columns.values()]
        attributes = [a for a in attributes if _passes(a, attribute_conditions)]
        if attribute_properties is not None:
            keep = {*attribute_properties, "@odata.type", "MetadataId", "HasChanged"}
            attributes = [{k: v for k, v in a.items() if k in keep} for a in attributes]
        body["Attributes"] = attributes
        body["Keys"] = [key_json(k) for k in org.keys.for_table(table)]
        if entity_properties is not None:
            keep = {*entity_properties, "MetadataId", "HasChanged"}
            body = {k: v for k, v in body.items() if k in keep}
        entities.append(body)
    return {
        "EntityMetadata": entities,
        "ServerVersionStamp": f"{org.store.version}!{org.now_datetime():%m/%d/%Y %H:%M:%S}",
        "DeletedMetadata": {"Count": 0, "IsReadOnly": False, "Keys": [], "Values": []},
    }
