// Dev: smallest sizes, no HA, short retention. Pass image and postgresAdminPassword at deploy time.
using 'main.bicep'

param environmentName = 'dev'
param registryName = 'pipelinesregistry'
param registryResourceGroup = 'pipelines-shared'
param image = readEnvironmentVariable('PIPELINES_IMAGE', 'pipelinesregistry.azurecr.io/pipelines:latest')
param postgresAdminPassword = readEnvironmentVariable('POSTGRES_ADMIN_PASSWORD', '')
param postgresSkuName = 'Standard_B2s'
param postgresSkuTier = 'Burstable'
param postgresStorageGb = 32
param postgresHighAvailability = false
param postgresBackupRetentionDays = 7
param postgresGeoRedundantBackup = false
param workerConcurrency = 2
param workerMinReplicas = 1
param workerMaxReplicas = 3
param workerCpu = '1.0'
param workerMemory = '2Gi'
param logRetentionDays = 30
param storageSku = 'Standard_LRS'
param blobSoftDeleteDays = 7
param zoneRedundant = false
param tags = {
  costCenter: 'ml-platform'
}
