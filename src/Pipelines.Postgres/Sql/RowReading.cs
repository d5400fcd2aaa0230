using System.Data.Common;

namespace Pipelines.Postgres.Sql;

/// <summary>
/// Reads result columns by name rather than by position, so that reordering or extending a SELECT cannot
/// silently read the wrong column (issue 14). Every SELECT read this way names (aliases) each column it returns.
/// </summary>
/// <remarks>
/// Resolving a name costs a lookup per call; loops over many rows on a hot path resolve their ordinals once per
/// result set with <see cref="Ordinal"/> and read by ordinal inside the loop.
/// </remarks>
public static class RowReading
{
    /// <summary>The position of <paramref name="column"/>, or an error naming the missing column and the columns the result has.</summary>
    public static int Ordinal(this DbDataReader r, string column)
    {
        try
        {
            return r.GetOrdinal(column);
        }
        catch (IndexOutOfRangeException)
        {
            // Npgsql reports a missing column as "Field not found in row"; say which one and what the query returned instead.
            throw new MissingColumnException(column, Columns(r));
        }
    }

    /// <summary>The non-null value of <paramref name="column"/>; a NULL is an error naming the column.</summary>
    public static T Get<T>(this DbDataReader r, string column)
    {
        var i = r.Ordinal(column);
        if (r.IsDBNull(i)) throw new InvalidCastException($"column '{column}' is NULL where a value of type {typeof(T).Name} was expected");
        return r.GetFieldValue<T>(i);
    }

    /// <summary>
    /// The value of <paramref name="column"/>, or <c>default</c> when it is NULL. For value types ask for the
    /// nullable type (<c>GetOrDefault&lt;int?&gt;</c>) to get <c>null</c> rather than zero.
    /// </summary>
    public static T? GetOrDefault<T>(this DbDataReader r, string column)
    {
        var i = r.Ordinal(column);
        return r.IsDBNull(i) ? default : r.GetFieldValue<T>(i);
    }

    private static string[] Columns(DbDataReader r)
    {
        var names = new string[r.FieldCount];
        for (var i = 0; i < names.Length; i++) names[i] = r.GetName(i);
        return names;
    }
}

/// <summary>A row was read by a column name that its query does not return.</summary>
public sealed class MissingColumnException(string column, IReadOnlyList<string> columns)
    : InvalidOperationException($"the query returns no column named '{column}' (it returns: {string.Join(", ", columns)}); alias the column in the SELECT")
{
    public string Column { get; } = column;
    public IReadOnlyList<string> Columns { get; } = columns;
}
