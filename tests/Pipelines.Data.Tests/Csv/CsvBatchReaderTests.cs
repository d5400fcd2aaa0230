using System.Text;
using Pipelines.Data;
using Pipelines.Data.Csv;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Tests.Csv;

public class CsvBatchReaderTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => Directory.CreateDirectory(_dir = Path.Combine(Path.GetTempPath(), "pipelines-data-tests", Guid.NewGuid().ToString("N")));

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Write(string text)
    {
        var path = Path.Combine(_dir, $"{Guid.NewGuid():N}.csv");
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Rows with quoted fields holding delimiters, doubled quotes and line breaks, so records straddle the reader's 64K-char buffer.</summary>
    private static (string Text, List<(int Id, string Note, double? Amount)> Rows) Generate(int count)
    {
        var sb = new StringBuilder("id,note,amount\n");
        var rows = new List<(int, string, double?)>();
        for (var i = 0; i < count; i++)
        {
            var note = (i % 3) switch { 0 => $"plain {i}", 1 => $"with, comma and \"quote\" {i}", _ => $"two\nlines {i}" };
            double? amount = i % 7 == 0 ? null : i * 0.5;
            var quoted = note.Contains(',') || note.Contains('"') || note.Contains('\n') ? $"\"{note.Replace("\"", "\"\"")}\"" : note;
            sb.Append(i).Append(',').Append(quoted).Append(',').Append(amount?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "").Append('\n');
            rows.Add((i, note, amount));
        }
        return (sb.ToString(), rows);
    }

    [Test]
    public void Batches_AreBoundedAndTogetherHoldEveryRowInOrder()
    {
        var (text, expected) = Generate(10_000);
        using var reader = CsvBatchReader.Open(Write(text), batchRows: 1_000);

        var batches = reader.ReadBatches().Select(b => (b.RowCount,
            Rows: Enumerable.Range(0, b.RowCount).Select(r => ((int)b["id"].GetValue(r)!, (string)b["note"].GetValue(r)!, (double?)b["amount"].GetValue(r))).ToList())).ToList();

        Assert.That(batches.Select(b => b.RowCount), Is.All.EqualTo(1_000));
        Assert.That(batches, Has.Count.EqualTo(10));
        Assert.That(batches.SelectMany(b => b.Rows), Is.EqualTo(expected));
        Assert.That(reader.Schema.Fields.Select(f => f.Type), Is.EqualTo(new[] { DataType.Int32, DataType.String, DataType.Float64 }));
    }

    [Test]
    public void TypeInference_SeesRowsBeyondTheFirstBatch()
    {
        var sb = new StringBuilder("n\n");
        for (var i = 0; i < 5_000; i++) sb.Append(i).Append('\n');
        sb.Append("2.5\n");
        using var reader = CsvBatchReader.Open(Write(sb.ToString()), batchRows: 100);

        var batches = reader.ReadBatches().ToList();

        Assert.That(reader.Schema[0].Type, Is.EqualTo(DataType.Float64), "one value in the last batch widens the column for all batches");
        Assert.That(batches.Sum(b => b.RowCount), Is.EqualTo(5_001));
        Assert.That(batches[^1]["n"].GetValue(batches[^1].RowCount - 1), Is.EqualTo(2.5));
    }

    private static string WithBadRows(out List<long> badLines)
    {
        // 3,000 rows of "i,i*2"; rows 150, 1,499 and 2,801 carry a bad value, row 2,000 a wrong field count.
        var sb = new StringBuilder("a,b\n");
        badLines = [];
        for (var i = 0; i < 3_000; i++)
        {
            var line = i + 2L;
            if (i is 150 or 1_499 or 2_801) { sb.Append(i).Append(",oops\n"); badLines.Add(line); }
            else if (i == 2_000) { sb.Append(i).Append(",1,2\n"); badLines.Add(line); }
            else sb.Append(i).Append(',').Append(i * 2).Append('\n');
        }
        return sb.ToString();
    }

    private static readonly Dictionary<string, DataType> IntTypes = new() { ["a"] = DataType.Int32, ["b"] = DataType.Int32 };

    [Test]
    public void FailPolicy_StopsAtTheFirstBadRowWithLineColumnAndValue_AfterEarlierBatches()
    {
        var path = Write(WithBadRows(out _));
        using var reader = CsvBatchReader.Open(path, new CsvOptions { ColumnTypes = IntTypes }, batchRows: 100);
        var seen = 0;

        var e = Assert.Throws<CsvFormatException>(() => { foreach (var b in reader.ReadBatches()) seen += b.RowCount; })!;

        Assert.That(seen, Is.EqualTo(100), "the batch before the bad row was delivered");
        Assert.That(e.Error.Line, Is.EqualTo(152));
        Assert.That(e.Error.Column, Is.EqualTo("b"));
        Assert.That(e.Error.Value, Is.EqualTo("oops"));
        Assert.That(e.Message, Does.Contain("line 152").And.Contain("column 'b'").And.Contain("'oops'"));
    }

    [Test]
    public void SkipPolicy_CountsBadRowsInEveryBatch()
    {
        var path = Write(WithBadRows(out var badLines));
        using var reader = CsvBatchReader.Open(path, new CsvOptions { ColumnTypes = IntTypes, BadRows = BadRowPolicy.Skip }, batchRows: 500);

        var batches = reader.ReadBatches().ToList();

        Assert.That(batches.Sum(b => b.RowCount), Is.EqualTo(3_000 - 4));
        Assert.That(batches.Select(b => b.RowCount), Is.All.LessThanOrEqualTo(500));
        Assert.That(reader.RejectedCount, Is.EqualTo(4));
        Assert.That(reader.RejectedRows.Select(r => r.Line), Is.EqualTo(badLines));
        var values = batches.SelectMany(b => Enumerable.Range(0, b.RowCount).Select(r => (int)b["a"].GetValue(r)!)).ToList();
        Assert.That(values, Does.Not.Contain(150).And.Not.Contain(2_000));
    }

    [Test]
    public void QuarantinePolicy_WritesEveryBadRowFromEveryBatch()
    {
        var path = Write(WithBadRows(out _));
        var quarantine = Path.Combine(_dir, "rejected", "bad.csv");
        using var reader = CsvBatchReader.Open(path, new CsvOptions { ColumnTypes = IntTypes, BadRows = BadRowPolicy.Quarantine, QuarantinePath = quarantine }, batchRows: 500);

        var rows = reader.ReadBatches().Sum(b => b.RowCount);

        Assert.That(rows, Is.EqualTo(2_996));
        Assert.That(File.ReadAllLines(quarantine), Is.EqualTo(new[] { "a,b", "150,oops", "1499,oops", "2000,1,2", "2801,oops" }));
    }

    [Test]
    public void RecordedErrors_AreCapped_WhileTheCountIsExact()
    {
        var sb = new StringBuilder("a\n");
        for (var i = 0; i < 50; i++) sb.Append("x\n").Append(i).Append('\n');
        using var reader = new CsvBatchReader(new MemoryStream(Encoding.UTF8.GetBytes(sb.ToString())),
            new CsvOptions { ColumnTypes = new Dictionary<string, DataType> { ["a"] = DataType.Int32 }, BadRows = BadRowPolicy.Skip }, maxRecordedErrors: 10);

        var rows = reader.ReadBatches().Sum(b => b.RowCount);

        Assert.That(rows, Is.EqualTo(50));
        Assert.That(reader.RejectedCount, Is.EqualTo(50));
        Assert.That(reader.RejectedRows, Has.Count.EqualTo(10));
    }

    [Test]
    public void StreamingALargeFile_KeepsTheLiveHeapFarBelowTheFileSize()
    {
        // About 40 MB of text (80 MB as .NET strings); reading it whole would keep all of it alive.
        var path = Path.Combine(_dir, "large.csv");
        using (var w = new StreamWriter(path))
        {
            w.Write("id,name,value\n");
            for (var i = 0; i < 1_000_000; i++) w.Write($"{i},customer-name-{i % 1000:0000}-padding-padding,{i * 0.25}\n");
        }
        var fileBytes = new FileInfo(path).Length;
        GC.Collect();
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        long peakLive = 0, rows = 0;

        using (var reader = CsvBatchReader.Open(path, batchRows: 20_000))
            foreach (var batch in reader.ReadBatches())
            {
                rows += batch.RowCount;
                peakLive = Math.Max(peakLive, GC.GetTotalMemory(forceFullCollection: true) - baseline);
            }

        Assert.That(rows, Is.EqualTo(1_000_000));
        Assert.That(fileBytes, Is.GreaterThan(40_000_000));
        Assert.That(peakLive, Is.LessThan(fileBytes / 4), $"live heap {peakLive:N0} bytes while streaming a {fileBytes:N0}-byte file");
    }

    [Test]
    public void WholeFileRead_MatchesTheBatches()
    {
        var (text, _) = Generate(3_000);
        var path = Write(text);
        var whole = CsvReader.Read(path).Table;
        using var reader = CsvBatchReader.Open(path, batchRows: 256);
        var concatenated = Table.Concat(reader.Schema, reader.ReadBatches());

        Assert.That(whole.Schema, Is.EqualTo(concatenated.Schema));
        for (var c = 0; c < whole.Columns.Count; c++)
            for (var r = 0; r < whole.RowCount; r++)
                Assert.That(concatenated.Columns[c].Format(r), Is.EqualTo(whole.Columns[c].Format(r)), $"column {c} row {r}");
    }

    /// <summary>Counts the bytes read through it, to tell one pass over a file from two.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long BytesRead { get; private set; }
        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override int Read(byte[] buffer, int offset, int count) { var n = inner.Read(buffer, offset, count); BytesRead += n; return n; }
        public override int Read(Span<byte> buffer) { var n = inner.Read(buffer); BytesRead += n; return n; }
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static byte[] IdsAndMeasures(int rows)
    {
        var sb = new StringBuilder("id,label,x1,x2\n");
        for (var i = 0; i < rows; i++) sb.Append(i).Append(',').Append(i % 3 == 0 ? "yes" : "no").Append(',').Append(i * 0.25).Append(',').Append(i % 10 == 0 ? "" : (i % 7).ToString()).Append('\n');
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private static string Cells(IEnumerable<Table> batches) =>
        string.Join("\n", batches.SelectMany(b => Enumerable.Range(0, b.RowCount).Select(r => string.Join(",", b.Columns.Select(c => c.Format(r) ?? "∅")))));

    [Test]
    public void DeclaredTypes_ReadTheFileOnce_WhileInferenceReadsItTwice()
    {
        var bytes = IdsAndMeasures(150_000);
        var declared = new CsvOptions { ColumnTypes = new Dictionary<string, DataType> { ["id"] = DataType.Int32, ["label"] = DataType.String, ["x1"] = DataType.Float64, ["x2"] = DataType.Int32 } };

        var once = new CountingStream(new MemoryStream(bytes));
        string declaredCells;
        using (var reader = new CsvBatchReader(once, declared)) declaredCells = Cells(reader.ReadBatches());
        var twice = new CountingStream(new MemoryStream(bytes));
        string inferredCells;
        using (var reader = new CsvBatchReader(twice))
        {
            Assert.That(reader.Schema.Fields.Select(f => f.Type), Is.EqualTo(new[] { DataType.Int32, DataType.String, DataType.Float64, DataType.Int32 }));
            inferredCells = Cells(reader.ReadBatches());
        }

        Assert.That(bytes.Length, Is.GreaterThan(2_000_000));
        Assert.That(once.BytesRead, Is.LessThan(bytes.Length * 1.05), "declared types: one pass");
        Assert.That(twice.BytesRead, Is.GreaterThanOrEqualTo(2L * bytes.Length), "inferred types: two passes");
        Assert.That(declaredCells, Is.EqualTo(inferredCells));
    }

    [Test]
    public void AskedForColumnsWithDeclaredTypes_AreReadInOnePass_InTheOrderAsked()
    {
        var bytes = IdsAndMeasures(100_000);
        var counting = new CountingStream(new MemoryStream(bytes));
        var options = new CsvOptions { ColumnTypes = new Dictionary<string, DataType> { ["x2"] = DataType.Float64, ["x1"] = DataType.Float64 } };

        using var reader = new CsvBatchReader(counting, options, columns: ["x2", "x1"]);
        var batches = reader.ReadBatches().ToList();

        Assert.That(reader.Schema, Is.EqualTo(new Schema([new Field("x2", DataType.Float64), new Field("x1", DataType.Float64)])));
        Assert.That(counting.BytesRead, Is.LessThan(bytes.Length * 1.05), "the undeclared id and label columns are not inferred");
        var all = Table.Concat(reader.Schema, batches);
        Assert.That(all.RowCount, Is.EqualTo(100_000));
        Assert.That(all["x1"].GetValue(4_321), Is.EqualTo(4_321 * 0.25));
        Assert.That(all["x2"].GetValue(4_321), Is.EqualTo((double)(4_321 % 7)));
        Assert.That(all["x2"].IsNull(4_320), Is.True);
    }

    [Test]
    public void DeclaredTypes_AValueThatDoesNotFit_FailsNamingFileLineAndColumn()
    {
        var sb = new StringBuilder("id,x1,x2\n");
        for (var i = 0; i < 5_000; i++) sb.Append(i).Append(',').Append(i * 0.5).Append(',').Append(i == 3_210 ? "1.5.2" : (i % 3).ToString()).Append('\n');
        var path = Write(sb.ToString());
        var options = new CsvOptions { ColumnTypes = new Dictionary<string, DataType> { ["x1"] = DataType.Float64, ["x2"] = DataType.Float64 } };

        var (schema, batches) = DataFile.Open(path, options, ["x2", "x1"]);
        var e = Assert.Throws<CsvFormatException>(() => batches.Sum(b => b.RowCount))!;

        Assert.That(schema.Fields.Select(f => f.Name), Is.EqualTo(new[] { "x2", "x1" }));
        Assert.That(e.Error, Is.EqualTo(new CsvRowError(3_212, "x2", "1.5.2", "not a valid float64") { File = path }));
        Assert.That(e.Message, Is.EqualTo($"{path}: line 3212, column 'x2', value '1.5.2': not a valid float64"));
    }

    [Test]
    public void SkipPolicy_RecordsTheFileOfEachRejectedRow()
    {
        var path = Write("a,b\n1,2\nx,3\n4,5\n");
        using var reader = CsvBatchReader.Open(path, new CsvOptions { BadRows = BadRowPolicy.Skip, ColumnTypes = new Dictionary<string, DataType> { ["a"] = DataType.Int64, ["b"] = DataType.Int64 } });

        var rows = reader.ReadBatches().Sum(b => b.RowCount);

        Assert.That(rows, Is.EqualTo(2));
        Assert.That(reader.RejectedRows.Single().ToString(), Is.EqualTo($"{path}: line 3, column 'a', value 'x': not a valid int64"));
    }
}
