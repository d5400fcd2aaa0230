using Pipelines.Data.Parquet;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Tests.Parquet;

public class RoundTripTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => Directory.CreateDirectory(_dir = Path.Combine(Path.GetTempPath(), "pipelines-data-tests", Guid.NewGuid().ToString("N")));

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static void AssertSameValues(Table expected, Table actual, string context)
    {
        Assert.That(actual.Schema, Is.EqualTo(expected.Schema), context);
        for (var c = 0; c < expected.Columns.Count; c++)
            for (var r = 0; r < expected.RowCount; r++)
            {
                var e = DuckDbPeer.Canonical(expected.Columns[c], r);
                var a = DuckDbPeer.Canonical(actual.Columns[c], r);
                if (!DuckDbPeer.SameValue(e, a, expected.Schema[c].Type.Kind))
                    Assert.Fail($"{context}: {expected.Schema[c].Name} row {r}: wrote '{e}', read '{a}'");
            }
    }

    private static void AssertDuckDbReads(string path, Table expected, string context)
    {
        var duck = DuckDbPeer.Dump(path);
        Assert.That(duck.Select(c => c.Name), Is.EqualTo(expected.Schema.Fields.Select(f => f.Name)), context);
        for (var c = 0; c < duck.Count; c++) DuckDbPeer.AssertColumnMatches(duck[c], expected.Columns[c], $"{context} (DuckDB reading our file)");
        var net = ParquetNetPeer.Read(path);
        Assert.That(net.Select(c => c.Name), Is.EqualTo(expected.Schema.Fields.Select(f => f.Name)), context);
        for (var c = 0; c < net.Count; c++) ParquetNetPeer.AssertColumnMatches(net[c], expected.Columns[c], $"{context} (Parquet.Net reading our file)");
    }

    /// <summary>Parquet.Net writes <paramref name="table"/>; we and DuckDB must read back the same values.</summary>
    private void AssertWeReadParquetNets(Table table, Pipelines.Data.Parquet.CompressionCodec codec, string context)
    {
        var path = Path.Combine(_dir, $"parquet-net-{codec}.parquet");
        ParquetNetPeer.Write(path, table, ParquetNetPeer.Codec(codec), rowGroupRows: 1100);
        using var reader = ParquetReader.Open(path);
        var ours = reader.ReadAll();
        var net = ParquetNetPeer.Read(path);
        Assert.That(ours.Schema.Fields.Select(f => f.Name), Is.EqualTo(net.Select(c => c.Name)), context);
        for (var c = 0; c < net.Count; c++) ParquetNetPeer.AssertColumnMatches(net[c], ours.Columns[c], $"{context} (we read Parquet.Net's file)");
        var duck = DuckDbPeer.Dump(path);
        for (var c = 0; c < duck.Count; c++) DuckDbPeer.AssertColumnMatches(duck[c], ours.Columns[c], $"{context} (DuckDB and we read Parquet.Net's file)");
        // And the values are the table's: Parquet.Net's schema mapping may differ (e.g. it has no time type) but not the values.
        for (var c = 0; c < table.Columns.Count; c++)
            for (var r = 0; r < table.RowCount; r++)
            {
                var e = DuckDbPeer.Canonical(table.Columns[c], r);
                var a = DuckDbPeer.Canonical(ours.Columns[c], r);
                if (table.Schema[c].Type is { Kind: TypeKind.Timestamp, Unit: TimeUnit.Nanos } && e is not null && a is not null)
                    Assert.That(Int128.Abs(Int128.Parse(e) - Int128.Parse(a)), Is.LessThan((Int128)100), $"{context}: {table.Schema[c].Name} row {r}");
                else if (!DuckDbPeer.SameValue(e, a, table.Schema[c].Type.Kind))
                    Assert.Fail($"{context}: {table.Schema[c].Name} row {r}: wrote '{e}' with Parquet.Net, read '{a}'");
            }
    }

    [TestCase(CompressionCodec.Uncompressed, true)]
    [TestCase(CompressionCodec.Snappy, true)]
    [TestCase(CompressionCodec.Gzip, false)]
    [TestCase(CompressionCodec.Zstd, true)]
    [TestCase(CompressionCodec.Lz4Raw, false)]
    [TestCase(CompressionCodec.Brotli, true)]
    public void AllTypes_WrittenByUs_ReadIdenticallyByUsAndDuckDb(CompressionCodec codec, bool dictionary)
    {
        var table = TestTables.AllTypes(3000, seed: (int)codec);
        var path = Path.Combine(_dir, $"all-{codec}.parquet");
        // Small row groups and pages so that several of each are exercised.
        var options = new ParquetWriterOptions { Codec = codec, UseDictionary = dictionary, MaxRowGroupRows = 1100, PageSize = 2000, WritePageChecksums = true };
        ParquetWriter.WriteTable(path, table, options);

        using (var reader = ParquetReader.Open(path))
        {
            Assert.That(reader.RowGroupCount, Is.EqualTo(3));
            AssertSameValues(table, reader.ReadAll(), $"{codec} self");
        }
        AssertDuckDbReads(path, table, codec.ToString());
        AssertWeReadParquetNets(table, codec, codec.ToString());
    }

    [Test]
    public void DictionaryFallsBackToPlain_WhenItOutgrowsTheLimit()
    {
        var table = TestTables.AllTypes(2000, seed: 7, nullRate: 0.3);
        var path = Path.Combine(_dir, "fallback.parquet");
        ParquetWriter.WriteTable(path, table, new ParquetWriterOptions { DictionaryPageSizeLimit = 256 });
        using var reader = ParquetReader.Open(path);
        var chunks = reader.Metadata.RowGroups[0].Columns;
        var lowcard = chunks[table.Schema.IndexOf("lowcard")].MetaData!;
        var i64 = chunks[table.Schema.IndexOf("i64")].MetaData!;
        Assert.That(lowcard.Encodings, Does.Contain(Pipelines.Data.Parquet.Encoding.RleDictionary), "4 distinct strings fit");
        Assert.That(i64.Encodings, Does.Not.Contain(Pipelines.Data.Parquet.Encoding.RleDictionary), "random longs overflow 256 bytes");
        AssertSameValues(table, reader.ReadAll(), "fallback");
        AssertDuckDbReads(path, table, "fallback");
    }

    [Test]
    public void EmptyTable_IsAValidFileForDuckDb()
    {
        var table = TestTables.AllTypes(0, seed: 1);
        var path = Path.Combine(_dir, "empty.parquet");
        ParquetWriter.WriteTable(path, table);
        using var reader = ParquetReader.Open(path);
        Assert.That(reader.RowCount, Is.Zero);
        Assert.That(reader.ReadAll().RowCount, Is.Zero);
        AssertDuckDbReads(path, table, "empty");
    }

    [Test]
    public void AllNullAndEmptyStrings_RoundTrip()
    {
        var s = new BinaryBuilder(DataType.String);
        var n = new PrimitiveBuilder<long>(DataType.Int64);
        for (var i = 0; i < 500; i++) { if (i % 2 == 0) s.Append(""); else s.AppendNull(); n.AppendNull(); }
        var table = new Table(new Schema([new Field("s", DataType.String), new Field("n", DataType.Int64)]), [s.Build(), n.Build()]);
        var path = Path.Combine(_dir, "nulls.parquet");
        ParquetWriter.WriteTable(path, table);
        using var reader = ParquetReader.Open(path);
        AssertSameValues(table, reader.ReadAll(), "nulls");
        Assert.That(reader.GetStatistics(0, "n")!.Value.NullCount, Is.EqualTo(500));
        Assert.That(reader.GetStatistics(0, "n")!.Value.Min, Is.Null);
        AssertDuckDbReads(path, table, "nulls");
    }

    [Test]
    public void Statistics_AreExactAndAgreeWithDuckDb()
    {
        var table = TestTables.AllTypes(1500, seed: 11);
        var path = Path.Combine(_dir, "stats.parquet");
        ParquetWriter.WriteTable(path, table, new ParquetWriterOptions { KeyValueMetadata = new Dictionary<string, string> { ["origin"] = "test", ["step"] = "features" } });
        using var reader = ParquetReader.Open(path);
        Assert.That(reader.KeyValueMetadata["origin"], Is.EqualTo("test"));
        Assert.That(reader.KeyValueMetadata["step"], Is.EqualTo("features"));
        // DuckDB: min/max/null_count of every column, computed from the data, must equal our footer statistics.
        var names = table.Schema.Fields.Where(f => f.Type.Kind is not (TypeKind.Binary or TypeKind.Float32 or TypeKind.Float64)).Select(f => f.Name).ToList();
        var stats = DuckDbPeer.Stats(path, names);
        foreach (var name in names)
        {
            var duck = stats[name];
            var ours = reader.GetStatistics(0, name)!.Value;
            var column = table[name];
            Assert.That(ours.NullCount, Is.EqualTo(duck.Nulls), $"{name} null count");
            Assert.That(CanonicalStat(column.Type, ours.Min), Is.EqualTo(duck.Min), $"{name} min");
            Assert.That(CanonicalStat(column.Type, ours.Max), Is.EqualTo(duck.Max), $"{name} max");
        }
    }

    private static string? CanonicalStat(DataType type, object? v)
    {
        var col = ColumnBuilder.Create(type, 1);
        switch (v)
        {
            case null: return null;
            case bool b: ((PrimitiveBuilder<bool>)col).Append(b); break;
            case string s: ((BinaryBuilder)col).Append(s); break;
            case DecimalValue d: ((PrimitiveBuilder<Int128>)col).Append(d.Unscaled); break;
            case ulong u: ((PrimitiveBuilder<ulong>)col).Append(u); break;
            case long l:
                switch (col)
                {
                    case PrimitiveBuilder<sbyte> x: x.Append((sbyte)l); break;
                    case PrimitiveBuilder<short> x: x.Append((short)l); break;
                    case PrimitiveBuilder<int> x: x.Append((int)l); break;
                    case PrimitiveBuilder<long> x: x.Append(l); break;
                    case PrimitiveBuilder<byte> x: x.Append((byte)l); break;
                    case PrimitiveBuilder<ushort> x: x.Append((ushort)l); break;
                    case PrimitiveBuilder<uint> x: x.Append((uint)l); break;
                }
                break;
            default: return v.ToString();
        }
        return DuckDbPeer.Canonical(col.Build(), 0);
    }

    [TestCase("SNAPPY", "")]
    [TestCase("ZSTD", "")]
    [TestCase("GZIP", "")]
    [TestCase("UNCOMPRESSED", "")]
    [TestCase("BROTLI", "")]
    [TestCase("LZ4_RAW", "")]
    [TestCase("ZSTD", "PARQUET_VERSION V2")] // data page v2, DELTA_* and BYTE_STREAM_SPLIT encodings
    [TestCase("UNCOMPRESSED", "PARQUET_VERSION V2")]
    public void DuckDbWrittenFile_ReadsIdentically(string codec, string extra)
    {
        var path = Path.Combine(_dir, $"duck-{codec}.parquet");
        const string sql = """
            SELECT i AS id,
                   CASE WHEN i % 10 = 0 THEN NULL ELSE i % 2 = 0 END AS b,
                   (i % 200 - 100)::TINYINT AS i8, ((i * 7) % 32000)::SMALLINT AS i16, CASE WHEN i % 7 = 0 THEN NULL ELSE (i * 1000003) % 2147483647 END::INTEGER AS i32,
                   i * 1234567891::BIGINT AS i64, (i % 250)::UTINYINT AS u8, ((i * 13) % 4000000000)::UINTEGER AS u32, (i * 9876543210)::UBIGINT AS u64,
                   (i / 7.0)::FLOAT AS f32, CASE WHEN i % 11 = 0 THEN NULL ELSE i / 3.0 END::DOUBLE AS f64,
                   (i / 100.0)::DECIMAL(9,2) AS d9, (i * 1.000001)::DECIMAL(18,6) AS d18, (i * 12345678901234.5678)::DECIMAL(38,4) AS d38,
                   CASE WHEN i % 5 = 0 THEN NULL WHEN i % 5 = 1 THEN '' ELSE 'str' || (i % 37)::VARCHAR END AS s,
                   repeat('long text ', i % 20) || i::VARCHAR AS s_unique,
                   ('\x' || lpad(to_hex(i % 256), 2, '0'))::BLOB AS bin,
                   DATE '2000-01-01' + (i % 9000)::INTEGER AS date,
                   TIMESTAMP '2020-01-01 00:00:00' + to_microseconds(i * 1234567) AS ts,
                   (TIMESTAMP '1999-12-31 23:59:59' + to_microseconds(i * 1000))::TIMESTAMP_MS AS ts_ms,
                   (TIMESTAMP '2010-06-15 12:00:00')::TIMESTAMP_NS + to_microseconds(i) AS ts_ns,
                   TIMESTAMPTZ '2021-03-04 05:06:07+00' + to_microseconds(i * 999) AS tstz
            FROM range(0, 20000) t(i)
            """;
        DuckDbPeer.Write(path, codec, sql, 7000, extra);
        var expected = DuckDbPeer.Dump(path);
        using var reader = ParquetReader.Open(path);
        Assert.That(reader.RowGroupCount, Is.GreaterThan(1));
        var table = reader.ReadAll();
        Assert.That(table.Schema.Fields.Select(f => f.Name), Is.EqualTo(expected.Select(c => c.Name)));
        for (var c = 0; c < expected.Count; c++) DuckDbPeer.AssertColumnMatches(expected[c], table.Columns[c], $"DuckDB {codec} {extra}");
        var net = ParquetNetPeer.Read(path);
        for (var c = 0; c < net.Count; c++)
            ParquetNetPeer.AssertColumnMatches(net[c], table.Columns[c], $"Parquet.Net reading DuckDB's {codec} {extra}", allowDelta: extra.Contains("V2"));
        var skipped = net.Where(c => c.Type == ParquetNetPeer.DeltaUnsupported).Select(c => c.Name).ToList();
        TestContext.Out.WriteLine($"not decoded by Parquet.Net: {string.Join(", ", skipped)}");
        Assert.That(skipped, Is.SubsetOf(new[] { "d9", "d18", "date", "ts", "ts_ms", "ts_ns", "tstz" }), "Parquet.Net compared every other column");
        if (extra.Contains("V2"))
        {
            var encodings = reader.Metadata.RowGroups.SelectMany(g => g.Columns).SelectMany(c => c.MetaData!.Encodings).Distinct().ToList();
            TestContext.Out.WriteLine($"encodings: {string.Join(", ", encodings)}");
            Assert.That(encodings, Does.Contain(Pipelines.Data.Parquet.Encoding.DeltaBinaryPacked).And.Contain(Pipelines.Data.Parquet.Encoding.ByteStreamSplit).And.Contain(Pipelines.Data.Parquet.Encoding.DeltaLengthByteArray));
        }
    }

    [Test]
    public void NestedColumns_FailCleanly_WhileFlatOnesRead()
    {
        var path = Path.Combine(_dir, "nested.parquet");
        DuckDbPeer.Write(path, "SNAPPY",
            "SELECT i AS id, [i, i + 1] AS list, {'a': i, 'b': 'x'} AS st, MAP {'k': i} AS m, 'v' || i::VARCHAR AS name FROM range(0, 100) t(i)");
        using var reader = ParquetReader.Open(path);
        Assert.That(reader.Columns.Where(c => c.IsNested).Select(c => c.Name), Is.EqualTo(new[] { "list", "st", "m" }));
        foreach (var nested in new[] { "list", "st", "m" })
        {
            var ex = Assert.Throws<ParquetNotSupportedException>(() => reader.ReadAll([nested]));
            Assert.That(ex!.Message, Is.EqualTo($"not supported: column {nested} is nested"));
        }
        Assert.Throws<ParquetNotSupportedException>(() => reader.ReadAll());
        var flat = reader.ReadAll(["id", "name"]);
        var expected = DuckDbPeer.Dump(path).Where(c => !c.Nested).ToList();
        DuckDbPeer.AssertColumnMatches(expected[0], flat.Columns[0], "nested file id");
        DuckDbPeer.AssertColumnMatches(expected[1], flat.Columns[1], "nested file name");
        var net = ParquetNetPeer.Read(path);
        Assert.That(net.Where(c => c.Nested).Select(c => c.Name), Is.EqualTo(new[] { "list", "st", "m" }), "Parquet.Net sees the same nested columns");
        ParquetNetPeer.AssertColumnMatches(net.Single(c => c.Name == "id"), flat.Columns[0], "nested file id");
        ParquetNetPeer.AssertColumnMatches(net.Single(c => c.Name == "name"), flat.Columns[1], "nested file name");
    }

    [Test]
    public void StreamingWrite_CutsRowGroupsBySize_AndPredicateSkipsThem()
    {
        var path = Path.Combine(_dir, "stream.parquet");
        var schema = new Schema([new Field("id", DataType.Int64, Nullable: false), new Field("v", DataType.Float64)]);
        using (var writer = ParquetWriter.Create(path, schema, new ParquetWriterOptions { RowGroupSize = 200_000 }))
        {
            for (var batch = 0; batch < 50; batch++)
            {
                var ids = new PrimitiveBuilder<long>(DataType.Int64, 1000);
                var vs = new PrimitiveBuilder<double>(DataType.Float64, 1000);
                for (var i = 0; i < 1000; i++) { ids.Append(batch * 1000L + i); vs.Append(i * 0.5); }
                writer.Write(new Table(schema, [ids.Build(), vs.Build()]));
            }
        }
        using var reader = ParquetReader.Open(path);
        Assert.That(reader.RowCount, Is.EqualTo(50_000));
        // 16 bytes per row -> 12,500 rows per 200 kB row group.
        Assert.That(reader.RowGroupCount, Is.EqualTo(4));
        Assert.That(reader.Metadata.RowGroups.Select(g => g.NumRows), Is.EqualTo(new long[] { 12500, 12500, 12500, 12500 }));
        var hits = reader.ReadRowGroups(["id"], new RowGroupPredicate("id", CompareOp.GreaterOrEqual, 40_000L)).ToList();
        Assert.That(hits, Has.Count.EqualTo(1));
        Assert.That(((PrimitiveColumn<long>)hits[0].Columns[0])[0], Is.EqualTo(37_500));
        var duck = DuckDbPeer.Dump(path);
        Assert.That(duck[0].Values.Select(long.Parse!), Is.EqualTo(Enumerable.Range(0, 50_000).Select(i => (long)i)));
        Assert.That(ParquetNetPeer.Read(path)[0].Values, Is.EqualTo(duck[0].Values), "Parquet.Net reads the ids DuckDB reads");
    }

    [Test]
    public void ColumnsEncodedOnSeveralCores_WriteTheSameBytesAsOneThread_AndDuckDbReadsThem()
    {
        // Several row groups, every type, nulls, dictionary and plain chunks: the parallel writer encodes each column at
        // offset 0 and moves its offsets afterwards; one wrong offset and the bytes (and DuckDB's read) differ.
        var table = TestTables.AllTypes(30_000, seed: 5);
        var one = Path.Combine(_dir, "one.parquet");
        var many = Path.Combine(_dir, "many.parquet");
        foreach (var (path, threads) in new[] { (one, 1), (many, 4) })
            using (var w = ParquetWriter.Create(path, table.Schema, new ParquetWriterOptions { MaxRowGroupRows = 7_000, MaxDegreeOfParallelism = threads }))
                w.Write(table);
        using (var r = ParquetReader.Open(many)) Assert.That(r.RowGroupCount, Is.EqualTo(5));
        Assert.That(File.ReadAllBytes(many), Is.EqualTo(File.ReadAllBytes(one)));
        AssertDuckDbReads(many, table, "parallel writer");

        // An error in one column surfaces as itself, as a one-thread write raises it, not wrapped.
        var strict = new Schema([new Field("a", DataType.Int64, Nullable: false), new Field("b", DataType.Int64)]);
        var a = new PrimitiveBuilder<long>(DataType.Int64, 2);
        a.Append(1);
        a.AppendNull();
        var b = new PrimitiveBuilder<long>(DataType.Int64, 2);
        b.Append(1);
        b.Append(2);
        var bad = new ParquetWriter(new MemoryStream(), strict, new ParquetWriterOptions { MaxDegreeOfParallelism = 2 }); // not disposed: closing would flush the bad rows again
        var e = Assert.Throws<ArgumentException>(() => { bad.Write(new Table(strict, [a.Build(), b.Build()])); bad.FlushRowGroup(); });
        Assert.That(e!.Message, Does.Contain("'a'"));
    }
}
