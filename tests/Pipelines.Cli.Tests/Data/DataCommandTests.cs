using Pipelines.Cli.Tests.Processes;
using Pipelines.Data.Parquet;

namespace Pipelines.Cli.Tests.Data;

/// <summary><c>pipelines data schema|head|stats|convert</c> run as the real CLI process.</summary>
public class DataCommandTests
{
    private static readonly string Shared = FindShared();
    private static readonly string Adult = Path.Combine(Shared, "datasets", "adult", "adult.data");
    private static readonly string AllTypes = Path.Combine(Shared, "parquet-testing", "data", "alltypes_plain.parquet");
    private string _dir = "";

    private static string FindShared()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Pipelines.sln"))) dir = dir.Parent;
        return Path.GetFullPath(Path.Combine(dir?.FullName ?? throw new InvalidOperationException("run from inside the repository"), "..", "shared"));
    }

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("pipelines-data-cli-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    /// <summary>The cells of the table rows in Spectre's box-drawn output, trimmed.</summary>
    private static List<string[]> Rows(string output) =>
        output.Split('\n').Where(l => l.StartsWith('│')).Select(l => l.Trim().Trim('│').Split('│').Select(c => c.Trim()).ToArray()).ToList();

    [Test]
    public async Task Convert_AdultCsvToParquetWithZstd_ReadsBackWithEveryRowAndQuestionMarksAsNulls()
    {
        var target = Path.Combine(_dir, "adult.parquet");

        var (code, output) = await CliProcess.RunAsync("data", "convert", Adult, target, "--codec", "zstd", "--null", "?");

        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("wrote 32561 rows"));
        using var reader = ParquetReader.Open(target);
        Assert.That(reader.RowCount, Is.EqualTo(32561));
        Assert.That(reader.Metadata.RowGroups.SelectMany(g => g.Columns).Select(c => c.MetaData!.Codec), Is.All.EqualTo(CompressionCodec.Zstd));
        var table = reader.ReadAll();
        // Independent count of "?" fields (Adult has no quoting, so a naive split is exact).
        var lines = File.ReadAllLines(Adult).Skip(1).Where(l => l.Trim().Length > 0).Select(l => l.Split(',').Select(f => f.Trim()).ToArray()).ToList();
        Assert.That(lines, Has.Count.EqualTo(32561));
        foreach (var column in new[] { "workclass", "occupation", "native-country" })
        {
            var index = table.Schema.IndexOf(column);
            var expected = lines.Count(l => l[index] == "?");
            Assert.That(expected, Is.GreaterThan(0), column);
            Assert.That(table[column].NullCount, Is.EqualTo(expected), column);
        }
        Assert.That(table["age"].NullCount, Is.Zero);
        Assert.That(table["age"].GetValue(0), Is.EqualTo(int.Parse(lines[0][0])));
    }

    [Test]
    public async Task Convert_ParquetToCsvAndBack_KeepsRowsAndValues()
    {
        var csv = Path.Combine(_dir, "alltypes.csv");
        var back = Path.Combine(_dir, "back.parquet");

        var (toCsv, output1) = await CliProcess.RunAsync("data", "convert", AllTypes, csv);
        var (toParquet, output2) = await CliProcess.RunAsync("data", "convert", csv, back, "--codec", "gzip");

        Assert.That(toCsv, Is.EqualTo(0), output1);
        Assert.That(toParquet, Is.EqualTo(0), output2);
        Assert.That(File.ReadAllLines(csv), Has.Length.EqualTo(9), "header and 8 rows");
        using var original = ParquetReader.Open(AllTypes);
        using var copy = ParquetReader.Open(back);
        var a = original.ReadAll(["id", "int_col", "double_col"]);
        var b = copy.ReadAll(["id", "int_col", "double_col"]);
        Assert.That(b.RowCount, Is.EqualTo(8));
        for (var c = 0; c < 3; c++)
            for (var r = 0; r < 8; r++)
                Assert.That(b.Columns[c].Format(r), Is.EqualTo(a.Columns[c].Format(r)), $"column {c} row {r}");
    }

    [Test]
    public async Task Schema_OfAParquetTestingFile_ListsColumnsTypesRowsAndRowGroups()
    {
        var (code, output) = await CliProcess.RunAsync("data", "schema", AllTypes);

        Assert.That(code, Is.EqualTo(0), output);
        var rows = Rows(output);
        Assert.That(rows.Select(r => r[0]), Is.EqualTo(new[] { "column", "id", "bool_col", "tinyint_col", "smallint_col", "int_col", "bigint_col",
            "float_col", "double_col", "date_string_col", "string_col", "timestamp_col" }));
        Assert.That(rows.Single(r => r[0] == "id")[3], Is.EqualTo("Int32"));
        Assert.That(rows.Single(r => r[0] == "timestamp_col")[3], Is.EqualTo("Int96"));
        Assert.That(output, Does.Contain("rows: 8, row groups: 1"));
    }

    [Test]
    public async Task Head_ShowsTheFirstRowsInFileOrder()
    {
        var (code, output) = await CliProcess.RunAsync("data", "head", AllTypes, "-n", "3", "--columns", "id,bool_col");

        Assert.That(code, Is.EqualTo(0), output);
        var rows = Rows(output);
        Assert.That(rows[0], Is.EqualTo(new[] { "id", "bool_col" }));
        // alltypes_plain.parquet stores ids 4, 5, 6, 7, 2, 3, 0, 1.
        Assert.That(rows.Skip(1).Select(r => r[0]), Is.EqualTo(new[] { "4", "5", "6" }));
        Assert.That(rows.Skip(1).Select(r => r[1]), Is.EqualTo(new[] { "true", "false", "true" }).IgnoreCase);
    }

    [Test]
    public async Task Stats_ShowsCountsNullsMinMaxAndRowGroups()
    {
        var (code, output) = await CliProcess.RunAsync("data", "stats", AllTypes);

        Assert.That(code, Is.EqualTo(0), output);
        var id = Rows(output).Single(r => r[0] == "id");
        Assert.That(id[2..6], Is.EqualTo(new[] { "8", "0", "0", "7" }), "rows, nulls, min, max");
        Assert.That(id[6], Is.EqualTo("8"), "distinct");
        var groups = Rows(output).SkipWhile(r => r[0] != "row group").ToList();
        Assert.That(groups, Has.Count.EqualTo(2));
        Assert.That(groups[1][..2], Is.EqualTo(new[] { "0", "8" }));
    }

    [Test]
    public async Task Stats_OfAdultCsv_CountsQuestionMarksAsNulls()
    {
        var (code, output) = await CliProcess.RunAsync("data", "stats", Adult, "--null", "?");

        Assert.That(code, Is.EqualTo(0), output);
        var workclass = Rows(output).Single(r => r[0] == "workclass");
        Assert.That(workclass[2], Is.EqualTo("32561"));
        var expected = File.ReadAllLines(Adult).Skip(1).Count(l => l.Split(',') is { Length: > 1 } f && f[1].Trim() == "?");
        Assert.That(workclass[3], Is.EqualTo(expected.ToString()));
    }

    [TestCase("schema")]
    [TestCase("head")]
    [TestCase("stats")]
    public async Task MissingFile_FailsWithNotFoundNamingTheFile(string subcommand)
    {
        var missing = Path.Combine(_dir, "no-such-file.parquet");

        var (code, output) = await CliProcess.RunAsync("data", subcommand, missing);

        Assert.That(code, Is.EqualTo(3), output);
        Assert.That(output, Does.Contain("error:").And.Contain("no-such-file.parquet"));
    }

    [TestCase("schema")]
    [TestCase("head")]
    [TestCase("stats")]
    public async Task CorruptParquet_FailsWithInvalidInputNamingTheFileAndOffset(string subcommand)
    {
        var bytes = File.ReadAllBytes(AllTypes);
        var corrupt = Path.Combine(_dir, "truncated.parquet");
        File.WriteAllBytes(corrupt, bytes[..(bytes.Length / 2)]);

        var (code, output) = await CliProcess.RunAsync("data", subcommand, corrupt);

        Assert.That(code, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("error:").And.Contain("truncated.parquet").And.Contain("offset"));
    }

    [Test]
    public async Task Convert_OfACorruptFile_FailsAndLeavesNoOutput()
    {
        var bytes = File.ReadAllBytes(AllTypes);
        var corrupt = Path.Combine(_dir, "truncated.parquet");
        File.WriteAllBytes(corrupt, bytes[..(bytes.Length / 2)]);
        var target = Path.Combine(_dir, "out.csv");

        var (code, output) = await CliProcess.RunAsync("data", "convert", corrupt, target);

        Assert.That(code, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("truncated.parquet"));
        Assert.That(Directory.GetFiles(_dir).Select(Path.GetFileName), Is.EqualTo(new[] { "truncated.parquet" }));
    }

    private string DuckDbParquet(string name, string select)
    {
        var path = Path.Combine(_dir, name);
        using var connection = new DuckDB.NET.Data.DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"COPY ({select}) TO '{path.Replace("'", "''")}' (FORMAT PARQUET)";
        command.ExecuteNonQuery();
        return path;
    }

    [TestCase("head")]
    [TestCase("convert")]
    public async Task FileWhoseEveryColumnIsNested_FailsNamingThem_AndWritesNothing(string subcommand)
    {
        var nested = DuckDbParquet("nested.parquet", "SELECT [i] AS l, {'a': i} AS s FROM range(0, 3) t(i)");
        var target = Path.Combine(_dir, "out.csv");

        var (code, output) = await CliProcess.RunAsync(subcommand == "head" ? ["data", "head", nested] : ["data", "convert", nested, target]);

        Assert.That(code, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("nested.parquet: no readable columns: columns l, s are nested"));
        Assert.That(File.Exists(target), Is.False);
    }

    [Test]
    public async Task HeadAndConvert_LeavingOutNestedColumns_WarnNamingThem()
    {
        var mixed = DuckDbParquet("mixed.parquet", "SELECT i AS id, [i] AS l, 'v' || i::VARCHAR AS name FROM range(0, 3) t(i)");
        var target = Path.Combine(_dir, "out.csv");

        var (headCode, head) = await CliProcess.RunAsync("data", "head", mixed);
        var (convertCode, convert) = await CliProcess.RunAsync("data", "convert", mixed, target);

        Assert.That(headCode, Is.EqualTo(0), head);
        Assert.That(head, Does.Contain("warning: " + mixed + ": left out, not supported: column l is nested"));
        Assert.That(Rows(head)[0], Is.EqualTo(new[] { "id", "name" }));
        Assert.That(convertCode, Is.EqualTo(0), convert);
        Assert.That(convert, Does.Contain("warning: " + mixed + ": left out, not supported: column l is nested"));
        Assert.That(File.ReadAllLines(target), Is.EqualTo(new[] { "id,name", "0,v0", "1,v1", "2,v2" }));
    }

    [Test]
    public async Task HeadAndConvert_PrintNanosecondTimestampsWithEveryDigit()
    {
        var source = Path.Combine(_dir, "ns.parquet");
        var type = Pipelines.Data.Tables.DataType.Timestamp(Pipelines.Data.Tables.TimeUnit.Nanos, false);
        var b = new Pipelines.Data.Tables.PrimitiveBuilder<long>(type);
        b.Append(-8_520_336_000_000_000_000L + 1); // 1700-01-01 00:00:00.000000001
        b.Append(1_700_000_000_123_456_789L);
        ParquetWriter.WriteTable(source, new Pipelines.Data.Tables.Table(new Pipelines.Data.Tables.Schema([new("t", type)]), [b.Build()]));
        var target = Path.Combine(_dir, "ns.csv");

        var (headCode, head) = await CliProcess.RunAsync("data", "head", source);
        var (convertCode, convert) = await CliProcess.RunAsync("data", "convert", source, target);

        Assert.That(headCode, Is.EqualTo(0), head);
        Assert.That(Rows(head).Skip(1).Select(r => r[0]), Is.EqualTo(new[] { "1700-01-01 00:00:00.000000001", "2023-11-14 22:13:20.123456789" }));
        Assert.That(convertCode, Is.EqualTo(0), convert);
        Assert.That(File.ReadAllLines(target), Is.EqualTo(new[] { "t", "1700-01-01 00:00:00.000000001", "2023-11-14 22:13:20.123456789" }));
    }

    [Test]
    public async Task Convert_OfAMissingFile_FailsWithNotFound()
    {
        var (code, output) = await CliProcess.RunAsync("data", "convert", Path.Combine(_dir, "absent.csv"), Path.Combine(_dir, "out.parquet"));

        Assert.That(code, Is.EqualTo(3), output);
        Assert.That(output, Does.Contain("absent.csv"));
        Assert.That(File.Exists(Path.Combine(_dir, "out.parquet")), Is.False);
    }
}

