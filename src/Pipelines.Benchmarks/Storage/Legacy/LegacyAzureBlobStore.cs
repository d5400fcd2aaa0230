// The hand-written Blob REST client that Azure.Storage.Blobs replaced (as of commit e3a33c8), kept only so the
// storage benchmark can measure both under the same load. Not used by the product.
using Pipelines.Storage;
using Pipelines.Storage.Azure;
using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Pipelines.Benchmarks.Storage.Legacy;

/// <summary>
/// Artifacts as block blobs under <c>container/prefix/key</c>. A create uploads blocks (several in flight,
/// each with its Content-MD5) and commits them with one Put Block List guarded by If-None-Match: *, so the
/// blob appears whole or not at all and never replaces an existing one. Reads check the blob's Content-MD5
/// and the SHA-256 recorded in its metadata.
/// </summary>
public sealed class LegacyAzureBlobStore : IArtifactStore, IDisposable
{
    private const int MaxRangeMd5 = 4 << 20; // the service computes a range's MD5 only up to 4 MiB
    private readonly BlobRestClient _client;
    private readonly BlobClientOptions _options;
    private readonly Lazy<Task> _container;

    public LegacyAzureBlobStore(BlobConnection connection, BlobClientOptions? options = null)
    {
        _options = options ?? new BlobClientOptions();
        if (_options.BlockSize < 1) throw new ArgumentOutOfRangeException(nameof(options), "BlockSize must be at least 1 byte");
        if (_options.MaxBlocksInFlight < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxBlocksInFlight must be at least 1");
        _client = new BlobRestClient(connection, _options);
        _container = new(() => _options.CreateContainer && connection.Credential is not BlobCredential.Sas
            ? _client.CreateContainerIfNotExistsAsync(CancellationToken.None)
            : Task.CompletedTask);
    }

    

    public BlobConnection Connection => _client.Connection;
    public string Location => Connection.ToString();

    public string UriFor(string key) => _client.BlobUri(BlobName(key)).AbsoluteUri;

    private string BlobName(string key) => Connection.Prefix + ArtifactKey.Validate(key);

    public Task EnsureContainerAsync() => _container.Value;

    public async Task<StoredObject> CreateAsync(string key, Stream content, PutOptions? options = null, CancellationToken ct = default)
    {
        var name = BlobName(key);
        var contentType = (options ?? new PutOptions()).ContentType;
        await _container.Value.WaitAsync(ct);
        // Cheap early refusal; the commit's If-None-Match: * is what actually guarantees it. A write-only SAS
        // may not read properties: then the commit alone decides.
        BlobProperties? existing = null;
        try { existing = await _client.GetPropertiesAsync(name, ct); }
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
            sha.AppendData(first, 0, firstLength);
            md5.AppendData(first, 0, firstLength);
            if (firstLength < blockSize)
            {
                var blockMd5 = MD5.HashData(first.AsSpan(0, firstLength));
                var sha256 = Convert.ToHexStringLower(sha.GetHashAndReset());
                var created = await _client.PutBlobAsync(name, first.AsMemory(0, firstLength), blockMd5, contentType, Metadata(sha256, uploadId), createOnly: true, ct);
                if (!created && !await IsOursAsync(name, uploadId, ct)) throw new ArtifactExistsException(key);
                return new StoredObject(key, UriFor(key), firstLength, sha256, md5.GetHashAndReset());
            }
        }
        catch
        {
            pool.Return(first);
            throw;
        }

        // Large: blocks in flight while the next one is read. Crash point: until Put Block List commits, the
        // uploaded blocks are uncommitted and invisible (the service discards them after a week).
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
                        await _client.PutBlockAsync(name, id, block.AsMemory(0, blockLength), MD5.HashData(block.AsSpan(0, blockLength)), failed.Token);
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
            var first_ = inFlight.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!).FirstOrDefault(e => e is not OperationCanceledException)
                         ?? inFlight.First(t => t.IsFaulted).Exception!.InnerException!;
            throw new ArtifactStoreException($"upload of '{key}' failed; nothing was committed: {first_.Message}", first_);
        }
        catch (OperationCanceledException) when (readError is not null) { }
        if (readError is not null)
        {
            if (readError is OperationCanceledException && ct.IsCancellationRequested) throw readError;
            throw new ArtifactStoreException($"upload of '{key}' failed while reading the source; nothing was committed: {readError.Message}", readError);
        }

        var digest = Convert.ToHexStringLower(sha.GetHashAndReset());
        var wholeMd5 = md5.GetHashAndReset();
        var committed = await _client.PutBlockListAsync(name, ids, wholeMd5, contentType, Metadata(digest, uploadId), createOnly: true, ct);
        // A retried commit whose first try succeeded finds "its" blob: that is success, not a conflict.
        if (!committed && !await IsOursAsync(name, uploadId, ct)) throw new ArtifactExistsException(key);
        return new StoredObject(key, UriFor(key), size, digest, wholeMd5);
    }

    private async Task<bool> IsOursAsync(string name, string uploadId, CancellationToken ct)
    {
        try
        {
            return (await _client.GetPropertiesAsync(name, ct))?.UploadId == uploadId;
        }
        catch (BlobRequestException e) when (e.Status == 403 && Connection.Credential is BlobCredential.Sas)
        {
            // A write-only SAS cannot tell its own lost-response commit from someone else's blob: report it as existing.
            return false;
        }
    }

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
        var response = await _client.GetBlobAsync(name, range, rangeMd5, ct);
        try
        {
            if (response.StatusCode == HttpStatusCode.NotFound) throw new ArtifactNotFoundException(key);
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
                throw new ArgumentOutOfRangeException(nameof(range), $"range {range} is outside '{key}'");
            var headers = response.Content.Headers;
            var whole = range is null || response.StatusCode == HttpStatusCode.OK;
            // For a whole blob Content-MD5 is the stored blob MD5; for a range it is present only when asked for.
            var expectedMd5 = whole || rangeMd5 ? headers.ContentMD5 : null;
            var expectedSha = whole && response.Headers.TryGetValues("x-ms-meta-sha256", out var v) ? v.FirstOrDefault() : null;
            var length = headers.ContentLength ?? throw new ArtifactStoreException($"download of '{key}': the service sent no Content-Length");
            var etag = response.Headers.ETag?.ToString();
            var start = range?.Offset ?? 0;
            var body = new ResumingStream(response, await response.Content.ReadAsStreamAsync(ct), length, _options.Retry.MaxAttempts,
                async (read, token) =>
                {
                    // Same bytes or nothing: If-Match pins the blob version the first response came from.
                    _options.Log?.Invoke($"download of '{key}' broke after {read} of {length} bytes; resuming");
                    var resumed = await _client.GetBlobAsync(name, new ByteRange(start + read, length - read), false, token, etag);
                    if (resumed.StatusCode != HttpStatusCode.PartialContent)
                    {
                        resumed.Dispose();
                        throw new ArtifactStoreException($"download of '{key}' could not resume at byte {read}: {(int)resumed.StatusCode}");
                    }
                    return resumed;
                });
            return new VerifyingReadStream(body, $"download of '{key}'", length, expectedMd5, expectedSha);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    public async Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken ct = default)
    {
        var p = await _client.GetPropertiesAsync(BlobName(key), ct);
        return p is null ? null : new ObjectInfo(key, p.Size, p.LastModified, p.Md5, p.Sha256);
    }

    public async Task<ListPage> ListAsync(string prefix, string? continuation = null, int pageSize = 1000, CancellationToken ct = default)
    {
        ArtifactKey.ValidatePrefix(prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var (blobs, next) = await _client.ListAsync(Connection.Prefix + prefix, continuation, Math.Min(pageSize, 5000), ct);
        var items = blobs.Select(b => new ObjectInfo(b.Name[Connection.Prefix.Length..], b.Size, b.LastModified, b.Md5, b.Sha256)).ToList();
        return new ListPage(items, next);
    }

    public Task<bool> DeleteAsync(string key, CancellationToken ct = default) => _client.DeleteAsync(BlobName(key), ct);

    public void Dispose() => _client.Dispose();

    public override string ToString() => Location;

    /// <summary>
    /// The body of a Get Blob response that survives a broken connection: a read that fails part-way re-requests
    /// the remaining range (up to <c>maxResumes</c> times) and carries on, so the caller sees one continuous stream.
    /// Owns the current HTTP response.
    /// </summary>
    private sealed class ResumingStream(HttpResponseMessage response, Stream body, long length, int maxResumes,
        Func<long, CancellationToken, Task<HttpResponseMessage>> resume) : ReadOnlyStream
    {
        private HttpResponseMessage _response = response;
        private Stream _body = body;
        private long _read;
        private int _resumes;

        public override long Length => length;
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(Span<byte> buffer)
        {
            while (true)
            {
                try
                {
                    var n = _body.Read(buffer);
                    _read += n;
                    return n;
                }
                catch (Exception e) when (CanResume(e))
                {
                    // Rare path; synchronous callers get a blocking resume.
                    ResumeAsync(CancellationToken.None).GetAwaiter().GetResult();
                }
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            while (true)
            {
                try
                {
                    var n = await _body.ReadAsync(buffer, ct);
                    _read += n;
                    return n;
                }
                catch (Exception e) when (CanResume(e) && !ct.IsCancellationRequested)
                {
                    await ResumeAsync(ct);
                }
            }
        }

        private bool CanResume(Exception e) => e is IOException or HttpRequestException && _read < length && _resumes < maxResumes;

        private async Task ResumeAsync(CancellationToken ct)
        {
            _resumes++;
            _body.Dispose();
            _response.Dispose();
            _response = await resume(_read, ct);
            _body = await _response.Content.ReadAsStreamAsync(ct);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _body.Dispose();
                _response.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
