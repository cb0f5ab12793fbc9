"""What the simulated tenant serves: projections, entity sets, keys, property types and navigations.

Names and formats follow the captures and docs/ifs-api.md: ``CustomerOrderHandling`` (order headers and
lines) is confirmed by a real capture and a real OpenAPI digest; ``CustomerHandling.CustomerInfoSet`` with
``CustomerInfoAddresses`` and ``SalesPartHandling.SalesPartSet`` by public client code (names and keys only);
the quotation and potential-order projections by nothing public. Enum *type* names are confirmed only for
``CustomerOrderState`` (``CONFIRMED_ENUM_TYPES``); every other one is a guess in IFS's naming style, even on
the captured sets. ``simulators.ifs.shapes`` declares all of this in ``/_admin/shapes``, so no one mistakes
an assumed shape for a confirmed one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

STRING = "Edm.String"
DATE = "Edm.Date"
TIMESTAMP = "Edm.DateTimeOffset"
DECIMAL = "Edm.Decimal"
INTEGER = "Edm.Int64"
BOOLEAN = "Edm.Boolean"


@dataclass(frozen=True)
class Collection:
    """A collection navigation (``…Array``): child rows whose ``link`` columns equal the parent's."""

    name: str
    target: str  # entity set name in the same projection
    link: Mapping[str, str]  # parent column -> child column


@dataclass(frozen=True)
class Reference:
    """A one-to-one navigation (``…Ref``), the only kind IFS can ``$expand``."""

    name: str
    target_table: str  # luname of the referenced table
    link: Mapping[str, str]  # this row's column -> referenced table's key column
    view: str  # how the referenced row is shaped (see projections.reference_view)


@dataclass(frozen=True)
class EntitySetModel:
    """One entity set: its table (by LU name), key, property types and navigations."""

    projection: str
    name: str
    entity_type: str
    luname: str
    keys: tuple[str, ...]
    key_types: Mapping[str, str]
    types: Mapping[str, str]  # property -> Edm type or qualified enum type; others inferred from values
    collections: Mapping[str, Collection] = field(default_factory=dict)
    references: Mapping[str, Reference] = field(default_factory=dict)
    insertable: bool = True
    updatable: bool = True

    def enum_type(self, prop: str) -> str | None:
        """The qualified enum type of ``prop`` (``IfsApp.<Projection>.<Type>``), if it is an enum."""
        kind = self.types.get(prop)
        return kind if kind is not None and kind.startswith("IfsApp.") else None


def _enum(projection: str, name: str) -> str:
    return f"IfsApp.{projection}.{name}"


CO = "CustomerOrderHandling"
CH = "CustomerHandling"
SP = "SalesPartHandling"
SQ = "SalesQuotationHandling"
BO = "BusinessOpportunityHandling"

_ORDER_TYPES: dict[str, str] = {
    "Objstate": _enum(CO, "CustomerOrderState"),
    "DateEntered": DATE,
    "WantedDeliveryDate": TIMESTAMP,
    "PlannedDeliveryDate": TIMESTAMP,
    "OrderCreationDate": TIMESTAMP,
    "PayTermBaseDate": DATE,
    "TaxIdValidatedDate": DATE,
    "AddrFlag": _enum(CO, "GenYesNo"),
    "BlockedType": _enum(CO, "CustomerOrderBlockType"),
    "SmConnection": _enum(CO, "ServiceManagementConnect"),
    "TotalAmount": DECIMAL,
    "DeliveryLeadtime": INTEGER,
}
_LINE_TYPES: dict[str, str] = {
    "Objstate": _enum(CO, "CustomerOrderLineState"),
    "LineItemNo": INTEGER,
    "DateEntered": TIMESTAMP,
    "WantedDeliveryDate": TIMESTAMP,
    "PlannedDeliveryDate": TIMESTAMP,
    "PromisedDeliveryDate": TIMESTAMP,
    "PlannedShipDate": TIMESTAMP,
    "PlannedDueDate": TIMESTAMP,
    "TargetDate": TIMESTAMP,
    "RealShipDate": DATE,
    "FirstActualShipDate": DATE,
    "PriceEffectivityDate": DATE,
    "CatalogType": _enum(CO, "SalesPartType"),
    "SupplyCode": _enum(CO, "OrderSupplyType"),
    "PriceSource": _enum(CO, "PriceSource"),
    "PriceFreeze": _enum(CO, "PriceFreeze"),
}
_CHARGE_TYPES: dict[str, str] = {
    "SequenceNo": INTEGER,
    "ChargedQty": DECIMAL,
    "ChargeAmount": DECIMAL,
    "ChargeAmountInclTax": DECIMAL,
}
_QUOTATION_TYPES: dict[str, str] = {
    "Objstate": _enum(SQ, "OrderQuotationState"),
    "RevisionNo": INTEGER,
    "DateEntered": DATE,
    "ExpirationDate": DATE,
    "WantedDeliveryDate": TIMESTAMP,
    "ProbabilityToWin": DECIMAL,
}
_QUOTATION_LINE_TYPES: dict[str, str] = {
    "Objstate": _enum(SQ, "OrderQuotationLineState"),
    "LineItemNo": INTEGER,
    "WantedDeliveryDate": TIMESTAMP,
}

