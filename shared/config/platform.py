"""Settings of the platform features: storage, token cache, heartbeat, telemetry, devhost, TLS, secrets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Self
from urllib.parse import urlsplit

from shared.config.reader import SettingsReader, needed, optional_file, parse_key_bytes
from shared.config.setting import Setting

# The key of local.settings.sample.json: public, so a deployment that uses it encrypts nothing.
SAMPLE_TOKEN_ENCRYPTION_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # noqa: S105 - published on purpose
# Set by the Functions host on every instance in Azure, never locally.
AZURE_INSTANCE_VARIABLE = "WEBSITE_INSTANCE_ID"

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "AzureWebJobsStorage",
        "storage",
        "Storage account connection string: the Functions host's own storage, queues and state tables "
        "(locally Azurite's). In Azure leave it unset and use the identity-based AzureWebJobsStorage__* "
        "settings; when both are set, the connection string wins, as in the Functions host.",
        "UseDevelopmentStorage=true",
        default="",
        secret=True,
        doc=(
            "Storage connection string: the host's storage, the queues and the state tables "
            "(locally Azurite's). In Azure leave it unset; when both forms are set, the connection "
            "string wins, as in the Functions host"
        ),
        required_when="unless the identity-based form below is set",
    ),
    Setting(
        "AzureWebJobsStorage__accountName",
        "storage",
        "Identity-based connection (Azure): the storage account's name; the queue and table endpoints "
        "are https://<name>.queue|table.core.windows.net unless the service URIs below are set.",
        "",
        default="",
        doc=(
            "Identity-based connection (Azure): the storage account's name; the queue and table "
            "endpoints are `https://<name>.queue.core.windows.net` and `…table…` unless the service "
            "URIs are set. The state tables and the queue publisher then use "
            "`ManagedIdentityCredential`. devhost refuses this form by name: it needs a connection "
            "string"
        ),
    ),
    Setting(
        "AzureWebJobsStorage__credential",
        "storage",
        "Identity-based connection: managedidentity (the only kind the connector builds); empty: the same.",
        "",
        default="",
    ),
    Setting(
        "AzureWebJobsStorage__clientId",
        "storage",
        "Identity-based connection: client id of the user-assigned managed identity (empty: system-assigned)",
        "",
        default="",
    ),
    Setting(
        "AzureWebJobsStorage__queueServiceUri",
        "storage",
        "Identity-based connection: queue endpoint (https://<name>.queue.core.windows.net); needed without "
        "AzureWebJobsStorage__accountName, or for other clouds and custom domains.",
        "",
        default="",
        doc=(
            "Identity-based connection: the queue endpoint "
            "(`https://<name>.queue.core.windows.net`); needed without `__accountName`, or for "
            "other clouds and custom domains"
        ),
    ),
    Setting(
        "AzureWebJobsStorage__tableServiceUri",
        "storage",
        "Identity-based connection: table endpoint (https://<name>.table.core.windows.net); needed without "
        "AzureWebJobsStorage__accountName, or for other clouds and custom domains.",
        "",
        default="",
        doc=(
            "Identity-based connection: the table endpoint "
            "(`https://<name>.table.core.windows.net`); needed without `__accountName`, or for "
            "other clouds and custom domains"
        ),
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
        "Required unless KEY_VAULT_URL is set; then it is read from the secret token-encryption-key. The "
        "sample value is refused in Azure.",
        SAMPLE_TOKEN_ENCRYPTION_KEY,
        default="",
        secret=True,
        doc=(
            "Base64 of 32 random bytes: AES-256-GCM key for cached tokens. With `KEY_VAULT_URL` and "
            "no value here, it is read from the vault's secret `token-encryption-key`. The sample "
            "value of `local.settings.sample.json` is refused in Azure. Generate one with `python "
            '-c "import os,base64;print(base64.b64encode(os.urandom(32)).decode())"`'
        ),
        required_when="unless `KEY_VAULT_URL` is set",
    ),
    Setting(
        "HEARTBEAT_SCHEDULE",
        "heartbeat",
        "NCRONTAB schedule (six fields, seconds first) of the heartbeat timer.",
        "0 */5 * * * *",
        doc="NCRONTAB schedule (six fields, seconds first) of the heartbeat timer, e.g. `0 */5 * * * *`",
    ),
    Setting(
        "ECHO_QUEUE",
        "heartbeat",
        "Queue the heartbeat writes and the echo worker reads (proves timer -> queue -> worker end to end).",
        "heartbeat-echo",
        doc=(
            "Queue written by the heartbeat and read by the echo worker (proves timer → queue → "
            "worker end to end), e.g. `heartbeat-echo`"
        ),
    ),
    Setting(
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "telemetry",
        "Application Insights connection string; telemetry is exported only when it is set.",
        "",
        default="",
        secret=True,
        doc=(
            "Application Insights connection string; logs and traces are exported only when set "
            "(never in tests or the demo)"
        ),
    ),
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
        required_when="for `client_secret`/`certificate`",
    ),
    Setting(
        "ENTRA_CLIENT_ID",
        "entra",
        "Application (client) id of the app registration; with managed_identity, the client id of a "
        "user-assigned identity (empty: the system-assigned identity).",
        "00000000-0000-4000-8000-0000000c1e47",
        default="",
        required_when="for `client_secret`/`certificate`",
    ),
    Setting(
        "ENTRA_CLIENT_SECRET",
        "entra",
        "Client secret value, for ENTRA_CREDENTIAL=client_secret (in Azure, a Key Vault reference).",
        "demo-client-secret",
        default="",
        secret=True,
        required_when="for `client_secret`",
    ),
    Setting(
        "ENTRA_CLIENT_CERTIFICATE_PATH",
        "entra",
        "PEM file with the certificate and its RSA private key, for ENTRA_CREDENTIAL=certificate.",
        "",
        default="",
        required_when="for `certificate` unless `ENTRA_CLIENT_CERTIFICATE` is set",
    ),
    Setting(
        "ENTRA_CLIENT_CERTIFICATE",
        "entra",
        "PEM text of the certificate and its RSA private key, for ENTRA_CREDENTIAL=certificate, instead of "
        "ENTRA_CLIENT_CERTIFICATE_PATH (in Azure, a Key Vault reference: no file is needed on the instance).",
        "",
        default="",
        secret=True,
        doc=(
            "The PEM text itself (certificate and RSA private key), instead of "
            "`ENTRA_CLIENT_CERTIFICATE_PATH`: in Azure a Key Vault reference, since no file can be "
            "put on a Flex Consumption instance from the vault. Set one of the two"
        ),
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
        doc=(
            "Key Vault the secret provider reads (`https://<name>.vault.azure.net`); empty: secrets "
            "come from app settings. App-setting names map to secret names by lowercasing and "
            "turning `_` into `-` (`IFS_CLIENT_SECRET` → `ifs-client-secret`)"
        ),
    ),
    Setting(
        "SECRET_CACHE_SECONDS",
        "secrets",
        "How long the secret provider reuses a secret before reading it again (0-86400 seconds).",
        "300",
        default="300",
    ),
    Setting(
        "CALL_BUDGET_SECONDS",
        "retries",
        "Total time one IFS or Dataverse call may spend, retries and Retry-After waits included (1-900 "
        "seconds, at least each client's request timeout); throttling that outlasts it is handed back "
        "to the queue with its Retry-After delay.",
        "300",
        default="300",
        doc=(
            "Total time one IFS or Dataverse call may spend, retries and `Retry-After` waits "
            "included (1-900, at least `DATAVERSE_TIMEOUT_SECONDS` and the IFS client's timeout); "
            "see [Retries](#retries)"
        ),
    ),
)

# host.json's functionTimeout is 30 minutes: a call's budget plus its last request (DATAVERSE_TIMEOUT_SECONDS
# at most 600) must end well before the host stops the invocation.
MAX_CALL_BUDGET_SECONDS = 900


def call_budget(reader: SettingsReader) -> int:
    """CALL_BUDGET_SECONDS, read by every feature whose client makes calls under it."""
    return reader.integer("CALL_BUDGET_SECONDS", minimum=1, maximum=MAX_CALL_BUDGET_SECONDS)


@dataclass(frozen=True)
class StorageIdentity:
    """An identity-based storage connection: the endpoints, reached with a managed identity."""

    queue_service_uri: str
    table_service_uri: str
    client_id: str | None  # the user-assigned identity's client id; None: the system-assigned identity


@dataclass(frozen=True)
class StorageSettings:
    """Where the host's queues and the connector's state tables live, and how to reach them.

    Either a connection string (``AzureWebJobsStorage``: Azurite locally and in tests) or, in Azure, an
    identity-based connection (``AzureWebJobsStorage__accountName`` and friends, as the Functions host
    reads them), in which case ``identity`` is set and ``connection_string`` is empty.
    """

    FEATURE: ClassVar[str] = "storage"
    connection_string: str = field(repr=False)
    table_prefix: str
    identity: StorageIdentity | None = None

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read AzureWebJobsStorage (or the identity-based AzureWebJobsStorage__*) and STATE_TABLE_PREFIX."""
        connection_string = reader.text("AzureWebJobsStorage")
        return cls(
            connection_string=connection_string,
            table_prefix=reader.pattern(
                "STATE_TABLE_PREFIX",
                r"[A-Za-z][A-Za-z0-9]{0,19}",
                "letters and digits, starting with a letter",
            ),
            identity=None if connection_string else _storage_identity(reader),
        )


