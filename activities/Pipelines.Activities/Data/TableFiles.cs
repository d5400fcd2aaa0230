using System.Globalization;
using System.Numerics;
using Pipelines.Data;
using Pipelines.Data.Csv;
using Pipelines.Data.Parquet;

namespace Pipelines.Activities.Data;

/// <summary>Reading tables from inputs and writing them as Parquet artifacts, with errors that name the file.</summary>
internal static class TableFiles
{
    /// <summary>Reads a whole table from an input (a path or an artifact reference; CSV or Parquet by content).</summary>
    public static async Task<(Table Table, string File)> ReadInputAsync(ActivityContext context, string inputName, CsvOptions? csv, CancellationToken ct)
    {
        var file = await ArtifactRefs.LocalFileAsync(context, inputName, ct);
        return (Read(file, csv, inputName), file);
    }

    public static Table Read(string file, CsvOptions? csv, string what)
    {
        try
        {
            if (new FileInfo(file).Length == 0) throw new ActivityException($"{what}: file '{file}' is empty", retryable: false);
            var (schema, batches) = DataFile.Open(file, csv);
            var table = Table.Concat(schema, batches);
            if (schema.Count == 0) throw new ActivityException($"{what}: file '{file}' has no columns", retryable: false);
            return table;
        }
        catch (Exception e) when (e is ParquetFormatException or FormatException or InvalidDataException or KeyNotFoundException or NotSupportedException
                                      or EndOfStreamException or ArgumentException)
        {
            throw new ActivityException($"{what}: cannot read '{file}': {Describe(e)}", retryable: false, e);
        }
    }

    /// <summary>A read error's message for a sentence that already names the file (CSV row errors carry it too).</summary>
    public static string Describe(Exception e) => e is CsvFormatException csv ? (csv.Error with { File = null }).ToString() : e.Message;

    /// <summary>Writes a table as snappy Parquet into the attempt's folder and publishes it as a table artifact.</summary>
    public static async Task<JsonObject> PublishTableAsync(ActivityContext context, Table table, string name, CancellationToken ct)
    {
        var path = Path.Combine(ActivityServices.From(context).WorkDirectory(context), name);
        ParquetWriter.WriteTable(path, table, new ParquetWriterOptions { Codec = CompressionCodec.Snappy });
        return await ArtifactRefs.PublishAsync(context, path, name, Pipelines.Storage.Artifacts.ArtifactKinds.Table, ct);
    }

    public static JsonArray SchemaJson(Schema schema) =>
        new(schema.Fields.Select(f => (JsonNode)new JsonObject { ["name"] = f.Name, ["type"] = f.Type.ToString(), ["nullable"] = f.Nullable }).ToArray());

    /// <summary>Replaces values of one column by a mapping (a string column; unmapped values stay).</summary>
    public static Table MapValues(Table table, string column, IReadOnlyDictionary<string, string> map, string field)
    {
        var index = table.Schema.IndexOf(column);
        if (index < 0) throw new ActivityException($"{field}: column '{column}' does not exist (columns: {string.Join(", ", table.Schema.Fields.Select(f => f.Name))})", retryable: false);
        var source = table.Columns[index];
        var builder = new BinaryBuilder(DataType.String, source.Length);
        for (var i = 0; i < source.Length; i++)
        {
            var text = source.Format(i);
            if (text is null) builder.AppendNull();
            else builder.Append(map.TryGetValue(text, out var mapped) ? mapped : text);
        }
        var fields = table.Schema.Fields.ToArray();
        fields[index] = fields[index] with { Type = DataType.String };
        var columns = table.Columns.ToArray();
        columns[index] = builder.Build();
        return new Table(new Schema(fields), columns);
    }

    public static Dictionary<string, string> StringMap(JsonNode? node, string field) => node switch
    {
        null => new(),
        JsonObject o => o.ToDictionary(kv => kv.Key, kv => kv.Value?.ToString() ?? throw new ActivityException($"{field}.{kv.Key}: must be a string", retryable: false)),
        _ => throw new ActivityException($"{field}: must be an object of value → replacement", retryable: false),
    };
}

/// <summary>Per-column count of values, nulls, min and max, accumulated batch by batch.</summary>
internal sealed class ColumnStatistics(string name)
{
    private object? _min, _max;
    public long Count { get; private set; }
    public long Nulls { get; private set; }

    public void Add(Column column)
    {
        // Numbers, the bulk of most tables, are scanned as typed spans; everything else value by value.
        switch (column)
        {
            case PrimitiveColumn<double> d when d.Type.Kind == TypeKind.Float64: AddNumbers(d); return;
            case PrimitiveColumn<long> l when l.Type.Kind == TypeKind.Int64: AddNumbers(l); return;
            case PrimitiveColumn<int> n when n.Type.Kind == TypeKind.Int32: AddNumbers(n); return;
        }
        for (var i = 0; i < column.Length; i++)
        {
            var v = column.GetValue(i);
            if (v is null) { Nulls++; continue; }
            Count++;
            if (v is byte[] || v is double d && double.IsNaN(d) || v is float f && float.IsNaN(f)) continue;
            if (_min is null || Compare(v, _min) < 0) _min = v;
            if (_max is null || Compare(v, _max) > 0) _max = v;
        }
    }

    private void AddNumbers<T>(PrimitiveColumn<T> column) where T : unmanaged, INumber<T>
    {
        var values = column.Values;
        var validity = column.Validity;
        T min = default, max = default;
        var any = false;
        long nulls = 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (!validity.IsEmpty && !validity[i]) { nulls++; continue; }
            var v = values[i];
            if (T.IsNaN(v)) continue; // counted, but not ordered
            if (!any) { min = max = v; any = true; continue; }
            if (v < min) min = v;
            if (v > max) max = v;
        }
        Nulls += nulls;
        Count += values.Length - nulls;
        if (!any) return;
        // Ties keep the value seen first, as the value-by-value path does.
        if (_min is null || Compare(min, _min) < 0) _min = min;
        if (_max is null || Compare(max, _max) > 0) _max = max;
    }

    private static int Compare(object a, object b) =>
        a is string sa && b is string sb ? string.CompareOrdinal(sa, sb) : a is IComparable c && a.GetType() == b.GetType() ? c.CompareTo(b) : 0;

    public JsonObject ToJson() => new()
    {
        ["column"] = name,
        ["count"] = Count,
        ["nulls"] = Nulls,
        ["min"] = ToNode(_min),
        ["max"] = ToNode(_max),
    };

    private static JsonNode? ToNode(object? v) => v switch
    {
        null => null,
        bool b => b,
        sbyte or byte or short or ushort or int or uint or long => Convert.ToInt64(v, CultureInfo.InvariantCulture),
        float or double => Convert.ToDouble(v, CultureInfo.InvariantCulture),
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        DateTime t => t.ToString("O", CultureInfo.InvariantCulture),
        _ => Convert.ToString(v, CultureInfo.InvariantCulture),
    };
}
