"""What a freshly provisioned Sales organization holds before anyone writes to it.

The root business unit, the SYSTEM user, the base currency (chosen at provisioning; US Dollar here unless
told otherwise), the default unit group "Default Unit" with its base unit "Primary Unit", the message
catalog (``sdkmessages``/``sdkmessagefilters``, see ``sdkmessages.py``), and one
application user per Entra app allowed in (the "Application Users" an administrator creates, with
``applicationid`` set to the app's client id), holding the connector's security role (every privilege;
``security.py``). No price lists, products or alternate keys: those are
customizations and data the connector (or a test) creates through the Web API.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from simulators.dataverse.records import Caller, Organization
from simulators.dataverse.sdkmessages import seed_catalog
from simulators.dataverse.store import Ref, Row


@dataclass(frozen=True)
class BaseCurrency:
    """The organization's base currency."""

    iso_code: str = "USD"
    name: str = "US Dollar"
    symbol: str = "$"
    precision: int = 2


def _require_table(org: Organization, logical_name: str) -> None:
    if org.table(logical_name) is None:
        raise LookupError(f"the organization does not serve the {logical_name} table")


def seed_fresh_org(
    org: Organization,
    *,
    name: str = "org",
    currency: BaseCurrency | None = None,
    bulk_tables: Iterable[str] | None = None,
) -> None:
    """Fill an empty organization with the reference data a new Sales org has.

    ``bulk_tables``: the tables whose message catalog has the bulk messages (None: the default set).
    """
    currency = currency or BaseCurrency()
    for logical_name in ("businessunit", "systemuser", "transactioncurrency", "uomschedule", "uom"):
        _require_table(org, logical_name)
    tables = {t.logical_name: t for t in org.tables}
    org.insert_system_row(tables["businessunit"], {"businessunitid": org.business_unit_id, "name": name})
    org.insert_system_row(
        tables["systemuser"],
        {
            "systemuserid": org.system_user_id,
            "firstname": "",
            "lastname": "SYSTEM",
            "domainname": "",
            "businessunitid": Ref("businessunit", org.business_unit_id),
            "accessmode": 0,
        },
    )
    org.insert_system_row(
        tables["transactioncurrency"],
        {
            "transactioncurrencyid": org.base_currency_id,
            "currencyname": currency.name,
            "isocurrencycode": currency.iso_code,
            "currencysymbol": currency.symbol,
            "exchangerate": Decimal(1),
            "currencyprecision": currency.precision,
        },
    )
    org.insert_system_row(tables["uomschedule"], {"name": "Default Unit", "baseuomname": "Primary Unit"})
    if "sdkmessage" in tables and "sdkmessagefilter" in tables:
        seed_catalog(org, bulk_tables)


def add_application_user(org: Organization, app_id: str, name: str | None = None) -> Row:
    """Create the application user an admin binds to an Entra app (``applicationid`` = the client id)."""
    table = org.table("systemuser")
    if table is None:
        raise LookupError("the organization does not serve the systemuser table")
    label = name or f"app {app_id}"
    user = org.insert_system_row(
        table,
        {
            "applicationid": uuid.UUID(app_id),
            "firstname": "#",
            "lastname": label,
            "domainname": f"{app_id}@application",
            "internalemailaddress": f"{app_id}@application",
            "businessunitid": Ref("businessunit", org.business_unit_id),
            "accessmode": 4,  # Non-interactive
        },
    )
    org.security.assign(user["systemuserid"])  # the role an administrator assigns to the connector's user
    return user


def application_user(org: Organization, app_id: str) -> Caller | None:
    """The caller for a token's ``appid``: its enabled application user, if one exists."""
    try:
        wanted = uuid.UUID(app_id)
    except ValueError:
        return None
    for user in org.store.rows("systemuser"):
        if user.get("applicationid") == wanted and not user.get("isdisabled"):
            unit = user.get("businessunitid")
            business_unit = unit.id if isinstance(unit, Ref) else org.business_unit_id
            return Caller(user["systemuserid"], business_unit)
    return None
