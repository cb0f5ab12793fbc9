// The connector in Azure: a Flex Consumption function app (Python 3.11) with a user-assigned managed
// identity, its storage account (queues and state tables, shared keys off), Key Vault (RBAC) for the
// secrets, Application Insights on Log Analytics, least-privilege role assignments and alerts.
//
// Deploy with `azd up` (azure.yaml), or alone:
//   az deployment group create -g <group> -f infra/main.bicep -p infra/main.parameters.json -p environmentName=<env> ...
// The README's "Deploying" section explains every parameter and role.
targetScope = 'resourceGroup'

@minLength(1)
@maxLength(20)
@description('Short name of this deployment (letters, digits, hyphens; e.g. prod): part of every resource name, and the azd environment name.')
param environmentName string

@description('Azure region of every resource. Flex Consumption is not offered in every region.')
param location string = resourceGroup().location

@description('IFS Cloud tenant URL, scheme and host only (IFS_BASE_URL), e.g. https://acme.ifs.cloud.')
param ifsBaseUrl string

@description('IFS IAM (Keycloak) realm of the tenant (IFS_REALM).')
param ifsRealm string

@description('IAM client id the connector signs in to IFS with (IFS_CLIENT_ID); its secret is the vault secret ifs-client-secret.')
param ifsClientId string

@description('Dataverse environment URL (DATAVERSE_URL), e.g. https://contoso.crm4.dynamics.com.')
param dataverseUrl string

@description('Application (client) id of the app registration that is the Dataverse application user (ENTRA_CLIENT_ID).')
param entraClientId string

@description('Directory (tenant) id of that app registration (ENTRA_TENANT_ID); by default this subscription\'s tenant.')
param entraTenantId string = tenant().tenantId

@allowed([
  'client_secret'
  'certificate'
])
@description('How the connector signs in to Dataverse: client_secret (vault secret entra-client-secret) or certificate (vault secret entra-client-certificate holding the PEM).')
param dataverseCredential string = 'client_secret'

@secure()
@description('Optional: the IFS client secret, written to the vault as ifs-client-secret. Empty: leave the vault secret as it is.')
param ifsClientSecret string = ''

@secure()
@description('Optional: the Dataverse app registration\'s client secret, written to the vault as entra-client-secret.')
param dataverseClientSecret string = ''

@secure()
@description('Optional: PEM of the Dataverse certificate and its private key, written to the vault as entra-client-certificate.')
param dataverseClientCertificate string = ''

@secure()
@description('Optional: base64 of 32 random bytes encrypting cached tokens, written to the vault as token-encryption-key.')
param tokenEncryptionKey string = ''

@secure()
@description('Optional: the secret Dataverse sends with every webhook call (at least 16 characters), written to the vault as d365-webhook-secret.')
param webhookSecret string = ''

@description('NCRONTAB schedule (six fields, seconds first, UTC) of the heartbeat timer (HEARTBEAT_SCHEDULE).')
param heartbeatSchedule string = '0 */5 * * * *'

@description('IFS company whose credit limit, payment terms and currency accounts get (IFS_COMPANY; empty: any).')
param ifsCompany string = ''

@description('IFS sites whose sales parts are synced, in priority order, comma-separated; the first is the master site (SALES_PARTS_SITES; empty: all).')
param salesPartSites string = ''

@description('NCRONTAB schedule of the poll that detects changed IFS customers (SYNC_CUSTOMERS_SCHEDULE).')
param customersSchedule string = '0 */5 * * * *'

@description('NCRONTAB schedule of the poll that detects changed IFS sales parts (SYNC_SALES_PARTS_SCHEDULE).')
param salesPartsSchedule string = '30 */15 * * * *'

@description('NCRONTAB schedule of the poll that enqueues Dynamics orders a webhook never delivered (D365_RECONCILE_SCHEDULE).')
param reconcileSchedule string = '0 */10 * * * *'

