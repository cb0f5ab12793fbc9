"""The health report: anonymous callers get the status and problem names, never values."""

from __future__ import annotations

from pathlib import Path

from shared.config import AppSettings, read_local_settings
from shared.platform.health import UNNAMED, problem_name, problems, report

PRIVATE = {
    "TLS_CA_BUNDLE": "/srv/private/ca-bundle.pem",
    "KEY_VAULT_URL": "http://contoso-secrets.vault.azure.net",
}


def test_anonymous_report_names_the_settings_and_shows_no_value() -> None:
    """A CA path and a vault host in the messages stay out of the anonymous report."""
    settings = AppSettings(PRIVATE)
    anonymous = report(settings, detailed=False)
    assert anonymous["status"] == "degraded"
    assert anonymous["configuration"]["tls"] == ["TLS_CA_BUNDLE"]
    assert anonymous["configuration"]["secrets"] == ["KEY_VAULT_URL", "TLS_CA_BUNDLE"]
    shown = str(anonymous)
    assert "/srv/private" not in shown
    assert "contoso-secrets" not in shown


def test_the_detailed_report_keeps_the_messages() -> None:
    """With a function key the messages are shown, as before."""
    detailed = report(AppSettings(PRIVATE), detailed=True)
    assert any("/srv/private/ca-bundle.pem" in message for message in detailed["configuration"]["tls"])


def test_a_complete_configuration_is_ok() -> None:
    """No problems: status ok and nothing listed, for both reports."""
    values = read_local_settings(Path(__file__).resolve().parents[3] / "local.settings.sample.json")
    assert report(AppSettings(values), detailed=False) == {"status": "ok", "configuration": {}}
    assert report(AppSettings(values), detailed=True) == {"status": "ok", "configuration": {}}


def test_every_problem_of_a_broken_configuration_has_a_name() -> None:
    """Each message starts with the setting it is about, so the anonymous report never loses one."""
    broken = {
        "STATE_TABLE_PREFIX": "9",
        "TOKEN_ENCRYPTION_KEY": "@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/x/)",
        "HEARTBEAT_SCHEDULE": "*/5 * * * *",
        "ECHO_QUEUE": "X",
        "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=x",
        "DEVHOST_CHECK_KEYS": "true",
        "CALL_BUDGET_SECONDS": "0",
        "SECRET_CACHE_SECONDS": "-1",
    } | PRIVATE
    found = problems(AppSettings(broken))
    assert len(found) >= 7
    assert [m for messages in found.values() for m in messages if problem_name(m) == UNNAMED] == []
