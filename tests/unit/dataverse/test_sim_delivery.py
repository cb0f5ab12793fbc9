"""The simulator's webhook call in isolation: what it makes of URLs and of a request httpx refuses."""

from __future__ import annotations

import httpx
import pytest

from simulators.dataverse.delivery import POST_FAILED, Endpoint, deliver, url_problem
from simulators.dataverse.remote_context import WebhookDelivery

DELIVERY = WebhookDelivery(b"{}", {"Content-Type": "application/json"}, size_exceeded=False)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:99999/hook", "not a valid URL (Port out of range"),
        ("http://[::1/hook", "not a valid URL"),
        ("http://[::1]:70000/hook", "not a valid URL"),
        ("ftp://hooks.example.invalid/hook", "not an absolute http(s) URL"),
        ("/api/hook", "not an absolute http(s) URL"),
    ],
)
def test_urls_that_cannot_be_called_say_why(url: str, problem: str) -> None:
    """Unparseable URLs and ports out of range are reported, never raised."""
    assert problem in url_problem(url)


def test_callable_urls_have_no_problem() -> None:
    """Absolute http(s) URLs with or without a port pass."""
    assert url_problem("https://hooks.example.invalid/api/hook?x=1") == ""
    assert url_problem("http://127.0.0.1:8080/hook") == ""


def test_a_request_httpx_refuses_to_send_is_a_failed_post() -> None:
    """A ValueError from inside the HTTP stack becomes WebhooksPostRequestFailed with the reason."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise ValueError("cannot send this")

    with httpx.Client(transport=httpx.MockTransport(refuse)) as http:
        outcome = deliver(http, Endpoint("http://127.0.0.1:8080/hook", None, None), DELIVERY)
    assert outcome.error == POST_FAILED
    assert "ValueError: cannot send this" in outcome.detail
    assert [attempt.status for attempt in outcome.attempts] == [None]
