"""The IFS simulator's /_admin surface: user edits in IFS, token expiry, time, reset, shapes."""

from __future__ import annotations

import re

import pytest

from shared.config import IfsSettings
from shared.ifs.auth import IfsTokenProvider
from shared.ifs.client import IfsClient
from shared.ifs.entities import EntitySet
from shared.ifs.errors import IfsForbiddenError
from shared.ifs.etag import decode_etag
from shared.ifs.query import Query
from simulators.common.admin_client import AdminClient, AdminRequestError


def test_an_edit_in_ifs_changes_the_etag_seen_by_a_key_scan(
    client: IfsClient, settings: IfsSettings, admin: AdminClient
) -> None:
    """The etag-ledger scan ($select of the key) sees exactly the order a user edited in IFS."""
    scan = Query(select=("OrderNo",))
    before = {r["OrderNo"]: r["@odata.etag"] for r in client.iter_rows(settings.entities.orders, scan)}
    admin.advance_clock(3600)
    touched = admin.action(
        "touch",
        {"entity_set": "CustomerOrderSet", "key": {"OrderNo": "C1000000936"}, "changes": {"NoteText": "x"}},
    )
    after = {r["OrderNo"]: r["@odata.etag"] for r in client.iter_rows(settings.entities.orders, scan)}
    changed = [key for key in before if before[key] != after[key]]
    assert changed == ["C1000000936"]
    assert after["C1000000936"] == touched["etag"]
    assert decode_etag(touched["etag"]).objversion == "20251112100000"


def test_expired_tokens_and_clock_over_http(
    client: IfsClient, settings: IfsSettings, tokens: IfsTokenProvider, admin: AdminClient
) -> None:
    """expire_tokens and a clock jump past 180 s both make the next call renew its token once."""
    client.get(settings.entities.orders, {"OrderNo": "C1000000933"})
    assert admin.action("expire_tokens")["revoked"] == 1
    client.get(settings.entities.orders, {"OrderNo": "C1000000933"})
    admin.advance_clock(181)
    client.get(settings.entities.orders, {"OrderNo": "C1000000933"})
    assert tokens.fetch_count == 3


def test_reset_restores_the_seeded_tenant(
    client: IfsClient, settings: IfsSettings, admin: AdminClient
) -> None:
    """A created order is gone after reset; row counts are back to the seed's."""
    seeded = admin.action("stats")["rows"]
    client.create(settings.entities.orders, {"CustomerNo": "FR018", "Contract": "FR020"})
    assert admin.action("stats")["rows"]["CustomerOrderHandling.svc/CustomerOrderSet"] == (
        seeded["CustomerOrderHandling.svc/CustomerOrderSet"] + 1
    )
    admin.reset()
    assert admin.action("stats")["rows"] == seeded


def test_every_enum_type_the_metadata_declares_has_one_provenance(
    client: IfsClient, settings: IfsSettings, admin: AdminClient
) -> None:
    """Each enum type in $metadata is named by exactly one shape; only CustomerOrderState is captured."""
    entities = vars(settings.entities).values()
    projections = {entity.projection for entity in entities if isinstance(entity, EntitySet)}
    types = {
        kind
        for projection in projections
        for kind in re.findall(r'<Property Name="\w+" Type="(IfsApp\.[\w.]+)"', client.metadata(projection))
    }
    assert "IfsApp.CustomerOrderHandling.GenYesNo" in types
    shapes = admin.shapes()
    for kind in sorted(types):
        naming = [shape["provenance"] for shape in shapes if kind in shape["name"] + shape["source"]]
        confirmed = kind == "IfsApp.CustomerOrderHandling.CustomerOrderState"
        assert naming == ["captured" if confirmed else "assumed"], kind


def test_bad_admin_input_is_refused_with_the_reason(admin: AdminClient) -> None:
    """Unknown entity sets and rows are 400s naming the problem."""
    with pytest.raises(AdminRequestError, match="entity_set must be one of"):
        admin.action("touch", {"entity_set": "Nope", "key": {}, "changes": {}})
    with pytest.raises(AdminRequestError, match="no such row"):
        admin.action("touch", {"entity_set": "CustomerOrderSet", "key": {"OrderNo": "C0"}, "changes": {}})
    with pytest.raises(AdminRequestError, match="seconds"):
        admin.action("respond_late", {"seconds": -1})


def test_server_page_size_is_adjustable(client: IfsClient, settings: IfsSettings, admin: AdminClient) -> None:
    """set_page_size changes how many rows a page without $top holds (and so the number of pages)."""
    admin.action("set_page_size", {"size": 7})
    before = client.requests_sent
    rows = list(client.iter_rows(settings.entities.orders, Query(select=("OrderNo",)), page_size=0))
    assert len(rows) == 50
    assert client.requests_sent - before == 8


def test_a_revoked_projection_answers_403_until_granted(
    client: IfsClient, settings: IfsSettings, admin: AdminClient
) -> None:
    """Without the projection's permission set: 403 for it, other projections still readable; reset grants."""
    orders, customers = settings.entities.orders, settings.entities.customers
    admin.action("revoke_projection", {"projection": orders.projection})
    with pytest.raises(IfsForbiddenError) as refused:
        client.get(orders, {"OrderNo": "C1000000933"})
    assert refused.value.status == 403
    assert f"projection {orders.projection} is not granted" in str(refused.value)
    assert next(iter(client.iter_rows(customers, Query(top=1))), None) is not None
    admin.action("grant_projection", {"projection": orders.projection})
    assert client.get(orders, {"OrderNo": "C1000000933"}).row["OrderNo"] == "C1000000933"
    admin.action("revoke_projection", {"projection": orders.projection})
    admin.reset()
    assert client.get(orders, {"OrderNo": "C1000000933"}).row["OrderNo"] == "C1000000933"
