using Azure.Storage;
using Azure.Storage.Sas;

namespace Pipelines.Storage.Azure;

/// <summary>
/// Creates service SAS tokens signed with the account key (by the SDK's <see cref="BlobSasBuilder"/>) for a
/// container or one blob — for handing a scoped, expiring grant to a worker that must not hold the account key.
/// </summary>
public static class SasBuilder
{
    /// <param name="permissions">In canonical order, e.g. "racwdl" (read, add, create, write, delete, list).</param>
    /// <param name="blobName">Null for a container SAS (sr=c), else a blob SAS (sr=b).</param>
    public static string ServiceSas(string accountName, byte[] key, string container, string? blobName, string permissions,
        DateTimeOffset expiresOn, DateTimeOffset? startsOn = null, string? protocol = null)
    {
        var builder = new BlobSasBuilder
        {
            BlobContainerName = container,
            BlobName = blobName ?? "",
            Resource = blobName is null ? "c" : "b",
            ExpiresOn = expiresOn,
            StartsOn = startsOn ?? default,
            Protocol = protocol switch
            {
                null => SasProtocol.None,
                "https" => SasProtocol.Https,
                "https,http" => SasProtocol.HttpsAndHttp,
                _ => throw new ArgumentException($"SAS protocol must be https or https,http, got '{protocol}'", nameof(protocol)),
            },
        };
        builder.SetPermissions(permissions);
        return builder.ToSasQueryParameters(new StorageSharedKeyCredential(accountName, Convert.ToBase64String(key))).ToString();
    }
}
