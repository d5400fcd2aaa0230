using System.Globalization;
using System.Numerics;
using Parquet;
using Parquet.Data;
using Parquet.Schema;
using Pipelines.Data.Tables;
using static Pipelines.Data.Tests.DuckDbPeer;

namespace Pipelines.Data.Tests;

/// <summary>
/// Parquet.Net (fully managed, written independently of DuckDB and of us) as the second reference reader and
/// writer. Values come out in the canonical text form of <see cref="DuckDbPeer.Canonical"/>, so the same
/// comparisons serve both oracles. Parquet.Net holds timestamps as <see cref="DateTime"/>, whose resolution is
/// 100 ns: nanosecond timestamps are compared at that resolution (<see cref="AssertColumnMatches"/>).
/// </summary>
public static class ParquetNetPeer
{
    // System.Decimal holds 28 digits; wider decimals need BigDecimal, which Parquet.Net 6.1.0 cannot decode from
    // DELTA_BINARY_PACKED pages (NotSupportedException), so each decimal is read as the narrowest type that holds it.
    private static readonly ParquetOptions ReadOptions = new() { UseDateOnlyTypeForDates = true };
    private static readonly ParquetOptions WideDecimalOptions = new() { UseBigDecimal = true, UseDateOnlyTypeForDates = true };

    public static List<DuckColumn> Read(string path, IReadOnlyCollection<string>? columns = null) => Read(File.ReadAllBytes(path), columns);

    public static List<DuckColumn> Read(byte[] file, IReadOnlyCollection<string>? columns = null) => ReadAsync(file, columns).GetAwaiter().GetResult();

    private static async Task<List<DuckColumn>> ReadAsync(byte[] file, IReadOnlyCollection<string>? columns)
    {
        // Each reader has a stream of its own: two readers sharing one stream read wrong values.
        await using var narrow = await ParquetReader.CreateAsync(new MemoryStream(file, writable: false), ReadOptions);
        await using var wide = await ParquetReader.CreateAsync(new MemoryStream(file, writable: false), WideDecimalOptions);
        var result = new List<DuckColumn>();
        for (var i = 0; i < narrow.Schema.Fields.Count; i++)
        {
            var reader = narrow.Schema.Fields[i] is DecimalDataField { Precision: > 28 } ? wide : narrow;
            var field = reader.Schema.Fields[i];
            if (columns is not null && !columns.Contains(field.Name)) continue;
            if (field is not DataField data || data.IsArray || data.MaxRepetitionLevel > 0)
            {
                result.Add(new DuckColumn(field.Name, field.SchemaType.ToString(), true, []));
                continue;
            }
            var values = new List<string?>();
            try
            {
                for (var g = 0; g < reader.RowGroupCount; g++)
                {
                    using var group = reader.OpenRowGroupReader(g);
                    values.AddRange(await ReadColumnAsync(group, data));
                }
            }
            catch (NotSupportedException e) when (e.Message.Contains("DELTA_BINARY_PACKED", StringComparison.Ordinal))
            {
                // Parquet.Net 6.1.0 decodes DELTA_BINARY_PACKED (DuckDB's V2 files use it) only into plain
                // integers, not into decimals, dates or timestamps, and a field not from the file's schema cannot be read as
                // plain integers instead.
                result.Add(new DuckColumn(field.Name, DeltaUnsupported, false, []));
                continue;
            }
            result.Add(new DuckColumn(field.Name, Describe(data), false, values));
        }
        return result;
    }

    private static string Describe(DataField f) => f switch
    {
        DateTimeDataField d => $"{d.DateTimeFormat}[{d.Unit}]",
        DecimalDataField d => $"decimal({d.Precision},{d.Scale})",
        _ => f.ClrType.Name,
    };

