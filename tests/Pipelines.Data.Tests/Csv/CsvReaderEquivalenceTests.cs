using System.Globalization;
using System.Text;
using Pipelines.Data.Csv;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Tests.Csv;

/// <summary>
/// Holds every way through the reader — bytes with the fast path, in parallel with chunks cut at any line, one
/// thread, the exact path only, the character reader — to what the previous reader (<see cref="PreviousCsvReader"/>)
/// produced: the same schema, values, nulls, batch sizes, rejected rows with line and column, quarantine file and
/// exception, on hand-written fixtures and on generated files full of quoting, line-end, padding and typing cases.
/// </summary>
public class CsvReaderEquivalenceTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => Directory.CreateDirectory(_dir = Path.Combine(Path.GetTempPath(), "pipelines-csv-equivalence", Guid.NewGuid().ToString("N")));

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private sealed record Path_(string Name, int Parallelism, int ChunkBytes, CsvReadPath Path);

    private static readonly Path_[] Paths =
    [
        new("parallel", 3, CsvBatchReader.DefaultChunkBytes, CsvReadPath.Auto),
        new("parallel, 41-byte chunks", 3, 41, CsvReadPath.Auto),
        new("one thread, 97-byte chunks", 1, 97, CsvReadPath.Auto),
        new("exact path only, 53-byte chunks", 2, 53, CsvReadPath.Exact),
        new("character reader", 1, CsvBatchReader.DefaultChunkBytes, CsvReadPath.Characters),
    ];

    private string Describe(Func<string?, (Schema Schema, IEnumerable<Table> Batches, Func<long> Count, Func<IReadOnlyList<CsvRowError>> Errors, IDisposable Owner)> open, CsvOptions options)
    {
        var quarantine = options.BadRows == BadRowPolicy.Quarantine ? Path.Combine(_dir, $"{Guid.NewGuid():N}.csv") : null;
        var sb = new StringBuilder();
        try
        {
            var r = open(quarantine);
            using (r.Owner)
            {
                sb.AppendLine(string.Join(" | ", r.Schema.Fields));
                foreach (var batch in r.Batches)
                {
                    sb.Append("batch of ").Append(batch.RowCount).AppendLine();
                    for (var row = 0; row < batch.RowCount; row++)
                    {
                        for (var c = 0; c < batch.Columns.Count; c++)
                            sb.Append(batch.Columns[c].IsNull(row) ? "∅" : batch.Columns[c].Format(row)).Append('¦');
                        sb.AppendLine();
                    }
                }
                sb.AppendLine($"rejected {r.Count()}");
                foreach (var e in r.Errors()) sb.AppendLine(e.ToString());
            }
        }
        catch (Exception e) when (e is CsvFormatException or KeyNotFoundException or ArgumentException)
        {
            sb.AppendLine($"{e.GetType().Name}: {e.Message}");
        }
        if (quarantine is not null && File.Exists(quarantine)) sb.AppendLine("quarantine:").AppendLine(File.ReadAllText(quarantine));
        return sb.ToString();
    }

    private string Previous(byte[] bytes, CsvOptions options, int batchRows, IReadOnlyList<string>? columns) =>
        Describe(q =>
        {
            var reader = new PreviousCsvReader(new MemoryStream(bytes), options with { QuarantinePath = q ?? options.QuarantinePath }, batchRows);
            // As DataFile.Open projected the previous reader's batches.
            var schema = columns is null ? reader.Schema
                : new Schema(columns.Select(n => reader.Schema.IndexOf(n) is var i and >= 0 ? reader.Schema[i] : throw new KeyNotFoundException($"no column '{n}'")));
            var batches = columns is null ? reader.ReadBatches() : reader.ReadBatches().Select(b => b.Select([.. columns]));
            return (schema, batches, () => reader.RejectedCount, () => reader.RejectedRows, reader);
        }, options);

    private string Current(byte[] bytes, CsvOptions options, int batchRows, IReadOnlyList<string>? columns, Path_ path) =>
        Describe(q =>
        {
            var reader = new CsvBatchReader(new MemoryStream(bytes), options with { QuarantinePath = q ?? options.QuarantinePath, MaxDegreeOfParallelism = path.Parallelism },
                batchRows, leaveOpen: false, maxRecordedErrors: 1000, columns, sourceName: null, path.ChunkBytes, path.Path);
            return (reader.Schema, reader.ReadBatches(), () => reader.RejectedCount, () => reader.RejectedRows, reader);
        }, options);

    private void AssertAllPathsMatchThePreviousReader(byte[] bytes, CsvOptions options, int batchRows = CsvBatchReader.DefaultBatchRows, IReadOnlyList<string>? columns = null, string what = "")
    {
        var expected = Previous(bytes, options, batchRows, columns);
        foreach (var path in Paths)
        {
            var actual = Current(bytes, options, batchRows, columns, path);
            if (actual != expected)
                Assert.Fail($"{what}: {path.Name} differs from the previous reader\noptions: {options}\ninput: {Escape(bytes)}\n--- expected ---\n{expected}\n--- actual ---\n{actual}");
        }
    }

    private static string Escape(byte[] bytes) => bytes.Length > 2000 ? $"{bytes.Length} bytes" :
        string.Concat(Encoding.UTF8.GetString(bytes).Select(c => c switch { '\r' => "\\r", '\n' => "\\n\n", '\t' => "\\t", _ => c.ToString() }));

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private static readonly Dictionary<string, DataType> IntN = new() { ["n"] = DataType.Int32 };

    public static IEnumerable<TestCaseData> Fixtures()
    {
        TestCaseData Case(string name, string text, CsvOptions? o = null, int batchRows = CsvBatchReader.DefaultBatchRows, string[]? columns = null) =>
            new TestCaseData(Utf8(text), o ?? new CsvOptions(), batchRows, columns).SetName($"Fixture_{name}");
        yield return Case("inference", "b,i,l,f,d,t,tz,s\ntrue,1,1,1.5,2024-01-31,2024-01-31 10:00:00,2024-01-31T10:00:00Z,x\nFALSE,-7,9999999999,2,1999-12-31,2024-02-01T00:00:00.25,2024-02-01T00:00:00+00:00,1\n");
        yield return Case("quoting", "a;b\n\"x;y\";\"say \"\"hi\"\"\"\r\n\"multi\nline\";  plain  \n", new CsvOptions { Delimiter = ';' });
        yield return Case("null tokens", "n,s\n?,?\n3,\"?\"\n,NA\n", new CsvOptions { NullTokens = ["?", "", "NA"] });
        yield return Case("fail policy", "n,s\n1,a\n2,b\nthree,c\n", new CsvOptions { ColumnTypes = IntN });
        yield return Case("field count", "n,s\n1,a\n2\n");
        yield return Case("skip policy", "n,s\n1,a\nx,b\n3,c,extra\n\"open,d\n", new CsvOptions { BadRows = BadRowPolicy.Skip, ColumnTypes = new Dictionary<string, DataType> { ["n"] = DataType.Int64 } });
        yield return Case("quarantine", "n,s\n1,a\nbad,b\n3,c\n4\n", new CsvOptions { BadRows = BadRowPolicy.Quarantine, QuarantinePath = "unused", ColumnTypes = IntN });
        yield return Case("bom and crlf", "\uFEFFid,name\r\n1,\"a\r\nb\"\r\n2,c\r\n");
        yield return Case("empty fields", "a,b,c\n,,\n1,,3\n,\"\",\n");
        yield return Case("blank and comment lines", "# comment\na,b\n\n# another, with \"quote\n1,2\r\n\r\n3,4\n#tail", new CsvOptions { CommentPrefix = "#" });
        yield return Case("lone cr line ends", "a,b\r1,2\r3,\"x\ry\"\r4,5");
        yield return Case("no trailing newline", "a,b\n1,2\n3,4");
        yield return Case("unterminated quote at the end", "a,b\n1,2\n3,\"open\n4,5\n", new CsvOptions { BadRows = BadRowPolicy.Skip });
        yield return Case("text after closing quote", "a,b\n1,\"x\"y\n2,\"z\"  \n", new CsvOptions { BadRows = BadRowPolicy.Skip });
        yield return Case("quote inside unquoted field", "a,b\n5'2\",x\n6\"1,y\n");
        yield return Case("padding kept", "a,b\n 1 , x \n\t2\t,\" y \"\n", new CsvOptions { TrimWhitespace = false });
        yield return Case("no header", "1,x\n2,y\n", new CsvOptions { HasHeader = false });
        yield return Case("no header, given names", "1,x\n2,y\n", new CsvOptions { HasHeader = false, ColumnNames = ["n", "s"] });
        yield return Case("no header, first record broken", "\"a,1\n2,y\n", new CsvOptions { HasHeader = false, BadRows = BadRowPolicy.Skip });
        yield return Case("header only", "a,b\n");
        yield return Case("empty names", "a,,c\n1,2,3\n");
        yield return Case("duplicate names", "a,b,a\n1,2,3\n");
        yield return Case("no header line", "");
        yield return Case("inference rows", "n,m\n1,1\n2,2\n3.5,x\n", new CsvOptions { InferenceRows = 2, BadRows = BadRowPolicy.Skip });
        yield return Case("inference rows, not delivered", "n,m\n1,1\n2,2\n3,x\n", new CsvOptions { InferenceRows = 2, BadRows = BadRowPolicy.Skip }, columns: ["n"]);
        yield return Case("declared, not delivered", "n,m\n1,1\n2,x\n3,3\n", new CsvOptions { BadRows = BadRowPolicy.Skip, ColumnTypes = new Dictionary<string, DataType> { ["m"] = DataType.Int32 } }, columns: ["n"]);
        yield return Case("columns reordered", "a,b,c\n1,x,2.5\n2,\"y,z\",\n", columns: ["c", "a"]);
        yield return Case("numbers in every spelling", "x\n0\n-0\n1.5\n.5\n5.\n+7\n1e5\n1E-5\n-3.4e+2\n1e400\n-1e-400\nNaN\n-Infinity\n 42 \n1e\n", new CsvOptions { BadRows = BadRowPolicy.Skip, ColumnTypes = new Dictionary<string, DataType> { ["x"] = DataType.Float64 } });
        yield return Case("number-like null token", "x,y\n-1,2\n3,-1\n-1.0,4\n", new CsvOptions { NullTokens = ["-1", ""] });
        yield return Case("every declared type", "i8,i16,i32,i64,f32,f64,b,d,ts,dec,bin,s\n1,2,3,4,5.5,6.5,true,2024-01-31,2024-01-31 10:00:00,1.25,abc,x\n300,40000,3000000000,9223372036854775808,1e40,x,maybe,2024-02-30,yesterday,1.255,,\n",
            new CsvOptions
            {
                BadRows = BadRowPolicy.Skip,
                ColumnTypes = new Dictionary<string, DataType>
                {
                    ["i8"] = DataType.Int8, ["i16"] = DataType.Int16, ["i32"] = DataType.Int32, ["i64"] = DataType.Int64, ["f32"] = DataType.Float32,
                    ["f64"] = DataType.Float64, ["b"] = DataType.Boolean, ["d"] = DataType.Date, ["ts"] = DataType.Timestamp(TimeUnit.Millis, false),
                    ["dec"] = DataType.Decimal(10, 2), ["bin"] = DataType.Binary, ["s"] = DataType.String,
                },
            });
        yield return Case("unsupported declared type with nulls only", "u\n\n", new CsvOptions { ColumnTypes = new Dictionary<string, DataType> { ["u"] = DataType.UInt32 } });
        yield return Case("batches of three", "a\n1\n2\n3\n4\n5\n6\n7\n", batchRows: 3);
        yield return Case("fail after a batch", "a\n1\n2\n3\n4\nx\n5\n", new CsvOptions { ColumnTypes = new Dictionary<string, DataType> { ["a"] = DataType.Int32 } }, batchRows: 2);
        yield return Case("tab delimiter with trimming", "a\tb\n1\t\t2\n\t3\t4\n", new CsvOptions { Delimiter = '\t' });
        yield return Case("space delimiter", "a b\n1  2\n3 4\n", new CsvOptions { Delimiter = ' ', TrimWhitespace = false });
        yield return Case("digit delimiter", "a5b\n152\n3.554\n", new CsvOptions { Delimiter = '5' });
        yield return Case("single quote", "a,b\n'x,y',1\n'it''s',2\n", new CsvOptions { Quote = '\'' });
        yield return Case("non-ascii delimiter", "a§b\n1§\"x§y\"\n2§z\n", new CsvOptions { Delimiter = '§' });
        yield return Case("non-ascii text", "name,n\ncafé,1\n\"naïve, “quoted”\",2\n日本,3\n");
        yield return Case("non-ascii after closing quote", "a,b\n\"x\"é,1\n", new CsvOptions { BadRows = BadRowPolicy.Skip });
    }

    [TestCaseSource(nameof(Fixtures))]
    public void Fixture_EveryPathMatchesThePreviousReader(byte[] bytes, CsvOptions options, int batchRows, string[]? columns) =>
        AssertAllPathsMatchThePreviousReader(bytes, options, batchRows, columns);

    [Test]
    public void InvalidUtf8_IsReplacedAsTextDecodingDid()
    {
        var bytes = Utf8("s,n\nok,1\n").Concat(new byte[] { 0xFF, (byte)'a', (byte)',', (byte)'2', (byte)'\n', 0xC3, (byte)',', 0xE2, 0x82, (byte)'\n', (byte)'"', 0xC3, (byte)'"', 0xFE, (byte)',', (byte)'4', (byte)'\n' }).ToArray();
        AssertAllPathsMatchThePreviousReader(bytes, new CsvOptions { BadRows = BadRowPolicy.Skip });
        AssertAllPathsMatchThePreviousReader(bytes, new CsvOptions { BadRows = BadRowPolicy.Quarantine, QuarantinePath = "unused" });
    }

    [Test]
    public void OtherEncodings_AreTranscoded_AndByteOrderMarksChooseTheEncoding()
    {
        const string text = "name,n\ncafé,1\n\"ü, ß\",2.5\n";
        AssertAllPathsMatchThePreviousReader(Encoding.Latin1.GetBytes(text), new CsvOptions { Encoding = Encoding.Latin1 }, what: "latin1");
        AssertAllPathsMatchThePreviousReader(Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes(text)).ToArray(), new CsvOptions(), what: "utf-16 with a byte order mark");
        AssertAllPathsMatchThePreviousReader(Encoding.BigEndianUnicode.GetPreamble().Concat(Encoding.BigEndianUnicode.GetBytes(text)).ToArray(), new CsvOptions { Encoding = Encoding.Latin1 }, what: "utf-16be mark over latin1");
        AssertAllPathsMatchThePreviousReader(Encoding.UTF32.GetPreamble().Concat(Encoding.UTF32.GetBytes(text)).ToArray(), new CsvOptions(), what: "utf-32 with a byte order mark");
        AssertAllPathsMatchThePreviousReader(Encoding.UTF8.GetPreamble().Concat(Utf8(text)).ToArray(), new CsvOptions { Encoding = Encoding.Latin1 }, what: "utf-8 mark over latin1");
        AssertAllPathsMatchThePreviousReader(Encoding.Unicode.GetBytes(text), new CsvOptions { Encoding = Encoding.Unicode }, what: "utf-16 without a mark");
    }

    [Test]
    public void AdultFiles_EveryPathMatchesThePreviousReader()
    {
        foreach (var file in new[] { "adult.data", "adult.test" })
        {
            var bytes = File.ReadAllBytes(Path.Combine(DuckDbPeer.Adult, file));
            AssertAllPathsMatchThePreviousReader(bytes, new CsvOptions { NullTokens = ["?"] }, what: file);
            AssertAllPathsMatchThePreviousReader(bytes, new CsvOptions { NullTokens = ["", "?"], CommentPrefix = "|", BadRows = BadRowPolicy.Skip }, batchRows: 5000, what: file);
        }
    }

    [Test]
    public void GeneratedFiles_EveryPathMatchesThePreviousReader()
    {
        var rng = new Random(17);
        for (var i = 0; i < 400; i++)
        {
            var options = RandomOptions(rng);
            var bytes = RandomDocument(rng, options, rows: rng.Next(0, 40), out var names);
            IReadOnlyList<string>? columns = null;
            if (names.Length > 1 && rng.Next(4) == 0) columns = names.OrderBy(_ => rng.Next()).Take(rng.Next(1, names.Length)).ToArray();
            var batchRows = rng.Next(4) switch { 0 => 1, 1 => 3, 2 => 7, _ => CsvBatchReader.DefaultBatchRows };
            AssertAllPathsMatchThePreviousReader(bytes, options, batchRows, columns, what: $"document {i}");
        }
    }

    [Test]
    public void LargeGeneratedFiles_WithRecordsLongerThanAChunk_EveryPathMatchesThePreviousReader()
    {
        var rng = new Random(23);
        for (var i = 0; i < 4; i++)
        {
            var options = RandomOptions(rng) with { BadRows = BadRowPolicy.Skip };
            var bytes = RandomDocument(rng, options, rows: 3000, out _, longFields: true);
            AssertAllPathsMatchThePreviousReader(bytes, options, batchRows: 1000, what: $"large document {i}");
        }
    }

    [Test]
    public void AQuotedFieldOfManyChunks_WithLineBreaks_EveryPathMatchesThePreviousReader()
    {
        var sb = new StringBuilder("id,note,x\n");
        for (var i = 0; i < 20_000; i++)
        {
            if (i == 7_000) sb.Append(i).Append(",\"").Append(string.Concat(Enumerable.Range(0, 150_000).Select(k => $"line {k}, \"\"q\"\"\n"))).Append("\",1.5\n");
            sb.Append(i).Append(",n").Append(i).Append(',').Append(i * 0.125).Append(i % 2 == 0 ? "\r\n" : "\n");
        }
        var bytes = Utf8(sb.ToString());
        Assert.That(bytes.Length, Is.GreaterThan(4 * CsvBatchReader.DefaultChunkBytes));
        AssertAllPathsMatchThePreviousReader(bytes, new CsvOptions(), batchRows: 4_096);
        AssertAllPathsMatchThePreviousReader(bytes, new CsvOptions { ColumnTypes = new Dictionary<string, DataType> { ["id"] = DataType.Int64, ["x"] = DataType.Float64 } }, batchRows: 4_096);
    }

    private static readonly DataType[] DeclarableTypes = [DataType.Int32, DataType.Int64, DataType.Float64, DataType.Float32, DataType.String, DataType.Boolean, DataType.Date, DataType.Int16];

    private static CsvOptions RandomOptions(Random rng)
    {
        var delimiters = new[] { ',', ',', ',', ';', '\t', '|' };
        var hasHeader = rng.Next(5) > 0;
        var policy = (BadRowPolicy)rng.Next(3);
        var width = 6;
        Dictionary<string, DataType>? declared = null;
        if (rng.Next(3) == 0)
        {
            declared = [];
            for (var c = 0; c < width; c++)
                if (rng.Next(2) == 0) declared[hasHeader ? $"c{c}" : $"column{c + 1}"] = DeclarableTypes[rng.Next(DeclarableTypes.Length)];
        }
        return new CsvOptions
        {
            Delimiter = delimiters[rng.Next(delimiters.Length)],
            Quote = rng.Next(8) == 0 ? '\'' : '"',
            HasHeader = hasHeader,
            TrimWhitespace = rng.Next(4) > 0,
            NullTokens = rng.Next(5) switch { 0 => ["", "NA"], 1 => ["?"], 2 => ["-1", ""], _ => [""] },
            CommentPrefix = rng.Next(4) == 0 ? "#" : null,
            BadRows = policy,
            QuarantinePath = policy == BadRowPolicy.Quarantine ? "unused" : null,
            InferenceRows = rng.Next(5) switch { 0 => 0, 1 => 1, 2 => 5, _ => null },
            ColumnTypes = declared,
        };
    }

    /// <summary>A CSV document built to hit the reader's corner cases, with typed columns so that inference and parsing have work to do.</summary>
    private static byte[] RandomDocument(Random rng, CsvOptions o, int rows, out string[] names, bool longFields = false)
    {
        var width = rng.Next(1, 7);
        var kinds = Enumerable.Range(0, width).Select(_ => rng.Next(8)).ToArray();
        names = Enumerable.Range(0, width).Select(c => o.HasHeader ? $"c{c}" : $"column{c + 1}").ToArray();
        var d = o.Delimiter;
        var q = o.Quote;
        var bytes = new List<byte>();
        if (rng.Next(8) == 0) bytes.AddRange(Encoding.UTF8.GetPreamble());
        var sb = new StringBuilder();
        string Quote(string v) => q + v.Replace(q.ToString(), new string(q, 2)) + q;
        string LineEnd() => rng.Next(10) switch { 0 => "\r", < 4 => "\r\n", _ => "\n" };
        if (o.HasHeader)
            sb.Append(string.Join(d, names.Select((n, i) => rng.Next(6) == 0 ? Quote(n) : rng.Next(8) == 0 ? $" {n} " : n))).Append(LineEnd());
        string Value(int kind, int row)
        {
            if (rng.Next(9) == 0) return rng.Next(3) switch { 0 => "", 1 => "NA", _ => "-1" };
            return kind switch
            {
                0 => rng.Next(-1000, 1000).ToString(CultureInfo.InvariantCulture),
                1 => rng.Next(6) switch
                {
                    0 => (rng.NextDouble() * 100).ToString("R", CultureInfo.InvariantCulture),
                    1 => (rng.NextDouble() - 0.5).ToString("E3", CultureInfo.InvariantCulture),
                    2 => Math.Round(rng.NextDouble() * 1000, 4).ToString(CultureInfo.InvariantCulture),
                    3 => rng.Next(2) == 0 ? ".5" : "5.",
                    4 => rng.NextInt64().ToString(CultureInfo.InvariantCulture) + "0000",
                    _ => "NaN",
                },
                2 => rng.Next(2) == 0 ? "true" : "False",
                3 => new DateOnly(2020, 1, 1).AddDays(rng.Next(2000)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                4 => new DateTime(2024, 1, 1).AddSeconds(rng.Next(1_000_000)).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + (rng.Next(3) == 0 ? "Z" : ""),
                5 => rng.NextInt64(-1L << 62, 1L << 62).ToString(CultureInfo.InvariantCulture),
                6 => rng.Next(4) switch { 0 => $"word{row}", 1 => $"two{d}parts", 2 => "say \"hi\"", _ => "café ü" },
                _ => rng.Next(5) switch { 0 => "12", 1 => "x", 2 => "1.5", 3 => "true", _ => "2024-01-31" },
            };
        }
        for (var r = 0; r < rows; r++)
        {
            if (rng.Next(15) == 0) sb.Append(LineEnd());
            if (o.CommentPrefix is not null && rng.Next(12) == 0) sb.Append(o.CommentPrefix).Append($" note{d} \"{q}").Append(LineEnd());
            var fields = width + (rng.Next(25) == 0 ? rng.Next(2) * 2 - 1 : 0);
            for (var c = 0; c < fields; c++)
            {
                if (c > 0) sb.Append(d);
                var v = Value(kinds[Math.Min(c, width - 1)], r);
                if (longFields && rng.Next(400) == 0) v = new string('x', rng.Next(1000, 200_000)) + "\n" + new string('y', 100);
                var style = rng.Next(20);
                if (style < 3 || v.Contains(d) || v.Contains('\n') || (v.Contains(q) && style < 15)) v = Quote(v);
                else if (style == 3) v = $"  {v}\t";
                else if (style == 4) v = Quote($"multi\nline {r}" + (rng.Next(2) == 0 ? "\r\n" : "\n"));
                else if (style == 5 && rng.Next(4) == 0) v = Quote(v) + "junk";
                sb.Append(v);
            }
            if (r < rows - 1 || rng.Next(3) > 0) sb.Append(LineEnd());
        }
        if (rng.Next(30) == 0) sb.Append(q).Append("unterminated").Append(d).Append("to the end");
        bytes.AddRange(Encoding.UTF8.GetBytes(sb.ToString()));
        return bytes.ToArray();
    }
}
