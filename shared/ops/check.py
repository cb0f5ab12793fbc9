"""``check``: ping the real systems with the app's settings, and say what to fix and where.

In order, each step skipped (and saying why) when one it needs failed:

1. **settings** complete for every feature the sync uses (each problem names its setting);
2. **Key Vault** reachable and holding the secrets the app reads from it;
3. **storage** reachable (the state tables and queues);
4. **IFS**: a token from IAM (a fresh one, not the cache's), then each entity's projection: its
   ``$metadata`` names the configured entity set and child collections, and one row can be read;
5. **Dataverse**: a token from Entra and ``WhoAmI`` (the app is an application user);
6. **privileges** of the application user on every table the mappings and flows write;
7. **alternate keys** Active;
8. **webhooks** the connector registered (``subscriptions``): every step still there and enabled;
9. **mapping files** valid, and their columns and fields present in both systems' metadata.

Every failure carries a fix ("grant the application user Create on salesorderdetail …", "IFS answered 401:
check IFS_CLIENT_SECRET in Key Vault (secret ifs-client-secret)").
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError

from shared import bootstrap
from shared.config import (
    ENTITY_SETTINGS,
    AppSettings,
    ConfigError,
    DataverseSettings,
    EntraSettings,
    FeatureSettings,
    IfsSettings,
    OperationsSettings,
    SecretsSettings,
    StorageSettings,
    SyncSettings,
    TlsSettings,
    TokenCacheSettings,
)
from shared.dataverse import inspect
from shared.dataverse.errors import AccessDeniedError, AuthenticationError, DataverseError
from shared.dataverse.provisioning import Provisioner
from shared.ifs.auth import IfsTokenProvider
from shared.ifs.errors import IfsError, IfsForbiddenError, IfsNotFoundError, IfsUnavailableError
from shared.ifs.metadata import ProjectionMetadata
from shared.ifs.query import Query
from shared.platform.credentials import build_credential
from shared.platform.secrets import (
    SecretNotFoundError,
    SecretProvider,
    build_secret_provider,
    key_vault_secret_name,
)
from shared.runtime import SyncRuntime, sync_runtime
from shared.state.subscriptions import SubscriptionRepository
from shared.sync import checks
from shared.sync.checks import FAIL, OK, SKIP, WARN, CheckResult
from shared.sync.mapping.model import EntityMapping
from shared.sync.registry import PART_SOURCES, REFERENCE_PRIVILEGES, ROOT_ROWS

# The features a running sync needs, in the order a person would fix them.
NEEDED: tuple[type[FeatureSettings], ...] = (
    StorageSettings,
    TokenCacheSettings,
    TlsSettings,
    SecretsSettings,
    EntraSettings,
    DataverseSettings,
    IfsSettings,
    SyncSettings,
    *ENTITY_SETTINGS,
    OperationsSettings,
)
VAULTED = ("IFS_CLIENT_SECRET", "TOKEN_ENCRYPTION_KEY")  # what the app reads from Key Vault itself
T = TypeVar("T")
_SETTING_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)")
APP_SETTINGS = "the app settings (local.settings.json locally, the function app's configuration in Azure)"


@dataclass
class SystemCheck:
    """Runs every check against the systems ``settings`` point at."""

    settings: AppSettings
    results: list[CheckResult] = field(default_factory=list)
    _broken: set[str] = field(default_factory=set)  # features and systems that failed: later steps skip

    def run(self) -> list[CheckResult]:
        """Every check, in order; an unexpected error fails its step, never the command."""
        self._guard("settings", self.settings_complete)
        self._guard("key vault", self.key_vault)
        self._guard("storage", self.storage)
        self._guard("ifs", self.ifs_token)
        runtime = self._guard("settings", self._runtime)
        fields = self._guard("ifs", lambda: self.ifs_projections(runtime)) or {}
        user = self._guard("dataverse", lambda: self.dataverse(runtime))
        mappings = self._guard("mappings", lambda: self.mapping_files(runtime)) or []
        self._guard("privileges", lambda: self.privileges(runtime, user, mappings))
        self._guard("keys", lambda: self.alternate_keys(runtime, mappings))
        self._guard("webhooks", lambda: self.webhooks(runtime))
        self._guard("mappings", lambda: self.mapping_metadata(runtime, mappings, fields))
        return self.results

    def _guard(self, area: str, step: Callable[[], T]) -> T | None:
        try:
            return step()
        except Exception as exc:  # a check must report, not crash: the next steps still run or skip
            self._add(area, f"{area} check", FAIL, f"unexpected {type(exc).__name__}: {_first_line(exc)}",
                      "see the message; run with -v for the log")  # fmt: skip
            return None

    def _secrets(self) -> SecretProvider:
        """A fresh secret provider (nothing cached earlier in this process): the vault, or app settings."""
        secrets = self.settings.get(SecretsSettings)
        credential = build_credential(self.settings.get(EntraSettings)) if secrets.vault_url else None
        return build_secret_provider(secrets, self.settings.values, credential)

    # ---- helpers -----------------------------------------------------------------------------------

    def _add(self, area: str, name: str, status: str, detail: str = "", fix: str = "") -> None:
        self.results.append(CheckResult(area, name, status, detail, fix))
        if status == FAIL:
            self._broken.add(area)

    def _extend(self, results: list[CheckResult]) -> None:
        for result in results:
            self._add(result.area, result.name, result.status, result.detail, result.fix)

    def _needs(self, area: str, name: str, *needed: str) -> bool:
        """Whether everything ``needed`` works; if not, add a skip saying what this waits for."""
        missing = [n for n in needed if n in self._broken]
        if missing:
            self._add(area, name, SKIP, f"needs {', '.join(missing)} first")
            return False
        return True

    def _vaulted(self) -> str | None:
        try:
            return self.settings.get(SecretsSettings).vault_url
        except ConfigError:
            return None

    def _secret_where(self, name: str) -> str:
        vault = self._vaulted()
        if vault and not self.settings.values.get(name):
            return f"{name} in Key Vault (secret {key_vault_secret_name(name)} of {vault})"
        return f"{name} in {APP_SETTINGS}"

    # ---- 1. settings ---------------------------------------------------------------------------------

    def settings_complete(self) -> None:
        """Every feature the sync needs has its settings."""
        problems = 0
        for feature in NEEDED:
            try:
                self.settings.get(feature)
            except ConfigError as exc:
                self._broken.add(feature.FEATURE)
                for problem in exc.problems:
                    problems += 1
                    match = _SETTING_NAME.match(problem)
                    setting = match.group(1) if match else "the setting"
                    self._add("settings", feature.FEATURE, FAIL, problem, f"set {setting} in {APP_SETTINGS}")
        if not problems:
            self._add("settings", "every setting the sync needs", OK, f"{len(NEEDED)} features complete")

    # ---- 2. Key Vault ------------------------------------------------------------------------------

    def key_vault(self) -> None:
        """The vault answers and holds what the app reads from it."""
        vault = self._vaulted()
        if not vault:
            self._add(
                "key vault", "Key Vault", SKIP, "KEY_VAULT_URL is not set: secrets come from app settings"
            )
            return
        if not self._needs("key vault", f"Key Vault {vault}", "entra", "secrets"):
            return
        wanted = [name for name in VAULTED if not self.settings.values.get(name)]
        provider = self._secrets()
        for name in wanted:
            secret = key_vault_secret_name(name)
            try:
                provider.get(name)
            except SecretNotFoundError:
                self._add(
                    "key vault",
                    f"secret {secret}",
                    FAIL,
                    f"{vault} has no secret {secret}",
                    f"az keyvault secret set --vault-name <vault> -n {secret} --value '…' (or set {name})",
                )
            except ClientAuthenticationError as exc:
                self._add("key vault", f"secret {secret}", FAIL, _first_line(exc), _entra_fix())
            except HttpResponseError as exc:
                detail, fix = _key_vault_refusal(exc, vault, name, secret)
                self._add("key vault", f"secret {secret}", FAIL, detail, fix)
            except AzureError as exc:
                self._add(
                    "key vault",
                    f"secret {secret}",
                    FAIL,
                    f"unreachable: {type(exc).__name__}",
                    "check KEY_VAULT_URL",
                )
            else:
                self._add("key vault", f"secret {secret}", OK, f"read from {vault}")

    # ---- 3. storage ----------------------------------------------------------------------------------

    def storage(self) -> None:
        """The state tables and the queues answer."""
        if not self._needs("storage", "state tables and queues", "storage"):
            return
        try:
            services = bootstrap.storage(self.settings)  # opens (creates) the state tables
            next(iter(services.tables.service.list_tables(results_per_page=1)), None)
            services.publisher.service.get_service_properties()
        except AzureError as exc:
            self._add(
                "storage",
                "state tables and queues",
                FAIL,
                f"storage did not answer: {type(exc).__name__}",
                "check AzureWebJobsStorage (or the AzureWebJobsStorage__* settings and the identity's roles)",
            )
            return
        self._add("storage", "state tables and queues", OK, services.tables.service.url.split("?")[0])

    # ---- 4. IFS ----------------------------------------------------------------------------------------

    def ifs_token(self) -> None:
        """IAM issues a token to the configured client (fresh: the cache is not asked)."""
        if not self._needs("ifs", "IFS token", "ifs", "tls", "secrets", "key vault"):
            return
        ifs = self.settings.get(IfsSettings)
        secrets = self._secrets()
        http = httpx.Client(verify=bootstrap.tls_verify(self.settings), timeout=30)
        try:
            provider = IfsTokenProvider.from_settings(
                http, ifs, None, secret=lambda: secrets.get("IFS_CLIENT_SECRET")
            )
            provider.token()
        except IfsUnavailableError:
            self._add(
                "ifs",
                "IFS token",
                FAIL,
                f"IAM unreachable at {ifs.token_url}",
                "check IFS_BASE_URL (and that the tenant is up)",
            )
        except IfsError as exc:
            status = exc.status
            fix = (
                f"check IFS_REALM ({ifs.realm}): IAM has no such realm"
                if status == 404
                else f"check IFS_CLIENT_ID ({ifs.client_id}) and {self._secret_where('IFS_CLIENT_SECRET')}"
            )
            self._add("ifs", "IFS token", FAIL, f"IFS answered {status}: {exc}", fix)
        else:
            self._add("ifs", "IFS token", OK, f"issued to {ifs.client_id} by {ifs.token_url}")
        finally:
            http.close()

    def _runtime(self) -> SyncRuntime | None:
        if any(area in self._broken for area in ("settings", "storage", "key vault")):
            return None
        try:
            return sync_runtime(self.settings)
        except (ConfigError, ValueError) as exc:
            self._add("settings", "sync runtime", FAIL, str(exc), f"fix {APP_SETTINGS}")
            return None

    def ifs_projections(self, runtime: SyncRuntime | None) -> dict[str, dict[str, frozenset[str] | None]]:
        """Each entity's entity set and child collections exist in ``$metadata``, and a row can be read."""
        fields: dict[str, dict[str, frozenset[str] | None]] = {}
        for entity in runtime.engine.entities if runtime else _entities():
            name = f"{entity}: IFS projection"
            if runtime is None or not self._needs("ifs", name, "ifs"):
                if runtime is None:
                    self._add("ifs", name, SKIP, "needs the settings, storage and Key Vault first")
                continue
            fields[entity] = self._projection(runtime, entity, name)
        return fields

    def _projection(self, runtime: SyncRuntime, entity: str, name: str) -> dict[str, frozenset[str] | None]:
        source = runtime.sources[entity]
        root = source.root
        setting = f"IFS_{entity.upper()}_ENTITY"
        try:
            metadata = ProjectionMetadata.parse(runtime.ifs.metadata(root.projection))
            next(iter(runtime.ifs.iter_rows(root, Query(select=root.keys, top=1))), None)
        except IfsForbiddenError:
            self._add(
                "ifs",
                name,
                FAIL,
                f"IFS answered 403 for {root.path}",
                f"grant the IAM client's user the permission set of projection {root.projection}",
            )
            return {}
        except IfsNotFoundError:
            self._add("ifs", name, FAIL, f"IFS has no {root.path}", f"check {setting} ({root})")
            return {}
        except (IfsError, ValueError) as exc:
            self._add("ifs", name, FAIL, f"{type(exc).__name__}: {exc}", f"check {setting} ({root})")
            return {}
        root_type = metadata.of_set(root.name)
        if root_type is None:
            self._add(
                "ifs",
                name,
                FAIL,
                f"$metadata of {root.projection} has no entity set {root.name}",
                f"check {setting}",
            )
            return {}
        found: dict[str, frozenset[str] | None] = {ROOT_ROWS: root_type.properties}
        problems = []
        for child in source.children:
            child_type = metadata.of_navigation(root_type, child.navigation.name)
            if child_type is None:
                problems.append(f"{root_type.name} has no collection {child.navigation.name}")
                found[child.part] = None
            else:
                found[child.part] = child_type.properties
        if problems:
            self._add(
                "ifs", name, FAIL, "; ".join(problems), "check the IFS_*_NAVIGATION setting of the collection"
            )
        else:
            self._add("ifs", name, OK, f"{root} readable, {len(root_type.properties)} fields")
        return found

    # ---- 5. Dataverse ----------------------------------------------------------------------------------

    def dataverse(self, runtime: SyncRuntime | None) -> uuid.UUID | None:
        """Entra issues a token and Dataverse knows the app as an application user (WhoAmI)."""
        name = "Dataverse token and application user"
        if runtime is None:
            self._add("dataverse", name, SKIP, "needs the settings, storage and Key Vault first")
            return None
        entra = self.settings.get(EntraSettings)
        url = self.settings.get(DataverseSettings).url
        try:
            who = runtime.dataverse.who_am_i()
        except ClientAuthenticationError as exc:
            self._add("dataverse", name, FAIL, f"Entra refused the app: {_first_line(exc)}", _entra_fix())
        except (AuthenticationError, AccessDeniedError) as exc:
            self._add(
                "dataverse",
                name,
                FAIL,
                f"Dataverse answered {exc.status}: {exc.message}",
                f"create an application user for app {entra.client_id} in {url} (Power Platform admin "
                "center → the environment → Settings → Application users) and give it a security role",
            )
        except (DataverseError, httpx.HTTPError) as exc:
            self._add("dataverse", name, FAIL, f"{type(exc).__name__}: {exc}", f"check DATAVERSE_URL ({url})")
        else:
            self._add("dataverse", name, OK, f"application user {who.user_id} in {url}")
            return who.user_id
        return None

    def mapping_files(self, runtime: SyncRuntime | None) -> list[EntityMapping]:
        """Every mapping file loads and validates (file, line and field named)."""
        if runtime is None:
            self._add("mappings", "mapping files", SKIP, "needs the settings first")
            return []
        mappings = []
        problems = runtime.engine.check_mappings()
        for entity in runtime.engine.entities:
            if entity in problems:
                self._add(
                    "mappings",
                    f"{entity}: mapping file",
                    FAIL,
                    str(problems[entity]),
                    "fix the file at the line named (see the README's Mapping files)",
                )
            else:
                mapping = runtime.engine.mapping(entity)
                mappings.append(mapping)
                self._add("mappings", f"{entity}: mapping file", OK, mapping.path)
        return mappings

    def privileges(
        self, runtime: SyncRuntime | None, user: uuid.UUID | None, mappings: list[EntityMapping]
    ) -> None:
        """The application user holds every privilege the mappings and the flows need."""
        if runtime is None or user is None:
            self._add("privileges", "application user's privileges", SKIP, "needs Dataverse first")
            return
        needed = checks.needed_privileges(mappings, REFERENCE_PRIVILEGES)
        try:
            held = {
                p.id: (p.name, p.depth) for p in inspect.user_privileges(runtime.dataverse, user).values()
            }
            tables = {}
            for table in sorted(needed):
                privileges = inspect.table_privileges(runtime.dataverse, table)
                tables[table] = {kind: (p.name, p.id) for kind, p in privileges.items()}
        except DataverseError as exc:
            self._add(
                "privileges", "application user's privileges", FAIL, str(exc), "check the application user"
            )
            return
        self._extend(checks.privilege_results(needed, tables, held))

    def alternate_keys(self, runtime: SyncRuntime | None, mappings: list[EntityMapping]) -> None:
        """The alternate key of every keyed target is Active."""
        if runtime is None or not self._needs("keys", "alternate keys", "dataverse"):
            if runtime is None:
                self._add("keys", "alternate keys", SKIP, "needs Dataverse first")
            return
        provisioner = Provisioner(runtime.dataverse)
        tables = sorted({t.table for m in mappings for t in m.targets.values() if t.key})
        found = {
            table: {k.schema_name: k.status for k in provisioner.alternate_keys(table)} for table in tables
        }
        self._extend(checks.key_results(mappings, found))

    def webhooks(self, runtime: SyncRuntime | None) -> None:
        """Every webhook step the connector registered is still registered and enabled."""
        if runtime is None or not self._needs("webhooks", "webhook steps", "dataverse"):
            if runtime is None:
                self._add("webhooks", "webhook steps", SKIP, "needs Dataverse first")
            return
        saved = SubscriptionRepository(runtime.storage.tables).list()
        if not saved:
            self._add(
                "webhooks",
                "webhook steps",
                SKIP,
                "no webhook registered yet (none is needed until the Dynamics → IFS flows are provisioned)",
            )
            return
        provisioner = Provisioner(runtime.dataverse)
        for subscription in saved:
            name = f"webhook {subscription.name}"
            registration = provisioner.inspect_webhook(subscription.name)
            if registration is None:
                self._add(
                    "webhooks",
                    name,
                    FAIL,
                    "its service endpoint is gone",
                    "run `python -m shared.cli provision`",
                )
                continue
            steps = {step.name: step for step in registration.steps}
            missing = sorted(set(subscription.step_ids) - set(steps))
            disabled = sorted(s.name for s in registration.steps if not s.enabled)
            if missing or disabled:
                detail = "; ".join(
                    [
                        *(f"step {s!r} is missing" for s in missing),
                        *(f"step {s!r} is disabled" for s in disabled),
                    ]
                )
                fix = (
                    "run `python -m shared.cli provision` to register it again"
                    if missing
                    else "enable the step (Plug-in Registration Tool, or its statecode 0 in the Web API)"
                )
                self._add("webhooks", name, FAIL, detail, fix)
            else:
                self._add("webhooks", name, OK, f"{len(steps)} steps registered and enabled")

    def mapping_metadata(
        self,
        runtime: SyncRuntime | None,
        mappings: list[EntityMapping],
        fields: dict[str, dict[str, frozenset[str] | None]],
    ) -> None:
        """The mapped columns exist in Dataverse and the mapped fields in IFS."""
        if runtime is None:
            return
        columns: dict[str, dict[str, tuple[bool, bool]]] = {}
        if "dataverse" not in self._broken:
            for table in sorted({t.table for m in mappings for t in m.targets.values()}):
                try:
                    info = inspect.table_columns(runtime.dataverse, table)
                except DataverseError:
                    continue
                columns[table] = {c.name: (c.valid_for_create, c.valid_for_update) for c in info.values()}
        for mapping in mappings:
            self._extend(checks.column_results(mapping, columns))
            parts = PART_SOURCES.get(mapping.entity)
            if parts is None:
                self._add(
                    "mappings",
                    f"{mapping.entity}: fields against IFS $metadata",
                    SKIP,
                    "the flow declares no PART_SOURCES entry (shared/sync/registry.py)",
                )
            elif fields.get(mapping.entity):
                self._extend(checks.field_results(mapping, parts, fields[mapping.entity]))
            else:
                self._add(
                    "mappings",
                    f"{mapping.entity}: fields against IFS $metadata",
                    SKIP,
                    "needs the projection first",
                )


