"""AttributeMetadata as the metadata Web API describes columns: typed properties, option sets, type casts.

Shapes follow a real metadata document (the ``opportunity`` RetrieveMetadataChanges response under
tests/vectors/dataverse/metadata): every attribute has its derived ``@odata.type`` and the properties of
that type (``MaxLength`` and ``FormatName`` of strings, ``MinValue``/``MaxValue``/``Precision`` of
numbers, ``Format`` and ``DateTimeBehavior`` of dates, ``Targets`` of lookups). Through the Web API,
``OptionSet`` and ``GlobalOptionSet`` of choice, state, status and yes/no columns are navigation
properties: they appear only when ``$expand``ed ("Query table definitions using the Web API"); the
RetrieveMetadataChanges function returns them inline with the ``Complex…`` type names, as the vector shows.

A type cast segment (``Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata``) keeps the attributes
of that type or a type derived from it (``EnumAttributeMetadata``: choices, states, statuses, entity
names; ``AttributeMetadata``: all).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from simulators.common.provenance import assumed, captured
from simulators.dataverse.records import STATUSES
from simulators.dataverse.schema.choices import boolean_labels, labels
from simulators.dataverse.tables import CHOICE_KINDS, Column, Kind, Table

captured(
    "dataverse",
    "attribute metadata",
    "Typed AttributeMetadata (MaxLength/FormatName, MinValue/MaxValue/Precision, Format/DateTimeBehavior, "
    "Targets) and OptionSetMetadata (Options with Label, StateOptionMetadata DefaultStatus/InvariantName, "
    "StatusOptionMetadata State, BooleanOptionSetMetadata True/FalseOption) -- the real opportunity "
    "RetrieveMetadataChanges response, tests/vectors/dataverse/metadata/opportunity-metadata.json; casts "
    "and OptionSet/GlobalOptionSet expansions -- 'Query table definitions using the Web API'",
)
assumed(
    "dataverse",
    "attribute metadata details",
    "Properties the vector leaves null (IsValidForCreate, ranges of built-in numbers, DatabaseLength) and "
    "labels of choices not in the references read; GlobalOptionSet is always null (local option sets only).",
)

NAMESPACE = "Microsoft.Dynamics.CRM."
LANGUAGE = 1033

# kind -> (derived metadata type, AttributeTypeName)
TYPES: Mapping[Kind, tuple[str, str]] = {
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
    Kind.UNIQUEIDENTIFIER: ("UniqueIdentifierAttributeMetadata", "UniqueidentifierType"),
    Kind.ENTITYNAME: ("EntityNameAttributeMetadata", "EntityNameType"),
}
_ALL = frozenset(Kind)
# cast type -> the kinds whose metadata is of that type or derives from it
CASTS: Mapping[str, frozenset[Kind]] = {
    "AttributeMetadata": _ALL,
    "EnumAttributeMetadata": frozenset({*CHOICE_KINDS, Kind.ENTITYNAME}),
    **{name: frozenset(k for k, (n, _) in TYPES.items() if n == name) for name, _ in TYPES.values()},
    # Types the organization has no column of: a cast to them is valid and finds nothing.
    "MultiSelectPicklistAttributeMetadata": frozenset(),
    "ImageAttributeMetadata": frozenset(),
    "FileAttributeMetadata": frozenset(),
    "ManagedPropertyAttributeMetadata": frozenset(),
}
# Navigation properties of attribute types: expanded only on request.
OPTION_SET_KINDS = frozenset({*CHOICE_KINDS, Kind.BOOLEAN})
_INT32 = (-2147483648, 2147483647)
_INT64 = (-9223372036854775808, 9223372036854775807)


def label(text: str, *, managed: bool = True) -> dict[str, Any]:
    """A Label with one 1033 LocalizedLabel (as UserLocalizedLabel too)."""
    item = {
        "Label": text,
        "LanguageCode": LANGUAGE,
        "IsManaged": managed,
        "MetadataId": None,
        "HasChanged": None,
    }
    return {"LocalizedLabels": [item], "UserLocalizedLabel": item}


def empty_label() -> dict[str, Any]:
    """A Label without text."""
    return {"LocalizedLabels": [], "UserLocalizedLabel": None}


def managed_property(value: bool, name: str) -> dict[str, Any]:
    """A BooleanManagedProperty (IsCustomizable, IsRenameable, …)."""
    return {"Value": value, "CanBeChanged": True, "ManagedPropertyLogicalName": name}


def metadata_id(table: Table, name: str) -> str:
    """A stable MetadataId for something of ``table`` (an attribute, an option set)."""
    return str(uuid.uuid5(uuid.UUID(table.metadata_id), name))


def type_name(column: Column) -> str:
    """The derived metadata type of ``column`` (``PicklistAttributeMetadata``)."""
    return TYPES[column.kind][0]


def schema_name(column: Column) -> str:
    """The column's SchemaName (the logical name unless it was created with other casing)."""
    return column.schema_name or column.name


