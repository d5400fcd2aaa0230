using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Pipelines.Data.Compression;
using Pipelines.Data.Parquet.Encodings;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Parquet;

/// <summary>How a table type is stored: physical type, schema annotations and the value ordering for statistics.</summary>
internal sealed record PhysicalLayout(PhysicalType Type, int TypeLength, bool Unsigned, bool SignedBigEndian)
{
    public static PhysicalLayout For(DataType t) => t.Kind switch
    {
        TypeKind.Boolean => new(PhysicalType.Boolean, 0, false, false),
        TypeKind.Int8 or TypeKind.Int16 or TypeKind.Int32 or TypeKind.Date => new(PhysicalType.Int32, 0, false, false),
        TypeKind.UInt8 or TypeKind.UInt16 or TypeKind.UInt32 => new(PhysicalType.Int32, 0, true, false),
        TypeKind.Int64 or TypeKind.Timestamp => new(PhysicalType.Int64, 0, false, false),
        TypeKind.Time => new(t.Unit == TimeUnit.Millis ? PhysicalType.Int32 : PhysicalType.Int64, 0, false, false),
        TypeKind.UInt64 => new(PhysicalType.Int64, 0, true, false),
        TypeKind.Float32 => new(PhysicalType.Float, 0, false, false),
        TypeKind.Float64 => new(PhysicalType.Double, 0, false, false),
        TypeKind.Decimal when t.Precision <= 9 => new(PhysicalType.Int32, 0, false, false),
        TypeKind.Decimal when t.Precision <= 18 => new(PhysicalType.Int64, 0, false, false),
        TypeKind.Decimal => new(PhysicalType.FixedLenByteArray, DecimalBytes(t.Precision), false, true),
        _ => new(PhysicalType.ByteArray, 0, false, false),
    };

    private static int DecimalBytes(int precision)
    {
        // Smallest n with 2^(8n-1) > 10^precision.
        for (var n = 1; n <= 16; n++)
            if ((n * 8 - 1) * Math.Log10(2) >= precision) return n;
        return 16;
    }

    public SchemaElement ToSchemaElement(Field f)
    {
        var t = f.Type;
        var e = new SchemaElement { Name = f.Name, Type = Type, RepetitionType = f.Nullable ? Repetition.Optional : Repetition.Required };
        if (Type == PhysicalType.FixedLenByteArray) e.TypeLength = TypeLength;
        LogicalType Int(int bits, bool signed) => new() { Kind = LogicalType.Integer, BitWidth = bits, IsSigned = signed };
        int UnitId(TimeUnit u) => u switch { TimeUnit.Millis => 1, TimeUnit.Micros => 2, _ => 3 };
        switch (t.Kind)
        {
            case TypeKind.Int8: e.LogicalType = Int(8, true); e.ConvertedType = ConvertedType.Int8; break;
            case TypeKind.Int16: e.LogicalType = Int(16, true); e.ConvertedType = ConvertedType.Int16; break;
            case TypeKind.UInt8: e.LogicalType = Int(8, false); e.ConvertedType = ConvertedType.UInt8; break;
            case TypeKind.UInt16: e.LogicalType = Int(16, false); e.ConvertedType = ConvertedType.UInt16; break;
            case TypeKind.UInt32: e.LogicalType = Int(32, false); e.ConvertedType = ConvertedType.UInt32; break;
            case TypeKind.UInt64: e.LogicalType = Int(64, false); e.ConvertedType = ConvertedType.UInt64; break;
            case TypeKind.String: e.LogicalType = new() { Kind = LogicalType.String }; e.ConvertedType = ConvertedType.Utf8; break;
            case TypeKind.Date: e.LogicalType = new() { Kind = LogicalType.Date }; e.ConvertedType = ConvertedType.Date; break;
            case TypeKind.Decimal:
                e.LogicalType = new() { Kind = LogicalType.Decimal, Precision = t.Precision, Scale = t.Scale };
                e.ConvertedType = ConvertedType.Decimal; e.Precision = t.Precision; e.Scale = t.Scale;
                break;
            case TypeKind.Timestamp:
                e.LogicalType = new() { Kind = LogicalType.Timestamp, IsAdjustedToUtc = t.IsUtc, Unit = UnitId(t.Unit) };
                if (t.IsUtc && t.Unit != TimeUnit.Nanos) e.ConvertedType = t.Unit == TimeUnit.Millis ? ConvertedType.TimestampMillis : ConvertedType.TimestampMicros;
                break;
            case TypeKind.Time:
                e.LogicalType = new() { Kind = LogicalType.Time, IsAdjustedToUtc = false, Unit = UnitId(t.Unit) };
                break;
        }
        return e;
    }
}

