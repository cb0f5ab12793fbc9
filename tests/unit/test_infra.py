"""infra/: the Bicep, read with pycep-parser (the Bicep compiler cannot run on these machines).

Each ``.bicep`` file must parse; the resources, role assignments, app settings and outputs the connector
needs must be declared; the app settings must be exactly what ``shared.config``'s catalog says the app
reads, valid by the app's own checks, with every secret a Key Vault reference; and the scale-out cap must
keep Dataverse's concurrency limit with host.json's queue settings and the functions that exist.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pycep import BicepParser

from devhost.functions import load_app
from shared.config import CATALOG, DORMANT_FEATURES, FEATURES, SETTINGS_BY_NAME, AppSettings, StorageSettings
from shared.config.reader import SettingsReader
from shared.platform.secrets import key_vault_secret_name
from shared.state.parked import ParkedRecords

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
MAIN = INFRA / "main.bicep"

# Catalog settings deliberately left out of Azure's app settings, each with its reason. Keep this short:
# a new setting belongs in main.bicep's appSettings unless it truly has no meaning in Azure.
NOT_DEPLOYED = {
    "AzureWebJobsStorage": "Azure uses the identity-based AzureWebJobsStorage__* form: shared keys are off",
    "ENTRA_CLIENT_CERTIFICATE_PATH": "no file reaches a Flex Consumption instance from Key Vault; Azure uses "
    "ENTRA_CLIENT_CERTIFICATE, a Key Vault reference",
    "TLS_CA_BUNDLE": "only for the simulators' self-signed certificate; Azure uses the default CA bundle",
    "KEY_VAULT_URL": "secrets arrive as Key Vault references resolved with the app's identity; with this set "
    "the app would read the vault itself with the Dataverse credential, which has no role on it",
    "SECRET_CACHE_SECONDS": "only used with KEY_VAULT_URL",
}
# Dev-only settings: never in Azure (the local host's function keys).
DEV_ONLY_PREFIX = "DEVHOST_"
# Settings read by the Functions host rather than the connector (so not in the catalog).
HOST_SETTINGS = {
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "the host's telemetry signs in with the managed identity",
}
# On Flex Consumption these are deprecated or refused (the runtime lives in functionAppConfig).
FLEX_FORBIDDEN = {
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
    "WEBSITE_TIME_ZONE",
}
# Stand-ins for settings whose value Azure computes at deployment (a resource property or a parameter)
# and whose catalog sample is empty, so the deployed settings can be checked by the app's own rules.
COMPUTED_STAND_INS = {
    "AzureWebJobsStorage__accountName": "stconnector01",
    "AzureWebJobsStorage__clientId": "00000000-0000-4000-8000-0000000c11e7",
    "AzureWebJobsStorage__queueServiceUri": "https://stconnector01.queue.core.windows.net/",
    "AzureWebJobsStorage__tableServiceUri": "https://stconnector01.table.core.windows.net/",
    "ENTRA_AUTHORITY": "https://login.microsoftonline.com/",
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=00000000-0000-4000-8000-0000000a1000;"
    "IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/",
    "ENTRA_CLIENT_CERTIFICATE": "-----BEGIN PRIVATE KEY-----\nk\n-----END PRIVATE KEY-----\n"
    "-----BEGIN CERTIFICATE-----\nc\n-----END CERTIFICATE-----\n",
}
# Functions that never call Dataverse, so they take no share of its concurrency limit; every other
# function counts against main.bicep's budgets.
NO_DATAVERSE_CALLS = {
    "health": "reports which settings are missing",
    "health_details": "reports which settings are missing, with the messages",
    "heartbeat": "enqueues a heartbeat",
    "heartbeat_echo": "writes the audit table",
    "poll_customers": "reads IFS and enqueues changed keys",
    "poll_sales_parts": "reads IFS and enqueues changed keys",
    "dataverse_webhook": "authenticates, parses and enqueues; the worker reads Dataverse",
    "ops_status": "reads the state tables and queue depths",
    "ops_replay": "moves poison messages and enqueues parked keys",
    "ops_reconcile": "queues a job (the jobs timer runs it)",
    "ops_backfill": "queues a job (the jobs timer runs it)",
    "ops_job": "reads a job's state",
    "purge_state": "deletes old audit rows, jobs and dedupe claims",
    "poll_orders": "reads IFS and enqueues changed keys",
    "poll_quotations": "reads IFS and enqueues changed keys",
}
# HTTP functions an operator runs by hand (admin level), one Dataverse request each: with the command line
# they share main.bicep's dataverseRequestsReservedForTools.
HAND_RUN_TOOLS = {
    "manage_provision": "what python -m shared.cli provision does",
    "manage_deprovision": "what python -m shared.cli deprovision does",
}
BUILT_IN_ROLES = {
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
}
KEY_VAULT_REFERENCE = re.compile(
    r"^@Microsoft\.KeyVault\(VaultName=\$\{keyVaultName\};SecretName=([a-z0-9-]+)\)$"
)
Tree = dict[str, Any]


@cache
def parsed(path: Path) -> Tree:
    tree: Tree = dict(BicepParser().parse(file_path=path))
    return tree


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


def resources() -> Iterator[tuple[str, str, Tree]]:
    """(file name, resource type, its config, unwrapped from a condition) of every resource in infra/."""
    for path in bicep_files():
        for resource in parsed(path).get("resources", {}).values():
            config = resource["config"]
            if "condition" in config and "config" in config:
                config = config["config"]
            yield path.name, resource["type"], config


def of_type(resource_type: str) -> list[Tree]:
    return [config for _, kind, config in resources() if kind == resource_type]


def variable(name: str, tree: Tree | None = None) -> Any:
    return (tree or parsed(MAIN))["variables"][name]["value"]


def app_settings() -> dict[str, Any]:
    """main.bicep's appSettings: setting name to its (unevaluated) Bicep value."""
    return {key.strip("'"): value for key, value in variable("appSettings").items()}


