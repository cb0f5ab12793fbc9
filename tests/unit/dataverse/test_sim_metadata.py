"""The simulator's EntityDefinitions agree with a real Dataverse metadata document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from simulators.dataverse.metadata import attribute_json, entity_json, key_definition, key_json
from tests.unit.dataverse.simulated_org import fresh_org

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "dataverse" / "metadata"


def real_opportunity() -> dict[str, Any]:
    document = json.loads((VECTORS / "opportunity-metadata.json").read_text(encoding="utf-8"))
    entity: dict[str, Any] = document["EntityMetadata"][0]
    return entity


def test_the_opportunity_table_matches_the_real_metadata() -> None:
    """Names, MetadataId, and every modelled attribute's type, required level and targets agree."""
    real = real_opportunity()
    sim = fresh_org()
    ours = entity_json(sim.table("opportunity"), sim.org.keys, with_attributes=True)
    for name in ("LogicalName", "SchemaName", "EntitySetName", "MetadataId"):
        assert ours[name] == real[name], name
    real_attributes = {a["LogicalName"]: a for a in real["Attributes"]}
    compared = 0
    for attribute in ours["Attributes"]:
        expected = real_attributes[attribute["LogicalName"]]  # every modelled column exists for real
        assert attribute["AttributeType"] == expected["AttributeType"], attribute["LogicalName"]
        assert attribute["RequiredLevel"]["Value"] == expected["RequiredLevel"]["Value"], attribute[
            "LogicalName"
        ]
        if expected.get("Targets"):
            assert attribute["Targets"] == expected["Targets"], attribute["LogicalName"]
        compared += 1
    assert compared >= 40


def test_attribute_metadata_shape() -> None:
    """A lookup attribute carries @odata.type, AttributeTypeName, RequiredLevel and Targets."""
    sim = fresh_org()
    table = sim.table("salesorder")
    body = attribute_json(table, table.columns["customerid"])
    assert body["@odata.type"] == "#Microsoft.Dynamics.CRM.LookupAttributeMetadata"
    assert body["AttributeTypeName"] == {"Value": "CustomerType"}
    assert body["RequiredLevel"]["Value"] == "ApplicationRequired"
    assert body["Targets"] == ["account", "contact"]


def test_key_metadata_round_trip() -> None:
    """A POSTed EntityKeyMetadata defines a key that reads back with its attributes and index status."""
    sim = fresh_org()
    schema_name, attributes, display = key_definition(
        {
            "SchemaName": "new_AccountNumberKey",
            "DisplayName": {"LocalizedLabels": [{"Label": "Account number", "LanguageCode": 1033}]},
            "KeyAttributes": ["accountnumber"],
        }
    )
    key = sim.org.keys.define(sim.table("account"), schema_name, attributes, display)
    body = key_json(key)
    assert (body["LogicalName"], body["KeyAttributes"], body["EntityKeyIndexStatus"]) == (
        "new_accountnumberkey",
        ["accountnumber"],
        "Pending",
    )
    assert body["DisplayName"]["UserLocalizedLabel"]["Label"] == "Account number"