/// <summary>Encodes one column of one row group into pages and writes them.</summary>
/// <remarks>
/// The per-value loops are compiled optimised at once (<see cref="MethodImplOptions.AggressiveOptimization"/>): with
/// tiered compilation a process's first file is otherwise written mostly by unoptimised code, which made the first
/// write of 1M × 8 rows about twice as slow as the next ones (docs/benchmarks.md, "Parquet codec vs DuckDB").
/// </remarks>
internal sealed class ColumnChunkWriter(Field field, ParquetWriterOptions options)
{
    private readonly PhysicalLayout _layout = PhysicalLayout.For(field.Type);
    private readonly ByteBuffer _page = new(1 << 16);
    private readonly ByteBuffer _levels = new(1 << 12);
    private byte[] _compressed = new byte[1 << 16];
    private readonly Thrift.CompactWriter _header = new();

    public PhysicalLayout Layout => _layout;

    /// <summary>Writes the chunk for <paramref name="parts"/> (consecutive slices of this column) at the stream's position.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ColumnChunk Write(Stream output, IReadOnlyList<Column> parts, long position)
    {
        var rows = parts.Sum(p => p.Length);
        var defs = ArrayPool<int>.Shared.Rent(Math.Max(rows, 1));
        try
        {
            var nonNull = 0;
            var r = 0;
            foreach (var p in parts)
            {
                var validity = p.Validity;
                if (validity.IsEmpty) { defs.AsSpan(r, p.Length).Fill(1); nonNull += p.Length; }
                else for (var i = 0; i < p.Length; i++) { var v = validity[i] ? 1 : 0; defs[r + i] = v; nonNull += v; }
                r += p.Length;
            }
            if (!field.Nullable && nonNull != rows) throw new ArgumentException($"column '{field.Name}' is not nullable but holds nulls");
            return _layout.Type switch
            {
                PhysicalType.Boolean => WriteFixed(output, Gather<bool, bool>(parts, nonNull, v => v), defs, rows, position),
                PhysicalType.Int32 => WriteFixed(output, GatherInt32(parts, nonNull), defs, rows, position),
                PhysicalType.Int64 => WriteFixed(output, GatherInt64(parts, nonNull), defs, rows, position),
                PhysicalType.Float => WriteFixed(output, Gather<float, float>(parts, nonNull, v => v), defs, rows, position),
                PhysicalType.Double => WriteFixed(output, Gather<double, double>(parts, nonNull, v => v), defs, rows, position),
                _ => WriteBinary(output, parts, nonNull, defs, rows, position),
            };
        }
        finally { ArrayPool<int>.Shared.Return(defs); }
    }

    // ---- gathering non-null values into physical arrays ----

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Dense<TOut> Gather<TIn, TOut>(IReadOnlyList<Column> parts, int nonNull, Func<TIn, TOut> convert)
        where TIn : unmanaged where TOut : unmanaged
    {
        var dense = new Dense<TOut>(nonNull);
        var k = 0;
        foreach (var part in parts)
        {
            var c = (PrimitiveColumn<TIn>)part;
            var values = c.Values;
            var validity = c.Validity;
            if (validity.IsEmpty)
            {
                if (typeof(TIn) == typeof(TOut)) MemoryMarshal.Cast<TIn, TOut>(values).CopyTo(dense.Array.AsSpan(k));
                else for (var i = 0; i < values.Length; i++) dense.Array[k + i] = convert(values[i]);
                k += values.Length;
            }
            else if (typeof(TIn) == typeof(TOut))
            {
                // Same storage type: a plain loop, no delegate call per value.
                var same = MemoryMarshal.Cast<TIn, TOut>(values);
                var dest = dense.Array;
                for (var i = 0; i < same.Length; i++)
                    if (validity[i]) dest[k++] = same[i];
            }
            else
                for (var i = 0; i < values.Length; i++)
                    if (validity[i]) dense.Array[k++] = convert(values[i]);
        }
        return dense;
    }

