using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using Pipelines.Postgres.Sql;

namespace Pipelines.Postgres.Engine;

/// <summary>Small helpers around Npgsql: named statements, JSON parameters, retried transactions.</summary>
internal static class Db
{
    public static NpgsqlCommand Cmd(NpgsqlConnection conn, NpgsqlTransaction? tx, string name, params (string Name, object? Value)[] args)
    {
        var cmd = new NpgsqlCommand(SqlCatalog.Get(name), conn, tx);
        foreach (var (n, v) in args) cmd.Parameters.Add(Param(n, v));
        return cmd;
    }

    public static NpgsqlBatchCommand BatchCmd(string name, params (string Name, object? Value)[] args)
    {
        var cmd = new NpgsqlBatchCommand(SqlCatalog.Get(name));
        foreach (var (n, v) in args) cmd.Parameters.Add(Param(n, v));
        return cmd;
    }

    public static NpgsqlParameter Param(string name, object? value) => value switch
    {
        JsonNode node => new NpgsqlParameter(name, NpgsqlDbType.Jsonb) { Value = node.ToJsonString() },
        null => new NpgsqlParameter(name, DBNull.Value),
        _ => new NpgsqlParameter(name, value),
    };

    public static NpgsqlParameter Jsonb(string name, string? json) =>
        new(name, NpgsqlDbType.Jsonb) { Value = (object?)json ?? DBNull.Value };

    public static NpgsqlParameter Typed(string name, NpgsqlDbType type, object? value) =>
        new(name, type) { Value = value ?? DBNull.Value };

    public static async Task<int> ExecAsync(this NpgsqlCommand cmd, CancellationToken ct)
    {
        await using (cmd) return await cmd.ExecuteNonQueryAsync(ct);
    }

    public static JsonObject? ReadObject(this NpgsqlDataReader r, int i) =>
        r.IsDBNull(i) ? null : JsonNode.Parse(r.GetString(i)) as JsonObject;

    public static JsonNode? ReadJson(this NpgsqlDataReader r, int i) =>
        r.IsDBNull(i) ? null : JsonNode.Parse(r.GetString(i));

    public static string? ReadStringOrNull(this NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    public static DateTimeOffset? ReadTimeOrNull(this NpgsqlDataReader r, int i) =>
        r.IsDBNull(i) ? null : new DateTimeOffset(r.GetDateTime(i), TimeSpan.Zero);

    public static DateTimeOffset ReadTime(this NpgsqlDataReader r, int i) => new(r.GetDateTime(i), TimeSpan.Zero);

    // By column name (see RowReading); the ordinal forms above serve loops that resolve ordinals once per result set.
    public static JsonObject? ReadObject(this NpgsqlDataReader r, string column) => r.ReadObject(r.Ordinal(column));
    public static JsonNode? ReadJson(this NpgsqlDataReader r, string column) => r.ReadJson(r.Ordinal(column));
    public static string? ReadStringOrNull(this NpgsqlDataReader r, string column) => r.ReadStringOrNull(r.Ordinal(column));
    public static DateTimeOffset? ReadTimeOrNull(this NpgsqlDataReader r, string column) => r.ReadTimeOrNull(r.Ordinal(column));
    public static DateTimeOffset ReadTime(this NpgsqlDataReader r, string column) => r.ReadTime(r.Ordinal(column));

    /// <summary>
    /// Runs <paramref name="work"/> in a transaction, retrying when PostgreSQL aborts it for a deadlock or a
    /// serialisation failure (the work saw nothing committed, so running it again is safe).
    /// </summary>
    public static async Task<T> InTransactionAsync<T>(NpgsqlDataSource db, Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var conn = await db.OpenConnectionAsync(ct);
            await using var tx = await conn.BeginTransactionAsync(ct);
            try
            {
                var result = await work(conn, tx);
                await tx.CommitAsync(ct);
                return result;
            }
            catch (PostgresException e) when (attempt < 5 && e.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure)
            {
                await Task.Delay(Random.Shared.Next(5, 50) * attempt, ct);
            }
        }
    }
}
