using Pipelines.Activities.Hosting;
using Pipelines.Core.Activities;
using Pipelines.Tracking.Model;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Activities.Model;

/// <summary>
/// The MLflow parent run of the current pipeline run: trials, evaluations and promotions of one pipeline run land
/// under it. Found by the <c>pipelines.run_id</c> tag, created on first use.
/// </summary>
/// <remarks>
/// Creation is serialized per pipeline run inside one worker process (a semaphore per run id). Two processes
/// racing on the very first tracked step can still create two parent runs: we then converge on the oldest one
/// (earliest start time, then smallest run id) on every later lookup, and the extra run stays empty apart from
/// what the racing step logged into it. Activities carry no database connection, so a PostgreSQL advisory lock
/// across processes is not available here; the engine could create the parent run before the first step instead.
/// </remarks>
public static class ModelTracking
{
    /// <summary>The experiment name: input <c>experiment</c> (workflows pass <c>${{ run.workflow }}</c>), else "pipelines".</summary>
    public static string ExperimentOf(ActivityContext context) =>
        context.Inputs["experiment"]?.GetValue<string>() is { Length: > 0 } e ? e
        : context.Run["workflow"]?.GetValue<string>() is { Length: > 0 } w ? w : "pipelines";

    /// <summary>Gets or creates the parent run; null when the worker has no tracking configured.</summary>
    public static async Task<TrackedRun?> ParentRunAsync(ActivityContext context, CancellationToken ct)
    {
        var services = context.Services?.GetService(typeof(ActivityServices)) as ActivityServices;
        if (services?.Tracking is not { } tracking) return null;
        var experiment = ExperimentOf(context);
        var gate = services.ParentRunLocks.GetOrAdd(context.RunId, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            var experimentId = await tracking.Client.GetOrCreateExperimentAsync(experiment, ct: ct);
            if (await FindAsync(tracking, experimentId, context.RunId, ct) is { } found) return found;
            // The workflow's parameters become the MLflow run's params; name, run id and version its tags.
            var parameters = (context.Run["params"] as System.Text.Json.Nodes.JsonObject ?? new())
                .ToDictionary(p => p.Key, p => p.Value is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<string>(out var s) ? s : p.Value?.ToJsonString() ?? "");
            return await tracking.StartWorkflowRunAsync(new WorkflowRunStart
            {
                ExperimentName = experiment,
                WorkflowName = context.Run["workflow"]?.GetValue<string>() ?? experiment,
                PipelineRunId = context.RunId.ToString(),
                SourceVersion = context.Run["workflow_version"]?.GetValue<string>(),
                User = context.Run["created_by"]?.GetValue<string>(),
                Parameters = parameters,
            }, ct);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Records the named inputs that are artifact references as MLflow datasets of the parent run.</summary>
    public static async Task LogDatasetsAsync(ActivityContext context, TrackedRun parent, IEnumerable<string> inputNames, CancellationToken ct)
    {
        if ((context.Services?.GetService(typeof(ActivityServices)) as ActivityServices)?.Tracking is not { } tracking) return;
        foreach (var name in inputNames)
            if (context.Inputs[name] is System.Text.Json.Nodes.JsonObject r && ArtifactRefs.IsReference(r))
                await tracking.LogInputAsync(parent, r["name"]?.GetValue<string>() ?? name, r["uri"]!.GetValue<string>(),
                    r["sha256"]!.GetValue<string>(), name, ct: ct);
    }

    private static async Task<TrackedRun?> FindAsync(PipelineTracking tracking, string experimentId, Guid runId, CancellationToken ct)
    {
        var page = await tracking.Client.SearchRunsAsync(new SearchRunsRequest
        {
            ExperimentIds = [experimentId],
            Filter = $"tags.`{PipelineTags.RunId}` = '{runId}'",
            MaxResults = 50,
        }, ct);
        var oldest = page.Items
            .Where(r => r.Data.Tag(MlflowTags.ParentRunId) is null)
            .OrderBy(r => r.Info.StartTime ?? long.MaxValue).ThenBy(r => r.Info.RunId, StringComparer.Ordinal)
            .FirstOrDefault();
        return oldest is null ? null : new TrackedRun(experimentId, oldest.Info.RunId, oldest.Info.ArtifactUri!);
    }
}