@description('NCRONTAB schedule of the poll reading changed Dynamics opportunities and leads (D365_OPPORTUNITIES_SCHEDULE).')
param opportunitiesSchedule string = '15 */5 * * * *'

@description('Dynamics states in which an order entered directly in Dynamics goes to IFS (D365_ORDERS_SEND_STATES).')
param orderSendStates string = 'submitted'

@description('NCRONTAB schedule of the poll that detects changed IFS customer orders (SYNC_ORDERS_SCHEDULE).')
param ordersSchedule string = '15 */5 * * * *'

@description('NCRONTAB schedule of the poll that detects changed IFS sales quotations (SYNC_QUOTATIONS_SCHEDULE).')
param quotationsSchedule string = '45 */5 * * * *'

// Dataverse's service protection refuses an application user's requests once 52 or more run at the same
// time ("Number of concurrent requests exceeded the limit of 52"), counted across every instance of the
// app. On Flex Consumption each queue-triggered function scales on its own instances, up to
// maximumInstanceCount for each function, and each instance runs at most batchSize + newBatchThreshold of
// that function's messages at once (host.json). Each invocation has at most one Dataverse request in
// flight (the client is synchronous); a timer runs as a singleton; the webhook only authenticates,
// parses and enqueues, it never calls Dataverse; the two manage functions (provision, deprovision) and
// the command line are run by an operator, one request each. So at most:
//
//   maximumInstanceCount x (batchSize + newBatchThreshold) x queue functions + timers + hand-run tools
//            2           x (    2     +        1         ) x        7        +   3    +        3
//   = 42 + 3 + 3 = 48 concurrent requests, below 52.
//
// Seven queue functions: sync_customers, sync_sales_parts, sync_orders, sync_quotations, and
// d365_orders and d365_opportunities (Dynamics -> IFS), one to spare. Three timers: reconcile_d365_orders
// and poll_d365_opportunities, one to spare (the IFS polls never call Dataverse). The queue batch went from
// 4 + 2 to 2 + 1 to make room: each message carries up to hundreds of keys written in bulk, so throughput
// comes from the bulk path, not from more messages at once.
//
// tests/unit/test_infra.py checks these numbers against host.json and against the functions that
// function_app.py registers (those calling Dataverse count against the budgets); raise one term only by
// lowering another.
var dataverseConcurrentRequestLimit = 52
var hostQueueBatchSize = 2
var hostQueueNewBatchThreshold = 1
var dataverseQueueFunctionBudget = 7
var dataverseTimerFunctionBudget = 3
var dataverseRequestsReservedForTools = 3

@minValue(1)
@maxValue(2)
@description('Most on-demand instances per function group (Flex Consumption). At most 2: see the concurrency arithmetic above.')
param maximumInstanceCount int = 2

@allowed([
  2048
  4096
])
@description('Memory of one instance in MB (CPU follows).')
param instanceMemoryMB int = 2048

@description('E-mail addresses the alerts are sent to (none: the alerts fire in Azure Monitor only).')
param alertEmails array = []

@minValue(0)
@description('Alert when more messages than this moved to a poison queue within the alert window.')
param poisonAlertThreshold int = 0

@minValue(0)
@description('Alert when more records than this were parked within the alert window.')
param parkedAlertThreshold int = 0

@minValue(1)
@description('Alert when a queue message waited longer than this many minutes before it was processed.')
param lagAlertMinutes int = 15

@description('Optional: object id of a person or pipeline that may set the vault\'s secrets (Key Vault Secrets Officer). azd passes the signed-in user.')
param operatorPrincipalId string = ''

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
@description('Kind of principal operatorPrincipalId is.')
param operatorPrincipalType string = 'User'

