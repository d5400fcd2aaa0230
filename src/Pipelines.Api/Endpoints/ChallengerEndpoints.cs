using System.Globalization;
using Pipelines.Quality.Challenger;

namespace Pipelines.Api.Endpoints;

/// <summary>
/// A model's champion/challenger series: the batches the challenger shadow-scored (<c>challenger_batches</c>), each with
/// both models' realized metric, their difference, and what the promotion policy would answer with the evidence up
/// to that batch (the same pure <see cref="ChallengerRules.Decide"/> the <c>shadow_score</c> activity applies).
/// </summary>
public static class ChallengerEndpoints
{
    /// <summary>The newest batches shown; older ones still count as evidence for the verdicts.</summary>
    private const int MaxBatches = 500;

    public static void Map(RouteGroupBuilder api)
    {
        // ?monitor= (default: the model's name, as the shipped workflows name their monitors), and the policy's
        // metric, minBatches, margin, minLabelled (defaults: ChallengerPolicy's), since the policy lives in each
        // workflow's step rather than with the model.
        api.MapGet("/models/{name}/challenger", async (string name, HttpContext http, NpgsqlDataSource db, CancellationToken ct) =>
        {
            var q = http.Request.Query;
            var monitor = RunEndpoints.NullIfEmpty(q["monitor"]) ?? name;
            var defaults = new ChallengerPolicy();
            var metric = RunEndpoints.NullIfEmpty(q["metric"]) ?? defaults.Metric;
            if (!ChallengerPolicy.HigherIsBetter.ContainsKey(metric))
                return Problems.Field("metric", $"'{Requests.Clip(metric)}' is not a metric the policy compares; expected one of {string.Join(", ", ChallengerPolicy.HigherIsBetter.Keys)}");
            if (!Number(q["minBatches"], defaults.MinBatches, 1, 1000, out var minBatches))
                return Problems.Field("minBatches", $"expected a whole number from 1 to 1000, got '{Requests.Clip(q["minBatches"].ToString())}'");
            if (!Number(q["minLabelled"], defaults.MinLabelled, 1, long.MaxValue, out var minLabelled))
                return Problems.Field("minLabelled", $"expected a whole number of at least 1, got '{Requests.Clip(q["minLabelled"].ToString())}'");
            var marginText = RunEndpoints.NullIfEmpty(q["margin"]);
            var margin = defaults.Margin;
            if (marginText is not null && (!double.TryParse(marginText, NumberStyles.Float, CultureInfo.InvariantCulture, out margin) || !(margin >= 0) || double.IsInfinity(margin)))
                return Problems.Field("margin", $"expected a number of 0 or more, got '{Requests.Clip(marginText)}'");
            var policy = new ChallengerPolicy((int)minBatches, metric, margin, minLabelled);

            var rows = await Sql.ListAsync(db, """
                SELECT run_id, step_id, batch, recorded_at, champion_version, challenger_version, rows, agreement, prediction_psi,
                       labelled, champion_metrics::text AS champion_metrics, challenger_metrics::text AS challenger_metrics
                FROM challenger_batches WHERE monitor = @monitor
                ORDER BY recorded_at, run_id, step_id
                """, r => (Run: r.Get<Guid>("run_id"), Step: r.Get<string>("step_id"), At: r.TimeAt("recorded_at"),
                    Psi: r.GetOrDefault<double?>("prediction_psi"),
                    Evidence: new ShadowEvidence(r.Get<string>("batch"), r.Get<string>("champion_version"), r.Get<string>("challenger_version"),
                        r.Get<long>("rows"), r.Get<double>("agreement"), r.Get<long>("labelled"),
                        Metrics(r.StringOrNull("champion_metrics")), Metrics(r.StringOrNull("challenger_metrics")))), ct, Sql.Text("monitor", monitor));

            var items = new JsonArray();
            var metricNames = new SortedSet<string>(StringComparer.Ordinal);
            for (var i = Math.Max(0, rows.Count - MaxBatches); i < rows.Count; i++)
            {
                var (run, step, at, psi, e) = rows[i];
                foreach (var k in e.ChampionMetrics?.Keys ?? []) if (ChallengerPolicy.HigherIsBetter.ContainsKey(k)) metricNames.Add(k);
                // The verdict as of this batch: the evidence recorded up to it, for its own pair of versions.
                var decision = ChallengerRules.Decide(rows.Take(i + 1).Select(x => x.Evidence), e.ChampionVersion, e.ChallengerVersion, policy);
                double? champion = Value(e.ChampionMetrics, metric), challenger = Value(e.ChallengerMetrics, metric);
                items.Add(new JsonObject
                {
                    ["runId"] = run, ["step"] = step, ["batch"] = e.Batch, ["recordedAt"] = at,
                    ["championVersion"] = e.ChampionVersion, ["challengerVersion"] = e.ChallengerVersion,
                    ["rows"] = e.Rows, ["agreement"] = e.Agreement, ["predictionPsi"] = psi, ["labelled"] = e.Labelled,
                    ["champion"] = champion, ["challenger"] = challenger,
                    // Positive when the challenger is better, whichever way the metric points.
                    ["difference"] = champion is { } a && challenger is { } b ? (ChallengerPolicy.HigherIsBetter[metric] ? b - a : a - b) : null,
                    ["evidence"] = decision.EvidenceBatches, ["propose"] = decision.Propose, ["reason"] = decision.Reason,
                    ["championMetrics"] = Json(e.ChampionMetrics), ["challengerMetrics"] = Json(e.ChallengerMetrics),
                });
            }
            return Results.Json(new JsonObject
            {
                ["model"] = name, ["monitor"] = monitor,
                ["policy"] = new JsonObject
                {
                    ["metric"] = metric, ["higherIsBetter"] = ChallengerPolicy.HigherIsBetter[metric], ["minBatches"] = policy.MinBatches,
                    ["margin"] = policy.Margin, ["minLabelled"] = policy.MinLabelled,
                },
                ["metrics"] = new JsonArray([.. metricNames.Select(m => (JsonNode?)JsonValue.Create(m))]),
                ["total"] = rows.Count,
                ["items"] = items,
            });
        }).Requires(Role.Viewer).WithName("getModelChallenger");
    }

    private static bool Number(Microsoft.Extensions.Primitives.StringValues v, long fallback, long min, long max, out long value)
    {
        var text = RunEndpoints.NullIfEmpty(v);
        value = fallback;
        return text is null || (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max);
    }

    private static Dictionary<string, double>? Metrics(string? json)
    {
        if (json is null || JsonNode.Parse(json) is not JsonObject o) return null;
        var d = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (k, v) in o)
            if (v is JsonValue jv && jv.TryGetValue<double>(out var x)) d[k] = x;
        return d;
    }

    private static double? Value(IReadOnlyDictionary<string, double>? metrics, string metric) =>
        metrics is not null && metrics.TryGetValue(metric, out var v) && double.IsFinite(v) ? v : null;

    private static JsonObject? Json(IReadOnlyDictionary<string, double>? metrics) =>
        metrics is null ? null : new JsonObject([.. metrics.Where(m => double.IsFinite(m.Value)).Select(m => KeyValuePair.Create(m.Key, (JsonNode?)m.Value))]);
}
