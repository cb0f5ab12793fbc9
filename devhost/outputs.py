"""Queue output bindings: send what a function set on its ``func.Out`` arguments, as the host does."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterable, Mapping

from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient, QueueServiceClient

from devhost.functions import Capture, FunctionIndexError, LocalFunction

# The settings of an identity-based connection (``<connection>__accountName``...), as the host reads them.
_IDENTITY_SUFFIXES = ("accountName", "queueServiceUri", "tableServiceUri", "blobServiceUri", "serviceUri")


def connection_string(settings: Mapping[str, str], name: str) -> str:
    """The value of the app setting a binding's ``connection`` names; its absence stops indexing.

    devhost reaches storage (Azurite) by connection string only. An identity-based connection
    (``<name>__accountName``...) is what Azure uses; here it is refused by name rather than reported missing.
    """
    value = settings.get(name, "")
    if value:
        return value
    identity = [f"{name}__{suffix}" for suffix in _IDENTITY_SUFFIXES if settings.get(f"{name}__{suffix}")]
    if identity:
        raise FunctionIndexError(
            f"binding connection {name!r} is an identity-based connection ({', '.join(identity)}), which "
            f"needs a managed identity in Azure; devhost needs a connection string in app setting {name} "
            "(e.g. Azurite's: python -m devhost.azurite -- ... sets it)"
        )
    raise FunctionIndexError(f"binding connection {name!r} refers to a missing app setting {name}")


def raw_queue_client(connection_string: str, name: str) -> QueueClient:
    """A client of queue ``name`` (created if needed) that sends and receives the stored text unchanged."""
    client = QueueServiceClient.from_connection_string(connection_string).get_queue_client(name)
    with contextlib.suppress(ResourceExistsError):
        client.create_queue()
    return client


def encode(text: str, encoding: str) -> str:
    """The stored form of a message under host.json's ``messageEncoding``."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii") if encoding == "base64" else text


class OutputSender:
    """Sends the captured output values of one function to their queues."""

    def __init__(self, function: LocalFunction, settings: Mapping[str, str], encoding: str) -> None:
        self._encoding = encoding
        self._clients: dict[str, QueueClient] = {}
        for out in function.queue_outputs:
            self._clients[out.arg_name] = raw_queue_client(
                connection_string(settings, out.connection), out.queue_name
            )

    def close(self) -> None:
        """Close the queue clients."""
        for client in self._clients.values():
            client.close()

    def send(self, captures: Mapping[str, Capture]) -> None:
        """Send every value that was set (a list sends one message per item)."""
        for arg_name, capture in captures.items():
            if capture.value is None:
                continue
            values: Iterable[object] = capture.value if isinstance(capture.value, list) else [capture.value]
            for item in values:
                text = item.decode("utf-8") if isinstance(item, bytes) else str(item)
                self._clients[arg_name].send_message(encode(text, self._encoding))
