// DurableJobs on Azure Functions (.NET 10 isolated worker, Durable Functions on Azure Storage).
//
// Everything authenticates with one user-assigned managed identity: the storage account has shared-key
// access switched off and no connection string or key appears in app settings.
//
//   az deployment group create -g <resource-group> -f infra/main.bicep -p infra/main.bicepparam
//
// See docs/deploy.md for publishing the app and scaling.

metadata description = 'DurableJobs: Function App (Flex Consumption or Elastic Premium), task hub storage, Application Insights.'

@description('Short lowercase name used to derive resource names.')
@minLength(2)
@maxLength(16)
param baseName string = 'durablejobs'

@description('Azure region for every resource.')
param location string = resourceGroup().location

@description('Hosting plan: FC1 is Flex Consumption (Linux); EP1 to EP3 are Elastic Premium (Linux).')
@allowed([
  'FC1'
  'EP1'
  'EP2'
  'EP3'
])
param planSku string = 'FC1'

@description('Function app name; must be globally unique.')
@minLength(2)
@maxLength(60)
param functionAppName string = 'func-${baseName}-${uniqueString(resourceGroup().id, baseName)}'

@description('Storage account name (3 to 24 lowercase letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param storageAccountName string = 'st${take(toLower(replace(baseName, '-', '')), 9)}${uniqueString(resourceGroup().id, baseName)}'

@description('Storage redundancy of the task hub account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_RAGRS'
])
param storageSku string = 'Standard_LRS'

@description('Task hub name (DurableJobs:HubName): 3 to 45 letters or digits, starting with a letter.')
@minLength(3)
@maxLength(45)
param hubName string = 'DurableJobsHub'

@description('Task hub control-queue partitions (1 to 16): the most instances that run orchestrations at once. Fixed when the hub is first created.')
@minValue(1)
@maxValue(16)
param partitionCount int = 4

@description('Queue that receives job batches (DurableJobs:BatchQueueName); its poison queue is <name>-poison.')
@minLength(3)
@maxLength(56)
param batchQueueName string = 'job-batches'

@description('Flex Consumption: the most instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param flexMaximumInstanceCount int = 100

@description('Flex Consumption: memory of each instance in MB.')
@allowed([
  512
  2048
  4096
])
param flexInstanceMemoryMB int = 2048

@description('Flex Consumption: always-ready instances for Durable Functions triggers (0 for pure scale-to-zero).')
@minValue(0)
@maxValue(1000)
param flexAlwaysReadyInstances int = 0

@description('Elastic Premium: always-ready (minimum) instances of the app.')
@minValue(1)
@maxValue(20)
param premiumMinimumInstances int = 1

@description('Elastic Premium: the most instances the plan and the app scale out to.')
@minValue(1)
@maxValue(100)
param premiumMaximumInstances int = 20

@description('Log Analytics retention in days.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

@description('Reject Application Insights ingestion that is not authenticated with Microsoft Entra ID. Only enable once every telemetry exporter in the app uses the managed identity.')
param appInsightsDisableLocalAuth bool = false

@description('Optional object id of the user or service principal that publishes packages; it gets Storage Blob Data Contributor on the account (needed to upload Elastic Premium packages).')
param deployerPrincipalId string = ''

@description('Tags applied to every resource.')
param tags object = {}

var isFlex = planSku == 'FC1'
var poisonQueueName = '${batchQueueName}-poison'
var packageContainerName = 'app-package'
// Elastic Premium runs from this blob (WEBSITE_RUN_FROM_PACKAGE); Flex writes its own package into the container.
var premiumPackageBlobName = 'durablejobs.zip'

// Built-in role definition ids.
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// Blob: host secrets, leases, large messages, deployment package. Queue: control/work-item queues and job-batches.
// Table: task hub history and instances, cancel signals.
var storageRoleIds = [
  roles.storageBlobDataOwner
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: 'id-${baseName}'
  location: location
  tags: tags
}

resource storage 'Microsoft.Storage/storageAccounts@2026-06-01' = {
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: storageSku
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2026-06-01' = {
  parent: storage
  name: 'default'
}

resource packageContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2026-06-01' = {
  parent: blobService
  name: packageContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2026-06-01' = {
  parent: storage
  name: 'default'
}

resource batchQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2026-06-01' = {
  parent: queueService
  name: batchQueueName
}

resource batchPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2026-06-01' = {
  parent: queueService
  name: poisonQueueName
}

resource storageRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in storageRoleIds: {
    name: guid(storage.id, identity.id, roleId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: identity.properties.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource deployerRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(storage.id, deployerPrincipalId, roles.storageBlobDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: deployerPrincipalId
  }
}

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2026-03-01' = {
  name: 'log-${baseName}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${baseName}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    DisableLocalAuth: appInsightsDisableLocalAuth
  }
}

