using System.Collections.Concurrent;
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
    private static readonly ConcurrentDictionary<Guid, SemaphoreSlim> Locks = new();

    /// <summary>The experiment name: input <c>experiment</c> (workflows pass <c>${{ run.workflow }}</c>), else "pipelines".</summary>
    public static string ExperimentOf(ActivityContext context) =>
        context.Inputs["experiment"]?.GetValue<string>() is { Length: > 0 } e ? e : "pipelines";

    /// <summary>Gets or creates the parent run; null when the worker has no tracking configured.</summary>
    public static async Task<TrackedRun?> ParentRunAsync(ActivityContext context, CancellationToken ct)
    {
        var services = context.Services?.GetService(typeof(ActivityServices)) as ActivityServices;
        if (services?.Tracking is not { } tracking) return null;
        var experiment = ExperimentOf(context);
        var gate = Locks.GetOrAdd(context.RunId, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            var experimentId = await tracking.Client.GetOrCreateExperimentAsync(experiment, ct: ct);
            if (await FindAsync(tracking, experimentId, context.RunId, ct) is { } found) return found;
            return await tracking.StartWorkflowRunAsync(new WorkflowRunStart
            {
                ExperimentName = experiment,
                WorkflowName = experiment,
                PipelineRunId = context.RunId.ToString(),
            }, ct);
        }
        finally
        {
            gate.Release();
        }
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
