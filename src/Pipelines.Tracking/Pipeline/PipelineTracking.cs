using System.Text.Json;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;

namespace Pipelines.Tracking.Pipeline;

/// <summary>A workflow run as MLflow sees it: the parent run of its trials.</summary>
public sealed record TrackedRun(string ExperimentId, string RunId, string ArtifactUri);

public sealed record WorkflowRunStart
{
    public required string ExperimentName { get; init; }
    public required string WorkflowName { get; init; }
    /// <summary>The engine's run id, recorded as a tag so MLflow runs lead back to Pipelines runs.</summary>
    public required string PipelineRunId { get; init; }
    public string? SourceVersion { get; init; }
    public string? User { get; init; }
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();
}

/// <summary>One sweep trial: its hyperparameters and per-iteration metric values (index = step).</summary>
public sealed record TrialResult
{
    public required string Name { get; init; }
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, IReadOnlyList<double>> IterationMetrics { get; init; } = new Dictionary<string, IReadOnlyList<double>>();
    public IReadOnlyDictionary<string, double> FinalMetrics { get; init; } = new Dictionary<string, double>();
    public string Status { get; init; } = RunStatus.Finished;
    /// <summary>Tags set when the run is created (besides the parent link).</summary>
    public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>();
    /// <summary>Who trained it (the run's <c>user_id</c> and <c>mlflow.user</c>); null leaves them to the server.</summary>
    public string? User { get; init; }
    /// <summary>An MLflow model directory uploaded below <see cref="ModelArtifactPath"/> before the run ends.</summary>
    public string? ModelDirectory { get; init; }
    public string ModelArtifactPath { get; init; } = PipelineTracking.ModelArtifactPath;
}

/// <summary>What a promotion or rollback changed: the champion before and after, and who did it, when and why.</summary>
public sealed record PromotionResult(string Model, string? PreviousChampion, string Champion, string By, DateTimeOffset At, string Reason);

/// <summary>
/// The tracking side of the pipeline: workflow runs as MLflow parent runs, sweep trials as nested runs,
/// reports as artifacts, models registered as versions, and promotion by aliases — <c>champion</c> is the
/// serving version, <c>previous-champion</c> the one it replaced, so rollback is one call.
/// </summary>
public sealed class PipelineTracking(IMlflowClient client, TimeProvider? time = null)
{
    public const string Champion = "champion";
    public const string PreviousChampion = "previous-champion";
    /// <summary>Where a run keeps its model directory, as mlflow.&lt;flavor&gt;.log_model(…, "model") does.</summary>
    public const string ModelArtifactPath = "model";

    /// <summary>The source a version registered from a run's model directory has: accepted by MLflow and the built-in endpoint alike.</summary>
    public static string RunModelUri(string runId, string artifactPath = ModelArtifactPath) => $"runs:/{runId}/{artifactPath.Trim('/')}";
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>The client underneath, for registry and search calls this class does not wrap.</summary>
    public IMlflowClient Client => client;
    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    public async Task<TrackedRun> StartWorkflowRunAsync(WorkflowRunStart start, CancellationToken ct = default)
    {
        var experimentId = await client.GetOrCreateExperimentAsync(start.ExperimentName, ct: ct);
        var user = start.User is { Length: > 0 } u ? u : Environment.UserName;
        var tags = new List<Tag>
        {
            new(MlflowTags.User, user),
            new(MlflowTags.SourceName, start.WorkflowName),
            new(MlflowTags.SourceType, "JOB"),
            new(PipelineTags.Workflow, start.WorkflowName),
            new(PipelineTags.RunId, start.PipelineRunId),
        };
        if (start.SourceVersion is { Length: > 0 } v)
        {
            tags.Add(new Tag(MlflowTags.SourceGitCommit, v));
            tags.Add(new Tag(PipelineTags.SourceVersion, v));
        }
        var run = await client.CreateRunAsync(new CreateRunRequest
        {
            ExperimentId = experimentId,
            RunName = $"{start.WorkflowName}-{start.PipelineRunId}",
            StartTime = Now,
            UserId = user,
            Tags = tags,
        }, ct);
        if (start.Parameters.Count > 0)
            await client.LogBatchAsync(run.Info.RunId, parameters: start.Parameters.Select(p => new Param(p.Key, p.Value)).ToList(), ct: ct);
        return new TrackedRun(experimentId, run.Info.RunId, run.Info.ArtifactUri!);
    }

