using Pipelines.Data.Tables;
using Pipelines.Quality.Spec;

namespace Pipelines.Quality.Checks;

/// <summary>Typed reads of column values for checks: numbers as double, everything as display text.</summary>
internal static class Values
{
    public static bool IsNumeric(DataType t) => t.Kind is TypeKind.Int8 or TypeKind.Int16 or TypeKind.Int32 or TypeKind.Int64
        or TypeKind.UInt8 or TypeKind.UInt16 or TypeKind.UInt32 or TypeKind.UInt64 or TypeKind.Float32 or TypeKind.Float64 or TypeKind.Decimal;

    public static bool Matches(DataType t, ExpectedType expected) => expected switch
    {
        ExpectedType.Boolean => t.Kind == TypeKind.Boolean,
        ExpectedType.Integer => t.Kind is TypeKind.Int8 or TypeKind.Int16 or TypeKind.Int32 or TypeKind.Int64
            or TypeKind.UInt8 or TypeKind.UInt16 or TypeKind.UInt32 or TypeKind.UInt64,
        ExpectedType.Number => IsNumeric(t),
        ExpectedType.String => t.Kind == TypeKind.String,
        ExpectedType.Date => t.Kind == TypeKind.Date,
        ExpectedType.Timestamp => t.Kind == TypeKind.Timestamp,
        _ => false,
    };

    /// <summary>The column as doubles (NaN for nulls), read with one typed loop per storage type.</summary>
    public static double[] AsDoubles(Column c)
    {
        var result = new double[c.Length];
        switch (c)
        {
            case PrimitiveColumn<double> d: Copy(d, result, v => v); break;
            case PrimitiveColumn<float> f: Copy(f, result, v => v); break;
            case PrimitiveColumn<long> l: Copy(l, result, v => v); break;
            case PrimitiveColumn<int> i: Copy(i, result, v => v); break;
            case PrimitiveColumn<short> s: Copy(s, result, v => v); break;
            case PrimitiveColumn<sbyte> sb: Copy(sb, result, v => v); break;
            case PrimitiveColumn<ulong> ul: Copy(ul, result, v => v); break;
            case PrimitiveColumn<uint> ui: Copy(ui, result, v => v); break;
            case PrimitiveColumn<ushort> us: Copy(us, result, v => v); break;
            case PrimitiveColumn<byte> b: Copy(b, result, v => v); break;
            case PrimitiveColumn<Int128> dec:
                var scale = Math.Pow(10, c.Type.Scale);
                Copy(dec, result, v => (double)v / scale);
                break;
            default: throw new InvalidOperationException($"column of type {c.Type} is not numeric");
        }
        return result;
    }

    private static void Copy<T>(PrimitiveColumn<T> c, double[] into, Func<T, double> convert) where T : unmanaged
    {
        var values = c.Values;
        for (var i = 0; i < values.Length; i++) into[i] = c.IsNull(i) ? double.NaN : convert(values[i]);
    }

    /// <summary>Seconds since the Unix epoch of a date or timestamp value.</summary>
    public static double EpochSeconds(Column c, int i) => c.Type.Kind switch
    {
        TypeKind.Date => ((PrimitiveColumn<int>)c)[i] * 86400.0,
        TypeKind.Timestamp => ((PrimitiveColumn<long>)c)[i] / c.Type.Unit switch
        {
            TimeUnit.Millis => 1e3,
            TimeUnit.Micros => 1e6,
            _ => 1e9,
        },
        _ => throw new InvalidOperationException($"column of type {c.Type} is not a date or timestamp"),
    };
}
