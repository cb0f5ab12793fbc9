"""The tables a fresh Dynamics 365 Sales organization serves, declared per domain.

``simulators/dataverse/tables.py`` holds what a declaration is made of (columns, kinds, required levels,
the system columns every table gets); the modules here declare the tables: ``organization`` (accounts,
contacts, users, currencies, tasks), ``products`` (catalog and prices), ``sales`` (leads to orders and their
close activities) and ``platform`` (message catalog, webhook registration, system jobs).
"""

from __future__ import annotations

from simulators.dataverse.schema.organization import ORGANIZATION_TABLES, TASK
from simulators.dataverse.schema.platform import MESSAGE_CATALOG, WEBHOOK_TABLES
from simulators.dataverse.schema.products import PRODUCT_TABLES
from simulators.dataverse.schema.sales import CLOSE_ACTIVITIES, SALES_TABLES
from simulators.dataverse.tables import Table

TABLES: tuple[Table, ...] = (
    *ORGANIZATION_TABLES,
    *PRODUCT_TABLES,
    *SALES_TABLES,
    *MESSAGE_CATALOG,
    *CLOSE_ACTIVITIES,
    *WEBHOOK_TABLES,
    TASK,
)
