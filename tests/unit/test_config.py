"""Settings: per-feature validation that names every bad key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devhost.hostjson import timespan_seconds
from shared.config import (
    CATALOG,
    DORMANT_FEATURES,
    FEATURES,
    AppSettings,
    ConfigError,
    DevhostSettings,
    HeartbeatSettings,
    IfsSettings,
    RetrySettings,
    StorageSettings,
    TokenCacheSettings,
)
from shared.config.platform import MAX_CALL_BUDGET_SECONDS

REPO = Path(__file__).resolve().parents[2]
VALID_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


def test_every_problem_of_a_feature_is_reported_at_once() -> None:
    """Two bad keys of one feature appear in one error, each by name."""
    settings = AppSettings({"STATE_TABLE_PREFIX": "9bad"})
    with pytest.raises(ConfigError) as caught:
        settings.get(StorageSettings)
    message = str(caught.value)
    assert "AzureWebJobsStorage is missing" in message
    assert "STATE_TABLE_PREFIX is invalid" in message
    assert caught.value.feature == "storage"


def test_a_broken_feature_does_not_affect_another() -> None:
    """Missing storage settings leave the heartbeat settings usable, and defaults apply."""
    settings = AppSettings({"HEARTBEAT_SCHEDULE": "0 0 * * * *", "ECHO_QUEUE": "echo"})
    heartbeat = settings.get(HeartbeatSettings)
    assert heartbeat.schedule == "0 0 * * * *"
    assert heartbeat.echo_queue == "echo"
    problems = settings.problems()
    assert {"storage", "token_cache"} <= set(problems)
    assert "heartbeat" not in problems
    assert AppSettings({"AzureWebJobsStorage": "x"}).get(StorageSettings).table_prefix == "sync"


def test_dependent_settings_are_checked_together() -> None:
    """Checking keys without any key configured is a problem named in the error."""
    with pytest.raises(ConfigError, match="neither DEVHOST_FUNCTION_KEY nor DEVHOST_MASTER_KEY"):
        AppSettings({"DEVHOST_CHECK_KEYS": "true"}).get(DevhostSettings)
    assert (
        AppSettings({"DEVHOST_CHECK_KEYS": "yes", "DEVHOST_MASTER_KEY": "m"}).get(DevhostSettings).check_keys
    )


def test_secret_values_are_never_echoed_in_errors() -> None:
    """An invalid secret is reported by name only."""
    with pytest.raises(ConfigError) as caught:
        AppSettings({"TOKEN_ENCRYPTION_KEY": "c2hvcnQ="}).get(TokenCacheSettings)
    assert "c2hvcnQ=" not in str(caught.value)
    assert "TOKEN_ENCRYPTION_KEY is invalid" in str(caught.value)


def test_key_is_decoded_to_bytes() -> None:
    """A valid base64 key of 32 bytes is returned as bytes."""
    assert AppSettings({"TOKEN_ENCRYPTION_KEY": VALID_KEY}).get(TokenCacheSettings).encryption_key == bytes(
        range(32)
    )


def test_unresolved_key_vault_reference_is_named() -> None:
    """App Service leaves unresolved references as literals; they are reported, not used."""
    ref = "@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/x/)"
    with pytest.raises(ConfigError, match="TOKEN_ENCRYPTION_KEY is an unresolved Key Vault reference"):
        AppSettings({"TOKEN_ENCRYPTION_KEY": ref}).get(TokenCacheSettings)


@pytest.mark.parametrize("schedule", ["*/5 * * * *", "0 */5 * * * * *", "0 */5 * * * ?x!"])
def test_schedule_needs_six_ncrontab_fields(schedule: str) -> None:
    """Five-field (Unix cron) and malformed schedules are rejected."""
    with pytest.raises(ConfigError, match="HEARTBEAT_SCHEDULE is invalid"):
        AppSettings({"HEARTBEAT_SCHEDULE": schedule, "ECHO_QUEUE": "echo"}).get(HeartbeatSettings)


def test_environment_wins_over_local_settings(tmp_path: Path) -> None:
    """As with Core Tools, a variable set in the environment overrides local.settings.json."""
    local = tmp_path / "local.settings.json"
    local.write_text(
        json.dumps({"IsEncrypted": False, "Values": {"ECHO_QUEUE": "from-file", "STATE_TABLE_PREFIX": "f"}})
    )
    settings = AppSettings.from_environment(
        {"ECHO_QUEUE": "from-env", "HEARTBEAT_SCHEDULE": "0 0 * * * *"}, local
    )
    assert settings.get(HeartbeatSettings).echo_queue == "from-env"
    assert (
        AppSettings.from_environment({"AzureWebJobsStorage": "x"}, local).get(StorageSettings).table_prefix
        == "f"
    )


def test_every_declared_setting_belongs_to_a_known_feature() -> None:
    """Each catalog entry's feature is checked by /api/health, or explicitly dormant."""
    known = {f.FEATURE for f in FEATURES + DORMANT_FEATURES}
    assert {s.feature for s in CATALOG} <= known


