using Azure.Core;

namespace Pipelines.Storage.Azure;

/// <summary>A blob found under a watched URL: its URL (no credentials) and what a trigger reports of it.</summary>
public sealed record BlobEntry(string Url, string Name, long Size, DateTimeOffset Modified);

/// <summary>
/// Blobs named by URL outside the artifact store's own keys — a container a <c>file</c> trigger watches, the source an
/// <c>ingest</c> step reads. URLs carry no credentials (workflow files are stored and shown); a blob on the artifact
/// store's account and endpoint is reached with the store's credential (its connection string, SAS or managed
/// identity), any other with Azure's default credential (managed identity, environment, Azure CLI login).
/// </summary>
public sealed class BlobLocations(BlobConnection? artifactStore, BlobClientOptions? options = null, Func<TokenCredential>? defaultCredential = null)
{
    // One default credential for the lifetime of this object, so its tokens are cached between calls.
    private readonly Lazy<BlobCredential> _default = new(() =>
        new BlobCredential.EntraId(defaultCredential?.Invoke() ?? new global::Azure.Identity.DefaultAzureCredential()));

    /// <summary>Whether <paramref name="url"/> names a blob on the artifact store's account (so its credential applies).</summary>
    public bool IsOnArtifactAccount(string url) => artifactStore is not null && SameAccount(Parse(url), artifactStore);

    /// <summary>The blobs a glob URL matches now (<c>https://ACCOUNT.blob.core.windows.net/CONTAINER/incoming/*.csv</c>).</summary>
    /// <param name="matches">The glob test, given a blob's URL (the caller owns the glob rules).</param>
    public async Task<IReadOnlyList<BlobEntry>> ListAsync(string globUrl, Func<string, bool> matches, CancellationToken ct)
    {
        // The folder part before the first wildcard's segment names the container and a prefix to list under; a
        // blob's URL is that text (as the glob has it) followed by the rest of the blob's name.
        var firstWild = globUrl.IndexOfAny(['*', '?', '[']);
        var cut = firstWild < 0 ? globUrl.Length : firstWild;
        var root = globUrl[..(globUrl.LastIndexOf('/', Math.Max(cut - 1, 0)) + 1)];
        var location = Parse(root);
        var container = location with { Prefix = "", Credential = CredentialFor(location) };
        var prefix = location.Prefix;
        using var store = new AzureBlobStore(container, options);
        var found = new List<BlobEntry>();
        string? continuation = null;
        do
        {
            var page = await store.ListAsync(prefix, continuation, 5000, ct);
            foreach (var item in page.Items)
            {
                var url = root + item.Key[prefix.Length..];
                if (!matches(url)) continue;
                found.Add(new BlobEntry(url, item.Key[(item.Key.LastIndexOf('/') + 1)..], item.Size, item.LastModified));
            }
            continuation = page.Continuation;
        } while (continuation is not null);
        return found;
    }

    /// <summary>Downloads the blob at <paramref name="url"/> to <paramref name="target"/>.</summary>
    public async Task DownloadAsync(string url, string target, CancellationToken ct)
    {
        var location = Parse(url);
        var name = location.Prefix.TrimEnd('/');
        using var store = new AzureBlobStore(location with { Prefix = "", Credential = CredentialFor(location) }, options);
        await using var source = await store.OpenReadAsync(name, ct: ct);
        await using var file = File.Create(target);
        await source.CopyToAsync(file, ct);
    }

    private BlobConnection Parse(string url) =>
        // The credential is decided below; parsing must not build Azure's default credential for nothing.
        BlobConnection.Parse(url, tokenCredential: NoCredential.Instance);

    private BlobCredential CredentialFor(BlobConnection location) =>
        artifactStore is not null && SameAccount(location, artifactStore)
            ? artifactStore.Credential
            : _default.Value;

    private static bool SameAccount(BlobConnection a, BlobConnection b) =>
        string.Equals(a.AccountName, b.AccountName, StringComparison.OrdinalIgnoreCase) &&
        string.Equals(a.ServiceEndpoint.AbsoluteUri.TrimEnd('/'), b.ServiceEndpoint.AbsoluteUri.TrimEnd('/'), StringComparison.OrdinalIgnoreCase);

    /// <summary>A placeholder while parsing; never asked for a token.</summary>
    private sealed class NoCredential : TokenCredential
    {
        public static readonly NoCredential Instance = new();
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) => throw new InvalidOperationException("no credential chosen yet");
        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) => throw new InvalidOperationException("no credential chosen yet");
    }
}
