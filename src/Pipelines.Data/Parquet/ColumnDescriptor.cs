using Pipelines.Data.Tables;

namespace Pipelines.Data.Parquet;

/// <summary>A top-level column of a Parquet file: either a flat leaf we can read, or a nested group we refuse.</summary>
public sealed record ColumnDescriptor(
    string Name,
    bool IsNested,
    Field? Field,
    int LeafIndex,
    int LeafCount,
    SchemaElement? Element,
    int MaxDefinitionLevel)
{
    public PhysicalType? PhysicalType => Element?.Type;
}

/// <summary>Maps Parquet schema elements (physical + logical/converted type) to table types.</summary>
internal static class SchemaMapping
{
    public static DataType ToDataType(SchemaElement e, TimeUnit int96Unit = TimeUnit.Nanos)
    {
        var lt = e.LogicalType;
        var ct = e.ConvertedType;
        switch (e.Type)
        {
            case PhysicalType.Boolean: return DataType.Boolean;
            case PhysicalType.Int32:
                if (lt?.Kind == LogicalType.Integer) return IntType(lt.BitWidth, lt.IsSigned, 32, e.Name);
                if (lt?.Kind == LogicalType.Date || ct == ConvertedType.Date) return DataType.Date;
                if (lt?.Kind == LogicalType.Decimal) return Decimal(lt.Precision, lt.Scale, e.Name);
                if (ct == ConvertedType.Decimal) return Decimal(e.Precision ?? 0, e.Scale ?? 0, e.Name);
                if (lt?.Kind == LogicalType.Time || ct == ConvertedType.TimeMillis) return DataType.Time(TimeUnit.Millis);
                return ct switch
                {
                    ConvertedType.Int8 => DataType.Int8, ConvertedType.Int16 => DataType.Int16,
                    ConvertedType.UInt8 => DataType.UInt8, ConvertedType.UInt16 => DataType.UInt16, ConvertedType.UInt32 => DataType.UInt32,
                    _ => DataType.Int32,
                };
            case PhysicalType.Int64:
                if (lt?.Kind == LogicalType.Integer) return IntType(lt.BitWidth, lt.IsSigned, 64, e.Name);
                if (lt?.Kind == LogicalType.Timestamp) return DataType.Timestamp(Unit(lt.Unit), lt.IsAdjustedToUtc);
                if (lt?.Kind == LogicalType.Time) return DataType.Time(Unit(lt.Unit));
                if (lt?.Kind == LogicalType.Decimal) return Decimal(lt.Precision, lt.Scale, e.Name);
                return ct switch
                {
                    ConvertedType.TimestampMillis => DataType.Timestamp(TimeUnit.Millis, true),
                    ConvertedType.TimestampMicros => DataType.Timestamp(TimeUnit.Micros, true),
                    ConvertedType.TimeMicros => DataType.Time(TimeUnit.Micros),
                    ConvertedType.Decimal => Decimal(e.Precision ?? 0, e.Scale ?? 0, e.Name),
                    ConvertedType.UInt64 => DataType.UInt64,
                    _ => DataType.Int64,
                };
            case PhysicalType.Int96: return DataType.Timestamp(int96Unit, false);
            case PhysicalType.Float: return DataType.Float32;
            case PhysicalType.Double: return DataType.Float64;
            case PhysicalType.ByteArray:
                if (lt?.Kind == LogicalType.Decimal) return Decimal(lt.Precision, lt.Scale, e.Name);
                if (ct == ConvertedType.Decimal) return Decimal(e.Precision ?? 0, e.Scale ?? 0, e.Name);
                if (lt?.Kind is LogicalType.String or LogicalType.Enum or LogicalType.Json
                    || ct is ConvertedType.Utf8 or ConvertedType.Enum or ConvertedType.Json) return DataType.String;
                return DataType.Binary;
            case PhysicalType.FixedLenByteArray:
                if (lt?.Kind == LogicalType.Decimal) return Decimal(lt.Precision, lt.Scale, e.Name);
                if (ct == ConvertedType.Decimal) return Decimal(e.Precision ?? 0, e.Scale ?? 0, e.Name);
                if (lt?.Kind == LogicalType.Float16)
                {
                    if (e.TypeLength != 2) throw new ParquetNotSupportedException($"column {e.Name}: FLOAT16 needs 2 bytes, has {e.TypeLength}");
                    return DataType.Float32;
                }
                return DataType.Binary;
            default:
                throw new ParquetNotSupportedException($"column {e.Name}: physical type {e.Type} is not supported");
        }
    }

