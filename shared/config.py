"""Typed settings read from app settings (the environment, or ``local.settings.json`` locally).

Every setting the connector reads is declared once in ``CATALOG`` with its feature, description and a
sample value; ``local.settings.sample.json`` and the README document the same list (a test keeps them in
step). Settings are validated per feature: asking for a feature's settings reports *every* missing or
invalid key of that feature in one ``ConfigError``, while features that are fine keep working, and the
health endpoint lists the problems of all of them.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar, Protocol, Self, TypeVar
from urllib.parse import urlsplit

from shared.ifs.entities import EntitySet, Navigation
from shared.platform.ncrontab import Schedule, ScheduleError


@dataclass(frozen=True)
class Setting:
    """One app setting: its name, the feature that needs it, what it means and a sample value."""

    name: str
    feature: str
    description: str
    sample: str
    default: str | None = None  # None: required by its feature
    secret: bool = False


CATALOG: tuple[Setting, ...] = (
    Setting(
        "AzureWebJobsStorage",
        "storage",
        "Storage account connection string: the Functions host's own storage, queues and state tables.",
        "UseDevelopmentStorage=true",
        secret=True,
    ),
    Setting(
        "STATE_TABLE_PREFIX",
        "storage",
        "Prefix of the state table names (letters and digits, starts with a letter, at most 20 characters).",
        "sync",
        default="sync",
    ),
    Setting(
        "TOKEN_ENCRYPTION_KEY",
        "token_cache",
        "Base64 of 32 random bytes: the AES-256-GCM key that encrypts cached API tokens at rest. "
        "Required unless KEY_VAULT_URL is set; then it is read from the secret token-encryption-key.",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        default="",
        secret=True,
    ),
    # Bound by %NAME% in function_app.py: the host resolves them at indexing, so they have no default.
    Setting(
        "HEARTBEAT_SCHEDULE",
        "heartbeat",
        "NCRONTAB schedule (six fields, seconds first) of the heartbeat timer.",
        "0 */5 * * * *",
    ),
    Setting(
        "ECHO_QUEUE",
        "heartbeat",
        "Queue the heartbeat writes and the echo worker reads (proves timer -> queue -> worker end to end).",
        "heartbeat-echo",
    ),
    Setting(
        "DATAVERSE_URL",
        "dataverse",
        "Dataverse environment URL (https://<org>.crm.dynamics.com); tokens are asked for <url>/.default.",
        "https://org.crm.dynamics.com",
    ),
    Setting(
        "DATAVERSE_PAGE_SIZE",
        "dataverse",
        "Rows per page the Dataverse client asks for (Prefer: odata.maxpagesize), 1-5000.",
        "500",
        default="500",
    ),
    Setting(
        "DATAVERSE_TIMEOUT_SECONDS",
        "dataverse",
        "Timeout of one Dataverse Web API request in seconds (1-600); retries come on top.",
        "120",
        default="120",
    ),
    Setting(
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "telemetry",
        "Application Insights connection string; telemetry is exported only when it is set.",
        "",
        default="",
        secret=True,
    ),
    # Read only by devhost, the local stand-in for `func start`.
    Setting(
        "DEVHOST_CHECK_KEYS",
        "devhost",
        "Local host only: check function keys (?code= or x-functions-key) as Azure does.",
        "false",
        default="false",
    ),
    Setting(
        "DEVHOST_FUNCTION_KEY",
        "devhost",
        "Local host only: the key accepted for functions with auth level FUNCTION when keys are checked.",
        "local-function-key",
        default="",
        secret=True,
    ),
    Setting(
        "DEVHOST_MASTER_KEY",
        "devhost",
        "Local host only: the master key, accepted for every auth level when keys are checked.",
        "local-master-key",
        default="",
        secret=True,
    ),
    Setting(
        "ENTRA_CREDENTIAL",
        "entra",
        "How the connector signs in to Entra ID: client_secret, certificate, or managed_identity "
        "(in Azure only).",
        "client_secret",
        default="client_secret",
    ),
    Setting(
        "ENTRA_TENANT_ID",
        "entra",
        "Directory (tenant) id of the app registration; needed for client_secret and certificate.",
        "00000000-0000-4000-8000-00000000e1a0",
        default="",
    ),
    Setting(
        "ENTRA_CLIENT_ID",
        "entra",
        "Application (client) id of the app registration; with managed_identity, the client id of a "
        "user-assigned identity (empty: the system-assigned identity).",
        "00000000-0000-4000-8000-0000000c1e47",
        default="",
    ),
    Setting(
        "ENTRA_CLIENT_SECRET",
        "entra",
        "Client secret value, for ENTRA_CREDENTIAL=client_secret (in Azure, a Key Vault reference).",
        "demo-client-secret",
        default="",
        secret=True,
    ),
    Setting(
        "ENTRA_CLIENT_CERTIFICATE_PATH",
        "entra",
        "PEM file with the certificate and its RSA private key, for ENTRA_CREDENTIAL=certificate.",
        "",
        default="",
    ),
    Setting(
        "ENTRA_AUTHORITY",
        "entra",
        "Entra authority (scheme and host). A host other than the Azure clouds' (e.g. the local simulator) "
        "turns instance discovery off.",
        "https://login.microsoftonline.com",
        default="https://login.microsoftonline.com",
    ),
    Setting(
        "TLS_CA_BUNDLE",
        "tls",
        "PEM file of the CAs that Entra, Key Vault and API clients trust instead of the default bundle (the "
        "simulators' self-signed certificate); leave empty in Azure.",
        "",
        default="",
    ),
    Setting(
        "KEY_VAULT_URL",
        "secrets",
        "Key Vault the secret provider reads (https://<name>.vault.azure.net); empty: secrets come from app "
        "settings.",
        "",
        default="",
    ),
    Setting(
        "SECRET_CACHE_SECONDS",
        "secrets",
        "How long the secret provider reuses a secret before reading it again (0-86400 seconds).",
        "300",
        default="300",
    ),
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
    ),
)

SETTINGS_BY_NAME: Mapping[str, Setting] = {s.name: s for s in CATALOG}


class ConfigError(Exception):
    """Settings of a feature are missing or invalid; the message names every offending key."""

    def __init__(self, feature: str, problems: list[str]) -> None:
        self.feature = feature
        self.problems = problems
        super().__init__(f"configuration for '{feature}' is incomplete: " + "; ".join(problems))


_KEY_VAULT_REFERENCE = re.compile(r"^@Microsoft\.KeyVault\(", re.IGNORECASE)
T = TypeVar("T")


class SettingsReader:
    """Reads declared settings from a mapping, collecting every problem instead of stopping at the first."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = values
        self.problems: list[str] = []

    def _raw(self, name: str) -> str | None:
        spec = SETTINGS_BY_NAME.get(name)
        if spec is None:  # a programming error, not a configuration error
            raise KeyError(f"setting {name} is not declared in shared.config.CATALOG")
        value = self._values.get(name)
        if value is None or value.strip() == "":
            if spec.default is None:
                self.problems.append(f"{name} is missing ({spec.description})")
            return spec.default
        if _KEY_VAULT_REFERENCE.match(value):
            # App Service leaves the literal reference in place when it cannot resolve it.
            self.problems.append(
                f"{name} is an unresolved Key Vault reference; check the app's identity and access"
            )
            return None
        return value.strip()

    def _checked(self, name: str, parse: Callable[[str], T], fallback: T, expected: str) -> T:
        raw = self._raw(name)
        if raw is None:
            return fallback
        try:
            return parse(raw)
        except ValueError:
            shown = "<hidden>" if SETTINGS_BY_NAME[name].secret else repr(raw)
            self.problems.append(f"{name} is invalid: expected {expected}, got {shown}")
            return fallback

    def text(self, name: str) -> str:
        """A non-empty string."""
        return self._raw(name) or ""

    def vaulted(self, name: str) -> str | None:
        """A secret setting that may live in Key Vault instead: its value, or None to read it from the vault.

        Missing is a problem only when KEY_VAULT_URL is not set either.
        """
        value = self.text(name)
        if value:
            return value
        if not self.text("KEY_VAULT_URL"):
            self.problems.append(
                f"{name} is missing (set it, or set KEY_VAULT_URL to read it from Key Vault)"
            )
        return None

    def integer(self, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
        """An integer within optional bounds."""

        def parse(raw: str) -> int:
            value = int(raw)
            if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
                raise ValueError(raw)
            return value

        return self._checked(name, parse, minimum or 0, f"an integer in [{minimum}, {maximum}]")

    def flag(self, name: str) -> bool:
        """A boolean written true/false (also 1/0, yes/no)."""

        def parse(raw: str) -> bool:
            lowered = raw.lower()
            if lowered in {"true", "1", "yes"}:
                return True
            if lowered in {"false", "0", "no"}:
                return False
            raise ValueError(raw)

        return self._checked(name, parse, False, "true or false")

    def url(self, name: str, *, https: bool = False) -> str:
        """An absolute http(s) URL without a trailing slash."""

        def parse(raw: str) -> str:
            parts = urlsplit(raw)
            if parts.scheme not in ({"https"} if https else {"http", "https"}) or not parts.netloc:
                raise ValueError(raw)
            return raw.rstrip("/")

        return self._checked(name, parse, "", "an absolute https URL" if https else "an absolute URL")

    def pattern(self, name: str, regex: str, expected: str) -> str:
        """A string that fully matches ``regex``."""

        def parse(raw: str) -> str:
            if not re.fullmatch(regex, raw):
                raise ValueError(raw)
            return raw

        return self._checked(name, parse, "", expected)

    def schedule(self, name: str) -> str:
        """An NCRONTAB expression (six fields, seconds first), parsed exactly as devhost's timers parse it."""
        raw = self._raw(name)
        if raw is None:
            return ""
        try:
            Schedule.parse(raw)
        except ScheduleError as exc:
            expected = "expected six NCRONTAB fields, seconds first, e.g. '0 */5 * * * *'"
            self.problems.append(f"{name} is invalid: {exc} ({expected})")
            return ""
        return raw

    def key_bytes(self, name: str, length: int) -> bytes:
        """Base64 of exactly ``length`` bytes."""
        return self._checked(name, lambda raw: parse_key_bytes(raw, length), b"", f"base64 of {length} bytes")


def parse_key_bytes(raw: str, length: int) -> bytes:
    """Decode base64 of exactly ``length`` bytes; ValueError otherwise (the value is not echoed)."""
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not base64 of {length} bytes") from exc
    if len(key) != length:
        raise ValueError(f"not base64 of {length} bytes")
    return key


class FeatureSettings(Protocol):
    """A frozen dataclass of one feature's settings, built by ``read``."""

    FEATURE: ClassVar[str]

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Build the settings from the reader (problems are collected on the reader)."""
        ...


@dataclass(frozen=True)
class StorageSettings:
    """Where the host's queues and the connector's state tables live."""

    FEATURE: ClassVar[str] = "storage"
    connection_string: str = field(repr=False)
    table_prefix: str

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read AzureWebJobsStorage and STATE_TABLE_PREFIX."""
        return cls(
            connection_string=reader.text("AzureWebJobsStorage"),
            table_prefix=reader.pattern(
                "STATE_TABLE_PREFIX",
                r"[A-Za-z][A-Za-z0-9]{0,19}",
                "letters and digits, starting with a letter",
            ),
        )


@dataclass(frozen=True)
class TokenCacheSettings:
    """The key that encrypts cached tokens: from app settings, or None when it is read from Key Vault."""

    FEATURE: ClassVar[str] = "token_cache"
    encryption_key: bytes | None = field(repr=False)

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read TOKEN_ENCRYPTION_KEY; without it, KEY_VAULT_URL must say where to read it from."""
        if reader.vaulted("TOKEN_ENCRYPTION_KEY") is None:
            return cls(encryption_key=None)
        return cls(encryption_key=reader.key_bytes("TOKEN_ENCRYPTION_KEY", 32))


@dataclass(frozen=True)
class HeartbeatSettings:
    """The heartbeat timer and its echo queue."""

    FEATURE: ClassVar[str] = "heartbeat"
    schedule: str
    echo_queue: str

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read HEARTBEAT_SCHEDULE and ECHO_QUEUE."""
        return cls(
            schedule=reader.schedule("HEARTBEAT_SCHEDULE"),
            echo_queue=reader.pattern(
                "ECHO_QUEUE",
                r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}",
                "a queue name (3-63 lowercase, digits, -)",
            ),
        )


