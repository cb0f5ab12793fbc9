"""Service layer: one module per flow, change detection, mapping and the queue message schema.

Never imports azure.functions, httpx or an Azure SDK: it receives clients and repositories.
"""
