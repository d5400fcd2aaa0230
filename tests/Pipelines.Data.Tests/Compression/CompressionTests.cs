using System.IO.Compression;
using Pipelines.Data.Compression;
using Pipelines.Data.Parquet;

namespace Pipelines.Data.Tests.Compression;

public class CompressionTests
{
    private static byte[] Sample(int n) => Enumerable.Range(0, n).Select(i => (byte)(i * 7 % 13 + i / 100)).ToArray();

    [TestCase(CompressionCodec.Snappy)]
    [TestCase(CompressionCodec.Gzip)]
    [TestCase(CompressionCodec.Zstd)]
    [TestCase(CompressionCodec.Lz4Raw)]
    [TestCase(CompressionCodec.Brotli)]
    [TestCase(CompressionCodec.Uncompressed)]
    public void Codec_RoundTrips(CompressionCodec codec)
    {
        var data = Sample(100_000);
        var buffer = Array.Empty<byte>();
        var n = PageCompression.Compress(codec, data, ref buffer);
        var back = new byte[data.Length];
        PageCompression.Decompress(codec, buffer.AsSpan(0, n), back);
        Assert.That(back, Is.EqualTo(data));
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(70_000)]
    public void SnappyDecoder_AgreesWithIronSnappy(int size)
    {
        // Mixed content: random stretches (literals, including long ones) and repeats (copies, overlapping ones).
        var rnd = new Random(size);
        var data = new byte[size];
        for (var i = 0; i < size; i++) data[i] = i > 8 && rnd.Next(3) > 0 ? data[i - 1 - rnd.Next(Math.Min(i - 1, 70_000))] : (byte)rnd.Next(256);
        var compressed = IronSnappy.Snappy.Encode(data);
        var back = new byte[size];
        Assert.That(SnappyDecoder.Decompress(compressed, back), Is.EqualTo(size));
        Assert.That(back, Is.EqualTo(data));
        if (compressed.Length > 2) Assert.Throws<InvalidDataException>(() => SnappyDecoder.Decompress(compressed.AsSpan(0, compressed.Length - 1), back));
    }

    [Test]
    public void Gzip_ReadsConcatenatedMembers()
    {
        var a = Sample(1000);
        var b = Sample(2000).Reverse().ToArray();
        var ms = new MemoryStream();
        foreach (var part in new[] { a, b })
            using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true)) gz.Write(part);
        var back = new byte[a.Length + b.Length];
        PageCompression.Decompress(CompressionCodec.Gzip, ms.ToArray(), back);
        Assert.That(back, Is.EqualTo(a.Concat(b).ToArray()));
    }

    [Test]
    public void Decompress_RejectsASizeMismatch()
    {
        var data = Sample(1000);
        var buffer = Array.Empty<byte>();
        var n = PageCompression.Compress(CompressionCodec.Zstd, data, ref buffer);
        Assert.Throws<InvalidDataException>(() => PageCompression.Decompress(CompressionCodec.Zstd, buffer.AsSpan(0, n), new byte[999]));
    }

    [Test]
    public void Crc32_MatchesTheStandardCheckValue() =>
        Assert.That(Crc32.Compute("123456789"u8), Is.EqualTo(0xCBF43926u));
}
