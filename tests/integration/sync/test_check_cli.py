"""``check`` against the simulators: green when set up, and each failure a user can cause, with its fix."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from devhost.scenario import SyncScenario
from shared.cli.app import main
from shared.dataverse.endpoint_auth import WebhookAuth
from shared.dataverse.provisioning import AlternateKeyFailedError, Provisioner, WebhookStep
from shared.state.subscriptions import Subscription, SubscriptionRepository
from shared.sync.provision import provision

pytestmark = pytest.mark.azurite
SHIPPED = Path(__file__).resolve().parents[3] / "shared" / "mappings"


@pytest.fixture
def check(scenario: SyncScenario, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run ``check --json`` with the scenario's settings changed by ``overrides`` (None removes one)."""

    def run(**overrides: str | None) -> tuple[int, list[dict[str, str]]]:
        values = dict(scenario.values)
        for name, value in overrides.items():
            if value is None:
                values.pop(name, None)
            else:
                values[name] = value
        for name in scenario.values:
            monkeypatch.delenv(name, raising=False)
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        code = main(["check", "--json"])
        return code, json.loads(capsys.readouterr().out)["checks"]

    return run


def secret(scenario: SyncScenario, name: str) -> str:
    found = scenario.stack.identity.vault.get_secret(name)
    assert found is not None
    return found.value


def failures(results: list[dict[str, str]]) -> list[dict[str, str]]:
    return [r for r in results if r["status"] == "fail"]


def only_failure(results: list[dict[str, str]]) -> dict[str, str]:
    [failure] = failures(results)
    return failure


