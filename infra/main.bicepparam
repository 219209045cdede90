// Parameters for infra/main.bicep. Defaults deploy Flex Consumption (FC1).
//   az deployment group create -g <resource-group> -f infra/main.bicep -p infra/main.bicepparam
// Environment overrides: DURABLEJOBS_PLAN_SKU=EP1 (Elastic Premium), DURABLEJOBS_DEPLOYER_ID=<object id> (may upload packages).
using './main.bicep'

param baseName = 'durablejobs'
param planSku = readEnvironmentVariable('DURABLEJOBS_PLAN_SKU', 'FC1')
param deployerPrincipalId = readEnvironmentVariable('DURABLEJOBS_DEPLOYER_ID', '')

// Task hub: the partition count caps how many instances run orchestrations at once; it cannot change after the hub exists.
param hubName = 'DurableJobsHub'
param partitionCount = 4
param batchQueueName = 'job-batches'

// Flex Consumption scale.
param flexMaximumInstanceCount = 100
param flexInstanceMemoryMB = 2048
param flexAlwaysReadyInstances = 0

// Elastic Premium scale (used when planSku is EP1 to EP3).
param premiumMinimumInstances = 1
param premiumMaximumInstances = 20

param tags = {
  app: 'DurableJobs'
}
