"""Entity sets and navigations read from settings address rows the way IFS URLs do."""

from __future__ import annotations

import pytest

from shared.config import AppSettings, ConfigError, IfsSettings
from shared.ifs.entities import EntitySet, Navigation

REQUIRED = {
    "IFS_BASE_URL": "https://acme.ifs.cloud",
    "IFS_REALM": "acme1",
    "IFS_CLIENT_ID": "sync",
    "IFS_CLIENT_SECRET": "s3cret",
}


def test_captured_line_key_is_addressed_like_ifs() -> None:
    """Line keys keep IFS's order and type: LineItemNo is numeric and unquoted."""
    lines = EntitySet.parse("CustomerOrderHandling.svc/CustomerOrderLineSet(LineNo,RelNo,OrderNo,LineItemNo)")
    key: dict[str, str | int] = {"OrderNo": "C1000000933", "LineNo": "1", "RelNo": "1", "LineItemNo": 0}
    assert lines.row_path(key) == (
        "CustomerOrderHandling.svc/CustomerOrderLineSet(LineNo='1',RelNo='1',OrderNo='C1000000933',LineItemNo=0)"
    )


def test_key_values_are_escaped_and_encoded() -> None:
    """Quotes are doubled and URL-unsafe characters percent-encoded inside the key predicate."""
    parts = EntitySet.parse("SalesPartHandling.svc/SalesPartSet(Contract,CatalogNo)")
    path = parts.row_path({"Contract": "S 1", "CatalogNo": "A/B'C#"})
    assert path == "SalesPartHandling.svc/SalesPartSet(Contract='S%201',CatalogNo='A%2FB''C%23')"


def test_wrong_keys_are_named() -> None:
    """A key with missing or unknown properties is refused with both lists."""
    orders = EntitySet.parse("CustomerOrderHandling.svc/CustomerOrderSet(OrderNo)")
    with pytest.raises(ValueError, match=r"missing \['OrderNo'\], unknown \['Order'\]"):
        orders.row_path({"Order": "X"})
    with pytest.raises(TypeError, match="str or int"):
        orders.row_path({"OrderNo": 1.5})  # type: ignore[dict-item]


def test_actions_are_qualified_by_projection() -> None:
    """Bound actions are named IfsApp.<Projection>.<Action>."""
    orders = EntitySet.parse("CustomerOrderHandling.svc/CustomerOrderSet(OrderNo)")
    assert orders.qualified("CustomerOrder_ReleaseOrder") == (
        "IfsApp.CustomerOrderHandling.CustomerOrder_ReleaseOrder"
    )


@pytest.mark.parametrize("text", ["CustomerOrderSet", "X.svc/", "X.svc/Set(A,)", "X.svc/Set(A B)"])
def test_malformed_entity_sets_are_refused(text: str) -> None:
    """Entity set settings must read <Projection>.svc/<EntitySet>(<Keys>)."""
    with pytest.raises(ValueError, match="expected"):
        EntitySet.parse(text)


def test_settings_defaults_name_the_captured_projections() -> None:
    """Without overrides, orders and lines point at CustomerOrderHandling as captured."""
    settings = AppSettings(REQUIRED).get(IfsSettings)
    assert settings.entities.orders == EntitySet("CustomerOrderHandling", "CustomerOrderSet", ("OrderNo",))
    assert settings.entities.order_lines_navigation == Navigation(
        "OrderLinesArray", ("LineNo", "RelNo", "OrderNo", "LineItemNo")
    )
    assert settings.entities.quotation_lines_navigation.keys == settings.entities.quotation_lines.keys
    assert settings.entities.customer_addresses == Navigation(
        "CustomerInfoAddresses", ("CustomerId", "AddressId")
    )
    assert settings.token_url == "https://acme.ifs.cloud/auth/realms/acme1/protocol/openid-connect/token"
    assert settings.api_root == "https://acme.ifs.cloud/main/ifsapplications/projection/v1/"
    assert settings.scope == "openid microprofile-jwt"
    assert settings.token_refresh_margin_seconds == 30
    assert settings.page_size == 1000


def test_settings_problems_are_reported_together() -> None:
    """Every bad IFS setting is named at once, and the secret never appears."""
    values = {
        **REQUIRED,
        "IFS_CLIENT_SECRET": "",
        "IFS_ORDERS_ENTITY": "CustomerOrderSet",
        "IFS_PAGE_SIZE": "-5",
    }
    with pytest.raises(ConfigError) as caught:
        AppSettings(values).get(IfsSettings)
    message = str(caught.value)
    assert "IFS_CLIENT_SECRET is missing" in message
    assert "IFS_ORDERS_ENTITY is invalid" in message
    assert "IFS_PAGE_SIZE is invalid" in message


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://acme.ifs.cloud", True),
        ("http://127.0.0.1:8480", True),
        ("http://localhost:8480", True),
        ("http://acme.ifs.cloud", False),
        ("http://127.0.0.1.example.com", False),
    ],
)
def test_the_tenant_url_must_be_https_except_on_loopback(url: str, accepted: bool) -> None:
    """Plain http would send the client secret and tokens in clear; only a local simulator may use it."""
    settings = AppSettings({**REQUIRED, "IFS_BASE_URL": url})
    if accepted:
        assert settings.get(IfsSettings).base_url == url
    else:
        with pytest.raises(ConfigError, match="IFS_BASE_URL is invalid: expected https"):
            settings.get(IfsSettings)


def test_the_client_secret_stays_out_of_repr() -> None:
    """Settings get logged and shown in tracebacks; the secret must not be in them."""
    settings = AppSettings(REQUIRED).get(IfsSettings)
    assert settings.client_secret == "s3cret"
    assert "s3cret" not in repr(settings)


def test_entity_settings_are_parsed_by_the_entity_classes() -> None:
    """A malformed navigation is named with what was expected; the time-zone flag is a boolean."""
    values = {
        **REQUIRED,
        "IFS_ORDER_LINES_NAVIGATION": "OrderLinesArray(LineNo,)",
        "IFS_TIME_ZONE_AWARE": "maybe",
    }
    with pytest.raises(ConfigError) as caught:
        AppSettings(values).get(IfsSettings)
    assert "IFS_ORDER_LINES_NAVIGATION is invalid: expected <Navigation> or <Navigation>(<Key>,…)" in str(
        caught.value
    )
    assert "IFS_TIME_ZONE_AWARE is invalid: expected true or false" in str(caught.value)
    assert AppSettings(REQUIRED).get(IfsSettings).time_zone_aware
    assert not AppSettings({**REQUIRED, "IFS_TIME_ZONE_AWARE": "false"}).get(IfsSettings).time_zone_aware
