using Pipelines.Data.Parquet.Encodings;

namespace Pipelines.Data.Tests.Parquet;

public class EncodingTests
{
    [TestCase(1, 1000, 0.5)]
    [TestCase(2, 1001, 0.2)]
    [TestCase(5, 999, 0.1)]
    [TestCase(8, 1003, 0.0)]
    [TestCase(9, 1000, 0.4)]
    [TestCase(12, 2049, 0.1)]
    [TestCase(16, 1000, 0.0)]
    [TestCase(20, 1001, 0.2)]
    [TestCase(24, 777, 0.0)]
    [TestCase(31, 513, 0.1)]
    [TestCase(1, 1000, 0.0)]
    [TestCase(3, 777, 0.9)]
    [TestCase(17, 4096, 0.3)]
    [TestCase(32, 100, 0.0)]
    public void RleBitPackedHybrid_RoundTrips(int bitWidth, int count, double repeatRate)
    {
        var rnd = new Random(bitWidth * 1000 + count);
        var max = bitWidth == 32 ? int.MaxValue : (1 << bitWidth) - 1;
        var values = new int[count];
        for (var i = 0; i < count; i++) values[i] = i > 0 && rnd.NextDouble() < repeatRate ? values[i - 1] : rnd.Next(0, max) + (max == int.MaxValue ? 0 : rnd.Next(2));
        using var buffer = new ByteBuffer();
        RleBitPackedEncoder.Encode(values, bitWidth, buffer);
        var decoded = new int[count];
        new RleBitPackedDecoder(buffer.Span, bitWidth).Read(decoded);
        Assert.That(decoded, Is.EqualTo(values));
    }

    [Test]
    public void RleDecoder_ThrowsWhenDataEndsEarly()
    {
        using var buffer = new ByteBuffer();
        RleBitPackedEncoder.Encode([1, 2, 3], 2, buffer);
        Assert.Throws<InvalidDataException>(() => new RleBitPackedDecoder(buffer.Span, 2).Read(new int[100]));
    }

    [Test]
    public void DeltaBinaryPacked_RoundTripsIncludingOverflowingDeltas()
    {
        var rnd = new Random(5);
        var values = Enumerable.Range(0, 1000).Select(i => i % 100 == 0 ? (i % 200 == 0 ? long.MinValue : long.MaxValue) : rnd.NextInt64(-1000, 1000)).ToArray();
        using var buffer = new ByteBuffer();
        DeltaBinaryPacked.Encode(values, buffer);
        var decoded = new long[values.Length];
        var consumed = DeltaBinaryPacked.Decode(buffer.Span, decoded, out var total);
        Assert.That(total, Is.EqualTo(values.Length));
        Assert.That(consumed, Is.EqualTo(buffer.Length));
        Assert.That(decoded, Is.EqualTo(values));
    }
}
