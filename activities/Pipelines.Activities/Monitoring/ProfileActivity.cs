using Pipelines.Activities.Data;
using Pipelines.Activities.Model;
using Pipelines.Core.Monitoring;
using Pipelines.Quality.Drift;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Activities.Monitoring;

/// <param name="Options">Column choice, bins and categories, checked against their ranges when bound.</param>
public sealed record ProfileInput(JsonNode Data, JsonNode? Model, string? ModelName, string Alias, ProfileOptions Options, string? Monitor)
    : IActivityInput<ProfileInput>
{
    public static JsonObject Schema { get; } = SchemaBuilder.Object()
        .Required("data", SchemaBuilder.Any("The reference rows (usually the training data): an artifact reference or a path."))
        .Optional("model", SchemaBuilder.Any("A model artifact whose predictions on the data are profiled too."))
        .Optional("model_name", SchemaBuilder.String("Instead of 'model': a registered model, scored by 'alias'."))
        .Optional("alias", SchemaBuilder.String("Alias of model_name (default champion)."))
        .Optional("columns", SchemaBuilder.Array(SchemaBuilder.String(), "Columns to profile (default: all)."))
        .Optional("exclude", SchemaBuilder.Array(SchemaBuilder.String(), "Columns left out (e.g. the label)."))
        .Optional("bins", SchemaBuilder.Integer("Histogram bins at the reference quantiles (default 10)."))
        .Optional("max_categories", SchemaBuilder.Integer("Most frequent categories kept by name (default 100)."))
        .Optional("monitor", SchemaBuilder.String("Make this the current reference of the named monitor (e.g. the model name)."))
        .Optional("null_tokens", SchemaBuilder.Array(SchemaBuilder.String()))
        .Build();

    // null_tokens is read with the data (ModelTraining.CsvOf).
    public static ProfileInput Bind(ActivityInputs inputs) => new(
        inputs.Node("data")!,
        inputs.Node("model"),
        inputs.OptionalString("model_name"),
        inputs.String("alias", PipelineTracking.Champion),
        new ProfileOptions
        {
            Columns = MonitoringInputs.Strings(inputs.Json, "columns"),
            Exclude = MonitoringInputs.Strings(inputs.Json, "exclude") ?? [],
            Bins = MonitoringInputs.Int(inputs.Json, "bins", 10, 2, 1000),
            MaxCategories = MonitoringInputs.Int(inputs.Json, "max_categories", 100, 1, 100_000),
        },
        inputs.OptionalString("monitor"));
}

/// <summary>
/// Writes the reference profile of a table (and of a model's predictions on it) as a JSON artifact: what monitoring
/// compares every scored batch with. With <c>monitor</c>, the profile also becomes that monitor's current reference.
/// </summary>
public sealed class ProfileActivity : Activity<ProfileInput>, IActivityDefinition<ProfileInput>
{
    public static ActivityInfo Info { get; } = new("profile", "1", "Profiles a table (quantiles, histograms, category frequencies, missing rates) and optionally a model's predictions; writes the reference profile (JSON).");

    public static JsonObject Outputs { get; } = SchemaBuilder.Object()
        .Required("profile", SchemaBuilder.Any("The reference profile (JSON artifact)."))
        .Required("rows", SchemaBuilder.Integer())
        .Required("features", SchemaBuilder.Integer("Columns profiled."))
        .Build();

    public static IActivity Create(IServiceProvider? services) => new ProfileActivity();

    protected override async Task<ActivityResult> ExecuteAsync(ProfileInput input, ActivityContext context, CancellationToken ct)
    {
        var options = input.Options;
        var (table, _) = await TableFiles.ReadInputAsync(context, "data", ModelTraining.CsvOf(context.Inputs), ct);
        var dataLabel = ArtifactRefs.DisplayName(input.Data);

        double[]? predictions = null;
        string? modelLabel = null;
        if (input.Model is not null)
        {
            var dir = await ModelResolution.LocalModelAsync(context, "model", ct);
            modelLabel = $"model '{ArtifactRefs.DisplayName(input.Model)}'";
            predictions = MonitoringInputs.Predict(dir, table, modelLabel, dataLabel);
        }
        else if (input.ModelName is { } name)
        {
            var alias = input.Alias;
            var resolved = await ModelResolution.ByAliasAsync(context, name, alias, "model", ct)
                ?? throw new ActivityException($"model '{name}' has no '{alias}' alias: nothing to profile predictions of", retryable: false);
            modelLabel = $"{name}@{alias} (version {resolved.Version})";
            predictions = MonitoringInputs.Predict(resolved.Directory, table, modelLabel, dataLabel);
        }

        ReferenceProfile profile;
        try { profile = Profiler.Profile(table, options, predictions); }
        catch (ArgumentException e) { throw new ActivityException($"profile of '{dataLabel}': {e.Message}", retryable: false, e); }
        profile = profile with { CreatedAt = context.Time.GetUtcNow(), Source = dataLabel, Model = modelLabel };
        var json = profile.ToJson();
        var artifact = await MonitoringInputs.PublishTextAsync(context, "reference-profile.json", json, ct);

        if (input.Monitor is { } monitor)
        {
            if (MonitoringInputs.Store(context) is { } store)
            {
                await store.SaveReferenceAsync(new MonitorReference(monitor, context.RunId, context.StepId, profile.CreatedAt!.Value, modelLabel, json), ct);
                context.Log.Write($"reference of monitor '{monitor}' is now this profile");
            }
            else context.Log.Write($"this worker has no monitoring store: the profile is not recorded as the reference of '{monitor}'");
        }
        context.Log.Write($"profiled {profile.Features.Count} columns of {profile.Rows} rows of '{dataLabel}'{(modelLabel is null ? "" : $" and the predictions of {modelLabel}")}");
        return ActivityResult.Success(new JsonObject { ["profile"] = artifact, ["rows"] = profile.Rows, ["features"] = profile.Features.Count });
    }
}
