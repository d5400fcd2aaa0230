// The hand-written Blob REST client that Azure.Storage.Blobs replaced (as of commit e3a33c8), kept only so the
// storage benchmark can measure both under the same load. Not used by the product.
using Pipelines.Storage;
using Pipelines.Storage.Azure;
using System.Security.Cryptography;

namespace Pipelines.Benchmarks.Storage.Legacy;

/// <summary>
/// A read-only pass-through that hashes what is read and, at the end of the stream, checks the total length
/// and the expected hashes; a mismatch throws <see cref="ArtifactIntegrityException"/> from the last read,
/// so a consumer that reads to the end cannot accept corrupted bytes.
/// </summary>
internal sealed class VerifyingReadStream(Stream inner, string what, long? expectedLength, byte[]? expectedMd5, string? expectedSha256) : ReadOnlyStream
{
    private readonly IncrementalHash? _md5 = expectedMd5 is null ? null : IncrementalHash.CreateHash(HashAlgorithmName.MD5);
    private readonly IncrementalHash? _sha = expectedSha256 is null ? null : IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _read;
    private bool _verified;

    public override long Length => expectedLength ?? throw new NotSupportedException();
    public override long Position { get => _read; set => throw new NotSupportedException(); }

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        return Observe(buffer[..n], buffer.Length);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        var n = await inner.ReadAsync(buffer, ct);
        return Observe(buffer.Span[..n], buffer.Length);
    }

    private int Observe(ReadOnlySpan<byte> data, int requested)
    {
        if (data.Length > 0)
        {
            _read += data.Length;
            _md5?.AppendData(data);
            _sha?.AppendData(data);
            if (expectedLength is { } max && _read > max)
                throw new ArtifactIntegrityException($"{what}: received more than the expected {max} bytes");
            return data.Length;
        }
        if (_verified || requested == 0) return 0;
        _verified = true;
        if (expectedLength is { } len && _read != len)
            throw new ArtifactIntegrityException($"{what}: received {_read} bytes, expected {len} (truncated transfer)");
        if (_md5 is not null)
        {
            var actual = _md5.GetHashAndReset();
            if (!actual.AsSpan().SequenceEqual(expectedMd5))
                throw new ArtifactIntegrityException($"{what}: Content-MD5 mismatch (expected {Convert.ToBase64String(expectedMd5!)}, got {Convert.ToBase64String(actual)})");
        }
        if (_sha is not null)
        {
            var actual = Convert.ToHexStringLower(_sha.GetHashAndReset());
            if (!string.Equals(actual, expectedSha256, StringComparison.OrdinalIgnoreCase))
                throw new ArtifactIntegrityException($"{what}: SHA-256 mismatch (expected {expectedSha256}, got {actual})");
        }
        return 0;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            _md5?.Dispose();
            _sha?.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync();
        _md5?.Dispose();
        _sha?.Dispose();
        await base.DisposeAsync();
    }
}
