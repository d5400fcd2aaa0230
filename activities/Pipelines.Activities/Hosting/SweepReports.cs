using Pipelines.Core.Activities;
using Pipelines.Postgres.ActivityState;

namespace Pipelines.Activities.Hosting;

/// <summary>A sweep: the fan-out of one step in one pipeline run.</summary>
public readonly record struct SweepId(Guid RunId, string StepId)
{
    public static SweepId Of(ActivityContext context) => new(context.RunId, context.StepId);
}

/// <summary>One attempt of one trial of a sweep; <see cref="Trial"/> is its fan-out item index.</summary>
public readonly record struct SweepTrialKey(SweepId Sweep, int Trial, int Attempt);

public readonly record struct IntermediateValue(int Iteration, double Value);

public enum SweepTrialState { Running, Complete, Pruned, Failed }

/// <summary>A trial as its siblings see it: its latest attempt, state, final value and intermediate values in report order.</summary>
public sealed record SweepTrialReport(
    int Trial, int Number, int Attempt, string Metric, SweepTrialState State, double? Value, IReadOnlyList<IntermediateValue> Values,
    DateTimeOffset UpdatedAt);

/// <summary>
/// What the trials of a sweep tell each other: each trial's intermediate validation values and how it ended, so a
/// running trial can be pruned against the siblings that finished. How far the sharing reaches depends on the
/// implementation: every process on the same database (<see cref="DatabaseSweepReports"/>) or one process
/// (<see cref="InProcessSweepReports"/>). Every write names the attempt: a new attempt of a trial starts it afresh,
/// and writes of an older attempt are ignored (they return false).
/// </summary>
public interface ISweepReports
{
    /// <summary>Starts an attempt of a trial with no values, replacing what earlier attempts reported.</summary>
    Task<bool> BeginAsync(SweepTrialKey key, int number, string metric, CancellationToken ct = default);

    /// <summary>Records the values reported so far (they replace the stored ones, so repeating a write is harmless).</summary>
    Task<bool> ReportAsync(SweepTrialKey key, IReadOnlyList<IntermediateValue> values, CancellationToken ct = default);

    /// <summary>Ends the attempt as complete, pruned or failed, with its value and all its intermediate values.</summary>
    Task<bool> FinishAsync(SweepTrialKey key, SweepTrialState state, double? value, IReadOnlyList<IntermediateValue> values, CancellationToken ct = default);

    /// <summary>The sweep's trials in trial order; with <paramref name="finishedOnly"/> only complete and pruned ones; never those in <paramref name="known"/>.</summary>
    Task<IReadOnlyList<SweepTrialReport>> ReadAsync(SweepId sweep, bool finishedOnly = false, IReadOnlyCollection<int>? known = null, CancellationToken ct = default);
}

/// <summary>Shared by every worker process on the same PostgreSQL database (the workers' normal setup).</summary>
public sealed class DatabaseSweepReports(PostgresSweepReports db) : ISweepReports
{
    public Task<bool> BeginAsync(SweepTrialKey key, int number, string metric, CancellationToken ct = default) =>
        db.BeginAsync(key.Sweep.RunId, key.Sweep.StepId, key.Trial, key.Attempt, number, metric, ct);

    public Task<bool> ReportAsync(SweepTrialKey key, IReadOnlyList<IntermediateValue> values, CancellationToken ct = default) =>
        db.ReportAsync(key.Sweep.RunId, key.Sweep.StepId, key.Trial, key.Attempt, Steps(values), Values(values), ct);

    public Task<bool> FinishAsync(SweepTrialKey key, SweepTrialState state, double? value, IReadOnlyList<IntermediateValue> values, CancellationToken ct = default) =>
        db.FinishAsync(key.Sweep.RunId, key.Sweep.StepId, key.Trial, key.Attempt, Name(state), value, Steps(values), Values(values), ct);

    public async Task<IReadOnlyList<SweepTrialReport>> ReadAsync(SweepId sweep, bool finishedOnly = false, IReadOnlyCollection<int>? known = null, CancellationToken ct = default)
    {
        var rows = await db.ReadAsync(sweep.RunId, sweep.StepId, finishedOnly, known, ct);
        return rows.Select(r => new SweepTrialReport(r.Trial, r.Number, r.Attempt, r.Metric, Parse(r.State), r.Value,
            r.Steps.Select((step, i) => new IntermediateValue(step, r.Values[i])).ToList(), r.UpdatedAt)).ToList();
    }