    private static async Task<IEnumerable<string?>> ReadColumnAsync(ParquetRowGroupReader group, DataField f)
    {
        var n = checked((int)group.RowCount);
        var t = f.ClrType;
        if (t == typeof(ReadOnlyMemory<char>) || t == typeof(string))
        {
            var a = new string?[n];
            await group.ReadAsync(f, a.AsMemory());
            return a;
        }
        if (t == typeof(ReadOnlyMemory<byte>) || t == typeof(byte[]))
        {
            var a = new byte[]?[n];
            await group.ReadAsync(f, a.AsMemory());
            return a.Select(b => b is null ? null : Convert.ToHexString(b));
        }
        if (t == typeof(bool)) return await Values<bool>(group, f, n, v => v ? "true" : "false");
        if (t == typeof(sbyte)) return await Values<sbyte>(group, f, n, Invariant);
        if (t == typeof(short)) return await Values<short>(group, f, n, Invariant);
        if (t == typeof(int)) return await Values<int>(group, f, n, v => f is TimeDataField ? TimeNanos(f, v) : Invariant(v));
        if (t == typeof(long)) return await Values<long>(group, f, n, v => f is TimeDataField ? TimeNanos(f, v) : Invariant(v));
        if (t == typeof(byte)) return await Values<byte>(group, f, n, Invariant);
        if (t == typeof(ushort)) return await Values<ushort>(group, f, n, Invariant);
        if (t == typeof(uint)) return await Values<uint>(group, f, n, Invariant);
        if (t == typeof(ulong)) return await Values<ulong>(group, f, n, Invariant);
        if (t == typeof(float)) return await Values<float>(group, f, n, v => Double(v));
        if (t == typeof(double)) return await Values<double>(group, f, n, Double);
        if (t == typeof(Half)) return await Values<Half>(group, f, n, v => Double((double)v));
        if (t == typeof(BigDecimal)) return await Values<BigDecimal>(group, f, n, v => Decimal(v.UnscaledValue, v.Scale));
        if (t == typeof(decimal)) return await Values<decimal>(group, f, n, v => v.ToString("F" + ((DecimalDataField)f).Scale.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture));
        if (t == typeof(DateOnly)) return await Values<DateOnly>(group, f, n, v => (v.DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber).ToString(CultureInfo.InvariantCulture));
        if (t == typeof(DateTime)) return await Values<DateTime>(group, f, n, v => ((Int128)(v.Ticks - DateTime.UnixEpoch.Ticks) * 100).ToString(CultureInfo.InvariantCulture));
        if (t == typeof(TimeSpan)) return await Values<TimeSpan>(group, f, n, v => ((Int128)v.Ticks * 100).ToString(CultureInfo.InvariantCulture));
        if (t == typeof(TimeOnly)) return await Values<TimeOnly>(group, f, n, v => ((Int128)v.Ticks * 100).ToString(CultureInfo.InvariantCulture));
        if (t == typeof(Guid)) return await Values<Guid>(group, f, n, v => Convert.ToHexString(v.ToByteArray(bigEndian: true)));
        throw new NotSupportedException($"Parquet.Net peer: column {f.Name} of CLR type {t} is not mapped");
    }

    private static string Invariant<T>(T v) where T : IFormattable => v.ToString(null, CultureInfo.InvariantCulture);
    private static string Double(double d) => double.IsNaN(d) ? "NaN" : d.ToString("R", CultureInfo.InvariantCulture);

    private static string TimeNanos(DataField f, long v)
    {
        var unit = f.SchemaElement?.LogicalType?.TIME?.Unit;
        var factor = unit?.MILLIS is not null ? 1_000_000L : unit?.NANOS is not null ? 1L : 1000L;
        if (unit is null && f.SchemaElement?.ConvertedType == global::Parquet.Meta.ConvertedType.TIME_MILLIS) factor = 1_000_000L;
        return ((Int128)v * factor).ToString(CultureInfo.InvariantCulture);
    }

    public static string Decimal(BigInteger unscaled, int scale)
    {
        var digits = BigInteger.Abs(unscaled).ToString(CultureInfo.InvariantCulture);
        if (scale > 0)
        {
            digits = digits.PadLeft(scale + 1, '0');
            digits = digits[..^scale] + "." + digits[^scale..];
        }
        return unscaled.Sign < 0 ? "-" + digits : digits;
    }

    private static async Task<IEnumerable<string?>> Values<T>(ParquetRowGroupReader group, DataField f, int n, Func<T, string> format) where T : struct
    {
        if (!f.IsNullable)
        {
            // A required column read into T? came back with spurious nulls at varying rows: read it as T.
            var required = new T[n];
            await group.ReadAsync<T>(f, required.AsMemory());
            return required.Select(v => (string?)format(v));
        }
        var a = new T?[n];
        await group.ReadAsync<T>(f, a.AsMemory());
        return a.Select(v => v is null ? null : format(v.Value));
    }

    /// <summary>The type of a column Parquet.Net cannot decode: a decimal, date or timestamp in DELTA_BINARY_PACKED pages.</summary>
    public const string DeltaUnsupported = "decimal, date or timestamp in DELTA_BINARY_PACKED pages (not decoded by Parquet.Net 6.1.0)";

