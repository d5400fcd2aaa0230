// Pipelines on Azure, one environment per resource group:
//   PostgreSQL Flexible Server (VNet-integrated, backups), a Storage account whose private "artifacts" container the
//   workloads reach with a managed identity (shared keys disabled), Key Vault for the connection strings, Log Analytics
//   and Application Insights (OpenTelemetry from the apps), and a Container Apps environment running the server, the
//   workers (scaled by a KEDA PostgreSQL rule on available steps) and the migrations job.
//
//   az deployment group create -g pipelines-dev -f infra/azure/main.bicep -p infra/azure/dev.bicepparam \
//     -p image=pipelinesregistry.azurecr.io/pipelines:1.4.2 -p postgresAdminPassword=...
targetScope = 'resourceGroup'

@allowed(['dev', 'prod'])
param environmentName string
param location string = resourceGroup().location
@description('Short prefix of every resource name.')
@minLength(3)
@maxLength(12)
param namePrefix string = 'pipelines'
@description('The image to run, e.g. pipelinesregistry.azurecr.io/pipelines:1.4.2.')
param image string
@description('The registry (registry.bicep) the image is pulled from, with the identity below.')
param registryName string
param registryResourceGroup string = resourceGroup().name

param postgresAdminLogin string = 'pipelinesadmin'
@secure()
@description('Stored only in Key Vault (as part of the connection strings); pass it from a secret pipeline variable.')
param postgresAdminPassword string
param postgresVersion string = '16'
param postgresSkuName string = 'Standard_B2s'
@allowed(['Burstable', 'GeneralPurpose', 'MemoryOptimized'])
param postgresSkuTier string = 'Burstable'
param postgresStorageGb int = 32
param postgresHighAvailability bool = false
@minValue(7)
@maxValue(35)
param postgresBackupRetentionDays int = 7
param postgresGeoRedundantBackup bool = false

@description('Steps one worker runs at once; the KEDA rule adds a worker per this many available or running steps.')
param workerConcurrency int = 4
@minValue(1)
@description('At least one: workers are the leader candidates that fire schedules.')
param workerMinReplicas int = 1
param workerMaxReplicas int = 10
param workerCpu string = '2.0'
param workerMemory string = '4Gi'
@description('Seconds a worker lets in-flight steps finish on shutdown before handing them back; below the 60 s Container Apps allows.')
param workerShutdownGraceSeconds int = 40

@description('Set after the first deployment, once an operator API key for the workers (pipelines keys create --role operator) is stored in Key Vault as "pipelines-worker-token": the server\'s MLflow endpoint needs it for the workers\' tracking.')
param workerTokenInKeyVault bool = false
param oidcAuthority string = ''
param oidcAudience string = ''
param logRetentionDays int = 30
param storageSku string = 'Standard_LRS'
param blobSoftDeleteDays int = 7
param zoneRedundant bool = false
param tags object = {}

var suffix = uniqueString(resourceGroup().id, environmentName)
var baseName = '${namePrefix}-${environmentName}'
var allTags = union(tags, { application: 'pipelines', environment: environmentName })
var databaseName = 'pipelines'
var roles = {
  storageBlobDataContributor: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
  keyVaultSecretsUser: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')
}

// ---- identity: one user-assigned identity for the server, the workers and the migrations job

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${baseName}'
  location: location
  tags: allTags
}

module acrPull 'modules/acr-pull.bicep' = {
  name: 'acr-pull-${environmentName}'
  scope: resourceGroup(registryResourceGroup)
  params: {
    registryName: registryName
    principalId: identity.properties.principalId
  }
}

// ---- network: Container Apps and PostgreSQL in one VNet; PostgreSQL has no public endpoint

resource vnet 'Microsoft.Network/virtualNetworks@2023-11-01' = {
  name: 'vnet-${baseName}'
  location: location
  tags: allTags
  properties: {
    addressSpace: {
      addressPrefixes: ['10.40.0.0/16']
    }
    subnets: [
      {
        name: 'apps'
        properties: {
          addressPrefix: '10.40.0.0/23'
          delegations: [
            {
              name: 'containerapps'
              properties: { serviceName: 'Microsoft.App/environments' }
            }
          ]
          serviceEndpoints: [
            { service: 'Microsoft.Storage' }
            { service: 'Microsoft.KeyVault' }
          ]
        }
      }
      {
        name: 'postgres'
        properties: {
          addressPrefix: '10.40.2.0/24'
          delegations: [
            {
              name: 'postgres'
              properties: { serviceName: 'Microsoft.DBforPostgreSQL/flexibleServers' }
            }
          ]
        }
      }
    ]
  }
}

