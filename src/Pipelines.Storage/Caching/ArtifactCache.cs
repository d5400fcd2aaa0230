using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Pipelines.Storage.Caching;

public sealed record ArtifactCacheOptions
{
    public long MaxBytes { get; init; } = 10L << 30;
    /// <summary>Re-hash a cached file on every hit (entries are verified when they enter; this also catches local disk rot).</summary>
    public bool VerifyOnHit { get; init; }
    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>
/// A size-bounded local copy of remote artifacts for activities. Entries are named by SHA-256, enter only
/// after the downloaded bytes hashed to the expected value, and are evicted least-recently-used first
/// (the last use is the file's modification time, so the order survives restarts and is shared by processes
/// using the same folder).
/// </summary>
public sealed class ArtifactCache
{
    private readonly IArtifactStore _store;
    private readonly ArtifactCacheOptions _options;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new();
    private readonly SemaphoreSlim _evictLock = new(1, 1);
    private long _hits, _misses;

    public ArtifactCache(IArtifactStore store, string root, ArtifactCacheOptions? options = null)
    {
        _store = store;
        _options = options ?? new ArtifactCacheOptions();
        Root = Path.GetFullPath(root);
        Directory.CreateDirectory(Path.Combine(Root, ".tmp"));
    }

    public string Root { get; }
    public long Hits => Interlocked.Read(ref _hits);
    public long Misses => Interlocked.Read(ref _misses);

    public long SizeBytes => Entries().Sum(f => f.Length);

    /// <summary>A local path holding the bytes of <paramref name="key"/>, which must hash to <paramref name="sha256"/>.</summary>
    public async Task<string> GetAsync(string key, string sha256, CancellationToken ct = default)
    {
        sha256 = sha256.ToLowerInvariant();
        if (sha256.Length != 64 || !sha256.All(Uri.IsHexDigit)) throw new ArgumentException($"'{sha256}' is not a SHA-256 hex digest", nameof(sha256));
        var path = Path.Combine(Root, sha256);
        var gate = _locks.GetOrAdd(sha256, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            if (File.Exists(path))
            {
                if (!_options.VerifyOnHit || await HashOfAsync(path, ct) == sha256)
                {
                    Touch(path);
                    Interlocked.Increment(ref _hits);
                    return path;
                }
                File.Delete(path); // rotted on disk: fetch again
            }
            Interlocked.Increment(ref _misses);
            var temp = Path.Combine(Root, ".tmp", Guid.NewGuid().ToString("N"));
            try
            {
                long size = 0;
                using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
                {
                    await using (var source = await _store.OpenReadAsync(key, null, ct))
                    await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
                    {
                        var buffer = new byte[1 << 20];
                        int n;
                        while ((n = await source.ReadAsync(buffer, ct)) > 0)
                        {
                            hash.AppendData(buffer, 0, n);
                            await file.WriteAsync(buffer.AsMemory(0, n), ct);
                            size += n;
                        }
                    }
                    var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
                    if (actual != sha256)
                        throw new ArtifactIntegrityException($"cached download of '{key}': SHA-256 mismatch (expected {sha256}, got {actual})");
                }
                if (size > _options.MaxBytes)
                    throw new ArtifactStoreException($"'{key}' ({size} bytes) is larger than the whole cache ({_options.MaxBytes} bytes)");
                await MakeRoomAsync(size, ct);
                File.Move(temp, path, overwrite: true);
                Touch(path);
                return path;
            }
            finally
            {
                File.Delete(temp);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    private void Touch(string path) => File.SetLastWriteTimeUtc(path, _options.Time.GetUtcNow().UtcDateTime);

    private IEnumerable<FileInfo> Entries() =>
        new DirectoryInfo(Root).EnumerateFiles().Where(f => f.Name.Length == 64);

    private async Task MakeRoomAsync(long incoming, CancellationToken ct)
    {
        await _evictLock.WaitAsync(ct);
        try
        {
            var entries = Entries().OrderBy(f => f.LastWriteTimeUtc).ThenBy(f => f.Name, StringComparer.Ordinal).ToList();
            var total = entries.Sum(f => f.Length);
            foreach (var victim in entries)
            {
                if (total + incoming <= _options.MaxBytes) break;
                // An open reader keeps its bytes on Unix even after the name is gone.
                var length = victim.Length;
                try { victim.Delete(); total -= length; }
                catch (IOException) { }
            }
        }
        finally
        {
            _evictLock.Release();
        }
    }

    private static async Task<string> HashOfAsync(string path, CancellationToken ct)
    {
        await using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(f, ct));
    }
}
