"""The toolkit every simulator is built on: serving, TLS, faults, OData, $batch and admin routes."""
