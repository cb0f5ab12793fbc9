"""Dataverse adapter: the Web API client, the webhook context parser and webhook/key provisioning."""
