"""Helpers shared by the devhost tests: the sample app, host.json variants and raw queue access."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

from azure.storage.queue import QueueClient

from devhost.host import REPO_ROOT
from devhost.hostjson import HostSettings

SAMPLE = "tests.e2e.apps.sample_app"


def host_settings(
    max_dequeue: int = 3, visibility_timeout: float = 0, encoding: str = "base64"
) -> HostSettings:
    """The repository's host.json with a small dequeue limit and (by default) no retry delay."""
    base = HostSettings.load(REPO_ROOT / "host.json")
    queues = replace(
        base.queues,
        visibility_timeout=visibility_timeout,
        max_dequeue_count=max_dequeue,
        message_encoding=encoding,
    )
    return replace(base, queues=queues)


def raw_queue(connection: str, name: str) -> QueueClient:
    """A client that sends and receives the stored text unchanged (no encoding policy)."""
    return QueueClient.from_connection_string(connection, name)


def stored(connection: str, name: str) -> list[str]:
    """The stored texts on a queue, as peeked (peeking leaves dequeue counts alone)."""
    return [str(m.content) for m in raw_queue(connection, name).peek_messages(max_messages=32)]


def messages(connection: str, name: str) -> list[str]:
    """Decoded texts on a queue (base64, as the host writes them by default)."""
    return [base64.b64decode(text).decode() for text in stored(connection, name)]


def send(settings: dict[str, str], body: dict[str, str]) -> None:
    """Put a base64-encoded JSON message on the sample queue, as a Functions producer would."""
    client = raw_queue(settings["AzureWebJobsStorage"], settings["SAMPLE_QUEUE"])
    client.send_message(base64.b64encode(json.dumps(body).encode()).decode())
