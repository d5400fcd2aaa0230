using Azure.Core;

namespace Pipelines.Storage.Azure;

/// <summary>
/// Where an Azure Blob artifact store lives: the service endpoint, the account, a container and a key prefix
/// inside it, and the credential. Parsed from a connection string or a URL; <see cref="ToString"/> is safe to log.
/// </summary>
public sealed record BlobConnection(Uri ServiceEndpoint, string AccountName, string Container, string Prefix, BlobCredential Credential)
{
    public const string DefaultContainer = "artifacts";
    public const string DevelopmentAccount = "devstoreaccount1";
    // Azurite's documented, well-known development key; it protects nothing.
    public const string DevelopmentKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    public Uri ContainerUri => new(ServiceEndpoint.AbsoluteUri.TrimEnd('/') + "/" + Uri.EscapeDataString(Container));

    public override string ToString() => $"{ContainerUri}/{Prefix} ({Credential})";

    /// <summary>True when <paramref name="text"/> looks like an Azure connection string or blob URL rather than a folder.</summary>
    public static bool LooksLikeAzure(string text) =>
        text.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ||
        text.Contains("UseDevelopmentStorage=", StringComparison.OrdinalIgnoreCase) ||
        text.Contains("AccountName=", StringComparison.OrdinalIgnoreCase) || text.Contains("BlobEndpoint=", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Parses either a URL <c>https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX][?SAS]</c> (a URL without a
    /// SAS uses <paramref name="tokenCredential"/>, by default Azure.Identity's DefaultAzureCredential) or a
    /// connection string with the standard keys (<c>UseDevelopmentStorage</c>, <c>DefaultEndpointsProtocol</c>,
    /// <c>AccountName</c>, <c>AccountKey</c>, <c>BlobEndpoint</c>, <c>EndpointSuffix</c>,
    /// <c>SharedAccessSignature</c>) plus our <c>Container</c> and <c>Prefix</c>.
    /// </summary>
    public static BlobConnection Parse(string text, TokenCredential? tokenCredential = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        text = text.Trim();
        return text.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
            ? ParseUrl(text, tokenCredential)
            : ParseConnectionString(text, tokenCredential);
    }

    private static BlobConnection ParseUrl(string text, TokenCredential? tokenCredential)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri)) throw new FormatException("invalid blob URL: " + Redaction.Redact(text));
        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToList();
        string account;
        var serviceEndpoint = uri.GetLeftPart(UriPartial.Authority);
        if (IsPathStyle(uri))
        {
            if (segments.Count == 0) throw new FormatException("blob URL on an IP or localhost needs the account as the first path segment: " + Redaction.Redact(text));
            account = segments[0];
            segments.RemoveAt(0);
            serviceEndpoint += "/" + account;
        }
        else account = uri.Host.Split('.')[0];
        if (segments.Count == 0) throw new FormatException("blob URL must name a container: " + Redaction.Redact(text));
        var container = segments[0];
        var prefix = NormalizePrefix(string.Join('/', segments.Skip(1)));
        var query = uri.Query.TrimStart('?');
        BlobCredential credential = query.Contains("sig=", StringComparison.OrdinalIgnoreCase)
            ? new BlobCredential.Sas(query)
            : new BlobCredential.EntraId(tokenCredential ?? new global::Azure.Identity.DefaultAzureCredential());
        return new BlobConnection(new Uri(serviceEndpoint), account, container, prefix, credential);
    }

    private static BlobConnection ParseConnectionString(string text, TokenCredential? tokenCredential)
    {
        var parts = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var piece in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = piece.IndexOf('=');
            if (eq <= 0) throw new FormatException($"connection string part '{Redaction.Redact(piece)}' is not KEY=VALUE");
            parts[piece[..eq].Trim()] = piece[(eq + 1)..].Trim();
        }
        var container = parts.GetValueOrDefault("Container") ?? DefaultContainer;
        var prefix = NormalizePrefix(parts.GetValueOrDefault("Prefix") ?? "");
        if (parts.TryGetValue("UseDevelopmentStorage", out var dev) && dev.Equals("true", StringComparison.OrdinalIgnoreCase))
        {
            var proxy = parts.GetValueOrDefault("DevelopmentStorageProxyUri");
            var endpoint = proxy is null ? "http://127.0.0.1:10000" : proxy.TrimEnd('/') + ":10000";
            return new BlobConnection(new Uri(endpoint + "/" + DevelopmentAccount), DevelopmentAccount, container, prefix,
                new BlobCredential.SharedKey(DevelopmentAccount, Convert.FromBase64String(DevelopmentKey)));
        }
        var accountName = parts.GetValueOrDefault("AccountName");
        Uri blobEndpoint;
        if (parts.TryGetValue("BlobEndpoint", out var be))
            blobEndpoint = new Uri(be.TrimEnd('/'));
        else if (accountName is not null)
            blobEndpoint = new Uri($"{parts.GetValueOrDefault("DefaultEndpointsProtocol") ?? "https"}://{accountName}.blob.{parts.GetValueOrDefault("EndpointSuffix") ?? "core.windows.net"}");
        else throw new FormatException("connection string needs AccountName or BlobEndpoint (or UseDevelopmentStorage=true)");
        accountName ??= IsPathStyle(blobEndpoint) ? blobEndpoint.AbsolutePath.Trim('/').Split('/')[0] : blobEndpoint.Host.Split('.')[0];

        BlobCredential credential;
        if (parts.TryGetValue("AccountKey", out var key))
        {
            byte[] keyBytes;
            try { keyBytes = Convert.FromBase64String(key); }
            catch (FormatException) { throw new FormatException("AccountKey is not valid base64"); }
            credential = new BlobCredential.SharedKey(accountName, keyBytes);
        }
        else if (parts.TryGetValue("SharedAccessSignature", out var sas)) credential = new BlobCredential.Sas(sas.TrimStart('?'));
        else credential = new BlobCredential.EntraId(tokenCredential ?? new global::Azure.Identity.DefaultAzureCredential());
        return new BlobConnection(blobEndpoint, accountName, container, prefix, credential);
    }

    /// <summary>Emulators and IP endpoints put the account in the path (<c>http://127.0.0.1:10000/devstoreaccount1</c>).</summary>
    internal static bool IsPathStyle(Uri uri) => uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 || uri.IsLoopback;

    private static string NormalizePrefix(string prefix)
    {
        prefix = prefix.Trim('/');
        if (prefix.Length == 0) return "";
        ArtifactKey.Validate(prefix);
        return prefix + "/";
    }
}
