"""devhost runs a v2 app as the Functions host would: HTTP with keys, timers, queues, poison."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import replace

import httpx
import pytest

from devhost.functions import FunctionIndexError
from devhost.host import LocalHost
from shared.config import ConfigError
from tests.e2e.sample import SAMPLE, host_settings, messages, raw_queue, send


def test_http_route_parameters_query_and_body(host: LocalHost) -> None:
    """Route parameters (with constraint and optional segment), query, headers and body reach the function."""
    response = httpx.post(f"{host.url}/api/echo/42/more?x=1", content=b"payload", headers={"x-sample": "h"})
    assert response.status_code == 201
    assert response.json() == {
        "method": "POST",
        "route": {"item_id": "42", "rest": "more"},
        "params": {"x": "1"},
        "body": "payload",
        "header": "h",
    }
    assert httpx.post(f"{host.url}/api/echo/7").json()["route"] == {"item_id": "7"}


def test_http_routing_errors(host: LocalHost) -> None:
    """A constraint mismatch is 404, so is a method the route does not list; an exception is 500."""
    assert httpx.post(f"{host.url}/api/echo/abc").status_code == 404
    assert httpx.get(f"{host.url}/api/echo/1").status_code == 404
    assert httpx.get(f"{host.url}/api/boom").status_code == 500


def test_literal_route_wins_over_parameter_registered_first(host: LocalHost) -> None:
    """items/new is served by its own function although items/{item} was registered before it."""
    assert httpx.get(f"{host.url}/api/items/new").text == "new item form"
    assert httpx.get(f"{host.url}/api/items/42").text == "item 42"


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_route_without_methods_accepts_every_method(host: LocalHost, method: str) -> None:
    """A trigger listing no methods answers all of them; its chained constraints with arguments apply."""
    response = httpx.request(method, f"{host.url}/api/codes/AbCdE")
    assert (response.status_code, response.text) == (200, f"{method} AbCdE")
    assert httpx.request(method, f"{host.url}/api/codes/abcd").status_code == 404
    assert httpx.request(method, f"{host.url}/api/codes/abcd1").status_code == 404


def test_keys_are_not_checked_unless_asked(host: LocalHost) -> None:
    """Like Core Tools, the default local host lets function-level calls through."""
    assert httpx.get(f"{host.url}/api/secured").text == "secret ok"


def test_keys_checked_when_asked(settings: dict[str, str]) -> None:
    """With DEVHOST_CHECK_KEYS, FUNCTION needs a key (query or header) and ADMIN the master key."""
    keyed = settings | {
        "DEVHOST_CHECK_KEYS": "true",
        "DEVHOST_FUNCTION_KEY": "fk",
        "DEVHOST_MASTER_KEY": "mk",
    }
    with LocalHost(app_module=SAMPLE, settings=keyed, host_settings=host_settings()) as host:
        url = f"{host.url}/api"
        assert httpx.get(f"{url}/secured").status_code == 401
        assert httpx.get(f"{url}/secured?code=wrong").status_code == 401
        assert httpx.get(f"{url}/secured?code=fk").text == "secret ok"
        assert httpx.get(f"{url}/secured", headers={"x-functions-key": "fk"}).status_code == 200
        assert httpx.get(f"{url}/secured?code=mk").status_code == 200
        assert httpx.get(f"{url}/admin-only?code=fk").status_code == 401
        assert httpx.get(f"{url}/admin-only?code=mk").text == "admin ok"
        assert httpx.post(f"{url}/echo/1").status_code == 201  # anonymous needs no key


def test_timer_output_feeds_the_queue_trigger(host: LocalHost, settings: dict[str, str]) -> None:
    """A timer's output lands base64-encoded; the queue trigger consumes it and writes its own output."""
    assert host.fire_timer("tick")
    queue = settings["SAMPLE_QUEUE"]
    assert [json.loads(m) for m in messages(settings["AzureWebJobsStorage"], queue)] == [
        {"past_due": False, "say": "hello"}
    ]
    assert host.drain(timeout=30)
    done = [json.loads(m) for m in messages(settings["AzureWebJobsStorage"], f"{queue}-done")]
    assert done[0]["say"] == "hello"
    assert done[0]["dequeue_count"] == 1
    assert host.queues["work"].stats.succeeded == 1


def test_timer_schedule_from_app_setting(host: LocalHost) -> None:
    """The %SAMPLE_SCHEDULE% expression was resolved and parsed (top of every hour)."""
    timer = host.timers["tick"]
    assert timer.schedule.expression == "0 0 * * * *"
    assert timer.next_due.minute == 0
    assert timer.next_due.second == 0


def test_failure_is_retried_with_increasing_dequeue_count(host: LocalHost, settings: dict[str, str]) -> None:
    """A message that fails once is processed on its second try."""
    send(settings, {"say": "fail-once"})
    assert host.drain(timeout=30)
    done = [
        json.loads(m) for m in messages(settings["AzureWebJobsStorage"], f"{settings['SAMPLE_QUEUE']}-done")
    ]
    assert done[0]["dequeue_count"] == 2
    assert host.queues["work"].stats.failed == 1