def test_a_set_up_connector_passes_every_check(check: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """Settings, vault, storage, IFS, Dataverse, privileges, keys and mappings: ok; webhooks skipped."""
    code, results = check()
    assert code == 0, failures(results)
    statuses = {(r["area"], r["status"]) for r in results}
    assert {a for a, s in statuses if s == "ok"} >= {
        "settings", "key vault", "storage", "ifs", "dataverse", "privileges", "keys", "mappings"
    }  # fmt: skip
    assert [r["name"] for r in results if r["status"] == "skip"] == ["webhook steps"]
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["status", "area", "check"]
    assert "0 failed" in out.splitlines()[-1]


def test_a_missing_setting_is_named_and_what_needs_it_skipped(check: Any) -> None:
    """Without DATAVERSE_URL the settings check names it; Dataverse's checks wait for it."""
    code, results = check(DATAVERSE_URL=None)
    assert code == 1
    failure = only_failure(results)
    assert failure["area"] == "settings"
    assert failure["detail"].startswith("DATAVERSE_URL is missing")
    assert failure["fix"].startswith("set DATAVERSE_URL in the app settings")
    assert any(r["status"] == "skip" and r["area"] == "dataverse" for r in results)


def test_a_wrong_ifs_secret_in_key_vault_says_where_to_fix_it(check: Any, scenario: SyncScenario) -> None:
    """IFS answers 401: the fix names IFS_CLIENT_SECRET and its Key Vault secret."""
    scenario.stack.identity.vault.set_secret("ifs-client-secret", "not-the-secret")
    code, results = check()
    assert code == 1
    failure = only_failure(results)
    assert (failure["area"], failure["name"]) == ("ifs", "IFS token")
    assert failure["detail"].startswith("IFS answered 401")
    assert "IFS_CLIENT_SECRET in Key Vault (secret ifs-client-secret of https://127.0.0.1" in failure["fix"]


def test_a_wrong_ifs_realm(check: Any) -> None:
    """IAM has no such realm: the fix names IFS_REALM rather than the secret."""
    code, results = check(IFS_REALM="nosuchrealm")
    assert code == 1
    failure = only_failure(results)
    assert failure["name"] == "IFS token"
    assert failure["fix"].startswith("check IFS_REALM (nosuchrealm)")


def test_a_secret_missing_from_key_vault(check: Any, scenario: SyncScenario) -> None:
    """The vault lacks token-encryption-key: named, with the command that sets it."""
    scenario.stack.identity.vault.delete_secret("token-encryption-key")
    code, results = check()
    assert code == 1
    failure = failures(results)[0]
    assert (failure["area"], failure["name"]) == ("key vault", "secret token-encryption-key")
    assert "az keyvault secret set" in failure["fix"]


def test_an_unreadable_projection(check: Any) -> None:
    """An entity set IFS does not have: the customers projection check fails and names its setting."""
    code, results = check(IFS_CUSTOMERS_ENTITY="CustomerHandling.svc/NoSuchSet(CustomerId)")
    assert code == 1
    failure = next(r for r in failures(results) if r["area"] == "ifs")
    assert failure["name"] == "customers: IFS projection"
    assert "IFS_CUSTOMERS_ENTITY" in failure["fix"]


def test_an_app_entra_refuses(check: Any, scenario: SyncScenario) -> None:
    """A wrong Entra secret: the vault (read as the app) and Dataverse fail, naming the Entra settings."""
    code, results = check(ENTRA_CLIENT_SECRET="wrong")
    assert code == 1
    failure = failures(results)[0]
    assert failure["area"] == "key vault"
    assert "Invalid client secret" in failure["detail"]
    assert "ENTRA_CLIENT_SECRET" in failure["fix"]
    assert any(r["area"] == "dataverse" and r["status"] == "skip" for r in results)
    without_vault = {
        "KEY_VAULT_URL": None,
        "IFS_CLIENT_SECRET": secret(scenario, "ifs-client-secret"),
        "TOKEN_ENCRYPTION_KEY": secret(scenario, "token-encryption-key"),
    }
    assert check(**without_vault)[0] == 0
    code, results = check(**without_vault, ENTRA_CLIENT_SECRET="wrong")
    failure = only_failure(results)
    assert failure["area"] == "dataverse"
    assert failure["detail"].startswith("Entra refused the app")
    assert "ENTRA_CLIENT_SECRET" in failure["fix"]
    assert any(r["area"] == "privileges" and r["status"] == "skip" for r in results)


def test_an_app_that_is_not_an_application_user(check: Any, scenario: SyncScenario) -> None:
    """The app's application user is disabled: Dataverse answers 403 and the fix says to create one."""
    dataverse = scenario.stack.dataverse
    org = dataverse.org
    for user in org.store.rows("systemuser"):
        if user.get("applicationid") is not None:
            org.store.put("systemuser", user["systemuserid"], {**user, "isdisabled": True})
    code, results = check()
    assert code == 1
    failure = next(r for r in failures(results) if r["area"] == "dataverse")
    assert failure["detail"].startswith("Dataverse answered 403")
    assert "create an application user for app" in failure["fix"]


@pytest.mark.parametrize(
    ("table", "privilege"), [("account", "Create"), ("productpricelevel", "Write"), ("uomschedule", "Create")]
)
def test_a_missing_privilege_names_table_and_privilege(
    check: Any, scenario: SyncScenario, table: str, privilege: str
) -> None:
    """Revoked from the application user's role: the check fails and says what to grant on which table."""
    scenario.admin("dataverse").action("revoke_privilege", {"table": table, "privilege": privilege})
    code, results = check()
    assert code == 1
    failure = only_failure(results)
    assert failure["name"] == f"application user's privileges on {table}"
    assert failure["fix"].startswith(f"grant the application user {privilege} on {table}")


def test_the_simulator_refuses_the_write_the_check_warned_of(scenario: SyncScenario) -> None:
    """Without Create on account the sync parks its records with Dataverse's access error."""
    scenario.admin("dataverse").action("revoke_privilege", {"table": "account", "privilege": "Create"})
    _, report = scenario.run_once("customers")
    parked = list(scenario.runtime.storage.parked.list("customers"))
    assert report.outcomes == {"parked": len(parked)}
    assert parked
    assert {p.error_class for p in parked} == {"access_denied_error"}
    assert "prvCreateAccount" in parked[0].message


def test_alternate_keys_not_provisioned(check: Any, scenario: SyncScenario) -> None:
    """A fresh organization without the keys: each missing key is named, with `provision` as the fix."""
    scenario.admin("dataverse").reset()
    scenario.add_currencies()
    code, results = check()
    assert code == 1
    failed = failures(results)
    assert {r["name"] for r in failed} == {
        "alternate key ifs_accountnumber on account", "alternate key ifs_productnumber on product",
        "alternate key ifs_key_ordernumber on salesorder",
        "alternate key ifs_key_salesorderid_linekey on salesorderdetail",
        "alternate key ifs_key_revisionnumber_quotationno on quote",
        "alternate key ifs_key_quoteid_linekey on quotedetail",
        # the orders' and quotes' own columns (the keys' columns among them) come with provisioning too
        "orders: order columns against salesorder's metadata",
        "orders: line columns against salesorderdetail's metadata",
        "quotations: quote columns against quote's metadata",
        "quotations: line columns against quotedetail's metadata",
    }  # fmt: skip
    columns = [r for r in failed if "columns against" in r["name"]]
    assert all("not created yet" in r["detail"] for r in columns)
    assert all("python -m shared.cli provision" in r["fix"] for r in failed)
    runtime = scenario.runtime
    provisioner = Provisioner(runtime.dataverse, sleep=scenario.stack.identity.clock.advance)
    provision([runtime.engine.mapping(e) for e in runtime.engine.entities], provisioner, poll=0.5)
    assert check()[0] == 0


def test_a_disabled_webhook_step(check: Any, scenario: SyncScenario) -> None:
    """A step the connector registered and someone disabled: named, with how to enable it."""
    runtime = scenario.runtime
    registration = Provisioner(runtime.dataverse).register_webhook(
        "ifs-connector", "https://127.0.0.1:1/api/webhooks/dataverse", WebhookAuth.webhook_key("k"),
        [WebhookStep("Update", "salesorder", ("statecode",)), WebhookStep("Create", "salesorder")],
    )  # fmt: skip
    SubscriptionRepository(runtime.storage.tables).save(
        Subscription(
            "ifs-connector",
            registration.endpoint_url,
            registration.service_endpoint_id,
            registration.step_ids,
        )
    )
    assert check()[0] == 0
    step = registration.steps[0]
    runtime.dataverse.update("sdkmessageprocessingsteps", step.id, {"statecode": 1, "statuscode": 2})
    code, results = check()
    assert code == 1
    failure = only_failure(results)
    assert failure["name"] == "webhook ifs-connector"
    assert failure["detail"] == f"step {step.name!r} is disabled"
    assert "enable the step" in failure["fix"]


def test_a_deleted_webhook_step(check: Any, scenario: SyncScenario) -> None:
    """A registered step someone deleted: named, with provision as the fix."""
    runtime = scenario.runtime
    registration = Provisioner(runtime.dataverse).register_webhook(
        "ifs-connector", "https://127.0.0.1:1/api/webhooks/dataverse", WebhookAuth.webhook_key("k"),
        [WebhookStep("Create", "salesorder")],
    )  # fmt: skip
    SubscriptionRepository(runtime.storage.tables).save(
        Subscription(
            "ifs-connector",
            registration.endpoint_url,
            registration.service_endpoint_id,
            registration.step_ids,
        )
    )
    [step] = registration.steps
    runtime.dataverse.delete("sdkmessageprocessingsteps", step.id)
    code, results = check()
    assert code == 1
    failure = only_failure(results)
    assert failure["detail"] == f"step {step.name!r} is missing"
    assert "python -m shared.cli provision" in failure["fix"]


def mappings_with(tmp_path: Path, old: str, new: str) -> str:
    """The shipped mapping files, ``customers.toml`` edited."""
    folder = tmp_path / "mappings"
    shutil.copytree(SHIPPED, folder)
    path = folder / "customers.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return str(folder)


def test_an_invalid_mapping_file_names_file_line_and_field(check: Any, tmp_path: Path) -> None:
    """A value map that does not exist: the mapping check fails with file:line: field."""
    folder = mappings_with(tmp_path, 'map = "payment_terms"', 'map = "terms"')
    code, results = check(SYNC_MAPPINGS_DIR=folder)
    assert code == 1
    failure = only_failure(results)
    assert failure["name"] == "customers: mapping file"
    assert "customers.toml:" in failure["detail"]
    assert "no value map 'terms'" in failure["detail"]


def test_a_mapped_column_dataverse_does_not_have(check: Any, tmp_path: Path) -> None:
    """A column the account table lacks: found against EntityDefinitions, before any record fails."""
    folder = mappings_with(tmp_path, "[account.columns]\n", "[account.columns]\nnew_rating = { value = 1 }\n")
    code, results = check(SYNC_MAPPINGS_DIR=folder)
    assert code == 1
    failure = only_failure(results)
    assert failure["name"] == "customers: account columns against account's metadata"
    assert failure["detail"] == "new_rating is not a column of account"


def test_a_mapped_field_ifs_does_not_have(check: Any, tmp_path: Path) -> None:
    """The README's example field on a tenant without it: found against the projection's $metadata."""
    line = 'websiteurl = { from = "customer.WebSite", type = "string", max_length = 200 }\n'
    folder = mappings_with(tmp_path, "[account.columns]\n", "[account.columns]\n" + line)
    code, results = check(SYNC_MAPPINGS_DIR=folder)
    assert code == 1
    failure = only_failure(results)
    assert failure["name"] == "customers: fields against IFS $metadata"
    assert "customer.WebSite" not in failure["detail"]
    assert "WebSite is not a field of the root entity set" in failure["detail"]
    assert "customers.toml:" in failure["detail"]


def test_storage_that_does_not_answer(check: Any) -> None:
    """A connection string to a port nobody listens on: storage fails, and what needs it is skipped."""
    refused = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey="
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
        f"TableEndpoint=http://127.0.0.1:9/devstoreaccount1;QueueEndpoint=http://127.0.0.1:9/{uuid.uuid4().hex}"
    )
    code, results = check(AzureWebJobsStorage=refused)
    assert code == 1
    failure = only_failure(results)
    assert failure["area"] == "storage"
    assert "AzureWebJobsStorage" in failure["fix"]


