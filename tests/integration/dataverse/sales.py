"""Sales rows the action and webhook tests start from, written through the connector's client."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from shared.dataverse.client import DataverseClient

QUOTE_DRAFT, QUOTE_ACTIVE, QUOTE_WON = 0, 1, 2


def _id(value: uuid.UUID | None) -> uuid.UUID:
    assert value is not None
    return value


def customer_and_price_list(client: DataverseClient) -> tuple[uuid.UUID, uuid.UUID]:
    """A new account and price list (in the base currency)."""
    account = _id(client.create("accounts", {"name": "Contoso", "accountnumber": "C-1"}).id)
    price_list = _id(client.create("pricelevels", {"name": "Retail"}).id)
    return account, price_list


def quote(
    client: DataverseClient,
    *,
    lines: Iterable[tuple[str, int, float]] = (("Bolt", 2, 10.0), ("Nut", 3, 1.5)),
    activate: bool = True,
) -> uuid.UUID:
    """A quote with write-in lines (description, quantity, price), Active unless told otherwise."""
    account, price_list = customer_and_price_list(client)
    quote_id = _id(
        client.create(
            "quotes",
            {
                "name": "Q-100",
                "customerid_account@odata.bind": f"/accounts({account})",
                "pricelevelid@odata.bind": f"/pricelevels({price_list})",
            },
        ).id
    )
    for number, (description, quantity, price) in enumerate(lines, start=1):
        client.create(
            "quotedetails",
            {
                "quoteid@odata.bind": f"/quotes({quote_id})",
                "isproductoverridden": True,
                "productdescription": description,
                "quantity": quantity,
                "priceperunit": price,
                "ispriceoverridden": True,
                "lineitemnumber": number,
            },
        )
    if activate:
        client.update("quotes", quote_id, {"statecode": QUOTE_ACTIVE, "statuscode": 2})
    return quote_id
