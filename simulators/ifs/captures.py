"""Real CustomerOrder and CustomerOrderLine rows captured from a live tenant, loaded into the simulator.

They are stored with the Objid and Objversion decoded from their captured ETags and with every attribute
in captured order, so a read returns them byte-for-byte as IFS did until something writes to them. The
customers and sales parts they reference are derived from the captured values (names, descriptions,
units, prices) so reads of ``CustomerNoRef`` and dependency syncs find them; those derived rows use the
simulator's assumed customer shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.ifs.etag import decode_etag
from simulators.ifs.store import keyref

DEFAULT_CAPTURES = (
    Path(__file__).resolve().parents[2] / "tests" / "vectors" / "ifs" / "customer-orders-real.json"
)


@dataclass(frozen=True)
class CapturedRow:
    """A captured row: its table, key columns, attributes (no ``@odata.etag``), Objid and Objversion."""

    luname: str
    keys: tuple[str, ...]
    values: dict[str, Any]
    objid: str
    objversion: str


_ORDER_KEYS = ("OrderNo",)
_LINE_KEYS = ("LineNo", "RelNo", "OrderNo", "LineItemNo")


def _row(luname: str, keys: tuple[str, ...], captured: dict[str, Any]) -> CapturedRow:
    etag = decode_etag(captured["@odata.etag"])
    values = {k: v for k, v in captured.items() if k != "@odata.etag"}
    return CapturedRow(luname, keys, values, etag.objid, etag.objversion)


def load_captures(path: Path = DEFAULT_CAPTURES) -> list[CapturedRow]:
    """The captured orders and lines, followed by the customers and sales parts they reference."""
    document = json.loads(path.read_text(encoding="utf-8"))
    rows = [_row("CustomerOrder", _ORDER_KEYS, h) for h in document["customerOrderHeaders"]]
    rows += [_row("CustomerOrderLine", _LINE_KEYS, line) for line in document["customerOrderLines"]]
    rows += _referenced(document["customerOrderHeaders"], document["customerOrderLines"])
    return rows


def _referenced(headers: list[dict[str, Any]], lines: list[dict[str, Any]]) -> list[CapturedRow]:
    derived: list[CapturedRow] = []
    customers: dict[str, dict[str, Any]] = {}
    for header in headers:
        version = decode_etag(header["@odata.etag"]).objversion
        for customer_id, name, address in (
            (header["CustomerNo"], header["CustomerName"], header["ShipAddrNo"]),
            (header.get("CustomerNoPay"), header.get("CustomerNoPayName"), header.get("CustomerNoPayAddrNo")),
        ):
            if not customer_id or customer_id in customers:
                continue
            customers[customer_id] = header
            derived.append(
                CapturedRow(
                    "CustomerInfo",
                    ("CustomerId",),
                    {
                        "luname": "CustomerInfo",
                        "keyref": keyref({"CustomerId": customer_id}, ("CustomerId",)),
                        "Objgrants": None,
                        "CustomerId": customer_id,
                        "Name": name,
                        "CreationDate": header["DateEntered"],
                        "AssociationNo": header.get("TaxIdNo"),
                        "PartyType": "Customer",
                        "DefaultLanguage": header["LanguageCode"],
                        "Country": header["DeliveryCountryCode"],
                        "CustomerCategory": "Customer",
                        "CorporateForm": None,
                        "B2bCustomer": False,
                        "Company": header["Company"],
                        "CurrencyCode": header["CurrencyCode"],
                        "PayTermId": header["PayTermId"],
                        "PayTermDescription": header["PaymentTermDescription"],
                        "CreditLimit": 0.0,
                        "CreditBlocked": False,
                    },
                    "",
                    version,
                )
            )
            if address:
                derived.append(
                    CapturedRow(
                        "CustomerInfoAddress",
                        ("CustomerId", "AddressId"),
                        {
                            "luname": "CustomerInfoAddress",
                            "keyref": keyref(
                                {"CustomerId": customer_id, "AddressId": address}, ("AddressId", "CustomerId")
                            ),
                            "Objgrants": None,
                            "CustomerId": customer_id,
                            "AddressId": address,
                            "Name": name,
                            "Address1": None,
                            "Address2": None,
                            "ZipCode": None,
                            "City": None,
                            "State": None,
                            "County": None,
                            "Country": header["DeliveryCountryCode"],
                            "ValidFrom": header["DateEntered"],
                            "ValidTo": None,
                            "DefaultDeliveryAddress": True,
                            "DefaultDocumentAddress": True,
                        },
                        "",
                        version,
                    )
                )
    parts: set[tuple[str, str]] = set()
    for line in lines:
        part_key = (line["Contract"], line["CatalogNo"])
        if part_key in parts:
            continue
        parts.add(part_key)
        derived.append(
            CapturedRow(
                "SalesPart",
                ("Contract", "CatalogNo"),
                {
                    "luname": "SalesPart",
                    "keyref": keyref(
                        {"Contract": line["Contract"], "CatalogNo": line["CatalogNo"]},
                        ("CatalogNo", "Contract"),
                    ),
                    "Objgrants": None,
                    "Contract": line["Contract"],
                    "CatalogNo": line["CatalogNo"],
                    "CatalogDesc": line["CatalogDesc"],
                    "PartNo": line["PartNo"],
                    "CatalogGroup": None,
                    "SalesPriceGroupId": line.get("SalesPriceGroupId"),
                    "SalesUnitMeas": line["SalesUnitMeas"],
                    "ConvFactor": line["ConvFactor"],
                    "PriceUnitMeas": line["PriceUnitMeas"],
                    "PriceConvFactor": line["PriceConvFactor"],
                    "DateEntered": line["PriceEffectivityDate"],
                    "ListPrice": line["BaseSaleUnitPrice"],
                    "ListPriceInclTax": line["BaseUnitPriceInclTax"],
                    "CurrencyCode": "EUR",
                    "TaxCode": line["TaxCode"],
                    "Taxable": True,
                    "Activeind": "ActivePart",
                    "CatalogType": line["CatalogType"],
                    "Company": line["Company"],
                },
                "",
                decode_etag(line["@odata.etag"]).objversion,
            )
        )
    return derived
