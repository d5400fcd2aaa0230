using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Core.Pipeline;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using SdkOptions = Azure.Storage.Blobs.BlobClientOptions;

namespace Pipelines.Storage.Azure;

/// <summary>
/// Artifacts as block blobs under <c>container/prefix/key</c>, through the Azure.Storage.Blobs SDK. A create
/// stages blocks (several in flight, each with its Content-MD5, which the service checks) and commits them with
/// one Put Block List guarded by If-None-Match: *, so the blob appears whole or not at all and never replaces an
/// existing one. Reads check the blob's Content-MD5 and the SHA-256 recorded in its metadata.
/// </summary>
/// <remarks>
/// The SDK brings authentication (account key, SAS, any Azure.Identity credential) and the Blob protocol; the
/// block upload stays ours because the SDK's partitioned upload can neither guarantee create-only for the commit
/// while telling its own retried commit from someone else's blob, nor hash SHA-256 while streaming.
/// </remarks>
public sealed class AzureBlobStore : IArtifactStore, IDisposable
{
    private const int MaxRangeMd5 = 4 << 20; // the service computes a range's MD5 only up to 4 MiB
    private readonly BlobContainerClient _container;
    private readonly BlobClientOptions _options;
    private readonly HttpClient _http;
    private readonly Lazy<Task> _created;