def branches(value: Any) -> list[Any]:
    """The values a setting can take: both sides of a conditional, else the value itself."""
    if isinstance(value, dict) and value.get("operator", {}).get("type") == "conditional":
        operands = value["operator"]["operands"]
        return [*branches(operands["true_value"]), *branches(operands["false_value"])]
    return [value]


def evaluate(name: str, value: Any, credential: str) -> str:
    """A deployed value as the app would see it: literals as written, anything computed by a stand-in."""
    if isinstance(value, dict) and value.get("operator", {}).get("type") == "conditional":
        operands = value["operator"]["operands"]
        chosen = operands["condition"]["operator"]["operands"]["operand_2"] == credential
        return evaluate(name, operands["true_value" if chosen else "false_value"], credential)
    main = parsed(MAIN)
    if value == "dataverseCredential":
        return credential
    literal = isinstance(value, str) and value not in main["parameters"] and value not in main["variables"]
    if literal and "${" not in value:
        return str(value)
    if isinstance(value, str) and value in main["variables"]:
        return str(variable(value))
    default = main["parameters"].get(value, {}).get("default") if isinstance(value, str) else None
    if isinstance(default, str):
        return default
    return COMPUTED_STAND_INS.get(name) or SETTINGS_BY_NAME[name].sample


def module_tree(name: str) -> Tree:
    module = parsed(MAIN)["modules"][name]
    return parsed(INFRA / module["detail"]["path"])


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: str(p.relative_to(INFRA)))
def test_every_bicep_file_parses(path: Path) -> None:
    """Each .bicep file is valid Bicep syntax (pycep-parser) and declares something."""
    tree = parsed(path)
    assert tree.get("resources") or tree.get("modules"), f"{path.name} declares no resource or module"


