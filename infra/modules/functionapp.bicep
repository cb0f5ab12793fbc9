// The function app on a Flex Consumption plan: Python 3.11, run as the user-assigned identity, its
// package fetched from the deployment container with that identity, and scale-out capped so Dataverse's
// concurrency limit holds (main.bicep). On Flex Consumption the runtime is declared in functionAppConfig;
// FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION and the content-share settings must not be set.
param name string
param planName string
param location string
param tags object
param identityId string
param storageBlobEndpoint string
param deploymentContainerName string
param maximumInstanceCount int
param instanceMemoryMB int

@description('App settings as name: value (main.bicep lists them).')
param appSettings object

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd finds the app to deploy to by this tag (azure.yaml's service name).
  tags: union(tags, {
    'azd-service-name': 'connector'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references are resolved with the user-assigned identity, not a system-assigned one.
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: [for setting in items(appSettings): {
        name: setting.key
        value: setting.value
      }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

output id string = app.id
output name string = app.name
output url string = 'https://${app.properties.defaultHostName}'
