using System.Collections.Concurrent;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Api.Endpoints;

/// <summary>
/// <c>GET /api/v1/runs/{id}/steps/{step}/metrics?metric=KEY</c>: the metric curves a step's tracked runs logged (a
/// training step's run, or one per sweep trial of a fan-out), per boosting round, read from the tracking server the
/// models API uses. A pipeline run's tracked runs are the nested runs of its MLflow parent run (tag
/// <c>pipelines.run_id</c>); those whose <c>pipelines.step_run_id</c> is the step's row or one of its items' are the step's.
/// </summary>
public static class RunMetricsEndpoints
{
    /// <summary>Metric histories fetched at once: enough to hide the round trips, few enough not to flood the tracking server.</summary>
    private const int Parallelism = 8;

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/runs/{id:guid}/steps/{step}/metrics", async (Guid id, string step, HttpContext http, ReadStore reads, ModelRegistry registry, CancellationToken ct) =>
        {
            if (!MetricCurves.TryMetric(http.Request.Query["metric"].ToString(), out var metric, out var why)) return Problems.Field("metric", why!);
            var sr = await reads.StepRunIdAsync(id, step, ct);
            if (sr is null) return Problems.NotFound($"run {id} has no step '{step}'");
            var rows = (await reads.StepRunIdsAsync(sr.Value, ct)).Select(g => g.ToString()).ToHashSet(StringComparer.OrdinalIgnoreCase);
            return await ModelEndpoints.Guarded(async () =>
            {
                var client = (await registry.TrackingAsync(ct)).Client;
                var runs = await StepRunsAsync(client, id, rows, ct);
                var (wanted, truncated) = MetricCurves.Plan(runs, metric);
                var histories = new ConcurrentDictionary<int, IReadOnlyList<Metric>>();
                await Parallel.ForEachAsync(Enumerable.Range(0, wanted.Count), new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct },
                    async (i, token) => histories[i] = await client.GetMetricHistoryAsync(wanted[i].Run.RunId, wanted[i].Key, token));
                var series = new JsonArray();
                for (var i = 0; i < wanted.Count; i++)
                {
                    var points = histories[i].OrderBy(m => m.Step).ThenBy(m => m.Timestamp).ToList();
                    if (points.Count == 0) continue;
                    series.Add(new JsonObject
                    {
                        ["label"] = wanted[i].Run.Label,
                        ["runId"] = wanted[i].Run.RunId,
                        ["metric"] = wanted[i].Key,
                        ["points"] = new JsonArray([.. points.Select(p => (JsonNode?)new JsonObject { ["step"] = p.Step, ["value"] = Finite(p.Value) })]),
                    });
                }
                return Results.Json(new JsonObject
                {
                    ["metric"] = metric,
                    ["metrics"] = new JsonArray([.. MetricCurves.Keys(runs).Select(k => (JsonNode?)JsonValue.Create(k))]),
                    ["runs"] = runs.Count,
                    ["truncated"] = truncated,
                    ["series"] = series,
                });
            });
        }).Requires(Role.Viewer).WithName("getStepMetrics");
    }

    // JSON has no NaN or infinity: such a round is left out of the curve rather than sent as a wrong number.
    private static JsonNode? Finite(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;

    private static async Task<List<TrialRun>> StepRunsAsync(IMlflowClient client, Guid runId, HashSet<string> stepRows, CancellationToken ct)
    {
        var experiments = new List<string>();
        string? token = null;
        do
        {
            var page = await client.SearchExperimentsAsync(maxResults: 1000, pageToken: token, ct: ct);
            experiments.AddRange(page.Items.Select(e => e.ExperimentId));
            token = page.NextPageToken;
        } while (token is not null);
        var found = new List<TrialRun>();
        if (experiments.Count == 0) return found;
        // A pipeline run has one parent run per experiment its steps tracked to (usually one).
        var parents = await client.SearchRunsAsync(new SearchRunsRequest
        {
            ExperimentIds = experiments, Filter = $"tags.`{PipelineTags.RunId}` = '{runId}'", MaxResults = 100,
        }, ct);
        foreach (var parent in parents.Items.Where(r => r.Data.Tag(MlflowTags.ParentRunId) is null))
            await foreach (var run in client.SearchAllRunsAsync(new SearchRunsRequest
            {
                ExperimentIds = [parent.Info.ExperimentId], Filter = $"tags.`{MlflowTags.ParentRunId}` = '{parent.Info.RunUuid}'", MaxResults = 1000,
            }, ct))
                if (run.Data.Tag(PipelineTags.StepRunId) is { } row && stepRows.Contains(row))
                    found.Add(new TrialRun(run.Info.RunUuid, run.Data.Tag(PipelineTags.Trial) ?? run.Info.RunName ?? run.Info.RunUuid[..8],
                        [.. (run.Data.Metrics ?? []).Select(m => m.Key)]));
        return found;
    }
}
