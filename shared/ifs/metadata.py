"""A projection's ``$metadata`` (EDMX) read for what the connector relies on: entity sets and their fields.

``ProjectionMetadata.parse`` keeps, per entity type, its property names and its navigation properties (with
the entity type they lead to), and which entity type each entity set holds. The ``check`` command uses it to
say that a mapping file reads a field the tenant does not have, before any record fails on it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

_EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


@dataclass(frozen=True)
class EntityTypeInfo:
    """One entity type: property names and navigation properties (name → target entity type)."""

    name: str
    properties: frozenset[str]
    navigations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectionMetadata:
    """Entity types and entity sets of one projection."""

    types: dict[str, EntityTypeInfo]
    sets: dict[str, str]  # entity set name → entity type name

    @classmethod
    def parse(cls, edmx: str) -> ProjectionMetadata:
        """Read an EDMX document; ValueError when it is not one."""
        try:
            root = ET.fromstring(edmx)  # noqa: S314 - see the import
        except ET.ParseError as exc:
            raise ValueError(f"$metadata is not XML: {exc}") from exc
        types: dict[str, EntityTypeInfo] = {}
        sets: dict[str, str] = {}
        for schema in root.iter(f"{_EDM}Schema"):
            for entity_type in schema.iter(f"{_EDM}EntityType"):
                name = entity_type.get("Name", "")
                navigations = {
                    str(nav.get("Name")): _type_name(nav.get("Type", ""))
                    for nav in entity_type.iter(f"{_EDM}NavigationProperty")
                }
                properties = frozenset(str(p.get("Name")) for p in entity_type.iter(f"{_EDM}Property"))
                types[name] = EntityTypeInfo(name, properties, navigations)
            for entity_set in schema.iter(f"{_EDM}EntitySet"):
                sets[str(entity_set.get("Name"))] = _type_name(entity_set.get("EntityType", ""))
        if not types:
            raise ValueError("$metadata declares no entity type")
        return cls(types, sets)

    def of_set(self, entity_set: str) -> EntityTypeInfo | None:
        """The entity type of an entity set."""
        name = self.sets.get(entity_set)
        return None if name is None else self.types.get(name)

    def of_navigation(self, parent: EntityTypeInfo, navigation: str) -> EntityTypeInfo | None:
        """The entity type a navigation property of ``parent`` leads to."""
        name = parent.navigations.get(navigation)
        return None if name is None else self.types.get(name)


def _type_name(qualified: str) -> str:
    """``IfsApp.X.CustomerInfo`` or ``Collection(IfsApp.X.CustomerInfo)`` → ``CustomerInfo``."""
    text = qualified.removeprefix("Collection(").removesuffix(")")
    return text.rsplit(".", 1)[-1]
