// Key Vault in RBAC mode, holding the connector's secrets under the names the connector itself maps
// app settings to (IFS_CLIENT_SECRET -> ifs-client-secret, shared/platform/secrets.py). The app reads
// them as Key Vault references with its managed identity (Key Vault Secrets User, roles.bicep).
//
// A secure parameter left empty leaves its secret as it is: set it once here, or with
// `az keyvault secret set` (README "Deploying"); a redeploy without it does not erase it.
param name string
param location string
param tags object
param applicationInsightsName string

@secure()
param ifsClientSecret string = ''

@secure()
param dataverseClientSecret string = ''

@secure()
param dataverseClientCertificate string = ''

@secure()
param tokenEncryptionKey string = ''

@secure()
param webhookSecret string = ''

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    publicNetworkAccess: 'Enabled'
  }
}

resource ifsSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(ifsClientSecret)) {
  parent: vault
  name: 'ifs-client-secret'
  properties: {
    value: ifsClientSecret
  }
}

resource dataverseSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(dataverseClientSecret)) {
  parent: vault
  name: 'entra-client-secret'
  properties: {
    value: dataverseClientSecret
  }
}

resource dataverseCertificate 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(dataverseClientCertificate)) {
  parent: vault
  name: 'entra-client-certificate'
  properties: {
    value: dataverseClientCertificate
    contentType: 'application/x-pem-file'
  }
}

resource tokenKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(tokenEncryptionKey)) {
  parent: vault
  name: 'token-encryption-key'
  properties: {
    value: tokenEncryptionKey
  }
}

resource webhookSecretValue 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(webhookSecret)) {
  parent: vault
  name: 'd365-webhook-secret'
  properties: {
    value: webhookSecret
  }
}

// The connector marks this connection string secret, so it too reaches the app as a reference.
resource telemetryConnection 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'applicationinsights-connection-string'
  properties: {
    value: applicationInsights.properties.ConnectionString
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