@description('Tags added to every resource.')
param tags object = {}

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var nameStem = toLower(environmentName)
var allTags = union(tags, {
  'azd-env-name': environmentName
})
var identityName = 'id-${nameStem}-${resourceToken}'
var storageAccountName = 'st${resourceToken}'
var keyVaultName = 'kv-${resourceToken}'
var logAnalyticsName = 'log-${nameStem}-${resourceToken}'
var applicationInsightsName = 'appi-${nameStem}-${resourceToken}'
var planName = 'plan-${nameStem}-${resourceToken}'
var functionAppName = 'func-${nameStem}-${resourceToken}'
var deploymentContainerName = 'app-package'
// The connector's own defaults (shared/config), repeated here so every setting the app reads is visible.
var stateTablePrefix = 'sync'

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: identityName
    location: location
    tags: allTags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: logAnalyticsName
    applicationInsightsName: applicationInsightsName
    location: location
    tags: allTags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: storageAccountName
    location: location
    tags: allTags
    deploymentContainerName: deploymentContainerName
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module vault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: keyVaultName
    location: location
    tags: allTags
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    ifsClientSecret: ifsClientSecret
    dataverseClientSecret: dataverseClientSecret
    dataverseClientCertificate: dataverseClientCertificate
    tokenEncryptionKey: tokenEncryptionKey
    webhookSecret: webhookSecret
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: vault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    operatorPrincipalId: operatorPrincipalId
    operatorPrincipalType: operatorPrincipalType
  }
}

