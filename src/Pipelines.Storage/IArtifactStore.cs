namespace Pipelines.Storage;

/// <summary>
/// Where artifact bytes live. Keys are relative, '/'-separated paths (see <see cref="ArtifactKey"/>).
/// Every write is a create: an existing object is never overwritten, and a new object becomes visible
/// whole or not at all. Reads verify what they return (Content-MD5, and SHA-256 where the store recorded it).
/// </summary>
public interface IArtifactStore
{
    /// <summary>A printable description of the location with every secret removed.</summary>
    string Location { get; }

    /// <summary>The URI recorded for <paramref name="key"/> in the artifact registry (never carries a secret).</summary>
    string UriFor(string key);

    /// <summary>
    /// Streams <paramref name="content"/> to a new object. Throws <see cref="ArtifactExistsException"/> when
    /// <paramref name="key"/> already exists (the existing object is left untouched).
    /// </summary>
    Task<StoredObject> CreateAsync(string key, Stream content, PutOptions? options = null, CancellationToken ct = default);

    /// <summary>Opens the object for reading; <paramref name="range"/> selects a byte range. Throws <see cref="ArtifactNotFoundException"/>.</summary>
    Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken ct = default);

    /// <summary>Size and hashes of an object, or null when it does not exist.</summary>
    Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken ct = default);

    /// <summary>One page of keys starting with <paramref name="prefix"/>, in ordinal order.</summary>
    Task<ListPage> ListAsync(string prefix, string? continuation = null, int pageSize = 1000, CancellationToken ct = default);

    /// <summary>Deletes an object; false when it did not exist.</summary>
    Task<bool> DeleteAsync(string key, CancellationToken ct = default);
}

public sealed record PutOptions
{
    public string ContentType { get; init; } = "application/octet-stream";
}

/// <summary>A byte range: <see cref="Length"/> null means "to the end".</summary>
public readonly record struct ByteRange(long Offset, long? Length = null)
{
    public override string ToString() => Length is { } n ? $"bytes={Offset}-{Offset + n - 1}" : $"bytes={Offset}-";
}

/// <summary>What a successful create wrote: the hashes were computed from the bytes as they streamed past.</summary>
public sealed record StoredObject(string Key, string Uri, long Size, string Sha256, byte[] Md5);

public sealed record ObjectInfo(string Key, long Size, DateTimeOffset LastModified, byte[]? Md5, string? Sha256);

public sealed record ListPage(IReadOnlyList<ObjectInfo> Items, string? Continuation);

public static class ArtifactStoreExtensions
{
    public static async Task<bool> ExistsAsync(this IArtifactStore store, string key, CancellationToken ct = default) =>
        await store.GetInfoAsync(key, ct) is not null;

    /// <summary>Every key under <paramref name="prefix"/>, following continuation tokens.</summary>
    public static async IAsyncEnumerable<ObjectInfo> ListAllAsync(this IArtifactStore store, string prefix, int pageSize = 1000,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        string? next = null;
        do
        {
            var page = await store.ListAsync(prefix, next, pageSize, ct);
            foreach (var item in page.Items) yield return item;
            next = page.Continuation;
        } while (next is not null);
    }

    public static async Task<byte[]> ReadAllBytesAsync(this IArtifactStore store, string key, ByteRange? range = null, CancellationToken ct = default)
    {
        await using var s = await store.OpenReadAsync(key, range, ct);
        var ms = new MemoryStream();
        await s.CopyToAsync(ms, ct);
        return ms.ToArray();
    }
}
