using Pipelines.Core.Activities.State;

namespace Pipelines.Postgres.ActivityState;

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
