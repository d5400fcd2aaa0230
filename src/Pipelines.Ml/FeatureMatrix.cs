using Pipelines.Data.Tables;

namespace Pipelines.Ml;

/// <summary>Raised when a table does not have the columns (or column types) a model or pipeline needs; names the column.</summary>
public sealed class ColumnMismatchException(string column, string message) : Exception(message)
{
    public string Column { get; } = column;
}

/// <summary>
/// A dense row-major float32 feature matrix (XGBoost's native precision); NaN marks a missing value.
/// </summary>
public sealed class FeatureMatrix
{
    public FeatureMatrix(float[] values, int rows, int columns, IReadOnlyList<string>? names = null)
    {
        if ((long)rows * columns != values.Length) throw new ArgumentException($"{values.Length} values for {rows} × {columns}");
        if (names is not null && names.Count != columns) throw new ArgumentException($"{names.Count} names for {columns} columns");
        Values = values;
        Rows = rows;
        Columns = columns;
        Names = names ?? [];
    }

    public float[] Values { get; }
    public int Rows { get; }
    public int Columns { get; }
    public IReadOnlyList<string> Names { get; }

    public float this[int row, int column] => Values[(long)row * Columns + column];

    public ReadOnlySpan<float> Row(int row) => Values.AsSpan(row * Columns, Columns);

    /// <summary>
    /// Converts the named numeric columns (all columns when <paramref name="columns"/> is null) of a table; nulls
    /// become NaN. A missing or non-numeric column fails with its name.
    /// </summary>
    public static FeatureMatrix FromTable(Table table, IReadOnlyList<string>? columns = null)
    {
        var names = columns ?? table.Schema.Fields.Select(f => f.Name).ToList();
        var cols = new Column[names.Count];
        for (var j = 0; j < names.Count; j++)
        {
            var index = table.Schema.IndexOf(names[j]);
            if (index < 0) throw new ColumnMismatchException(names[j], $"column '{names[j]}' is missing (the model needs it as a feature)");
            cols[j] = table.Columns[index];
            if (!IsNumeric(cols[j].Type))
                throw new ColumnMismatchException(names[j], $"column '{names[j]}' is {cols[j].Type}, but a feature must be numeric (encode it with a feature pipeline step such as one_hot)");
        }
        var rows = table.RowCount;
        var values = new float[(long)rows * names.Count];
        for (var j = 0; j < cols.Length; j++) Scatter(cols[j], values, j, names.Count);
        return new FeatureMatrix(values, rows, names.Count, names.ToArray());
    }

    public static bool IsNumeric(DataType t) => t.Kind is TypeKind.Boolean or TypeKind.Int8 or TypeKind.Int16 or TypeKind.Int32 or TypeKind.Int64
        or TypeKind.UInt8 or TypeKind.UInt16 or TypeKind.UInt32 or TypeKind.UInt64 or TypeKind.Float32 or TypeKind.Float64 or TypeKind.Decimal;

    /// <summary>Column values as doubles with NaN for nulls (numeric columns only).</summary>
    public static double[] ToDoubles(Column c, string name)
    {
        if (!IsNumeric(c.Type)) throw new ColumnMismatchException(name, $"column '{name}' is {c.Type}, expected a numeric column");
        var result = new double[c.Length];
        switch (c)
        {
            case PrimitiveColumn<double> d: d.Values.CopyTo(result); break;
            case PrimitiveColumn<float> f: for (var i = 0; i < result.Length; i++) result[i] = f[i]; break;
            case PrimitiveColumn<int> x: for (var i = 0; i < result.Length; i++) result[i] = x[i]; break;
            case PrimitiveColumn<long> x: for (var i = 0; i < result.Length; i++) result[i] = x[i]; break;
            default: for (var i = 0; i < result.Length; i++) result[i] = c.IsNull(i) ? double.NaN : ToDouble(c.GetValue(i)!); break;
        }
        if (c.NullCount > 0) for (var i = 0; i < result.Length; i++) if (c.IsNull(i)) result[i] = double.NaN;
        return result;
    }

    private static double ToDouble(object v) => v switch
    {
        bool b => b ? 1 : 0,
        Pipelines.Data.Tables.DecimalValue d => (double)d.ToDecimal(),
        IConvertible c => c.ToDouble(System.Globalization.CultureInfo.InvariantCulture),
        _ => throw new InvalidCastException($"cannot convert {v.GetType().Name} to a number"),
    };

    private static void Scatter(Column c, float[] target, int column, int stride)
    {
        switch (c)
        {
            case PrimitiveColumn<double> d:
            {
                var v = d.Values;
                for (int i = 0, k = column; i < v.Length; i++, k += stride) target[k] = (float)v[i];
                break;
            }
            case PrimitiveColumn<float> f:
            {
                var v = f.Values;
                for (int i = 0, k = column; i < v.Length; i++, k += stride) target[k] = v[i];
                break;
            }
            case PrimitiveColumn<int> n:
            {
                var v = n.Values;
                for (int i = 0, k = column; i < v.Length; i++, k += stride) target[k] = v[i];
                break;
            }
            case PrimitiveColumn<long> n:
            {
                var v = n.Values;
                for (int i = 0, k = column; i < v.Length; i++, k += stride) target[k] = v[i];
                break;
            }
            default:
            {
                var d = ToDoubles(c, "?");
                for (int i = 0, k = column; i < d.Length; i++, k += stride) target[k] = (float)d[i];
                return;
            }
        }
        if (c.NullCount > 0)
            for (int i = 0, k = column; i < c.Length; i++, k += stride)
                if (c.IsNull(i)) target[k] = float.NaN;
    }
}
