using System.Buffers.Binary;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Parquet;

/// <summary>Turns decoded physical values into typed columns (narrowing ints, decimals, float16, INT96).</summary>
internal static class ColumnConversion
{
    public static Column ToColumn(ColumnDescriptor column, ChunkDecoder decoder, int rows)
    {
        var type = column.Field!.Type;
        var validity = decoder.ValidityOrNull;
        switch (decoder)
        {
            case FixedDecoder<bool> b: return new PrimitiveColumn<bool>(type, b.Values, validity, rows);
            case FixedDecoder<float> f: return new PrimitiveColumn<float>(type, f.Values, validity, rows);
            case FixedDecoder<double> d: return new PrimitiveColumn<double>(type, d.Values, validity, rows);
            case FixedDecoder<int> i:
                return type.Kind switch
                {
                    TypeKind.Int32 or TypeKind.Date => new PrimitiveColumn<int>(type, i.Values, validity, rows),
                    TypeKind.Int8 => Map(type, i.Values, rows, validity, v => (sbyte)v),
                    TypeKind.Int16 => Map(type, i.Values, rows, validity, v => (short)v),
                    TypeKind.UInt8 => Map(type, i.Values, rows, validity, v => (byte)v),
                    TypeKind.UInt16 => Map(type, i.Values, rows, validity, v => (ushort)v),
                    TypeKind.UInt32 => Map(type, i.Values, rows, validity, v => (uint)v),
                    TypeKind.Time => Map(type, i.Values, rows, validity, v => (long)v),
                    TypeKind.Decimal => Map(type, i.Values, rows, validity, v => (Int128)v),
                    _ => throw new ParquetNotSupportedException($"column {column.Name}: INT32 as {type}"),
                };
            case FixedDecoder<long> l:
                return type.Kind switch
                {
                    TypeKind.Int64 or TypeKind.Timestamp or TypeKind.Time => new PrimitiveColumn<long>(type, l.Values, validity, rows),
                    TypeKind.UInt64 => Map(type, l.Values, rows, validity, v => (ulong)v),
                    TypeKind.Decimal => Map(type, l.Values, rows, validity, v => (Int128)v),
                    _ => throw new ParquetNotSupportedException($"column {column.Name}: INT64 as {type}"),
                };
            case BinaryDecoder bin:
                switch (type.Kind)
                {
                    case TypeKind.String or TypeKind.Binary:
                        if (type.Kind == TypeKind.String && !System.Text.Unicode.Utf8.IsValid(bin.Data.AsSpan(0, bin.Offsets[rows])))
                            throw new ParquetFormatException($"column {column.Name}: string data is not valid UTF-8", 0);
                        return new BinaryColumn(type, bin.Offsets, bin.Data, validity, rows);
                    case TypeKind.Decimal:
                    {
                        var values = new Int128[rows];
                        for (var r = 0; r < rows; r++)
                        {
                            if (validity is not null && !validity[r]) continue;
                            var bytes = bin.Data.AsSpan(bin.Offsets[r], bin.Offsets[r + 1] - bin.Offsets[r]);
                            values[r] = BigEndianToInt128(bytes, column.Name);
                        }
                        return new PrimitiveColumn<Int128>(type, values, validity, rows);
                    }
                    case TypeKind.Float32:
                    {
                        var values = new float[rows];
                        for (var r = 0; r < rows; r++)
                        {
                            if (validity is not null && !validity[r]) continue;
                            values[r] = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(bin.Data.AsSpan(bin.Offsets[r], 2)));
                        }
                        return new PrimitiveColumn<float>(type, values, validity, rows);
                    }
                    default: throw new ParquetNotSupportedException($"column {column.Name}: byte array as {type}");
                }
            default: throw new InvalidOperationException("unknown decoder");
        }
    }

    private static PrimitiveColumn<TOut> Map<TIn, TOut>(DataType type, TIn[] input, int rows, bool[]? validity, Func<TIn, TOut> f)
        where TIn : unmanaged where TOut : unmanaged
    {
        var output = new TOut[rows];
        for (var i = 0; i < rows; i++) output[i] = f(input[i]);
        return new PrimitiveColumn<TOut>(type, output, validity, rows);
    }

    public static Int128 BigEndianToInt128(ReadOnlySpan<byte> bytes, string column)
    {
        if (bytes.Length == 0) return 0;
        if (bytes.Length > 16)
        {
            // Longer encodings are legal if the extra leading bytes are pure sign extension.
            var sign = (bytes[0] & 0x80) != 0 ? (byte)0xFF : (byte)0;
            foreach (var b in bytes[..^16])
                if (b != sign) throw new ParquetFormatException($"column {column}: decimal wider than 128 bits", 0);
            bytes = bytes[^16..];
        }
        Int128 v = (bytes[0] & 0x80) != 0 ? -1 : 0;
        foreach (var b in bytes) v = (v << 8) | b;
        return v;
    }
}
