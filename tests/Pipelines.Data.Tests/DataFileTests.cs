using System.Text;
using Pipelines.Data.Csv;
using Pipelines.Data.Parquet;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Tests;

public class DataFileTests
{
    [Test]
    public void CsvBatches_HoldAboutAParquetRowGroupOfValues()
    {
        var rowGroup = new ParquetWriterOptions().RowGroupSize;
        var floats = new Schema(Enumerable.Range(0, 20).Select(i => new Field($"x{i}", DataType.Float64)));
        var narrow = new Schema([new Field("a", DataType.Int32)]);
        var wide = new Schema(Enumerable.Range(0, 2_000).Select(i => new Field($"s{i}", DataType.String)));

        Assert.That(DataFile.CsvBatchRows(floats), Is.EqualTo(rowGroup / (20 * 9)));
        Assert.That(DataFile.CsvBatchRows(narrow), Is.EqualTo(new ParquetWriterOptions().MaxRowGroupRows), "no more rows than a row group holds");
        Assert.That(DataFile.CsvBatchRows(wide), Is.EqualTo(CsvBatchReader.DefaultBatchRows), "no fewer than the reader's default");
    }

    [Test]
    public void Csv_IsStreamedInBatchesOfThatSize()
    {
        var path = Path.Combine(Path.GetTempPath(), $"datafile-{Guid.NewGuid():N}.csv");
        try
        {
            var sb = new StringBuilder("id,x\n");
            for (var i = 0; i < 300_000; i++) sb.Append(i).Append(',').Append(i * 0.5).Append('\n');
            File.WriteAllText(path, sb.ToString());

            var (schema, batches) = DataFile.Open(path);
            var sizes = batches.Select(b => b.RowCount).ToList();

            var expected = DataFile.CsvBatchRows(schema);
            Assert.That(expected, Is.GreaterThan(CsvBatchReader.DefaultBatchRows));
            Assert.That(sizes, Is.EqualTo(Enumerable.Repeat(expected, 300_000 / expected).Append(300_000 % expected).Where(n => n > 0)));
        }
        finally { File.Delete(path); }
    }
}