def test_every_setting_is_documented() -> None:
    """Each declared setting appears in local.settings.sample.json and in the README."""
    sample = json.loads((REPO / "local.settings.sample.json").read_text())["Values"]
    readme = (REPO / "README.md").read_text()
    for setting in CATALOG:
        assert setting.name in sample, f"{setting.name} missing from local.settings.sample.json"
        assert f"`{setting.name}`" in readme, f"{setting.name} missing from README"


def test_vaulted_secret_is_required_only_without_a_vault() -> None:
    """IFS_CLIENT_SECRET missing is a problem without KEY_VAULT_URL, and None (read it later) with one."""
    base = {"IFS_BASE_URL": "https://acme.ifs.cloud", "IFS_REALM": "acme1", "IFS_CLIENT_ID": "c"}
    with pytest.raises(ConfigError, match="IFS_CLIENT_SECRET is missing"):
        AppSettings(base).get(IfsSettings)
    assert (
        AppSettings(base | {"KEY_VAULT_URL": "https://v.vault.azure.net"}).get(IfsSettings).client_secret
        is None
    )
    assert AppSettings(base | {"IFS_CLIENT_SECRET": "s"}).get(IfsSettings).client_secret == "s"


def test_secret_values_never_appear_in_settings_repr() -> None:
    """Logging or printing any feature's settings shows no secret value (nor a decoded key)."""
    markers = {s.name: f"marker-{s.name.lower()}" for s in CATALOG if s.secret}
    markers["TOKEN_ENCRYPTION_KEY"] = "c2VjcmV0LWtleS1vZi10aGlydHktdHdvLWJ5dGVzISE="  # 32 bytes
    grace = {"D365_WEBHOOK_SECRET_PREVIOUS_UNTIL": "2026-12-09T12:00:00Z"}  # a previous secret needs its end
    markers["APPLICATIONINSIGHTS_CONNECTION_STRING"] = (
        "InstrumentationKey=00000000-0000-4000-8000-00000000a1a1;Marker=ai"
    )
    values = {s.name: s.sample for s in CATALOG} | markers | grace
    settings = AppSettings(values)
    shown = " ".join(repr(settings.get(feature)) for feature in FEATURES + DORMANT_FEATURES)
    for name, marker in markers.items():
        assert marker not in shown, f"{name} shows in a settings repr"
    assert "secret-key-of-thirty-two-bytes" not in shown


def test_ifs_create_pending_deadline_defaults_to_ten_minutes_and_outlasts_the_call_budget() -> None:
    """IFS_CREATE_PENDING_SECONDS: 600 by default; below 60 s, or below CALL_BUDGET_SECONDS, it is named."""
    base = {"IFS_BASE_URL": "https://acme.ifs.cloud", "IFS_REALM": "acme1", "IFS_CLIENT_ID": "c"}
    base |= {"IFS_CLIENT_SECRET": "s"}
    settings = AppSettings(base).get(IfsSettings)
    assert (settings.create_pending_seconds, settings.call_budget_seconds) == (600, 300)
    with pytest.raises(ConfigError, match="IFS_CREATE_PENDING_SECONDS is invalid: expected an integer"):
        AppSettings(base | {"IFS_CREATE_PENDING_SECONDS": "30"}).get(IfsSettings)
    with pytest.raises(ConfigError, match="shorter than CALL_BUDGET_SECONDS"):
        AppSettings(base | {"IFS_CREATE_PENDING_SECONDS": "200"}).get(IfsSettings)
    assert (
        AppSettings(base | {"CALL_BUDGET_SECONDS": "100", "IFS_CREATE_PENDING_SECONDS": "200"})
        .get(IfsSettings)
        .create_pending_seconds
        == 200
    )


def test_the_functions_timeout_outlasts_the_longest_call() -> None:
    """host.json sets functionTimeout; the largest budget plus the longest request ends well before it."""
    host = json.loads((REPO / "host.json").read_text())
    timeout = timespan_seconds(host["functionTimeout"])
    longest_request = 600  # DATAVERSE_TIMEOUT_SECONDS at its maximum
    assert MAX_CALL_BUDGET_SECONDS + longest_request < timeout
    assert AppSettings({}).get(RetrySettings).call_budget_seconds == 300
    with pytest.raises(ConfigError, match="CALL_BUDGET_SECONDS is invalid"):
        AppSettings({"CALL_BUDGET_SECONDS": str(MAX_CALL_BUDGET_SECONDS + 1)}).get(RetrySettings)


def test_the_key_refused_in_azure_is_the_one_the_sample_settings_publish() -> None:
    """The sample settings' TOKEN_ENCRYPTION_KEY is the key refused where WEBSITE_INSTANCE_ID is set."""
    sample = json.loads((REPO / "local.settings.sample.json").read_text())["Values"]["TOKEN_ENCRYPTION_KEY"]
    values = {"TOKEN_ENCRYPTION_KEY": sample}
    assert AppSettings(values).get(TokenCacheSettings).encryption_key == bytes(range(32))
    with pytest.raises(ConfigError, match="public sample key"):
        AppSettings(values | {"WEBSITE_INSTANCE_ID": "abc"}).get(TokenCacheSettings)
