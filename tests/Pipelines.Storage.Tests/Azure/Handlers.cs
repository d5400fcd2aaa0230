using System.Net;

namespace Pipelines.Storage.Tests.Azure;

/// <summary>A delegating handler whose behaviour each test supplies: observe, fail or rewrite requests.</summary>
public sealed class HookHandler(Func<HttpRequestMessage, Func<Task<HttpResponseMessage>>, CancellationToken, Task<HttpResponseMessage>> hook)
    : DelegatingHandler(new SocketsHttpHandler())
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct) =>
        hook(request, () => base.SendAsync(request, ct), ct);

    public static bool IsPutBlock(HttpRequestMessage r) => r.Method == HttpMethod.Put && r.RequestUri!.Query.Contains("comp=block&", StringComparison.Ordinal);
    public static bool IsGetBlob(HttpRequestMessage r) => r.Method == HttpMethod.Get && !r.RequestUri!.Query.Contains("comp=", StringComparison.Ordinal);
}

/// <summary>Flips one byte of a response body at a given offset: a corrupting network or disk.</summary>
public sealed class FlippingContent(HttpContent inner, long at) : HttpContent
{
    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        var bytes = await inner.ReadAsByteArrayAsync();
        if (at < bytes.Length) bytes[at] ^= 0x5A;
        await stream.WriteAsync(bytes);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = inner.Headers.ContentLength ?? 0;
        return inner.Headers.ContentLength is not null;
    }

    public static void Replace(HttpResponseMessage response, long at)
    {
        var original = response.Content;
        var flipped = new FlippingContent(original, at);
        foreach (var h in original.Headers) flipped.Headers.TryAddWithoutValidation(h.Key, h.Value);
        response.Content = flipped;
    }
}

public static class Responses
{
    public static HttpResponseMessage Status(HttpStatusCode code, params (string Name, string Value)[] headers)
    {
        var r = new HttpResponseMessage(code) { Content = new ByteArrayContent([]) };
        foreach (var (n, v) in headers) r.Headers.TryAddWithoutValidation(n, v);
        return r;
    }
}