ENTITY_SETS: tuple[EntitySetModel, ...] = (
    EntitySetModel(
        projection=CH,
        name="CustomerInfoSet",
        entity_type="CustomerInfo",
        luname="CustomerInfo",
        keys=("CustomerId",),
        key_types={"CustomerId": STRING},
        types={
            "CreationDate": DATE,
            "PartyType": _enum(CH, "PartyType"),
            "CustomerCategory": _enum(CH, "CustomerCategory"),
            "CreditLimit": DECIMAL,
        },
        collections={
            "CustomerInfoAddresses": Collection(
                "CustomerInfoAddresses", "CustomerInfoAddressSet", {"CustomerId": "CustomerId"}
            ),
            "CommunicationMethods": Collection(
                "CommunicationMethods", "CustomerInfoCommMethodSet", {"CustomerId": "CustomerId"}
            ),
        },
    ),
    EntitySetModel(
        projection=CH,
        name="CustomerInfoAddressSet",  # reached through CustomerInfoSet(...)/CustomerInfoAddresses
        entity_type="CustomerInfoAddress",
        luname="CustomerInfoAddress",
        keys=("CustomerId", "AddressId"),
        key_types={"CustomerId": STRING, "AddressId": STRING},
        types={"ValidFrom": DATE, "ValidTo": DATE},
    ),
    EntitySetModel(
        projection=CH,
        name="CustomerInfoCommMethodSet",  # reached through CustomerInfoSet(...)/CommunicationMethods
        entity_type="CustomerInfoCommMethod",
        luname="CustomerInfoCommMethod",
        keys=("CustomerId", "CommId"),
        key_types={"CustomerId": STRING, "CommId": INTEGER},
        types={"Method": _enum(CH, "CommMethod"), "ValidFrom": DATE, "ValidTo": DATE},
    ),
    EntitySetModel(
        projection=SP,
        name="SalesPartSet",
        entity_type="SalesPart",
        luname="SalesPart",
        keys=("Contract", "CatalogNo"),
        key_types={"Contract": STRING, "CatalogNo": STRING},
        types={
            "DateEntered": DATE,
            "ListPrice": DECIMAL,
            "ListPriceInclTax": DECIMAL,
            "Activeind": _enum(SP, "ActiveSalesPart"),
            "CatalogType": _enum(SP, "SalesPartType"),
        },
    ),
    EntitySetModel(
        projection=CO,
        name="CustomerOrderSet",
        entity_type="CustomerOrder",
        luname="CustomerOrder",
        keys=("OrderNo",),
        key_types={"OrderNo": STRING},
        types=_ORDER_TYPES,
        collections={
            "OrderLinesArray": Collection("OrderLinesArray", "CustomerOrderLineSet", {"OrderNo": "OrderNo"}),
            "CustomerOrderChargeArray": Collection(
                "CustomerOrderChargeArray", "CustomerOrderChargeSet", {"OrderNo": "OrderNo"}
            ),
        },
        references={
            "CustomerNoRef": Reference(
                "CustomerNoRef", "CustomerInfo", {"CustomerNo": "CustomerId"}, "cust_ord"
            ),
            # Assumed: the order's document and delivery addresses as one-to-one references to the
            # customer's address rows (IFS projections name such references <Key>Ref; none is captured).
            "BillAddrNoRef": Reference(
                "BillAddrNoRef",
                "CustomerInfoAddress",
                {"CustomerNo": "CustomerId", "BillAddrNo": "AddressId"},
                "row",
            ),
            "ShipAddrNoRef": Reference(
                "ShipAddrNoRef",
                "CustomerInfoAddress",
                {"CustomerNo": "CustomerId", "ShipAddrNo": "AddressId"},
                "row",
            ),
        },
    ),
    EntitySetModel(
        projection=CO,
        name="CustomerOrderLineSet",
        entity_type="CustomerOrderLine",
        luname="CustomerOrderLine",
        keys=("LineNo", "RelNo", "OrderNo", "LineItemNo"),
        key_types={"LineNo": STRING, "RelNo": STRING, "OrderNo": STRING, "LineItemNo": INTEGER},
        types=_LINE_TYPES,
    ),
    EntitySetModel(
        projection=CO,
        name="CustomerOrderChargeSet",  # names and keys from the digest's CustomerOrderChargeArray POST
        entity_type="CustomerOrderCharge",
        luname="CustomerOrderCharge",
        keys=("OrderNo", "SequenceNo"),
        key_types={"OrderNo": STRING, "SequenceNo": INTEGER},
        types=_CHARGE_TYPES,
    ),
    EntitySetModel(
        projection=SQ,
        name="OrderQuotationSet",
        entity_type="OrderQuotation",
        luname="OrderQuotation",
        keys=("QuotationNo",),
        key_types={"QuotationNo": STRING},
        types=_QUOTATION_TYPES,
        collections={
            "QuotationLinesArray": Collection(
                "QuotationLinesArray", "OrderQuotationLineSet", {"QuotationNo": "QuotationNo"}
            )
        },
    ),
    EntitySetModel(
        projection=SQ,
        name="OrderQuotationLineSet",
        entity_type="OrderQuotationLine",
        luname="OrderQuotationLine",
        keys=("QuotationNo", "LineNo", "RelNo", "LineItemNo"),
        key_types={"QuotationNo": STRING, "LineNo": STRING, "RelNo": STRING, "LineItemNo": INTEGER},
        types=_QUOTATION_LINE_TYPES,
    ),
    EntitySetModel(
        projection=BO,
        name="BusinessOpportunitySet",
        entity_type="BusinessOpportunity",
        luname="BusinessOpportunity",
        keys=("OpportunityNo",),
        key_types={"OpportunityNo": STRING},
        types={
            "Objstate": _enum(BO, "BusinessOpportunityState"),
            "StartDate": DATE,
            "ClosingDate": DATE,
            "Probability": DECIMAL,
            "EstimatedValue": DECIMAL,
        },
    ),
)