    private static int[] Steps(IReadOnlyList<IntermediateValue> values) => values.Select(v => v.Iteration).ToArray();
    private static double[] Values(IReadOnlyList<IntermediateValue> values) => values.Select(v => v.Value).ToArray();

    private static string Name(SweepTrialState state) => state switch
    {
        SweepTrialState.Complete => PostgresSweepReports.Complete,
        SweepTrialState.Pruned => PostgresSweepReports.Pruned,
        SweepTrialState.Failed => PostgresSweepReports.Failed,
        _ => throw new ArgumentException($"a trial finishes as complete, pruned or failed, not {state}", nameof(state)),
    };

    private static SweepTrialState Parse(string state) => state switch
    {
        PostgresSweepReports.Running => SweepTrialState.Running,
        PostgresSweepReports.Complete => SweepTrialState.Complete,
        PostgresSweepReports.Pruned => SweepTrialState.Pruned,
        PostgresSweepReports.Failed => SweepTrialState.Failed,
        _ => throw new InvalidOperationException($"unknown trial state '{state}' in sweep_trials"),
    };
}

/// <summary>
/// Shared by the trials that run in this process only: the fallback when activities run without a database
/// (tests of single activities, or workers of one process). Kept for the life of the instance.
/// </summary>
public sealed class InProcessSweepReports(TimeProvider? time = null) : ISweepReports
{
    private sealed class Row
    {
        public required int Number, Attempt;
        public required string Metric;
        public SweepTrialState State = SweepTrialState.Running;
        public double? Value;
        public IntermediateValue[] Values = [];
        public DateTimeOffset UpdatedAt;
    }

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Dictionary<(SweepId, int), Row> _rows = new();
    private readonly Lock _gate = new();

    public Task<bool> BeginAsync(SweepTrialKey key, int number, string metric, CancellationToken ct = default)
    {
        lock (_gate)
        {
            if (_rows.TryGetValue((key.Sweep, key.Trial), out var row) && row.Attempt > key.Attempt) return Task.FromResult(false);
            _rows[(key.Sweep, key.Trial)] = new Row { Number = number, Attempt = key.Attempt, Metric = metric, UpdatedAt = _time.GetUtcNow() };
            return Task.FromResult(true);
        }
    }

    public Task<bool> ReportAsync(SweepTrialKey key, IReadOnlyList<IntermediateValue> values, CancellationToken ct = default)
    {
        lock (_gate)
        {
            if (!_rows.TryGetValue((key.Sweep, key.Trial), out var row) || row.Attempt != key.Attempt || row.State != SweepTrialState.Running)
                return Task.FromResult(false);
            row.Values = values.ToArray();
            row.UpdatedAt = _time.GetUtcNow();
            return Task.FromResult(true);
        }
    }

    public Task<bool> FinishAsync(SweepTrialKey key, SweepTrialState state, double? value, IReadOnlyList<IntermediateValue> values, CancellationToken ct = default)
    {
        if (state == SweepTrialState.Running) throw new ArgumentException("a trial finishes as complete, pruned or failed, not running", nameof(state));
        lock (_gate)
        {
            if (!_rows.TryGetValue((key.Sweep, key.Trial), out var row) || row.Attempt != key.Attempt
                || (row.State != SweepTrialState.Running && row.State != state))
                return Task.FromResult(false);
            (row.State, row.Value, row.Values, row.UpdatedAt) = (state, value, values.ToArray(), _time.GetUtcNow());
            return Task.FromResult(true);
        }
    }

    public Task<IReadOnlyList<SweepTrialReport>> ReadAsync(SweepId sweep, bool finishedOnly = false, IReadOnlyCollection<int>? known = null, CancellationToken ct = default)
    {
        lock (_gate)
        {
            IReadOnlyList<SweepTrialReport> result = _rows
                .Where(kv => kv.Key.Item1 == sweep && (known is null || !known.Contains(kv.Key.Item2))
                             && (!finishedOnly || kv.Value.State is SweepTrialState.Complete or SweepTrialState.Pruned))
                .OrderBy(kv => kv.Key.Item2)
                .Select(kv => new SweepTrialReport(kv.Key.Item2, kv.Value.Number, kv.Value.Attempt, kv.Value.Metric, kv.Value.State, kv.Value.Value,
                    kv.Value.Values.ToArray(), kv.Value.UpdatedAt))
                .ToList();
            return Task.FromResult(result);
        }
    }
}
