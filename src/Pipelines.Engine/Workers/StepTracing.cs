using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Pipelines.Engine.Model;
using Pipelines.Engine.Storage;

namespace Pipelines.Engine.Workers;

/// <summary>
/// OpenTelemetry spans for the work a worker does: a <c>step</c> span per attempt, parented on the trace the run was
/// started under (so a trace reads request → step → activity), and an <c>activity</c> span around the activity's code.
/// Costs nothing unless something listens to <see cref="SourceName"/> (an OTLP exporter): only then is the run's
/// trace context read.
/// </summary>
public sealed class StepTracing(IRunTraces? traces, ILogger log) : IDisposable
{
    public const string SourceName = "Pipelines.Engine";

    // Runs with many fan-out items would otherwise read the same trace context once per item.
    private const int MaxCached = 1024;
    private readonly ActivitySource _source = new(SourceName);
    private readonly ConcurrentDictionary<Guid, string?> _parents = new();

    /// <summary>The run's trace context, read only while something listens; null otherwise.</summary>
    public Task<ActivityContext?> RunContextAsync(ClaimedJob job, CancellationToken ct) =>
        _source.HasListeners() ? ParentAsync(job.RunId, ct) : Task.FromResult<ActivityContext?>(null);

    /// <summary>
    /// The attempt's span, made the current one. Synchronous on purpose: an async method's change of
    /// <see cref="Activity.Current"/> does not reach its caller, and the activity's own spans must nest under this one.
    /// </summary>
    public Activity? StartStep(ClaimedJob job, string workerId, ActivityContext? parent)
    {
        if (!_source.HasListeners()) return null;
        var span = _source.StartActivity($"step {job.StepId}", ActivityKind.Consumer, parent ?? default);
        span?.SetTag("pipelines.run_id", job.RunId.ToString())
            .SetTag("pipelines.step", job.StepId)
            .SetTag("pipelines.attempt", job.Attempt)
            .SetTag("pipelines.worker", workerId)
            .SetTag("pipelines.activity", $"{job.Kind}@{job.ActivityVersion}");
        if (job.ItemIndex is { } item) span?.SetTag("pipelines.item", item);
        return span;
    }

    /// <summary>The span around the activity's own code (a child of the current step span).</summary>
    public Activity? StartActivity(ClaimedJob job) =>
        _source.HasListeners() ? _source.StartActivity($"activity {job.Kind}@{job.ActivityVersion}", ActivityKind.Internal) : null;

    /// <summary>How the attempt ended, on the step span: an error status when it failed or timed out.</summary>
    public static void End(Activity? span, AttemptOutcome outcome, string? error)
    {
        if (span is null) return;
        span.SetTag("pipelines.outcome", outcome.ToString().ToLowerInvariant());
        // A stop (a gate said no) or a cancel is an outcome the pipeline asked for, not an error of the step.
        if (outcome == AttemptOutcome.Succeeded) span.SetStatus(ActivityStatusCode.Ok);
        else if (outcome is AttemptOutcome.Failed or AttemptOutcome.TimedOut) span.SetStatus(ActivityStatusCode.Error, error);
    }

    /// <summary>A W3C traceparent as a parent context; null when absent or malformed (the span then starts its own trace).</summary>
    public static ActivityContext? Parse(string? traceParent) =>
        traceParent is not null && ActivityContext.TryParse(traceParent, null, isRemote: true, out var context) ? context : null;

    private async Task<ActivityContext?> ParentAsync(Guid runId, CancellationToken ct)
    {
        if (traces is null) return null;
        if (!_parents.TryGetValue(runId, out var text))
        {
            try
            {
                text = await traces.TraceParentAsync(runId, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Tracing must never fail a step: without the context the span starts a trace of its own.
                log.LogDebug("trace context of run {RunId} not read: {Error}", runId, e.Message);
                return null;
            }
            if (_parents.Count >= MaxCached) _parents.Clear();
            _parents[runId] = text;
        }
        return Parse(text);
    }

    public void Dispose() => _source.Dispose();
}