def attribute_json(table: Table, column: Column, *, complex_types: bool = False) -> dict[str, Any]:
    """One AttributeMetadata with its type's properties (``complex_types``: RetrieveMetadataChanges')."""
    odata_type, attribute_type_name = TYPES[column.kind]
    if complex_types:
        odata_type = "Complex" + odata_type
    managed = not column.custom and not table.custom
    body: dict[str, Any] = {
        "@odata.type": f"#{NAMESPACE}{odata_type}",
        "MetadataId": metadata_id(table, column.name),
        "HasChanged": None,
        "LogicalName": column.name,
        "SchemaName": schema_name(column),
        "EntityLogicalName": table.logical_name,
        "AttributeType": str(column.kind),
        "AttributeTypeName": {"Value": attribute_type_name},
        "AttributeOf": None,
        "ColumnNumber": None,
        "DisplayName": label(column.display_name or schema_name(column), managed=managed),
        "Description": empty_label(),
        "IntroducedVersion": "1.0" if managed else "1.0.0.0",
        "IsCustomAttribute": column.custom,
        "IsManaged": managed,
        "IsPrimaryId": column.name == table.primary_id,
        "IsPrimaryName": column.name == table.primary_name,
        "IsValidForCreate": column.valid_for_create,
        "IsValidForUpdate": column.valid_for_update,
        "IsValidForRead": column.valid_for_read,
        "IsValidODataAttribute": True,
        "IsFilterable": True,
        "IsRetrievable": True,
        "IsSearchable": column.kind in (Kind.STRING, Kind.MEMO),
        "IsSecured": False,
        "IsLogical": False,
        "IsCustomizable": managed_property(True, "iscustomizable"),
        "IsRenameable": managed_property(True, "isrenameable"),
        "IsValidForAdvancedFind": managed_property(True, "canmodifysearchsettings"),
        "RequiredLevel": {
            "Value": column.required,
            "CanBeChanged": column.required != "SystemRequired",
            "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
        },
        "SourceType": 0,
    }
    body.update(_typed(table, column))
    if complex_types and column.kind in OPTION_SET_KINDS:
        body["OptionSet"] = option_set_json(table, column)
        if column.kind is not Kind.BOOLEAN:
            body["GlobalOptionSet"] = None
    return body


