using System.Globalization;
using DuckDB.NET.Data;
using Pipelines.Data.Tables;

namespace Pipelines.Data.Tests;

/// <summary>
/// DuckDB (DuckDB.NET.Data.Full, in process) as the reference Parquet reader and writer. Each call opens its own
/// in-memory database with one thread, so tests stay independent and DuckDB's parallelism does not compete with
/// the test run for the machine's cores.
/// </summary>
public static class DuckDbPeer
{
    public static readonly string RepoRoot = FindRoot();
    public static readonly string ParquetTesting = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "parquet-testing"));
    public static readonly string Adult = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "datasets", "adult"));

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Pipelines.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("cannot find the repository root");
    }

    public sealed record DuckColumn(string Name, string Type, bool Nested, List<string?> Values);

    public static DuckDBConnection Connect()
    {
        var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        Execute(connection, "SET threads TO 1");
        return connection;
    }

    public static void Execute(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static List<string?[]> Query(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string?[]>();
        while (reader.Read())
        {
            var row = new string?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture);
            rows.Add(row);
        }
        return rows;
    }

    public static string Quote(string s) => "'" + s.Replace("'", "''") + "'";
    private static string Ident(string s) => "\"" + s.Replace("\"", "\"\"") + "\"";

    /// <summary>DuckDB's values of every column of a Parquet file (or only <paramref name="columns"/>).</summary>
    public static List<DuckColumn> Dump(string parquetFile, IReadOnlyCollection<string>? columns = null) =>
        DumpSource($"read_parquet({Quote(parquetFile)})", columns);

    /// <summary>DuckDB's values of any table expression, e.g. <c>read_csv('x.csv', nullstr='?')</c>, in the canonical text form <see cref="Canonical"/> gives ours.</summary>
    public static List<DuckColumn> DumpSource(string tableExpression, IReadOnlyCollection<string>? columns = null)
    {
        using var connection = Connect();
        var described = Query(connection, $"DESCRIBE SELECT * FROM {tableExpression}");
        var result = new List<DuckColumn>();
        foreach (var d in described)
        {
            var (name, type) = (d[0]!, d[1]!);
            if (columns is not null && !columns.Contains(name)) continue;
            if (IsNested(type)) { result.Add(new DuckColumn(name, type, true, [])); continue; }
            var values = Query(connection, $"SELECT {CanonicalExpression(Ident(name), type)} FROM {tableExpression}").Select(r => r[0]).ToList();
            result.Add(new DuckColumn(name, type, false, values));
        }
        return result;
    }

    private static bool IsNested(string type) =>
        type.Contains("STRUCT", StringComparison.Ordinal) || type.Contains("[]", StringComparison.Ordinal) ||
        type.Contains("MAP", StringComparison.Ordinal) || type.Contains("UNION", StringComparison.Ordinal);

    /// <summary>SQL turning a value of DuckDB type <paramref name="type"/> into our canonical text (see <see cref="Canonical"/>).</summary>
    private static string CanonicalExpression(string e, string type)
    {
        if (type is "FLOAT" or "DOUBLE") return $"CASE WHEN isnan({e}) THEN 'NaN' ELSE CAST(CAST({e} AS DOUBLE) AS VARCHAR) END";
        // Nanoseconds since the epoch, computed in 128 bits from the type's own unit: epoch_ns overflows past 2262.
        if (type == "TIMESTAMP_MS") return $"CAST(CAST(epoch_ms({e}) AS HUGEINT) * 1000000 AS VARCHAR)";
        if (type is "TIMESTAMP" or "TIMESTAMP WITH TIME ZONE") return $"CAST(CAST(epoch_us({e}) AS HUGEINT) * 1000 AS VARCHAR)";
        if (type.StartsWith("TIMESTAMP", StringComparison.Ordinal) || type.StartsWith("TIME", StringComparison.Ordinal)) return $"CAST(epoch_ns({e}) AS VARCHAR)";
        if (type == "DATE") return $"CAST({e} - DATE '1970-01-01' AS VARCHAR)";
        if (type == "BLOB") return $"hex({e})";
        if (type == "BOOLEAN") return $"CASE WHEN {e} THEN 'true' WHEN NOT {e} THEN 'false' END";
        return $"CAST({e} AS VARCHAR)";
    }

    public sealed record DuckStats(string? Min, string? Max, long Nulls);

    /// <summary>Min, max and null count of each column computed by DuckDB from the data (not from the footer).</summary>
    public static Dictionary<string, DuckStats> Stats(string parquetFile, IEnumerable<string> columns)
    {
        using var connection = Connect();
        var src = $"read_parquet({Quote(parquetFile)})";
        var types = Query(connection, $"DESCRIBE SELECT * FROM {src}").ToDictionary(r => r[0]!, r => r[1]!);
        var result = new Dictionary<string, DuckStats>();
        foreach (var c in columns)
        {
            var q = Ident(c);
            // Strings order by bytes in Parquet; DuckDB's default collation is binary too.
            var row = Query(connection, $"SELECT {CanonicalExpression($"min({q})", types[c])}, {CanonicalExpression($"max({q})", types[c])}, CAST(count(*) - count({q}) AS VARCHAR) FROM {src}")[0];
            result[c] = new DuckStats(row[0], row[1], long.Parse(row[2]!, CultureInfo.InvariantCulture));
        }
        return result;
    }

    /// <summary>Writes the result of <paramref name="select"/> to a Parquet file with DuckDB.</summary>
    /// <param name="extra">more COPY options, e.g. <c>PARQUET_VERSION V2</c></param>
    public static void Write(string path, string codec, string select, int? rowGroupSize = null, string extra = "")
    {
        using var connection = Connect();
        var options = $"FORMAT PARQUET, COMPRESSION {codec}" + (rowGroupSize is { } rg ? $", ROW_GROUP_SIZE {rg}" : "") + (extra.Length > 0 ? $", {extra}" : "");
        Execute(connection, $"COPY ({select}) TO {Quote(path)} ({options})");
    }

    /// <summary>Our value of row <paramref name="i"/> in the canonical form DuckDB's values are dumped in.</summary>
    public static string? Canonical(Column c, int i)
    {
        if (c.IsNull(i)) return null;
        var t = c.Type;
        switch (t.Kind)
        {
            case TypeKind.Timestamp or TypeKind.Time:
            {
                var raw = ((PrimitiveColumn<long>)c)[i];
                var ns = t.Unit switch { TimeUnit.Millis => (Int128)raw * 1_000_000, TimeUnit.Micros => (Int128)raw * 1000, _ => raw };
                return ns.ToString(CultureInfo.InvariantCulture);
            }
            case TypeKind.Date: return ((PrimitiveColumn<int>)c)[i].ToString(CultureInfo.InvariantCulture);
            case TypeKind.Float32: return CanonicalDouble(((PrimitiveColumn<float>)c)[i]);
            case TypeKind.Float64: return CanonicalDouble(((PrimitiveColumn<double>)c)[i]);
            case TypeKind.Binary: return Convert.ToHexString(((BinaryColumn)c).GetBytes(i));
            default: return c.Format(i);
        }
    }

    private static string CanonicalDouble(double d) => double.IsNaN(d) ? "NaN" : d.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Compares expected (DuckDB) and actual canonical values; doubles by value, the rest as text.</summary>
    public static bool SameValue(string? expected, string? actual, TypeKind kind)
    {
        if (expected is null || actual is null) return expected == actual;
        if (kind is TypeKind.Float32 or TypeKind.Float64)
        {
            if (expected == "NaN" || actual == "NaN") return expected == actual;
            return ParseDouble(expected) == ParseDouble(actual);
        }
        return expected == actual;
    }

    private static double ParseDouble(string s) => s switch
    {
        "inf" or "Infinity" or "∞" => double.PositiveInfinity,
        "-inf" or "-Infinity" or "-∞" => double.NegativeInfinity,
        _ => double.Parse(s, CultureInfo.InvariantCulture),
    };

    public static void AssertColumnMatches(DuckColumn expected, Column actual, string context, string peer = "DuckDB")
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Values.Count), $"{context}: row count of {expected.Name}");
        for (var i = 0; i < actual.Length; i++)
        {
            var a = Canonical(actual, i);
            if (!SameValue(expected.Values[i], a, actual.Type.Kind))
                Assert.Fail($"{context}: column {expected.Name} ({expected.Type} vs {actual.Type}) row {i}: {peer} '{expected.Values[i] ?? "NULL"}', ours '{a ?? "NULL"}'");
        }
    }
}
