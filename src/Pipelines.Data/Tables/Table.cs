namespace Pipelines.Data.Tables;

/// <summary>
/// A schema plus equally long columns. Also the unit of streaming: readers yield one table per row group
/// and writers accept tables as batches.
/// </summary>
public sealed class Table
{
    public Table(Schema schema, IReadOnlyList<Column> columns)
    {
        if (schema.Count != columns.Count) throw new ArgumentException($"{schema.Count} fields but {columns.Count} columns");
        RowCount = columns.Count == 0 ? 0 : columns[0].Length;
        for (var i = 0; i < columns.Count; i++)
        {
            if (columns[i].Length != RowCount)
                throw new ArgumentException($"column '{schema[i].Name}' has {columns[i].Length} rows, expected {RowCount}");
            if (columns[i].Type != schema[i].Type)
                throw new ArgumentException($"column '{schema[i].Name}' is {columns[i].Type}, schema says {schema[i].Type}");
        }
        Schema = schema;
        Columns = columns;
    }

    public Schema Schema { get; }
    public IReadOnlyList<Column> Columns { get; }
    public int RowCount { get; }

    public Column this[string name] => Columns[Schema.IndexOf(name) is var i and >= 0 ? i : throw new KeyNotFoundException($"no column '{name}'")];

    public Table Slice(int start, int length) => new(Schema, Columns.Select(c => c.Slice(start, length)).ToArray());

    /// <summary>Consecutive slices of at most <paramref name="rows"/> rows (no copying).</summary>
    public IEnumerable<Table> Batches(int rows)
    {
        if (rows <= 0) throw new ArgumentOutOfRangeException(nameof(rows));
        for (var i = 0; i < RowCount; i += rows) yield return Slice(i, Math.Min(rows, RowCount - i));
    }

    public Table Select(params string[] names) =>
        new(new Schema(names.Select(n => Schema[Schema.IndexOf(n) is var i and >= 0 ? i : throw new KeyNotFoundException(n)])),
            names.Select(n => this[n]).ToArray());

    /// <summary>Copies several tables with the same schema into one.</summary>
    public static Table Concat(Schema schema, IEnumerable<Table> parts)
    {
        var list = parts.ToList();
        var columns = new Column[schema.Count];
        for (var c = 0; c < schema.Count; c++)
        {
            var builder = ColumnBuilder.Create(schema[c].Type, list.Sum(t => t.RowCount));
            foreach (var t in list) builder.AppendColumn(t.Columns[c]);
            columns[c] = builder.Build();
        }
        return new Table(schema, columns);
    }
}
