"""EntityDefinitions: tables, their attributes and alternate keys as the metadata Web API describes them.

Property names and shapes follow a real EntityDefinitions document (an ``opportunity`` EntityMetadata
from a D365 sandbox, kept under tests/vectors): ``LogicalName``, ``SchemaName``, ``EntitySetName``,
``MetadataId``, ``Attributes`` with ``@odata.type``, ``AttributeType``, ``AttributeTypeName``,
``RequiredLevel`` ``{"Value", "CanBeChanged", "ManagedPropertyLogicalName"}``, ``Targets``, and ``Keys``
(EntityKeyMetadata: ``KeyAttributes``, ``EntityKeyIndexStatus``, ``AsyncJob``). Only the properties the
simulator knows are filled; ``Keys`` and ``Attributes`` appear when expanded, as navigation properties do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulators.dataverse import errors
from simulators.dataverse.attributes import attribute_json, label, managed_property
from simulators.dataverse.keys import EntityKey, Keys
from simulators.dataverse.security import privileges_json
from simulators.dataverse.tables import Table

__all__ = ["attribute_json", "entity_json", "entity_not_found", "key_definition", "key_json"]


def key_json(key: EntityKey) -> dict[str, Any]:
    """One EntityKeyMetadata."""
    return {
        "MetadataId": str(key.metadata_id),
        "LogicalName": key.logical_name,
        "SchemaName": key.schema_name,
        "EntityLogicalName": key.entity,
        "KeyAttributes": list(key.attributes),
        "EntityKeyIndexStatus": str(key.status),
        "DisplayName": label(key.display_name),
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
    managed = not table.custom
    display = table.display_name or table.schema_name
    body: dict[str, Any] = {
        "MetadataId": table.metadata_id,
        "HasChanged": None,
        "LogicalName": table.logical_name,
        "SchemaName": table.schema_name,
        "EntitySetName": table.entity_set,
        "LogicalCollectionName": table.entity_set,
        "CollectionSchemaName": f"{table.schema_name}s",
        "PrimaryIdAttribute": table.primary_id,
        "PrimaryNameAttribute": table.primary_name,
        "PrimaryImageAttribute": None,
        "ObjectTypeCode": table.object_type_code,
        "OwnershipType": table.ownership,
        "TableType": "Standard",
        "IsCustomEntity": table.custom,
        "IsManaged": managed,
        "IsPrivate": False,
        "IsIntersect": False,
        "IsActivity": table.primary_id == "activityid",
        "IsActivityParty": False,
        "IsLogicalEntity": False,
        "IsChildEntity": False,
        "IsBPFEntity": False,
        "IsStateModelAware": "statecode" in table.columns,
        "IsValidForQueue": False,
        "IsOptimisticConcurrencyEnabled": True,
        "ChangeTrackingEnabled": table.change_tracking,
        "CanChangeTrackingBeEnabled": managed_property(True, "canchangetrackingbeenabled"),
        "HasActivities": False,
        "HasNotes": True,
        "IntroducedVersion": "5.0.0.0" if managed else "1.0.0.0",
        "DisplayName": label(display, managed=managed),
        "DisplayCollectionName": label(f"{display}s", managed=managed),
        "Description": label("", managed=managed),
        "IsCustomizable": managed_property(True, "iscustomizable"),
        "IsRenameable": managed_property(True, "isrenameable"),
        "IsValidForAdvancedFind": True,
        "IsAuditEnabled": managed_property(False, "canmodifyauditsettings"),
        "CanCreateAttributes": managed_property(True, "cancreateattributes"),
        "Privileges": privileges_json(table),
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
