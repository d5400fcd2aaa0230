using Pipelines.Ml.Tuning;
using Pipelines.Core.Monitoring;
using Pipelines.Quality.Challenger;

namespace Pipelines.Activities.Monitoring.Challenger;

/// <summary>What the champion/challenger activities share: the policy input, realized metrics of both models, and the decision over the stored series.</summary>
internal static class ChallengerSeries
{
    public sealed record Realized(long Labelled, IReadOnlyDictionary<string, double> Champion, IReadOnlyDictionary<string, double> Challenger);

    /// <summary>The policy from <c>{min_batches, metric, margin, min_labelled}</c>; unnamed fields keep their defaults.</summary>
    public static ChallengerPolicy? Policy(JsonNode? node)
    {
        if (node is null) return null;
        if (node is not JsonObject o) throw new ActivityException("policy: must be {min_batches, metric, margin, min_labelled}", retryable: false);
        var policy = new ChallengerPolicy();
        try
        {
            foreach (var (k, v) in o)
                policy = k switch
                {
                    "min_batches" => policy with { MinBatches = (int)(JsonNumber.Long(v) ?? policy.MinBatches) },
                    "metric" => policy with { Metric = v?.GetValue<string>() ?? policy.Metric },
                    "margin" => policy with { Margin = JsonNumber.Double(v) ?? policy.Margin },
                    "min_labelled" => policy with { MinLabelled = JsonNumber.Long(v) ?? policy.MinLabelled },
                    _ => throw new ArgumentException($"unknown field '{k}' (min_batches, metric, margin, min_labelled)"),
                };
            return policy.Validate();
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            throw new ActivityException($"policy: {e.Message}", retryable: false, e);
        }
    }

    /// <summary>The policy over the stored evidence of this pair.</summary>
    public static async Task<ChallengerDecision> DecideAsync(IMonitorStore store, string monitor, string championVersion, string challengerVersion,
        ChallengerPolicy policy, CancellationToken ct)
    {
        var series = await store.ChallengerBatchesAsync(monitor, championVersion, challengerVersion, ct);
        return ChallengerRules.Decide(series.Select(b => new ShadowEvidence(b.Batch, b.ChampionVersion, b.ChallengerVersion, b.Rows, b.Agreement, b.Labelled,
            Metrics(b.ChampionMetricsJson), Metrics(b.ChallengerMetricsJson))), championVersion, challengerVersion, policy);
    }

    /// <summary>
    /// The <c>labels</c> input (with <c>key</c>, <c>label</c>, <c>positive</c>, <c>order</c>) joined to the same keyed rows
    /// for both models: the two sets of metrics cover exactly the same labelled rows.
    /// </summary>
    public static async Task<Realized> RealizeAsync(ActivityContext context, IReadOnlyList<string> keys, IReadOnlyList<double> champion, IReadOnlyList<double> challenger,
        PredictionTask task, double threshold, Pipelines.Data.Csv.CsvOptions csv, CancellationToken ct)
    {
        if (task == PredictionTask.Multiclass) throw new ActivityException("labels: realized metrics are computed for binary and regression tasks", retryable: false);
        var key = context.RequireString("key");
        var label = context.Inputs["label"]?.GetValue<string>() ?? throw new ActivityException("labels: needs 'label', the label column of the labels", retryable: false);
        var binary = task == PredictionTask.Binary;
        var labels = await JoinLabelsActivity.ReadLabelsAsync(context, key, label, context.Inputs["order"]?.GetValue<string>(), csv, ct);
        var outcome = JoinLabelsActivity.Outcome(binary, context.Inputs["positive"]);
        List<ScoredRow> Scored(IReadOnlyList<double> p) => keys.Select((k, i) => new ScoredRow(k, "batch", p[i], [])).ToList();
        try
        {
            var a = LabelJoin.Join(Scored(champion), [], labels, outcome, binary, threshold, DuplicateLabels.Last).Slices.Single();
            var b = LabelJoin.Join(Scored(challenger), [], labels, outcome, binary, threshold, DuplicateLabels.Last).Slices.Single();
            return new Realized(a.Labelled, a.Metrics, b.Metrics);
        }
        catch (LabelJoinException e) { throw new ActivityException($"labels: {e.Message}", retryable: false, e); }
    }

    public static JsonObject MetricsJson(IReadOnlyDictionary<string, double> metrics) =>
        new(metrics.Where(m => double.IsFinite(m.Value)).Select(m => KeyValuePair.Create(m.Key, (JsonNode?)m.Value)));

    private static Dictionary<string, double>? Metrics(string? json) =>
        json is null ? null : JsonNode.Parse(json)!.AsObject().Where(kv => kv.Value is JsonValue).ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<double>());
}
