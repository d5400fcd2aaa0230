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

/// <summary>A response body that breaks (IOException) after <c>after</c> bytes: a connection reset mid-download.</summary>
public sealed class BreakingContent(HttpContent inner, long after) : HttpContent
{
    protected override async Task<Stream> CreateContentReadStreamAsync() => new BreakingStream(await inner.ReadAsStreamAsync(), after);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => throw new NotSupportedException();

    protected override bool TryComputeLength(out long length)
    {
        length = inner.Headers.ContentLength ?? 0;
        return inner.Headers.ContentLength is not null;
    }

    public static void Replace(HttpResponseMessage response, long after)
    {
        var original = response.Content;
        var broken = new BreakingContent(original, after);
        foreach (var h in original.Headers) broken.Headers.TryAddWithoutValidation(h.Key, h.Value);
        response.Content = broken;
    }

    private sealed class BreakingStream(Stream inner, long after) : Stream
    {
        private long _read;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer)
        {
            if (_read >= after) throw new IOException("connection reset by peer (test)");
            var n = inner.Read(buffer[..(int)Math.Min(buffer.Length, after - _read)]);
            _read += n;
            return n;
        }
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            if (_read >= after) throw new IOException("connection reset by peer (test)");
            var n = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, after - _read)], ct);
            _read += n;
            return n;
        }
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
    }
}
