using Pipelines.Storage.Azure;
using Pipelines.Storage.Local;

namespace Pipelines.Storage;

/// <summary>Opens the artifact store a configuration string names.</summary>
public static class ArtifactStores
{
    /// <summary>
    /// <paramref name="spec"/> is a folder path, an Azure Blob URL (<c>https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX][?SAS]</c>)
    /// or an Azure connection string (incl. <c>UseDevelopmentStorage=true</c>); null or empty means <paramref name="defaultFolder"/>.
    /// </summary>
    public static IArtifactStore Open(string? spec, string defaultFolder, BlobClientOptions? azureOptions = null) =>
        string.IsNullOrWhiteSpace(spec) ? new LocalFolderStore(defaultFolder)
        : BlobConnection.LooksLikeAzure(spec) ? new AzureBlobStore(BlobConnection.Parse(spec), azureOptions)
        : new LocalFolderStore(spec.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? new Uri(spec).LocalPath : spec);

    /// <summary>The URI prefix every key of <paramref name="store"/> shares (no secret): names the store in the registry.</summary>
    public static string BaseUri(IArtifactStore store) => store.UriFor("x")[..^1];

    /// <summary>The key of <paramref name="uri"/> in <paramref name="store"/>, or null when the URI lives elsewhere.</summary>
    public static string? KeyOf(IArtifactStore store, string uri)
    {
        var baseUri = BaseUri(store);
        if (!uri.StartsWith(baseUri, StringComparison.Ordinal)) return null;
        return string.Join('/', uri[baseUri.Length..].Split('/').Select(Uri.UnescapeDataString));
    }
}