def test_a_broken_ca_bundle_fails_its_steps_never_the_command(check: Any, tmp_path: Path) -> None:
    """TLS_CA_BUNDLE naming a missing file: a settings failure; the IFS token step skips, nothing crashes."""
    code, results = check(TLS_CA_BUNDLE=str(tmp_path / "missing.pem"))
    assert code == 1
    assert failures(results)[0]["area"] == "settings"
    assert "TLS_CA_BUNDLE" in failures(results)[0]["detail"]
    token = next(r for r in results if r["name"] == "IFS token")
    assert token["status"] == "skip"


# ---- more failures a user can cause --------------------------------------------------------------


def test_a_disabled_secret_in_key_vault_says_to_enable_it(check: Any, scenario: SyncScenario) -> None:
    """A disabled secret (403 SecretDisabled) is not a missing role: the fix enables the secret."""
    vault = scenario.stack.identity.vault
    vault.set_secret("ifs-client-secret", secret(scenario, "ifs-client-secret"), enabled=False)
    code, results = check()
    assert code == 1
    failure = failures(results)[0]
    assert (failure["area"], failure["name"]) == ("key vault", "secret ifs-client-secret")
    assert failure["detail"] == "secret ifs-client-secret is disabled"
    assert "az keyvault secret set-attributes" in failure["fix"]
    assert "--enabled true" in failure["fix"]