# Filtering with IfsApp.CustomerOrderHandling.CustomerOrderState'Released' is shown in public IFS OData notes
# (docs/ifs-api.md, "Value formats and enums"); no other enum type name has been seen.
CONFIRMED_ENUM_TYPES = frozenset({_enum(CO, "CustomerOrderState")})


def assumed_enum_types() -> list[str]:
    """The qualified enum type names the model uses that nothing public confirms, sorted."""
    used = {kind for model in ENTITY_SETS for kind in model.types.values() if kind.startswith("IfsApp.")}
    return sorted(used - CONFIRMED_ENUM_TYPES)


# Sets reachable only through a navigation are not listed in the service document.
HIDDEN_SETS = frozenset({"CustomerInfoAddressSet", "CustomerInfoCommMethodSet"})
PROJECTIONS: frozenset[str] = frozenset(s.projection for s in ENTITY_SETS)


def entity_set(projection: str, name: str) -> EntitySetModel | None:
    """The model of ``<projection>.svc/<name>``, or None."""
    for model in ENTITY_SETS:
        if model.projection == projection and model.name == name:
            return model
    return None


def by_luname(luname: str) -> EntitySetModel:
    """The (first) entity set backed by the table ``luname``."""
    for model in ENTITY_SETS:
        if model.luname == luname:
            return model
    raise KeyError(luname)


# Order and line states (enum identifiers as IFS serialises them). Planned, Released, Reserved and Invoiced
# are seen in real data; the rest of the lifecycle follows IFS's customer order documentation (assumed).
ORDER_STATES = (
    "Planned",
    "Blocked",
    "Released",
    "Reserved",
    "Picked",
    "PartiallyDelivered",
    "Delivered",
    "Invoiced",
    "Cancelled",
)
LINE_STATES = (
    "Planned",
    "Released",
    "Reserved",
    "Picked",
    "PartiallyDelivered",
    "Delivered",
    "Invoiced",
    "Cancelled",
)
QUOTATION_STATES = ("Planned", "Released", "Revised", "Won", "Lost", "Cancelled")  # assumed
OPPORTUNITY_STATES = ("Active", "Won", "Lost", "Cancelled")  # assumed
