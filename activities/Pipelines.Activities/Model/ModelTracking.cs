using Pipelines.Core.Activities.State;
using Pipelines.Tracking.Model;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Activities.Model;

/// <summary>
/// The MLflow parent run of the current pipeline run: trials, evaluations and promotions of one pipeline run land
/// under it. Created on first use and remembered, per tracking server, pipeline run and experiment, in the activity
/// services' <see cref="IOnceRegistry"/>.
/// </summary>
/// <remarks>
/// Steps of one pipeline run on different worker processes may all reach their first tracked call at once. On a
/// database (the PostgreSQL registry) exactly one of them creates the parent run, under a PostgreSQL
/// advisory lock on the key, and records its id before the lock is released; the others wait and read the record,
/// and later steps read it without asking MLflow. This holds whatever the tracking server is, built-in or an
/// external MLflow. A creator that dies between MLflow's create and its commit leaves a tagged run but no record;
/// the next creator searches by the <c>pipelines.run_id</c> tag first and adopts that run (the oldest, should
/// there be several from before this record existed). Without a database the registry is in-process, and "once"
/// holds only within one process.
/// </remarks>
public static class ModelTracking
{
    /// <summary>Parent runs are recorded under PREFIX/SERVER/PIPELINE_RUN_ID/EXPERIMENT (see <see cref="ParentRunCloser"/>).</summary>
    public const string ParentRunKeyPrefix = "mlflow.parent_run";

    /// <summary>The experiment name: input <c>experiment</c> (workflows pass <c>${{ run.workflow }}</c>), else "pipelines".</summary>
    public static string ExperimentOf(ActivityContext context) =>
        context.Inputs["experiment"]?.GetValue<string>() is { Length: > 0 } e ? e
        : context.Run["workflow"]?.GetValue<string>() is { Length: > 0 } w ? w : "pipelines";

    /// <summary>Gets or creates the parent run; null when the worker has no tracking configured.</summary>
    public static async Task<TrackedRun?> ParentRunAsync(ActivityContext context, CancellationToken ct)
    {
        var services = ActivityServices.TryFrom(context);
        if (services?.Tracking is not { } tracking) return null;
        var experiment = ExperimentOf(context);
        // Keyed by the server's identity, not its URI: processes hosting the built-in endpoint each listen on their
        // own port, yet share its database, and must share the parent run too.
        var record = await services.Once.GetOrCreateAsync($"{ParentRunKeyPrefix}/{services.TrackingServer}/{context.RunId}/{experiment}", async token =>
        {
            var experimentId = await tracking.Client.GetOrCreateExperimentAsync(experiment, ct: token);
            var run = await FindAsync(tracking, experimentId, context.RunId, token) ?? await StartAsync(tracking, context, experiment, token);
            return new JsonObject { ["experiment_id"] = run.ExperimentId, ["run_id"] = run.RunId, ["artifact_uri"] = run.ArtifactUri }.ToJsonString();
        }, ct);
        var json = JsonNode.Parse(record)!;
        return new TrackedRun(json["experiment_id"]!.GetValue<string>(), json["run_id"]!.GetValue<string>(), json["artifact_uri"]!.GetValue<string>());
    }

    private static Task<TrackedRun> StartAsync(PipelineTracking tracking, ActivityContext context, string experiment, CancellationToken ct)
    {
        // The workflow's parameters become the MLflow run's params; name, run id and version its tags.
        var parameters = (context.Run["params"] as JsonObject ?? new())
            .ToDictionary(p => p.Key, p => p.Value is JsonValue v && v.TryGetValue<string>(out var s) ? s : p.Value?.ToJsonString() ?? "");
        return tracking.StartWorkflowRunAsync(new WorkflowRunStart
        {
            ExperimentName = experiment,
            WorkflowName = context.Run["workflow"]?.GetValue<string>() ?? experiment,
            PipelineRunId = context.RunId.ToString(),
            SourceVersion = context.Run["workflow_version"]?.GetValue<string>(),
            User = context.Run["created_by"]?.GetValue<string>(),
            Parameters = parameters,
        }, ct);
    }

    /// <summary>Records the named inputs that are artifact references as MLflow datasets of the parent run.</summary>
    public static async Task LogDatasetsAsync(ActivityContext context, TrackedRun parent, IEnumerable<string> inputNames, CancellationToken ct)
    {
        if (ActivityServices.TryFrom(context) is not { Tracking: { } tracking } services) return;
        foreach (var name in inputNames)
            if (context.Inputs[name] is JsonObject r && ArtifactRefs.IsReference(r))
            {
                // Once per parent run and dataset: parallel trials logging the same dataset at once make the real
                // MLflow server (sqlite) fail with a UNIQUE constraint on its datasets table.
                var sha = r["sha256"]!.GetValue<string>();
                await services.Once.GetOrCreateAsync($"mlflow.dataset/{services.TrackingServer}/{parent.RunId}/{name}/{sha}", async token =>
                {
                    var record = Guid.TryParse(r["artifact"]!.GetValue<string>(), out var id) ? await services.Artifacts.Registry.GetAsync(id, token) : null;
                    var (schema, profile) = DatasetSchema(record?.SchemaJson, record?.RowCount ?? Pipelines.Ml.Tuning.JsonNumber.Long(r["rows"]));
                    await tracking.LogInputAsync(parent, r["name"]?.GetValue<string>() ?? name, r["uri"]!.GetValue<string>(), sha, name, schema, profile, token);
                    return "logged";
                }, ct);
            }
    }

    /// <summary>
    /// MLflow's dataset schema (<c>{"mlflow_colspec": [{type, name, required}]}</c>, as <c>mlflow.data.from_pandas</c>
    /// writes it) and profile (<c>{"num_rows", "num_elements"}</c>) of a table artifact from its registered schema
    /// (name, type, nullable per column) and row count; nulls when the artifact is not a table.
    /// </summary>
    public static (string? Schema, string? Profile) DatasetSchema(string? schemaJson, long? rows)
    {
        if (schemaJson is null || JsonNode.Parse(schemaJson) is not JsonArray columns) return (null, null);
        var specs = new JsonArray();
        foreach (var c in columns)
        {
            var type = c?["type"]?.GetValue<string>() ?? "";
            var kindName = new string(type.TakeWhile(char.IsLetterOrDigit).ToArray());
            var mlflowType = Enum.TryParse<Pipelines.Data.Tables.TypeKind>(kindName, ignoreCase: true, out var kind)
                ? Pipelines.Ml.Packaging.MlflowModelDirectory.MlflowType(new Pipelines.Data.Tables.DataType(kind))
                : "string";
            specs.Add(new JsonObject { ["type"] = mlflowType, ["name"] = c?["name"]?.GetValue<string>(), ["required"] = true });
        }
        var schema = new JsonObject { ["mlflow_colspec"] = specs }.ToJsonString();
        var profile = rows is { } n ? new JsonObject { ["num_rows"] = n, ["num_elements"] = n * columns.Count }.ToJsonString() : null;
        return (schema, profile);
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