resource postgresDns 'Microsoft.Network/privateDnsZones@2020-06-01' = {
  name: '${baseName}.private.postgres.database.azure.com'
  location: 'global'
  tags: allTags
}

resource postgresDnsLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = {
  parent: postgresDns
  name: 'vnet'
  location: 'global'
  properties: {
    registrationEnabled: false
    virtualNetwork: { id: vnet.id }
  }
}

// ---- PostgreSQL

resource postgres 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: 'psql-${baseName}-${suffix}'
  location: location
  tags: allTags
  sku: {
    name: postgresSkuName
    tier: postgresSkuTier
  }
  properties: {
    version: postgresVersion
    administratorLogin: postgresAdminLogin
    administratorLoginPassword: postgresAdminPassword
    storage: {
      storageSizeGB: postgresStorageGb
      autoGrow: 'Enabled'
    }
    backup: {
      backupRetentionDays: postgresBackupRetentionDays
      geoRedundantBackup: postgresGeoRedundantBackup ? 'Enabled' : 'Disabled'
    }
    highAvailability: {
      mode: postgresHighAvailability ? 'ZoneRedundant' : 'Disabled'
    }
    network: {
      delegatedSubnetResourceId: '${vnet.id}/subnets/postgres'
      privateDnsZoneArmResourceId: postgresDns.id
      publicNetworkAccess: 'Disabled'
    }
  }
  dependsOn: [postgresDnsLink]
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2024-08-01' = {
  parent: postgres
  name: databaseName
  properties: {
    charset: 'UTF8'
    collation: 'en_US.utf8'
  }
}

// ---- artifact store: a private container, reached with the managed identity only

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: take('st${replace(namePrefix, '-', '')}${environmentName}${suffix}', 24)
  location: location
  tags: allTags
  kind: 'StorageV2'
  sku: {
    name: storageSku
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Deny'
      bypass: 'AzureServices'
      virtualNetworkRules: [
        {
          id: '${vnet.id}/subnets/apps'
          action: 'Allow'
        }
      ]
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    // Artifacts are written once; soft delete and versioning are the undo for a mistaken delete (see README: backups).
    deleteRetentionPolicy: {
      enabled: true
      days: blobSoftDeleteDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: blobSoftDeleteDays
    }
    isVersioningEnabled: true
  }
}

resource artifactsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'artifacts'
  properties: {
    publicAccess: 'None'
  }
}

resource artifactsWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(artifactsContainer.id, identity.id, roles.storageBlobDataContributor)
  scope: artifactsContainer
  properties: {
    roleDefinitionId: roles.storageBlobDataContributor
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// The built-in MLflow endpoint's artifact folder: an NFS share (no account key; reachable from the VNet only).
resource files 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: take('nfs${replace(namePrefix, '-', '')}${environmentName}${suffix}', 24)
  location: location
  tags: allTags
  kind: 'FileStorage'
  sku: {
    name: 'Premium_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    // NFS shares carry no TLS; they are reachable only from the apps subnet.
    supportsHttpsTrafficOnly: false
    networkAcls: {
      defaultAction: 'Deny'
      bypass: 'AzureServices'
      virtualNetworkRules: [
        {
          id: '${vnet.id}/subnets/apps'
          action: 'Allow'
        }
      ]
    }
  }
}

resource fileService 'Microsoft.Storage/storageAccounts/fileServices@2023-05-01' = {
  parent: files
  name: 'default'
}

resource mlflowShare 'Microsoft.Storage/storageAccounts/fileServices/shares@2023-05-01' = {
  parent: fileService
  name: 'mlflow-artifacts'
  properties: {
    enabledProtocols: 'NFS'
    rootSquash: 'NoRootSquash'
    shareQuota: 100
  }
}

// ---- secrets

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: take('kv-${namePrefix}-${environmentName}-${suffix}', 24)
  location: location
  tags: allTags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: environmentName == 'prod' ? true : null
    publicNetworkAccess: 'Enabled'
  }
}

resource vaultReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: roles.keyVaultSecretsUser
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource dbSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'pipelines-db'
  properties: {
    contentType: 'Npgsql connection string'
    value: 'Host=${postgres.properties.fullyQualifiedDomainName};Port=5432;Database=${databaseName};Username=${postgresAdminLogin};Password=${postgresAdminPassword};SSL Mode=Require'
  }
}

