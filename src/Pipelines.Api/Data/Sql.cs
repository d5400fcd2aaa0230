using NpgsqlTypes;

namespace Pipelines.Api.Data;

/// <summary>Small helpers for the API's own statements (parameterised; no string-built SQL from input).</summary>
internal static class Sql
{
    public static NpgsqlCommand Cmd(NpgsqlConnection conn, string sql, NpgsqlTransaction? tx = null, params (string Name, object? Value)[] args)
    {
        var cmd = new NpgsqlCommand(sql, conn, tx);
        foreach (var (n, v) in args) cmd.Parameters.Add(Param(n, v));
        return cmd;
    }

    public static NpgsqlParameter Param(string name, object? value) => value switch
    {
        JsonNode node => new NpgsqlParameter(name, NpgsqlDbType.Jsonb) { Value = node.ToJsonString() },
        null => new NpgsqlParameter(name, DBNull.Value),
        _ => new NpgsqlParameter(name, value),
    };

    public static NpgsqlParameter Text(string name, string? value) => new(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value };
    public static NpgsqlParameter Time(string name, DateTimeOffset? value) =>
        new(name, NpgsqlDbType.TimestampTz) { Value = value is { } v ? v.UtcDateTime : DBNull.Value };
    public static NpgsqlParameter Uuid(string name, Guid? value) => new(name, NpgsqlDbType.Uuid) { Value = (object?)value ?? DBNull.Value };
    public static NpgsqlParameter Long(string name, long? value) => new(name, NpgsqlDbType.Bigint) { Value = (object?)value ?? DBNull.Value };

    public static DateTimeOffset? TimeOrNull(this NpgsqlDataReader r, int i) =>
        r.IsDBNull(i) ? null : new DateTimeOffset(DateTime.SpecifyKind(r.GetDateTime(i), DateTimeKind.Utc));
    public static DateTimeOffset TimeAt(this NpgsqlDataReader r, int i) => new(DateTime.SpecifyKind(r.GetDateTime(i), DateTimeKind.Utc));
    public static string? StringOrNull(this NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);
    public static JsonNode? JsonOrNull(this NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : JsonNode.Parse(r.GetString(i));
    public static int? IntOrNull(this NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetInt32(i);

    // By column name, so a reordered SELECT cannot read the wrong column (issue 14).
    public static DateTimeOffset? TimeOrNull(this NpgsqlDataReader r, string column) => r.TimeOrNull(r.Ordinal(column));
    public static DateTimeOffset TimeAt(this NpgsqlDataReader r, string column) => r.TimeAt(r.Ordinal(column));
    public static string? StringOrNull(this NpgsqlDataReader r, string column) => r.StringOrNull(r.Ordinal(column));
    public static JsonNode? JsonOrNull(this NpgsqlDataReader r, string column) => r.JsonOrNull(r.Ordinal(column));
    public static int? IntOrNull(this NpgsqlDataReader r, string column) => r.IntOrNull(r.Ordinal(column));

    public static async Task<List<T>> ListAsync<T>(NpgsqlDataSource db, string sql, Func<NpgsqlDataReader, T> read, CancellationToken ct,
        params NpgsqlParameter[] args)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand(sql, conn);
        cmd.Parameters.AddRange(args);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<T>();
        while (await r.ReadAsync(ct)) list.Add(read(r));
        return list;
    }

    public static async Task<int> ExecAsync(NpgsqlDataSource db, string sql, CancellationToken ct, params NpgsqlParameter[] args)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand(sql, conn);
        cmd.Parameters.AddRange(args);
        return await cmd.ExecuteNonQueryAsync(ct);
    }
}
