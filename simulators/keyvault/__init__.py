"""Key Vault simulator: the secrets data plane over HTTPS, guarded by Entra-simulator bearer tokens."""
