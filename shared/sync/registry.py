"""The entity flows this connector has, by name, and the validation of their mapping files.

``mapping_problems`` reads every flow's mapping file without touching IFS or Dataverse, for the health
endpoint and the ``check`` command: each problem names the file, the line and the field.
"""

from __future__ import annotations

from pathlib import Path

from shared.sync import customers, orders, products, quotes
from shared.sync.mapping.load import MappingError, MappingSchema, load_mapping

SCHEMAS: dict[str, MappingSchema] = {
    customers.ENTITY: customers.SCHEMA,
    products.ENTITY: products.SCHEMA,
    orders.ENTITY: orders.SCHEMA,
    quotes.ENTITY: quotes.SCHEMA,
}


def mapping_path(folder: Path, entity: str) -> Path:
    """Where ``entity``'s mapping file is."""
    return folder / f"{entity}.toml"


def mapping_problems(folder: Path) -> dict[str, list[str]]:
    """Problems per entity whose mapping file is invalid (valid ones are left out)."""
    problems: dict[str, list[str]] = {}
    for entity, schema in SCHEMAS.items():
        try:
            load_mapping(mapping_path(folder, entity), schema)
        except MappingError as exc:
            problems[entity] = [str(p) for p in exc.problems]
    return problems
