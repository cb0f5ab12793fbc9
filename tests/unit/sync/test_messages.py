"""Queue envelopes: versioned JSON that round-trips and is split under the queue limit."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.state.queues import MAX_ENCODED_BYTES, encoded_size
from shared.sync.messages import ChangedKey, Envelope, MessageFormatError, pack_changes

AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_envelope_round_trips() -> None:
    """to_json then from_json gives the same envelope, unicode keys included."""
    envelope = Envelope(
        "changes",
        "CustomerOrder",
        (ChangedKey("C1/1", "v1"), ChangedKey("Å'b", None)),
        "c1",
        AT,
        {"reason": "poll"},
    )
    assert Envelope.from_json(envelope.to_json()) == envelope


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "not JSON"),
        ("[1]", "JSON object"),
        ('{"v": 2}', "unsupported envelope version 2"),
        ('{"v": 1, "type": "changes"}', "invalid envelope field"),
        (
            '{"v":1,"type":"c","entity":"e","keys":[],"correlation_id":"c","enqueued_at":"2026-11-29T12:00:00"}',
            "time zone",
        ),
    ],
)
def test_malformed_envelopes_say_why(text: str, reason: str) -> None:
    """Each malformed message raises MessageFormatError naming the problem."""
    with pytest.raises(MessageFormatError, match=reason):
        Envelope.from_json(text)


def test_pack_splits_under_the_limit_and_keeps_every_key_in_order() -> None:
    """10,000 long keys become several messages, each under 48 KB of JSON and 64 KiB after base64."""
    keys = [ChangedKey(f"ORDER-{i:06d}-" + "x" * 40, f"2026112912{i % 60:02d}00") for i in range(10_000)]
    envelopes = pack_changes("changes", "CustomerOrder", keys, correlation_id="c", enqueued_at=AT)
    assert len(envelopes) > 1
    sizes = [len(e.to_json().encode()) for e in envelopes]
    assert max(sizes) <= 48_000
    assert min(sizes[:-1]) > 40_000  # packed tightly, not one key per message
    assert all(encoded_size(e.to_json()) <= MAX_ENCODED_BYTES for e in envelopes)
    assert [k for e in envelopes for k in e.keys] == keys


def test_pack_exact_fit_boundary() -> None:
    """A batch whose JSON is exactly the limit fits in one message; one byte less splits it."""
    keys = [ChangedKey(f"K{i}", None) for i in range(50)]
    whole = Envelope("changes", "E", tuple(keys), "c", AT).to_json()
    exact = len(whole.encode())
    assert (
        len(pack_changes("changes", "E", keys, correlation_id="c", enqueued_at=AT, max_json_bytes=exact)) == 1
    )
    split = pack_changes("changes", "E", keys, correlation_id="c", enqueued_at=AT, max_json_bytes=exact - 1)
    assert len(split) == 2
    assert all(len(e.to_json().encode()) <= exact - 1 for e in split)


def test_a_key_too_large_for_any_message_is_refused() -> None:
    """A single key over the limit is an error, not a silently dropped key."""
    with pytest.raises(MessageFormatError, match="does not fit"):
        pack_changes("changes", "E", [ChangedKey("x" * 60_000)], correlation_id="c", enqueued_at=AT)


def test_envelope_json_is_compact() -> None:
    """The wire form has the documented fields and no whitespace padding."""
    data = json.loads(Envelope("changes", "E", (ChangedKey("k", "v"),), "c", AT).to_json())
    assert set(data) == {"v", "type", "entity", "keys", "correlation_id", "enqueued_at", "body"}
