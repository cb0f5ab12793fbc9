"""Failures sorted by what they mean for the work: throttled, transient or permanent."""

from __future__ import annotations

from shared.dataverse.errors import ServerError, ThrottledError
from shared.ifs.errors import IfsBadRequestError, IfsThrottledError
from shared.platform.retry import FALLBACK_RETRY_AFTER_SECONDS
from shared.sync.failures import classify
from shared.sync.flow import RecordError


def test_throttling_from_either_client_waits_for_retry_after() -> None:
    """A throttled error with Retry-After is throttled, delayed at least a second."""
    dataverse = ThrottledError(429, "0x80072322", "Number of requests exceeded the limit")
    dataverse.retry_after = 12.2
    failure = classify(dataverse)
    assert (failure.kind, failure.delay_seconds, failure.error_class) == ("throttled", 13, "throttled_error")
    ifs = classify(IfsThrottledError("slow down", status=429))  # no Retry-After: the client's fallback
    assert (ifs.kind, ifs.delay_seconds) == ("throttled", FALLBACK_RETRY_AFTER_SECONDS)


def test_server_errors_are_transient_and_data_errors_permanent() -> None:
    """A 5xx is retried; a 400 and the sync's own problems are parked with their class."""
    assert classify(ServerError(503, "", "busy")).kind == "transient"
    bad = classify(IfsBadRequestError("Malformed Request.", status=400))
    assert (bad.kind, bad.error_class) == ("permanent", "ifs_bad_request_error")
    own = classify(RecordError("missing_currency", "currency 'SEK' is not set up"))
    assert (own.kind, own.error_class, own.message) == (
        "permanent",
        "missing_currency",
        "currency 'SEK' is not set up",
    )


def test_anything_else_is_permanent() -> None:
    """An unexpected exception parks, it does not loop."""
    failure = classify(KeyError("x"))
    assert (failure.kind, failure.error_class) == ("permanent", "key_error")
