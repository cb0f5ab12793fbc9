"""Seed data for a mid-sized manufacturer: customers, sales parts, orders with lines, quotations.

Deterministic by ``seed`` and scalable by ``size`` (about the number of customer orders; customers, parts
and quotations scale with it). Dates are anchored at ``as_of`` (by default the day the real orders were
captured), never at the wall clock, so the same seed always gives the same rows and ETags.

Rows carry the attributes the connector reads plus a realistic subset of the rest, in IFS's names and
formats (enum identifiers, ``Edm.Date`` vs timestamps, ``luname``/``keyref``). Shapes no capture confirms
are assumed (marked in ``simulators.ifs.model``): customers' credit limit and payment terms are flattened
onto ``CustomerInfo`` rows, which in IFS live in credit and invoice info per company.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from simulators.ifs.model import ORDER_STATES
from simulators.ifs.store import keyref

DEFAULT_AS_OF = date(2025, 11, 12)  # capture date of the real orders in tests/vectors/ifs
MAX_SALES_PARTS = 9000  # catalog numbers are 1000 + n * 7 mod 9000: distinct for fewer than 9000 parts


@dataclass(frozen=True)
class Site:
    """A site (``Contract``) of one company, with its currency and tax."""

    contract: str
    company: str
    currency: str
    country: str
    tax_code: str
    tax_rate: float
    language: str


SITES = (
    Site("MFG10", "10", "EUR", "DE", "DE-19", 0.19, "de"),
    Site("MFG11", "10", "EUR", "DE", "DE-19", 0.19, "de"),
    Site("DIS20", "20", "USD", "US", "US-EXEMPT", 0.0, "en"),
    Site("UK30", "30", "GBP", "GB", "GB-20", 0.20, "en"),
    Site("SE40", "40", "SEK", "SE", "SE-25", 0.25, "sv"),
)

PAYMENT_TERMS = (  # assumed codes and descriptions
    ("30", "30 DAYS NET"),
    ("30FDM", "30 DAYS END OF MONTH"),
    ("60", "60 DAYS NET"),
    ("10D2", "2% 10 DAYS, 30 DAYS NET"),
    ("PREPAY", "PREPAYMENT"),
)
DELIVERY_TERMS = ("EXW", "FCA", "DAP", "DDP", "CPT")
SHIP_VIA = ("RTA", "ROAD", "SEA", "AIR", "COURIER")
ORDER_TYPES = ("NO", "NO", "NO", "EXP", "SRV")
COORDINATORS = ("*", "ANNA", "MIKE", "SOFIA", "LARS")
SALESMEN = ("S10", "S11", "S12", "S20", "S30")

_COUNTRIES = {
    "DE": ("Hamburg", "Munich", "Stuttgart", "Dortmund", "Leipzig"),
    "FR": ("Lyon", "Bordeaux", "Nantes", "Lille", "Toulouse"),
    "US": ("Houston", "Cleveland", "Denver", "Atlanta", "Portland"),
    "GB": ("Leeds", "Bristol", "Glasgow", "Sheffield", "Derby"),
    "SE": ("Gothenburg", "Malmo", "Vasteras", "Umea", "Linkoping"),
    "NL": ("Rotterdam", "Eindhoven", "Utrecht", "Groningen", "Delft"),
}
_COUNTRY_SITE = {"DE": "MFG10", "FR": "MFG11", "NL": "MFG10", "US": "DIS20", "GB": "UK30", "SE": "SE40"}
_NAME_A = (
    "Nordic",
    "Alpine",
    "Atlas",
    "Harbor",
    "Summit",
    "Delta",
    "Vector",
    "Granite",
    "Coastal",
    "Pioneer",
)
_NAME_B = (
    "Water",
    "Process",
    "Chemical",
    "Marine",
    "Energy",
    "Food",
    "Paper",
    "Mining",
    "Utility",
    "Brewing",
)
_NAME_C = ("Systems", "Industries", "Works", "Solutions", "Group", "Services", "Technik", "AB", "GmbH", "Ltd")
_STREETS = ("Industrial Road", "Harbour Street", "Mill Lane", "Station Road", "Park Avenue", "Dock Road")

# Product families: (prefix, description stem, unit, price range, catalog type)
_FAMILIES = (
    ("PMP", "Centrifugal pump", "pcs", (900.0, 14000.0), "InventoryPart"),
    ("VLV", "Butterfly valve", "pcs", (80.0, 2600.0), "InventoryPart"),
    ("SEL", "Mechanical seal kit", "set", (35.0, 480.0), "InventoryPart"),
    ("MTR", "IE3 motor", "pcs", (400.0, 6500.0), "InventoryPart"),
    ("PIP", "Stainless pipe", "m", (12.0, 95.0), "InventoryPart"),
    ("LUB", "Bearing grease", "kg", (8.0, 40.0), "InventoryPart"),
    ("SRV", "Commissioning service", "h", (85.0, 160.0), "NonInventoryPart"),
    ("KIT", "Spare parts package", "pcs", (150.0, 2200.0), "PackagePart"),
)
_LINE_COUNT_WEIGHTS = (20, 16, 13, 11, 9, 7, 6, 5, 4, 3, 2.5, 2, 1.6, 1.3, 1.1, 1, 0.8, 0.6, 0.5, 0.4)


@dataclass
class SeedRow:
    """One row for a table, with the Objversion it was last written at."""

    luname: str
    keys: tuple[str, ...]
    values: dict[str, Any]
    objversion: str


@dataclass
class SeedData:
    """Everything generated, as rows per table plus the number sequences to continue from."""

    rows: list[SeedRow] = field(default_factory=list)
    sequences: dict[str, int] = field(default_factory=dict)

    def of(self, luname: str) -> list[SeedRow]:
        """The rows of one table."""
        return [r for r in self.rows if r.luname == luname]


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _version(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


def _at(day: date, rng: random.Random, start_hour: int = 6, end_hour: int = 18) -> datetime:
    seconds = rng.randrange(start_hour * 3600, end_hour * 3600)
    return datetime.combine(day, time(), tzinfo=UTC) + timedelta(seconds=seconds)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


@dataclass(frozen=True)
class _Part:
    site: Site
    catalog_no: str
    description: str
    unit: str
    price: float
    catalog_type: str
    cost: float


@dataclass(frozen=True)
class _Customer:
    customer_id: str
    name: str
    country: str
    site: Site
    pay_term: tuple[str, str]
    addresses: tuple[str, ...]


class _Generator:
    def __init__(
        self,
        seed: int,
        size: int,
        as_of: date,
        *,
        customers: int | None = None,
        sales_parts: int | None = None,
        part_sites: Sequence[str] | None = None,
        order_lines: tuple[int, int] | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.order_lines = order_lines
        # Attributes added later (charges, quotation revisions) draw from their own generator, so the rows
        # generated before them stay what they were for every seed.
        self.extra = random.Random(seed * 7919 + 1)
        self.size = max(1, size)
        self.as_of = as_of
        self.data = SeedData()
        self.customers: list[_Customer] = []
        self.parts_by_site: dict[str, list[_Part]] = {}
        self.customer_count = max(4, self.size // 8) if customers is None else customers
        self.part_count = max(6, self.size // 4) if sales_parts is None else sales_parts
        if self.customer_count < 1 or self.part_count < 1:
            raise ValueError(f"a tenant needs customers and sales parts, not {customers} and {sales_parts}")
        if self.part_count > MAX_SALES_PARTS:
            raise ValueError(f"at most {MAX_SALES_PARTS} sales parts have distinct catalog numbers")
        self.part_sites: tuple[Site, ...] = SITES
        if part_sites is not None:
            known = {site.contract: site for site in SITES}
            unknown = [code for code in part_sites if code not in known]
            if unknown or not part_sites:
                named = ", ".join(known)
                raise ValueError(f"part_sites must name seeded sites ({named}), not {unknown or '()'}")
            self.part_sites = tuple(known[code] for code in dict.fromkeys(part_sites))

    def run(self) -> SeedData:
        self._customers(self.customer_count)
        self._parts(self.part_count)
        won = self._quotations(max(2, self.size // 3))
        self._orders(self.size, won)
        self._opportunities(max(1, self.size // 20))
        return self.data

    # ---- customers and addresses (assumed shape) -------------------------------------------

    def _customers(self, count: int) -> None:
        rng = self.rng
        for n in range(count):
            country = rng.choice(tuple(_COUNTRIES))
            site = next(s for s in SITES if s.contract == _COUNTRY_SITE[country])
            customer_id = f"{country}{1000 + n:04d}"
            name = f"{rng.choice(_NAME_A)} {rng.choice(_NAME_B)} {rng.choice(_NAME_C)}".upper()
            created = self.as_of - timedelta(days=rng.randrange(400, 3650))
            pay_term = rng.choice(PAYMENT_TERMS)
            address_ids = ("01", *(f"{i + 2:02d}" for i in range(rng.choice((0, 0, 1, 1, 2)))))
            customer = _Customer(customer_id, name, country, site, pay_term, address_ids)
            self.customers.append(customer)
            changed = _at(created + timedelta(days=rng.randrange(0, 300)), rng)
            values = {
                "luname": "CustomerInfo",
                "keyref": keyref({"CustomerId": customer_id}, ("CustomerId",)),
                "Objgrants": None,
                "CustomerId": customer_id,
                "Name": name,
                "CreationDate": created.isoformat(),
                "AssociationNo": f"{country}{rng.randrange(10**8, 10**9)}",
                "PartyType": "Customer",
                "DefaultLanguage": site.language,
                "Country": country,
                "CustomerCategory": "Customer",
                "CorporateForm": rng.choice(("LTD", "GMBH", "AB", "INC", None)),
                "B2bCustomer": rng.random() < 0.2,
                # Assumed: flattened from credit info and invoice info of the customer's company.
                "Company": site.company,
                "CurrencyCode": site.currency,
                "PayTermId": pay_term[0],
                "PayTermDescription": pay_term[1],
                "CreditLimit": float(rng.choice((25_000, 50_000, 100_000, 250_000, 500_000))),
                "CreditBlocked": rng.random() < 0.03,
            }
            self._add("CustomerInfo", ("CustomerId",), values, changed)
            city_names = _COUNTRIES[country]
            for index, address_id in enumerate(address_ids):
                city = rng.choice(city_names)
                values = {
                    "luname": "CustomerInfoAddress",
                    "keyref": keyref(
                        {"CustomerId": customer_id, "AddressId": address_id}, ("AddressId", "CustomerId")
                    ),
                    "Objgrants": None,
                    "CustomerId": customer_id,
                    "AddressId": address_id,
                    "Name": name if index == 0 else f"{name} - {city.upper()}",
                    "Address1": f"{rng.randrange(1, 240)} {rng.choice(_STREETS)}",
                    "Address2": None,
                    "ZipCode": f"{rng.randrange(10000, 99999)}",
                    "City": city,
                    "State": None,
                    "County": None,
                    "Country": country,
                    "ValidFrom": created.isoformat(),
                    "ValidTo": None,
                    "DefaultDeliveryAddress": index == 0,
                    "DefaultDocumentAddress": index == 0,
                }
                self._add("CustomerInfoAddress", ("CustomerId", "AddressId"), values, changed)
            self._comm_methods(customer_id, name, changed)

    def _comm_methods(self, customer_id: str, name: str, changed: datetime) -> None:
        """A customer's phone, e-mail and maybe fax (assumed shape).

        From an RNG of their own, so adding them left every other seeded row as it was.
        """
        rng = random.Random(f"{self.seed}-{customer_id}")
        domain = "".join(ch for ch in name.lower() if ch.isalnum())[:16] or "customer"
        methods = [("Phone", f"+{rng.randrange(10, 99)} {rng.randrange(10**7, 10**8)}")]
        if rng.random() < 0.8:
            methods.append(("EMail", f"orders@{domain}.example"))
        if rng.random() < 0.3:
            methods.append(("Fax", f"+{rng.randrange(10, 99)} {rng.randrange(10**7, 10**8)}"))
        for comm_id, (method, value) in enumerate(methods, start=1):
            values = {
                "luname": "CustomerInfoCommMethod",
                "keyref": keyref({"CustomerId": customer_id, "CommId": comm_id}, ("CommId", "CustomerId")),
                "Objgrants": None,
                "CustomerId": customer_id,
                "CommId": comm_id,
                "Method": method,
                "Value": value,
                "Name": method.upper(),
                "Description": None,
                "MethodDefault": True,
                "AddressId": None,
                "ValidFrom": None,
                "ValidTo": None,
            }
            self._add("CustomerInfoCommMethod", ("CustomerId", "CommId"), values, changed)

    # ---- sales parts -------------------------------------------------------------------------

    def _parts(self, count: int) -> None:
        rng = self.rng
        for n in range(count):
            prefix, stem, unit, (low, high), catalog_type = _FAMILIES[n % len(_FAMILIES)]
            catalog_no = f"{prefix}-{1000 + n * 7 % 9000:04d}"
            description = f"{stem} {prefix[0]}{rng.randrange(10, 99)}-{rng.choice(('S', 'M', 'L', 'XL'))}"
            base_price = round(rng.uniform(low, high), 2)
            entered = self.as_of - timedelta(days=rng.randrange(200, 2500))
            sites = self.part_sites
            for site in rng.sample(sites, min(len(sites), rng.choice((1, 2, 2, 3)))):
                rate = {"EUR": 1.0, "USD": 1.08, "GBP": 0.86, "SEK": 11.4}[site.currency]
                price = round(base_price * rate, 2)
                part = _Part(site, catalog_no, description, unit, price, catalog_type, round(price * 0.62, 2))
                self.parts_by_site.setdefault(site.contract, []).append(part)
                values = {
                    "luname": "SalesPart",
                    "keyref": keyref(
                        {"Contract": site.contract, "CatalogNo": catalog_no}, ("CatalogNo", "Contract")
                    ),
                    "Objgrants": None,
                    "Contract": site.contract,
                    "CatalogNo": catalog_no,
                    "CatalogDesc": description,
                    "PartNo": catalog_no if catalog_type == "InventoryPart" else None,
                    "CatalogGroup": prefix,
                    "SalesPriceGroupId": prefix[:2],
                    "SalesUnitMeas": unit,
                    "ConvFactor": 1,
                    "PriceUnitMeas": unit,
                    "PriceConvFactor": 1,
                    "DateEntered": entered.isoformat(),
                    "ListPrice": price,
                    "ListPriceInclTax": round(price * (1 + site.tax_rate), 2),
                    "CurrencyCode": site.currency,
                    "TaxCode": site.tax_code,
                    "Taxable": site.tax_rate > 0,
                    "Activeind": "ActivePart" if rng.random() > 0.05 else "InactivePart",
                    "CatalogType": catalog_type,
                    "Company": site.company,
                }
                self._add("SalesPart", ("Contract", "CatalogNo"), values, _at(entered, rng))

    # ---- quotations (assumed shape) ------------------------------------------------------------

    def _quotations(self, count: int) -> list[tuple[str, _Customer, list[tuple[_Part, float, float]]]]:
        rng = self.rng
        won: list[tuple[str, _Customer, list[tuple[_Part, float, float]]]] = []
        for n in range(count):
            customer = rng.choice(self.customers)
            parts = self.parts_by_site.get(customer.site.contract) or [
                p for ps in self.parts_by_site.values() for p in ps
            ]
            quotation_no = f"Q{1000000 + n}"
            entered = self.as_of - timedelta(days=rng.randrange(0, 540))
            age = (self.as_of - entered).days
            state = rng.choices(
                ("Planned", "Released", "Revised", "Won", "Lost", "Cancelled"),
                weights=(3, 4, 1, 3, 2, 1) if age < 60 else (0.2, 1, 0.5, 5, 3, 1),
            )[0]
            lines: list[tuple[_Part, float, float]] = []
            for _ in range(self._line_count()):
                part = rng.choice(parts)
                lines.append((part, self._qty(part), rng.choice((0.0, 0.0, 5.0, 10.0))))
            changed = _at(min(self.as_of, entered + timedelta(days=rng.randrange(0, 30))), rng)
            total = round(sum(p.price * q * (1 - d / 100) for p, q, d in lines), 2)
            values = {
                "luname": "OrderQuotation",
                "keyref": keyref({"QuotationNo": quotation_no}, ("QuotationNo",)),
                "Objstate": state,
                "Objgrants": None,
                "QuotationNo": quotation_no,
                "Company": customer.site.company,
                "Contract": customer.site.contract,
                "CustomerNo": customer.customer_id,
                "CustomerName": customer.name,
                "CurrencyCode": customer.site.currency,
                "PayTermId": customer.pay_term[0],
                "DeliveryTerms": rng.choice(DELIVERY_TERMS),
                "AuthorizeCode": rng.choice(COORDINATORS),
                "SalesmanCode": rng.choice(SALESMEN),
                "DateEntered": entered.isoformat(),
                "ExpirationDate": (entered + timedelta(days=60)).isoformat(),
                "WantedDeliveryDate": _stamp(_midnight(entered + timedelta(days=rng.randrange(20, 90)))),
                "CustomerQuoNo": f"RFQ-{rng.randrange(10000, 99999)}",
                "ProbabilityToWin": float(rng.choice((10, 25, 50, 75, 90))),
                "BusinessOpportunityNo": None,
                "ExternalRef": None,
                "TotalNetAmount": total,
                "LostReason": "PRICE" if state == "Lost" else None,
                # Assumed: the quotation's revision, raised by IFS's "create revision" (a revised quotation
                # is being reworked after it was released).
                "RevisionNo": 2 if state == "Revised" else 1,
            }
            self._add("OrderQuotation", ("QuotationNo",), values, changed)
            for index, (part, qty, discount) in enumerate(lines, start=1):
                line_state = {"Won": "Won", "Lost": "Lost", "Cancelled": "Cancelled"}.get(state, "Released")
                if state == "Planned":
                    line_state = "Planned"
                line = {
                    "luname": "OrderQuotationLine",
                    "keyref": keyref(
                        {"QuotationNo": quotation_no, "LineNo": str(index), "RelNo": "1", "LineItemNo": 0},
                        ("LineItemNo", "LineNo", "QuotationNo", "RelNo"),
                    ),
                    "Objstate": line_state,
                    "Objgrants": None,
                    "QuotationNo": quotation_no,
                    "LineNo": str(index),
                    "RelNo": "1",
                    "LineItemNo": 0,
                    "Contract": part.site.contract,
                    "CatalogNo": part.catalog_no,
                    "CatalogDesc": part.description,
                    "SalesUnitMeas": part.unit,
                    "BuyQtyDue": qty,
                    "SaleUnitPrice": part.price,
                    "Discount": discount,
                    "NetAmountCurr": round(part.price * qty * (1 - discount / 100), 2),
                    "WantedDeliveryDate": values["WantedDeliveryDate"],
                }
                # Assumed, as on order lines: the discount, tax and gross amounts in the quotation's currency.
                net = round(part.price * qty * (1 - discount / 100), 2)
                tax = round(net * part.site.tax_rate, 2)
                line |= {
                    "DiscountAmountCurr": round(part.price * qty * discount / 100, 2),
                    "TaxAmountCurr": tax,
                    "GrossAmountCurr": round(net + tax, 2),
                }
                self._add(
                    "OrderQuotationLine", ("QuotationNo", "LineNo", "RelNo", "LineItemNo"), line, changed
                )
            if state == "Won":
                won.append((quotation_no, customer, lines))
        self.data.sequences["quotation"] = 1000000 + count
        return won

    # ---- customer orders and lines -------------------------------------------------------------

    def _line_count(self) -> int:
        """Lines of one order or quotation: 1-20, few more often than many (or evenly in ``order_lines``)."""
        if self.order_lines is not None:
            return self.rng.randint(*self.order_lines)
        return self.rng.choices(range(1, 21), weights=_LINE_COUNT_WEIGHTS)[0]

    def _qty(self, part: _Part) -> float:
        if part.unit in ("m", "kg", "h"):
            return float(self.rng.choice((2.5, 5, 10, 12.5, 25, 40, 100)))
        return float(self.rng.choices((1, 2, 3, 4, 5, 10, 20, 50), weights=(30, 20, 12, 8, 10, 10, 6, 4))[0])

    def _order_state(self, age_days: int) -> str:
        rng = self.rng
        if age_days > 120:
            return rng.choices(("Invoiced", "Cancelled", "Delivered"), weights=(88, 7, 5))[0]
        if age_days > 30:
            return rng.choices(
                (
                    "Invoiced",
                    "Delivered",
                    "PartiallyDelivered",
                    "Picked",
                    "Reserved",
                    "Released",
                    "Cancelled",
                ),
                weights=(40, 20, 10, 5, 10, 10, 5),
            )[0]
        return rng.choices(
            (
                "Planned",
                "Released",
                "Reserved",
                "Picked",
                "PartiallyDelivered",
                "Blocked",
                "Delivered",
                "Cancelled",
            ),
            weights=(20, 35, 20, 8, 5, 5, 5, 2),
        )[0]

    def _orders(self, count: int, won: list[tuple[str, _Customer, list[tuple[_Part, float, float]]]]) -> None:
        rng = self.rng
        first = 1000001001
        for n in range(count):
            order_no = f"C{first + n}"
            from_quote = won.pop() if won and rng.random() < 0.3 else None
            if from_quote is not None:
                quotation_no, customer, quoted = from_quote
            else:
                quotation_no, customer = None, rng.choice(self.customers)
                parts = self.parts_by_site.get(customer.site.contract) or [
                    p for ps in self.parts_by_site.values() for p in ps
                ]
                count_lines = self._line_count()
                quoted = [
                    (part, self._qty(part), rng.choice((0.0, 0.0, 0.0, 5.0, 10.0)))
                    for part in (rng.choice(parts) for _ in range(count_lines))
                ]
            entered_day = self.as_of - timedelta(days=int(rng.triangular(0, 730, 0)))
            created = _at(entered_day, rng)
            age = (self.as_of - entered_day).days
            state = self._order_state(age)
            wanted = _midnight(entered_day + timedelta(days=rng.randrange(7, 60))) + timedelta(
                hours=rng.choice((0, 7, 8))
            )
            changed = min(
                _at(self.as_of, rng, 0, 1),
                created
                + timedelta(days=rng.randrange(0, max(1, min(age, 90)) + 1), minutes=rng.randrange(1, 600)),
            )
            site = customer.site
            ship_addr = rng.choice(customer.addresses)
            po_no = f"PO-{rng.randrange(100000, 999999)}"
            line_rows = self._lines(
                order_no,
                state=state,
                customer=customer,
                quoted=quoted,
                created=created,
                wanted=wanted,
                changed=changed,
            )
            total = round(sum(float(line["NetAmountCurr"]) for line in line_rows), 2)
            values = {
                "luname": "CustomerOrder",
                "keyref": keyref({"OrderNo": order_no}, ("OrderNo",)),
                "Objstate": state,
                "Objgrants": None,
                "OrderNo": order_no,
                "AuthorizeCode": rng.choice(COORDINATORS),
                "BillAddrNo": customer.addresses[0],
                "Contract": site.contract,
                "Company": site.company,
                "CurrencyCode": site.currency,
                "CustomerNo": customer.customer_id,
                "CustomerNoPay": None,
                "DeliveryTerms": rng.choice(DELIVERY_TERMS),
                "LanguageCode": site.language,
                "OrderId": rng.choice(ORDER_TYPES),
                "PayTermId": customer.pay_term[0],
                "RegionCode": customer.country,
                "SalesmanCode": rng.choice(SALESMEN),
                "ShipAddrNo": ship_addr,
                "ShipViaCode": rng.choice(SHIP_VIA),
                "AddrFlag": "No",
                "CustomerPoNo": po_no,
                "CustRef": None,
                "DateEntered": entered_day.isoformat(),
                "DeliveryLeadtime": rng.choice((0, 1, 2, 5)),
                "NoteText": None,
                "TaxLiability": "TAX" if site.tax_rate > 0 else "EXEMPT",
                "DeliveryCountryCode": customer.country,
                "WantedDeliveryDate": _stamp(wanted),
                "InternalPoNo": None,
                "ExternalRef": None,
                "QuotationNo": quotation_no,
                "SmConnection": "NotConnected",
                "SchedulingConnection": "NotSchedulingOrder",
                "IntrastatExempt": "Include",
                "BackorderOption": "AllowIncompleteLinesPkgs",
                "ShipmentCreation": "NoAutomatic",
                "SupplyCountry": site.country,
                "BlockedType": "ManualBlocked" if state == "Blocked" else "NotBlocked",
                "IsNewCustomer": False,
                "CompanyCurrencyCode": site.currency,
                "CancelReason": "CUSTOMER" if state == "Cancelled" else None,
                "BlockedReason": "CREDIT" if state == "Blocked" else None,
                "UsePriceInclTax": False,
                "BusinessOpportunityNo": None,
                "ChargesExist": False,
                "TaxCalcMethod": "NOT_USED",
                "BusinessObjectType": "CustomerOrder",
                "BusinessObjectId": order_no,
                "DelAddrName": customer.name,
                "BillAddrName": customer.name,
                "PlannedDeliveryDate": _stamp(wanted),
                "TotalAmount": total,
                "CustomerName": customer.name,
                "PaymentTermDescription": customer.pay_term[1],
                "PartyType": "Customer",
                "OrderCreationDate": _stamp(created),
                "WantedDeliveryWeek": f"{wanted.isocalendar().week:02d}/{wanted.isocalendar().year}",
            }
            charges = [] if state == "Cancelled" else self._charges(order_no, site, total)
            values["ChargesExist"] = bool(charges)
            self._add("CustomerOrder", ("OrderNo",), values, changed)
            for line in line_rows:
                self._add("CustomerOrderLine", ("LineNo", "RelNo", "OrderNo", "LineItemNo"), line, changed)
            for charge in charges:
                self._add("CustomerOrderCharge", ("OrderNo", "SequenceNo"), charge, changed)
        self.data.sequences["order"] = first + count - 1

    def _charges(self, order_no: str, site: Site, net_total: float) -> list[dict[str, Any]]:
        """Order charges (assumed shape beyond the digest's fields): freight, packing, a discount."""
        rng = self.extra
        wanted: list[tuple[str, float, float]] = []  # (charge type, charged quantity, amount per unit)
        if rng.random() < 0.3:
            wanted.append(("FREIGHT", 1.0, round(rng.uniform(25, 250), 2)))
        if rng.random() < 0.1:
            wanted.append(("PACKING", float(rng.choice((1, 2, 3))), round(rng.uniform(5, 40), 2)))
        if net_total > 0 and rng.random() < 0.1:  # a negative charge: an order-level discount
            wanted.append(("DISCOUNT", 1.0, -round(net_total * rng.choice((0.02, 0.03, 0.05)), 2)))
        rows = []
        for number, (charge_type, qty, amount) in enumerate(wanted, start=1):
            key = {"OrderNo": order_no, "SequenceNo": number}
            rows.append(
                {
                    "luname": "CustomerOrderCharge",
                    "keyref": keyref(key, ("OrderNo", "SequenceNo")),
                    "Objgrants": None,
                    "OrderNo": order_no,
                    "SequenceNo": number,
                    "LineNo": None,
                    "RelNo": None,
                    "LineItemNo": None,
                    "Contract": site.contract,
                    "Company": site.company,
                    "ChargeType": charge_type,
                    "ChargedQty": qty,
                    "SalesUnitMeas": "pcs",
                    "ChargeAmount": amount,
                    "ChargeAmountInclTax": round(amount * (1 + site.tax_rate), 2),
                    "BaseChargeAmount": amount,
                    "BaseChargeAmtInclTax": round(amount * (1 + site.tax_rate), 2),
                    "ChargeCost": 0,
                    "TaxCode": site.tax_code,
                    "InvoicedQty": 0,
                    "CurrencyRate": 1,
                    "Collect": "Invoice",
                    "PrintChargeType": "Yes",
                    "UnitCharge": "Yes",
                }
            )
        return rows

    def _line_state(self, order_state: str, index: int) -> str:
        if order_state == "PartiallyDelivered":
            return "Delivered" if index % 2 else "Released"
        if order_state == "Blocked":
            return "Released"
        return order_state if order_state in ORDER_STATES else "Released"

    def _lines(
        self,
        order_no: str,
        *,
        state: str,
        customer: _Customer,
        quoted: list[tuple[_Part, float, float]],
        created: datetime,
        wanted: datetime,
        changed: datetime,
    ) -> list[dict[str, Any]]:
        rng = self.rng
        rows: list[dict[str, Any]] = []
        for index, (part, qty, discount) in enumerate(quoted, start=1):
            line_state = self._line_state(state, index)
            delivered = line_state in ("Delivered", "Invoiced")
            price = part.price
            net = round(price * qty * (1 - discount / 100), 2)
            tax = round(net * part.site.tax_rate, 2)
            ship_day = (changed - timedelta(days=rng.randrange(0, 5))).date()
            key = {"LineNo": str(index), "RelNo": "1", "OrderNo": order_no, "LineItemNo": 0}
            rows.append(
                {
                    "luname": "CustomerOrderLine",
                    "keyref": keyref(key, ("LineItemNo", "LineNo", "OrderNo", "RelNo")),
                    "Objstate": line_state,
                    "Objgrants": None,
                    "OrderNo": order_no,
                    "LineNo": str(index),
                    "RelNo": "1",
                    "LineItemNo": 0,
                    "Contract": part.site.contract,
                    "Company": part.site.company,
                    "CatalogNo": part.catalog_no,
                    "PartNo": part.catalog_no if part.catalog_type == "InventoryPart" else None,
                    "SalesUnitMeas": part.unit,
                    "BaseSaleUnitPrice": price,
                    "BaseUnitPriceInclTax": round(price * (1 + part.site.tax_rate), 2),
                    "BuyQtyDue": qty,
                    "CatalogDesc": part.description,
                    "CatalogType": part.catalog_type,
                    "ConvFactor": 1,
                    "Cost": part.cost,
                    "CurrencyRate": 1,
                    "DateEntered": _stamp(created + timedelta(seconds=index * 7)),
                    "Discount": discount,
                    "NoteText": None,
                    "OrderDiscount": 0,
                    "PlannedDeliveryDate": _stamp(wanted),
                    "PriceConvFactor": 1,
                    "PromisedDeliveryDate": _stamp(wanted),
                    "QtyAssigned": qty if line_state in ("Reserved", "Picked") else 0,
                    "QtyInvoiced": qty if line_state == "Invoiced" else 0,
                    "QtyPicked": qty if line_state == "Picked" else 0,
                    "QtyShipped": qty if delivered else 0,
                    "QtyReturned": 0,
                    "QtyToShip": 0,
                    "QtyShort": 0,
                    "RealShipDate": ship_day.isoformat() if delivered else None,
                    "RevisedQtyDue": qty,
                    "SaleUnitPrice": price,
                    "UnitPriceInclTax": round(price * (1 + part.site.tax_rate), 2),
                    "SupplyCode": "InventOrder" if part.catalog_type == "InventoryPart" else "NotApplicable",
                    "WantedDeliveryDate": _stamp(wanted),
                    "TaxCode": part.site.tax_code,
                    "CustomerNo": customer.customer_id,
                    "ShipAddrNo": customer.addresses[0],
                    "DesiredQty": qty,
                    "PriceSource": "SalesPart",
                    "PriceFreeze": "Free",
                    "PriceListNo": None,
                    "PriceUnitMeas": part.unit,
                    "TaxLiability": "TAX" if part.site.tax_rate > 0 else "EXEMPT",
                    "CustomerPoLineNo": str(index),
                    "DiscountAmountCurr": round(price * qty * discount / 100, 2),
                    "NetAmountCurr": net,
                    "TaxAmountCurr": tax,
                    "GrossAmountCurr": round(net + tax, 2),
                    "NetAmountBase": net,
                    "GrossAmountBase": round(net + tax, 2),
                }
            )
        return rows

    # ---- potential orders (assumed shape) ------------------------------------------------------

    def _opportunities(self, count: int) -> None:
        rng = self.rng
        for n in range(count):
            customer = rng.choice(self.customers)
            opened = self.as_of - timedelta(days=rng.randrange(0, 180))
            number = f"BO{100000 + n}"
            values = {
                "luname": "BusinessOpportunity",
                "keyref": keyref({"OpportunityNo": number}, ("OpportunityNo",)),
                "Objstate": rng.choice(("Active", "Active", "Won", "Lost")),
                "Objgrants": None,
                "OpportunityNo": number,
                "Description": f"{rng.choice(_FAMILIES)[1]} upgrade",
                "CustomerId": customer.customer_id,
                "Company": customer.site.company,
                "Contract": customer.site.contract,
                "MainRepresentativeId": rng.choice(SALESMEN),
                "Probability": float(rng.choice((10, 25, 50, 75))),
                "EstimatedValue": float(rng.randrange(5, 400) * 1000),
                "CurrencyCode": customer.site.currency,
                "StartDate": opened.isoformat(),
                "ClosingDate": (opened + timedelta(days=rng.randrange(30, 180))).isoformat(),
                "ExternalRef": None,
                "Note": None,
            }
            self._add("BusinessOpportunity", ("OpportunityNo",), values, _at(opened, rng))
        self.data.sequences["opportunity"] = 100000 + count - 1

    def _add(self, luname: str, keys: tuple[str, ...], values: dict[str, Any], changed: datetime) -> None:
        self.data.rows.append(SeedRow(luname, keys, values, _version(changed)))


def generate(
    seed: int = 1,
    size: int = 200,
    as_of: date = DEFAULT_AS_OF,
    *,
    customers: int | None = None,
    sales_parts: int | None = None,
    part_sites: Sequence[str] | None = None,
    order_lines: tuple[int, int] | None = None,
) -> SeedData:
    """The seed rows for ``seed`` and ``size`` (about the number of customer orders).

    ``customers`` and ``sales_parts`` (catalog numbers) ask for exact counts instead of the ones ``size``
    implies; ``part_sites`` puts the sales parts on those sites only (each part on one to three of them);
    ``order_lines`` (lowest, highest) gives every order and quotation that many lines, evenly (benchmarks).
    Left out, the data is exactly what ``seed`` and ``size`` alone give.
    """
    generator = _Generator(
        seed,
        size,
        as_of,
        customers=customers,
        sales_parts=sales_parts,
        part_sites=part_sites,
        order_lines=order_lines,
    )
    return generator.run()


def iter_tables(data: SeedData) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Each table in the data with its key columns (first appearance order)."""
    seen: set[str] = set()
    for row in data.rows:
        if row.luname not in seen:
            seen.add(row.luname)
            yield row.luname, row.keys
