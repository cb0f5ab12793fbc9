"""EntityDefinitions: tables, their attributes and alternate keys as the metadata Web API describes them.

Property names and shapes follow a real EntityDefinitions document (an ``opportunity`` EntityMetadata
from a D365 sandbox, kept under tests/vectors): ``LogicalName``, ``SchemaName``, ``EntitySetName``,
``MetadataId``, ``Attributes`` with ``@odata.type``, ``AttributeType``, ``AttributeTypeName``,
``RequiredLevel`` ``{"Value", "CanBeChanged", "ManagedPropertyLogicalName"}``, ``Targets``, and ``Keys``
(EntityKeyMetadata: ``KeyAttributes``, ``EntityKeyIndexStatus``, ``AsyncJob``). Only the properties the
simulator knows are filled; ``Keys`` and ``Attributes`` appear when expanded, as navigation properties do.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from simulators.dataverse import errors
from simulators.dataverse.keys import EntityKey, Keys
from simulators.dataverse.tables import Column, Kind, Table

_ATTRIBUTE_TYPE: Mapping[Kind, tuple[str, str]] = {
    Kind.STRING: ("StringAttributeMetadata", "StringType"),
    Kind.MEMO: ("MemoAttributeMetadata", "MemoType"),
    Kind.INTEGER: ("IntegerAttributeMetadata", "IntegerType"),
    Kind.BIGINT: ("BigIntAttributeMetadata", "BigIntType"),
    Kind.DECIMAL: ("DecimalAttributeMetadata", "DecimalType"),
    Kind.DOUBLE: ("DoubleAttributeMetadata", "DoubleType"),
    Kind.MONEY: ("MoneyAttributeMetadata", "MoneyType"),
    Kind.BOOLEAN: ("BooleanAttributeMetadata", "BooleanType"),
    Kind.DATETIME: ("DateTimeAttributeMetadata", "DateTimeType"),
    Kind.PICKLIST: ("PicklistAttributeMetadata", "PicklistType"),
    Kind.STATE: ("StateAttributeMetadata", "StateType"),
    Kind.STATUS: ("StatusAttributeMetadata", "StatusType"),
    Kind.LOOKUP: ("LookupAttributeMetadata", "LookupType"),
    Kind.CUSTOMER: ("LookupAttributeMetadata", "CustomerType"),
    Kind.OWNER: ("LookupAttributeMetadata", "OwnerType"),
    Kind.UNIQUEIDENTIFIER: ("AttributeMetadata", "UniqueidentifierType"),
    Kind.ENTITYNAME: ("EntityNameAttributeMetadata", "EntityNameType"),
}


def _label(text: str) -> dict[str, Any]:
    label = {"Label": text, "LanguageCode": 1033, "IsManaged": False, "MetadataId": None, "HasChanged": None}
    return {"LocalizedLabels": [label], "UserLocalizedLabel": label}


def _metadata_id(table: Table, name: str) -> str:
    return str(uuid.uuid5(uuid.UUID(table.metadata_id), name))


def attribute_json(table: Table, column: Column) -> dict[str, Any]:
    """One AttributeMetadata."""
    odata_type, type_name = _ATTRIBUTE_TYPE[column.kind]
    body: dict[str, Any] = {
        "@odata.type": f"#Microsoft.Dynamics.CRM.{odata_type}",
        "MetadataId": _metadata_id(table, column.name),
        "LogicalName": column.name,
        "SchemaName": column.name,
        "EntityLogicalName": table.logical_name,
        "AttributeType": str(column.kind),
        "AttributeTypeName": {"Value": type_name},
        "AttributeOf": None,
        "IsPrimaryId": column.name == table.primary_id,
        "IsPrimaryName": column.name == table.primary_name,
        "IsValidForCreate": column.valid_for_create,
        "IsValidForUpdate": column.valid_for_update,
        "IsValidForRead": column.valid_for_read,
        "RequiredLevel": {
            "Value": column.required,
            "CanBeChanged": column.required != "SystemRequired",
            "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
        },
    }
    if column.max_length is not None:
        body["MaxLength"] = column.max_length
    if column.is_lookup:
        body["Targets"] = list(column.targets)
    return body


def key_json(key: EntityKey) -> dict[str, Any]:
    """One EntityKeyMetadata."""
    return {
        "MetadataId": str(key.metadata_id),
        "LogicalName": key.logical_name,
        "SchemaName": key.schema_name,
        "EntityLogicalName": key.entity,
        "KeyAttributes": list(key.attributes),
        "EntityKeyIndexStatus": str(key.status),
        "DisplayName": _label(key.display_name),
        "IsManaged": False,
        "IsCustomizable": {
            "Value": True,
            "CanBeChanged": True,
            "ManagedPropertyLogicalName": "iscustomizable",
        },
        "_asyncjob_value": str(key.async_job),
    }


def entity_json(
    table: Table, keys: Keys, *, with_keys: bool = False, with_attributes: bool = False
) -> dict[str, Any]:
    """One EntityMetadata (``Keys``/``Attributes`` only when expanded)."""
    body: dict[str, Any] = {
        "MetadataId": table.metadata_id,
        "LogicalName": table.logical_name,
        "SchemaName": table.schema_name,
        "EntitySetName": table.entity_set,
        "LogicalCollectionName": table.entity_set,
        "CollectionSchemaName": f"{table.schema_name}s",
        "PrimaryIdAttribute": table.primary_id,
        "PrimaryNameAttribute": table.primary_name,
        "ObjectTypeCode": table.object_type_code,
        "OwnershipType": table.ownership,
        "TableType": "Standard",
        "IsCustomEntity": False,
        "IsOptimisticConcurrencyEnabled": True,
        "ChangeTrackingEnabled": table.change_tracking,
        "DisplayName": _label(table.schema_name),
    }
    if with_keys:
        body["Keys"] = [key_json(k) for k in keys.for_table(table)]
    if with_attributes:
        body["Attributes"] = [attribute_json(table, c) for c in table.columns.values()]
    return body


def _localized_text(value: Any) -> str | None:
    if isinstance(value, Mapping):
        labels = value.get("LocalizedLabels") or []
        if labels and isinstance(labels[0], Mapping):
            label = labels[0].get("Label")
            return label if isinstance(label, str) else None
    return None


def key_definition(body: Any) -> tuple[str, list[str], str | None]:
    """(SchemaName, KeyAttributes, display name) from a POSTed EntityKeyMetadata."""
    if not isinstance(body, Mapping):
        raise errors.bad_request("The request body must be an EntityKeyMetadata object.")
    schema_name = body.get("SchemaName")
    attributes = body.get("KeyAttributes")
    if not isinstance(schema_name, str) or not schema_name:
        raise errors.bad_request("EntityKeyMetadata.SchemaName is required.")
    if not isinstance(attributes, list) or not all(isinstance(a, str) for a in attributes):
        raise errors.bad_request("EntityKeyMetadata.KeyAttributes must be a list of attribute logical names.")
    return schema_name, list(attributes), _localized_text(body.get("DisplayName"))


def entity_not_found(name: str) -> errors.WebApiError:
    """EntityDefinitions for a table the organization does not have (text and code ASSUMED)."""
    return errors.WebApiError(
        404, errors.OBJECT_DOES_NOT_EXIST, f"Could not find an entity with LogicalName = '{name}'."
    )