    public AzureBlobStore(BlobConnection connection, BlobClientOptions? options = null)
    {
        _options = options ?? new BlobClientOptions();
        if (_options.BlockSize < 1) throw new ArgumentOutOfRangeException(nameof(options), "BlockSize must be at least 1 byte");
        if (_options.MaxBlocksInFlight < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxBlocksInFlight must be at least 1");
        if (_options.Retry.MaxAttempts < 1) throw new ArgumentOutOfRangeException(nameof(options), "Retry.MaxAttempts must be at least 1");
        Connection = connection;
        _http = new HttpClient(_options.Handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), MaxConnectionsPerServer = 64 })
        {
            Timeout = Timeout.InfiniteTimeSpan, // the pipeline's per-try timeout governs
        };
        var sdk = new SdkOptions
        {
            Transport = new HttpClientTransport(_http),
            RetryPolicy = new PipelineRetry(_options.Retry, _options),
        };
        sdk.Retry.NetworkTimeout = _options.Retry.TryTimeout;
        sdk.Diagnostics.IsLoggingContentEnabled = false;
        _container = connection.Credential switch
        {
            BlobCredential.SharedKey k => new BlobContainerClient(connection.ContainerUri, new StorageSharedKeyCredential(k.AccountName, Convert.ToBase64String(k.Key)), sdk),
            BlobCredential.Sas s => new BlobContainerClient(connection.ContainerUri, new AzureSasCredential(s.Token), sdk),
            BlobCredential.EntraId t => new BlobContainerClient(connection.ContainerUri, t.Credential, sdk),
            _ => new BlobContainerClient(connection.ContainerUri, sdk),
        };
        _created = new(() => _options.CreateContainer && connection.Credential is not BlobCredential.Sas
            ? CallAsync("Create Container", null, () => _container.CreateIfNotExistsAsync())
            : Task.CompletedTask);
    }

    public static AzureBlobStore FromConnectionString(string text, BlobClientOptions? options = null) => new(BlobConnection.Parse(text), options);

    public BlobConnection Connection { get; }
    public string Location => Connection.ToString();

    public string UriFor(string key) => BlobUri(BlobName(key)).AbsoluteUri;

    private Uri BlobUri(string blobName) =>
        new(Connection.ContainerUri.AbsoluteUri + "/" + string.Join('/', blobName.Split('/').Select(Uri.EscapeDataString)));

    private string BlobName(string key) => Connection.Prefix + ArtifactKey.Validate(key);

    private BlockBlobClient Blob(string name) => _container.GetBlockBlobClient(name);

    public Task EnsureContainerAsync() => _created.Value;

    public async Task<StoredObject> CreateAsync(string key, Stream content, PutOptions? options = null, CancellationToken ct = default)
    {
        var name = BlobName(key);
        var contentType = (options ?? new PutOptions()).ContentType;
        await _created.Value.WaitAsync(ct);
        // Cheap early refusal; the commit's If-None-Match: * is what actually guarantees it. A write-only SAS
        // may not read properties: then the commit alone decides.
        BlobProperties? existing = null;
        try { existing = await PropertiesAsync(name, ct); }
        catch (BlobRequestException e) when (e.Status == 403 && Connection.Credential is BlobCredential.Sas) { }
        if (existing is not null) throw new ArtifactExistsException(key);

        var uploadId = Guid.NewGuid().ToString("N");
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        var blockSize = _options.BlockSize;
        var pool = ArrayPool<byte>.Shared;
        var first = pool.Rent(blockSize);
        int firstLength;
        try
        {
            firstLength = await ReadFullAsync(content, first, blockSize, ct);
        }
        catch
        {
            pool.Return(first);
            throw;
        }
        sha.AppendData(first, 0, firstLength);
        md5.AppendData(first, 0, firstLength);
        if (firstLength < blockSize)
        {
            try
            {
                var blockMd5 = MD5.HashData(first.AsSpan(0, firstLength));
                var sha256 = Convert.ToHexStringLower(sha.GetHashAndReset());
                var created = await CreateOnlyAsync("Put Blob", name, () => Blob(name).UploadAsync(new MemoryStream(first, 0, firstLength, writable: false),
                    new BlobUploadOptions
                    {
                        HttpHeaders = new BlobHttpHeaders { ContentType = contentType, ContentHash = blockMd5 },
                        Metadata = Metadata(sha256, uploadId),
                        Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                        // One Put Blob (no partitioning), its Content-MD5 computed by the SDK over the bytes it sends.
                        TransferOptions = new StorageTransferOptions { InitialTransferSize = blockSize, MaximumTransferSize = blockSize, MaximumConcurrency = 1 },
                        TransferValidation = new UploadTransferValidationOptions { ChecksumAlgorithm = StorageChecksumAlgorithm.MD5 },
                    }, ct));
                if (!created && !await IsOursAsync(name, uploadId, ct)) throw new ArtifactExistsException(key);
                return new StoredObject(key, UriFor(key), firstLength, sha256, md5.GetHashAndReset());
            }
            finally
            {
                pool.Return(first);
            }
        }

        // Large: blocks in flight while the next one is read. Crash point: until Put Block List commits, the
        // staged blocks are uncommitted and invisible (the service discards them after a week).
        var ids = new List<string>();
        var inFlight = new List<Task>();
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var slots = new SemaphoreSlim(_options.MaxBlocksInFlight);
        long size = 0;
        Exception? readError = null;
        try
        {
            var buffer = first;
            var length = firstLength;
            while (true)
            {
                await slots.WaitAsync(failed.Token);
                var id = Convert.ToBase64String(Encoding.ASCII.GetBytes($"{uploadId}-{ids.Count:D6}"));
                ids.Add(id);
                size += length;
                var block = buffer;
                var blockLength = length;
                inFlight.Add(Task.Run(async () =>
                {
                    try
                    {
                        var blockMd5 = MD5.HashData(block.AsSpan(0, blockLength));
                        await CallAsync("Put Block", name, () => Blob(name).StageBlockAsync(id, new MemoryStream(block, 0, blockLength, writable: false),
                            new BlockBlobStageBlockOptions { TransferValidation = Md5(blockMd5) }, failed.Token));
                    }
                    catch
                    {
                        await failed.CancelAsync();
                        throw;
                    }
                    finally
                    {
                        pool.Return(block);
                        slots.Release();
                    }
                }, CancellationToken.None));
                if (length < blockSize) break;
                buffer = pool.Rent(blockSize);
                try { length = await ReadFullAsync(content, buffer, blockSize, failed.Token); }
                catch { pool.Return(buffer); throw; }
                if (length == 0) { pool.Return(buffer); break; }
                sha.AppendData(buffer, 0, length);
                md5.AppendData(buffer, 0, length);
            }
        }
        catch (Exception e)
        {
            readError = e;
            await failed.CancelAsync();
        }
        try
        {
            await Task.WhenAll(inFlight);
        }
        catch (Exception) when (inFlight.Any(t => t.IsFaulted))
        {
            var cause = inFlight.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!).FirstOrDefault(e => e is not OperationCanceledException)
                        ?? inFlight.First(t => t.IsFaulted).Exception!.InnerException!;
            throw new ArtifactStoreException($"upload of '{key}' to {Where(name)} failed; nothing was committed: {cause.Message}", cause);
        }
        catch (OperationCanceledException) when (readError is not null) { }
        if (readError is not null)
        {
            if (readError is OperationCanceledException && ct.IsCancellationRequested) throw readError;
            throw new ArtifactStoreException($"upload of '{key}' to {Where(name)} failed while reading the source; nothing was committed: {readError.Message}", readError);
        }

        var digest = Convert.ToHexStringLower(sha.GetHashAndReset());
        var wholeMd5 = md5.GetHashAndReset();
        var committed = await CreateOnlyAsync("Put Block List", name, () => Blob(name).CommitBlockListAsync(ids, new CommitBlockListOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = contentType, ContentHash = wholeMd5 },
            Metadata = Metadata(digest, uploadId),
            Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
        }, ct));
        // A retried commit whose first try succeeded finds "its" blob: that is success, not a conflict.
        if (!committed && !await IsOursAsync(name, uploadId, ct)) throw new ArtifactExistsException(key);
        return new StoredObject(key, UriFor(key), size, digest, wholeMd5);
    }

    private static UploadTransferValidationOptions Md5(byte[] md5) =>
        new() { ChecksumAlgorithm = StorageChecksumAlgorithm.MD5, PrecalculatedChecksum = md5 };

    /// <summary>A create-only write: false when the blob already exists (409 or 412 from If-None-Match: *).</summary>
    private async Task<bool> CreateOnlyAsync<T>(string operation, string name, Func<Task<T>> call)
    {
        try
        {
            await CallAsync(operation, name, call);
            return true;
        }
        catch (BlobRequestException e) when (e.Status is 409 or 412)
        {
            return false;
        }
    }

    private async Task<bool> IsOursAsync(string name, string uploadId, CancellationToken ct)
    {
        try
        {
            var p = await PropertiesAsync(name, ct);
            return p is not null && p.Metadata.TryGetValue("uploadid", out var id) && id == uploadId;
        }
        catch (BlobRequestException e) when (e.Status == 403 && Connection.Credential is BlobCredential.Sas)
        {
            // A write-only SAS cannot tell its own lost-response commit from someone else's blob: report it as existing.
            return false;
        }
    }

    private static string? Sha256Of(IDictionary<string, string>? metadata) => metadata is not null && metadata.TryGetValue("sha256", out var v) ? v : null;

    private static Dictionary<string, string> Metadata(string sha256, string uploadId) => new() { ["sha256"] = sha256, ["uploadid"] = uploadId };

    private static async Task<int> ReadFullAsync(Stream s, byte[] buffer, int count, CancellationToken ct)
    {
        var total = 0;
        while (total < count)
        {
            var n = await s.ReadAsync(buffer.AsMemory(total, count - total), ct);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    public async Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken ct = default)
    {
        var name = BlobName(key);
        if (range is { } r && (r.Offset < 0 || r.Length is <= 0)) throw new ArgumentOutOfRangeException(nameof(range), $"invalid range {r}");
        var rangeMd5 = range is { Length: { } len } && len <= MaxRangeMd5;
        BlobDownloadStreamingResult result;
        try
        {
            result = await CallAsync("Get Blob", name, () => Blob(name).DownloadStreamingAsync(new BlobDownloadOptions
            {
                Range = range is { } x ? new HttpRange(x.Offset, x.Length) : default,
                // Ask for the range's MD5 and check it ourselves as the bytes stream past (the SDK would buffer the range to check it).
                TransferValidation = rangeMd5 ? new DownloadTransferValidationOptions { ChecksumAlgorithm = StorageChecksumAlgorithm.MD5, AutoValidateChecksum = false } : null,
            }, ct));
        }
        catch (BlobRequestException e) when (e.Status == 404) { throw new ArtifactNotFoundException(key); }
        catch (BlobRequestException e) when (e.Status == 416) { throw new ArgumentOutOfRangeException(nameof(range), $"range {range} is outside '{key}'"); }
        var details = result.Details;
        var whole = range is null || details.ContentRange is null || IsWholeRange(details.ContentRange, details.ContentLength);
        // For a whole blob Content-MD5 is the stored blob MD5; for a range it is present only when asked for.
        var expectedMd5 = whole ? details.BlobContentHash ?? details.ContentHash : rangeMd5 ? details.ContentHash : null;
        var expectedSha = whole && details.Metadata.TryGetValue("sha256", out var v) ? v : null;
        // The SDK's stream resumes a broken body itself (If-Match on the first response's ETag: same bytes or
        // nothing); what it cannot resume surfaces as an IOException naming the blob.
        var body = new BrokenDownloadStream(result.Content, $"download of '{key}' from {Where(name)}");
        return new VerifyingReadStream(body, $"download of '{key}'", details.ContentLength, expectedMd5 is { Length: > 0 } ? expectedMd5 : null, expectedSha);
    }

    private static bool IsWholeRange(string contentRange, long length) =>
        contentRange.StartsWith("bytes 0-", StringComparison.Ordinal) && contentRange.EndsWith("/" + length, StringComparison.Ordinal);

    public async Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken ct = default)
    {
        var p = await PropertiesAsync(BlobName(key), ct);
        return p is null ? null : new ObjectInfo(key, p.ContentLength, p.LastModified, p.ContentHash is { Length: > 0 } h ? h : null, Sha256Of(p.Metadata));
    }

    private async Task<BlobProperties?> PropertiesAsync(string name, CancellationToken ct)
    {
        try { return await CallAsync("Get Blob Properties", name, () => Blob(name).GetPropertiesAsync(cancellationToken: ct)); }
        catch (BlobRequestException e) when (e.Status == 404) { return null; }
    }

    public async Task<ListPage> ListAsync(string prefix, string? continuation = null, int pageSize = 1000, CancellationToken ct = default)
    {
        ArtifactKey.ValidatePrefix(prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        try
        {
            return await CallAsync("List Blobs", null, async () =>
            {
                await foreach (var page in _container.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None, Connection.Prefix + prefix, ct)
                                   .AsPages(continuation, Math.Min(pageSize, 5000)))
                {
                    var items = page.Values.Select(b => new ObjectInfo(b.Name[Connection.Prefix.Length..], b.Properties.ContentLength ?? 0,
                        b.Properties.LastModified ?? DateTimeOffset.MinValue, b.Properties.ContentHash is { Length: > 0 } h ? h : null,
                        Sha256Of(b.Metadata))).ToList();
                    return new ListPage(items, string.IsNullOrEmpty(page.ContinuationToken) ? null : page.ContinuationToken);
                }
                return new ListPage([], null);
            });
        }
        // A container nothing was written to yet (it is created on first write) holds no blobs: an empty page.
        catch (BlobRequestException e) when (e.Status == 404) { return new ListPage([], null); }
    }

    public async Task<bool> DeleteAsync(string key, CancellationToken ct = default)
    {
        var name = BlobName(key);
        return (await CallAsync("Delete Blob", name, () => Blob(name).DeleteIfExistsAsync(cancellationToken: ct))).Value;
    }

    public void Dispose() => _http.Dispose();

    public override string ToString() => Location;

    private string Where(string? blobName) =>
        blobName is null ? $"container '{Connection.Container}'" : $"blob '{blobName}' in container '{Connection.Container}'";

    /// <summary>
    /// Runs one SDK call and turns its failures into our errors, each naming the operation, the container and the
    /// blob: a service refusal keeps its status and error code; an exhausted retry keeps its reason.
    /// </summary>
    private async Task<T> CallAsync<T>(string operation, string? blobName, Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (RequestFailedException e) when (e.Status != 0)
        {
            var message = e.Message.Split('\n', 2)[0].Trim();
            // The SDK's exception is not kept as the inner one: its text carries the whole response, which is not ours to vouch for.
            throw new BlobRequestException($"{operation} of {Where(blobName)} failed: {e.Status} {e.ErrorCode}{(message.Length == 0 ? "" : ": " + message)} (store {Location})",
                e.Status, e.ErrorCode);
        }
        catch (BlobRequestException e)
        {
            throw new BlobRequestException($"{operation} of {Where(blobName)}: {e.Message}", e.Status, e.ErrorCode, e.InnerException);
        }
    }

    private async Task CallAsync(string operation, string? blobName, Func<Task> call) =>
        await CallAsync<bool>(operation, blobName, async () => { await call(); return true; });

    /// <summary>Reports a body the SDK could not resume as an <see cref="IOException"/> that names the blob.</summary>
    private sealed class BrokenDownloadStream(Stream inner, string what) : ReadOnlyStream
    {
        private long _read;

        public override long Length => inner.Length;
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(Span<byte> buffer)
        {
            try { var n = inner.Read(buffer); _read += n; return n; }
            catch (Exception e) when (e is AggregateException or RequestFailedException) { throw Broken(e); }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            try { var n = await inner.ReadAsync(buffer, ct); _read += n; return n; }
            catch (Exception e) when (e is AggregateException or RequestFailedException) { throw Broken(e); }
        }

        private IOException Broken(Exception e) =>
            new(Redaction.Redact($"{what} broke at byte {_read} and could not be resumed: {(e is AggregateException a ? a.InnerExceptions[^1].Message : e.Message)}"), e);

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