@dataclass(frozen=True)
class DataverseSettings:
    """Where the Dataverse Web API is and how the client pages and times out."""

    FEATURE: ClassVar[str] = "dataverse"
    url: str
    page_size: int
    timeout_seconds: int

    @property
    def scope(self) -> str:
        """The token scope for this environment: ``<url>/.default``."""
        return f"{self.url}/.default"

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read DATAVERSE_URL, DATAVERSE_PAGE_SIZE and DATAVERSE_TIMEOUT_SECONDS."""
        return cls(
            url=reader.url("DATAVERSE_URL", https=True),
            page_size=reader.integer("DATAVERSE_PAGE_SIZE", minimum=1, maximum=5000),
            timeout_seconds=reader.integer("DATAVERSE_TIMEOUT_SECONDS", minimum=1, maximum=600),
        )


@dataclass(frozen=True)
class TelemetrySettings:
    """Where telemetry goes (nowhere when the connection string is empty)."""

    FEATURE: ClassVar[str] = "telemetry"
    connection_string: str = field(repr=False)

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read APPLICATIONINSIGHTS_CONNECTION_STRING."""
        value = reader.text("APPLICATIONINSIGHTS_CONNECTION_STRING")
        if value and "InstrumentationKey=" not in value:
            reader.problems.append(
                "APPLICATIONINSIGHTS_CONNECTION_STRING is invalid: it has no InstrumentationKey"
            )
        return cls(connection_string=value)