def test_modules_get_every_parameter_they_need_and_give_what_main_uses() -> None:
    """Modules exist, receive only parameters they declare (all required ones), and have the outputs used."""
    main_text = MAIN.read_text()
    for name, module in parsed(MAIN)["modules"].items():
        tree = module_tree(name)
        declared = tree["parameters"]
        passed = set(module["config"]["params"])
        assert passed <= set(declared), f"module {name} gets unknown parameters {passed - set(declared)}"
        required = {p for p, spec in declared.items() if spec.get("default") is None}
        assert required <= passed, f"module {name} misses parameters {required - passed}"
        used = set(re.findall(rf"\b{name}\.outputs\.(\w+)", main_text))
        assert used <= set(tree.get("outputs", {})), (
            f"module {name} lacks outputs {used - set(tree['outputs'])}"
        )


def test_every_resource_is_declared() -> None:
    """Identity, storage, vault, monitoring, the Flex plan and app, role assignments and alerts are there."""
    declared = {kind for _, kind, _ in resources()}
    assert declared >= {
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "Microsoft.Storage/storageAccounts",
        "Microsoft.Storage/storageAccounts/blobServices/containers",
        "Microsoft.Storage/storageAccounts/queueServices",
        "Microsoft.Storage/storageAccounts/tableServices",
        "Microsoft.Insights/diagnosticSettings",
        "Microsoft.KeyVault/vaults",
        "Microsoft.KeyVault/vaults/secrets",
        "Microsoft.OperationalInsights/workspaces",
        "Microsoft.Insights/components",
        "Microsoft.Web/serverfarms",
        "Microsoft.Web/sites",
        "Microsoft.Authorization/roleAssignments",
        "Microsoft.Insights/actionGroups",
        "Microsoft.Insights/scheduledQueryRules",
    }


def test_storage_takes_no_shared_keys() -> None:
    """The account refuses shared keys and anonymous blobs, and speaks TLS 1.2 or later only."""
    [account] = [c for c in of_type("Microsoft.Storage/storageAccounts") if "kind" in c]
    properties = account["properties"]
    assert properties["allowSharedKeyAccess"] is False
    assert properties["allowBlobPublicAccess"] is False
    assert properties["minimumTlsVersion"] == "TLS1_2"
    assert properties["supportsHttpsTrafficOnly"] is True


def test_key_vault_uses_rbac() -> None:
    """The vault is authorised by RBAC (no access policies): roles.bicep's grants are the only access."""
    [vault] = [c for c in of_type("Microsoft.KeyVault/vaults") if "properties" in c]
    assert vault["properties"]["enableRbacAuthorization"] is True
    assert "accessPolicies" not in vault["properties"]


def test_the_app_is_flex_consumption_python_311_as_the_identity() -> None:
    """FC1, Python at pyproject's version, run as the identity, which also fetches the package and secrets."""
    [plan] = of_type("Microsoft.Web/serverfarms")
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    [site] = of_type("Microsoft.Web/sites")
    python = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mypy"]["python_version"]
    config = site["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": python}
    assert site["kind"] == "functionapp,linux"
    assert site["identity"]["type"] == "UserAssigned"
    assert site["properties"]["keyVaultReferenceIdentity"] == "identityId"
    assert config["deployment"]["storage"]["authentication"] == {
        "type": "UserAssignedIdentity",
        "userAssignedIdentityResourceId": "identityId",
    }
    assert config["scaleAndConcurrency"]["maximumInstanceCount"] == "maximumInstanceCount"
    assert parsed(MAIN)["modules"]["functionApp"]["config"]["params"]["appSettings"] == "appSettings"