    private static DataType IntType(int bits, bool signed, int physicalBits, string name) => (bits, signed) switch
    {
        (8, true) => DataType.Int8, (16, true) => DataType.Int16, (32, true) => DataType.Int32, (64, true) => DataType.Int64,
        (8, false) => DataType.UInt8, (16, false) => DataType.UInt16, (32, false) => DataType.UInt32, (64, false) => DataType.UInt64,
        _ => throw new ParquetNotSupportedException($"column {name}: INTEGER({bits}) on a {physicalBits}-bit physical type"),
    };

    private static DataType Decimal(int precision, int scale, string name)
    {
        if (precision is < 1 or > 38 || scale < 0 || scale > precision)
            throw new ParquetNotSupportedException($"column {name}: decimal({precision},{scale}) is outside decimal(1..38)");
        return DataType.Decimal(precision, scale);
    }

    private static TimeUnit Unit(int unit) => unit switch { 1 => TimeUnit.Millis, 2 => TimeUnit.Micros, _ => TimeUnit.Nanos };

    /// <summary>Builds the top-level column list; nested groups are kept (as nested) so they can be named in errors.</summary>
    public static List<ColumnDescriptor> Describe(List<SchemaElement> elements, long fileOffset, TimeUnit int96Unit = TimeUnit.Nanos)
    {
        if (elements.Count == 0) throw new ParquetFormatException("empty schema", fileOffset);
        var result = new List<ColumnDescriptor>();
        var pos = 1;
        var leaf = 0;
        var rootChildren = elements[0].NumChildren;
        if (rootChildren < 0 || rootChildren > elements.Count - 1) throw new ParquetFormatException($"schema root claims {rootChildren} children", fileOffset);
        for (var c = 0; c < rootChildren; c++)
        {
            if (pos >= elements.Count) throw new ParquetFormatException("schema ends inside the root's children", fileOffset);
            var e = elements[pos];
            if (e.NumChildren > 0 || e.RepetitionType == Repetition.Repeated)
            {
                var leaves = CountLeaves(elements, ref pos, fileOffset, 0);
                result.Add(new ColumnDescriptor(e.Name, true, null, leaf, leaves, e, -1));
                leaf += leaves;
                continue;
            }
            if (e.Type is null || !Enum.IsDefined(e.Type.Value)) throw new ParquetFormatException($"leaf column {e.Name} has no valid physical type ({(int?)e.Type})", fileOffset);
            if (e.Type == PhysicalType.FixedLenByteArray && e.TypeLength is not > 0)
                throw new ParquetFormatException($"column {e.Name}: FIXED_LEN_BYTE_ARRAY with length {e.TypeLength}", fileOffset);
            var nullable = e.RepetitionType != Repetition.Required;
            DataType? type;
            try { type = ToDataType(e, int96Unit); }
            catch (ParquetNotSupportedException) { type = null; }
            result.Add(new ColumnDescriptor(e.Name, false, type is null ? null : new Field(e.Name, type, nullable), leaf, 1, e, nullable ? 1 : 0));
            leaf++;
            pos++;
        }
        if (pos != elements.Count) throw new ParquetFormatException($"schema has {elements.Count - pos} elements outside the root", fileOffset);
        var duplicate = result.GroupBy(c => c.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ParquetFormatException($"schema has two top-level columns named '{duplicate.Key}'", fileOffset);
        return result;
    }

    private static int CountLeaves(List<SchemaElement> elements, ref int pos, long fileOffset, int depth)
    {
        if (depth > 100) throw new ParquetFormatException("schema nested too deeply", fileOffset);
        if (pos >= elements.Count) throw new ParquetFormatException("schema ends inside a group", fileOffset);
        var e = elements[pos++];
        if (e.NumChildren <= 0) return 1;
        var leaves = 0;
        for (var i = 0; i < e.NumChildren; i++) leaves += CountLeaves(elements, ref pos, fileOffset, depth + 1);
        return leaves;
    }
}
