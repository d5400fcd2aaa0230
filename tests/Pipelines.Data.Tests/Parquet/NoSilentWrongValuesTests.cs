using System.Buffers.Binary;
using Pipelines.Data.Compression;
using Pipelines.Data.Csv;
using Pipelines.Data.Parquet;
using Pipelines.Data.Parquet.Thrift;
using Pipelines.Data.Tables;
using static Pipelines.Data.Tests.Parquet.HostileInputTests;

namespace Pipelines.Data.Tests.Parquet;

/// <summary>
/// Inputs that used to come out as wrong values or spurious errors (issue 12), each reproduced by a file written
/// here: the reader must return the right value or fail naming what it cannot represent.
/// </summary>
public class NoSilentWrongValuesTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => Directory.CreateDirectory(_dir = Path.Combine(Path.GetTempPath(), "pipelines-data-tests", Guid.NewGuid().ToString("N")));

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static Table OneTimestamp(DataType type, long raw)
    {
        var b = new PrimitiveBuilder<long>(type);
        b.Append(raw);
        return new Table(new Schema([new Field("t", type)]), [b.Build()]);
    }

    [TestCase(TimeUnit.Nanos, -8_520_336_000_000_000_000L + 1, "1700-01-01 00:00:00.000000001")]
    [TestCase(TimeUnit.Nanos, -1L, "1969-12-31 23:59:59.999999999")]
    [TestCase(TimeUnit.Nanos, 1_700_000_000_123_456_789L, "2023-11-14 22:13:20.123456789")]
    [TestCase(TimeUnit.Nanos, 1_700_000_000_120_000_000L, "2023-11-14 22:13:20.12")]
    [TestCase(TimeUnit.Micros, 1_700_000_000_000_001L, "2023-11-14 22:13:20.000001")]
    [TestCase(TimeUnit.Micros, -1L, "1969-12-31 23:59:59.999999")]
    [TestCase(TimeUnit.Millis, 1_700_000_000_001L, "2023-11-14 22:13:20.001")]
    [TestCase(TimeUnit.Millis, 0L, "1970-01-01 00:00:00")]
    public void Timestamps_PrintEveryDigitOfTheirUnit_InCsvAndFormat(TimeUnit unit, long raw, string expected)
    {
        var table = OneTimestamp(DataType.Timestamp(unit, false), raw);
        Assert.That(table.Columns[0].Format(0), Is.EqualTo(expected));
        var text = new StringWriter();
        using (var writer = new CsvWriter(text)) writer.Write(table);
        Assert.That(text.ToString().Split('\n', StringSplitOptions.TrimEntries)[1], Is.EqualTo(expected));
        // And the text reads back as the same instant in DuckDB (an independent parser of timestamps).
        var parsed = DuckDbPeer.DumpSource($"(SELECT '{expected}'::TIMESTAMP_NS AS t)")[0].Values[0];
        Assert.That(parsed, Is.EqualTo(DuckDbPeer.Canonical(table.Columns[0], 0)));
    }

    [Test]
    public void TimeOfDay_PrintsEveryDigitOfItsUnit()
    {
        var b = new PrimitiveBuilder<long>(DataType.Time(TimeUnit.Nanos));
        b.Append(3_723_000_000_007L);
        Assert.That(b.Build().Format(0), Is.EqualTo("01:02:03.000000007"));
    }

    private static byte[] AllNullLevelsV2(int count) => [.. Varint((ulong)count << 1), 0];

    [TestCase(CompressionCodec.Snappy)]
    [TestCase(CompressionCodec.Zstd)]
    [TestCase(CompressionCodec.Gzip)]
    public void V2PageWithAnEmptyCompressedValuesSection_ReadsAsNulls(CompressionCodec codec)
    {
        // One all-null row: levels only (v2 levels are never compressed), values section empty, flagged compressed.
        var levels = AllNullLevelsV2(1);
        var page = new PageHeader
        {
            Type = PageType.DataPageV2, UncompressedPageSize = levels.Length, CompressedPageSize = levels.Length,
            DataPageV2 = new DataPageHeaderV2 { NumValues = 1, NumNulls = 1, NumRows = 1, Encoding = Encoding.Plain, DefinitionLevelsByteLength = levels.Length, IsCompressed = true },
        };
        var file = BuildFile(new SchemaElement { Name = "x", Type = PhysicalType.Int64, RepetitionType = Repetition.Optional }, 1, codec, (page, levels));
        var path = Path.Combine(_dir, "v2-empty.parquet");
        File.WriteAllBytes(path, file);

        using var reader = ParquetReader.Open(path);
        var table = reader.ReadAll();
        Assert.That(table.RowCount, Is.EqualTo(1));
        Assert.That(table.Columns[0].IsNull(0));
        // The oracles agree that this is a valid file holding one null. (Parquet.Net 6.1.0 fails on the Snappy
        // variant as we used to, "Incomplete Snappy block", so only DuckDB vouches for that one.)
        Assert.That(DuckDbPeer.Dump(path)[0].Values, Is.EqualTo(new string?[] { null }));
        if (codec != CompressionCodec.Snappy) Assert.That(ParquetNetPeer.Read(path)[0].Values, Is.EqualTo(new string?[] { null }));
    }

    [Test]
    public void CorruptCompressedPage_IsReportedAtThatPagesOffset_NotTheChunks()
    {
        // Two Snappy pages of two int64s each; the second page's block is garbage.
        byte[] values = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(values, 7);
        BinaryPrimitives.WriteInt64LittleEndian(values.AsSpan(8), 8);
        var compressed = Array.Empty<byte>();
        var n = PageCompression.Compress(CompressionCodec.Snappy, values, ref compressed);
        var good = compressed[..n];
        byte[] bad = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        PageHeader Page(byte[] body) => new()
        {
            Type = PageType.DataPage, UncompressedPageSize = 16, CompressedPageSize = body.Length,
            DataPage = new DataPageHeader { NumValues = 2, Encoding = Encoding.Plain, DefinitionLevelEncoding = Encoding.Rle, RepetitionLevelEncoding = Encoding.Rle },
        };
        var file = BuildFile(new SchemaElement { Name = "x", Type = PhysicalType.Int64, RepetitionType = Repetition.Required }, 4, CompressionCodec.Snappy,
            (Page(good), good), (Page(bad), bad));
        var firstHeader = new CompactWriter();
        MetadataCodec.WritePageHeader(firstHeader, Page(good));
        var secondPageOffset = 4 + firstHeader.Written.Length + good.Length;

        using var reader = new ParquetReader(new MemoryStream(file));
        var error = Assert.Throws<ParquetFormatException>(() => reader.ReadAll())!;
        Assert.That(error.Message, Does.Contain("column x").And.Contain("snappy"));
        Assert.That(error.Offset, Is.EqualTo(secondPageOffset), "the failing page's own offset, not the chunk's (4)");
        Assert.That(error.Message, Does.Contain($"at file offset {secondPageOffset}"));
    }

    [Test]
    public void FileWhoseEveryColumnIsNested_FailsNamingThem_InsteadOfAnEmptyTable()
    {
        var path = Path.Combine(_dir, "all-nested.parquet");
        DuckDbPeer.Write(path, "SNAPPY", "SELECT [i, i + 1] AS l, {'a': i} AS s FROM range(0, 3) t(i)");

        using var reader = ParquetReader.Open(path);
        var ex = Assert.Throws<ParquetNotSupportedException>(() => reader.ReadAll())!;
        Assert.That(ex.Message, Is.EqualTo("not supported: columns l, s are nested; project them away to read the rest (no other column is readable)"));
        var open = Assert.Throws<ParquetNotSupportedException>(() => DataFile.Open(path))!;
        Assert.That(open.Message, Is.EqualTo("no readable columns: columns l, s are nested (not supported)"));
    }

    [Test]
    public void ProjectionThatLeavesOutNestedColumns_WarnsNamingThem()
    {
        var path = Path.Combine(_dir, "mixed.parquet");
        DuckDbPeer.Write(path, "SNAPPY", "SELECT i AS id, [i] AS l, 'v' || i::VARCHAR AS name, {'a': i} AS s FROM range(0, 3) t(i)");

        var warnings = new List<string>();
        var (schema, batches) = DataFile.Open(path, warning: warnings.Add);
        Assert.That(schema.Fields.Select(f => f.Name), Is.EqualTo(new[] { "id", "name" }));
        Assert.That(batches.Sum(b => b.RowCount), Is.EqualTo(3));
        Assert.That(warnings, Is.EqualTo(new[] { "left out, not supported: columns l, s are nested" }));

        warnings.Clear();
        DataFile.Open(path, columns: ["id"], warning: warnings.Add);
        Assert.That(warnings, Is.Empty, "an explicit projection asked for what it gets");
        using var reader = ParquetReader.Open(path);
        Assert.That(Assert.Throws<ParquetNotSupportedException>(() => reader.ReadAll())!.Message, Does.StartWith("not supported: columns l, s are nested"));
    }

    private static readonly DateTime[] Int96Instants =
    [
        new DateTime(9999, 12, 31, 0, 0, 0), // the "no end" sentinel, past 2262
        new DateTime(1700, 1, 1, 0, 0, 0).AddTicks(10), // before 1677, with one microsecond
        new DateTime(2020, 6, 15, 12, 34, 56).AddTicks(7_890_120), // within both ranges
    ];

    private static long Micros(DateTime t) => (t.Ticks - DateTime.UnixEpoch.Ticks) / 10;

    /// <summary>A file with one required INT96 column x holding <see cref="Int96Instants"/>, PLAIN, uncompressed.</summary>
    private static byte[] Int96File()
    {
        var body = new byte[12 * Int96Instants.Length];
        for (var i = 0; i < Int96Instants.Length; i++)
        {
            var t = Int96Instants[i];
            var julian = DateOnly.FromDateTime(t).DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber + 2440588;
            BinaryPrimitives.WriteInt64LittleEndian(body.AsSpan(12 * i), t.TimeOfDay.Ticks * 100);
            BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(12 * i + 8), julian);
        }
        var page = new PageHeader
        {
            Type = PageType.DataPage, UncompressedPageSize = body.Length, CompressedPageSize = body.Length,
            DataPage = new DataPageHeader { NumValues = Int96Instants.Length, Encoding = Encoding.Plain, DefinitionLevelEncoding = Encoding.Rle, RepetitionLevelEncoding = Encoding.Rle },
        };
        return BuildFile(new SchemaElement { Name = "x", Type = PhysicalType.Int96, RepetitionType = Repetition.Required }, Int96Instants.Length, CompressionCodec.Uncompressed, (page, body));
    }

    [Test]
    public void Int96PastTheNanosecondRange_FailsNamingColumnAndDate_ByDefault()
    {
        using var reader = new ParquetReader(new MemoryStream(Int96File()));
        Assert.That(reader.Schema[0].Type, Is.EqualTo(DataType.Timestamp(TimeUnit.Nanos, false)));
        var ex = Assert.Throws<ParquetNotSupportedException>(() => reader.ReadAll())!;
        Assert.That(ex.Message, Does.StartWith("column x: INT96 timestamp 9999-12-31 00:00:00 lies outside the years 1677–2262"));
        Assert.That(ex.Message, Does.Contain("Int96Unit = Micros"));
    }

    [Test]
    public void Int96_ReadAsMicroseconds_IsExactForEveryDate_AndAgreesWithBothOracles()
    {
        var path = Path.Combine(_dir, "int96.parquet");
        File.WriteAllBytes(path, Int96File());
        using var reader = ParquetReader.Open(path, new ParquetReaderOptions { Int96Unit = TimeUnit.Micros });
        var column = reader.ReadAll().Columns[0];
        Assert.That(column.Type, Is.EqualTo(DataType.Timestamp(TimeUnit.Micros, false)));
        var ours = Enumerable.Range(0, column.Length).Select(i => ((PrimitiveColumn<long>)column)[i]).ToList();
        Assert.That(ours, Is.EqualTo(Int96Instants.Select(Micros)));
        Assert.That(Enumerable.Range(0, column.Length).Select(column.Format),
            Is.EqualTo(new[] { "9999-12-31 00:00:00", "1700-01-01 00:00:00.000001", "2020-06-15 12:34:56.789012" }));
        // DuckDB reads INT96 as microsecond timestamps (epoch_ns would overflow for 9999).
        var duck = DuckDbPeer.DumpSource($"(SELECT epoch_us(x) AS x FROM read_parquet({DuckDbPeer.Quote(path)}))")[0].Values;
        Assert.That(duck, Is.EqualTo(ours.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        // Parquet.Net reads it as DateTime (100 ns ticks): the same microseconds.
        var net = ParquetNetPeer.Read(path)[0].Values.Select(v => (long)(Int128.Parse(v!) / 1000)).ToList();
        Assert.That(net, Is.EqualTo(ours));
    }

    [Test]
    public void NegativeZero_KeepsItsSign_ThroughTheDictionaryEncoder()
    {
        // 0.0 and -0.0 compare equal, so a dictionary keyed by value equality gave both one entry and wrote every
        // -0.0 back as 0.0 (or the reverse). 200 rows of 4 distinct bit patterns: the writer does use a dictionary.
        var doubles = new PrimitiveBuilder<double>(DataType.Float64);
        var floats = new PrimitiveBuilder<float>(DataType.Float32);
        double[] d = [0.0, -0.0, 1.5, double.NaN];
        float[] f = [-0f, 0f, 2.5f, float.NaN];
        for (var i = 0; i < 200; i++) { doubles.Append(d[i % 4]); floats.Append(f[i % 4]); }
        var table = new Table(new Schema([new Field("d", DataType.Float64), new Field("f", DataType.Float32)]), [doubles.Build(), floats.Build()]);
        var path = Path.Combine(_dir, "zeros.parquet");
        ParquetWriter.WriteTable(path, table);

        using var reader = ParquetReader.Open(path);
        foreach (var chunk in reader.Metadata.RowGroups[0].Columns)
            Assert.That(chunk.MetaData!.Encodings, Does.Contain(Encoding.RleDictionary), "the test must go through the dictionary");
        var back = reader.ReadAll();
        var bd = ((PrimitiveColumn<double>)back.Columns[0]).Values;
        var bf = ((PrimitiveColumn<float>)back.Columns[1]).Values;
        for (var i = 0; i < 200; i++)
        {
            Assert.That(BitConverter.DoubleToInt64Bits(bd[i]), Is.EqualTo(BitConverter.DoubleToInt64Bits(d[i % 4])), $"row {i}, column d");
            Assert.That(BitConverter.SingleToInt32Bits(bf[i]), Is.EqualTo(BitConverter.SingleToInt32Bits(f[i % 4])), $"row {i}, column f");
        }
        // And an independent reader sees the signs too.
        var duck = DuckDbPeer.DumpSource($"(SELECT count(*) FILTER (WHERE d = 0 AND signbit(d)) AS nd, count(*) FILTER (WHERE f = 0 AND signbit(f)) AS nf FROM read_parquet({DuckDbPeer.Quote(path)}))");
        Assert.That(duck[0].Values[0], Is.EqualTo("50"));
        Assert.That(duck[1].Values[0], Is.EqualTo("50"));
    }
}
