namespace Pipelines.Core.Activities.State;

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
/// implementation: every process on the same database (the PostgreSQL store) or one process
/// (the in-process fallback). Every write names the attempt: a new attempt of a trial starts it afresh,
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
