"""The queue publisher: base64 on the wire, the 64 KiB limit checked before anything is sent."""

from __future__ import annotations

import base64

import pytest
from azure.storage.queue import QueueClient

from shared.state.queues import MAX_ENCODED_BYTES, MessageTooLargeError, QueuePublisher


def test_messages_are_base64_as_the_functions_host_expects(
    azurite_connection_string: str, unique_name: str
) -> None:
    """The stored text is base64 of the UTF-8 message."""
    QueuePublisher.from_connection_string(azurite_connection_string).send(unique_name, ["héllo"])
    [stored] = QueueClient.from_connection_string(azurite_connection_string, unique_name).peek_messages()
    assert base64.b64decode(stored.content).decode() == "héllo"


def test_an_oversized_message_sends_nothing(azurite_connection_string: str, unique_name: str) -> None:
    """One message over 64 KiB after base64 stops the whole batch before the first send."""
    publisher = QueuePublisher.from_connection_string(azurite_connection_string)
    too_big = "x" * (MAX_ENCODED_BYTES * 3 // 4 + 1)
    publisher.queue(unique_name)  # the queue exists, so "nothing sent" is observable
    with pytest.raises(MessageTooLargeError, match="after base64"):
        publisher.send(unique_name, ["fine", too_big])
    assert QueueClient.from_connection_string(azurite_connection_string, unique_name).peek_messages() == []


def test_the_largest_allowed_message_is_accepted(azurite_connection_string: str, unique_name: str) -> None:
    """A message of exactly 64 KiB after base64 is sent."""
    publisher = QueuePublisher.from_connection_string(azurite_connection_string)
    assert publisher.send(unique_name, ["x" * (MAX_ENCODED_BYTES * 3 // 4)]) == 1
