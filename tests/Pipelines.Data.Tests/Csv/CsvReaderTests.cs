using Encoding = System.Text.Encoding;
using Pipelines.Data.Csv;
using Pipelines.Data.Parquet;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Tests.Csv;

public class CsvReaderTests
{
    private static CsvReadResult ReadText(string text, CsvOptions? options = null) =>
        CsvReader.Read(new MemoryStream(Encoding.UTF8.GetBytes(text)), options);

    [Test]
    public void Inference_PicksTheNarrowestTypePerColumn()
    {
        var r = ReadText("b,i,l,f,d,t,tz,s\ntrue,1,1,1.5,2024-01-31,2024-01-31 10:00:00,2024-01-31T10:00:00Z,x\nFALSE,-7,9999999999,2,1999-12-31,2024-02-01T00:00:00.25,2024-02-01T00:00:00+00:00,1\n");
        Assert.That(r.Table.Schema.Fields.Select(f => f.Type), Is.EqualTo(new[]
        {
            DataType.Boolean, DataType.Int32, DataType.Int64, DataType.Float64, DataType.Date,
            DataType.Timestamp(TimeUnit.Micros, false), DataType.Timestamp(TimeUnit.Micros, true), DataType.String,
        }));
        Assert.That(r.Table["l"].GetValue(1), Is.EqualTo(9999999999L));
        Assert.That(r.Table["d"].GetValue(0), Is.EqualTo(new DateOnly(2024, 1, 31)));
        Assert.That(r.Table["t"].GetValue(1), Is.EqualTo(new DateTime(2024, 2, 1, 0, 0, 0, 250)));
        Assert.That(r.Table["f"].GetValue(1), Is.EqualTo(2.0));
    }

    [Test]
    public void Quoting_HandlesDelimitersQuotesAndLineBreaksInsideFields()
    {
        var r = ReadText("a;b\n\"x;y\";\"say \"\"hi\"\"\"\r\n\"multi\nline\";  plain  \n", new CsvOptions { Delimiter = ';' });
        Assert.That(r.Table.RowCount, Is.EqualTo(2));
        Assert.That(r.Table["a"].GetValue(0), Is.EqualTo("x;y"));
        Assert.That(r.Table["b"].GetValue(0), Is.EqualTo("say \"hi\""));
        Assert.That(r.Table["a"].GetValue(1), Is.EqualTo("multi\nline"));
        Assert.That(r.Table["b"].GetValue(1), Is.EqualTo("plain"));
    }

    [Test]
    public void NullTokens_AreNullUnlessQuoted()
    {
        var r = ReadText("n,s\n?,?\n3,\"?\"\n,NA\n", new CsvOptions { NullTokens = ["?", "", "NA"] });
        Assert.That(r.Table["n"].Type, Is.EqualTo(DataType.Int32));
        Assert.That(r.Table["n"].NullCount, Is.EqualTo(2));
        Assert.That(r.Table["s"].IsNull(0), Is.True);
        Assert.That(r.Table["s"].GetValue(1), Is.EqualTo("?"));
        Assert.That(r.Table["s"].IsNull(2), Is.True);
    }

    [Test]
    public void FailPolicy_NamesLineColumnAndValue()
    {
        var options = new CsvOptions { ColumnTypes = new Dictionary<string, DataType> { ["n"] = DataType.Int32 } };
        var ex = Assert.Throws<CsvFormatException>(() => ReadText("n,s\n1,a\n2,b\nthree,c\n", options));
        Assert.That(ex!.Error, Is.EqualTo(new CsvRowError(4, "n", "three", "not a valid int32")));
        var width = Assert.Throws<CsvFormatException>(() => ReadText("n,s\n1,a\n2\n"));
        Assert.That(width!.Error.Line, Is.EqualTo(3));
        Assert.That(width.Error.Reason, Does.Contain("1 fields, expected 2"));
    }

    [Test]
    public void SkipPolicy_DropsAndCountsBadRows()
    {
        var options = new CsvOptions { BadRows = BadRowPolicy.Skip, ColumnTypes = new Dictionary<string, DataType> { ["n"] = DataType.Int64 } };
        var r = ReadText("n,s\n1,a\nx,b\n3,c,extra\n\"open,d\n", options);
        Assert.That(r.Table.RowCount, Is.EqualTo(1));
        Assert.That(r.RejectedRows.Select(e => e.Line), Is.EqualTo(new long[] { 4, 5, 3 }).AsCollection.Or.EquivalentTo(new long[] { 3, 4, 5 }));
        Assert.That(r.RejectedRows, Has.Count.EqualTo(3));
    }