resource appInsightsRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: 'plan-${baseName}'
  location: location
  tags: tags
  kind: isFlex ? 'functionapp' : 'elastic'
  sku: isFlex
    ? {
        name: 'FC1'
        tier: 'FlexConsumption'
      }
    : {
        name: planSku
        tier: 'ElasticPremium'
        family: 'EP'
      }
  properties: isFlex
    ? {
        reserved: true
      }
    : {
        reserved: true
        maximumElasticWorkerCount: premiumMaximumInstances
      }
}

// Names match what the app reads (local.settings.sample.json); '__' stands for ':' because Linux app settings cannot contain ':'.
var commonAppSettings = [
  // Identity-based host storage (Functions host, Durable Functions task hub, queue trigger): no keys.
  {
    name: 'AzureWebJobsStorage__accountName'
    value: storage.name
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identity.properties.clientId
  }
  // DefaultAzureCredential / ManagedIdentityCredential in the worker pick this identity.
  {
    name: 'AZURE_CLIENT_ID'
    value: identity.properties.clientId
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: appInsights.properties.ConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identity.properties.clientId};Authorization=AAD'
  }
  {
    name: 'DurableJobs__HubName'
    value: hubName
  }
  {
    name: 'DurableJobs__PartitionCount'
    value: string(partitionCount)
  }
  {
    name: 'DurableJobs__BatchQueueName'
    value: batchQueueName
  }
  // The same task hub settings for the Durable Functions extension, overriding host.json.
  {
    name: 'AzureFunctionsJobHost__extensions__durableTask__hubName'
    value: hubName
  }
  {
    name: 'AzureFunctionsJobHost__extensions__durableTask__storageProvider__partitionCount'
    value: string(partitionCount)
  }
]

// Flex Consumption sets the runtime in functionAppConfig and rejects FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION.
// Elastic Premium runs from a package blob read with the managed identity, so it needs no Azure Files content share (which would need a key).
var premiumAppSettings = [
  {
    name: 'FUNCTIONS_EXTENSION_VERSION'
    value: '~4'
  }
  {
    name: 'FUNCTIONS_WORKER_RUNTIME'
    value: 'dotnet-isolated'
  }
  {
    name: 'WEBSITE_RUN_FROM_PACKAGE'
    value: '${storage.properties.primaryEndpoints.blob}${packageContainerName}/${premiumPackageBlobName}'
  }
  {
    name: 'WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID'
    value: identity.id
  }
]

resource functionApp 'Microsoft.Web/sites@2025-03-01' = {
  name: functionAppName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: isFlex
    ? {
        serverFarmId: plan.id
        httpsOnly: true
        siteConfig: {
          minTlsVersion: '1.2'
          appSettings: commonAppSettings
        }
        functionAppConfig: {
          deployment: {
            storage: {
              type: 'blobContainer'
              value: '${storage.properties.primaryEndpoints.blob}${packageContainerName}'
              authentication: {
                type: 'UserAssignedIdentity'
                userAssignedIdentityResourceId: identity.id
              }
            }
          }
          scaleAndConcurrency: {
            maximumInstanceCount: flexMaximumInstanceCount
            instanceMemoryMB: flexInstanceMemoryMB
            alwaysReady: flexAlwaysReadyInstances > 0
              ? [
                  {
                    name: 'durable'
                    instanceCount: flexAlwaysReadyInstances
                  }
                ]
              : []
          }
          runtime: {
            name: 'dotnet-isolated'
            version: '10.0'
          }
        }
      }
    : {
        serverFarmId: plan.id
        httpsOnly: true
        siteConfig: {
          linuxFxVersion: 'DOTNET-ISOLATED|10.0'
          minTlsVersion: '1.2'
          ftpsState: 'Disabled'
          minimumElasticInstanceCount: premiumMinimumInstances
          functionAppScaleLimit: premiumMaximumInstances
          appSettings: concat(commonAppSettings, premiumAppSettings)
        }
      }
  // The app must not start before its identity can reach storage.
  dependsOn: [
    storageRoleAssignments
    appInsightsRoleAssignment
    packageContainer
    batchQueue
    batchPoisonQueue
  ]
}

// Publishing goes through Microsoft Entra ID; no basic-auth publishing credentials.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

@description('Function app name.')
output functionAppName string = functionApp.name

@description('Default host name of the function app.')
output defaultHostName string = functionApp.properties.defaultHostName

@description('Storage account holding the task hub and the job-batches queue.')
output storageAccountName string = storage.name

@description('Blob URL of the Elastic Premium package (unused on Flex Consumption).')
output premiumPackageUrl string = isFlex ? '' : '${storage.properties.primaryEndpoints.blob}${packageContainerName}/${premiumPackageBlobName}'

@description('Client id of the managed identity the app runs as.')
output identityClientId string = identity.properties.clientId
