// The hand-written Blob REST client that Azure.Storage.Blobs replaced (as of commit e3a33c8), kept only so the
// storage benchmark can measure both under the same load. Not used by the product.
using Pipelines.Storage;
using Pipelines.Storage.Azure;
namespace Pipelines.Benchmarks.Storage.Legacy;

/// <summary>
/// A forward-only stream that only reads: what every such stream answers alike. Subclasses read spans and memory;
/// the array overloads forward to them.
/// </summary>
internal abstract class ReadOnlyStream : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;

    public abstract override int Read(Span<byte> buffer);

    public abstract override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default);

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
        ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
