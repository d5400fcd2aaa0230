using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Pipelines.Storage.Azure;

/// <summary>
/// Creates service SAS tokens (signed with the account key, version 2020-12-06 layout) for a container or one
/// blob — for handing a scoped, expiring grant to a worker that must not hold the account key.
/// </summary>
public static class SasBuilder
{
    public const string Version = "2020-12-06";

    /// <param name="permissions">In canonical order, e.g. "racwdl" (read, add, create, write, delete, list).</param>
    /// <param name="blobName">Null for a container SAS (sr=c), else a blob SAS (sr=b).</param>
    public static string ServiceSas(string accountName, byte[] key, string container, string? blobName, string permissions,
        DateTimeOffset expiresOn, DateTimeOffset? startsOn = null, string? protocol = null)
    {
        var resource = blobName is null ? "c" : "b";
        var canonical = $"/blob/{accountName}/{container}" + (blobName is null ? "" : "/" + blobName);
        var start = startsOn is { } s ? Format(s) : "";
        var expiry = Format(expiresOn);
        var stringToSign = string.Join("\n",
            permissions, start, expiry, canonical,
            "",              // signed identifier
            "",              // signed IP
            protocol ?? "",  // signed protocol
            Version,
            resource,
            "",              // snapshot time
            "",              // encryption scope
            "", "", "", "", ""); // rscc, rscd, rsce, rscl, rsct
        var sig = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
        var query = new StringBuilder();
        query.Append("sv=").Append(Version);
        if (start.Length > 0) query.Append("&st=").Append(Uri.EscapeDataString(start));
        query.Append("&se=").Append(Uri.EscapeDataString(expiry));
        query.Append("&sr=").Append(resource);
        query.Append("&sp=").Append(permissions);
        if (protocol is not null) query.Append("&spr=").Append(protocol);
        query.Append("&sig=").Append(Uri.EscapeDataString(sig));
        return query.ToString();
    }

    private static string Format(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