def test_role_assignments_are_the_least_privilege_set() -> None:
    """The identity gets exactly the five roles, each on its one resource; only the operator gets another."""
    roles = parsed(INFRA / "modules" / "roles.bicep")
    ids = {name: spec["value"] for name, spec in roles["variables"].items()}
    granted = set()
    for config in of_type("Microsoft.Authorization/roleAssignments"):
        definition = config["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
        role = BUILT_IN_ROLES[ids[definition]]
        granted.add((role, config["scope"], config["properties"]["principalId"]))
    assert granted == {
        ("Storage Queue Data Contributor", "storage", "principalId"),
        ("Storage Table Data Contributor", "storage", "principalId"),
        ("Storage Blob Data Owner", "storage", "principalId"),
        ("Key Vault Secrets User", "vault", "principalId"),
        ("Monitoring Metrics Publisher", "applicationInsights", "principalId"),
        ("Key Vault Secrets Officer", "vault", "operatorPrincipalId"),
    }
    assert parsed(MAIN)["modules"]["roles"]["config"]["params"]["principalId"] == {
        "operator": {
            "type": "property_accessor",
            "operands": {
                "operand_1": "identity",
                "operand_2": {
                    "operator": {
                        "type": "property_accessor",
                        "operands": {"operand_1": "outputs", "operand_2": "principalId"},
                    }
                },
            },
        }
    }


def test_every_setting_the_app_reads_is_deployed() -> None:
    """Each catalog setting is in main.bicep's appSettings, unless dev-only or listed in NOT_DEPLOYED."""
    deployed = set(app_settings())
    missing = [
        s.name
        for s in CATALOG
        if s.name not in deployed and s.name not in NOT_DEPLOYED and not s.name.startswith(DEV_ONLY_PREFIX)
    ]
    assert missing == [], (
        f"settings the app reads but infra/main.bicep does not set: {missing}; add them to appSettings "
        "(or, if they mean nothing in Azure, to NOT_DEPLOYED in this test, with the reason)"
    )


def test_nothing_else_is_deployed() -> None:
    """No dev-only, excluded, unknown or Flex-refused setting is set in Azure, and no exclusion is stale."""
    deployed = set(app_settings())
    assert {name for name in deployed if name.startswith(DEV_ONLY_PREFIX)} == set()
    assert deployed & set(NOT_DEPLOYED) == set()
    assert set(NOT_DEPLOYED) <= set(SETTINGS_BY_NAME), "NOT_DEPLOYED names a setting the catalog dropped"
    unknown = deployed - set(SETTINGS_BY_NAME) - set(HOST_SETTINGS)
    assert unknown == set(), f"main.bicep sets settings nobody reads: {unknown}"
    assert deployed & FLEX_FORBIDDEN == set()


def test_every_secret_is_a_key_vault_reference_by_the_apps_own_secret_name() -> None:
    """Secrets are empty or references to the secret the app maps them to; a non-secret never is a reference.

    The name is the connector's own mapping (IFS_CLIENT_SECRET -> ifs-client-secret), in every branch.
    """
    for name, value in app_settings().items():
        spec = SETTINGS_BY_NAME.get(name)
        for branch in branches(value):
            reference = KEY_VAULT_REFERENCE.match(branch) if isinstance(branch, str) else None
            if spec is not None and spec.secret:
                assert branch == "" or reference, f"{name} is a secret but deployed as {branch!r}"
                if reference:
                    assert reference.group(1) == key_vault_secret_name(name)
            else:
                assert reference is None, f"{name} is not a secret but deployed as a Key Vault reference"
    secrets = {config["name"] for config in of_type("Microsoft.KeyVault/vaults/secrets")}
    referenced = {m.group(1) for v in app_settings().values() for b in branches(v) if (m := _reference(b))}
    assert referenced == secrets, "every referenced secret is one the vault module can write, and only those"


def _reference(value: Any) -> re.Match[str] | None:
    return KEY_VAULT_REFERENCE.match(value) if isinstance(value, str) else None


@pytest.mark.parametrize("credential", ["client_secret", "certificate"])
def test_deployed_settings_pass_the_apps_own_checks(credential: str) -> None:
    """The settings as Azure will hold them satisfy every feature's validation; storage is identity-based."""
    values = {
        name: evaluate(name, value, credential)
        for name, value in app_settings().items()
        if name not in HOST_SETTINGS
    }
    for feature in (*FEATURES, *DORMANT_FEATURES):
        reader = SettingsReader(values)
        feature.read(reader)
        assert reader.problems == [], f"{feature.FEATURE}: {reader.problems}"
    storage = AppSettings(values).get(StorageSettings)
    assert storage.connection_string == ""
    assert storage.identity is not None


def test_no_secret_appears_in_plain_text() -> None:
    """No key, connection string, certificate or sample secret is written in infra/ or azure.yaml.

    Secure parameters default to empty, flow only into vault secrets and are never output.
    """
    texts = {p: p.read_text() for p in [*bicep_files(), INFRA / "main.parameters.json", REPO / "azure.yaml"]}
    samples = [s.sample for s in CATALOG if s.secret and len(s.sample) >= 8]
    patterns = [
        r"AccountKey=",
        r"InstrumentationKey=",
        r"SharedAccessSignature",
        r"-----BEGIN",
        r"sig=[A-Za-z0-9%]",
    ]
    for path, text in texts.items():
        for pattern in patterns:
            assert not re.search(pattern, text), f"{path.name} holds {pattern}"
        for sample in samples:
            assert sample not in text, f"{path.name} holds a sample secret value"
        assert not re.search(r"['\"][A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=['\"]", text), (
            f"{path.name}: a 32-byte key?"
        )
    for path in bicep_files():
        tree = parsed(path)
        secure = {n for n, p in tree["parameters"].items() if {"type": "secure"} in p["decorators"]}
        for name in secure:
            assert tree["parameters"][name].get("default", "") == "", (
                f"{path.name}: {name} has a default value"
            )
            assert not re.search(rf"\b{name}\b", json.dumps(tree.get("outputs", {}))), f"{name} is output"
        if path.name == "keyvault.bicep":
            values = [c["properties"]["value"] for c in of_type("Microsoft.KeyVault/vaults/secrets")]
            flows = {value for value in values if isinstance(value, str)}
            assert secure <= set(flows), "a secure parameter that is not written to the vault"
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    main_secure = {n for n, p in parsed(MAIN)["parameters"].items() if {"type": "secure"} in p["decorators"]}
    assert main_secure
    assert not main_secure & set(parameters), "a secure parameter has a value in the parameters file"


def test_the_parameters_file_names_real_parameters_and_only_azd_placeholders() -> None:
    """main.parameters.json sets declared parameters, its ${...} are azd's two; the rest is asked for."""
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    declared = parsed(MAIN)["parameters"]
    assert set(parameters) <= set(declared)
    placeholders = set(re.findall(r"\$\{(\w+)\}", (INFRA / "main.parameters.json").read_text()))
    assert placeholders == {"AZURE_ENV_NAME", "AZURE_PRINCIPAL_ID"}
    prompted = {n for n, p in declared.items() if p.get("default") is None} - set(parameters)
    assert prompted == {"ifsBaseUrl", "ifsRealm", "ifsClientId", "dataverseUrl", "entraClientId"}
    assert parameters["maximumInstanceCount"]["value"] <= _max_instances()


def _max_instances() -> int:
    parameter = parsed(MAIN)["parameters"]["maximumInstanceCount"]
    [maximum] = [d["argument"] for d in parameter["decorators"] if d["type"] == "max_value"]
    assert parameter["default"] <= maximum
    return int(maximum)


def _concurrency() -> dict[str, int]:
    names = {
        "limit": "dataverseConcurrentRequestLimit",
        "batch": "hostQueueBatchSize",
        "threshold": "hostQueueNewBatchThreshold",
        "queues": "dataverseQueueFunctionBudget",
        "timers": "dataverseTimerFunctionBudget",
        "tools": "dataverseRequestsReservedForTools",
    }
    return {key: int(variable(name)) for key, name in names.items()} | {"instances": _max_instances()}


def test_concurrency_numbers_are_host_jsons() -> None:
    """main.bicep's per-instance queue concurrency is host.json's batchSize + newBatchThreshold."""
    host = json.loads((REPO / "host.json").read_text())
    queues = host["extensions"]["queues"]
    numbers = _concurrency()
    assert (queues["batchSize"], queues["newBatchThreshold"]) == (numbers["batch"], numbers["threshold"])
    assert not host.get("concurrency", {}).get("dynamicConcurrencyEnabled", False)


def test_the_whole_app_stays_below_dataverses_concurrency_limit() -> None:
    """Instances x (batch + threshold) x queue functions + timers + a tool < 52, as comment and README say."""
    n = _concurrency()
    per_function = n["instances"] * (n["batch"] + n["threshold"])
    total = per_function * n["queues"] + n["timers"] + n["tools"]
    assert n["limit"] == 52
    # Dataverse refuses at "52 or higher" concurrent requests (docs/dataverse-api.md, "Service protection").
    assert total < n["limit"]
    line = f"= {per_function * n['queues']} + {n['timers']} + {n['tools']} = {total}"
    assert line in MAIN.read_text(), f"main.bicep's comment should show {line!r}"
    readme = (REPO / "README.md").read_text()
    assert line in readme, f"the README's arithmetic should show {line!r}"
    times = "\N{MULTIPLICATION SIGN}"
    formula = (
        f"{n['instances']} {times} ({n['batch']} + {n['threshold']}) {times} {n['queues']} + {n['timers']} "
        f"+ {n['tools']}"
    )
    assert formula in readme, f"the README should show {formula!r}"


def test_the_functions_that_call_dataverse_fit_the_budgets() -> None:
    """Queue and timer functions not known to stay away from Dataverse count against main.bicep's budgets."""
    functions = load_app("function_app").get_functions()  # a fresh app: get_functions works once per app
    kinds: dict[str, list[str]] = {}
    for function in functions:
        name = function.get_function_name()
        trigger = function.get_trigger()
        if name not in NO_DATAVERSE_CALLS and name not in HAND_RUN_TOOLS and trigger is not None:
            kinds.setdefault(str(trigger.get_binding_name()), []).append(str(name))
    known = {f.get_function_name() for f in functions}
    assert set(NO_DATAVERSE_CALLS) <= known, "NO_DATAVERSE_CALLS names a function that no longer exists"
    assert set(HAND_RUN_TOOLS) <= known, "HAND_RUN_TOOLS names a function that no longer exists"
    n = _concurrency()
    assert len(HAND_RUN_TOOLS) + 1 <= n["tools"], (
        "the manage functions and the command line need a request each"
    )
    assert len(kinds.pop("queueTrigger", [])) <= n["queues"], "more Dataverse queue functions than budgeted"
    assert len(kinds.pop("timerTrigger", [])) <= n["timers"], "more Dataverse timers than budgeted"
    assert kinds == {}, (
        f"functions {kinds} may call Dataverse but are not in main.bicep's concurrency arithmetic (HTTP "
        "functions only enqueue); add them to NO_DATAVERSE_CALLS if they never call it, else to the budget"
    )


def test_one_dataverse_request_per_invocation() -> None:
    """The arithmetic counts one request in flight per invocation: no thread pool or asyncio fans out."""
    for package in ("shared/dataverse", "shared/sync"):
        for path in (REPO / package).rglob("*.py"):
            text = path.read_text()
            for fan_out in (
                "ThreadPoolExecutor",
                "concurrent.futures",
                "asyncio.gather",
                "threading.Thread(",
            ):
                assert fan_out not in text, f"{path}: {fan_out} breaks main.bicep's concurrency arithmetic"


def test_alerts_watch_poison_parked_and_lag() -> None:
    """Three log alerts: messages moved to <queue>-poison, records inserted into the parked table, and lag."""
    alerts = parsed(INFRA / "modules" / "alerts.bicep")
    queries = {name: spec["value"] for name, spec in alerts["variables"].items()}
    assert '"-poison"' in queries["poisonQuery"]
    assert "PutMessage" in queries["poisonQuery"]
    assert "InsertEntity" in queries["parkedQuery"]
    assert "InsertionTime" in queries["lagQuery"]
    rules = of_type("Microsoft.Insights/scheduledQueryRules")
    assert len(rules) == 3
    for rule in rules:
        assert rule["properties"]["actions"]["actionGroups"]
    prefix = app_settings()["STATE_TABLE_PREFIX"]
    assert prefix == "stateTablePrefix"
    passed = parsed(MAIN)["modules"]["alerts"]["config"]["params"]["parkedTableName"]
    assert passed == "${stateTablePrefix}" + ParkedRecords.TABLE


def test_outputs_are_declared() -> None:
    """Operators and azd get the names of what was created and the concurrency figures."""
    outputs = set(parsed(MAIN)["outputs"])
    assert outputs >= {
        "AZURE_FUNCTION_APP_NAME",
        "FUNCTION_APP_URL",
        "AZURE_STORAGE_ACCOUNT_NAME",
        "AZURE_KEY_VAULT_NAME",
        "AZURE_KEY_VAULT_URI",
        "AZURE_IDENTITY_CLIENT_ID",
        "AZURE_IDENTITY_PRINCIPAL_ID",
        "APPLICATIONINSIGHTS_NAME",
        "AZURE_LOG_ANALYTICS_WORKSPACE_ID",
        "MAXIMUM_INSTANCE_COUNT",
        "DATAVERSE_CONCURRENT_REQUESTS_AT_MOST",
    }


def test_azure_yaml_deploys_this_directory_to_the_tagged_app() -> None:
    """Azd provisions infra/main.bicep and deploys the Python function app its service tag names."""
    text = (REPO / "azure.yaml").read_text()
    for line in ("provider: bicep", "path: infra", "module: main", "project: .", "language: python"):
        assert re.search(rf"^\s*{re.escape(line)}\s*$", text, re.MULTILINE), line
    [service] = re.findall(r"^services:\n  (\w[\w-]*):\n", text, re.MULTILINE)
    assert re.search(r"^    host: function$", text, re.MULTILINE)
    [site] = of_type("Microsoft.Web/sites")
    assert site["tags"]["function"]["parameters"]["arg_2"] == {"'azd-service-name'": service}


def test_funcignore_keeps_everything_but_the_app_out_of_the_package() -> None:
    """Every top-level folder but shared/ is dev-only and ignored; what the app runs on is never ignored."""
    ignored = {line.strip().rstrip("/") for line in (REPO / ".funcignore").read_text().splitlines()}
    folders = {p.name for p in REPO.iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert folders - ignored == {"shared"}
    assert {"simulators", "devhost", "tests", "bench", "infra", "tools", "azure.yaml"} <= ignored
    runtime = {"shared", "function_app.py", "host.json", "requirements.txt", "constraints.txt"}
    assert runtime & ignored == set()


def test_the_readme_explains_deployment() -> None:
    """The README's Deploying section covers the three ways, every parameter and every role."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Deploying") :]
    section = section[: section.index("\n## ", 3)] if "\n## " in section[3:] else section
    for command in ("azd up", "az deployment group create", "func azure functionapp publish"):
        assert command in section, command
    for parameter in parsed(MAIN)["parameters"]:
        assert f"`{parameter}`" in section, f"parameter {parameter} is not explained"
    for role in BUILT_IN_ROLES.values():
        assert role in section, f"role {role} is not explained"
