"""Dynamics → IFS against the simulators, for the demo, the benchmark and the tests (dev/test only).

``D365Scenario`` extends ``SyncScenario``: the same app settings plus the Dynamics → IFS ones (queues and
secrets of this run), and the set-up a first run needs: the org's currencies, IFS customers and sales
parts synced into Dynamics (accounts linked in the id map, products, units and the ``IFS <site>
<currency>`` price lists an order uses), and provisioning with the webhook's URL (devhost's, once it
serves). ``Salesperson`` is a person working in Dynamics: their own Entra app and Dataverse user, so the
connector sees their events as someone else's, as it would a real user's.
"""

from __future__ import annotations

import ssl
import uuid
from dataclasses import dataclass
from typing import Any

from devhost.scenario import NEVER, SyncScenario, scenario_settings
from shared import bootstrap
from shared.config import AppSettings
from shared.d365_runtime import D365Runtime, Provisioned, d365_runtime, provision_all
from shared.dataverse.actions import DataverseActions
from shared.dataverse.client import DataverseClient
from simulators.entra.directory import ClientApp
from simulators.stack import SimulatorStack

WEBHOOK_SECRET = "scenario-webhook-secret-5e1f0c"  # noqa: S105 -- a test run's own webhook secret
SALESPERSON_CLIENT_ID = "00000000-0000-4000-8000-00000005a1e5"
SALESPERSON_SECRET = "salesperson-client-secret"  # noqa: S105 -- a simulator's test credential
SITE = "MFG10"  # a seeded IFS site whose sales parts are synced (SALES_PARTS_SITES)


def d365_settings(stack: SimulatorStack, storage: str, prefix: str, **overrides: str) -> dict[str, str]:
    """``scenario_settings`` plus the Dynamics → IFS settings of this run (timers left to the test)."""
    return scenario_settings(
        stack,
        storage,
        prefix,
        D365_WEBHOOK_SECRET=WEBHOOK_SECRET,
        D365_ORDERS_QUEUE=f"{prefix}-d365-orders",
        D365_OPPORTUNITIES_QUEUE=f"{prefix}-d365-opps",
        D365_RECONCILE_SCHEDULE=NEVER,
        D365_OPPORTUNITIES_SCHEDULE=NEVER,
        **overrides,
    )


@dataclass(frozen=True)
class Line:
    """One line a salesperson agrees: a catalog number, quantity, unit price and discount amount."""

    catalog_no: str
    quantity: float
    price: float
    discount: float = 0.0


class Salesperson:
    """A person working in Dynamics, with their own application user (not the connector's)."""

    def __init__(self, stack: SimulatorStack, verify: ssl.SSLContext) -> None:
        tenant = stack.identity.client.tenant_id
        stack.identity.entra.register(
            ClientApp(
                tenant, SALESPERSON_CLIENT_ID, secrets=(SALESPERSON_SECRET,), display_name="salesperson"
            )
        )
        self.user_id = stack.dataverse.add_application_user(SALESPERSON_CLIENT_ID, "Sam Sales")
        settings = AppSettings(
            stack.app_settings()
            | {"ENTRA_CLIENT_ID": SALESPERSON_CLIENT_ID, "ENTRA_CLIENT_SECRET": SALESPERSON_SECRET}
        )
        self.client: DataverseClient = bootstrap.dataverse_client(settings, verify=verify)
        self.actions = DataverseActions(self.client)

    def _id(self, entity_set: str, column: str, value: str, select: str) -> dict[str, Any]:
        rows = list(self.client.query(entity_set, select=[select], filter=f"{column} eq '{value}'"))
        if len(rows) != 1:
            raise LookupError(f"{len(rows)} {entity_set} have {column} = {value!r}")
        return rows[0]

    def price_list(self, site: str, currency: str) -> tuple[uuid.UUID, uuid.UUID]:
        """(price list id, its currency's id) of ``IFS <site> <currency>``."""
        row = self._id("pricelevels", "name", f"IFS {site} {currency}", "_transactioncurrencyid_value")
        return uuid.UUID(row["pricelevelid"]), uuid.UUID(row["_transactioncurrencyid_value"])

    def _header(self, account: str, site: str, currency: str, name: str) -> dict[str, Any]:
        price_list, currency_id = self.price_list(site, currency)
        return {
            "name": name,
            "customerid_account@odata.bind": f"/accounts(accountnumber='{account}')",
            "pricelevelid@odata.bind": f"/pricelevels({price_list})",
            "transactioncurrencyid@odata.bind": f"/transactioncurrencies({currency_id})",
            "requestdeliveryby": "2026-03-02",
        }

    def _line(self, line: Line, number: int) -> dict[str, Any]:
        product = self._id("products", "productnumber", line.catalog_no, "_defaultuomid_value")
        return {
            "productid@odata.bind": f"/products({product['productid']})",
            "uomid@odata.bind": f"/uoms({product['_defaultuomid_value']})",
            "quantity": line.quantity,
            "priceperunit": line.price,
            "ispriceoverridden": True,
            "manualdiscountamount": line.discount,
            "lineitemnumber": number,
        }

    def quote(self, account: str, lines: list[Line], *, site: str = SITE, currency: str = "EUR") -> uuid.UUID:
        """An active quote for the account with these lines, ready to be won."""
        created = self.client.create("quotes", self._header(account, site, currency, f"Quote for {account}"))
        assert created.id is not None
        for number, line in enumerate(lines, start=1):
            self.client.create(
                "quotedetails", {"quoteid@odata.bind": f"/quotes({created.id})", **self._line(line, number)}
            )
        self.client.update("quotes", created.id, {"statecode": 1, "statuscode": 2})
        return created.id

    def convert(self, quote_id: uuid.UUID) -> dict[str, Any]:
        """ConvertQuoteToSalesOrder: the new order (salesorderid, ordernumber)."""
        return self.actions.convert_quote_to_order(quote_id, ["salesorderid", "ordernumber"])

    def order(self, account: str, lines: list[Line], *, site: str = SITE, currency: str = "EUR") -> uuid.UUID:
        """An order entered directly in Dynamics (Active: not sent before it is submitted)."""
        created = self.client.create(
            "salesorders", self._header(account, site, currency, f"Order for {account}")
        )
        assert created.id is not None
        for number, line in enumerate(lines, start=1):
            self.client.create(
                "salesorderdetails",
                {"salesorderid@odata.bind": f"/salesorders({created.id})", **self._line(line, number)},
            )
        return created.id

    def submit(self, order_id: uuid.UUID) -> None:
        """Submit the order (statecode 1)."""
        self.client.update("salesorders", order_id, {"statecode": 1, "statuscode": 3})

    def fulfil(self, order_id: uuid.UUID) -> None:
        """FulfillSalesOrder."""
        self.actions.fulfill_order(order_id)

    def cancel(self, order_id: uuid.UUID) -> None:
        """CancelSalesOrder."""
        self.actions.cancel_order(order_id)


