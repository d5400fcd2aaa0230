// The container registry the pipeline pushes the image to; deployed once, shared by every environment.
//   az deployment group create -g pipelines-shared -f infra/azure/registry.bicep -p registryName=pipelinesregistry
@description('Globally unique registry name (5-50 alphanumerics).')
@minLength(5)
@maxLength(50)
param registryName string
param location string = resourceGroup().location
param tags object = {}

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  name: registryName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  properties: {
    // Pulls and pushes use Entra ID (managed identities, the pipeline's service connection), never the admin user.
    adminUserEnabled: false
  }
}

output loginServer string = registry.properties.loginServer
