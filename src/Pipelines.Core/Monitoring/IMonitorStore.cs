namespace Pipelines.Core.Monitoring;

/// <summary>A reference profile (JSON) recorded by the step that computed it; the newest of a monitor is what batches are compared with.</summary>
public sealed record MonitorReference(string Monitor, Guid RunId, string StepId, DateTimeOffset CreatedAt, string? Model, string ProfileJson);

/// <summary>One point of a monitor's time series: a scored batch's verdict, headline numbers and full result (JSON).</summary>
public sealed record MonitorBatch(
    string Monitor, Guid RunId, string StepId, string Batch, DateTimeOffset RecordedAt, long Rows, string Verdict,
    double? MaxPsi, double? PredictionPsi, string ResultJson);

/// <summary>Realized metrics of one batch (and slice: "all" or "column=value") once its labels arrived.</summary>
public sealed record RealizedMetrics(
    string Monitor, Guid RunId, string StepId, string Batch, string Slice, DateTimeOffset RecordedAt, long Predictions, long Labelled,
    string MetricsJson);

/// <summary>
/// One batch the challenger shadow-scored: the two versions compared on the same rows, how often they agreed, and
/// the realized metrics of both (JSON objects, null until labels were joined) over the same labelled rows.
/// </summary>
public sealed record ChallengerBatch(
    string Monitor, Guid RunId, string StepId, string Batch, DateTimeOffset RecordedAt, string ChampionVersion, string ChallengerVersion,
    long Rows, double Agreement, double? PredictionPsi, long Labelled, string? ChampionMetricsJson, string? ChallengerMetricsJson);

/// <summary>Who holds a trigger window: the run and step that claimed it, and the run it started (null until started).</summary>
public sealed record TriggerClaim(Guid RunId, string StepId, Guid? StartedRunId);

/// <summary>
/// Where monitoring keeps reference profiles, per-batch drift results and realized metrics. Every write is keyed by
/// the step that made it (monitor, run, step, …), so a retried attempt replaces its own rows.
/// </summary>
public interface IMonitorStore
{
    Task SaveReferenceAsync(MonitorReference reference, CancellationToken ct = default);
    Task<MonitorReference?> LatestReferenceAsync(string monitor, CancellationToken ct = default);
    Task RecordBatchAsync(MonitorBatch batch, CancellationToken ct = default);
    /// <summary>The last <paramref name="count"/> batches of a monitor, oldest first.</summary>
    Task<IReadOnlyList<MonitorBatch>> RecentBatchesAsync(string monitor, int count, CancellationToken ct = default);
    Task RecordRealizedAsync(IReadOnlyList<RealizedMetrics> rows, CancellationToken ct = default);
    Task<IReadOnlyList<RealizedMetrics>> RealizedAsync(string monitor, CancellationToken ct = default);

    Task RecordChallengerBatchAsync(ChallengerBatch batch, CancellationToken ct = default);
    /// <summary>Realized metrics for the points a run recorded for a pair (labels that arrived later); returns how many points were updated.</summary>
    Task<int> RecordChallengerRealizedAsync(string monitor, Guid runId, string championVersion, string challengerVersion, long labelled,
        string championMetricsJson, string challengerMetricsJson, CancellationToken ct = default);
    /// <summary>The shadow evidence of one champion/challenger pair of a monitor, oldest first.</summary>
    Task<IReadOnlyList<ChallengerBatch>> ChallengerBatchesAsync(string monitor, string championVersion, string challengerVersion, CancellationToken ct = default);

    /// <summary>Claims (key, window) for a step, or returns the claim that got there first.</summary>
    Task<TriggerClaim> ClaimTriggerAsync(string dedupKey, DateTimeOffset windowStart, Guid runId, string stepId, string workflow, string paramsJson,
        string? reason, DateTimeOffset now, CancellationToken ct = default);
    Task MarkTriggerStartedAsync(string dedupKey, DateTimeOffset windowStart, Guid runId, string stepId, Guid startedRunId, CancellationToken ct = default);
    Task ReleaseTriggerAsync(string dedupKey, DateTimeOffset windowStart, Guid runId, string stepId, CancellationToken ct = default);
}
