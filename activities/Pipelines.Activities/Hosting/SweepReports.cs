using Pipelines.Core.Activities.State;

namespace Pipelines.Activities.Hosting;

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