def test_a_vault_the_app_holds_no_role_on(check: Any, scenario: SyncScenario) -> None:
    """403 ForbiddenByRbac: the fix names the Key Vault Secrets User role."""
    scenario.stack.identity.vault.role_assigned = False  # what the admin action revoke_role does
    code, results = check()
    assert code == 1
    failure = failures(results)[0]
    assert failure["area"] == "key vault"
    assert failure["detail"] == "Key Vault answered 403 (ForbiddenByRbac)"
    assert failure["fix"] == "give the app's identity the Key Vault Secrets User role on the vault"


def test_a_key_vault_that_does_not_answer(check: Any) -> None:
    """KEY_VAULT_URL naming a port nobody listens on: unreachable, check KEY_VAULT_URL."""
    code, results = check(KEY_VAULT_URL="https://127.0.0.1:9")
    assert code == 1
    failure = failures(results)[0]
    assert failure["area"] == "key vault"
    assert failure["detail"].startswith("unreachable")
    assert failure["fix"] == "check KEY_VAULT_URL"


def test_an_ifs_that_does_not_answer(check: Any) -> None:
    """IFS_BASE_URL naming a port nobody listens on: IAM unreachable, check IFS_BASE_URL."""
    code, results = check(IFS_BASE_URL="https://127.0.0.1:9")
    assert code == 1
    failure = failures(results)[0]
    assert (failure["area"], failure["name"]) == ("ifs", "IFS token")
    assert failure["detail"].startswith("IAM unreachable at https://127.0.0.1:9/")
    assert failure["fix"].startswith("check IFS_BASE_URL")
    assert {r["status"] for r in results if r["name"].endswith(": IFS projection")} == {"skip"}


def test_a_projection_no_permission_set_grants(check: Any, scenario: SyncScenario) -> None:
    """IFS answers 403 for the customers' projection: the fix names the projection's permission set."""
    projection = scenario.runtime.sources["customers"].root.projection
    scenario.admin("ifs").action("revoke_projection", {"projection": projection})
    code, results = check()
    assert code == 1
    failure = only_failure(results)
    assert failure["name"] == "customers: IFS projection"
    assert failure["detail"].startswith("IFS answered 403 for ")
    assert failure["fix"] == f"grant the IAM client's user the permission set of projection {projection}"