class D365Scenario(SyncScenario):
    """A ``SyncScenario`` with the Dynamics → IFS direction."""

    @property
    def d365(self) -> D365Runtime:
        """The Dynamics → IFS runtime for these settings (built once per process)."""
        return d365_runtime(self.settings)

    def salesperson(self) -> Salesperson:
        """A new person working in Dynamics."""
        return Salesperson(self.stack, self.verify())

    def prepare(self) -> None:
        """Currencies, alternate keys, and IFS customers and sales parts synced into Dynamics."""
        self.add_currencies()
        self.provision()
        for entity in ("customers", "sales_parts"):
            self.run_once(entity)

    def provision_d365(self, webhook_url: str) -> Provisioned:
        """Everything provisioning does, with ``webhook_url`` registered (simulated time for key builds)."""
        return provision_all(
            self.settings,
            self.runtime.dataverse,
            notify=lambda _notice: None,
            url=webhook_url,
            poll=0.5,
            sleep=self.stack.identity.clock.advance,
        )

    def account(self, customer_id: str | None = None) -> str:
        """An account number (IFS customer id) linked in the id map; the first such one by default."""
        rows = self.rows("accounts", ["accountnumber"])
        numbers = sorted(r["accountnumber"] for r in rows if r.get("accountnumber"))
        return customer_id if customer_id is not None else numbers[0]

    def catalog(self, site: str = SITE, count: int = 3) -> list[str]:
        """Active catalog numbers of ``site`` that are products in Dynamics."""
        in_dynamics = {r["productnumber"] for r in self.rows("products", ["productnumber"])}
        parts = next(s for s in self.stack.ifs.tenant.sets.values() if s.model.name == "SalesPartSet")
        numbers = sorted(
            r.values["CatalogNo"]
            for r in parts.table.rows.values()
            if r.values["Contract"] == site and r.values["CatalogNo"] in in_dynamics
        )
        return numbers[:count]

    def ifs_orders(self, dynamics_number: str) -> list[dict[str, Any]]:
        """The IFS customer orders carrying a Dynamics order number in CustomerPoNo, with their lines."""
        tenant = self.stack.ifs.tenant
        orders = tenant.of_table("CustomerOrder")
        lines = tenant.of_table("CustomerOrderLine")
        found = []
        for order in orders.table.rows.values():
            if order.values.get("CustomerPoNo") != dynamics_number:
                continue
            own = [
                dict(r.values)
                for r in lines.table.rows.values()
                if r.values["OrderNo"] == order.values["OrderNo"]
            ]
            found.append({**order.values, "lines": sorted(own, key=lambda r: int(r["LineNo"]))})
        return found