def test_poison_after_max_dequeue_count(host: LocalHost, settings: dict[str, str]) -> None:
    """A message failing every time runs maxDequeueCount times, then moves unchanged to <queue>-poison."""
    send(settings, {"say": "fail"})
    send(settings, {"say": "fine"})
    assert host.drain(timeout=30)
    stats = host.queues["work"].stats
    assert (stats.failed, stats.poisoned, stats.succeeded) == (3, 1, 1)
    poison = messages(settings["AzureWebJobsStorage"], f"{settings['SAMPLE_QUEUE']}-poison")
    assert [json.loads(m) for m in poison] == [{"say": "fail"}]


def test_undecodable_message_goes_to_poison_without_running(
    host: LocalHost, settings: dict[str, str]
) -> None:
    """With base64 encoding, a plain-text message cannot be decoded and is poisoned at once."""
    raw_queue(settings["AzureWebJobsStorage"], settings["SAMPLE_QUEUE"]).send_message("not base64 {")
    assert host.drain(timeout=30)
    assert host.queues["work"].stats.poisoned == 1
    assert host.queues["work"].stats.failed == 0


def test_batches_respect_batch_size(settings: dict[str, str]) -> None:
    """One poll takes at most batchSize messages."""
    small = host_settings()
    small = replace(small, queues=replace(small.queues, batch_size=2))
    with LocalHost(app_module=SAMPLE, settings=settings, host_settings=small) as host:
        for i in range(5):
            send(settings, {"say": f"m{i}"})
        assert host.queues["work"].poll_once() == 2
        assert host.drain(timeout=30)
        assert host.queues["work"].stats.succeeded == 5


def test_missing_binding_setting_is_named(settings: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """An unresolved %SETTING% stops indexing with the setting's name; the environment is left as it was."""
    monkeypatch.delenv("SAMPLE_SCHEDULE", raising=False)
    monkeypatch.setenv("AzureWebJobsStorage", "before")
    incomplete = {k: v for k, v in settings.items() if k != "SAMPLE_QUEUE"}
    with pytest.raises(FunctionIndexError, match="SAMPLE_QUEUE"):
        LocalHost(app_module=SAMPLE, settings=incomplete, host_settings=host_settings())
    assert "SAMPLE_SCHEDULE" not in os.environ
    assert os.environ["AzureWebJobsStorage"] == "before"


def test_missing_connection_setting_is_named(
    settings: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A binding whose connection setting is missing stops indexing with that name; nothing is left set."""
    monkeypatch.delenv("SAMPLE_QUEUE", raising=False)
    without_storage = {k: v for k, v in settings.items() if k != "AzureWebJobsStorage"}
    with pytest.raises(FunctionIndexError, match="missing app setting AzureWebJobsStorage"):
        LocalHost(app_module=SAMPLE, settings=without_storage, host_settings=host_settings())
    assert "SAMPLE_QUEUE" not in os.environ


def test_identity_only_storage_is_refused_by_name(
    settings: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Azure's identity-based storage settings alone stop indexing with a message naming them."""
    monkeypatch.delenv("SAMPLE_QUEUE", raising=False)
    identity_only = {k: v for k, v in settings.items() if k != "AzureWebJobsStorage"} | {
        "AzureWebJobsStorage__accountName": "stconnector01",
        "AzureWebJobsStorage__credential": "managedidentity",
    }
    with pytest.raises(FunctionIndexError) as caught:
        LocalHost(app_module=SAMPLE, settings=identity_only, host_settings=host_settings())
    message = str(caught.value)
    assert "is an identity-based connection (AzureWebJobsStorage__accountName)" in message
    assert "devhost needs a connection string in app setting AzureWebJobsStorage" in message
    assert "SAMPLE_QUEUE" not in os.environ


def test_bad_devhost_settings_leave_the_environment_alone(
    settings: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Key checking without any key is a ConfigError raised after indexing; the environment is restored."""
    monkeypatch.delenv("SAMPLE_QUEUE", raising=False)
    monkeypatch.delenv("DEVHOST_CHECK_KEYS", raising=False)
    with pytest.raises(ConfigError, match="DEVHOST_CHECK_KEYS"):
        LocalHost(
            app_module=SAMPLE,
            settings=settings | {"DEVHOST_CHECK_KEYS": "true"},
            host_settings=host_settings(),
        )
    assert "SAMPLE_QUEUE" not in os.environ
    assert "DEVHOST_CHECK_KEYS" not in os.environ


def test_port_in_use_stops_the_host(settings: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A start that cannot bind its port raises and leaves the environment as it was."""
    monkeypatch.delenv("SAMPLE_QUEUE", raising=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        host = LocalHost(app_module=SAMPLE, settings=settings, http_port=taken.getsockname()[1])
        with pytest.raises(OSError, match="in use"):
            host.start()
    assert "SAMPLE_QUEUE" not in os.environ


def test_stop_restores_the_environment(settings: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """While the host runs the app sees its settings in the environment; afterwards they are gone again."""
    monkeypatch.delenv("SAMPLE_QUEUE", raising=False)
    with LocalHost(app_module=SAMPLE, settings=settings, host_settings=host_settings()):
        assert os.environ["SAMPLE_QUEUE"] == settings["SAMPLE_QUEUE"]
    assert "SAMPLE_QUEUE" not in os.environ
