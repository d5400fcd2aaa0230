namespace Pipelines.Api.Domain;

/// <summary>A tracked run that belongs to a step: its MLflow id, a label for the chart, and the metric keys it has.</summary>
public sealed record TrialRun(string RunId, string Label, IReadOnlyList<string> MetricKeys);

/// <summary>
/// The rules of a step's metric curves, free of I/O: which tracked runs belong to the step, which of their metrics
/// are curves, and the <c>metric</c> parameter. The histories themselves come from the tracking server.
/// </summary>
public static class MetricCurves
{
    /// <summary>At most this many curves per request: each is one metric-history call to the tracking server.</summary>
    public const int MaxSeries = 200;

    /// <summary>
    /// A metric is drawn as a curve unless it is a summary of one: <c>best_*</c> values and <c>best_iteration</c> are
    /// single numbers logged beside the per-round history they summarise.
    /// </summary>
    public static bool IsCurve(string key) => !key.StartsWith("best_", StringComparison.Ordinal);

    /// <summary>Without <c>metric</c>, the validation curves (<c>valid_*</c>) are drawn: what a sweep is ranked by.</summary>
    public static bool IsDefault(string key) => key.StartsWith("valid_", StringComparison.Ordinal);

    /// <summary><c>metric</c>: absent, or a metric key as MLflow allows it (letters, digits, <c>_ - . / space</c>), at most 250 characters.</summary>
    public static bool TryMetric(string? text, out string? metric, out string? error)
    {
        metric = string.IsNullOrEmpty(text) ? null : text;
        error = null;
        if (metric is null) return true;
        if (metric.Length > 250 || !metric.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '/' or ' '))
        {
            error = "expected a metric key (letters, digits, '_', '-', '.', '/', ' '; at most 250 characters)";
            metric = null;
            return false;
        }
        return true;
    }

    /// <summary>Every curve key the runs have, sorted, for the UI to offer.</summary>
    public static IReadOnlyList<string> Keys(IEnumerable<TrialRun> runs) =>
        runs.SelectMany(r => r.MetricKeys).Where(IsCurve).Distinct().Order(StringComparer.Ordinal).ToList();

    /// <summary>
    /// The (run, key) histories to fetch: the requested metric, else every <c>valid_*</c> key; runs in label order so
    /// the chart's legend is stable. Capped at <see cref="MaxSeries"/>; <c>Truncated</c> says when the cap cut some.
    /// </summary>
    public static (IReadOnlyList<(TrialRun Run, string Key)> Wanted, bool Truncated) Plan(IEnumerable<TrialRun> runs, string? metric)
    {
        var all = runs.OrderBy(r => r.Label, StringComparer.Ordinal).ThenBy(r => r.RunId, StringComparer.Ordinal)
            .SelectMany(r => r.MetricKeys.Where(IsCurve).Where(k => metric is null ? IsDefault(k) : k == metric).Order(StringComparer.Ordinal).Select(k => (r, k)))
            .ToList();
        return (all.Take(MaxSeries).ToList(), all.Count > MaxSeries);
    }
}
