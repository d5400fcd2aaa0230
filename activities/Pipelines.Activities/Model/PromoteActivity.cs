using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Activities.Model;

/// <param name="Version">Read as text whatever its JSON type: a version may arrive as a number.</param>
/// <param name="ApprovedBy">Empty counts as not given.</param>
/// <param name="Reason">Null when not given (or empty): the default names the run.</param>
public sealed record PromoteInput(JsonNode? Model, string ModelName, string? Version, string? ClearAlias, string ApprovedBy, string? Reason)
    : IActivityInput<PromoteInput>
{
    public static JsonObject Schema { get; } = SchemaBuilder.Object()
        .Optional("model", SchemaBuilder.Any("The model artifact reference to promote."))
        .Required("model_name", SchemaBuilder.String("Registered model name."))
        .Optional("version", SchemaBuilder.String("Instead of 'model': a version already registered, e.g. a challenger's (${{ steps.shadow.outputs.challenger_version }})."))
        .Optional("clear_alias", SchemaBuilder.String("An alias to remove once the version is champion, if it still points at it (e.g. challenger)."))
        .Optional("approved_by", SchemaBuilder.String("Who approved (e.g. ${{ steps.approval.outputs.decided_by }}); default the run's creator is unknown, so 'pipelines'."))
        .Optional("reason", SchemaBuilder.String("Why (e.g. the approval comment or the auto-approve reason)."))
        .Optional("experiment", SchemaBuilder.String("MLflow experiment (default 'pipelines')."))
        .Build();

    // 'experiment' is read where the run is tracked (ModelTracking).
    public static PromoteInput Bind(ActivityInputs inputs) => new(
        inputs.Node("model"),
        inputs.String("model_name"),
        inputs.Node("version")?.ToString(),
        inputs.OptionalString("clear_alias") is { Length: > 0 } alias ? alias : null,
        inputs.OptionalString("approved_by") is { Length: > 0 } by ? by : "pipelines",
        inputs.OptionalString("reason") is { Length: > 0 } reason ? reason : null);
}

/// <summary>
/// Registers the model as a new version of a registered model and moves <c>champion</c> to it; the replaced version
/// keeps <c>previous-champion</c>; who and why are tagged on the version. The version's source is the MLflow model
/// directory of the run that trained it (<c>runs:/RUN/model</c>, the nested run tagged with the model artifact's
/// id), so MLflow's clients load it (<c>models:/NAME@champion</c>); the Pipelines artifact id and hash are tags.
/// When no such run is on this tracking server (trained without tracking, or tracked elsewhere) the model directory
/// is logged first under a nested run of its own. Idempotent: a repeated attempt finds the version (or the run)
/// already made from the same artifact and reuses it.
/// </summary>
public sealed class PromoteActivity : Activity<PromoteInput>, IActivityDefinition<PromoteInput>
{
    public static ActivityInfo Info { get; } = new("promote", "1", "Registers the model version, moves the champion alias (keeping previous-champion) and records who approved it and why.", Cacheable: false);

    public static JsonObject Outputs { get; } = SchemaBuilder.Object()
        .Required("version", SchemaBuilder.String())
        .Required("champion", SchemaBuilder.String())
        .Optional("previous_champion", SchemaBuilder.String())
        .Build();

    public static IActivity Create(IServiceProvider? services) => new PromoteActivity();

    protected override Task<ActivityResult> ExecuteAsync(PromoteInput input, ActivityContext context, CancellationToken ct) =>
        TrackingFaults.RunAsync(context, () => PromoteAsync(input, context, ct), ct);