    private Dense<int> GatherInt32(IReadOnlyList<Column> parts, int nonNull) => field.Type.Kind switch
    {
        TypeKind.Int8 => Gather<sbyte, int>(parts, nonNull, v => v),
        TypeKind.Int16 => Gather<short, int>(parts, nonNull, v => v),
        TypeKind.UInt8 => Gather<byte, int>(parts, nonNull, v => v),
        TypeKind.UInt16 => Gather<ushort, int>(parts, nonNull, v => v),
        TypeKind.UInt32 => Gather<uint, int>(parts, nonNull, v => (int)v),
        TypeKind.Time => Gather<long, int>(parts, nonNull, v => checked((int)v)),
        TypeKind.Decimal => Gather<Int128, int>(parts, nonNull, v => checked((int)v)),
        _ => Gather<int, int>(parts, nonNull, v => v),
    };

    private Dense<long> GatherInt64(IReadOnlyList<Column> parts, int nonNull) => field.Type.Kind switch
    {
        TypeKind.UInt64 => Gather<ulong, long>(parts, nonNull, v => (long)v),
        TypeKind.Decimal => Gather<Int128, long>(parts, nonNull, v => checked((long)v)),
        _ => Gather<long, long>(parts, nonNull, v => v),
    };

    private sealed class Dense<T>(int count) where T : unmanaged
    {
        public readonly T[] Array = new T[count];
        public int Count => Array.Length;
    }

    // ---- fixed-width physical types ----

    private ColumnChunk WriteFixed<T>(Stream output, Dense<T> dense, int[] defs, int rows, long position) where T : unmanaged, IEquatable<T>
    {
        var values = dense.Array;
        var stats = FixedStatistics(values);
        int[]? indices = null;
        T[]? dictionary = null;
        if (options.UseDictionary && _layout.Type != PhysicalType.Boolean && values.Length > 0)
            (dictionary, indices) = BuildDictionary(values, options.DictionaryPageSizeLimit / Unsafe.SizeOf<T>());
        try
        {
            var width = _layout.Type == PhysicalType.Boolean ? 1 : Unsafe.SizeOf<T>();
            return WritePages(output, position, defs, rows, stats, dictionary is null ? -1 : dictionary.Length,
                writeDictionary: buffer => buffer.Write<T>(dictionary),
                valuesPerPage: Math.Max(1, options.PageSize / width),
                writeValues: (buffer, first, count) =>
                {
                    if (indices is not null) WriteIndices(buffer, indices.AsSpan(first, count), dictionary!.Length);
                    else if (_layout.Type == PhysicalType.Boolean) WriteBits(buffer, MemoryMarshal.Cast<T, bool>(values.AsSpan(first, count)));
                    else buffer.Write<T>(values.AsSpan(first, count));
                });
        }
        finally { if (indices is not null) ArrayPool<int>.Shared.Return(indices); }
    }