    /// <summary>
    /// Records a finished trial as a nested run of <paramref name="parent"/>: params, per-step and final metrics,
    /// tags, and its model directory (uploaded before the run ends, so a FINISHED run has its model).
    /// </summary>
    public async Task<TrackedRun> LogTrialAsync(TrackedRun parent, TrialResult trial, CancellationToken ct = default)
    {
        var now = Now;
        List<Tag> tags = [new(MlflowTags.ParentRunId, parent.RunId), .. trial.Tags.Select(t => new Tag(t.Key, t.Value))];
        if (trial.User is { Length: > 0 } user) tags.Add(new Tag(MlflowTags.User, user));
        var run = await client.CreateRunAsync(new CreateRunRequest
        {
            ExperimentId = parent.ExperimentId,
            RunName = trial.Name,
            StartTime = now,
            UserId = trial.User,
            Tags = tags,
        }, ct);
        var metrics = trial.IterationMetrics
            .SelectMany(m => m.Value.Select((value, step) => new Metric(m.Key, value, now, step)))
            .Concat(trial.FinalMetrics.Select(m => new Metric(m.Key, m.Value, now)))
            .ToList();
        await client.LogBatchAsync(run.Info.RunId, metrics, trial.Parameters.Select(p => new Param(p.Key, p.Value)).ToList(), ct: ct);
        var tracked = new TrackedRun(parent.ExperimentId, run.Info.RunId, run.Info.ArtifactUri!);
        if (trial.ModelDirectory is { } dir) await UploadDirectoryAsync(tracked, trial.ModelArtifactPath, dir, ct);
        await client.UpdateRunAsync(run.Info.RunId, trial.Status, Now, ct: ct);
        return tracked;
    }

    public Task LogMetricsAsync(TrackedRun run, IReadOnlyDictionary<string, double> metrics, long step = 0, CancellationToken ct = default) =>
        client.LogBatchAsync(run.RunId, metrics.Select(m => new Metric(m.Key, m.Value, Now, step)).ToList(), ct: ct);

    /// <summary>
    /// Records an input dataset with MLflow's runs/log-inputs: the dataset's digest is the content hash cut to
    /// MLflow's 36-character limit (the full hash stays in the source JSON), <paramref name="context"/> becomes the
    /// <c>mlflow.data.context</c> input tag, <paramref name="schema"/> and <paramref name="profile"/> are JSON as MLflow
    /// stores them (<c>{"mlflow_colspec": [...]}</c>, <c>{"num_rows": …, "num_elements": …}</c>). The source is one
    /// MLflow's <c>mlflow.data.get_source()</c> recognises: <c>http</c> (<c>{"url"}</c>) for http(s) URIs such as
    /// blob URLs, otherwise <c>local</c> (<c>{"uri"}</c>).
    /// </summary>
    public Task LogInputAsync(TrackedRun run, string name, string uri, string contentHash, string? context = null,
        string? schema = null, string? profile = null, CancellationToken ct = default)
    {
        var digest = contentHash.StartsWith("sha256:", StringComparison.Ordinal) ? contentHash["sha256:".Length..] : contentHash;
        var (sourceType, source) = DatasetSource(uri, contentHash);
        var dataset = new Dataset
        {
            Name = name,
            Digest = digest.Length > DatasetDigestLength ? digest[..DatasetDigestLength] : digest,
            SourceType = sourceType,
            Source = source,
            Schema = schema,
            Profile = profile,
        };
        IReadOnlyList<Tag>? tags = context is null ? null : [new Tag(PipelineTags.DatasetContext, context)];
        return client.LogInputsAsync(run.RunId, [new DatasetInput { Tags = tags, Dataset = dataset }], ct);
    }

    /// <summary>MLflow's source type and source JSON for a dataset at <paramref name="uri"/> (see <see cref="LogInputAsync"/>).</summary>
    public static (string Type, string Json) DatasetSource(string uri, string contentHash)
    {
        var http = uri.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || uri.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
        return http
            ? ("http", JsonSerializer.Serialize(new Dictionary<string, string> { ["url"] = uri, ["content_hash"] = contentHash }))
            : ("local", JsonSerializer.Serialize(new Dictionary<string, string> { ["uri"] = uri, ["content_hash"] = contentHash }));
    }

