using System.Buffers.Binary;
using System.Text;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Parquet;

/// <summary>Decodes statistics min/max bytes (PLAIN encoding without length prefix) into typed values.</summary>
internal static class StatisticsCodec
{
    public static object? Decode(ColumnDescriptor c, byte[]? bytes)
    {
        if (bytes is null) return null;
        var type = c.Field!.Type;
        try
        {
            switch (c.PhysicalType)
            {
                case PhysicalType.Boolean: return bytes.Length >= 1 ? bytes[0] != 0 : null;
                case PhysicalType.Int32:
                {
                    if (bytes.Length != 4) return null;
                    var v = BinaryPrimitives.ReadInt32LittleEndian(bytes);
                    return type.Kind switch
                    {
                        TypeKind.UInt8 or TypeKind.UInt16 or TypeKind.UInt32 => (object)(long)(uint)v,
                        TypeKind.Decimal => new DecimalValue(v, type.Scale),
                        _ => (long)v,
                    };
                }
                case PhysicalType.Int64:
                {
                    if (bytes.Length != 8) return null;
                    var v = BinaryPrimitives.ReadInt64LittleEndian(bytes);
                    return type.Kind switch
                    {
                        TypeKind.UInt64 => (ulong)v,
                        TypeKind.Decimal => new DecimalValue(v, type.Scale),
                        _ => v,
                    };
                }
                case PhysicalType.Float: return bytes.Length == 4 ? (double)BinaryPrimitives.ReadSingleLittleEndian(bytes) : null;
                case PhysicalType.Double: return bytes.Length == 8 ? BinaryPrimitives.ReadDoubleLittleEndian(bytes) : null;
                case PhysicalType.ByteArray or PhysicalType.FixedLenByteArray:
                    return type.Kind switch
                    {
                        TypeKind.String => System.Text.Encoding.UTF8.GetString(bytes),
                        TypeKind.Decimal => new DecimalValue(ColumnConversion.BigEndianToInt128(bytes, c.Name), type.Scale),
                        TypeKind.Float32 when bytes.Length == 2 => (double)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(bytes)),
                        _ => bytes,
                    };
                default: return null;
            }
        }
        catch (ParquetFormatException) { return null; }
    }
}

public enum CompareOp { Equal, Less, LessOrEqual, Greater, GreaterOrEqual }

/// <summary>
/// A simple predicate <c>column op constant</c> used to skip row groups whose statistics prove that no row
/// can match. It never filters rows inside a row group.
/// </summary>
public sealed record RowGroupPredicate(string Column, CompareOp Op, object Value)
{
    public bool MayMatch(ParquetReader reader, int rowGroup)
    {
        var stats = reader.GetStatistics(rowGroup, Column);
        if (stats is not { Min: { } min, Max: { } max }) return true;
        var lo = Compare(min, Value);
        var hi = Compare(max, Value);
        if (lo is null || hi is null) return true;
        return Op switch
        {
            CompareOp.Equal => lo <= 0 && hi >= 0,
            CompareOp.Less => lo < 0,
            CompareOp.LessOrEqual => lo <= 0,
            CompareOp.Greater => hi > 0,
            CompareOp.GreaterOrEqual => hi >= 0,
            _ => true,
        };
    }

    private static int? Compare(object stat, object value) => (stat, value) switch
    {
        (long a, long b) => a.CompareTo(b),
        (long a, int b) => a.CompareTo(b),
        (ulong a, long b) => b < 0 ? 1 : a.CompareTo((ulong)b),
        (double a, double b) when !double.IsNaN(a) => a.CompareTo(b),
        (double a, long b) when !double.IsNaN(a) => a.CompareTo(b),
        (string a, string b) => string.CompareOrdinal(a, b) is var c ? Math.Sign(c) : 0,
        _ => null,
    };
}
