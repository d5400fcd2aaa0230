using Pipelines.Core.Activities.State;
using Npgsql;
using Pipelines.Postgres.Sql;

namespace Pipelines.Postgres.ActivityState;

/// <summary>
/// The MLflow parent runs (recorded once per tracking server, pipeline run and experiment in activity_once) whose
/// pipeline run has ended and that nobody has closed yet; closing one is recorded beside it, once.
/// </summary>
public sealed class PostgresParentRuns(NpgsqlDataSource db, TimeProvider? time = null) : IParentRunRecords
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Ended and not closed, oldest first; <paramref name="prefix"/> is <c>mlflow.parent_run/SERVER/</c>.</summary>
    public async Task<IReadOnlyList<EndedParentRun>> EndedAsync(string prefix, int limit, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("ParentRunsEnded"));
        cmd.Parameters.AddWithValue("prefix", prefix);
        cmd.Parameters.AddWithValue("prefix_like", prefix.Replace(@"\", @"\\").Replace("%", @"\%").Replace("_", @"\_") + "%");
        cmd.Parameters.AddWithValue("limit", limit);
        var result = new List<EndedParentRun>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
            result.Add(new EndedParentRun(r.Get<string>("key"), r.Get<string>("value"), r.Get<string>("state"), r.GetOrDefault<string>("error"),
                r.Get<DateTimeOffset>("finalized_at"), r.Get<string>("created_by")));
        return result;
    }

    /// <summary>The tracking servers (as in the keys: <c>built-in</c> or an address) holding parent runs to close.</summary>
    public async Task<IReadOnlyList<string>> ServersWithEndedAsync(CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("ParentRunServersEnded"));
        var result = new List<string>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
            if (r.GetOrDefault<string>("server") is { } server) result.Add(server);
        return result;
    }

    public async Task MarkClosedAsync(string key, string status, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("ParentRunClosed"));
        cmd.Parameters.AddWithValue("key", key);
        cmd.Parameters.AddWithValue("status", status);
        cmd.Parameters.AddWithValue("closed_at", _time.GetUtcNow());
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
