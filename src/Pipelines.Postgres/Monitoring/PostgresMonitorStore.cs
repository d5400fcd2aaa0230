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
        return new MonitorReference(r.Get<string>("monitor"), r.Get<Guid>("run_id"), r.Get<string>("step_id"), r.Get<DateTimeOffset>("created_at"),
            r.GetOrDefault<string>("model"), r.Get<string>("profile"));
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
            result.Add(new MonitorBatch(r.Get<string>("monitor"), r.Get<Guid>("run_id"), r.Get<string>("step_id"), r.Get<string>("batch"),
                r.Get<DateTimeOffset>("recorded_at"), r.Get<long>("rows"), r.Get<string>("verdict"), r.GetOrDefault<double?>("max_psi"),
                r.GetOrDefault<double?>("prediction_psi"), r.Get<string>("result")));
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
            result.Add(new RealizedMetrics(r.Get<string>("monitor"), r.Get<Guid>("run_id"), r.Get<string>("step_id"), r.Get<string>("batch"),
                r.Get<string>("slice"), r.Get<DateTimeOffset>("recorded_at"), r.Get<long>("predictions"), r.Get<long>("labelled"), r.Get<string>("metrics")));
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
            result.Add(new ChallengerBatch(r.Get<string>("monitor"), r.Get<Guid>("run_id"), r.Get<string>("step_id"), r.Get<string>("batch"),
                r.Get<DateTimeOffset>("recorded_at"), r.Get<string>("champion_version"), r.Get<string>("challenger_version"), r.Get<long>("rows"),
                r.Get<double>("agreement"), r.GetOrDefault<double?>("prediction_psi"), r.Get<long>("labelled"),
                r.GetOrDefault<string>("champion_metrics"), r.GetOrDefault<string>("challenger_metrics")));
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
            if (await r.ReadAsync(ct)) return new TriggerClaim(r.Get<Guid>("triggering_run_id"), r.Get<string>("triggering_step_id"),
                r.GetOrDefault<Guid?>("started_run_id"));
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
