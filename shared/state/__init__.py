"""Adapter: Table Storage repositories for the connector's state, and the queue publisher.

Watermarks, the change ledger, the id map, webhook dedupe, the audit trail, parked records, webhook
subscriptions and the encrypted token cache each live in their own table under one prefix
(``STATE_TABLE_PREFIX``). Source keys are encoded before they become PartitionKey/RowKey values.
"""
