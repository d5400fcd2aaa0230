using Pipelines.Data.Tables;

namespace Pipelines.Ml;

/// <summary>Row selection and column helpers over <see cref="Table"/> used by splits and feature steps.</summary>
public static class TableOps
{
    /// <summary>A new table holding the given rows, in the given order.</summary>
    public static Table Take(Table table, IReadOnlyList<int> rows) =>
        new(table.Schema, table.Columns.Select(c => Take(c, rows)).ToArray());

    public static Column Take(Column c, IReadOnlyList<int> rows) => c switch
    {
        PrimitiveColumn<bool> x => Gather(x, rows),
        PrimitiveColumn<sbyte> x => Gather(x, rows),
        PrimitiveColumn<short> x => Gather(x, rows),
        PrimitiveColumn<int> x => Gather(x, rows),
        PrimitiveColumn<long> x => Gather(x, rows),
        PrimitiveColumn<byte> x => Gather(x, rows),
        PrimitiveColumn<ushort> x => Gather(x, rows),
        PrimitiveColumn<uint> x => Gather(x, rows),
        PrimitiveColumn<ulong> x => Gather(x, rows),
        PrimitiveColumn<float> x => Gather(x, rows),
        PrimitiveColumn<double> x => Gather(x, rows),
        PrimitiveColumn<Int128> x => Gather(x, rows),
        BinaryColumn b => GatherBinary(b, rows),
        _ => throw new NotSupportedException($"column type {c.Type}"),
    };

    private static Column Gather<T>(PrimitiveColumn<T> c, IReadOnlyList<int> rows) where T : unmanaged
    {
        var values = new T[rows.Count];
        bool[]? validity = c.NullCount > 0 ? new bool[rows.Count] : null;
        var src = c.Values;
        for (var i = 0; i < rows.Count; i++)
        {
            values[i] = src[rows[i]];
            if (validity is not null) validity[i] = !c.IsNull(rows[i]);
        }
        return new PrimitiveColumn<T>(c.Type, values, validity, rows.Count);
    }

    private static Column GatherBinary(BinaryColumn c, IReadOnlyList<int> rows)
    {
        var b = new BinaryBuilder(c.Type, rows.Count);
        foreach (var r in rows)
            if (c.IsNull(r)) b.AppendNull(); else b.Append(c.GetBytes(r));
        return b.Build();
    }

    public static Column Doubles(double[] values) => new PrimitiveColumn<double>(DataType.Float64, values, null, values.Length);

    public static Column Strings(IReadOnlyList<string?> values)
    {
        var b = new BinaryBuilder(DataType.String, values.Count);
        foreach (var v in values)
            if (v is null) b.AppendNull(); else b.Append(v);
        return b.Build();
    }

    /// <summary>Each row's value as invariant text (null for nulls): category keys for strings, integers, bools.</summary>
    public static string?[] Texts(Column c)
    {
        var result = new string?[c.Length];
        if (c is BinaryColumn b && b.Type.Kind == TypeKind.String)
        {
            // Categories repeat: decode each distinct byte sequence once.
            var cache = new Dictionary<int, List<(byte[] Bytes, string Text)>>();
            for (var i = 0; i < result.Length; i++)
            {
                if (b.IsNull(i)) continue;
                var bytes = b.GetBytes(i);
                var h = HashCode.Combine(bytes.Length, bytes.Length > 0 ? bytes[0] : 0, bytes.Length > 1 ? bytes[^1] : 0);
                if (!cache.TryGetValue(h, out var list)) cache[h] = list = new();
                string? found = null;
                foreach (var (k, t) in list) if (bytes.SequenceEqual(k)) { found = t; break; }
                if (found is null)
                {
                    found = System.Text.Encoding.UTF8.GetString(bytes);
                    list.Add((bytes.ToArray(), found));
                }
                result[i] = found;
            }
            return result;
        }
        for (var i = 0; i < result.Length; i++) result[i] = c.Format(i);
        return result;
    }
}

/// <summary>A mutable list of named columns used while a pipeline rewrites a table.</summary>
internal sealed class TableBuilder
{
    private readonly List<(string Name, Column Column)> _columns;

    public TableBuilder(Table t) => _columns = t.Schema.Fields.Select((f, i) => (f.Name, t.Columns[i])).ToList();

    public int RowCount => _columns.Count == 0 ? 0 : _columns[0].Column.Length;
    public IEnumerable<string> Names => _columns.Select(c => c.Name);

    public int IndexOf(string name) => _columns.FindIndex(c => c.Name == name);

    public Column Get(string name, string step) =>
        IndexOf(name) is var i and >= 0 ? _columns[i].Column
            : throw new ColumnMismatchException(name, $"column '{name}' is missing (needed by feature step '{step}')");

    public void Set(string name, Column c)
    {
        var i = IndexOf(name);
        if (i >= 0) _columns[i] = (name, c); else _columns.Add((name, c));
    }

    /// <summary>Inserts columns right after <paramref name="after"/> (or at the end).</summary>
    public void InsertAfter(string after, IEnumerable<(string Name, Column Column)> columns)
    {
        var i = IndexOf(after);
        var list = columns.ToList();
        foreach (var (n, _) in list) if (IndexOf(n) >= 0) throw new InvalidOperationException($"feature column '{n}' already exists");
        if (i < 0) _columns.AddRange(list); else _columns.InsertRange(i + 1, list);
    }

    public void Remove(string name)
    {
        var i = IndexOf(name);
        if (i >= 0) _columns.RemoveAt(i);
    }

    public void Rename(string from, string to)
    {
        var i = IndexOf(from);
        if (IndexOf(to) >= 0) throw new InvalidOperationException($"cannot rename '{from}' to '{to}': a column '{to}' exists");
        _columns[i] = (to, _columns[i].Column);
    }

    public void Keep(IReadOnlyList<string> names, string step)
    {
        var kept = names.Select(n => (n, Get(n, step))).ToList();
        _columns.Clear();
        _columns.AddRange(kept);
    }

    public Table Build() => new(new Schema(_columns.Select(c => new Field(c.Name, c.Column.Type))), _columns.Select(c => c.Column).ToArray());
}