    private static async Task<ActivityResult> PromoteAsync(PromoteInput input, ActivityContext context, CancellationToken ct)
    {
        var services = ActivityServices.From(context);
        var tracking = services.Tracking ?? throw new ActivityException("promote needs MLflow tracking, but this worker has none", retryable: false);
        var registered = input.Version;
        if (registered is not null && input.Model is not null) throw new ActivityException("promote takes 'model' or 'version', not both", retryable: false);
        if (registered is not null) return await PromoteVersionAsync(input, context, tracking, registered, ct);
        if (!ArtifactRefs.IsReference(input.Model)) throw new ActivityException("input 'model' must be a model artifact reference (or give 'version', a registered version)", retryable: false);
        var artifactId = Guid.Parse(input.Model!["artifact"]!.GetValue<string>());
        var record = await services.Artifacts.Registry.GetAsync(artifactId, ct)
                     ?? throw new ActivityException($"model artifact {artifactId} is not registered", retryable: false);
        await services.Artifacts.RecordInputAsync(new Storage.Artifacts.StepAttempt(context.StepRunId, context.Attempt), "model", artifactId, ct);
        var name = input.ModelName;
        var by = input.ApprovedBy;
        var reason = input.Reason ?? $"promoted by pipeline run {context.RunId}";

        try { await tracking.Client.CreateRegisteredModelAsync(name, ct: ct); }
        catch (ResourceAlreadyExistsException) { }

        // Reuses the version an earlier attempt made from this artifact; duplicates a lost answer left are removed.
        var version = await tracking.VersionForArtifactAsync(name, ModelResolution.ArtifactTag, record.Id.ToString(), async token =>
        {
            var runId = await ModelRunAsync(context, tracking, record, token);
            return await tracking.Client.CreateModelVersionAsync(new CreateModelVersionRequest(name, PipelineTracking.RunModelUri(runId), runId,
                [new Tag(ModelResolution.ArtifactTag, record.Id.ToString()), new Tag(ModelResolution.Sha256Tag, record.Sha256), new Tag(PipelineTags.RunId, context.RunId.ToString())]), token);
        }, context.Log.Write, ct);
        var result = await tracking.PromoteAsync(name, version.Version, by, reason, ct);
        context.Log.Write($"{name} v{version.Version} is champion (previous: {result.PreviousChampion ?? "none"}), by {by}: {reason}");
        return ActivityResult.Success(new JsonObject
        {
            ["version"] = version.Version,
            ["champion"] = result.Champion,
            ["previous_champion"] = result.PreviousChampion,
        });
    }

    /// <summary>
    /// Promotes a version that is registered already (a challenger that earned it in shadow scoring): the same alias
    /// switch as for a new model, so the replaced champion stays <c>previous-champion</c> and a rollback restores it.
    /// </summary>
    private static async Task<ActivityResult> PromoteVersionAsync(PromoteInput input, ActivityContext context, PipelineTracking tracking, string version, CancellationToken ct)
    {
        var name = input.ModelName;
        var by = input.ApprovedBy;
        var reason = input.Reason ?? $"promoted by pipeline run {context.RunId}";
        PromotionResult result;
        try { result = await tracking.PromoteAsync(name, version, by, reason, ct); }
        catch (ResourceDoesNotExistException e) { throw new ActivityException($"model '{name}' has no version {version} to promote: {e.Message}", retryable: false, e); }
        if (input.ClearAlias is { } alias && alias != PipelineTracking.Champion && alias != PipelineTracking.PreviousChampion)
        {
            // Only when it still names the promoted version: a newer challenger set meanwhile keeps its alias.
            var model = await tracking.Client.GetRegisteredModelAsync(name, ct);
            if (model.VersionOf(alias) == version)
            {
                await tracking.Client.DeleteAliasAsync(name, alias, ct);
                context.Log.Write($"alias '{alias}' removed from v{version}, now champion");
            }
        }
        context.Log.Write($"{name} v{version} is champion (previous: {result.PreviousChampion ?? "none"}), by {by}: {reason}");
        return ActivityResult.Success(new JsonObject
        {
            ["version"] = version,
            ["champion"] = result.Champion,
            ["previous_champion"] = result.PreviousChampion,
        });
    }

    /// <summary>The MLflow run whose <c>model/</c> holds this artifact's model directory; logged now when there is none.</summary>
    private static async Task<string> ModelRunAsync(ActivityContext context, PipelineTracking tracking, Storage.Artifacts.ArtifactRecord record, CancellationToken ct)
    {
        var parent = await ModelTracking.ParentRunAsync(context, ct)
                     ?? throw new ActivityException("promote needs MLflow tracking, but this worker has none", retryable: false);
        var page = await tracking.Client.SearchRunsAsync(new SearchRunsRequest
        {
            ExperimentIds = [parent.ExperimentId],
            Filter = $"tags.`{ModelResolution.ArtifactTag}` = '{record.Id}'",
            MaxResults = 10,
        }, ct);
        var trained = page.Items.OrderBy(r => r.Info.StartTime ?? long.MaxValue).ThenBy(r => r.Info.RunId, StringComparer.Ordinal).FirstOrDefault();
        if (trained is not null) return trained.Info.RunId;
        var dir = await ArtifactRefs.LocalModelDirectoryAsync(context, "model", ct);
        var run = await tracking.LogTrialAsync(parent, new TrialResult
        {
            Name = $"model-{record.Name}",
            Tags = new Dictionary<string, string>
            {
                [ModelResolution.ArtifactTag] = record.Id.ToString(), [ModelResolution.Sha256Tag] = record.Sha256,
                [ModelOutputs.ModelArtifactTag] = record.Uri, [ModelOutputs.StepRunTag] = context.StepRunId.ToString(),
            },
            User = context.Run["created_by"]?.GetValue<string>(),
            ModelDirectory = dir,
        }, ct);
        context.Log.Write($"logged model artifact {record.Id} to MLflow run {run.RunId} (no run on this tracking server had it)");
        return run.RunId;
    }
}