def _entities() -> Iterator[str]:
    return iter(cls.ENTITY for cls in ENTITY_SETTINGS)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _key_vault_refusal(exc: HttpResponseError, vault: str, name: str, secret: str) -> tuple[str, str]:
    """(detail, fix) for a Key Vault error answer: a disabled secret, a missing role, or another vault."""
    inner = exc.error.innererror.get("code") if exc.error is not None else None
    detail = f"Key Vault answered {exc.status_code}" + (f" ({inner})" if inner else "")
    if exc.status_code == 403 and inner == "SecretDisabled":
        return (
            f"secret {secret} is disabled",
            f"enable it: az keyvault secret set-attributes --vault-name <vault> -n {secret} --enabled true "
            f"(or set a new version, or set {name})",
        )
    if exc.status_code == 403:
        return detail, "give the app's identity the Key Vault Secrets User role on the vault"
    return detail, f"check KEY_VAULT_URL ({vault})"


def _entra_fix() -> str:
    return (
        "check ENTRA_TENANT_ID, ENTRA_CLIENT_ID and the credential (ENTRA_CLIENT_SECRET or the certificate)"
    )


def summary(results: list[CheckResult]) -> dict[str, int]:
    """How many checks ended each way."""
    counts = {OK: 0, WARN: 0, FAIL: 0, SKIP: 0}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return counts


def run_check(
    settings: AppSettings, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> dict[str, Any]:
    """Run every check; the results and their counts as one document."""
    started = now()
    results = SystemCheck(settings).run()
    return {
        "at": started.isoformat(),
        "summary": summary(results),
        "checks": [result.to_json() for result in results],
    }
