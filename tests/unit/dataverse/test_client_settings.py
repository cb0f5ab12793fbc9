"""Dataverse settings: the environment URL, its token scope, paging and timeout."""

from __future__ import annotations

import pytest

from shared.config import AppSettings, ConfigError, DataverseSettings


def test_defaults_and_scope() -> None:
    """Only the URL is required; the scope is <url>/.default without a doubled slash."""
    settings = AppSettings({"DATAVERSE_URL": "https://contoso.crm4.dynamics.com/"}).get(DataverseSettings)
    assert settings == DataverseSettings("https://contoso.crm4.dynamics.com", 500, 120, 300)
    assert settings.scope == "https://contoso.crm4.dynamics.com/.default"


def test_every_bad_value_is_named() -> None:
    """A plain-http URL and an out-of-range page size are both reported."""
    with pytest.raises(ConfigError) as caught:
        AppSettings({"DATAVERSE_URL": "http://contoso.crm.dynamics.com", "DATAVERSE_PAGE_SIZE": "6000"}).get(
            DataverseSettings
        )
    message = str(caught.value)
    assert "DATAVERSE_URL is invalid" in message
    assert "DATAVERSE_PAGE_SIZE is invalid" in message


def test_the_url_is_required() -> None:
    """Without DATAVERSE_URL the feature is incomplete."""
    with pytest.raises(ConfigError, match="DATAVERSE_URL is missing"):
        AppSettings({}).get(DataverseSettings)


def test_the_call_budget_must_hold_one_request() -> None:
    """CALL_BUDGET_SECONDS below DATAVERSE_TIMEOUT_SECONDS is named; within it, the budget is read."""
    base = {"DATAVERSE_URL": "https://contoso.crm.dynamics.com", "DATAVERSE_TIMEOUT_SECONDS": "120"}
    with pytest.raises(ConfigError, match="CALL_BUDGET_SECONDS is invalid: 60 s is shorter than one request"):
        AppSettings(base | {"CALL_BUDGET_SECONDS": "60"}).get(DataverseSettings)
    assert (
        AppSettings(base | {"CALL_BUDGET_SECONDS": "120"}).get(DataverseSettings).call_budget_seconds == 120
    )
    with pytest.raises(ConfigError) as caught:
        AppSettings(base | {"CALL_BUDGET_SECONDS": "soon"}).get(DataverseSettings)
    assert caught.value.problems == [
        "CALL_BUDGET_SECONDS is invalid: expected an integer in [1, 900], got 'soon'"
    ]
