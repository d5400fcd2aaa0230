using Pipelines.Core.Activities.State;
using Pipelines.Ml.Tuning;

namespace Pipelines.Activities.Ml;

/// <summary>The <c>pruning</c> input of <c>train.trial</c>: <c>{rule: median, startup_trials, warmup_rounds}</c>.</summary>
public sealed record PruningSettings(int StartupTrials, int WarmupRounds)
{
    public const int DefaultStartupTrials = 5;
    public const int DefaultWarmupRounds = 0;

    public static JsonObject Schema()
    {
        var schema = SchemaBuilder.Object()
            .Optional("rule", SchemaBuilder.String("median (the only rule): stop a trial whose best value so far is worse than the median of its finished siblings' values at the same round."))
            .Optional("startup_trials", SchemaBuilder.Integer($"Prune nothing until this many sibling trials have completed (default {DefaultStartupTrials})."))
            .Optional("warmup_rounds", SchemaBuilder.Integer($"Prune no trial before this boosting round (0-based iteration; default {DefaultWarmupRounds})."))
            .Build();
        schema["description"] = "Median-rule pruning against the sibling trials of the same for_each (xgboost only; off when absent). " +
                                "Trials share their per-round validation metric through the database, wherever they run.";
        return schema;
    }

    /// <summary>Null when the input is absent (pruning off).</summary>
    public static PruningSettings? Parse(JsonNode? node)
    {
        if (node is null) return null;
        if (node is not JsonObject o) throw Invalid($"expected an object such as {{rule: median, startup_trials: 2, warmup_rounds: 5}}, got {node.ToJsonString()}");
        foreach (var (key, _) in o)
            if (key is not ("rule" or "startup_trials" or "warmup_rounds"))
                throw Invalid($"unknown key '{key}' (rule, startup_trials, warmup_rounds)");
        var rule = o["rule"] is JsonValue r && r.TryGetValue<string>(out var s) ? s : o["rule"] is null ? "median" : o["rule"]!.ToJsonString();
        if (rule != "median") throw Invalid($"rule '{rule}' is not supported (median)");
        return new PruningSettings(Count(o, "startup_trials", DefaultStartupTrials), Count(o, "warmup_rounds", DefaultWarmupRounds));
    }

    private static int Count(JsonObject o, string key, int fallback)
    {
        long? value;
        try { value = JsonNumber.Long(o[key]); }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException) { throw Invalid($"{key} must be a whole number, got {o[key]!.ToJsonString()}"); }
        return value switch
        {
            null => fallback,
            < 0 or > 1_000_000 => throw Invalid($"{key} must be between 0 and 1000000, got {value}"),
            _ => (int)value,
        };
    }

    private static ActivityException Invalid(string message) => new($"input 'pruning': {message}", retryable: false);
}