def test_a_collection_ifs_does_not_have(check: Any) -> None:
    """A customer-addresses navigation the projection lacks: named, with the setting to check."""
    code, results = check(IFS_CUSTOMER_ADDRESSES_NAVIGATION="NoSuchAddresses(CustomerId,AddressId)")
    assert code == 1
    failure = next(r for r in failures(results) if r["area"] == "ifs")
    assert failure["name"] == "customers: IFS projection"
    assert "has no collection NoSuchAddresses" in failure["detail"]
    assert "IFS_*_NAVIGATION" in failure["fix"]


def test_a_dataverse_that_does_not_answer(check: Any) -> None:
    """DATAVERSE_URL naming a port nobody listens on: the Dataverse check fails naming DATAVERSE_URL."""
    code, results = check(DATAVERSE_URL="https://127.0.0.1:9")
    assert code == 1
    failure = next(r for r in failures(results) if r["area"] == "dataverse")
    assert failure["name"] == "Dataverse token and application user"
    assert "Connection refused" in failure["detail"]
    assert failure["fix"] == "check DATAVERSE_URL (https://127.0.0.1:9)"


def test_a_webhook_whose_endpoint_is_gone(check: Any, scenario: SyncScenario) -> None:
    """The service endpoint the connector registered was deleted: provision registers it again."""
    runtime = scenario.runtime
    registration = Provisioner(runtime.dataverse).register_webhook(
        "ifs-connector", "https://127.0.0.1:1/api/webhooks/dataverse", WebhookAuth.webhook_key("k"),
        [WebhookStep("Create", "salesorder")],
    )  # fmt: skip
    SubscriptionRepository(runtime.storage.tables).save(
        Subscription(
            "ifs-connector",
            registration.endpoint_url,
            registration.service_endpoint_id,
            registration.step_ids,
        )
    )
    for step in registration.steps:
        runtime.dataverse.delete("sdkmessageprocessingsteps", step.id)
    runtime.dataverse.delete("serviceendpoints", uuid.UUID(str(registration.service_endpoint_id)))
    code, results = check()
    assert code == 1
    failure = only_failure(results)
    assert (failure["name"], failure["detail"]) == ("webhook ifs-connector", "its service endpoint is gone")
    assert failure["fix"] == "run `python -m shared.cli provision`"


def test_an_alternate_key_whose_index_failed(check: Any, scenario: SyncScenario) -> None:
    """Rows sharing a key value before the key was made: its index Failed; the fix is to reactivate it."""
    scenario.admin("dataverse").reset()
    scenario.add_currencies()
    dataverse = scenario.runtime.dataverse
    for name in ("First", "Second"):
        dataverse.create("accounts", {"name": name, "accountnumber": "TWICE"})
    with pytest.raises(AlternateKeyFailedError):
        scenario.provision()
    code, results = check()
    assert code == 1
    failure = next(r for r in failures(results) if r["name"] == "alternate key ifs_accountnumber on account")
    assert failure["detail"] == "Failed"
    assert "ReactivateEntityKey" in failure["fix"]


def test_a_privilege_held_below_global_depth_warns(check: Any, scenario: SyncScenario) -> None:
    """Write on account only for the user's own rows: a warning, not a failure (exit 0)."""
    scenario.admin("dataverse").action("grant_privilege", {"table": "account", "privilege": "Write",
                                                           "depth": "Basic"})  # fmt: skip
    code, results = check()
    assert code == 0
    [warning] = [r for r in results if r["status"] == "warn"]
    assert warning["name"] == "application user's privileges on account"
    assert "Write held below Global depth" in warning["detail"]
    assert warning["fix"] == "give the role Write on account at Organization level"


def test_a_mapped_column_that_cannot_be_written(check: Any, tmp_path: Path) -> None:
    """A column Dataverse computes (createdon): found against EntityDefinitions as not writable."""
    line = 'createdon = { value = "2025-01-01" }\n'
    folder = mappings_with(tmp_path, "[account.columns]\n", "[account.columns]\n" + line)
    code, results = check(SYNC_MAPPINGS_DIR=folder)
    assert code == 1
    failure = only_failure(results)
    assert failure["name"] == "customers: account columns against account's metadata"
    assert failure["detail"] == "createdon cannot be written (neither on create nor on update)"