    /// <summary>Compares Parquet.Net's values with ours; nanosecond timestamps at Parquet.Net's 100 ns resolution.</summary>
    /// <param name="allowDelta">true where the file may hold decimals, dates or timestamps in DELTA_BINARY_PACKED pages, which Parquet.Net cannot decode: such a column is then not compared</param>
    public static void AssertColumnMatches(DuckColumn expected, Column actual, string context, bool allowDelta = false)
    {
        if (expected.Type == DeltaUnsupported)
        {
            Assert.That(allowDelta, $"{context}: Parquet.Net could not decode column {expected.Name}: {expected.Type}");
            return;
        }
        if (actual.Type is { Kind: TypeKind.Timestamp, Unit: TimeUnit.Nanos })
        {
            Assert.That(actual.Length, Is.EqualTo(expected.Values.Count), $"{context}: row count of {expected.Name}");
            for (var i = 0; i < actual.Length; i++)
            {
                var a = Canonical(actual, i);
                var e = expected.Values[i];
                if (a is null || e is null ? a != e : Int128.Abs(Int128.Parse(a, CultureInfo.InvariantCulture) - Int128.Parse(e, CultureInfo.InvariantCulture)) >= 100)
                    Assert.Fail($"{context}: column {expected.Name} ({expected.Type} vs {actual.Type}) row {i}: Parquet.Net '{e ?? "NULL"}', ours '{a ?? "NULL"}' (compared at 100 ns)");
            }
            return;
        }
        DuckDbPeer.AssertColumnMatches(expected, actual, context, "Parquet.Net");
    }

    /// <summary>Writes <paramref name="table"/> with Parquet.Net, one row group per <paramref name="rowGroupRows"/> rows.</summary>
    public static void Write(string path, Table table, CompressionMethod codec = CompressionMethod.Snappy, int rowGroupRows = 1 << 20)
    {
        using var stream = File.Create(path);
        WriteAsync(stream, table, codec, rowGroupRows).GetAwaiter().GetResult();
    }

    /// <summary>Our codec's name for Parquet.Net's.</summary>
    public static CompressionMethod Codec(Pipelines.Data.Parquet.CompressionCodec codec) => codec switch
    {
        Pipelines.Data.Parquet.CompressionCodec.Uncompressed => CompressionMethod.None,
        Pipelines.Data.Parquet.CompressionCodec.Snappy => CompressionMethod.Snappy,
        Pipelines.Data.Parquet.CompressionCodec.Gzip => CompressionMethod.Gzip,
        Pipelines.Data.Parquet.CompressionCodec.Zstd => CompressionMethod.Zstd,
        Pipelines.Data.Parquet.CompressionCodec.Lz4Raw => CompressionMethod.Lz4Raw,
        Pipelines.Data.Parquet.CompressionCodec.Brotli => CompressionMethod.Brotli,
        _ => throw new ArgumentOutOfRangeException(nameof(codec)),
    };

    private static DataField FieldFor(Pipelines.Data.Tables.Field f)
    {
        var t = f.Type;
        return t.Kind switch
        {
            TypeKind.Boolean => new DataField<bool>(f.Name, f.Nullable),
            TypeKind.Int8 => new DataField<sbyte>(f.Name, f.Nullable),
            TypeKind.Int16 => new DataField<short>(f.Name, f.Nullable),
            TypeKind.Int32 => new DataField<int>(f.Name, f.Nullable),
            TypeKind.Int64 => new DataField<long>(f.Name, f.Nullable),
            TypeKind.UInt8 => new DataField<byte>(f.Name, f.Nullable),
            TypeKind.UInt16 => new DataField<ushort>(f.Name, f.Nullable),
            TypeKind.UInt32 => new DataField<uint>(f.Name, f.Nullable),
            TypeKind.UInt64 => new DataField<ulong>(f.Name, f.Nullable),
            TypeKind.Float32 => new DataField<float>(f.Name, f.Nullable),
            TypeKind.Float64 => new DataField<double>(f.Name, f.Nullable),
            TypeKind.Decimal => new BigDecimalDataField(f.Name, t.Precision, t.Scale, f.Nullable),
            TypeKind.String => new DataField<string>(f.Name, f.Nullable),
            TypeKind.Binary => new DataField<byte[]>(f.Name, f.Nullable),
            TypeKind.Date => new DateTimeDataField(f.Name, DateTimeFormat.Date, isNullable: f.Nullable),
            TypeKind.Timestamp => new DateTimeDataField(f.Name, DateTimeFormat.Timestamp, t.IsUtc,
                t.Unit switch { TimeUnit.Millis => DateTimeTimeUnit.Millis, TimeUnit.Micros => DateTimeTimeUnit.Micros, _ => DateTimeTimeUnit.Nanos }, f.Nullable),
            _ => throw new NotSupportedException($"Parquet.Net peer cannot write {f}"),
        };
    }

