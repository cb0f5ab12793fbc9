"""How a Dataverse webhook endpoint (``serviceendpoint``, contract 8) authenticates its calls.

``authtype`` and ``authvalue`` of the serviceendpoint row (register-web-hook article):

- 4 WebhookKey: Dataverse appends ``?code=<authvalue>`` (Azure Functions' function key style);
- 5 HttpHeader: the key/value pairs are sent as request headers;
- 6 HttpQueryString: the key/value pairs are sent as query parameters.

For 5 and 6 the pairs are stored as ``<settings><setting name="k" value="v" /></settings>``: the form the
Plug-in Registration Tool and public tooling write (the article shows only the pairs, not the XML; the
error table's WebhooksInvalidHttpHeaders/WebhooksInvalidHttpQueryParams name "the authValue format").
``authvalue`` is write-only: Dataverse never returns it.

Both the connector's provisioning (which writes it) and the Dataverse simulator (which reads it when it
delivers) use this codec.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from types import MappingProxyType
from xml.sax.saxutils import quoteattr


class AuthType(IntEnum):
    """serviceendpoint.authtype values a webhook uses."""

    WEBHOOK_KEY = 4
    HTTP_HEADER = 5
    HTTP_QUERY_STRING = 6


class AuthValueError(ValueError):
    """An authvalue that is not the ``<settings>`` XML its authtype needs."""


def settings_xml(pairs: Mapping[str, str]) -> str:
    """``<settings><setting name="k" value="v" />…</settings>`` with XML-escaped names and values."""
    if not pairs:
        raise AuthValueError("at least one name/value pair is needed")
    items = "".join(f"<setting name={quoteattr(k)} value={quoteattr(v)} />" for k, v in pairs.items())
    return f"<settings>{items}</settings>"


def parse_settings_xml(text: str) -> dict[str, str]:
    """The name/value pairs of a ``<settings>`` authvalue; AuthValueError when it is not one."""
    try:
        # The document is a short settings string the API caller sent, not a file from the internet;
        # expat resolves no external entities.
        root = ET.fromstring(text)  # noqa: S314
    except ET.ParseError as exc:
        raise AuthValueError(f"authvalue is not XML: {exc}") from exc
    if root.tag != "settings":
        raise AuthValueError(f"authvalue's root element must be <settings>, not <{root.tag}>")
    pairs: dict[str, str] = {}
    for element in root:
        name, value = element.get("name"), element.get("value")
        if element.tag != "setting" or not name or value is None:
            raise AuthValueError('every child of <settings> must be <setting name="…" value="…" />')
        pairs[name] = value
    if not pairs:
        raise AuthValueError("<settings> holds no <setting>")
    return pairs


@dataclass(frozen=True)
class WebhookAuth:
    """A serviceendpoint's authtype and authvalue; the value is a secret and stays out of ``repr``."""

    authtype: AuthType
    authvalue: str = field(repr=False)

    @classmethod
    def webhook_key(cls, code: str) -> WebhookAuth:
        """``?code=<code>``: an Azure Functions function key."""
        if not code:
            raise AuthValueError("a webhook key must not be empty")
        return cls(AuthType.WEBHOOK_KEY, code)

    @classmethod
    def http_headers(cls, headers: Mapping[str, str]) -> WebhookAuth:
        """Headers sent with every call (e.g. ``{"x-api-key": "…"}``)."""
        return cls(AuthType.HTTP_HEADER, settings_xml(headers))

    @classmethod
    def query_string(cls, parameters: Mapping[str, str]) -> WebhookAuth:
        """Query parameters added to every call."""
        return cls(AuthType.HTTP_QUERY_STRING, settings_xml(parameters))

    def headers(self) -> Mapping[str, str]:
        """The headers a call carries (HttpHeader only)."""
        if self.authtype is AuthType.HTTP_HEADER:
            return MappingProxyType(parse_settings_xml(self.authvalue))
        return MappingProxyType({})

    def query(self) -> Mapping[str, str]:
        """The query parameters a call carries (WebhookKey's ``code``, or HttpQueryString's pairs)."""
        if self.authtype is AuthType.WEBHOOK_KEY:
            return MappingProxyType({"code": self.authvalue})
        if self.authtype is AuthType.HTTP_QUERY_STRING:
            return MappingProxyType(parse_settings_xml(self.authvalue))
        return MappingProxyType({})