    [Test]
    public void QuarantinePolicy_WritesRejectedRowsToTheirOwnFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"quarantine-{Guid.NewGuid():N}.csv");
        try
        {
            var options = new CsvOptions { BadRows = BadRowPolicy.Quarantine, QuarantinePath = path, ColumnTypes = new Dictionary<string, DataType> { ["n"] = DataType.Int32 } };
            var r = ReadText("n,s\n1,a\nbad,b\n3,c\n4\n", options);
            Assert.That(r.Table.RowCount, Is.EqualTo(2));
            Assert.That(File.ReadAllText(path), Is.EqualTo("n,s\n4\nbad,b\n").Or.EqualTo("n,s\nbad,b\n4\n"));
        }
        finally { File.Delete(path); }
    }

    [Test]
    public void Encoding_Latin1IsDecoded()
    {
        var bytes = Encoding.Latin1.GetBytes("name\ncafé\n");
        var r = CsvReader.Read(new MemoryStream(bytes), new CsvOptions { Encoding = Encoding.Latin1 });
        Assert.That(r.Table["name"].GetValue(0), Is.EqualTo("café"));
    }

    private static readonly CsvOptions AdultOptions = new() { NullTokens = ["?"], BadRows = BadRowPolicy.Fail };

    [TestCase("adult.data", 32561)]
    [TestCase("adult.test", 16281)]
    public void Adult_LoadsCleanly_WithQuestionMarkAsNull(string file, int rows)
    {
        var path = Path.Combine(DuckDbPeer.Adult, file);
        var result = CsvReader.Read(path, AdultOptions);
        var t = result.Table;
        Assert.That(result.RejectedRows, Is.Empty);
        Assert.That(t.RowCount, Is.EqualTo(rows));
        Assert.That(t.Schema.Fields.Select(f => f.Name).First(), Is.EqualTo("age"));
        Assert.That(t["age"].Type, Is.EqualTo(DataType.Int32));
        Assert.That(t["fnlwgt"].Type, Is.EqualTo(DataType.Int32));
        Assert.That(t["workclass"].Type, Is.EqualTo(DataType.String));
        // Independent count: fields that are exactly "?" after trimming, split naively (Adult has no quoting).
        var lines = File.ReadAllLines(path).Skip(1).Where(l => l.Trim().Length > 0).Select(l => l.Split(',').Select(f => f.Trim()).ToArray()).ToList();
        foreach (var column in new[] { "workclass", "occupation", "native-country" })
        {
            var index = t.Schema.IndexOf(column);
            Assert.That(t[column].NullCount, Is.EqualTo(lines.Count(l => l[index] == "?")), column);
            Assert.That(t[column].NullCount, Is.GreaterThan(0));
        }
    }

    [Test]
    public void Adult_ConvertedToParquet_MatchesDuckDbReadingTheCsv()
    {
        var csv = Path.Combine(DuckDbPeer.Adult, "adult.data");
        var table = CsvReader.Read(csv, AdultOptions).Table;
        var parquet = Path.Combine(Path.GetTempPath(), $"adult-{Guid.NewGuid():N}.parquet");
        try
        {
            ParquetWriter.WriteTable(parquet, table, new ParquetWriterOptions { Codec = CompressionCodec.Zstd });
            // DuckDB keeps the blank after each comma (" State-gov", " ?"); we trim by design, so trim its strings too.
            var duckCsv = DuckDbPeer.DumpSource($"read_csv('{csv}', header=true, nullstr=' ?')")
                .Select(c => c with { Values = c.Values.Select(v => v?.Trim()).ToList() }).ToList();
            var duckParquet = DuckDbPeer.Dump(parquet);
            Assert.That(duckParquet.Select(c => c.Name), Is.EqualTo(duckCsv.Select(c => c.Name)));
            for (var c = 0; c < duckCsv.Count; c++)
            {
                Assert.That(duckParquet[c].Values, Is.EqualTo(duckCsv[c].Values), $"column {duckCsv[c].Name}");
                DuckDbPeer.AssertColumnMatches(duckCsv[c], table.Columns[c], "adult");
            }
        }
        finally { File.Delete(parquet); }
    }
}
