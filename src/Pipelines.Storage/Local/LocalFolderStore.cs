using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Pipelines.Storage.Local;

/// <summary>
/// Artifacts as files under a root folder. A create streams into <c>.incoming/</c>, flushes to disk, then
/// hard-links the file to its key (link(2) fails if the name exists, so two racing creates cannot both win
/// and a reader never sees a half-written file).
/// </summary>
public sealed partial class LocalFolderStore : IArtifactStore
{
    private const string Incoming = ".incoming";

    public LocalFolderStore(string root)
    {
        Root = Path.GetFullPath(root);
        Directory.CreateDirectory(Path.Combine(Root, Incoming));
    }

    public string Root { get; }
    public string Location => Root;

    public string UriFor(string key) => new Uri(PathFor(key)).AbsoluteUri;

    private string PathFor(string key)
    {
        ArtifactKey.Validate(key);
        if (key == Incoming || key.StartsWith(Incoming + "/", StringComparison.Ordinal))
            throw new ArgumentException($"invalid artifact key '{key}': '{Incoming}' is reserved", nameof(key));
        return Path.Combine(Root, key.Replace('/', Path.DirectorySeparatorChar));
    }

    public async Task<StoredObject> CreateAsync(string key, Stream content, PutOptions? options = null, CancellationToken ct = default)
    {
        var path = PathFor(key);
        if (File.Exists(path)) throw new ArtifactExistsException(key);
        var temp = Path.Combine(Root, Incoming, Guid.NewGuid().ToString("N"));
        try
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
            long size = 0;
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                var buffer = new byte[1 << 20];
                int n;
                while ((n = await content.ReadAsync(buffer, ct)) > 0)
                {
                    sha.AppendData(buffer, 0, n);
                    md5.AppendData(buffer, 0, n);
                    await file.WriteAsync(buffer.AsMemory(0, n), ct);
                    size += n;
                }
                await file.FlushAsync(ct);
                file.Flush(flushToDisk: true);
            }
            // Crash point: before the link the artifact does not exist; after it, it exists whole.
            if (!await LinkIntoFolderAsync(temp, path, ct)) throw new ArtifactExistsException(key);
            return new StoredObject(key, UriFor(key), size, Convert.ToHexStringLower(sha.GetHashAndReset()), md5.GetHashAndReset());
        }
        finally
        {
            File.Delete(temp);
        }
    }

    public Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken ct = default)
    {
        var path = PathFor(key);
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ArtifactNotFoundException(key);
        }
        if (range is not { } r) return Task.FromResult<Stream>(file);
        if (r.Offset < 0 || r.Offset > file.Length || r.Length < 0)
        {
            file.Dispose();
            throw new ArgumentOutOfRangeException(nameof(range), $"range {r} is outside '{key}' ({file.Length} bytes)");
        }
        file.Position = r.Offset;
        var length = Math.Min(r.Length ?? long.MaxValue, file.Length - r.Offset);
        return Task.FromResult<Stream>(new BoundedStream(file, length));
    }

    public Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken ct = default)
    {
        var info = new FileInfo(PathFor(key));
        return Task.FromResult(info.Exists ? ToInfo(key, info) : null);
    }

    private static ObjectInfo ToInfo(string key, FileInfo f) => new(key, f.Length, f.LastWriteTimeUtc, null, null);

    public Task<ListPage> ListAsync(string prefix, string? continuation = null, int pageSize = 1000, CancellationToken ct = default)
    {
        ArtifactKey.ValidatePrefix(prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        // Start from the deepest folder the prefix names completely.
        var slash = prefix.LastIndexOf('/');
        var start = slash < 0 ? Root : Path.Combine(Root, prefix[..slash].Replace('/', Path.DirectorySeparatorChar));
        var keys = new List<(string Key, FileInfo File)>();
        if (Directory.Exists(start))
            foreach (var f in new DirectoryInfo(start).EnumerateFiles("*", SearchOption.AllDirectories))
            {
                var key = Path.GetRelativePath(Root, f.FullName).Replace(Path.DirectorySeparatorChar, '/');
                if (key.StartsWith(Incoming + "/", StringComparison.Ordinal)) continue;
                if (!key.StartsWith(prefix, StringComparison.Ordinal)) continue;
                if (continuation is not null && string.CompareOrdinal(key, continuation) <= 0) continue;
                keys.Add((key, f));
            }
        keys.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        var page = keys.Take(pageSize).Select(k => ToInfo(k.Key, k.File)).ToList();
        return Task.FromResult(new ListPage(page, keys.Count > pageSize ? page[^1].Key : null));
    }

    public Task<bool> DeleteAsync(string key, CancellationToken ct = default)
    {
        var path = PathFor(key);
        if (!File.Exists(path)) return Task.FromResult(false);
        File.Delete(path);
        // Tidy empty folders up to the root; a racing create may recreate them, which is harmless.
        for (var dir = Path.GetDirectoryName(path); dir is not null && dir.Length > Root.Length; dir = Path.GetDirectoryName(dir))
        {
            try
            {
                if (Directory.EnumerateFileSystemEntries(dir).Any()) break;
                Directory.Delete(dir);
            }
            catch (IOException) { break; }
        }
        return Task.FromResult(true);
    }

    /// <summary>
    /// Links <paramref name="temp"/> to <paramref name="path"/>, creating its folder. A delete of the last file in a
    /// folder removes the folder (see <see cref="DeleteAsync"/>), and artifact collection deletes while workers
    /// create: the folder can vanish between its creation and the link, so that case creates it again.
    /// </summary>
    private static async Task<bool> LinkIntoFolderAsync(string temp, string path, CancellationToken ct)
    {
        for (var tries = 1; ; tries++)
        {
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                return TryLinkNew(temp, path);
            }
            catch (DirectoryNotFoundException) when (tries < 10)
            {
                await Task.Yield();
                ct.ThrowIfCancellationRequested();
            }
        }
    }

    private static bool TryLinkNew(string source, string destination)
    {
        if (OperatingSystem.IsWindows())
        {
            try { File.Move(source, destination, overwrite: false); return true; }
            catch (IOException) when (File.Exists(destination)) { return false; }
        }
        if (Link(source, destination) == 0) return true;
        var errno = Marshal.GetLastPInvokeError();
        if (errno == 17 /* EEXIST */) return false;
        if (errno == 2 /* ENOENT: the folder was removed meanwhile */) throw new DirectoryNotFoundException($"link('{source}', '{destination}'): folder vanished");
        throw new IOException($"link('{source}', '{destination}') failed with errno {errno}");
    }

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string oldPath, string newPath);
}

/// <summary>Reads at most <c>length</c> bytes of the inner stream from its current position.</summary>
internal sealed class BoundedStream(Stream inner, long length) : ReadOnlyStream
{
    private readonly long _length = length;
    private long _remaining = length;
    public override long Length => _length;
    public override long Position { get => _length - _remaining; set => throw new NotSupportedException(); }

    public override int Read(Span<byte> buffer)
    {
        if (_remaining <= 0) return 0;
        var n = inner.Read(buffer[..(int)Math.Min(buffer.Length, _remaining)]);
        _remaining -= n;
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        if (_remaining <= 0) return 0;
        var n = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _remaining)], ct);
        _remaining -= n;
        return n;
    }

    protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
}
