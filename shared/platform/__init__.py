"""Cross-cutting helpers: HTTP retry policy, token types, secrets, credentials, encryption, telemetry."""
