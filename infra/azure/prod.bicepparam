// Prod: zone-redundant PostgreSQL with 35 days of geo-redundant backups, ZRS artifacts with 30 days of soft delete,
// up to 10 workers. Pass image and postgresAdminPassword at deploy time.
using 'main.bicep'

param environmentName = 'prod'
param registryName = 'pipelinesregistry'
param registryResourceGroup = 'pipelines-shared'
param image = readEnvironmentVariable('PIPELINES_IMAGE', 'pipelinesregistry.azurecr.io/pipelines:latest')
param postgresAdminPassword = readEnvironmentVariable('POSTGRES_ADMIN_PASSWORD', '')
param postgresSkuName = 'Standard_D4ds_v5'
param postgresSkuTier = 'GeneralPurpose'
param postgresStorageGb = 256
param postgresHighAvailability = true
param postgresBackupRetentionDays = 35
param postgresGeoRedundantBackup = true
param workerConcurrency = 4
param workerMinReplicas = 1
param workerMaxReplicas = 10
param workerCpu = '2.0'
param workerMemory = '4Gi'
param oidcAuthority = 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0'
param oidcAudience = 'api://pipelines'
param logRetentionDays = 90
param storageSku = 'Standard_ZRS'
param blobSoftDeleteDays = 30
param zoneRedundant = true
param tags = {
  costCenter: 'ml-platform'
}
