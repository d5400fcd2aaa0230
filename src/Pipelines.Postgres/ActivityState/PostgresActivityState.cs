using Pipelines.Core.Activities.State;
using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using Pipelines.Postgres.Sql;

namespace Pipelines.Postgres.ActivityState;

/// <summary>
/// Small JSON values activities keep between runs (migration 0005), such as an incremental ingest's watermark.
/// An attempt <see cref="ProposeAsync">proposes</see> a value; <see cref="LatestAsync"/> only returns values of
/// attempts that succeeded, so state advances together with the step's committed outputs and never ahead of them.
/// </summary>
public sealed class PostgresActivityState(NpgsqlDataSource db, TimeProvider? time = null) : IWatermarkStore
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public async Task<JsonNode?> LatestAsync(string key, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("ActivityStateLatest"));
        cmd.Parameters.AddWithValue("key", key);
        return await cmd.ExecuteScalarAsync(ct) is string json ? JsonNode.Parse(json) : null;
    }

    public async Task ProposeAsync(string key, Guid stepRunId, int attempt, JsonNode value, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("ActivityStatePropose"));
        cmd.Parameters.AddWithValue("key", key);
        cmd.Parameters.AddWithValue("step_run_id", stepRunId);
        cmd.Parameters.AddWithValue("attempt", attempt);
        cmd.Parameters.AddWithValue("value", NpgsqlDbType.Text, value.ToJsonString());
        cmd.Parameters.AddWithValue("recorded_at", _time.GetUtcNow());
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