@dataclass(frozen=True)
class DevhostSettings:
    """How the local host checks function keys."""

    FEATURE: ClassVar[str] = "devhost"
    check_keys: bool
    function_key: str = field(repr=False)
    master_key: str = field(repr=False)

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read DEVHOST_CHECK_KEYS, DEVHOST_FUNCTION_KEY and DEVHOST_MASTER_KEY."""
        settings = cls(
            check_keys=reader.flag("DEVHOST_CHECK_KEYS"),
            function_key=reader.text("DEVHOST_FUNCTION_KEY"),
            master_key=reader.text("DEVHOST_MASTER_KEY"),
        )
        if settings.check_keys and not (settings.function_key or settings.master_key):
            reader.problems.append(
                "DEVHOST_CHECK_KEYS is true but neither DEVHOST_FUNCTION_KEY nor DEVHOST_MASTER_KEY is set"
            )
        return settings


ENTRA_CREDENTIALS = ("client_secret", "certificate", "managed_identity")
_GUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_TENANT = rf"{_GUID}|[0-9A-Za-z][0-9A-Za-z.-]{{0,255}}"


def _optional_file(reader: SettingsReader, name: str) -> str | None:
    """A path that must name an existing file when the setting is not empty."""
    path = reader.text(name)
    if not path:
        return None
    if not Path(path).is_file():
        reader.problems.append(f"{name} is invalid: expected an existing file, got {path!r}")
    return path


def _needed(reader: SettingsReader, name: str, value: str, why: str) -> None:
    if not value:
        reader.problems.append(f"{name} is missing (needed {why}: {SETTINGS_BY_NAME[name].description})")


@dataclass(frozen=True)
class TlsSettings:
    """Extra trust for HTTPS clients: the CA file of the simulators' self-signed certificate, if any."""

    FEATURE: ClassVar[str] = "tls"
    ca_bundle: str | None

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read TLS_CA_BUNDLE."""
        return cls(ca_bundle=_optional_file(reader, "TLS_CA_BUNDLE"))


@dataclass(frozen=True)
class EntraSettings:
    """How the connector gets Entra ID tokens (``shared.platform.credentials.build_credential``)."""

    FEATURE: ClassVar[str] = "entra"
    credential: str  # one of ENTRA_CREDENTIALS
    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)
    certificate_path: str
    authority: str
    ca_bundle: str | None

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read the ENTRA_* settings and TLS_CA_BUNDLE; which are required depends on ENTRA_CREDENTIAL."""
        credential = reader.pattern(
            "ENTRA_CREDENTIAL", "|".join(ENTRA_CREDENTIALS), "client_secret, certificate or managed_identity"
        )
        tenant_id, client_id = reader.text("ENTRA_TENANT_ID"), reader.text("ENTRA_CLIENT_ID")
        secret, certificate = reader.text("ENTRA_CLIENT_SECRET"), reader.text("ENTRA_CLIENT_CERTIFICATE_PATH")
        authority = reader.url("ENTRA_AUTHORITY", https=True)
        if authority and urlsplit(authority).path not in ("", "/"):
            reader.problems.append(
                f"ENTRA_AUTHORITY is invalid: expected scheme and host only, got {authority!r}"
            )
        if credential in ("client_secret", "certificate"):
            why = f"for ENTRA_CREDENTIAL={credential}"
            _needed(reader, "ENTRA_TENANT_ID", tenant_id, why)
            _needed(reader, "ENTRA_CLIENT_ID", client_id, why)
            if credential == "client_secret":
                _needed(reader, "ENTRA_CLIENT_SECRET", secret, why)
            else:
                _needed(reader, "ENTRA_CLIENT_CERTIFICATE_PATH", certificate, why)
        if tenant_id and not re.fullmatch(_TENANT, tenant_id):
            reader.problems.append(
                f"ENTRA_TENANT_ID is invalid: expected a GUID or domain, got {tenant_id!r}"
            )
        if client_id and not re.fullmatch(_GUID, client_id):
            reader.problems.append(f"ENTRA_CLIENT_ID is invalid: expected a GUID, got {client_id!r}")
        if credential == "certificate" and certificate and not Path(certificate).is_file():
            reader.problems.append(
                f"ENTRA_CLIENT_CERTIFICATE_PATH is invalid: expected an existing file, got {certificate!r}"
            )
        return cls(
            credential=credential,
            tenant_id=tenant_id,
            client_id=client_id,
            client_secret=secret,
            certificate_path=certificate,
            authority=authority,
            ca_bundle=_optional_file(reader, "TLS_CA_BUNDLE"),
        )


