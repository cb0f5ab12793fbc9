"""HTTP simulators of IFS Cloud, Dataverse, Entra ID and Key Vault: the test peers (dev/test only)."""