// Every app setting the connector reads in Azure (tests/unit/test_infra.py holds them against
// shared/config's catalog). Secrets are Key Vault references, resolved by the platform with the
// user-assigned identity (keyVaultReferenceIdentity); a setting left empty means "not used".
var appSettings = {
  // Identity-based storage connection, read by the Functions host (triggers, timers' locks) and the connector.
  AzureWebJobsStorage__accountName: storage.outputs.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  AzureWebJobsStorage__queueServiceUri: storage.outputs.queueEndpoint
  AzureWebJobsStorage__tableServiceUri: storage.outputs.tableEndpoint
  STATE_TABLE_PREFIX: stateTablePrefix
  TOKEN_ENCRYPTION_KEY: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=token-encryption-key)'
  HEARTBEAT_SCHEDULE: heartbeatSchedule
  ECHO_QUEUE: 'heartbeat-echo'
  APPLICATIONINSIGHTS_CONNECTION_STRING: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=applicationinsights-connection-string)'
  // The Functions host's own telemetry signs in as the identity (Monitoring Metrics Publisher).
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
  DATAVERSE_URL: dataverseUrl
  DATAVERSE_PAGE_SIZE: '500'
  DATAVERSE_TIMEOUT_SECONDS: '120'
  ENTRA_CREDENTIAL: dataverseCredential
  ENTRA_TENANT_ID: entraTenantId
  ENTRA_CLIENT_ID: entraClientId
  ENTRA_CLIENT_SECRET: (dataverseCredential == 'client_secret') ? '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=entra-client-secret)' : ''
  ENTRA_CLIENT_CERTIFICATE: (dataverseCredential == 'certificate') ? '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=entra-client-certificate)' : ''
  ENTRA_AUTHORITY: environment().authentication.loginEndpoint
  IFS_BASE_URL: ifsBaseUrl
  IFS_REALM: ifsRealm
  IFS_CLIENT_ID: ifsClientId
  IFS_CLIENT_SECRET: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=ifs-client-secret)'
  IFS_SCOPE: 'openid microprofile-jwt'
  IFS_TOKEN_REFRESH_MARGIN_SECONDS: '30'
  IFS_API_PATH: '/main/ifsapplications/projection/v1'
  IFS_PAGE_SIZE: '1000'
  IFS_CUSTOMERS_ENTITY: 'CustomerHandling.svc/CustomerInfoSet(CustomerId)'
  IFS_CUSTOMER_ADDRESSES_NAVIGATION: 'CustomerInfoAddresses(CustomerId,AddressId)'
  IFS_CUSTOMER_COMM_METHODS_NAVIGATION: 'CommunicationMethods(CustomerId,CommId)'
  IFS_SALES_PARTS_ENTITY: 'SalesPartHandling.svc/SalesPartSet(Contract,CatalogNo)'
  IFS_ORDERS_ENTITY: 'CustomerOrderHandling.svc/CustomerOrderSet(OrderNo)'
  IFS_ORDER_LINES_ENTITY: 'CustomerOrderHandling.svc/CustomerOrderLineSet(LineNo,RelNo,OrderNo,LineItemNo)'
  IFS_ORDER_LINES_NAVIGATION: 'OrderLinesArray(LineNo,RelNo,OrderNo,LineItemNo)'
  IFS_ORDER_CHARGES_ENTITY: 'CustomerOrderHandling.svc/CustomerOrderChargeSet(OrderNo,SequenceNo)'
  IFS_QUOTATIONS_ENTITY: 'SalesQuotationHandling.svc/OrderQuotationSet(QuotationNo)'
  IFS_QUOTATION_LINES_ENTITY: 'SalesQuotationHandling.svc/OrderQuotationLineSet(QuotationNo,LineNo,RelNo,LineItemNo)'
  IFS_QUOTATION_LINES_NAVIGATION: 'QuotationLinesArray(QuotationNo,LineNo,RelNo,LineItemNo)'
  IFS_POTENTIAL_ORDERS_ENTITY: 'BusinessOpportunityHandling.svc/BusinessOpportunitySet(OpportunityNo)'
  IFS_TIME_ZONE_AWARE: 'true'
  IFS_CREATE_PENDING_SECONDS: '600'
  // Total time one outbound call may spend on retries (below functionTimeout in host.json).
  CALL_BUDGET_SECONDS: '300'
  // The IFS -> Dynamics sync: shared options, then per entity (poll schedule, queue, change detection).
  IFS_COMPANY: ifsCompany
  SALES_PARTS_SITES: salesPartSites
  SYNC_MAPPINGS_DIR: ''
  SYNC_CUSTOMERS_SCHEDULE: customersSchedule
  SYNC_CUSTOMERS_QUEUE: 'sync-customers'
  SYNC_CUSTOMERS_DETECTION: 'etag-ledger'
  SYNC_CUSTOMERS_SCOPE: ''
  SYNC_CUSTOMERS_WATERMARK_COLUMN: ''
  SYNC_CUSTOMERS_OVERLAP_SECONDS: '300'
  SYNC_SALES_PARTS_SCHEDULE: salesPartsSchedule
  SYNC_SALES_PARTS_QUEUE: 'sync-sales-parts'
  SYNC_SALES_PARTS_DETECTION: 'etag-ledger'
  SYNC_SALES_PARTS_SCOPE: ''
  SYNC_SALES_PARTS_WATERMARK_COLUMN: ''
  SYNC_SALES_PARTS_OVERLAP_SECONDS: '300'
  // Dynamics -> IFS: the webhook (its secret in the vault; its URL derived from WEBSITE_HOSTNAME when
  // provisioning runs in the app), the order worker, reconciliation and opportunities.
  D365_WEBHOOK_AUTH: 'header'
  D365_WEBHOOK_HEADER: 'x-connector-webhook-secret'
  D365_WEBHOOK_SECRET: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=d365-webhook-secret)'
  // Set both while rotating the webhook secret (README, Dynamics -> IFS); empty otherwise.
  D365_WEBHOOK_SECRET_PREVIOUS: ''
  D365_WEBHOOK_SECRET_PREVIOUS_UNTIL: ''
  D365_WEBHOOK_NAME: 'ifs-connector'
  D365_WEBHOOK_URL: ''
  D365_DEDUPE_HOURS: '48'
  D365_ORDERS_QUEUE: 'd365-orders'
  D365_ORDERS_SEND_STATES: orderSendStates
  D365_ORDERS_IFS_NUMBER_COLUMN: 'ifs_ordernumber'
  D365_FULFIL_ACTION: 'CustomerOrder_ReleaseOrder'
  D365_FULFIL_STATES: 'Planned'
  D365_CANCEL_ACTION: 'CustomerOrder_SetCancelled'
  D365_RECONCILE_SCHEDULE: reconcileSchedule
  D365_RECONCILE_LOOKBACK_HOURS: '168'
  IFS_QUOTATION_ORDER_ACTION: 'OrderQuotation_CreateOrder'
  IFS_QUOTATION_WON_ACTION: 'OrderQuotation_SetWon'
  D365_OPPORTUNITIES_SCHEDULE: opportunitiesSchedule
  D365_OPPORTUNITIES_QUEUE: 'd365-opportunities'
  // Operations: pauses, the jobs timer (reconcile and backfill over HTTP), retention of audit rows.
  PAUSE_HOLD_SECONDS: '300'
  OPS_JOB_SLICE_SECONDS: '600'
  AUDIT_RETENTION_DAYS: '90'
  OPS_JOBS_SCHEDULE: '15 * * * * *'
  PURGE_SCHEDULE: '0 30 2 * * *'
  SYNC_ORDERS_SCHEDULE: ordersSchedule
  SYNC_ORDERS_QUEUE: 'sync-orders'
  SYNC_ORDERS_DETECTION: 'etag-ledger'
  SYNC_ORDERS_SCOPE: ''
  SYNC_ORDERS_WATERMARK_COLUMN: ''
  SYNC_ORDERS_OVERLAP_SECONDS: '300'
  SYNC_ORDERS_CLOSED_STATES: 'Invoiced,Cancelled'
  SYNC_ORDERS_RECENT_DAYS: '30'
  SYNC_QUOTATIONS_SCHEDULE: quotationsSchedule
  SYNC_QUOTATIONS_QUEUE: 'sync-quotations'
  SYNC_QUOTATIONS_DETECTION: 'etag-ledger'
  SYNC_QUOTATIONS_SCOPE: ''
  SYNC_QUOTATIONS_WATERMARK_COLUMN: ''
  SYNC_QUOTATIONS_OVERLAP_SECONDS: '300'
  SYNC_QUOTATIONS_CLOSED_STATES: 'Won,Lost,Cancelled'
  SYNC_QUOTATIONS_RECENT_DAYS: '30'
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    name: functionAppName
    planName: planName
    location: location
    tags: allTags
    identityId: identity.outputs.id
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    appSettings: appSettings
  }
  // The app starts resolving Key Vault references and reaching storage as soon as it exists.
  dependsOn: [
    roles
  ]
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    environmentName: environmentName
    location: location
    tags: allTags
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    alertEmails: alertEmails
    parkedTableName: '${stateTablePrefix}parked'
    poisonAlertThreshold: poisonAlertThreshold
    parkedAlertThreshold: parkedAlertThreshold
    lagAlertMinutes: lagAlertMinutes
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output FUNCTION_APP_URL string = functionApp.outputs.url
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_KEY_VAULT_NAME string = vault.outputs.name
output AZURE_KEY_VAULT_URI string = vault.outputs.uri
output AZURE_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AZURE_LOG_ANALYTICS_WORKSPACE_ID string = monitoring.outputs.logAnalyticsWorkspaceId
output MAXIMUM_INSTANCE_COUNT int = maximumInstanceCount
output DATAVERSE_CONCURRENT_REQUESTS_AT_MOST int = maximumInstanceCount * (hostQueueBatchSize + hostQueueNewBatchThreshold) * dataverseQueueFunctionBudget + dataverseTimerFunctionBudget + dataverseRequestsReservedForTools
output DATAVERSE_CONCURRENT_REQUEST_LIMIT int = dataverseConcurrentRequestLimit