/// <summary>
/// The pruning side of one <c>train.trial</c> attempt. After each boosting round the trainer's callback hands the
/// validation metric to <see cref="ShouldStop"/>, which records it and asks the <see cref="MedianPruner"/> about it
/// against the finished siblings known so far — in memory, so the training thread never waits on the database.
/// In the background the values reported so far are written to the sweep's <see cref="ISweepReports"/> and newly
/// finished siblings are read, every <see cref="RefreshInterval"/>.
/// </summary>
/// <remarks>
/// Determinism: the siblings that finished before this trial began are read before its first round. With
/// <c>max_parallel: 1</c> those are all the siblings that finish before it, so the same seed prunes the same
/// trials. With parallel trials the decision also depends on which siblings finished while this one trained (and
/// when the background read saw them), as in Optuna.
/// </remarks>
public sealed class TrialPruning : IAsyncDisposable
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromMilliseconds(250);

    private readonly ISweepReports _reports;
    private readonly SweepTrialKey _key;
    private readonly string _metric;
    private readonly Direction _direction;
    private readonly MedianPruner _pruner;
    private readonly TimeProvider _time;
    private readonly TimeSpan _refresh;
    private readonly Lock _gate = new();
    private readonly Trial _self;
    private readonly List<IntermediateValue> _values = new();
    // Every sibling read so far (also those reporting another metric, which are never compared), so each finished
    // sibling is transferred once.
    private readonly HashSet<int> _known;
    private List<Trial> _siblings = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private int _written;
    private bool _finished;

    private TrialPruning(ISweepReports reports, SweepTrialKey key, string metric, Direction direction, PruningSettings settings, TimeProvider time, TimeSpan refresh)
    {
        _reports = reports;
        _key = key;
        _metric = metric;
        _direction = direction;
        _pruner = new MedianPruner(settings.StartupTrials, settings.WarmupRounds);
        _time = time;
        _refresh = refresh;
        _self = new Trial(key.Trial, new JsonObject());
        _known = [key.Trial];
    }

    /// <summary>The iteration at which the median rule stopped this trial; null while it was not pruned.</summary>
    public int? PrunedAt { get; private set; }

    /// <summary>The last value handed to <see cref="ShouldStop"/>.</summary>
    public double? LastValue { get; private set; }

    /// <summary>How many finished siblings with the same metric were known at the last decision.</summary>
    public int FinishedSiblings
    {
        get { lock (_gate) return _siblings.Count; }
    }

    /// <summary>The last error of a background write or read (they are retried on the next tick); null when none.</summary>
    public Exception? LastBackgroundError { get; private set; }

    /// <summary>Begins this attempt in the sweep (replacing an earlier attempt's values) and reads the siblings that already finished.</summary>
    public static async Task<TrialPruning> StartAsync(ISweepReports reports, SweepTrialKey key, int number, string metric, Direction direction,
        PruningSettings settings, TimeProvider time, CancellationToken ct, TimeSpan? refresh = null)
    {
        var pruning = new TrialPruning(reports, key, metric, direction, settings, time, refresh ?? RefreshInterval);
        bool begun;
        try
        {
            begun = await reports.BeginAsync(key, number, metric, ct);
            if (begun) await pruning.RefreshAsync(ct);
        }
        catch (Exception e) when (e is not (ActivityException or OperationCanceledException))
        {
            throw Unavailable(key, e);
        }
        if (!begun)
            throw new ActivityException($"trial {key.Trial} of sweep '{key.Sweep.StepId}': a newer attempt than {key.Attempt} has begun", retryable: false);
        pruning._loop = pruning.LoopAsync();
        return pruning;
    }

    // The database blinked: the attempt is worth repeating, and a repeat starts the trial's reports afresh.
    private static ActivityException Unavailable(SweepTrialKey key, Exception e) =>
        new($"trial {key.Trial} of sweep '{key.Sweep.StepId}': sweep reports unavailable: {e.Message}", retryable: true, e);

    /// <summary>Records the validation value of <paramref name="iteration"/>; true when the trial should stop (it is pruned).</summary>
    public bool ShouldStop(int iteration, double value)
    {
        lock (_gate)
        {
            if (PrunedAt is not null) return true;
            // A metric XGBoost cannot compute (e.g. AUC on one class) says nothing about this trial against others.
            if (double.IsNaN(value)) return false;
            _values.Add(new IntermediateValue(iteration, value));
            _self.Intermediate[iteration] = value;
            LastValue = value;
            if (!_pruner.ShouldPrune(_self, iteration, _siblings, _direction)) return false;
            PrunedAt = iteration;
            return true;
        }
    }

    /// <summary>Ends the attempt in the sweep: its state, value and every value it reported become visible to its siblings.</summary>
    public async Task FinishAsync(SweepTrialState state, double? value, CancellationToken ct)
    {
        await StopLoopAsync();
        IntermediateValue[] values;
        lock (_gate) values = _values.ToArray();
        bool recorded;
        try { recorded = await _reports.FinishAsync(_key, state, value, values, ct); }
        catch (Exception e) when (e is not (ActivityException or OperationCanceledException)) { throw Unavailable(_key, e); }
        if (!recorded)
            throw new ActivityException($"trial {_key.Trial} of sweep '{_key.Sweep.StepId}': attempt {_key.Attempt} was superseded by a newer attempt", retryable: false);
        _finished = true;
    }

    /// <summary>Stops the background work; an attempt that did not finish is recorded as failed (best effort: the attempt guard keeps a newer attempt safe).</summary>
    public async ValueTask DisposeAsync()
    {
        await StopLoopAsync();
        if (!_finished)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                IntermediateValue[] values;
                lock (_gate) values = _values.ToArray();
                await _reports.FinishAsync(_key, SweepTrialState.Failed, null, values, timeout.Token);
            }
            catch (Exception)
            {
                // The attempt is failing already (or its worker is stopping); an unfinished trial is ignored by its siblings anyway.
            }
        }
        _stop.Dispose();
    }

    private async Task StopLoopAsync()
    {
        if (!_stop.IsCancellationRequested) await _stop.CancelAsync();
        await _loop;
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_refresh, _time, _stop.Token);
                await FlushAsync(_stop.Token);
                await RefreshAsync(_stop.Token);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Reports of a running trial are for watching it; its siblings only use finished trials, which
                // FinishAsync writes in full. So a failed tick is retried on the next one, not fatal.
                LastBackgroundError = e;
            }
        }
    }

    private async Task FlushAsync(CancellationToken ct)
    {
        IntermediateValue[] values;
        lock (_gate)
        {
            if (_values.Count == _written) return;
            values = _values.ToArray();
        }
        if (await _reports.ReportAsync(_key, values, ct)) _written = values.Length;
    }

    private async Task RefreshAsync(CancellationToken ct)
    {
        int[] known;
        lock (_gate) known = _known.ToArray();
        var finished = await _reports.ReadAsync(_key.Sweep, finishedOnly: true, known, ct);
        if (finished.Count == 0) return;
        lock (_gate)
        {
            var siblings = new List<Trial>(_siblings);
            foreach (var r in finished)
            {
                if (!_known.Add(r.Trial) || r.Metric != _metric) continue;
                siblings.Add(Trial.Restore(r.Trial, r.State == SweepTrialState.Pruned ? TrialState.Pruned : TrialState.Complete, r.Value,
                    r.Values.Select(v => KeyValuePair.Create(v.Iteration, v.Value))));
            }
            _siblings = siblings;
        }
    }
}
