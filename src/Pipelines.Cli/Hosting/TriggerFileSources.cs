using Pipelines.Engine.Triggers;
using Pipelines.Storage.Azure;

namespace Pipelines.Cli.Hosting;

/// <summary>
/// What <c>file</c> triggers watch in a process of this program: local or mounted folders, and blob containers named
/// by URL, reached with the artifact store's credential when on its account (see <see cref="BlobLocations"/>).
/// </summary>
public sealed class TriggerFileSources(Func<BlobConnection?> artifactAccount) : ITriggerFiles
{
    private readonly LocalTriggerFiles _local = new();
    // Built on the first blob glob and kept: the leader lists every half second, and a credential made anew each
    // time would fetch a new token each time.
    private readonly Lazy<BlobLocations> _blobs = new(() => new BlobLocations(artifactAccount()));

    public async Task<IReadOnlyList<WatchedFile>> ListAsync(string glob, CancellationToken ct)
    {
        if (!IsUrl(glob)) return await _local.ListAsync(glob, ct);
        var blobs = await _blobs.Value.ListAsync(glob, url => TriggerFiring.GlobMatches(glob, url), ct);
        return blobs.Select(b => new WatchedFile(b.Url, b.Name, b.Size, b.Modified)).ToList();
    }

    public static bool IsUrl(string text) =>
        text.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("http://", StringComparison.OrdinalIgnoreCase);

    /// <summary>The artifact store's account when PIPELINES_ARTIFACTS names an Azure one; null for a folder.</summary>
    public static BlobConnection? ArtifactAccount(string? spec) =>
        !string.IsNullOrWhiteSpace(spec) && BlobConnection.LooksLikeAzure(spec) ? BlobConnection.Parse(spec) : null;
}
