"""Dataverse Web API simulator: tables, alternate keys, $batch, bulk actions, change tracking and webhooks."""
