using Pipelines.Core.Monitoring;
using Npgsql;
using NpgsqlTypes;
using Pipelines.Postgres.Sql;

namespace Pipelines.Postgres.Monitoring;

/// <summary>The monitoring time series in PostgreSQL (migration 0060), shared by every worker on the database.</summary>
public sealed class PostgresMonitorStore(NpgsqlDataSource db) : IMonitorStore
{
    public async Task SaveReferenceAsync(MonitorReference reference, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("MonitorSaveReference"));
        Key(cmd, reference.Monitor, reference.RunId, reference.StepId);
        cmd.Parameters.AddWithValue("at", reference.CreatedAt);
        cmd.Parameters.Add(new NpgsqlParameter("model", NpgsqlDbType.Text) { Value = (object?)reference.Model ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("profile", NpgsqlDbType.Jsonb) { Value = reference.ProfileJson });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<MonitorReference?> LatestReferenceAsync(string monitor, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("MonitorLatestReference"));
        cmd.Parameters.AddWithValue("monitor", monitor);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        if (!await r.ReadAsync(ct)) return null;
        return new MonitorReference(r.GetString(0), r.GetGuid(1), r.GetString(2), r.GetFieldValue<DateTimeOffset>(3),
            r.IsDBNull(4) ? null : r.GetString(4), r.GetString(5));
    }

    public async Task RecordBatchAsync(MonitorBatch batch, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("MonitorRecordBatch"));
        Key(cmd, batch.Monitor, batch.RunId, batch.StepId);
        cmd.Parameters.AddWithValue("batch", batch.Batch);
        cmd.Parameters.AddWithValue("at", batch.RecordedAt);
        cmd.Parameters.AddWithValue("rows", batch.Rows);
        cmd.Parameters.AddWithValue("verdict", batch.Verdict);
        cmd.Parameters.Add(new NpgsqlParameter("max_psi", NpgsqlDbType.Double) { Value = (object?)batch.MaxPsi ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("prediction_psi", NpgsqlDbType.Double) { Value = (object?)batch.PredictionPsi ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("result", NpgsqlDbType.Jsonb) { Value = batch.ResultJson });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<IReadOnlyList<MonitorBatch>> RecentBatchesAsync(string monitor, int count, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("MonitorRecentBatches"));
        cmd.Parameters.AddWithValue("monitor", monitor);
        cmd.Parameters.AddWithValue("count", Math.Max(count, 0));
        var result = new List<MonitorBatch>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
            result.Add(new MonitorBatch(r.GetString(0), r.GetGuid(1), r.GetString(2), r.GetString(3), r.GetFieldValue<DateTimeOffset>(4),
                r.GetInt64(5), r.GetString(6), r.IsDBNull(7) ? null : r.GetDouble(7), r.IsDBNull(8) ? null : r.GetDouble(8), r.GetString(9)));
        return result;
    }

    public async Task RecordRealizedAsync(IReadOnlyList<RealizedMetrics> rows, CancellationToken ct = default)
    {
        // All slices of a join or none: a report never shows a batch with half its slices.
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        foreach (var row in rows)
        {
            await using var cmd = new NpgsqlCommand(SqlCatalog.Get("MonitorRecordRealized"), conn, tx);
            Key(cmd, row.Monitor, row.RunId, row.StepId);
            cmd.Parameters.AddWithValue("batch", row.Batch);
            cmd.Parameters.AddWithValue("slice", row.Slice);
            cmd.Parameters.AddWithValue("at", row.RecordedAt);
            cmd.Parameters.AddWithValue("predictions", row.Predictions);
            cmd.Parameters.AddWithValue("labelled", row.Labelled);
            cmd.Parameters.Add(new NpgsqlParameter("metrics", NpgsqlDbType.Jsonb) { Value = row.MetricsJson });
            await cmd.ExecuteNonQueryAsync(ct);
        }
        await tx.CommitAsync(ct);
    }

    public async Task<IReadOnlyList<RealizedMetrics>> RealizedAsync(string monitor, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("MonitorRealized"));
        cmd.Parameters.AddWithValue("monitor", monitor);
        var result = new List<RealizedMetrics>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
            result.Add(new RealizedMetrics(r.GetString(0), r.GetGuid(1), r.GetString(2), r.GetString(3), r.GetString(4),
                r.GetFieldValue<DateTimeOffset>(5), r.GetInt64(6), r.GetInt64(7), r.GetString(8)));
        return result;
    }

