using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Pipelines.Data.Parquet.Encodings;

namespace Pipelines.Data.Parquet;

/// <summary>
/// Accumulates one column chunk's values by physical type: non-null values densely, plus validity per row.
/// <see cref="Scatter"/> then spreads dense values to their rows in place.
/// </summary>
internal abstract class ChunkDecoder
{
    protected bool[] Validity = [];
    protected int Rows;
    protected int Dense;
    protected bool AnyNull;

    public int RowCount => Rows;

    /// <summary>
    /// Empties the decoder for the next column chunk, keeping (and growing) its buffers, so that streaming
    /// row groups reuses the previous group's arrays instead of allocating new ones.
    /// </summary>
    public virtual void Reset(int capacity, int byteCapacity)
    {
        Rows = 0;
        Dense = 0;
        AnyNull = false;
        if (Validity.Length < capacity) Validity = new bool[capacity];
    }

    public static ChunkDecoder Create(PhysicalType type, int typeLength, int capacity, int byteCapacity, Tables.TimeUnit int96Unit = Tables.TimeUnit.Nanos) => type switch
    {
        PhysicalType.Boolean => new FixedDecoder<bool>(type, capacity),
        PhysicalType.Int32 => new FixedDecoder<int>(type, capacity),
        PhysicalType.Int64 => new FixedDecoder<long>(type, capacity),
        PhysicalType.Int96 => new FixedDecoder<long>(type, capacity, int96Unit),
        PhysicalType.Float => new FixedDecoder<float>(type, capacity),
        PhysicalType.Double => new FixedDecoder<double>(type, capacity),
        PhysicalType.ByteArray => new BinaryDecoder(-1, capacity, byteCapacity),
        PhysicalType.FixedLenByteArray => typeLength > 0 ? new BinaryDecoder(typeLength, capacity, byteCapacity)
            : throw new InvalidDataException($"FIXED_LEN_BYTE_ARRAY with length {typeLength}"),
        _ => throw new InvalidDataException($"unknown physical type {(int)type}"),
    };

    /// <summary>Appends validity for a page; returns the number of non-null values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int AppendLevels(ReadOnlySpan<int> defLevels, int maxDef, int count)
    {
        EnsureRows(count);
        if (maxDef == 0)
        {
            Validity.AsSpan(Rows, count).Fill(true);
            Rows += count;
            return count;
        }
        var nonNull = 0;
        for (var i = 0; i < count; i++)
        {
            var d = defLevels[i];
            if (d > maxDef) throw new InvalidDataException($"definition level {d} above the maximum {maxDef}");
            var v = d == maxDef;
            Validity[Rows + i] = v;
            if (v) nonNull++;
        }
        if (nonNull != count) AnyNull = true;
        Rows += count;
        return nonNull;
    }

    private void EnsureRows(int extra)
    {
        if (Rows + extra > Validity.Length) Array.Resize(ref Validity, Math.Max(Rows + extra, Math.Max(16, Validity.Length * 2)));
    }

    public abstract void ReadDictionary(ReadOnlySpan<byte> data, int count);
    public abstract void ReadValues(Encoding encoding, ReadOnlySpan<byte> data, int count);
    public abstract void Scatter();

    public bool[]? ValidityOrNull => AnyNull ? Validity : null;

    protected static ReadOnlySpan<int> ReadIndices(ReadOnlySpan<byte> data, int count, int dictSize, int[] scratch)
    {
        if (data.IsEmpty)
        {
            if (count == 0) return default;
            throw new InvalidDataException("dictionary-encoded page without index data");
        }
        int bitWidth = data[0];
        if (bitWidth > 32) throw new InvalidDataException($"dictionary index bit width {bitWidth}");
        var idx = scratch.AsSpan(0, count);
        new RleBitPackedDecoder(data[1..], bitWidth).Read(idx);
        foreach (var i in idx)
            if ((uint)i >= (uint)dictSize) throw new InvalidDataException($"dictionary index {i} outside a dictionary of {dictSize}");
        return idx;
    }
}

internal sealed class FixedDecoder<T> : ChunkDecoder where T : unmanaged
{
    private readonly PhysicalType _type;
    private T[] _values;
    private T[]? _dictionary;
    private int _dictCount = -1;

    private readonly Tables.TimeUnit _int96Unit;