_STORAGE = "AzureWebJobsStorage"


def _storage_identity(reader: SettingsReader) -> StorageIdentity | None:
    """The identity-based connection from the ``AzureWebJobsStorage__*`` settings, or None with a problem."""
    given = {
        key: bool(reader.text(f"{_STORAGE}__{key}"))
        for key in ("accountName", "queueServiceUri", "tableServiceUri")
    }
    account = (
        reader.pattern(
            f"{_STORAGE}__accountName",
            r"[a-z0-9]{3,24}",
            "a storage account name (3-24 lowercase letters, digits)",
        )
        if given["accountName"]
        else ""
    )
    uris = {
        service: reader.url(f"{_STORAGE}__{service}ServiceUri", https=True)
        if given[f"{service}ServiceUri"]
        else ""
        for service in ("queue", "table")
    }
    credential = reader.text(f"{_STORAGE}__credential")
    if credential and credential.lower() != "managedidentity":
        reader.problems.append(
            f"{_STORAGE}__credential is invalid: expected managedidentity (the only kind the connector "
            f"builds), got {credential!r}"
        )
    client_id = reader.text(f"{_STORAGE}__clientId")
    if client_id and not re.fullmatch(_GUID, client_id):
        reader.problems.append(f"{_STORAGE}__clientId is invalid: expected a GUID, got {client_id!r}")
    if not any(given.values()):
        reader.problems.append(
            f"{_STORAGE} is missing: set a connection string in {_STORAGE} (locally, Azurite's), or "
            f"{_STORAGE}__accountName for an identity-based connection through a managed identity (in Azure)"
        )
        return None
    for service in ("queue", "table"):
        if not uris[service] and account:
            uris[service] = f"https://{account}.{service}.core.windows.net"
        elif not uris[service] and not given["accountName"]:
            reader.problems.append(
                f"{_STORAGE}__{service}ServiceUri is missing (needed for an identity-based connection "
                f"without {_STORAGE}__accountName)"
            )
    return StorageIdentity(uris["queue"], uris["table"], client_id or None)


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
        key = reader.key_bytes("TOKEN_ENCRYPTION_KEY", 32)
        if is_sample_key(key) and reader.host_variable(AZURE_INSTANCE_VARIABLE):
            reader.problems.append(SAMPLE_KEY_IN_AZURE)
        return cls(encryption_key=key)


