"""The storage emulator the integration tests rely on is up and speaks the SDKs' API versions."""

from __future__ import annotations

from azure.data.tables import TableServiceClient
from azure.storage.queue import QueueServiceClient


def test_tables_and_queues_answer(azurite_connection_string: str, unique_name: str) -> None:
    """A table and a queue can be created and used through the explicit connection string."""
    tables = TableServiceClient.from_connection_string(azurite_connection_string)
    table = tables.create_table_if_not_exists(unique_name)
    table.upsert_entity({"PartitionKey": "p", "RowKey": "r", "n": 1})
    assert table.get_entity("p", "r")["n"] == 1
    queue = QueueServiceClient.from_connection_string(azurite_connection_string).get_queue_client(unique_name)
    queue.create_queue()
    queue.send_message("hello")
    assert [m.content for m in queue.receive_messages()] == ["hello"]