    public FixedDecoder(PhysicalType type, int capacity, Tables.TimeUnit int96Unit = Tables.TimeUnit.Nanos)
    {
        _type = type;
        _int96Unit = int96Unit;
        _values = new T[Math.Max(capacity, 16)];
        Validity = new bool[Math.Max(capacity, 16)];
    }

    public T[] Values => _values;

    public override void Reset(int capacity, int byteCapacity)
    {
        base.Reset(capacity, byteCapacity);
        if (_values.Length < capacity) _values = new T[capacity];
        _dictCount = -1;
    }

    private int Width => _type == PhysicalType.Int96 ? 12 : _type == PhysicalType.Boolean ? 0 : System.Runtime.CompilerServices.Unsafe.SizeOf<T>();

    private Span<T> Reserve(int count)
    {
        if (Dense + count > _values.Length) Array.Resize(ref _values, Math.Max(Dense + count, _values.Length * 2));
        return _values.AsSpan(Dense, count);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void ReadDictionary(ReadOnlySpan<byte> data, int count)
    {
        var width = Math.Max(Width, 1);
        if (count < 0 || (long)count * width > (long)data.Length * (_type == PhysicalType.Boolean ? 8 : 1))
            throw new InvalidDataException($"dictionary of {count} values does not fit in {data.Length} bytes");
        if (_dictionary is null || _dictionary.Length < count) _dictionary = new T[count];
        _dictCount = count;
        DecodePlain(data, _dictionary.AsSpan(0, count));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void ReadValues(Encoding encoding, ReadOnlySpan<byte> data, int count)
    {
        if (count == 0) return;
        var dest = Reserve(count);
        switch (encoding)
        {
            case Encoding.Plain: DecodePlain(data, dest); break;
            case Encoding.PlainDictionary or Encoding.RleDictionary:
            {
                if (_dictionary is null || _dictCount < 0) throw new InvalidDataException("dictionary-encoded page before any dictionary page");
                var scratch = ArrayPool<int>.Shared.Rent(count);
                try
                {
                    var idx = ReadIndices(data, count, _dictCount, scratch);
                    var dict = _dictionary;
                    for (var i = 0; i < idx.Length; i++) dest[i] = dict[idx[i]];
                }
                finally { ArrayPool<int>.Shared.Return(scratch); }
                break;
            }
            case Encoding.Rle when typeof(T) == typeof(bool):
            {
                if (data.Length < 4) throw new InvalidDataException("RLE boolean page without length prefix");
                var len = BinaryPrimitives.ReadInt32LittleEndian(data);
                if (len < 0 || len > data.Length - 4) throw new InvalidDataException($"RLE length {len} exceeds the page");
                var scratch = ArrayPool<int>.Shared.Rent(count);
                try
                {
                    var bits = scratch.AsSpan(0, count);
                    new RleBitPackedDecoder(data.Slice(4, len), 1).Read(bits);
                    var bools = MemoryMarshal.Cast<T, bool>(dest);
                    for (var i = 0; i < count; i++) bools[i] = bits[i] != 0;
                }
                finally { ArrayPool<int>.Shared.Return(scratch); }
                break;
            }
            case Encoding.DeltaBinaryPacked when typeof(T) == typeof(int) || typeof(T) == typeof(long):
            {
                var scratch = ArrayPool<long>.Shared.Rent(count);
                try
                {
                    var longs = scratch.AsSpan(0, count);
                    DeltaBinaryPacked.Decode(data, longs, out var total);
                    if (total != count) throw new InvalidDataException($"DELTA_BINARY_PACKED holds {total} values, page has {count}");
                    if (typeof(T) == typeof(long)) longs.CopyTo(MemoryMarshal.Cast<T, long>(dest));
                    else { var ints = MemoryMarshal.Cast<T, int>(dest); for (var i = 0; i < count; i++) ints[i] = (int)longs[i]; }
                }
                finally { ArrayPool<long>.Shared.Return(scratch); }
                break;
            }
            case Encoding.ByteStreamSplit when _type is PhysicalType.Float or PhysicalType.Double or PhysicalType.Int32 or PhysicalType.Int64:
            {
                var w = Width;
                if ((long)count * w != data.Length) throw new InvalidDataException($"BYTE_STREAM_SPLIT page has {data.Length} bytes for {count} values of {w}");
                var bytes = MemoryMarshal.AsBytes(dest);
                for (var b = 0; b < w; b++)
                {
                    var stream = data.Slice(b * count, count);
                    for (var i = 0; i < count; i++) bytes[i * w + b] = stream[i];
                }
                break;
            }
            default: throw new ParquetNotSupportedException($"encoding {encoding} for {_type} columns is not supported");
        }
        Dense += count;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DecodePlain(ReadOnlySpan<byte> data, Span<T> dest)
    {
        var count = dest.Length;
        if (_type == PhysicalType.Boolean)
        {
            if ((count + 7) / 8 > data.Length) throw new InvalidDataException($"PLAIN booleans: {count} values in {data.Length} bytes");
            var bools = MemoryMarshal.Cast<T, bool>(dest);
            for (var i = 0; i < count; i++) bools[i] = ((data[i >> 3] >> (i & 7)) & 1) != 0;
        }
        else if (_type == PhysicalType.Int96)
        {
            if ((long)count * 12 > data.Length) throw new InvalidDataException($"PLAIN INT96: {count} values in {data.Length} bytes");
            var longs = MemoryMarshal.Cast<T, long>(dest);
            for (var i = 0; i < count; i++)
            {
                // 8 bytes nanoseconds of the day, 4 bytes Julian day number. Computed in 128 bits: a Julian day
                // number spans ±5.8 million years, far beyond what 64-bit nanoseconds hold (1677–2262).
                var nanos = BinaryPrimitives.ReadInt64LittleEndian(data[(i * 12)..]);
                var julian = BinaryPrimitives.ReadInt32LittleEndian(data[(i * 12 + 8)..]);
                var total = (Int128)(julian - 2440588L) * 86_400_000_000_000L + nanos;
                longs[i] = _int96Unit switch
                {
                    Tables.TimeUnit.Micros => (long)FloorDiv(total, 1000),
                    Tables.TimeUnit.Millis => (long)FloorDiv(total, 1_000_000),
                    _ => total >= long.MinValue && total <= long.MaxValue ? (long)total : throw Int96OutOfRange(total),
                };
            }
        }
        else
        {
            var bytes = count * Width;
            if (bytes > data.Length) throw new InvalidDataException($"PLAIN {_type}: {count} values need {bytes} bytes, page has {data.Length}");
            MemoryMarshal.Cast<byte, T>(data[..bytes]).CopyTo(dest);
        }
    }

    private static Int128 FloorDiv(Int128 a, Int128 b) => Int128.DivRem(a, b) is var (q, r) && r < 0 ? q - 1 : q;

    private static ParquetNotSupportedException Int96OutOfRange(Int128 nanos)
    {
        var micros = FloorDiv(nanos, 1000);
        var ticks = micros * 10 + DateTime.UnixEpoch.Ticks;
        var date = ticks >= DateTime.MinValue.Ticks && ticks <= DateTime.MaxValue.Ticks
            ? new DateTime((long)ticks).ToString("yyyy-MM-dd HH:mm:ss.FFFFFF", System.Globalization.CultureInfo.InvariantCulture)
            : $"{micros} µs from 1970-01-01";
        return new ParquetNotSupportedException(
            $"INT96 timestamp {date} lies outside the years 1677–2262 that nanosecond timestamps hold; " +
            "read INT96 as microseconds (ParquetReaderOptions.Int96Unit = Micros; in the CLI --int96-unit micros)");
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Scatter()
    {
        if (!AnyNull) return;
        if (_values.Length < Rows) Array.Resize(ref _values, Rows);
        var j = Dense - 1;
        for (var i = Rows - 1; i >= 0; i--)
            _values[i] = Validity[i] ? _values[j--] : default;
    }
}

/// <summary>BYTE_ARRAY (typeLength -1) and FIXED_LEN_BYTE_ARRAY values as offsets into one buffer.</summary>
internal sealed class BinaryDecoder : ChunkDecoder
{
    private readonly int _fixedLength;
    private int[] _offsets;
    private byte[] _data;
    private int[]? _dictOffsets;
    private byte[]? _dictData;
    private int _dictCount = -1;

    public BinaryDecoder(int fixedLength, int capacity, int byteCapacity)
    {
        _fixedLength = fixedLength;
        _data = new byte[Math.Max(byteCapacity, 16)];
        _offsets = new int[Math.Max(capacity, 16) + 1];
        Validity = new bool[Math.Max(capacity, 16)];
    }

    public int[] Offsets => _offsets;
    public byte[] Data => _data;

    public override void Reset(int capacity, int byteCapacity)
    {
        base.Reset(capacity, byteCapacity);
        if (_offsets.Length < capacity + 1) _offsets = new int[capacity + 1];
        if (_data.Length < byteCapacity) _data = new byte[byteCapacity];
        _offsets[0] = 0;
        _dictCount = -1;
    }
    public int FixedLength => _fixedLength;

    private void EnsureValues(int count)
    {
        if (Dense + count + 1 > _offsets.Length) Array.Resize(ref _offsets, Math.Max(Dense + count + 1, _offsets.Length * 2));
    }

    private Span<byte> ReserveBytes(int count)
    {
        var used = _offsets[Dense];
        if ((long)used + count > Array.MaxLength) throw new InvalidDataException("column chunk exceeds 2 GiB of byte data");
        if (used + count > _data.Length) Array.Resize(ref _data, (int)Math.Min(Array.MaxLength, Math.Max((long)used + count, (long)_data.Length * 2)));
        return _data.AsSpan(used, count);
    }

    private void Append(ReadOnlySpan<byte> value)
    {
        value.CopyTo(ReserveBytes(value.Length));
        _offsets[Dense + 1] = _offsets[Dense] + value.Length;
        Dense++;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void ReadDictionary(ReadOnlySpan<byte> data, int count)
    {
        var minWidth = _fixedLength > 0 ? _fixedLength : 4;
        if (count < 0 || (long)count * minWidth > data.Length) throw new InvalidDataException($"dictionary of {count} values does not fit in {data.Length} bytes");
        // Decode the dictionary with this decoder's own machinery, then move the buffers aside.
        var (savedOffsets, savedData, savedDense) = (_offsets, _data, Dense);
        _offsets = _dictOffsets is { } o && o.Length >= count + 1 ? o : new int[count + 1];
        _data = _dictData is { } d && d.Length >= data.Length ? d : new byte[Math.Max(16, data.Length)];
        _offsets[0] = 0;
        Dense = 0;
        DecodePlain(data, count);
        (_dictOffsets, _dictData, _dictCount) = (_offsets, _data, count);
        (_offsets, _data, Dense) = (savedOffsets, savedData, savedDense);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void ReadValues(Encoding encoding, ReadOnlySpan<byte> data, int count)
    {
        if (count == 0) return;
        EnsureValues(count);
        switch (encoding)
        {
            case Encoding.Plain: DecodePlain(data, count); break;
            case Encoding.PlainDictionary or Encoding.RleDictionary:
            {
                if (_dictOffsets is null || _dictCount < 0) throw new InvalidDataException("dictionary-encoded page before any dictionary page");
                var scratch = ArrayPool<int>.Shared.Rent(count);
                try
                {
                    var idx = ReadIndices(data, count, _dictCount, scratch);
                    long total = 0;
                    foreach (var i in idx) total += _dictOffsets[i + 1] - _dictOffsets[i];
                    if (total > Array.MaxLength - _offsets[Dense]) throw new InvalidDataException("column chunk exceeds 2 GiB of byte data");
                    var dest = ReserveBytes((int)total);
                    var pos = 0;
                    var start = _offsets[Dense];
                    var dictData = _dictData!;
                    for (var k = 0; k < idx.Length; k++)
                    {
                        var s = _dictOffsets[idx[k]];
                        var len = _dictOffsets[idx[k] + 1] - s;
                        dictData.AsSpan(s, len).CopyTo(dest[pos..]);
                        pos += len;
                        _offsets[Dense + k + 1] = start + pos;
                    }
                    Dense += count;
                }
                finally { ArrayPool<int>.Shared.Return(scratch); }
                break;
            }
            case Encoding.DeltaLengthByteArray when _fixedLength < 0:
            {
                var lengths = ArrayPool<long>.Shared.Rent(count);
                try
                {
                    var consumed = DeltaBinaryPacked.Decode(data, lengths.AsSpan(0, count), out var total);
                    if (total != count) throw new InvalidDataException($"DELTA_LENGTH_BYTE_ARRAY holds {total} values, page has {count}");
                    var rest = data[consumed..];
                    for (var i = 0; i < count; i++)
                    {
                        var len = lengths[i];
                        if (len < 0 || len > rest.Length) throw new InvalidDataException($"value length {len} exceeds the page");
                        Append(rest[..(int)len]);
                        rest = rest[(int)len..];
                    }
                }
                finally { ArrayPool<long>.Shared.Return(lengths); }
                break;
            }
            case Encoding.DeltaByteArray:
            {
                var prefixes = ArrayPool<long>.Shared.Rent(count);
                var suffixes = ArrayPool<long>.Shared.Rent(count);
                try
                {
                    var consumed = DeltaBinaryPacked.Decode(data, prefixes.AsSpan(0, count), out var total);
                    if (total != count) throw new InvalidDataException($"DELTA_BYTE_ARRAY holds {total} prefixes, page has {count}");
                    var rest = data[consumed..];
                    consumed = DeltaBinaryPacked.Decode(rest, suffixes.AsSpan(0, count), out total);
                    if (total != count) throw new InvalidDataException($"DELTA_BYTE_ARRAY holds {total} suffixes, page has {count}");
                    rest = rest[consumed..];
                    var previousStart = -1;
                    var previousLength = 0;
                    for (var i = 0; i < count; i++)
                    {
                        var prefix = prefixes[i];
                        var suffix = suffixes[i];
                        if (prefix < 0 || prefix > previousLength) throw new InvalidDataException($"prefix length {prefix} longer than the previous value ({previousLength})");
                        if (suffix < 0 || suffix > rest.Length) throw new InvalidDataException($"suffix length {suffix} exceeds the page");
                        var length = (int)(prefix + suffix);
                        if (_fixedLength > 0 && length != _fixedLength) throw new InvalidDataException($"value of {length} bytes in a FIXED_LEN_BYTE_ARRAY({_fixedLength}) column");
                        var dest = ReserveBytes(length);
                        if (prefix > 0) _data.AsSpan(previousStart, (int)prefix).CopyTo(dest);
                        rest[..(int)suffix].CopyTo(dest[(int)prefix..]);
                        rest = rest[(int)suffix..];
                        previousStart = _offsets[Dense];
                        previousLength = length;
                        _offsets[Dense + 1] = _offsets[Dense] + length;
                        Dense++;
                    }
                }
                finally
                {
                    ArrayPool<long>.Shared.Return(prefixes);
                    ArrayPool<long>.Shared.Return(suffixes);
                }
                break;
            }
            case Encoding.ByteStreamSplit when _fixedLength > 0:
            {
                var w = _fixedLength;
                if ((long)count * w != data.Length) throw new InvalidDataException($"BYTE_STREAM_SPLIT page has {data.Length} bytes for {count} values of {w}");
                var dest = ReserveBytes(count * w);
                for (var b = 0; b < w; b++)
                    for (var i = 0; i < count; i++) dest[i * w + b] = data[b * count + i];
                var start = _offsets[Dense];
                for (var i = 0; i < count; i++) _offsets[Dense + i + 1] = start + (i + 1) * w;
                Dense += count;
                break;
            }
            default: throw new ParquetNotSupportedException($"encoding {encoding} for byte-array columns is not supported");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DecodePlain(ReadOnlySpan<byte> data, int count)
    {
        if (_fixedLength > 0)
        {
            var bytes = (long)count * _fixedLength;
            if (bytes > data.Length) throw new InvalidDataException($"PLAIN FIXED_LEN_BYTE_ARRAY: {count} values need {bytes} bytes, page has {data.Length}");
            data[..(int)bytes].CopyTo(ReserveBytes((int)bytes));
            var start = _offsets[Dense];
            for (var i = 0; i < count; i++) _offsets[Dense + i + 1] = start + (i + 1) * _fixedLength;
            Dense += count;
            return;
        }
        var pos = 0;
        for (var i = 0; i < count; i++)
        {
            if (data.Length - pos < 4) throw new InvalidDataException($"PLAIN BYTE_ARRAY: data ends at value {i} of {count}");
            var len = BinaryPrimitives.ReadInt32LittleEndian(data[pos..]);
            pos += 4;
            if (len < 0 || len > data.Length - pos) throw new InvalidDataException($"PLAIN BYTE_ARRAY: value length {len} exceeds the page");
            Append(data.Slice(pos, len));
            pos += len;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Scatter()
    {
        if (_offsets.Length < Rows + 1) Array.Resize(ref _offsets, Rows + 1);
        if (!AnyNull) return;
        // Null rows get empty values: offsets[i+1] == offsets[i]. Walk backwards so dense ends are read before being overwritten.
        var j = Dense;
        for (var i = Rows; i > 0; i--)
        {
            _offsets[i] = _offsets[j];
            if (Validity[i - 1]) j--;
        }
        _offsets[0] = 0;
    }
}