def _typed(table: Table, column: Column) -> dict[str, Any]:  # noqa: PLR0911 - one shape per type
    kind = column.kind
    if kind is Kind.STRING:
        length = column.max_length or 100
        return {
            "Format": "Text",
            "FormatName": {"Value": "Text"},
            "ImeMode": "Auto",
            "MaxLength": length,
            "DatabaseLength": length * 2,
            "IsLocalizable": False,
            "YomiOf": None,
        }
    if kind is Kind.MEMO:
        return {
            "Format": "TextArea",
            "FormatName": {"Value": "TextArea"},
            "ImeMode": "Auto",
            "MaxLength": column.max_length or 2000,
            "IsLocalizable": False,
        }
    if kind in (Kind.INTEGER, Kind.BIGINT):
        low, high = _INT32 if kind is Kind.INTEGER else _INT64
        return {
            "Format": "None",
            "MinValue": _number(column.min_value, low),
            "MaxValue": _number(column.max_value, high),
        }
    if kind in (Kind.DECIMAL, Kind.DOUBLE):
        return {
            "MinValue": _number(column.min_value, -100000000000),
            "MaxValue": _number(column.max_value, 100000000000),
            "Precision": column.precision if column.precision is not None else 2,
            "ImeMode": "Auto",
        }
    if kind is Kind.MONEY:
        return {
            "MinValue": _number(column.min_value, -922337203685477),
            "MaxValue": _number(column.max_value, 922337203685477),
            "Precision": column.precision if column.precision is not None else 2,
            "PrecisionSource": 2,
            "ImeMode": "Auto",
            "IsBaseCurrency": column.name.endswith("_base"),
            "CalculationOf": None,
        }
    if kind is Kind.DATETIME:
        behavior = "DateOnly" if column.date_only else "UserLocal"
        return {
            "Format": "DateOnly" if column.date_only else "DateAndTime",
            "ImeMode": "Auto",
            "DateTimeBehavior": {"Value": behavior},
            "CanChangeDateTimeBehavior": managed_property(False, "canchangedatetimebehavior"),
        }
    if kind is Kind.BOOLEAN:
        return {"DefaultValue": bool(column.default) if isinstance(column.default, bool) else False}
    if kind in CHOICE_KINDS:
        default = column.default if isinstance(column.default, int) else None
        extra: dict[str, Any] = {"DefaultFormValue": default if kind is Kind.PICKLIST else None}
        if kind is Kind.PICKLIST:
            extra.update(ParentPicklistLogicalName=None, ChildPicklistLogicalNames=[])
        return extra
    if column.is_lookup:
        return {"Targets": list(column.targets), "Format": "None"}
    return {}


def _number(value: float | None, default: float) -> float:
    if value is None:
        return default
    return int(value) if float(value).is_integer() else value


def _option(value: int, text: str, *, managed: bool) -> dict[str, Any]:
    return {
        "Value": value,
        "Color": None,
        "IsManaged": managed,
        "ExternalValue": None,
        "ParentValues": [],
        "Tag": None,
        "IsHidden": False,
        "MetadataId": None,
        "HasChanged": None,
        "Label": label(text, managed=managed),
        "Description": empty_label(),
    }


def option_set_json(table: Table, column: Column) -> dict[str, Any]:
    """The column's (local) OptionSetMetadata, or BooleanOptionSetMetadata for a yes/no column."""
    managed = not column.custom and not table.custom
    kind = column.kind
    body: dict[str, Any] = {
        "MetadataId": metadata_id(table, f"{column.name}#optionset"),
        "HasChanged": None,
        "IsCustomOptionSet": column.custom,
        "IsGlobal": False,
        "IsManaged": managed,
        "Name": f"{table.logical_name}_{column.name}",
        "ExternalTypeName": None,
        "OptionSetType": "Boolean" if kind is Kind.BOOLEAN else str(kind),
        "IntroducedVersion": "5.0.0.0",
        "Description": empty_label(),
        "DisplayName": label(column.display_name or schema_name(column), managed=managed),
        "IsCustomizable": managed_property(True, "iscustomizable"),
    }
    if kind is Kind.BOOLEAN:
        yes, no = boolean_labels(column)
        body["TrueOption"] = _option(1, yes, managed=managed)
        body["FalseOption"] = _option(0, no, managed=managed)
        return body
    body["ParentOptionSetName"] = None
    options: list[dict[str, Any]] = []
    named = labels(table, column)
    statuses = labels(table, table.columns["statuscode"]) if "statuscode" in table.columns else {}
    for value, text in named.items():
        option = _option(value, text, managed=managed)
        if kind is Kind.STATE:
            option = {
                "@odata.type": f"#{NAMESPACE}StateOptionMetadata",
                **option,
                "DefaultStatus": _default_status(table, value, statuses),
                "InvariantName": text.replace(" ", ""),
            }
        elif kind is Kind.STATUS:
            option = {
                "@odata.type": f"#{NAMESPACE}StatusOptionMetadata",
                **option,
                "State": _state_of(table, value),
                "TransitionData": None,
            }
        options.append(option)
    body["Options"] = options
    return body


def _default_status(table: Table, state: int, statuses: Mapping[int, str]) -> int | None:
    allowed = STATUSES.get(table.logical_name, {0: (1,), 1: (2,)}).get(state)
    if allowed:
        return allowed[0]
    return next(iter(statuses), None)


def _state_of(table: Table, status: int) -> int | None:
    for state, allowed in STATUSES.get(table.logical_name, {0: (1,), 1: (2,)}).items():
        if status in allowed:
            return state
    return None
