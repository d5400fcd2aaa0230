// The hand-written Blob REST client that Azure.Storage.Blobs replaced (as of commit e3a33c8), kept only so the
// storage benchmark can measure both under the same load. Not used by the product.
using Pipelines.Storage;
using Pipelines.Storage.Azure;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Xml.Linq;
using Azure.Core;

namespace Pipelines.Benchmarks.Storage.Legacy;

/// <summary>
/// The Blob REST operations the artifact store needs, on HttpClient: Put Blob, Put Block, Put Block List,
/// Get Blob (ranged), Get Blob Properties, Delete Blob, List Blobs, Create Container. Each request is built
/// afresh per try, authorized (Shared Key, SAS or bearer token) and retried on throttling, server errors,
/// connection failures and timeouts with backoff that honours Retry-After.
/// </summary>
internal sealed class BlobRestClient : IDisposable
{
    private static readonly string[] StorageScope = ["https://storage.azure.com/.default"];
    private readonly BlobConnection _connection;
    private readonly BlobClientOptions _options;
    private readonly HttpClient _http;
    private readonly SemaphoreSlim _tokenLock = new(1, 1);
    // A reference, so concurrent readers never see a torn token/expiry pair.
    private volatile CachedToken? _token;

    public BlobRestClient(BlobConnection connection, BlobClientOptions options)
    {
        _connection = connection;
        _options = options;
        _http = new HttpClient(options.Handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), MaxConnectionsPerServer = 64 })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public BlobConnection Connection => _connection;

    public Uri BlobUri(string blobName, string? query = null)
    {
        var path = string.Join('/', blobName.Split('/').Select(Uri.EscapeDataString));
        return new Uri(_connection.ContainerUri.AbsoluteUri + "/" + path + (query is null ? "" : "?" + query));
    }

    private Uri ContainerUri(string query) => new(_connection.ContainerUri.AbsoluteUri + "?" + query);

    // ---- operations ----

    public async Task CreateContainerIfNotExistsAsync(CancellationToken ct)
    {
        using var resp = await SendAsync("Create Container", () => new HttpRequestMessage(HttpMethod.Put, ContainerUri("restype=container")) { Content = Empty() },
            HttpCompletionOption.ResponseContentRead, ct, s => s == HttpStatusCode.Conflict);
    }

    /// <summary>Put Blob; with <paramref name="createOnly"/> it sends If-None-Match: * and returns false if the blob exists.</summary>
    public async Task<bool> PutBlobAsync(string blobName, ReadOnlyMemory<byte> data, byte[] md5, string contentType,
        IReadOnlyDictionary<string, string> metadata, bool createOnly, CancellationToken ct)
    {
        using var resp = await SendAsync("Put Blob", () =>
        {
            var req = new HttpRequestMessage(HttpMethod.Put, BlobUri(blobName)) { Content = Body(data, md5) };
            req.Headers.Add("x-ms-blob-type", "BlockBlob");
            req.Headers.Add("x-ms-blob-content-type", contentType);
            AddMetadata(req, metadata);
            if (createOnly) req.Headers.TryAddWithoutValidation("If-None-Match", "*");
            return req;
        }, HttpCompletionOption.ResponseContentRead, ct, IsExists);
        return !IsExists(resp.StatusCode);
    }

    public async Task PutBlockAsync(string blobName, string blockId, ReadOnlyMemory<byte> data, byte[] md5, CancellationToken ct)
    {
        using var resp = await SendAsync("Put Block", () =>
            new HttpRequestMessage(HttpMethod.Put, BlobUri(blobName, $"comp=block&blockid={Uri.EscapeDataString(blockId)}")) { Content = Body(data, md5) },
            HttpCompletionOption.ResponseContentRead, ct);
    }

    /// <summary>Commits the blocks as the blob's whole content in one request; false if the blob exists and createOnly.</summary>
    public async Task<bool> PutBlockListAsync(string blobName, IReadOnlyList<string> blockIds, byte[] blobMd5, string contentType,
        IReadOnlyDictionary<string, string> metadata, bool createOnly, CancellationToken ct)
    {
        var xml = new StringBuilder("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
        foreach (var id in blockIds) xml.Append("<Latest>").Append(id).Append("</Latest>");
        var body = Encoding.UTF8.GetBytes(xml.Append("</BlockList>").ToString());
        var bodyMd5 = System.Security.Cryptography.MD5.HashData(body);
        using var resp = await SendAsync("Put Block List", () =>
        {
            var req = new HttpRequestMessage(HttpMethod.Put, BlobUri(blobName, "comp=blocklist")) { Content = Body(body, bodyMd5) };
            req.Content.Headers.ContentType = new MediaTypeHeaderValue("application/xml");
            req.Headers.Add("x-ms-blob-content-type", contentType);
            req.Headers.Add("x-ms-blob-content-md5", Convert.ToBase64String(blobMd5));
            AddMetadata(req, metadata);
            if (createOnly) req.Headers.TryAddWithoutValidation("If-None-Match", "*");
            return req;
        }, HttpCompletionOption.ResponseContentRead, ct, IsExists);
        return !IsExists(resp.StatusCode);
    }

    /// <summary>Get Blob; the caller owns the response (headers read, body streaming). 404 and 416 are returned, not thrown.</summary>
    public Task<HttpResponseMessage> GetBlobAsync(string blobName, ByteRange? range, bool rangeMd5, CancellationToken ct, string? ifMatch = null) =>
        SendAsync("Get Blob", () =>
        {
            var req = new HttpRequestMessage(HttpMethod.Get, BlobUri(blobName));
            if (range is { } r) req.Headers.Add("x-ms-range", r.ToString());
            if (rangeMd5) req.Headers.Add("x-ms-range-get-content-md5", "true");
            if (ifMatch is not null) req.Headers.TryAddWithoutValidation("If-Match", ifMatch);
            return req;
        }, HttpCompletionOption.ResponseHeadersRead, ct, s => s is HttpStatusCode.NotFound or HttpStatusCode.RequestedRangeNotSatisfiable);

    public async Task<BlobProperties?> GetPropertiesAsync(string blobName, CancellationToken ct)
    {
        using var resp = await SendAsync("Get Blob Properties", () => new HttpRequestMessage(HttpMethod.Head, BlobUri(blobName)),
            HttpCompletionOption.ResponseContentRead, ct, s => s == HttpStatusCode.NotFound);
        if (resp.StatusCode == HttpStatusCode.NotFound) return null;
        return new BlobProperties(
            resp.Content.Headers.ContentLength ?? 0,
            resp.Content.Headers.LastModified ?? DateTimeOffset.MinValue,
            resp.Content.Headers.ContentMD5,
            Meta(resp, "sha256"),
            Meta(resp, "uploadid"));
    }

    public async Task<bool> DeleteAsync(string blobName, CancellationToken ct)
    {
        using var resp = await SendAsync("Delete Blob", () => new HttpRequestMessage(HttpMethod.Delete, BlobUri(blobName)),
            HttpCompletionOption.ResponseContentRead, ct, s => s == HttpStatusCode.NotFound);
        return resp.StatusCode != HttpStatusCode.NotFound;
    }

    public async Task<(List<ListedBlob> Blobs, string? NextMarker)> ListAsync(string prefix, string? marker, int max, CancellationToken ct)
    {
        var query = $"restype=container&comp=list&include=metadata&maxresults={max}&prefix={Uri.EscapeDataString(prefix)}" +
                    (marker is null ? "" : "&marker=" + Uri.EscapeDataString(marker));
        // A container nothing was written to yet (it is created on first write) holds no blobs: an empty page.
        using var resp = await SendAsync("List Blobs", () => new HttpRequestMessage(HttpMethod.Get, ContainerUri(query)),
            HttpCompletionOption.ResponseContentRead, ct, s => s == HttpStatusCode.NotFound);
        if (resp.StatusCode == HttpStatusCode.NotFound) return ([], null);
        var doc = XDocument.Parse(await resp.Content.ReadAsStringAsync(ct));
        var blobs = new List<ListedBlob>();
        foreach (var b in doc.Root!.Element("Blobs")?.Elements("Blob") ?? [])
        {
            var props = b.Element("Properties");
            var md5 = props?.Element("Content-MD5")?.Value;
            blobs.Add(new ListedBlob(
                b.Element("Name")!.Value,
                long.Parse(props?.Element("Content-Length")?.Value ?? "0", CultureInfo.InvariantCulture),
                DateTimeOffset.Parse(props?.Element("Last-Modified")?.Value ?? "1970-01-01Z", CultureInfo.InvariantCulture),
                string.IsNullOrEmpty(md5) ? null : Convert.FromBase64String(md5),
                b.Element("Metadata")?.Elements().FirstOrDefault(e => e.Name.LocalName.Equals("sha256", StringComparison.OrdinalIgnoreCase))?.Value));
        }
        var next = doc.Root.Element("NextMarker")?.Value;
        return (blobs, string.IsNullOrEmpty(next) ? null : next);
    }

    // ---- transport ----

    private static bool IsExists(HttpStatusCode s) => s is HttpStatusCode.Conflict or HttpStatusCode.PreconditionFailed;

    private static string? Meta(HttpResponseMessage resp, string name) =>
        resp.Headers.TryGetValues("x-ms-meta-" + name, out var v) ? v.FirstOrDefault() : null;

    private static HttpContent Empty() => new ByteArrayContent([]);

    private static HttpContent Body(ReadOnlyMemory<byte> data, byte[] md5)
    {
        var content = new ReadOnlyMemoryContent(data);
        content.Headers.ContentLength = data.Length;
        content.Headers.ContentMD5 = md5;
        return content;
    }

    private static void AddMetadata(HttpRequestMessage req, IReadOnlyDictionary<string, string> metadata)
    {
        foreach (var (k, v) in metadata) req.Headers.Add("x-ms-meta-" + k, v);
    }

    private async Task<HttpResponseMessage> SendAsync(string operation, Func<HttpRequestMessage> build, HttpCompletionOption completion,
        CancellationToken ct, Func<HttpStatusCode, bool>? accept = null)
    {
        var retry = _options.Retry;
        for (var attempt = 1; ; attempt++)
        {
            using var request = build();
            await AuthorizeAsync(request, ct);
            var shownUri = Redaction.Redact(request.RequestUri!);
            string reason;
            Exception? failure = null;
            TimeSpan? retryAfter = null;
            using (var tryCts = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                tryCts.CancelAfter(retry.TryTimeout);
                HttpResponseMessage? response = null;
                try
                {
                    response = await _http.SendAsync(request, completion, tryCts.Token);
                }
                catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
                {
                    failure = e;
                    reason = $"no response within {retry.TryTimeout.TotalSeconds:0.#} s";
                    goto Failed;
                }
                catch (Exception e) when (e is HttpRequestException or IOException && !ct.IsCancellationRequested)
                {
                    failure = e;
                    reason = "connection failed: " + e.Message;
                    goto Failed;
                }
                var status = (int)response.StatusCode;
                if (response.IsSuccessStatusCode || accept?.Invoke(response.StatusCode) == true) return response;
                var (code, message) = await ReadErrorAsync(response, ct);
                retryAfter = RetryAfter(response);
                response.Dispose();
                reason = $"{status} {code}{(message is null ? "" : ": " + message)}";
                if (!RetryPolicy.IsRetryableStatus(status))
                    throw new BlobRequestException($"{operation} {shownUri} failed: {reason}", status, code);
                if (attempt >= retry.MaxAttempts)
                    throw new BlobRequestException($"{operation} {shownUri} failed after {attempt} attempts: {reason}", status, code);
                goto Retry;
            }
        Failed:
            if (attempt >= retry.MaxAttempts)
                throw new BlobRequestException($"{operation} {shownUri} failed after {attempt} attempts: {Redaction.Redact(reason)}", null, null, failure);
        Retry:
            var delay = retry.Delay(attempt + 1, retryAfter, _options.Random());
            _options.Log?.Invoke(Redaction.Redact($"{operation} {shownUri}: {reason}; retry {attempt + 1}/{retry.MaxAttempts} in {delay.TotalMilliseconds:0} ms"));
            await _options.Wait(delay, ct);
        }
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        if (response.Headers.TryGetValues("x-ms-retry-after-ms", out var ms) && double.TryParse(ms.FirstOrDefault(), CultureInfo.InvariantCulture, out var m))
            return TimeSpan.FromMilliseconds(m);
        var ra = response.Headers.RetryAfter;
        if (ra?.Delta is { } delta) return delta;
        if (ra?.Date is { } date) return date - DateTimeOffset.UtcNow;
        return null;
    }

    private static async Task<(string Code, string? Message)> ReadErrorAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var code = response.Headers.TryGetValues("x-ms-error-code", out var c) ? c.First() : response.ReasonPhrase ?? "";
        string? message = null;
        try
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            if (text.Length > 0 && text.TrimStart().StartsWith('<'))
            {
                var root = XDocument.Parse(text.TrimStart('\uFEFF')).Root;
                code = root?.Element("Code")?.Value ?? code;
                message = root?.Element("Message")?.Value?.Split('\n')[0].Trim();
            }
        }
        catch (Exception e) when (e is System.Xml.XmlException or HttpRequestException or IOException) { }
        return (code, message);
    }

    private async Task AuthorizeAsync(HttpRequestMessage request, CancellationToken ct)
    {
        request.Headers.Add("x-ms-version", "2023-11-03");
        request.Headers.Add("x-ms-date", DateTimeOffset.UtcNow.ToString("R", CultureInfo.InvariantCulture));
        request.Headers.Add("x-ms-client-request-id", Guid.NewGuid().ToString());
        switch (_connection.Credential)
        {
            case BlobCredential.SharedKey key:
                SharedKeySigner.Sign(request, key.AccountName, key.Key);
                break;
            case BlobCredential.Sas sas:
                var uri = request.RequestUri!;
                request.RequestUri = new Uri(uri.AbsoluteUri + (uri.Query.Length > 0 ? "&" : "?") + sas.Token);
                break;
            case BlobCredential.EntraId token:
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await GetTokenAsync(token.Credential, ct));
                break;
        }
    }

    private async Task<string> GetTokenAsync(TokenCredential credential, CancellationToken ct)
    {
        if (_token is { } t && t.ExpiresOn > DateTimeOffset.UtcNow.AddMinutes(5)) return t.Token;
        await _tokenLock.WaitAsync(ct);
        try
        {
            if (_token is { } again && again.ExpiresOn > DateTimeOffset.UtcNow.AddMinutes(5)) return again.Token;
            var fresh = await credential.GetTokenAsync(new TokenRequestContext(StorageScope), ct);
            _token = new CachedToken(fresh.Token, fresh.ExpiresOn);
            return fresh.Token;
        }
        finally { _tokenLock.Release(); }
    }

    private sealed record CachedToken(string Token, DateTimeOffset ExpiresOn)
    {
        public override string ToString() => $"token expiring {ExpiresOn:u}";
    }

    public void Dispose()
    {
        _http.Dispose();
        _tokenLock.Dispose();
    }
}

internal sealed record BlobProperties(long Size, DateTimeOffset LastModified, byte[]? Md5, string? Sha256, string? UploadId);

internal sealed record ListedBlob(string Name, long Size, DateTimeOffset LastModified, byte[]? Md5, string? Sha256);