    // Keyed by the value's bits, not by T.Equals: double.Equals calls 0.0 and -0.0 equal (one entry would rewrite the
    // other's sign) and every NaN payload equal. Open addressing over the bits is also several times faster than
    // Dictionary<T, int> (no comparer calls, no entry objects), which matters as every fixed-width column goes through here.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (T[]?, int[]?) BuildDictionary<T>(T[] values, int maxEntries) where T : unmanaged
    {
        var size = Unsafe.SizeOf<T>();
        // A dictionary that saves nothing (more than half the values distinct) is not worth the indirection;
        // entries only grow, so give up the moment either limit is crossed instead of hashing the rest.
        var limit = values.Length > 64 ? Math.Min(maxEntries, values.Length / 2) : Math.Min(maxEntries, values.Length);
        var bits = 4;
        while ((1 << bits) < 2 * (limit + 1)) bits++;
        var mask = (1 << bits) - 1;
        var slots = ArrayPool<int>.Shared.Rent(1 << bits);
        var keys = ArrayPool<ulong>.Shared.Rent(limit + 1);
        var firsts = ArrayPool<int>.Shared.Rent(limit + 1);
        var indices = ArrayPool<int>.Shared.Rent(values.Length);
        var table = slots.AsSpan(0, 1 << bits);
        table.Clear(); // 0 = empty, otherwise entry index + 1
        var count = 0;
        var checkpoint = MostlyDistinctCheckpoint(values.Length);
        try
        {
            for (var i = 0; i < values.Length; i++)
            {
                if (i == checkpoint && MostlyDistinct(i, count)) { ArrayPool<int>.Shared.Return(indices); return (null, null); }
                var key = size == 8 ? Unsafe.As<T, ulong>(ref values[i])
                    : size == 4 ? Unsafe.As<T, uint>(ref values[i])
                    : size == 2 ? Unsafe.As<T, ushort>(ref values[i])
                    : Unsafe.As<T, byte>(ref values[i]);
                var h = (int)((key * 0x9E3779B97F4A7C15UL) >> (64 - bits));
                while (true)
                {
                    var s = table[h];
                    if (s == 0)
                    {
                        if (count >= limit && (count >= maxEntries || values.Length > 64)) { ArrayPool<int>.Shared.Return(indices); return (null, null); }
                        keys[count] = key;
                        firsts[count] = i;
                        table[h] = ++count;
                        indices[i] = count - 1;
                        break;
                    }
                    if (keys[s - 1] == key) { indices[i] = s - 1; break; }
                    h = (h + 1) & mask;
                }
            }
            var dictionary = new T[count];
            for (var e = 0; e < count; e++) dictionary[e] = values[firsts[e]];
            return (dictionary, indices);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(slots);
            ArrayPool<ulong>.Shared.Return(keys);
            ArrayPool<int>.Shared.Return(firsts);
        }
    }

    // A dictionary pays off when values repeat. Both builders stop once entries pass half the values (they cannot
    // win from there), but for a column of distinct values (ids, measurements, free text) that is half the column
    // hashed for nothing. So they also look once, a quarter of the way in: more than three in four values distinct so
    // far gives up there. A column with many repeats spread through it is well below that mark at a quarter (20,000
    // distinct values among 110,000 show about 54 %), so it keeps its dictionary.
    private static int MostlyDistinctCheckpoint(int count) => count > 4096 ? count / 4 : -1;

    private static bool MostlyDistinct(int seen, int distinct) => distinct > seen / 4 * 3;

