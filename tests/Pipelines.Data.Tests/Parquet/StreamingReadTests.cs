using Pipelines.Data.Parquet;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Tests.Parquet;

public class StreamingReadTests
{
    private static byte[] WriteGroups(Table table, ParquetWriterOptions options)
    {
        var stream = new MemoryStream();
        using (var writer = new ParquetWriter(stream, table.Schema, options, leaveOpen: true)) writer.Write(table);
        return stream.ToArray();
    }

    [TestCase(CompressionCodec.Snappy, true)]
    [TestCase(CompressionCodec.Uncompressed, false)]
    [TestCase(CompressionCodec.Gzip, true)]
    public void ReusedBuffers_YieldTheSameValuesAsFreshOnes_InEveryRowGroup(CompressionCodec codec, bool dictionary)
    {
        // Uneven row groups (the last is smaller), nulls, dictionaries that differ per group: any stale
        // value, validity bit, offset or dictionary entry left over from the previous group shows up here.
        var table = TestTables.AllTypes(2_500, seed: 7, nullRate: 0.2);
        var file = WriteGroups(table, new ParquetWriterOptions { Codec = codec, MaxRowGroupRows = 700, UseDictionary = dictionary });
        using var fresh = new ParquetReader(new MemoryStream(file));
        using var reused = new ParquetReader(new MemoryStream(file));
        Assert.That(fresh.RowGroupCount, Is.EqualTo(4));

        var expected = fresh.ReadRowGroups().Select(Snapshot).ToList();
        var actual = reused.ReadRowGroups(reuseBuffers: true).Select(Snapshot).ToList();

        Assert.That(actual, Has.Count.EqualTo(expected.Count));
        for (var g = 0; g < expected.Count; g++)
            Assert.That(actual[g], Is.EqualTo(expected[g]), $"row group {g}");
    }

    [Test]
    public void ReusedBuffers_ReuseTheArraysOfThePreviousRowGroup()
    {
        var table = TestTables.AllTypes(2_000, seed: 3);
        var file = WriteGroups(table, new ParquetWriterOptions { MaxRowGroupRows = 500 });
        using var reader = new ParquetReader(new MemoryStream(file));
        var before = 0L;
        var perGroup = new List<long>();
        foreach (var batch in reader.ReadRowGroups(reuseBuffers: true))
        {
            var now = GC.GetAllocatedBytesForCurrentThread();
            if (before != 0) perGroup.Add(now - before);
            before = now;
        }
        using var fresh = new ParquetReader(new MemoryStream(file));
        var freshBefore = 0L;
        var freshPerGroup = new List<long>();
        foreach (var batch in fresh.ReadRowGroups())
        {
            var now = GC.GetAllocatedBytesForCurrentThread();
            if (freshBefore != 0) freshPerGroup.Add(now - freshBefore);
            freshBefore = now;
        }

        // Later groups allocate a fraction of what a fresh decode does (small objects and narrowing conversions remain).
        Assert.That(perGroup.Max(), Is.LessThan(freshPerGroup.Min() / 2), $"reused: {string.Join(", ", perGroup)}; fresh: {string.Join(", ", freshPerGroup)}");
    }

    /// <summary>Every cell as text, taken before the enumeration moves on.</summary>
    private static List<string?> Snapshot(Table t)
    {
        var cells = new List<string?>();
        for (var c = 0; c < t.Columns.Count; c++)
            for (var r = 0; r < t.RowCount; r++) cells.Add($"{t.Schema[c].Name}[{r}]={t.Columns[c].Format(r) ?? "null"}");
        return cells;
    }
}
