using Npgsql;
using NpgsqlTypes;
using Pipelines.Postgres.Sql;

namespace Pipelines.Postgres.ActivityState;

/// <summary>One trial of a sweep as stored (migration 0007): <c>Steps[i]</c> is the iteration of <c>Values[i]</c>.</summary>
public sealed record StoredSweepTrial(
    int Trial, int Number, int Attempt, string Metric, string State, double? Value, int[] Steps, double[] Values,
    DateTimeOffset StartedAt, DateTimeOffset UpdatedAt, DateTimeOffset? FinishedAt);

/// <summary>
/// Intermediate values of the trials of a sweep, shared through the database by every worker process (migration
/// 0007), so that a trial on one worker can be pruned against siblings that trained on others. A sweep is named by
/// its pipeline run and step id; a trial by its fan-out item. Every write is guarded by the trial's attempt: a new
/// attempt <see cref="BeginAsync">begins</see> afresh, and writes of an older one change nothing.
/// </summary>
public sealed class PostgresSweepReports(NpgsqlDataSource db, TimeProvider? time = null)
{
    public const string Running = "running", Complete = "complete", Pruned = "pruned", Failed = "failed";

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Starts attempt <paramref name="attempt"/> of a trial with no values; false when a newer attempt already began.</summary>
    public async Task<bool> BeginAsync(Guid runId, string stepId, int trial, int attempt, int number, string metric, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("SweepBegin"));
        Key(cmd, runId, stepId, trial, attempt);
        cmd.Parameters.AddWithValue("number", number);
        cmd.Parameters.AddWithValue("metric", metric);
        cmd.Parameters.AddWithValue("now", _time.GetUtcNow());
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    /// <summary>Replaces the running attempt's values with those reported so far; false when the attempt is not the trial's running one.</summary>
    public async Task<bool> ReportAsync(Guid runId, string stepId, int trial, int attempt, int[] steps, double[] values, CancellationToken ct = default)
    {
        Check(steps, values);
        await using var cmd = db.CreateCommand(SqlCatalog.Get("SweepReport"));
        Key(cmd, runId, stepId, trial, attempt);
        Values(cmd, steps, values);
        cmd.Parameters.AddWithValue("now", _time.GetUtcNow());
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    /// <summary>
    /// Ends the attempt with <paramref name="state"/> (complete, pruned or failed), its value and all its values;
    /// false when another attempt owns the trial or this one already ended otherwise.
    /// </summary>
    public async Task<bool> FinishAsync(Guid runId, string stepId, int trial, int attempt, string state, double? value, int[] steps, double[] values,
        CancellationToken ct = default)
    {
        if (state is not (Complete or Pruned or Failed)) throw new ArgumentException($"a trial finishes as {Complete}, {Pruned} or {Failed}, not '{state}'", nameof(state));
        Check(steps, values);
        await using var cmd = db.CreateCommand(SqlCatalog.Get("SweepFinish"));
        Key(cmd, runId, stepId, trial, attempt);
        Values(cmd, steps, values);
        cmd.Parameters.AddWithValue("state", state);
        cmd.Parameters.Add(new NpgsqlParameter("value", NpgsqlDbType.Double) { Value = (object?)value ?? DBNull.Value });
        cmd.Parameters.AddWithValue("now", _time.GetUtcNow());
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    /// <summary>The sweep's trials by trial number; with <paramref name="finishedOnly"/>, only complete and pruned ones; never those in <paramref name="known"/>.</summary>
    public async Task<IReadOnlyList<StoredSweepTrial>> ReadAsync(Guid runId, string stepId, bool finishedOnly = false, IReadOnlyCollection<int>? known = null,
        CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("SweepRead"));
        cmd.Parameters.AddWithValue("run_id", runId);
        cmd.Parameters.AddWithValue("step_id", stepId);
        cmd.Parameters.AddWithValue("finished_only", finishedOnly);
        cmd.Parameters.Add(new NpgsqlParameter("known", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = known?.ToArray() ?? [] });
        var result = new List<StoredSweepTrial>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        // Running trials poll this: ordinals once per result set.
        int O(string column) => r.Ordinal(column);
        var (trial, number, attempt, metric, state, value, steps, intermediate, startedAt, updatedAt, finishedAt) =
            (O("trial"), O("number"), O("attempt"), O("metric"), O("state"), O("value"), O("steps"), O("intermediate"), O("started_at"),
             O("updated_at"), O("finished_at"));
        while (await r.ReadAsync(ct))
            result.Add(new StoredSweepTrial(
                r.GetInt32(trial), r.GetInt32(number), r.GetInt32(attempt), r.GetString(metric), r.GetString(state),
                r.IsDBNull(value) ? null : r.GetDouble(value), r.GetFieldValue<int[]>(steps), r.GetFieldValue<double[]>(intermediate),
                r.GetFieldValue<DateTimeOffset>(startedAt), r.GetFieldValue<DateTimeOffset>(updatedAt),
                r.IsDBNull(finishedAt) ? null : r.GetFieldValue<DateTimeOffset>(finishedAt)));
        return result;
    }

    private static void Key(NpgsqlCommand cmd, Guid runId, string stepId, int trial, int attempt)
    {
        cmd.Parameters.AddWithValue("run_id", runId);
        cmd.Parameters.AddWithValue("step_id", stepId);
        cmd.Parameters.AddWithValue("trial", trial);
        cmd.Parameters.AddWithValue("attempt", attempt);
    }

    private static void Values(NpgsqlCommand cmd, int[] steps, double[] values)
    {
        cmd.Parameters.Add(new NpgsqlParameter("steps", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = steps });
        cmd.Parameters.Add(new NpgsqlParameter("values", NpgsqlDbType.Array | NpgsqlDbType.Double) { Value = values });
    }

    private static void Check(int[] steps, double[] values)
    {
        if (steps.Length != values.Length) throw new ArgumentException($"{steps.Length} steps but {values.Length} values");
    }
}
