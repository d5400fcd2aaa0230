using System.Buffers.Binary;
using System.IO.Compression;
using Pipelines.Data.Parquet;

namespace Pipelines.Data.Compression;

/// <summary>Compresses and decompresses page bodies for every Parquet codec we support.</summary>
internal static class PageCompression
{
    /// <summary>Decompresses <paramref name="src"/> into exactly <paramref name="dst"/> (its length is the page's uncompressed size).</summary>
    public static void Decompress(CompressionCodec codec, ReadOnlySpan<byte> src, Span<byte> dst)
    {
        int written;
        switch (codec)
        {
            case CompressionCodec.Uncompressed:
                if (src.Length != dst.Length) throw new InvalidDataException($"uncompressed page is {src.Length} bytes, header says {dst.Length}");
                src.CopyTo(dst);
                return;
            case CompressionCodec.Snappy: written = SnappyDecoder.Decompress(src, dst); break;
            case CompressionCodec.Gzip: written = Gunzip(src, dst); break;
            case CompressionCodec.Brotli:
                if (!BrotliDecoder.TryDecompress(src, dst, out written)) throw new InvalidDataException("brotli stream is corrupt or longer than the header says");
                break;
            case CompressionCodec.Zstd: written = Zstd.DecompressTo(src, dst); break;
            case CompressionCodec.Lz4Raw: written = Lz4.DecompressBlock(src, dst); break;
            case CompressionCodec.Lz4: written = HadoopLz4(src, dst); break;
            default: throw new ParquetNotSupportedException($"compression codec {codec} is not supported");
        }
        if (written != dst.Length) throw new InvalidDataException($"{codec} produced {written} bytes, header says {dst.Length}");
    }

    private static int Gunzip(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        // GZipStream continues across concatenated members (covered by a test).
        using var gz = new GZipStream(new MemoryStream(src.ToArray()), CompressionMode.Decompress);
        var total = 0;
        while (total < dst.Length)
        {
            var n = gz.Read(dst[total..]);
            if (n == 0) break;
            total += n;
        }
        if (total == dst.Length && gz.Read(new byte[1]) != 0) throw new InvalidDataException("gzip stream is longer than the header says");
        return total;
    }

    // Hadoop's Lz4Codec frames blocks as [BE32 decompressed size][BE32 compressed size][block]...; some
    // older writers emitted a bare LZ4 block under the same codec id, so fall back to that.
    private static int HadoopLz4(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        var framed = TryHadoopFrames(src, dst);
        if (framed >= 0) return framed;
        return Lz4.DecompressBlock(src, dst);
    }

    private static int TryHadoopFrames(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        var written = 0;
        while (src.Length >= 8)
        {
            var expected = BinaryPrimitives.ReadUInt32BigEndian(src);
            var compressed = BinaryPrimitives.ReadUInt32BigEndian(src[4..]);
            src = src[8..];
            if (compressed > (uint)src.Length || expected > (uint)(dst.Length - written)) return -1;
            var n = Lz4.DecompressBlock(src[..(int)compressed], dst.Slice(written, (int)expected));
            if (n != expected) return -1;
            written += n;
            src = src[(int)compressed..];
        }
        return src.IsEmpty ? written : -1;
    }

    /// <summary>Compresses into a pooled buffer; returns the compressed length.</summary>
    public static int Compress(CompressionCodec codec, ReadOnlySpan<byte> src, ref byte[] dst, int zstdLevel = 1)
    {
        switch (codec)
        {
            case CompressionCodec.Uncompressed:
                Ensure(ref dst, src.Length);
                src.CopyTo(dst);
                return src.Length;
            case CompressionCodec.Snappy:
                // Snappier compresses straight into our pooled buffer; IronSnappy allocated a new array per page.
                Ensure(ref dst, Snappier.Snappy.GetMaxCompressedLength(src.Length));
                return Snappier.Snappy.Compress(src, dst);
            case CompressionCodec.Gzip:
            {
                var ms = new MemoryStream();
                using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(src);
                Ensure(ref dst, (int)ms.Length);
                ms.GetBuffer().AsSpan(0, (int)ms.Length).CopyTo(dst);
                return (int)ms.Length;
            }
            case CompressionCodec.Zstd:
                Ensure(ref dst, Zstd.CompressBound(src.Length));
                return Zstd.CompressTo(src, dst, zstdLevel);
            case CompressionCodec.Lz4Raw:
                Ensure(ref dst, Lz4.CompressBound(src.Length));
                return Lz4.CompressBlock(src, dst);
            case CompressionCodec.Brotli:
            {
                Ensure(ref dst, BrotliEncoder.GetMaxCompressedLength(src.Length));
                if (!BrotliEncoder.TryCompress(src, dst, out var n, 1, 22)) throw new InvalidOperationException("brotli compression failed");
                return n;
            }
            default: throw new ParquetNotSupportedException($"writing {codec} is not supported");
        }
    }

    private static void Ensure(ref byte[] buffer, int size)
    {
        if (buffer.Length < size) buffer = new byte[Math.Max(size, buffer.Length * 2)];
    }
}

/// <summary>CRC-32 (IEEE, as zlib), used for Parquet page checksums.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = Build();

    private static uint[] Build()
    {
        var t = new uint[256 * 8];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        for (var i = 0; i < 256; i++)
            for (var s = 1; s < 8; s++) t[s * 256 + i] = (t[(s - 1) * 256 + i] >> 8) ^ t[t[(s - 1) * 256 + i] & 0xFF];
        return t;
    }

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        var t = Table;
        while (data.Length >= 8)
        {
            var a = BinaryPrimitives.ReadUInt32LittleEndian(data) ^ crc;
            var b = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
            crc = t[7 * 256 + (a & 0xFF)] ^ t[6 * 256 + ((a >> 8) & 0xFF)] ^ t[5 * 256 + ((a >> 16) & 0xFF)] ^ t[4 * 256 + (a >> 24)]
                ^ t[3 * 256 + (b & 0xFF)] ^ t[2 * 256 + ((b >> 8) & 0xFF)] ^ t[256 + ((b >> 16) & 0xFF)] ^ t[b >> 24];
            data = data[8..];
        }
        foreach (var x in data) crc = t[(crc ^ x) & 0xFF] ^ (crc >> 8);
        return ~crc;
    }
}
