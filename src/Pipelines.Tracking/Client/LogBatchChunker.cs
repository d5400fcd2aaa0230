using System.Text;
using System.Text.Json;
using Pipelines.Tracking.Model;

namespace Pipelines.Tracking.Client;

/// <summary>MLflow's per-request limits for <c>runs/log-batch</c> (mlflow/utils/validation.py).</summary>
public sealed record LogBatchLimits
{
    public int MaxMetrics { get; init; } = 1000;
    public int MaxParams { get; init; } = 100;
    public int MaxTags { get; init; } = 100;
    public int MaxItems { get; init; } = 1000;
    public int MaxRequestBytes { get; init; } = 1_000_000;
    public static LogBatchLimits MlflowDefaults { get; } = new();
}

/// <summary>
/// Splits one logical log-batch into requests that each respect <see cref="LogBatchLimits"/>. Params go first
/// so that a rejected (changed) param fails the call before any metric of it is written; order within each kind
/// is kept, so a metric's history arrives in the order it was given.
/// </summary>
public static class LogBatchChunker
{
    // {"run_id":"<32>","metrics":[],"params":[],"tags":[]} plus slack for a longer run id.
    private const int EnvelopeBytes = 400;

    public static IReadOnlyList<LogBatchRequest> Split(string runId, IReadOnlyList<Metric> metrics, IReadOnlyList<Param> parameters,
        IReadOnlyList<Tag> tags, LogBatchLimits? limits = null)
    {
        limits ??= LogBatchLimits.MlflowDefaults;
        var batches = new List<LogBatchRequest>();
        List<Metric> m = []; List<Param> p = []; List<Tag> t = [];
        var bytes = EnvelopeBytes + Encoding.UTF8.GetByteCount(runId);

        void Flush()
        {
            if (m.Count + p.Count + t.Count == 0) return;
            batches.Add(new LogBatchRequest(runId, m.Count > 0 ? m : null, p.Count > 0 ? p : null, t.Count > 0 ? t : null));
            m = []; p = []; t = [];
            bytes = EnvelopeBytes + Encoding.UTF8.GetByteCount(runId);
        }

        void Add<T>(T item, Func<List<T>> list, int kindLimit)
        {
            var size = JsonSerializer.SerializeToUtf8Bytes(item, MlflowJson.Options).Length + 1;
            if (size + EnvelopeBytes > limits.MaxRequestBytes)
                throw new ArgumentException($"one item is larger than the {limits.MaxRequestBytes}-byte request limit");
            if (list().Count >= kindLimit || m.Count + p.Count + t.Count >= limits.MaxItems || bytes + size > limits.MaxRequestBytes)
                Flush();
            list().Add(item);
            bytes += size;
        }

        foreach (var x in parameters) Add(x, () => p, limits.MaxParams);
        foreach (var x in tags) Add(x, () => t, limits.MaxTags);
        foreach (var x in metrics) Add(x, () => m, limits.MaxMetrics);
        Flush();
        return batches;
    }
}