    public async Task RecordChallengerBatchAsync(ChallengerBatch batch, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("ChallengerRecordBatch"));
        Key(cmd, batch.Monitor, batch.RunId, batch.StepId);
        cmd.Parameters.AddWithValue("batch", batch.Batch);
        cmd.Parameters.AddWithValue("at", batch.RecordedAt);
        cmd.Parameters.AddWithValue("champion_version", batch.ChampionVersion);
        cmd.Parameters.AddWithValue("challenger_version", batch.ChallengerVersion);
        cmd.Parameters.AddWithValue("rows", batch.Rows);
        cmd.Parameters.AddWithValue("agreement", batch.Agreement);
        cmd.Parameters.Add(new NpgsqlParameter("prediction_psi", NpgsqlDbType.Double) { Value = (object?)batch.PredictionPsi ?? DBNull.Value });
        cmd.Parameters.AddWithValue("labelled", batch.Labelled);
        cmd.Parameters.Add(new NpgsqlParameter("champion_metrics", NpgsqlDbType.Jsonb) { Value = (object?)batch.ChampionMetricsJson ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("challenger_metrics", NpgsqlDbType.Jsonb) { Value = (object?)batch.ChallengerMetricsJson ?? DBNull.Value });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<int> RecordChallengerRealizedAsync(string monitor, Guid runId, string championVersion, string challengerVersion, long labelled,
        string championMetricsJson, string challengerMetricsJson, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("ChallengerRecordRealized"));
        cmd.Parameters.AddWithValue("monitor", monitor);
        cmd.Parameters.AddWithValue("run_id", runId);
        cmd.Parameters.AddWithValue("champion_version", championVersion);
        cmd.Parameters.AddWithValue("challenger_version", challengerVersion);
        cmd.Parameters.AddWithValue("labelled", labelled);
        cmd.Parameters.Add(new NpgsqlParameter("champion_metrics", NpgsqlDbType.Jsonb) { Value = championMetricsJson });
        cmd.Parameters.Add(new NpgsqlParameter("challenger_metrics", NpgsqlDbType.Jsonb) { Value = challengerMetricsJson });
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<IReadOnlyList<ChallengerBatch>> ChallengerBatchesAsync(string monitor, string championVersion, string challengerVersion, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("ChallengerBatches"));
        cmd.Parameters.AddWithValue("monitor", monitor);
        cmd.Parameters.AddWithValue("champion_version", championVersion);
        cmd.Parameters.AddWithValue("challenger_version", challengerVersion);
        var result = new List<ChallengerBatch>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
            result.Add(new ChallengerBatch(r.GetString(0), r.GetGuid(1), r.GetString(2), r.GetString(3), r.GetFieldValue<DateTimeOffset>(4),
                r.GetString(5), r.GetString(6), r.GetInt64(7), r.GetDouble(8), r.IsDBNull(9) ? null : r.GetDouble(9), r.GetInt64(10),
                r.IsDBNull(11) ? null : r.GetString(11), r.IsDBNull(12) ? null : r.GetString(12)));
        return result;
    }

    public async Task<TriggerClaim> ClaimTriggerAsync(string dedupKey, DateTimeOffset windowStart, Guid runId, string stepId, string workflow, string paramsJson,
        string? reason, DateTimeOffset now, CancellationToken ct = default)
    {
        // A claim that loses to a concurrent one waits for it, skips its insert, and then cannot see the winner's row in
        // the statement's snapshot (taken before the winner committed); the repeated statement sees it.
        for (var round = 0; round < 3; round++)
        {
            await using var cmd = db.CreateCommand(SqlCatalog.Get("TriggerClaim"));
            TriggerKey(cmd, dedupKey, windowStart, runId, stepId);
            cmd.Parameters.AddWithValue("workflow", workflow);
            cmd.Parameters.Add(new NpgsqlParameter("params", NpgsqlDbType.Jsonb) { Value = paramsJson });
            cmd.Parameters.Add(new NpgsqlParameter("reason", NpgsqlDbType.Text) { Value = (object?)reason ?? DBNull.Value });
            cmd.Parameters.AddWithValue("now", now);
            await using var r = await cmd.ExecuteReaderAsync(ct);
            if (await r.ReadAsync(ct)) return new TriggerClaim(r.GetGuid(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetGuid(2));
        }
        throw new InvalidOperationException($"trigger '{dedupKey}' at {windowStart:O}: no claim after three attempts (claims released as fast as they are made)");
    }

    public async Task MarkTriggerStartedAsync(string dedupKey, DateTimeOffset windowStart, Guid runId, string stepId, Guid startedRunId, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("TriggerStarted"));
        TriggerKey(cmd, dedupKey, windowStart, runId, stepId);
        cmd.Parameters.AddWithValue("started_run_id", startedRunId);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task ReleaseTriggerAsync(string dedupKey, DateTimeOffset windowStart, Guid runId, string stepId, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("TriggerRelease"));
        TriggerKey(cmd, dedupKey, windowStart, runId, stepId);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static void TriggerKey(NpgsqlCommand cmd, string dedupKey, DateTimeOffset windowStart, Guid runId, string stepId)
    {
        cmd.Parameters.AddWithValue("dedup_key", dedupKey);
        cmd.Parameters.AddWithValue("window_start", windowStart);
        cmd.Parameters.AddWithValue("run_id", runId);
        cmd.Parameters.AddWithValue("step_id", stepId);
    }

    private static void Key(NpgsqlCommand cmd, string monitor, Guid runId, string stepId)
    {
        cmd.Parameters.AddWithValue("monitor", monitor);
        cmd.Parameters.AddWithValue("run_id", runId);
        cmd.Parameters.AddWithValue("step_id", stepId);
    }
}
