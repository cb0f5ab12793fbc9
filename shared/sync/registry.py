"""The entity flows this connector has, by name, and the validation of their mapping files.

``mapping_problems`` reads every flow's mapping file without touching IFS or Dataverse, for the health
endpoint and the ``check`` command: each problem names the file, the line and the field.

What the ``check`` command needs to know of a flow beyond its mapping file, declared here per entity (a flow
without an entry is checked on its mapping file alone, and ``check`` says what it skipped):

- ``PART_SOURCES``: which IFS rows each view part of the mapping reads — the root entity set's rows
  (``ROOT_ROWS``) or a child collection, by the part name the source reads it into — so the fields a
  mapping names can be checked against the projection's ``$metadata``; parts the flow computes itself
  (``status``) are absent;
- ``REFERENCE_PRIVILEGES``: privileges the flow needs beyond writing its mapping's tables (reference rows it
  creates on demand, rows it deletes), as table → privilege types.
"""

from __future__ import annotations

from dataclasses import replace
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
            load_mapping(mapping_path(folder, entity), replace(schema, entities=frozenset(SCHEMAS)))
        except MappingError as exc:
            problems[entity] = [str(p) for p in exc.problems]
    return problems


ROOT_ROWS = ""  # PART_SOURCES: the part reads rows of the root entity set
PART_SOURCES: dict[str, dict[str, str]] = {
    customers.ENTITY: {
        "customer": ROOT_ROWS,
        "company": ROOT_ROWS,
        "bill_to": customers.ADDRESSES,
        "ship_to": customers.ADDRESSES,
        "phone": customers.COMM_METHODS,
        "email": customers.COMM_METHODS,
    },
    products.ENTITY: {"part": ROOT_ROWS, "site": ROOT_ROWS},
    orders.ENTITY: {"order": ROOT_ROWS, "line": orders.LINES},
    quotes.ENTITY: {"quotation": ROOT_ROWS, "line": quotes.LINES},
}
REFERENCE_PRIVILEGES: dict[str, dict[str, tuple[str, ...]]] = {
    products.ENTITY: {
        "uomschedule": ("Read", "Create"),  # a unit group per IFS sales unit
        "uom": ("Read",),
        "pricelevel": ("Read", "Create"),  # a price list per site and currency
        "productpricelevel": ("Delete",),  # an item leaves the list of a site that stops selling the part
    },
    orders.ENTITY: {
        "pricelevel": ("Read", "Create"),  # the order's price list (site and currency), made if missing
        "uomschedule": ("Read", "Create"),  # a line's unit, made if missing
        "uom": ("Read",),
        "salesorderdetail": ("Delete",),  # a line IFS no longer has
    },
    quotes.ENTITY: {
        "pricelevel": ("Read", "Create"),
        "uomschedule": ("Read", "Create"),
        "uom": ("Read",),
        "quotedetail": ("Delete",),
    },
}
