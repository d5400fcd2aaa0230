using Npgsql;
using NpgsqlTypes;
using Pipelines.Postgres.Sql;
using Pipelines.Storage.Artifacts;

namespace Pipelines.Postgres.Artifacts;

/// <summary>
/// What the artifact collector needs from PostgreSQL: ended, unsucceeded attempts, whether their artifacts must be
/// kept, and the marks it leaves (statements in Sql/artifact_collection.sql, tables from migration 0006).
/// </summary>
public sealed class PostgresStrayArtifacts(NpgsqlDataSource db) : IStrayArtifactSource
{
    public async Task<IReadOnlyList<EndedAttempt>> EndedAttemptsAsync(string store, DateTimeOffset endedBefore, AttemptCursor? after, int limit,
        CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("CollectEndedAttempts"));
        cmd.Parameters.AddWithValue("store", store);
        cmd.Parameters.Add(new NpgsqlParameter("ended_before", NpgsqlDbType.TimestampTz) { Value = endedBefore.UtcDateTime });
        cmd.Parameters.Add(new NpgsqlParameter("after_ended_at", NpgsqlDbType.TimestampTz) { Value = (object?)after?.EndedAt.UtcDateTime ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("after_step_run_id", NpgsqlDbType.Uuid) { Value = (object?)after?.StepRunId ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("after_attempt", NpgsqlDbType.Integer) { Value = (object?)after?.Attempt ?? DBNull.Value });
        cmd.Parameters.AddWithValue("limit", limit);
        var list = new List<EndedAttempt>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
            list.Add(new EndedAttempt(new StepAttempt(r.Get<Guid>("step_run_id"), r.Get<int>("attempt")), r.Get<string>("state"),
                r.Get<DateTimeOffset>("ended_at"), r.Get<Guid>("run_id"), r.Get<string>("step_id"), r.GetOrDefault<int?>("item_index")));
        return list;
    }

    public async Task<IReadOnlyList<AttemptArtifact>> ArtifactsOfAsync(IReadOnlyList<StepAttempt> attempts, CancellationToken ct = default)
    {
        if (attempts.Count == 0) return [];
        await using var cmd = db.CreateCommand(SqlCatalog.Get("CollectAttemptArtifacts"));
        cmd.Parameters.AddWithValue("step_run_ids", attempts.Select(a => a.StepRunId).ToArray());
        cmd.Parameters.AddWithValue("attempts", attempts.Select(a => a.Attempt).ToArray());
        var list = new List<AttemptArtifact>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
            list.Add(new AttemptArtifact(r.Get<Guid>("id"), r.Get<string>("uri"), r.Get<long>("size"),
                new StepAttempt(r.Get<Guid>("step_run_id"), r.Get<int>("attempt")), r.Get<bool>("kept"), r.Get<bool>("deleted")));
        return list;
    }

    public async Task MarkDeletedAsync(IReadOnlyList<Guid> ids, DateTimeOffset at, CancellationToken ct = default)
    {
        if (ids.Count == 0) return;
        await using var cmd = db.CreateCommand(SqlCatalog.Get("CollectMarkDeleted"));
        cmd.Parameters.AddWithValue("ids", ids.ToArray());
        cmd.Parameters.AddWithValue("at", at);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task MarkSweptAsync(string store, IReadOnlyList<AttemptSweep> sweeps, DateTimeOffset at, CancellationToken ct = default)
    {
        if (sweeps.Count == 0) return;
        await using var cmd = db.CreateCommand(SqlCatalog.Get("CollectMarkSwept"));
        cmd.Parameters.AddWithValue("store", store);
        cmd.Parameters.AddWithValue("at", at);
        cmd.Parameters.AddWithValue("step_run_ids", sweeps.Select(s => s.Attempt.StepRunId).ToArray());
        cmd.Parameters.AddWithValue("attempts", sweeps.Select(s => s.Attempt.Attempt).ToArray());
        cmd.Parameters.AddWithValue("removed", sweeps.Select(s => s.Removed).ToArray());
        cmd.Parameters.AddWithValue("removed_bytes", sweeps.Select(s => s.RemovedBytes).ToArray());
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