SAMPLE_KEY_IN_AZURE = (
    "TOKEN_ENCRYPTION_KEY is invalid: it is the public sample key of local.settings.sample.json, which is "
    f"refused when running in Azure ({AZURE_INSTANCE_VARIABLE} is set); generate a key of your own"
)


def is_sample_key(key: bytes) -> bool:
    """Whether ``key`` is the published sample key of ``local.settings.sample.json``."""
    return key == parse_key_bytes(SAMPLE_TOKEN_ENCRYPTION_KEY, 32)


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
class TelemetrySettings:
    """Where telemetry goes (nowhere when the connection string is empty)."""

    FEATURE: ClassVar[str] = "telemetry"
    connection_string: str = field(repr=False)

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read APPLICATIONINSIGHTS_CONNECTION_STRING, checked as the Azure Monitor exporter reads it."""
        value = reader.text("APPLICATIONINSIGHTS_CONNECTION_STRING")
        if value:
            reason = connection_string_problem(value)
            if reason:
                reader.problems.append(f"APPLICATIONINSIGHTS_CONNECTION_STRING is invalid: {reason}")
                value = ""
        return cls(connection_string=value)


# As azure-monitor-opentelemetry-exporter's ConnectionStringParser: a lowercase RFC 4122 GUID.
_INSTRUMENTATION_KEY = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ENDPOINTS = ("ingestionendpoint", "liveendpoint")


def connection_string_problem(value: str) -> str | None:
    """Why the exporter would refuse an Application Insights connection string (None: it would not).

    Mirrors ``ConnectionStringParser``: ``;``-separated ``key=value`` pairs (keys case-insensitive, exactly
    one ``=`` each), ``Authorization`` only ``ikey``, an ``InstrumentationKey`` that is a lowercase GUID;
    and, beyond it, explicit ingestion and live endpoints must be https URLs. The value is never echoed.
    """
    pairs: dict[str, str] = {}
    for part in value.split(";"):
        fields = part.split("=")
        if len(fields) != 2:
            return "expected key=value pairs separated by ';'"
        pairs[fields[0].strip().lower()] = fields[1].strip()
    if pairs.get("authorization", "ikey").lower() != "ikey":
        return "Authorization must be ikey"
    key = pairs.get("instrumentationkey", "")
    if not key:
        return "it has no InstrumentationKey"
    if not _INSTRUMENTATION_KEY.fullmatch(key):
        return "its InstrumentationKey is not a GUID in lowercase hex"
    for name in _ENDPOINTS:
        endpoint = pairs.get(name)
        if endpoint is not None and (urlsplit(endpoint).scheme != "https" or not urlsplit(endpoint).hostname):
            return f"its {name} is not an https URL"
    return None


@dataclass(frozen=True)
class RetrySettings:
    """How long one outbound call may take in total, retries and waits included."""

    FEATURE: ClassVar[str] = "retries"
    call_budget_seconds: int

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read CALL_BUDGET_SECONDS."""
        return cls(call_budget_seconds=call_budget(reader))


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