    private static void WriteIndices(ByteBuffer buffer, ReadOnlySpan<int> indices, int dictionarySize)
    {
        var bitWidth = RleBitPackedEncoder.BitWidth(Math.Max(dictionarySize - 1, 0));
        buffer.WriteByte((byte)bitWidth);
        RleBitPackedEncoder.Encode(indices, bitWidth, buffer);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WriteBits(ByteBuffer buffer, ReadOnlySpan<bool> values)
    {
        var bytes = (values.Length + 7) / 8;
        var span = buffer.GetSpan(bytes);
        span[..bytes].Clear();
        for (var i = 0; i < values.Length; i++) if (values[i]) span[i >> 3] |= (byte)(1 << (i & 7));
        buffer.Advance(bytes);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private Statistics FixedStatistics<T>(T[] values) where T : unmanaged
    {
        var s = new Statistics();
        if (values.Length == 0) return s;
        byte[] Bytes<TV>(TV v) where TV : unmanaged => MemoryMarshal.AsBytes(new ReadOnlySpan<TV>(in v)).ToArray();
        switch (values)
        {
            case bool[] b:
            {
                var any = false; var all = true;
                foreach (var v in b) { any |= v; all &= v; }
                s.MinValue = [(byte)(all ? 1 : 0)];
                s.MaxValue = [(byte)(any ? 1 : 0)];
                break;
            }
            case int[] ints when _layout.Unsigned:
            {
                uint min = uint.MaxValue, max = 0;
                foreach (var v in ints) { var u = (uint)v; if (u < min) min = u; if (u > max) max = u; }
                s.MinValue = Bytes(min); s.MaxValue = Bytes(max);
                break;
            }
            case int[] ints:
            {
                int min = int.MaxValue, max = int.MinValue;
                foreach (var v in ints) { if (v < min) min = v; if (v > max) max = v; }
                s.MinValue = Bytes(min); s.MaxValue = Bytes(max);
                break;
            }
            case long[] longs when _layout.Unsigned:
            {
                ulong min = ulong.MaxValue, max = 0;
                foreach (var v in longs) { var u = (ulong)v; if (u < min) min = u; if (u > max) max = u; }
                s.MinValue = Bytes(min); s.MaxValue = Bytes(max);
                break;
            }
            case long[] longs:
            {
                long min = long.MaxValue, max = long.MinValue;
                foreach (var v in longs) { if (v < min) min = v; if (v > max) max = v; }
                s.MinValue = Bytes(min); s.MaxValue = Bytes(max);
                break;
            }
            case float[] floats:
            {
                float min = float.PositiveInfinity, max = float.NegativeInfinity; var seen = false;
                foreach (var v in floats) { if (float.IsNaN(v)) continue; seen = true; if (v < min) min = v; if (v > max) max = v; }
                if (!seen) break; // only NaNs: no usable bounds
                // Spec: a zero minimum is written as -0.0 and a zero maximum as +0.0.
                if (min == 0) min = -0f;
                if (max == 0) max = 0f;
                s.MinValue = Bytes(min); s.MaxValue = Bytes(max);
                break;
            }
            case double[] doubles:
            {
                double min = double.PositiveInfinity, max = double.NegativeInfinity; var seen = false;
                foreach (var v in doubles) { if (double.IsNaN(v)) continue; seen = true; if (v < min) min = v; if (v > max) max = v; }
                if (!seen) break;
                if (min == 0) min = -0d;
                if (max == 0) max = 0d;
                s.MinValue = Bytes(min); s.MaxValue = Bytes(max);
                break;
            }
        }
        return s;
    }

    // ---- byte arrays (BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY decimals) ----

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ColumnChunk WriteBinary(Stream output, IReadOnlyList<Column> parts, int nonNull, int[] defs, int rows, long position)
    {
        // Gather values densely: offsets into one buffer, sized once for every part (nulls only make it smaller).
        var offsets = new int[nonNull + 1];
        var fixedLength = _layout.Type == PhysicalType.FixedLenByteArray ? _layout.TypeLength : -1;
        long capacity = 0;
        foreach (var part in parts)
            capacity += part is BinaryColumn bc ? bc.Offsets[^1] - bc.Offsets[0] : (long)part.Length * fixedLength;
        if (capacity > Array.MaxLength) throw new ArgumentException($"column '{field.Name}' holds more than {Array.MaxLength:N0} bytes in one row group");
        using var data = new ByteBuffer((int)Math.Max(capacity, 1));
        var dest = data.GetSpan((int)capacity);
        var k = 0;
        var length = 0;
        // One scratch buffer for every part: a stackalloc inside the loop would grow the stack with each part.
        Span<byte> be = stackalloc byte[16];
        foreach (var part in parts)
        {
            if (part is BinaryColumn b)
            {
                var src = b.Data;
                var offs = b.Offsets;
                if (b.Validity.IsEmpty)
                {
                    // No nulls: the values are already contiguous; one copy, offsets shifted.
                    var first = offs[0];
                    src.AsSpan(first, offs[^1] - first).CopyTo(dest[length..]);
                    var shift = length - first;
                    for (var i = 1; i < offs.Length; i++) offsets[++k] = offs[i] + shift;
                    length += offs[^1] - first;
                }
                else
                {
                    var validity = b.Validity;
                    for (var i = 0; i < b.Length; i++)
                    {
                        if (!validity[i]) continue;
                        var n = offs[i + 1] - offs[i];
                        src.AsSpan(offs[i], n).CopyTo(dest[length..]);
                        length += n;
                        offsets[++k] = length;
                    }
                }
            }
            else
            {
                var d = (PrimitiveColumn<Int128>)part;
                for (var i = 0; i < d.Length; i++)
                {
                    if (d.IsNull(i)) continue;
                    BinaryPrimitives.WriteInt128BigEndian(be, d[i]);
                    be[(16 - fixedLength)..].CopyTo(dest[length..]);
                    length += fixedLength;
                    offsets[++k] = length;
                }
            }
        }
        data.Advance(length);
        var bytes = data.Buffer;
        ReadOnlySpan<byte> Value(int i) => bytes.AsSpan(offsets[i], offsets[i + 1] - offsets[i]);

        // Dictionary over byte sequences.
        int[]? indices = null;
        List<int>? dictionaryEntries = null;
        if (options.UseDictionary && nonNull > 0)
        {
            indices = ArrayPool<int>.Shared.Rent(nonNull);
            dictionaryEntries = BuildBinaryDictionary(bytes, offsets, nonNull, indices, options.DictionaryPageSizeLimit);
            if (dictionaryEntries is null) { ArrayPool<int>.Shared.Return(indices); indices = null; }
        }

        // Bounds over the distinct values when there is a dictionary (the same bounds, from far fewer comparisons).
        var stats = new Statistics();
        if (nonNull > 0)
        {
            var candidates = dictionaryEntries is null ? nonNull : dictionaryEntries.Count;
            int At(int c) => dictionaryEntries is null ? c : dictionaryEntries[c];
            var min = At(0); var max = min;
            for (var c = 1; c < candidates; c++)
            {
                var i = At(c);
                if (CompareBinary(Value(i), Value(min)) < 0) min = i;
                else if (CompareBinary(Value(i), Value(max)) > 0) max = i;
            }
            stats.MinValue = Value(min).ToArray();
            stats.MaxValue = Value(max).ToArray();
        }
        try
        {
            var averageWidth = nonNull == 0 ? 1 : Math.Max(1, offsets[nonNull] / nonNull + (fixedLength > 0 ? 0 : 4));
            return WritePages(output, position, defs, rows, stats, dictionaryEntries?.Count ?? -1,
                writeDictionary: buffer =>
                {
                    foreach (var e in dictionaryEntries!) WritePlainBinary(buffer, Value(e), fixedLength);
                },
                valuesPerPage: Math.Max(1, options.PageSize / averageWidth),
                writeValues: (buffer, first, count) =>
                {
                    if (indices is not null) WriteIndices(buffer, indices.AsSpan(first, count), dictionaryEntries!.Count);
                    else for (var i = first; i < first + count; i++) WritePlainBinary(buffer, Value(i), fixedLength);
                });
        }
        finally { if (indices is not null) ArrayPool<int>.Shared.Return(indices); }
    }

    private static void WritePlainBinary(ByteBuffer buffer, ReadOnlySpan<byte> value, int fixedLength)
    {
        if (fixedLength < 0) buffer.WriteInt32(value.Length);
        buffer.Write(value);
    }

    private int CompareBinary(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (_layout.SignedBigEndian && a.Length > 0 && b.Length > 0 && (a[0] ^ b[0]) >= 0x80)
            return (sbyte)a[0] < (sbyte)b[0] ? -1 : 1;
        return a.SequenceCompareTo(b);
    }

    /// <summary>
    /// Entries in order of first occurrence (each the index of that value) and every value's entry in
    /// <paramref name="indices"/>; null when a dictionary would not pay (too big for a page, or mostly distinct values).
    /// Open addressing over each value's hash and first occurrence: no comparer calls through an interface, and bytes
    /// are compared only when the hashes match.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static List<int>? BuildBinaryDictionary(byte[] bytes, int[] offsets, int nonNull, int[] indices, long pageSizeLimit)
    {
        var maxEntries = nonNull > 64 ? nonNull / 2 + 1 : nonNull;
        var bits = 4;
        while ((1 << bits) < 2 * (maxEntries + 1)) bits++;
        var mask = (1 << bits) - 1;
        var slots = ArrayPool<int>.Shared.Rent(1 << bits);
        var hashes = ArrayPool<int>.Shared.Rent(maxEntries + 1);
        var table = slots.AsSpan(0, 1 << bits);
        table.Clear(); // 0 = empty, otherwise entry index + 1
        var entries = new List<int>();
        long dictionaryBytes = 0;
        var checkpoint = MostlyDistinctCheckpoint(nonNull);
        try
        {
            for (var i = 0; i < nonNull; i++)
            {
                if (i == checkpoint && MostlyDistinct(i, entries.Count)) return null;
                var value = bytes.AsSpan(offsets[i], offsets[i + 1] - offsets[i]);
                var hasher = new HashCode();
                hasher.AddBytes(value);
                var hash = hasher.ToHashCode();
                var h = (int)(((uint)hash * 0x9E3779B9u) >> (32 - bits));
                while (true)
                {
                    var slot = table[h];
                    if (slot == 0)
                    {
                        dictionaryBytes += value.Length + 4;
                        // Too big, or more than half the values distinct (saves nothing): entries only grow, so stop now.
                        if (dictionaryBytes > pageSizeLimit || (entries.Count >= nonNull / 2 && nonNull > 64)) return null;
                        hashes[entries.Count] = hash;
                        entries.Add(i);
                        table[h] = entries.Count;
                        indices[i] = entries.Count - 1;
                        break;
                    }
                    var e = slot - 1;
                    if (hashes[e] == hash)
                    {
                        var f = entries[e];
                        if (bytes.AsSpan(offsets[f], offsets[f + 1] - offsets[f]).SequenceEqual(value)) { indices[i] = e; break; }
                    }
                    h = (h + 1) & mask;
                }
            }
            return entries;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(slots);
            ArrayPool<int>.Shared.Return(hashes);
        }
    }

    // ---- pages ----

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ColumnChunk WritePages(Stream output, long position, int[] defs, int rows, Statistics stats, int dictionarySize,
        Action<ByteBuffer> writeDictionary, int valuesPerPage, Action<ByteBuffer, int, int> writeValues)
    {
        var start = position;
        long uncompressedTotal = 0;
        long? dictionaryOffset = null;
        if (dictionarySize >= 0)
        {
            dictionaryOffset = position;
            _page.Clear();
            writeDictionary(_page);
            position += WritePage(output, PageType.DictionaryPage, dictionarySize, Encoding.Plain, ref uncompressedTotal);
        }
        var dataOffset = position;
        var encoding = dictionarySize >= 0 ? Encoding.RleDictionary : Encoding.Plain;
        var nullable = field.Nullable;
        var row = 0;
        var dense = 0;
        var nulls = 0L;
        do
        {
            // Cut pages by row count so that the values part stays near the target page size.
            var pageRows = Math.Min(rows - row, valuesPerPage);
            var nonNull = 0;
            for (var i = row; i < row + pageRows; i++) nonNull += defs[i];
            nulls += pageRows - nonNull;
            _page.Clear();
            if (nullable)
            {
                _levels.Clear();
                RleBitPackedEncoder.Encode(defs.AsSpan(row, pageRows), 1, _levels);
                _page.WriteInt32(_levels.Length);
                _page.Write(_levels.Span);
            }
            writeValues(_page, dense, nonNull);
            position += WritePage(output, PageType.DataPage, pageRows, encoding, ref uncompressedTotal);
            row += pageRows;
            dense += nonNull;
        } while (row < rows);
        stats.NullCount = nulls;
        var encodings = new List<Encoding> { Encoding.Rle };
        if (dictionarySize >= 0) encodings.AddRange([Encoding.Plain, Encoding.RleDictionary]);
        else encodings.Add(Encoding.Plain);
        return new ColumnChunk
        {
            FileOffset = dictionaryOffset ?? dataOffset,
            MetaData = new ColumnMetaData
            {
                Type = _layout.Type,
                Encodings = encodings,
                PathInSchema = [field.Name],
                Codec = options.Codec,
                NumValues = rows,
                TotalUncompressedSize = uncompressedTotal,
                TotalCompressedSize = position - start,
                DataPageOffset = dataOffset,
                DictionaryPageOffset = dictionaryOffset,
                Statistics = stats,
            },
        };
    }

    private long WritePage(Stream output, PageType type, int numValues, Encoding encoding, ref long uncompressedTotal)
    {
        var body = _page.Span;
        var compressedLength = PageCompression.Compress(options.Codec, body, ref _compressed, options.ZstdLevel);
        var compressed = _compressed.AsSpan(0, compressedLength);
        var header = new PageHeader
        {
            Type = type,
            UncompressedPageSize = body.Length,
            CompressedPageSize = compressedLength,
            Crc = options.WritePageChecksums ? (int)Crc32.Compute(compressed) : null,
        };
        if (type == PageType.DictionaryPage) header.DictionaryPage = new DictionaryPageHeader { NumValues = numValues, Encoding = Encoding.Plain };
        else header.DataPage = new DataPageHeader { NumValues = numValues, Encoding = encoding, DefinitionLevelEncoding = Encoding.Rle, RepetitionLevelEncoding = Encoding.Rle };
        _header.Reset();
        MetadataCodec.WritePageHeader(_header, header);
        output.Write(_header.Written);
        output.Write(compressed);
        uncompressedTotal += _header.Written.Length + body.Length;
        return _header.Written.Length + compressedLength;
    }
}