    private static async Task WriteAsync(Stream stream, Table table, CompressionMethod codec, int rowGroupRows)
    {
        var fields = table.Schema.Fields.Select(FieldFor).ToArray();
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream, new ParquetOptions { CompressionMethod = codec });
        for (var start = 0; start == 0 || start < table.RowCount; start += rowGroupRows)
        {
            var count = Math.Min(rowGroupRows, table.RowCount - start);
            using var group = writer.CreateRowGroup();
            for (var c = 0; c < fields.Length; c++)
                await WriteColumnAsync(group, fields[c], table.Columns[c], start, count);
            if (table.RowCount == 0) break;
        }
    }

    private static async Task WriteColumnAsync(ParquetRowGroupWriter group, DataField f, Column c, int start, int count)
    {
        switch (c.Type.Kind)
        {
            case TypeKind.String:
            {
                var b = (BinaryColumn)c;
                var a = new string?[count];
                for (var i = 0; i < count; i++) a[i] = c.IsNull(start + i) ? null : System.Text.Encoding.UTF8.GetString(b.GetBytes(start + i));
                await group.WriteAsync(f, a!);
                return;
            }
            case TypeKind.Binary:
            {
                var b = (BinaryColumn)c;
                var a = new byte[]?[count];
                for (var i = 0; i < count; i++) a[i] = c.IsNull(start + i) ? null : b.GetBytes(start + i).ToArray();
                await group.WriteAsync(f, a!);
                return;
            }
            case TypeKind.Decimal:
                await Write<Int128, BigDecimal>(group, f, c, start, count, v => new BigDecimal((BigInteger)v, c.Type.Precision, c.Type.Scale));
                return;
            case TypeKind.Date:
                await Write<int, DateTime>(group, f, c, start, count, v => DateTime.UnixEpoch.AddDays(v));
                return;
            case TypeKind.Timestamp:
                // DateTime holds 100 ns ticks: nanoseconds below that are dropped (compared at that resolution).
                await Write<long, DateTime>(group, f, c, start, count, v => DateTime.UnixEpoch.AddTicks(c.Type.Unit switch
                {
                    TimeUnit.Millis => v * 10_000,
                    TimeUnit.Micros => v * 10,
                    _ => v / 100,
                }));
                return;
        }
        switch (c)
        {
            case PrimitiveColumn<bool> x: await Write<bool, bool>(group, f, x, start, count, v => v); break;
            case PrimitiveColumn<sbyte> x: await Write<sbyte, sbyte>(group, f, x, start, count, v => v); break;
            case PrimitiveColumn<short> x: await Write<short, short>(group, f, x, start, count, v => v); break;
            case PrimitiveColumn<int> x: await Write<int, int>(group, f, x, start, count, v => v); break;
            case PrimitiveColumn<long> x: await Write<long, long>(group, f, x, start, count, v => v); break;
            case PrimitiveColumn<byte> x: await Write<byte, byte>(group, f, x, start, count, v => v); break;
            case PrimitiveColumn<ushort> x: await Write<ushort, ushort>(group, f, x, start, count, v => v); break;
            case PrimitiveColumn<uint> x: await Write<uint, uint>(group, f, x, start, count, v => v); break;
            case PrimitiveColumn<ulong> x: await Write<ulong, ulong>(group, f, x, start, count, v => v); break;
            case PrimitiveColumn<float> x: await Write<float, float>(group, f, x, start, count, v => v); break;
            case PrimitiveColumn<double> x: await Write<double, double>(group, f, x, start, count, v => v); break;
            default: throw new NotSupportedException($"Parquet.Net peer cannot write {c.Type}");
        }
    }

    private static async Task Write<TOurs, TTheirs>(ParquetRowGroupWriter group, DataField f, Column c, int start, int count, Func<TOurs, TTheirs> convert)
        where TOurs : unmanaged where TTheirs : struct
    {
        var col = (PrimitiveColumn<TOurs>)c;
        if (f.IsNullable)
        {
            var a = new TTheirs?[count];
            for (var i = 0; i < count; i++) a[i] = c.IsNull(start + i) ? null : convert(col[start + i]);
            await group.WriteAsync<TTheirs>(f, a.AsMemory());
        }
        else
        {
            var a = new TTheirs[count];
            for (var i = 0; i < count; i++) a[i] = convert(col[start + i]);
            await group.WriteAsync<TTheirs>(f, a.AsMemory());
        }
    }
}
