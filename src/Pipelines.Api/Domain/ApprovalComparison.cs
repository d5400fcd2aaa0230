namespace Pipelines.Api.Domain;

/// <summary>One slice of the holdout (e.g. sex=Female) on the primary metric: the candidate against the champion.</summary>
public sealed record SliceComparison(string Column, string Value, long Rows, double? Candidate, double? Champion, bool Worse)
{
    public double? Change => Candidate is { } c && Champion is { } p ? c - p : null;
}

/// <summary>
/// What an approver compares, read from an approval's summary, free of I/O. The summary is whatever the workflow
/// passed: an <c>evaluate</c> summary (<c>metrics</c>, <c>slices</c>, <c>primary_metric</c>, <c>maximize</c>,
/// <c>champion: {metrics, slices}</c>), an object with <c>candidate</c> and <c>champion</c>, or a flat object of metrics.
/// </summary>
public static class ApprovalComparison
{
    /// <summary>The candidate's numeric metrics; empty when the summary has none.</summary>
    public static JsonObject Candidate(JsonNode? summary)
    {
        if (summary is not JsonObject s) return [];
        if (Side(s, "candidate") is { } c) return Numbers(c["metrics"] ?? c);
        if (s["metrics"] is JsonObject m) return Numbers(m);
        return Numbers(s);
    }

    /// <summary>The champion's numeric metrics; null when there is no champion (a first model) or the summary does not say.</summary>
    public static JsonObject? Champion(JsonNode? summary) =>
        summary is JsonObject s && Side(s, "champion") is { } c ? Numbers(c["metrics"] ?? c) : null;

    /// <summary>The metric the decision turns on (an evaluate summary's <c>primary_metric</c>), if named.</summary>
    public static string? PrimaryMetric(JsonNode? summary) =>
        summary is JsonObject s && s["primary_metric"] is JsonValue v && v.TryGetValue<string>(out var name) ? name : null;

    /// <summary>
    /// Each slice on the primary metric against the champion's same slice; those where the candidate is worse (by
    /// the summary's <c>maximize</c>, higher-is-better by default) first, the largest drop first.
    /// </summary>
    public static IReadOnlyList<SliceComparison> Slices(JsonNode? summary)
    {
        if (summary is not JsonObject s || PrimaryMetric(s) is not { } metric || s["slices"] is not JsonArray mine) return [];
        var maximize = s["maximize"] is not JsonValue m || !m.TryGetValue<bool>(out var max) || max;
        var theirs = (Side(s, "champion")?["slices"] as JsonArray ?? []).OfType<JsonObject>()
            .GroupBy(Key).ToDictionary(g => g.Key, g => g.First());
        var list = new List<SliceComparison>();
        foreach (var slice in mine.OfType<JsonObject>())
        {
            var candidate = Number(slice["metrics"]?[metric]);
            var champion = theirs.TryGetValue(Key(slice), out var t) ? Number(t["metrics"]?[metric]) : null;
            var worse = candidate is { } c && champion is { } p && (maximize ? c < p : c > p);
            list.Add(new SliceComparison(slice["column"]?.ToString() ?? "", slice["value"]?.ToString() ?? "", (long)(Number(slice["rows"]) ?? 0), candidate, champion, worse));
        }
        return [.. list.OrderByDescending(x => x.Worse).ThenByDescending(x => x.Change is { } d ? (maximize ? -d : d) : double.MinValue)
            .ThenBy(x => x.Column, StringComparer.Ordinal).ThenBy(x => x.Value, StringComparer.Ordinal)];
    }

    private static (string, string) Key(JsonObject slice) => (slice["column"]?.ToString() ?? "", slice["value"]?.ToString() ?? "");

    private static JsonObject? Side(JsonObject s, string who) => s[who] as JsonObject ?? s["evaluation"]?[who] as JsonObject;

    private static JsonObject Numbers(JsonNode? node)
    {
        var result = new JsonObject();
        if (node is JsonObject o)
            foreach (var (key, value) in o)
                if (Number(value) is { } n) result[key] = n;
        return result;
    }

    private static double? Number(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number && double.IsFinite(v.GetValue<double>()) ? v.GetValue<double>() : null;
}