@dataclass(frozen=True)
class SecretsSettings:
    """Where secrets come from (Key Vault, else app settings) and how long they are cached."""

    FEATURE: ClassVar[str] = "secrets"
    vault_url: str | None
    cache_seconds: int
    ca_bundle: str | None

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read KEY_VAULT_URL, SECRET_CACHE_SECONDS and TLS_CA_BUNDLE."""
        vault_url = reader.url("KEY_VAULT_URL", https=True) if reader.text("KEY_VAULT_URL") else None
        return cls(
            vault_url=vault_url or None,
            cache_seconds=reader.integer("SECRET_CACHE_SECONDS", minimum=0, maximum=86_400),
            ca_bundle=_optional_file(reader, "TLS_CA_BUNDLE"),
        )


_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class IfsEntities:
    """Where each logical entity lives in IFS; the client takes every projection and set name from here."""

    customers: EntitySet
    customer_addresses: Navigation
    sales_parts: EntitySet
    orders: EntitySet
    order_lines: EntitySet
    order_lines_navigation: Navigation
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
                sales_parts=entity_set("IFS_SALES_PARTS_ENTITY"),
                orders=entity_set("IFS_ORDERS_ENTITY"),
                order_lines=entity_set("IFS_ORDER_LINES_ENTITY"),
                order_lines_navigation=navigation("IFS_ORDER_LINES_NAVIGATION"),
                quotations=entity_set("IFS_QUOTATIONS_ENTITY"),
                quotation_lines=entity_set("IFS_QUOTATION_LINES_ENTITY"),
                quotation_lines_navigation=navigation("IFS_QUOTATION_LINES_NAVIGATION"),
                potential_orders=entity_set("IFS_POTENTIAL_ORDERS_ENTITY"),
            ),
            time_zone_aware=reader.flag("IFS_TIME_ZONE_AWARE"),
        )


FEATURES: tuple[type[FeatureSettings], ...] = (
    StorageSettings,
    TokenCacheSettings,
    HeartbeatSettings,
    TelemetrySettings,
    DevhostSettings,
    TlsSettings,
    SecretsSettings,
)
# Declared but not yet needed by any function, so /api/health does not report them: EntraSettings and
# DataverseSettings join FEATURES when the first function calls Dataverse.
# IfsSettings joins FEATURES when the first function reads IFS.
DORMANT_FEATURES: tuple[type[FeatureSettings], ...] = (EntraSettings, DataverseSettings, IfsSettings)
F = TypeVar("F", bound=FeatureSettings)


class AppSettings:
    """All app settings of one process; hands out validated settings per feature."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, local_settings: Path | None = None
    ) -> AppSettings:
        """Read the environment, under the ``Values`` of ``local.settings.json`` when one is given and exists.

        As with Core Tools, a variable already set in the environment wins over the file.
        """
        values: dict[str, str] = {}
        if local_settings is not None and local_settings.exists():
            values.update(read_local_settings(local_settings))
        values.update(os.environ if environ is None else environ)
        return cls(values)

    @property
    def values(self) -> Mapping[str, str]:
        """The raw app settings (for the secret provider's app-settings source)."""
        return MappingProxyType(self._values)

    def get(self, feature: type[F]) -> F:
        """The validated settings of ``feature``; raises ConfigError naming every bad key."""
        reader = SettingsReader(self._values)
        settings = feature.read(reader)
        if reader.problems:
            raise ConfigError(feature.FEATURE, reader.problems)
        return settings

    def problems(self) -> dict[str, list[str]]:
        """Problems per feature (features without problems are left out): what the health endpoint reports."""
        found: dict[str, list[str]] = {}
        for feature in FEATURES:
            reader = SettingsReader(self._values)
            feature.read(reader)
            if reader.problems:
                found[feature.FEATURE] = reader.problems
        return found


def read_local_settings(path: Path) -> dict[str, str]:
    """The ``Values`` of a Core Tools ``local.settings.json`` file, as strings."""
    document = json.loads(path.read_text(encoding="utf-8"))
    values = document.get("Values", {})
    if not isinstance(values, dict):
        raise ValueError(f"{path}: 'Values' must be an object")
    return {str(k): str(v) for k, v in values.items()}