resource kedaSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'pipelines-keda-connection'
  properties: {
    contentType: 'libpq connection string (KEDA postgresql scaler)'
    value: 'host=${postgres.properties.fullyQualifiedDomainName} port=5432 dbname=${databaseName} user=${postgresAdminLogin} password=${postgresAdminPassword} sslmode=require'
  }
}

// ---- monitoring

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${baseName}'
  location: location
  tags: allTags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${baseName}'
  location: location
  tags: allTags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: false
  }
}

// ---- Container Apps

resource environment 'Microsoft.App/managedEnvironments@2024-10-02-preview' = {
  name: 'cae-${baseName}'
  location: location
  tags: allTags
  properties: {
    zoneRedundant: zoneRedundant
    vnetConfiguration: {
      infrastructureSubnetId: '${vnet.id}/subnets/apps'
      internal: false
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
    ]
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
    // The environment's managed OpenTelemetry agent: the apps get OTEL_EXPORTER_OTLP_ENDPOINT and their traces and
    // logs arrive in Application Insights.
    appInsightsConfiguration: {
      connectionString: insights.properties.ConnectionString
    }
    openTelemetryConfiguration: {
      tracesConfiguration: {
        destinations: ['appInsights']
      }
      logsConfiguration: {
        destinations: ['appInsights']
      }
    }
  }
}

resource mlflowStorage 'Microsoft.App/managedEnvironments/storages@2024-10-02-preview' = {
  parent: environment
  name: 'mlflow-artifacts'
  properties: {
    nfsAzureFile: {
      server: '${files.name}.file.${az.environment().suffixes.storage}'
      shareName: '/${files.name}/${mlflowShare.name}'
      accessMode: 'ReadWrite'
    }
  }
}

var registryServer = '${registryName}${az.environment().suffixes.acrLoginServer}'
var artifactsUrl = '${storage.properties.primaryEndpoints.blob}${artifactsContainer.name}'
var secrets = [
  {
    name: 'pipelines-db'
    keyVaultUrl: dbSecret.properties.secretUri
    identity: identity.id
  }
  {
    name: 'pipelines-keda-connection'
    keyVaultUrl: kedaSecret.properties.secretUri
    identity: identity.id
  }
]
var commonEnv = [
  { name: 'PIPELINES_DB', secretRef: 'pipelines-db' }
  // A plain container URL: DefaultAzureCredential uses the managed identity below (no key, no SAS).
  { name: 'PIPELINES_ARTIFACTS', value: artifactsUrl }
  { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
  { name: 'OTEL_SERVICE_NAME', value: 'pipelines' }
]

resource server 'Microsoft.App/containerApps@2024-10-02-preview' = {
  name: 'ca-${baseName}-server'
  location: location
  tags: allTags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    environmentId: environment.id
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: true
        targetPort: 8080
        transport: 'http'
        allowInsecure: false
      }
      registries: [
        {
          server: registryServer
          identity: identity.id
        }
      ]
      secrets: secrets
    }
    template: {
      containers: [
        {
          name: 'server'
          image: image
          args: ['server']
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
          env: concat(commonEnv, [
            { name: 'PIPELINES_OIDC_AUTHORITY', value: oidcAuthority }
            { name: 'PIPELINES_OIDC_AUDIENCE', value: oidcAudience }
            { name: 'PIPELINES_SECURE_COOKIES', value: 'true' }
            { name: 'PIPELINES_WORKFLOWS', value: '/app/workflows/adult-income-nightly.yaml /app/workflows/adult-income-scoring.yaml /app/workflows/energy-demand-nightly.yaml' }
          ])
          probes: [
            {
              type: 'Startup'
              httpGet: { path: '/healthz', port: 8080 }
              periodSeconds: 2
              failureThreshold: 60
            }
            {
              type: 'Liveness'
              httpGet: { path: '/healthz', port: 8080 }
              periodSeconds: 10
              failureThreshold: 3
            }
            {
              type: 'Readiness'
              httpGet: { path: '/readyz', port: 8080 }
              periodSeconds: 5
              failureThreshold: 2
            }
          ]
          volumeMounts: [
            { volumeName: 'mlflow-artifacts', mountPath: '/var/lib/pipelines/mlflow-artifacts' }
            { volumeName: 'state', mountPath: '/var/lib/pipelines' }
          ]
        }
      ]
      volumes: [
        { name: 'mlflow-artifacts', storageType: 'NfsAzureFile', storageName: mlflowStorage.name }
        { name: 'state', storageType: 'EmptyDir' }
      ]
      scale: {
        minReplicas: 1
        maxReplicas: environmentName == 'prod' ? 2 : 1
      }
    }
  }
  dependsOn: [acrPull, vaultReader, artifactsWriter]
}