public class DataConvertBadRowsTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("pipelines-data-cli-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    /// <summary>100,000 good rows of two ints, plus rows with a wrong field count at lines 12 and 90,002 (different 65,536-row batches).</summary>
    private string CsvWithBadRows()
    {
        var path = Path.Combine(_dir, "input.csv");
        using var w = new StreamWriter(path);
        w.Write("a,b\n");
        for (var i = 0; i < 100_002; i++) w.Write(i is 10 or 90_000 ? $"{i},{i},{i}\n" : $"{i},{i * 3}\n");
        return path;
    }

    [Test]
    public async Task DefaultPolicy_FailsNamingFileAndLine_AndWritesNothing()
    {
        var input = CsvWithBadRows();
        var target = Path.Combine(_dir, "out.parquet");

        var (code, output) = await CliProcess.RunAsync("data", "convert", input, target);

        Assert.That(code, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("input.csv").And.Contain("line 12").And.Contain("3 fields, expected 2"));
        Assert.That(Directory.GetFiles(_dir).Select(Path.GetFileName), Is.EqualTo(new[] { "input.csv" }));
    }

    [Test]
    public async Task SkipPolicy_CountsBadRowsFromEveryBatch()
    {
        var target = Path.Combine(_dir, "out.parquet");

        var (code, output) = await CliProcess.RunAsync("data", "convert", CsvWithBadRows(), target, "--bad-rows", "skip");

        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("wrote 100000 rows").And.Contain("rejected 2 rows (skip)"));
        using var reader = ParquetReader.Open(target);
        Assert.That(reader.RowCount, Is.EqualTo(100_000));
    }

    [Test]
    public async Task QuarantinePolicy_StreamsGoodRowsAndQuarantinesBadOnesFromEveryBatch()
    {
        var target = Path.Combine(_dir, "out.parquet");
        var quarantine = Path.Combine(_dir, "rejected.csv");

        var (code, output) = await CliProcess.RunAsync("data", "convert", CsvWithBadRows(), target, "--bad-rows", "quarantine", "--quarantine", quarantine);

        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("wrote 100000 rows").And.Contain("rejected 2 rows (quarantine)"));
        Assert.That(File.ReadAllLines(quarantine), Is.EqualTo(new[] { "a,b", "10,10,10", "90000,90000,90000" }));
        using var reader = ParquetReader.Open(target);
        Assert.That(reader.RowCount, Is.EqualTo(100_000));
        Assert.That(reader.ReadAll(["b"]).Columns[0].GetValue(99_999), Is.EqualTo(100_001 * 3));
    }
}
