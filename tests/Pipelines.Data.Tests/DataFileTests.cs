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

        var maxRows = new ParquetWriterOptions().MaxRowGroupRows;
        Assert.That(DataFile.CsvBatchRows(floats), Is.EqualTo(Math.Min(rowGroup / (20 * 9), maxRows)), "by memory or by rows, whichever cuts first");
        Assert.That(DataFile.CsvBatchRows(new Schema(Enumerable.Range(0, 2_000).Select(i => new Field($"x{i}", DataType.Float64)))),
            Is.EqualTo(Math.Max(rowGroup / (2_000 * 9), CsvBatchReader.DefaultBatchRows)));
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

    [Test]
    public void MixedCrLfAndLfCsv_ConvertsToTheParquetDuckDbReadsFromItsLfCopy()
    {
        // DuckDB's sniffer refuses a file whose records end in both CRLF and LF; we read it. The same rows with LF
        // only are DuckDB's reference: CSV → Parquet as `data convert` does it (DataFile.Open → ParquetWriter, several
        // batches and row groups) must hold exactly DuckDB's values of the LF copy.
        var dir = Path.Combine(Path.GetTempPath(), $"datafile-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var rng = new Random(7);
            var mixed = new StringBuilder("id,name,x,flag\r\n");
            var lf = new StringBuilder("id,name,x,flag\n");
            for (var i = 0; i < 300_000; i++)
            {
                var name = (i % 5) switch { 0 => $"\"a, b {i}\"", 1 => $"\"two\nlines {i}\"", 2 => "", _ => $"w{rng.Next(50)}" };
                var x = i % 7 == 0 ? "" : (rng.NextDouble() * 1000 - 500).ToString("0.####", System.Globalization.CultureInfo.InvariantCulture);
                var record = $"{i},{name},{x},{(i % 3 == 0 ? "true" : "false")}";
                mixed.Append(record).Append(rng.Next(2) == 0 ? "\r\n" : "\n");
                lf.Append(record).Append('\n');
            }
            var mixedPath = Path.Combine(dir, "mixed.csv");
            var lfPath = Path.Combine(dir, "lf.csv");
            var parquetPath = Path.Combine(dir, "mixed.parquet");
            File.WriteAllText(mixedPath, mixed.ToString());
            File.WriteAllText(lfPath, lf.ToString());

            var (schema, batches) = DataFile.Open(mixedPath);
            using (var writer = ParquetWriter.Create(parquetPath, schema))
                foreach (var b in batches) writer.Write(b);
            using (var reader = ParquetReader.Open(parquetPath))
                Assert.That(reader.RowGroupCount, Is.GreaterThan(1), "the test must cross batches and row groups");

            var ours = DuckDbPeer.Dump(parquetPath);
            var theirs = DuckDbPeer.DumpSource($"read_csv({DuckDbPeer.Quote(lfPath)}, header = true)");
            Assert.That(ours.Select(c => c.Name), Is.EqualTo(theirs.Select(c => c.Name)));
            for (var c = 0; c < ours.Count; c++)
            {
                Assert.That(ours[c].Values, Has.Count.EqualTo(300_000), ours[c].Name);
                var r = 0;
                while (r < 300_000 && DuckDbPeer.SameValue(theirs[c].Values[r], ours[c].Values[r], schema[c].Type.Kind)) r++;
                Assert.That(r, Is.EqualTo(300_000), r < 300_000 ? $"column {ours[c].Name}, row {r}: DuckDB '{theirs[c].Values[r]}', ours '{ours[c].Values[r]}'" : "");
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