var workerTokenSecret = workerTokenInKeyVault ? [
  {
    name: 'pipelines-worker-token'
    keyVaultUrl: '${vault.properties.vaultUri}secrets/pipelines-worker-token'
    identity: identity.id
  }
] : []
var workerTokenEnv = workerTokenInKeyVault ? [{ name: 'MLFLOW_TRACKING_TOKEN', secretRef: 'pipelines-worker-token' }] : []

resource worker 'Microsoft.App/containerApps@2024-10-02-preview' = {
  name: 'ca-${baseName}-worker'
  location: location
  tags: allTags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    environmentId: environment.id
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      registries: [
        {
          server: registryServer
          identity: identity.id
        }
      ]
      secrets: concat(secrets, workerTokenSecret)
    }
    template: {
      // Longer than the shutdown grace: the worker hands back its steps before it is killed.
      terminationGracePeriodSeconds: workerShutdownGraceSeconds + 20
      containers: [
        {
          name: 'worker'
          image: image
          args: ['worker']
          resources: {
            cpu: json(workerCpu)
            memory: workerMemory
          }
          env: concat(commonEnv, [
            { name: 'PIPELINES_WORKER_CONCURRENCY', value: string(workerConcurrency) }
            { name: 'PIPELINES_SHUTDOWN_GRACE', value: '${workerShutdownGraceSeconds}s' }
            { name: 'MLFLOW_TRACKING_URI', value: 'https://${server.properties.configuration.ingress.fqdn}' }
          ], workerTokenEnv)
          volumeMounts: [
            { volumeName: 'state', mountPath: '/var/lib/pipelines' }
          ]
        }
      ]
      volumes: [
        { name: 'state', storageType: 'EmptyDir' }
      ]
      scale: {
        minReplicas: workerMinReplicas
        maxReplicas: workerMaxReplicas
        rules: [
          {
            // KEDA's postgresql scaler: steps claimable now plus steps running, per worker's concurrency
            // (the same query as infra/k8s/components/keda).
            name: 'available-steps'
            custom: {
              type: 'postgresql'
              metadata: {
                query: 'SELECT count(*) FROM step_runs WHERE queue = ANY(\'{default}\'::text[]) AND (state = \'running\' OR (state = \'available\' AND available_at <= now()))'
                targetQueryValue: string(workerConcurrency)
                activationTargetQueryValue: '0'
              }
              auth: [
                {
                  secretRef: 'pipelines-keda-connection'
                  triggerParameter: 'connection'
                }
              ]
            }
          }
        ]
      }
    }
  }
  dependsOn: [acrPull, vaultReader, artifactsWriter]
}

// Migrations before a rollout: the pipeline starts this job with the new image and waits for it.
resource migrate 'Microsoft.App/jobs@2024-10-02-preview' = {
  name: 'caj-${baseName}-migrate'
  location: location
  tags: allTags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    environmentId: environment.id
    workloadProfileName: 'Consumption'
    configuration: {
      triggerType: 'Manual'
      replicaTimeout: 900
      replicaRetryLimit: 2
      manualTriggerConfig: {
        parallelism: 1
        replicaCompletionCount: 1
      }
      registries: [
        {
          server: registryServer
          identity: identity.id
        }
      ]
      secrets: [secrets[0]]
    }
    template: {
      containers: [
        {
          name: 'migrate'
          image: image
          args: ['migrate']
          resources: {
            cpu: json('0.25')
            memory: '0.5Gi'
          }
          env: [
            { name: 'PIPELINES_DB', secretRef: 'pipelines-db' }
          ]
        }
      ]
    }
  }
  dependsOn: [acrPull, vaultReader]
}

output serverUrl string = 'https://${server.properties.configuration.ingress.fqdn}'
output identityClientId string = identity.properties.clientId
output artifactsUrl string = artifactsUrl
output postgresHost string = postgres.properties.fullyQualifiedDomainName
output keyVaultName string = vault.name
output migrateJobName string = migrate.name
output applicationInsightsName string = insights.name