def _holds_key_and_certificate(text: str) -> bool:
    """Whether ``text`` holds a PEM certificate and a PEM private key (the value itself is never shown)."""
    return (
        "-----BEGIN CERTIFICATE-----" in text
        and re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----", text) is not None
    )


@dataclass(frozen=True)
class TlsSettings:
    """Extra trust for HTTPS clients: the CA file of the simulators' self-signed certificate, if any."""

    FEATURE: ClassVar[str] = "tls"
    ca_bundle: str | None

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read TLS_CA_BUNDLE."""
        return cls(ca_bundle=optional_file(reader, "TLS_CA_BUNDLE"))


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
    certificate_pem: str = field(repr=False, default="")  # the PEM itself, instead of certificate_path

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read the ENTRA_* settings and TLS_CA_BUNDLE; which are required depends on ENTRA_CREDENTIAL."""
        credential = reader.pattern(
            "ENTRA_CREDENTIAL", "|".join(ENTRA_CREDENTIALS), "client_secret, certificate or managed_identity"
        )
        tenant_id, client_id = reader.text("ENTRA_TENANT_ID"), reader.text("ENTRA_CLIENT_ID")
        secret, certificate = reader.text("ENTRA_CLIENT_SECRET"), reader.text("ENTRA_CLIENT_CERTIFICATE_PATH")
        certificate_pem = reader.text("ENTRA_CLIENT_CERTIFICATE")
        authority = reader.url("ENTRA_AUTHORITY", https=True)
        if authority and urlsplit(authority).path not in ("", "/"):
            reader.problems.append(
                f"ENTRA_AUTHORITY is invalid: expected scheme and host only, got {authority!r}"
            )
        if credential in ("client_secret", "certificate"):
            why = f"for ENTRA_CREDENTIAL={credential}"
            needed(reader, "ENTRA_TENANT_ID", tenant_id, why)
            needed(reader, "ENTRA_CLIENT_ID", client_id, why)
            if credential == "client_secret":
                needed(reader, "ENTRA_CLIENT_SECRET", secret, why)
            elif certificate and certificate_pem:
                reader.problems.append(
                    "ENTRA_CLIENT_CERTIFICATE and ENTRA_CLIENT_CERTIFICATE_PATH are both set: set one"
                )
            elif not certificate_pem:
                unless = f"{why}, unless ENTRA_CLIENT_CERTIFICATE holds the PEM"
                needed(reader, "ENTRA_CLIENT_CERTIFICATE_PATH", certificate, unless)
        if tenant_id and not re.fullmatch(_TENANT, tenant_id):
            reader.problems.append(
                f"ENTRA_TENANT_ID is invalid: expected a GUID or domain, got {tenant_id!r}"
            )
        if client_id and not re.fullmatch(_GUID, client_id):
            reader.problems.append(f"ENTRA_CLIENT_ID is invalid: expected a GUID, got {client_id!r}")
        if (
            credential == "certificate"
            and certificate_pem
            and not _holds_key_and_certificate(certificate_pem)
        ):
            reader.problems.append(
                "ENTRA_CLIENT_CERTIFICATE is invalid: expected PEM text with a CERTIFICATE and a PRIVATE KEY"
            )
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
            ca_bundle=optional_file(reader, "TLS_CA_BUNDLE"),
            certificate_pem=certificate_pem,
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
            ca_bundle=optional_file(reader, "TLS_CA_BUNDLE"),
        )