    private const int DatasetDigestLength = 36;

    public async Task UploadArtifactAsync(TrackedRun run, string artifactPath, Stream content, CancellationToken ct = default) =>
        await client.UploadArtifactAsync(run.ArtifactUri, artifactPath, content, ct);

    /// <summary>Uploads every file under <paramref name="directory"/> below <paramref name="artifactPath"/>.</summary>
    public async Task UploadDirectoryAsync(TrackedRun run, string artifactPath, string directory, CancellationToken ct = default)
    {
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(directory, file).Replace(Path.DirectorySeparatorChar, '/');
            await using var stream = File.OpenRead(file);
            await client.UploadArtifactAsync(run.ArtifactUri, $"{artifactPath.TrimEnd('/')}/{relative}", stream, ct);
        }
    }

    /// <summary>
    /// The artifact URI a model version's source names: <c>runs:/RUN/PATH</c> through the run's artifact root, an
    /// <c>mlflow-artifacts:</c> URI as it is. Other sources (a local path, <c>models:/</c>) cannot be fetched here.
    /// </summary>
    public async Task<string> ModelSourceUriAsync(string source, CancellationToken ct = default)
    {
        if (source.StartsWith("runs:/", StringComparison.Ordinal))
        {
            var rest = source["runs:/".Length..].TrimStart('/');
            var slash = rest.IndexOf('/');
            var runId = slash < 0 ? rest : rest[..slash];
            var path = slash < 0 ? "" : rest[(slash + 1)..].Trim('/');
            var run = await client.GetRunAsync(runId, ct);
            var root = run.Info.ArtifactUri ?? throw new InvalidOperationException($"run {runId} has no artifact URI");
            return path.Length == 0 ? root : $"{root.TrimEnd('/')}/{path}";
        }
        if (source.StartsWith("mlflow-artifacts:", StringComparison.Ordinal)) return source;
        throw new NotSupportedException($"model source '{source}' is neither a runs:/ nor an mlflow-artifacts: URI, so it cannot be downloaded through the tracking server");
    }

    /// <summary>Downloads every file below <paramref name="artifactUri"/> into <paramref name="directory"/>, keeping the layout.</summary>
    public async Task DownloadDirectoryAsync(string artifactUri, string directory, CancellationToken ct = default)
    {
        Directory.CreateDirectory(directory);
        foreach (var entry in await client.ListArtifactsAsync(artifactUri, ct: ct))
        {
            // The proxy lists names relative to the listed folder (MLflow's mlflow-artifacts list does too).
            var name = entry.Path.Split('/')[^1];
            if (name is "" or "." or ".." || name.Contains('\\')) throw new InvalidDataException($"artifact listing of '{artifactUri}' has an unsafe name '{entry.Path}'");
            var child = $"{artifactUri.TrimEnd('/')}/{name}";
            if (entry.IsDir)
            {
                await DownloadDirectoryAsync(child, Path.Combine(directory, name), ct);
                continue;
            }
            await using var source = await client.DownloadArtifactAsync(artifactUri, name, ct);
            await using var target = File.Create(Path.Combine(directory, name));
            await source.CopyToAsync(target, ct);
        }
    }

    public async Task FinishAsync(TrackedRun run, string status = RunStatus.Finished, CancellationToken ct = default) =>
        await client.UpdateRunAsync(run.RunId, status, Now, ct: ct);

    /// <summary>
    /// Registers the model directory at <paramref name="artifactPath"/> of <paramref name="run"/> as a new version
    /// (source <c>runs:/RUN/PATH</c>, which the real MLflow server and the built-in endpoint both accept and resolve
    /// for <c>models:/</c> loads); waits until READY.
    /// </summary>
    public async Task<ModelVersion> RegisterModelAsync(string modelName, TrackedRun run, string artifactPath = ModelArtifactPath, string? description = null,
        IReadOnlyList<Tag>? tags = null, CancellationToken ct = default)
    {
        try
        {
            await client.CreateRegisteredModelAsync(modelName, ct: ct);
        }
        catch (ResourceAlreadyExistsException)
        {
        }
        var version = await client.CreateModelVersionAsync(new CreateModelVersionRequest(modelName,
            RunModelUri(run.RunId, artifactPath), run.RunId, tags, Description: description), ct);
        return await client.WaitForModelVersionReadyAsync(modelName, version.Version, ct: ct);
    }

    /// <summary>
    /// Tag on the version being promoted while a promotion is under way; its value is the champion it replaces
    /// (empty for none). Set before any alias moves and deleted last, so a promotion interrupted after
    /// <c>champion</c> moved (a 5xx whose request the server did carry out, a stopped server, a killed worker) is
    /// seen as unfinished and a retried promote completes it instead of taking the moved alias as done.
    /// </summary>
    public const string PromotionPending = "pipelines.promotion_pending";
    /// <summary>As <see cref="PromotionPending"/> for a rollback: on the version being restored, naming the champion rolled back.</summary>
    public const string RollbackPending = "pipelines.rollback_pending";

    /// <summary>
    /// Points <c>champion</c> at <paramref name="version"/>; the version it pointed at becomes <c>previous-champion</c>.
    /// Who, when and why are tagged on the promoted version and on the model. Order, so that any prefix leaves a
    /// consistent registry: the pending tag, <c>previous-champion</c>, <c>champion</c> (one call: the switch),
    /// who/when/why, then the pending tag removed. Until <c>champion</c> moves, the old champion serves and a
    /// retry starts over; after it, a retry finds the pending tag and finishes.
    /// </summary>
    public async Task<PromotionResult> PromoteAsync(string modelName, string version, string by, string reason, CancellationToken ct = default)
    {
        var target = await client.GetModelVersionAsync(modelName, version, ct); // fails early on an unknown version
        var model = await client.GetRegisteredModelAsync(modelName, ct);
        var current = model.VersionOf(Champion);
        var at = _time.GetUtcNow();
        if (current == version)
        {
            if (TagOf(target, PromotionPending) is not { } replaced)
                return new PromotionResult(modelName, model.VersionOf(PreviousChampion), version, by, at, reason);
            // champion moved, the rest did not: finish what the interrupted promotion started.
            var former = replaced.Length == 0 ? null : replaced;
            await Record(modelName, version, "promoted", by, at, reason, ct);
            await client.DeleteModelVersionTagAsync(modelName, version, PromotionPending, ct);
            return new PromotionResult(modelName, former, version, by, at, reason);
        }
        await client.SetModelVersionTagAsync(modelName, version, PromotionPending, current ?? "", ct);
        // previous-champion first: a stop in between leaves the old champion serving and still recorded.
        if (current is not null) await client.SetAliasAsync(modelName, PreviousChampion, current, ct);
        await client.SetAliasAsync(modelName, Champion, version, ct);
        await Record(modelName, version, "promoted", by, at, reason, ct);
        await client.DeleteModelVersionTagAsync(modelName, version, PromotionPending, ct);
        return new PromotionResult(modelName, current, version, by, at, reason);
    }

    /// <summary>
    /// Moves <c>champion</c> back to <c>previous-champion</c> and removes that alias, so a second rollback cannot undo
    /// the first. Interrupted after <c>champion</c> moved, a retried rollback finishes it (see <see cref="RollbackPending"/>).
    /// </summary>
    public async Task<PromotionResult> RollbackAsync(string modelName, string by, string reason, CancellationToken ct = default)
    {
        var model = await client.GetRegisteredModelAsync(modelName, ct);
        var previous = model.VersionOf(PreviousChampion);
        var current = model.VersionOf(Champion);
        var at = _time.GetUtcNow();
        if (current is not null && (previous is null || previous == current)
            && TagOf(await client.GetModelVersionAsync(modelName, current, ct), RollbackPending) is { } rolledBack)
        {
            // champion already points at the restored version: finish the interrupted rollback.
            if (previous is not null) await client.DeleteAliasAsync(modelName, PreviousChampion, ct);
            return await FinishRollback(modelName, rolledBack.Length == 0 ? null : rolledBack, current, by, at, reason, ct);
        }
        if (previous is null) throw new InvalidOperationException($"model '{modelName}' has no '{PreviousChampion}' to roll back to");
        await client.SetModelVersionTagAsync(modelName, previous, RollbackPending, current ?? "", ct);
        await client.SetAliasAsync(modelName, Champion, previous, ct);
        await client.DeleteAliasAsync(modelName, PreviousChampion, ct);
        return await FinishRollback(modelName, current, previous, by, at, reason, ct);
    }

    private async Task<PromotionResult> FinishRollback(string modelName, string? rolledBack, string restored, string by, DateTimeOffset at, string reason, CancellationToken ct)
    {
        if (rolledBack is not null) await Record(modelName, rolledBack, "rolled_back", by, at, reason, ct);
        await Record(modelName, restored, "restored", by, at, reason, ct);
        await client.DeleteModelVersionTagAsync(modelName, restored, RollbackPending, ct);
        return new PromotionResult(modelName, rolledBack, restored, by, at, reason);
    }

    private static string? TagOf(ModelVersion version, string key) => version.Tags?.FirstOrDefault(t => t.Key == key)?.Value;

    /// <summary>
    /// The version of <paramref name="modelName"/> made from the artifact tagged <paramref name="tagKey"/> =
    /// <paramref name="tagValue"/>: an existing READY one is reused; a create that the server carried out but whose
    /// answer was lost (a 5xx, a dropped connection, retried by the client or by the step) leaves extra versions
    /// with the same tag — those without an alias are deleted, as are versions whose registration failed — and
    /// when there is none, <paramref name="create"/> makes it and the result is checked again.
    /// </summary>
    public async Task<ModelVersion> VersionForArtifactAsync(string modelName, string tagKey, string tagValue,
        Func<CancellationToken, Task<ModelVersion>> create, Action<string>? log = null, CancellationToken ct = default)
    {
        for (var pass = 0; ; pass++)
        {
            var mine = new List<ModelVersion>();
            string? token = null;
            do
            {
                var page = await client.SearchModelVersionsAsync($"name='{modelName.Replace("'", "''")}'", maxResults: 1000, pageToken: token, ct: ct);
                mine.AddRange(page.Items.Where(v => TagOf(v, tagKey) == tagValue));
                token = page.NextPageToken;
            } while (token is not null);
            mine = mine.OrderBy(v => long.Parse(v.Version)).ToList();
            ModelVersion? keep = null;
            foreach (var v in mine)
            {
                if (v.Status == ModelVersionStatus.FailedRegistration && v.Aliases is not { Count: > 0 })
                {
                    log?.Invoke($"deleting {modelName} v{v.Version}: its registration failed ({v.StatusMessage})");
                    await client.DeleteModelVersionAsync(modelName, v.Version, ct);
                    continue;
                }
                // An aliased duplicate is in use: prefer it, whatever its number.
                if (keep is null || (v.Aliases is { Count: > 0 } && keep.Aliases is not { Count: > 0 })) keep = v;
            }
            foreach (var v in mine.Where(v => keep is not null && v.Version != keep.Version && v.Status != ModelVersionStatus.FailedRegistration
                                              && v.Aliases is not { Count: > 0 }))
            {
                log?.Invoke($"deleting {modelName} v{v.Version}: a duplicate of v{keep!.Version} left by a retried create");
                await client.DeleteModelVersionAsync(modelName, v.Version, ct);
            }
            if (keep is not null) return await client.WaitForModelVersionReadyAsync(modelName, keep.Version, ct: ct);
            if (pass > 0) throw new InvalidOperationException($"model version of {modelName} with {tagKey}={tagValue} was created but cannot be found");
            await create(ct);
        }
    }

    private async Task Record(string model, string version, string what, string by, DateTimeOffset at, string reason, CancellationToken ct)
    {
        var when = at.ToString("O");
        await client.SetModelVersionTagAsync(model, version, $"pipelines.{what}_by", by, ct);
        await client.SetModelVersionTagAsync(model, version, $"pipelines.{what}_at", when, ct);
        await client.SetModelVersionTagAsync(model, version, $"pipelines.{what}_reason", reason, ct);
        await client.SetRegisteredModelTagAsync(model, "pipelines.last_change", $"{what} v{version} by {by} at {when}: {reason}", ct);
    }
}

public static class PipelineTags
{
    public const string Workflow = "pipelines.workflow";
    public const string RunId = "pipelines.run_id";
    public const string SourceVersion = "pipelines.source_version";
    /// <summary>On a trial's or training's nested run: the engine's step row (a fan-out item's own row) it came from.</summary>
    public const string StepRunId = "pipelines.step_run_id";
    /// <summary>On a trial's nested run: the trial's name (the run view's curve label).</summary>
    public const string Trial = "pipelines.trial";
    /// <summary>MLflow's input tag saying what a dataset was used for (training, evaluation, …).</summary>
    public const string DatasetContext = "mlflow.data.context";
}
