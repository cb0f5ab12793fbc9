"""Settings of the IFS Cloud client: the tenant, its IAM client and where each entity lives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Self
from urllib.parse import urlsplit

from shared.config.platform import call_budget
from shared.config.reader import SettingsReader
from shared.config.setting import Setting
from shared.ifs.entities import EntitySet, Navigation

SETTINGS: tuple[Setting, ...] = (
    # IFS Cloud: the tenant, its IAM client and where each logical entity lives.
    Setting(
        "IFS_BASE_URL",
        "ifs",
        "IFS Cloud tenant URL (scheme and host, no path); IAM and the projections live under it. https, "
        "except http for a simulator on 127.0.0.1 or localhost.",
        "https://acme.ifs.cloud",
    ),
    Setting(
        "IFS_REALM",
        "ifs",
        "IFS IAM (Keycloak) realm of the tenant, e.g. 'acme1'; not derivable from the host.",
        "acme1",
    ),
    Setting(
        "IFS_CLIENT_ID",
        "ifs",
        "IAM client id (confidential client with service account) the connector authenticates as.",
        "ifs-d365-sync",
    ),
    Setting(
        "IFS_CLIENT_SECRET",
        "ifs",
        "Secret of the IAM client; without it, KEY_VAULT_URL must be set (secret ifs-client-secret).",
        "change-me",
        default="",
        secret=True,
        doc=(
            "Secret of the IAM client. With `KEY_VAULT_URL` and no value here, it is read from the "
            "vault's secret `ifs-client-secret` on every token fetch, so a rotated secret is picked "
            "up within `SECRET_CACHE_SECONDS`"
        ),
        required_when="unless `KEY_VAULT_URL` is set",
    ),
    Setting(
        "IFS_SCOPE",
        "ifs",
        "Scope requested with client credentials.",
        "openid microprofile-jwt",
        default="openid microprofile-jwt",
    ),
    Setting(
        "IFS_TOKEN_REFRESH_MARGIN_SECONDS",
        "ifs",
        "A cached IFS token is replaced this many seconds before it expires (tokens live 180 s).",
        "30",
        default="30",
    ),
    Setting(
        "IFS_API_PATH",
        "ifs",
        "Path of the projection root under the tenant URL (/main: web client; /int: integration).",
        "/main/ifsapplications/projection/v1",
        default="/main/ifsapplications/projection/v1",
    ),
    Setting(
        "IFS_PAGE_SIZE",
        "ifs",
        "Rows per page read with $top/$skip (nextLinks are followed too); 0 = server-driven paging only.",
        "1000",
        default="1000",
    ),
    Setting(
        "IFS_CUSTOMERS_ENTITY",
        "ifs",
        "Customers: <Projection>.svc/<EntitySet>(<Keys>).",
        "CustomerHandling.svc/CustomerInfoSet(CustomerId)",
        default="CustomerHandling.svc/CustomerInfoSet(CustomerId)",
    ),
    Setting(
        "IFS_CUSTOMER_ADDRESSES_NAVIGATION",
        "ifs",
        "Customer addresses: collection navigation from a customer, <Navigation>(<Keys>).",
        "CustomerInfoAddresses(CustomerId,AddressId)",
        default="CustomerInfoAddresses(CustomerId,AddressId)",
    ),
    Setting(
        "IFS_CUSTOMER_COMM_METHODS_NAVIGATION",
        "ifs",
        "Customer phone and e-mail: collection navigation from a customer, <Navigation>(<Keys>) (names "
        "assumed; none: not read).",
        "CommunicationMethods(CustomerId,CommId)",
        default="CommunicationMethods(CustomerId,CommId)",
    ),
    Setting(
        "IFS_SALES_PARTS_ENTITY",
        "ifs",
        "Sales parts: <Projection>.svc/<EntitySet>(<Keys>).",
        "SalesPartHandling.svc/SalesPartSet(Contract,CatalogNo)",
        default="SalesPartHandling.svc/SalesPartSet(Contract,CatalogNo)",
    ),
    Setting(
        "IFS_ORDERS_ENTITY",
        "ifs",
        "Customer order headers: <Projection>.svc/<EntitySet>(<Keys>).",
        "CustomerOrderHandling.svc/CustomerOrderSet(OrderNo)",
        default="CustomerOrderHandling.svc/CustomerOrderSet(OrderNo)",
    ),
    Setting(
        "IFS_ORDER_LINES_ENTITY",
        "ifs",
        "Customer order lines: <Projection>.svc/<EntitySet>(<Keys>).",
        "CustomerOrderHandling.svc/CustomerOrderLineSet(LineNo,RelNo,OrderNo,LineItemNo)",
        default="CustomerOrderHandling.svc/CustomerOrderLineSet(LineNo,RelNo,OrderNo,LineItemNo)",
    ),
    Setting(
        "IFS_ORDER_LINES_NAVIGATION",
        "ifs",
        "Collection navigation from an order header to its lines, <Navigation>(<Keys>) (read and create "
        "lines per order; $skip paging orders by the keys).",
        "OrderLinesArray(LineNo,RelNo,OrderNo,LineItemNo)",
        default="OrderLinesArray(LineNo,RelNo,OrderNo,LineItemNo)",
        doc=(
            "Collection navigation from an order header to its lines, `<Navigation>(<Keys>)` (read "
            "and create lines per order); `$skip` paging orders by the keys and is refused without "
            "them."
        ),
    ),
    Setting(
        "IFS_ORDER_CHARGES_ENTITY",
        "ifs",
        "Customer order charges (freight, fees, order discounts): <Projection>.svc/<EntitySet>(<Keys>).",
        "CustomerOrderHandling.svc/CustomerOrderChargeSet(OrderNo,SequenceNo)",
        default="CustomerOrderHandling.svc/CustomerOrderChargeSet(OrderNo,SequenceNo)",
    ),
    Setting(
        "IFS_QUOTATIONS_ENTITY",
        "ifs",
        "Sales quotation headers (names assumed: no public capture; check the tenant's $metadata).",
        "SalesQuotationHandling.svc/OrderQuotationSet(QuotationNo)",
        default="SalesQuotationHandling.svc/OrderQuotationSet(QuotationNo)",
    ),
    Setting(
        "IFS_QUOTATION_LINES_ENTITY",
        "ifs",
        "Sales quotation lines (names assumed).",
        "SalesQuotationHandling.svc/OrderQuotationLineSet(QuotationNo,LineNo,RelNo,LineItemNo)",
        default="SalesQuotationHandling.svc/OrderQuotationLineSet(QuotationNo,LineNo,RelNo,LineItemNo)",
    ),
    Setting(
        "IFS_QUOTATION_LINES_NAVIGATION",
        "ifs",
        "Collection navigation from a quotation to its lines, <Navigation>(<Keys>) (names assumed).",
        "QuotationLinesArray(QuotationNo,LineNo,RelNo,LineItemNo)",
        default="QuotationLinesArray(QuotationNo,LineNo,RelNo,LineItemNo)",
    ),
    Setting(
        "IFS_POTENTIAL_ORDERS_ENTITY",
        "ifs",
        "Where Dynamics opportunities land in IFS as potential orders (names assumed).",
        "BusinessOpportunityHandling.svc/BusinessOpportunitySet(OpportunityNo)",
        default="BusinessOpportunityHandling.svc/BusinessOpportunitySet(OpportunityNo)",
    ),
    Setting(
        "IFS_TIME_ZONE_AWARE",
        "ifs",
        "Send X-Ifs-Time-Zone-Aware-Request: true, so IFS reads the connector's UTC timestamps (...Z) in "
        "filters as UTC; false leaves them to IFS's server or site time zone.",
        "true",
        default="true",
        doc=(
            "Send `X-Ifs-Time-Zone-Aware-Request: true`, so IFS reads the connector's UTC "
            "timestamps (`…Z`) in filters as UTC; `false` leaves them to IFS's server or site time "
            'zone (see [docs/ifs-api.md, "Time zones"](docs/ifs-api.md#time-zones)).'
        ),
    ),
    Setting(
        "IFS_CREATE_PENDING_SECONDS",
        "ifs",
        "After a create in IFS whose outcome is unknown, how long (60-86400 seconds, at least "
        "CALL_BUDGET_SECONDS) no worker POSTs it again unless a look-up finds the row: IFS documents no "
        "server timeout, so keep it well above the gateway's.",
        "600",
        default="600",
        doc=(
            "After a create in IFS whose outcome is unknown, how long no worker POSTs it again "
            "unless a look-up finds the row (60-86400, at least `CALL_BUDGET_SECONDS`); see "
            "[Retries](#retries)"
        ),
    ),
)

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class IfsEntities:
    """Where each logical entity lives in IFS; the client takes every projection and set name from here."""

    customers: EntitySet
    customer_addresses: Navigation
    customer_comm_methods: Navigation | None  # None: phone and e-mail are not read
    sales_parts: EntitySet
    orders: EntitySet
    order_lines: EntitySet
    order_lines_navigation: Navigation
    order_charges: EntitySet
    quotations: EntitySet
    quotation_lines: EntitySet
    quotation_lines_navigation: Navigation
    potential_orders: EntitySet


@dataclass(frozen=True)
class IfsSettings:
    """The IFS Cloud tenant, its IAM client and the projection names the connector reads and writes."""

    FEATURE: ClassVar[str] = "ifs"
    base_url: str
    realm: str
    client_id: str
    client_secret: str | None = field(repr=False)  # None: read IFS_CLIENT_SECRET from Key Vault
    scope: str
    token_refresh_margin_seconds: int
    api_path: str
    page_size: int
    entities: IfsEntities
    time_zone_aware: bool
    call_budget_seconds: int
    create_pending_seconds: int

    @property
    def token_url(self) -> str:
        """The realm's OpenID Connect token endpoint."""
        return f"{self.base_url}/auth/realms/{self.realm}/protocol/openid-connect/token"

    @property
    def api_root(self) -> str:
        """Absolute URL of the projection root, ending in ``/`` (relative nextLinks resolve against it)."""
        return f"{self.base_url}{self.api_path}/"

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read the IFS_* settings."""

        def entity_set(name: str) -> EntitySet:
            expected = "<Projection>.svc/<EntitySet>(<Key>,…)"
            return reader._checked(name, EntitySet.parse, EntitySet("Invalid", "Invalid"), expected)

        def navigation(name: str) -> Navigation:
            expected = "<Navigation> or <Navigation>(<Key>,…)"
            return reader._checked(name, Navigation.parse, Navigation("Invalid"), expected)

        base_url = reader.url("IFS_BASE_URL")
        parts = urlsplit(base_url)
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
            reader.problems.append(
                "IFS_BASE_URL is invalid: expected https (http only for 127.0.0.1 or localhost), "
                f"got {base_url!r}"
            )
        known = len(reader.problems)
        budget = call_budget(reader)
        pending = reader.integer("IFS_CREATE_PENDING_SECONDS", minimum=60, maximum=86_400)
        if len(reader.problems) == known and pending < budget:
            reader.problems.append(
                f"IFS_CREATE_PENDING_SECONDS is invalid: {pending} s is shorter than CALL_BUDGET_SECONDS "
                f"({budget} s), so a create could be sent again while the first is still under way"
            )
        return cls(
            base_url=base_url,
            realm=reader.pattern("IFS_REALM", r"[A-Za-z0-9_.-]+", "a realm name (letters, digits, _ . -)"),
            client_id=reader.text("IFS_CLIENT_ID"),
            client_secret=reader.vaulted("IFS_CLIENT_SECRET"),
            scope=reader.text("IFS_SCOPE"),
            token_refresh_margin_seconds=reader.integer(
                "IFS_TOKEN_REFRESH_MARGIN_SECONDS", minimum=0, maximum=150
            ),
            api_path=reader.pattern(
                "IFS_API_PATH", r"(/[A-Za-z0-9_.-]+)+", "a path such as /main/ifsapplications/projection/v1"
            ),
            page_size=reader.integer("IFS_PAGE_SIZE", minimum=0, maximum=100000),
            entities=IfsEntities(
                customers=entity_set("IFS_CUSTOMERS_ENTITY"),
                customer_addresses=navigation("IFS_CUSTOMER_ADDRESSES_NAVIGATION"),
                customer_comm_methods=(
                    None
                    if reader.text("IFS_CUSTOMER_COMM_METHODS_NAVIGATION").lower() == "none"
                    else navigation("IFS_CUSTOMER_COMM_METHODS_NAVIGATION")
                ),
                sales_parts=entity_set("IFS_SALES_PARTS_ENTITY"),
                orders=entity_set("IFS_ORDERS_ENTITY"),
                order_lines=entity_set("IFS_ORDER_LINES_ENTITY"),
                order_lines_navigation=navigation("IFS_ORDER_LINES_NAVIGATION"),
                order_charges=entity_set("IFS_ORDER_CHARGES_ENTITY"),
                quotations=entity_set("IFS_QUOTATIONS_ENTITY"),
                quotation_lines=entity_set("IFS_QUOTATION_LINES_ENTITY"),
                quotation_lines_navigation=navigation("IFS_QUOTATION_LINES_NAVIGATION"),
                potential_orders=entity_set("IFS_POTENTIAL_ORDERS_ENTITY"),
            ),
            time_zone_aware=reader.flag("IFS_TIME_ZONE_AWARE"),
            call_budget_seconds=budget,
            create_pending_seconds=pending,
        )
