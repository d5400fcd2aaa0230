using System.Globalization;
using Pipelines.Ml.Packaging;
using Pipelines.Ml.Trainers;
using Pipelines.Ml.Tuning;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Activities.Model;

/// <summary>Where a trained model goes: an MLflow model directory, published as a <c>model</c> artifact, and a run in MLflow.</summary>
public static class ModelOutputs
{
    /// <summary>
    /// Saves the model as an MLflow directory and publishes XGBoost and ML.NET models as zip artifacts (attempt-scoped
    /// key); ML.NET models carry the <c>pipelines_mlnet</c> flavor. Baselines without a model file of their own (ridge,
    /// the constant prior) are packaged for MLflow only. Without artifact services (bare engine tests) the directory
    /// stays in an attempt-scoped temp folder and no reference is returned. <c>ModelDir</c> is the published model's
    /// directory (empty when nothing is published); <c>MlflowDir</c> is the directory to log to MLflow, or null.
    /// </summary>
    public static async Task<(JsonObject? Model, string ModelDir, string? MlflowDir)> PublishAsync(ActivityContext context, TrainingOutcome outcome, string name,
        CancellationToken ct)
    {
        var services = ActivityServices.TryFrom(context);
        var modelDir = services is not null
            ? Path.Combine(services.WorkDirectory(context), "model")
            : Path.Combine(Path.GetTempPath(), "pipelines-models", context.RunId.ToString("N"), context.StepRunId.ToString("N"), $"attempt-{context.Attempt}", "model");
        if (Directory.Exists(modelDir)) Directory.Delete(modelDir, recursive: true);
        if (outcome.Model is Pipelines.Ml.MlNet.MlNetModel mlnet)
        {
            MlNetModelDirectory.Save(modelDir, mlnet, outcome.Pipeline);
            if (services is null) return (null, modelDir, modelDir);
            return (await ArtifactRefs.PublishModelAsync(context, modelDir, name, ct), modelDir, modelDir);
        }
        if (outcome.Model is not XGBoostModel x)
        {
            try
            {
                MlflowModel.SaveBaseline(modelDir, outcome.Model, outcome.Pipeline, inputExample: outcome.InputExample);
                return (null, "", modelDir);
            }
            catch (ArgumentException)
            {
                return (null, "", null); // a model type without MLflow packaging: tracked without a model
            }
        }
        MlflowModel.Save(modelDir, x, outcome.Pipeline, inputExample: outcome.InputExample);
        if (services is null) return (null, modelDir, modelDir);
        return (await ArtifactRefs.PublishModelAsync(context, modelDir, name, ct), modelDir, modelDir);
    }

    /// <summary>
    /// Logs a training as a nested run of the pipeline's parent run, with its model directory under the run's
    /// <c>model/</c> artifacts; returns its run id, or null without tracking. The per-round validation values are the
    /// history of <c>valid_METRIC</c>; <c>best_valid_METRIC</c> is the value the leaderboard ranks by (the best round's,
    /// as the kept model is cut there). A sweep trial passes how it ended (<paramref name="end"/>): its state becomes
    /// the tag <c>pipelines.trial_state</c> (<c>complete</c> or <c>pruned</c>, with <c>pipelines.pruned_at_iteration</c>)
    /// and its value the final metric; a pruned trial's run is FINISHED, as the trial ended normally.
    /// </summary>
    public static async Task<string?> TrackAsync(ActivityContext context, TrainingOutcome outcome, string runName, JsonObject? model, CancellationToken ct,
        TrialEnd? end = null, string? mlflowDir = null)
    {
        var parent = await ModelTracking.ParentRunAsync(context, ct);
        if (parent is null) return null;
        await ModelTracking.LogDatasetsAsync(context, parent, ["train", "valid"], ct);
        var tracking = ActivityServices.From(context).Tracking!;
        var parameters = SearchSpace.ToStrings(outcome.Parameters).ToDictionary(p => p.Key, p => p.Value);
        parameters["trainer"] = outcome.Trainer;
        var value = end?.Value ?? outcome.Value;
        var key = $"valid_{outcome.Metric}";
        var history = outcome.IterationMetrics.ToDictionary(m => m.Key, m => (IReadOnlyList<double>)m.Value.Where(v => !double.IsNaN(v)).ToList());
        var final = new Dictionary<string, double> { [$"best_{key}"] = value };
        if (!history.ContainsKey(key)) final[key] = value;
        if (outcome.BestIteration is { } b) final["best_iteration"] = b;
        var tags = new Dictionary<string, string> { [StepRunTag] = context.StepRunId.ToString(), [TrialNameTag] = runName };
        if (model is not null)
        {
            tags[ModelArtifactTag] = model["uri"]!.GetValue<string>();
            tags[ModelResolution.ArtifactTag] = model["artifact"]!.GetValue<string>();
            if (model["sha256"]?.GetValue<string>() is { } sha) tags[ModelResolution.Sha256Tag] = sha;
        }
        if (end is not null)
        {
            tags[TrialStateTag] = end.State;
            if (end.PrunedAt is { } at) tags[PrunedAtTag] = at.ToString(CultureInfo.InvariantCulture);
        }
        var run = await tracking.LogTrialAsync(parent, new TrialResult
        {
            Name = runName,
            Parameters = parameters,
            IterationMetrics = history,
            FinalMetrics = final,
            Tags = tags,
            User = context.Run["created_by"]?.GetValue<string>(),
            ModelDirectory = mlflowDir,
        }, ct);
        return run.RunId;
    }

    public const string StepRunTag = PipelineTags.StepRunId;
    public const string TrialNameTag = PipelineTags.Trial;
    public const string ModelArtifactTag = "pipelines.model_artifact";
    public const string TrialStateTag = "pipelines.trial_state";
    public const string PrunedAtTag = "pipelines.pruned_at_iteration";

    public static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>How a sweep trial ended: <c>complete</c> or <c>pruned</c> (at an iteration), and the value it reports.</summary>
public sealed record TrialEnd(string State, double Value, int? PrunedAt = null)
{
    public const string Complete = "complete";
    public const string Pruned = "pruned";
}
