using Pipelines.Data.Parquet;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Tests.Parquet;

/// <summary>
/// What the writer decides per column chunk — dictionary or plain, and the statistics it records — and that each
/// choice still reads back as the values written (by us and by DuckDB).
/// </summary>
public class WriterChoicesTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => Directory.CreateDirectory(_dir = Path.Combine(Path.GetTempPath(), "pipelines-data-tests", Guid.NewGuid().ToString("N")));

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private const int Rows = 110_000;

    /// <summary>Strings and doubles with <paramref name="distinct"/> values spread at random, 10 % nulls.</summary>
    private static Table Spread(int distinct, int seed)
    {
        var rnd = new Random(seed);
        var s = new BinaryBuilder(DataType.String, Rows);
        var d = new PrimitiveBuilder<double>(DataType.Float64, Rows);
        for (var r = 0; r < Rows; r++)
        {
            if (rnd.NextDouble() < 0.1) { s.AppendNull(); d.AppendNull(); continue; }
            var v = distinct == Rows ? r : rnd.Next(distinct);
            s.Append($"value-{v:D6}");
            d.Append(v * 0.25 - 1000);
        }
        return new Table(new Schema([new Field("s", DataType.String), new Field("d", DataType.Float64)]), [s.Build(), d.Build()]);
    }

    private (ParquetReader Reader, string Path) Write(Table table, string name)
    {
        var path = System.IO.Path.Combine(_dir, name + ".parquet");
        ParquetWriter.WriteTable(path, table, new ParquetWriterOptions { MaxDegreeOfParallelism = 1 });
        return (ParquetReader.Open(path), path);
    }

    private static void AssertReadsBack(ParquetReader reader, string path, Table expected)
    {
        var ours = reader.ReadAll();
        for (var c = 0; c < expected.Columns.Count; c++)
            for (var r = 0; r < expected.RowCount; r++)
                Assert.That(ours.Columns[c].GetValue(r), Is.EqualTo(expected.Columns[c].GetValue(r)), $"{expected.Schema[c].Name} row {r}");
        var duck = DuckDbPeer.Dump(path);
        for (var c = 0; c < duck.Count; c++) DuckDbPeer.AssertColumnMatches(duck[c], expected.Columns[c], "DuckDB reading our file");
    }

    [Test]
    public void DistinctValues_AreWrittenPlain_ManyRepeatsSpreadThroughTheColumn_KeepTheirDictionary()
    {
        // 20,000 distinct values among 110,000 rows: past the early look (a quarter of the way in, about half the
        // values seen so far are distinct), and a dictionary still saves space.
        var repeated = Spread(20_000, 1);
        var (r1, p1) = Write(repeated, "repeated");
        using (r1)
        {
            foreach (var chunk in r1.Metadata.RowGroups[0].Columns)
                Assert.That(chunk.MetaData!.DictionaryPageOffset, Is.Not.Null, $"{chunk.MetaData.PathInSchema[0]}: dictionary kept");
            AssertReadsBack(r1, p1, repeated);
        }

        var distinct = Spread(Rows, 2);
        var (r2, p2) = Write(distinct, "distinct");
        using (r2)
        {
            foreach (var chunk in r2.Metadata.RowGroups[0].Columns)
                Assert.That(chunk.MetaData!.DictionaryPageOffset, Is.Null, $"{chunk.MetaData.PathInSchema[0]}: no dictionary for distinct values");
            AssertReadsBack(r2, p2, distinct);
        }
    }

    [TestCase(50)]
    [TestCase(Rows)]
    public void StringStatistics_AreTheTrueBounds_WithOrWithoutADictionary(int distinct)
    {
        var table = Spread(distinct, 3);
        var (reader, _) = Write(table, "stats");
        using (reader)
        {
            var values = Enumerable.Range(0, Rows).Select(r => (string?)table.Columns[0].GetValue(r)).OfType<string>().ToList();
            var (min, max, nulls) = reader.GetStatistics(0, "s")!.Value;
            Assert.That(min, Is.EqualTo(values.Min(StringComparer.Ordinal)));
            Assert.That(max, Is.EqualTo(values.Max(StringComparer.Ordinal)));
            Assert.That(nulls, Is.EqualTo(Rows - values.Count));
        }
    }
}
