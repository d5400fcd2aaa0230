using System.Globalization;
using System.Text.Json.Nodes;
using Pipelines.Activities.Hosting;
using Pipelines.Core.Activities;
using Pipelines.Ml.Packaging;
using Pipelines.Ml.Trainers;
using Pipelines.Ml.Tuning;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Activities.Model;

/// <summary>Where a trained model goes: an MLflow model directory, published as a <c>model</c> artifact, and a run in MLflow.</summary>
public static class ModelOutputs
{
    /// <summary>
    /// Saves an XGBoost model as an MLflow directory and publishes it as a zip artifact (attempt-scoped key). Without
    /// artifact services (bare engine tests) the directory stays in an attempt-scoped temp folder and no reference is
    /// returned. ML.NET models (including the logistic baseline) are packaged the same way with the
    /// <c>pipelines_mlnet</c> flavor; only the constant baseline, which has no model file, is not packaged.
    /// </summary>
    public static async Task<(JsonObject? Model, string ModelDir)> PublishAsync(ActivityContext context, TrainingOutcome outcome, string name, CancellationToken ct)
    {
        if (outcome.Model is not (XGBoostModel or Pipelines.Ml.MlNet.MlNetModel)) return (null, "");
        var services = context.Services?.GetService(typeof(ActivityServices)) as ActivityServices;
        var modelDir = services is not null
            ? Path.Combine(services.WorkDirectory(context), "model")
            : Path.Combine(Path.GetTempPath(), "pipelines-models", context.RunId.ToString("N"), context.StepRunId.ToString("N"), $"attempt-{context.Attempt}", "model");
        if (Directory.Exists(modelDir)) Directory.Delete(modelDir, recursive: true);
        if (outcome.Model is XGBoostModel x) MlflowModel.Save(modelDir, x, outcome.Pipeline);
        else MlNetModelDirectory.Save(modelDir, (Pipelines.Ml.MlNet.MlNetModel)outcome.Model, outcome.Pipeline);
        if (services is null) return (null, modelDir);
        return (await ArtifactRefs.PublishModelAsync(context, modelDir, name, ct), modelDir);
    }

    /// <summary>
    /// Logs a training as a nested run of the pipeline's parent run; returns its run id, or null without tracking.
    /// A sweep trial passes how it ended (<paramref name="end"/>): its state becomes the tag <c>pipelines.trial_state</c>
    /// (<c>complete</c> or <c>pruned</c>, with <c>pipelines.pruned_at_iteration</c>) and its value the final metric;
    /// a pruned trial's run is FINISHED, as the trial ended normally, and carries the rounds it trained.
    /// </summary>
    public static async Task<string?> TrackAsync(ActivityContext context, TrainingOutcome outcome, string runName, JsonObject? model, CancellationToken ct,
        TrialEnd? end = null)
    {
        var parent = await ModelTracking.ParentRunAsync(context, ct);
        if (parent is null) return null;
        await ModelTracking.LogDatasetsAsync(context, parent, ["train", "valid"], ct);
        var tracking = ActivityServices.From(context).Tracking!;
        var parameters = SearchSpace.ToStrings(outcome.Parameters).ToDictionary(p => p.Key, p => p.Value);
        parameters["trainer"] = outcome.Trainer;
        var final = new Dictionary<string, double> { [$"valid_{outcome.Metric}"] = end?.Value ?? outcome.Value };
        if (outcome.BestIteration is { } b) final["best_iteration"] = b;
        var run = await tracking.LogTrialAsync(parent, new TrialResult
        {
            Name = runName,
            Parameters = parameters,
            IterationMetrics = outcome.IterationMetrics.ToDictionary(m => m.Key, m => (IReadOnlyList<double>)m.Value.Where(v => !double.IsNaN(v)).ToList()),
            FinalMetrics = final,
        }, ct);
        await tracking.Client.SetTagAsync(run.RunId, "pipelines.step_run_id", context.StepRunId.ToString(), ct);
        if (model is not null) await tracking.Client.SetTagAsync(run.RunId, "pipelines.model_artifact", model["uri"]!.GetValue<string>(), ct);
        if (end is not null)
        {
            await tracking.Client.SetTagAsync(run.RunId, TrialStateTag, end.State, ct);
            if (end.PrunedAt is { } at) await tracking.Client.SetTagAsync(run.RunId, PrunedAtTag, at.ToString(CultureInfo.InvariantCulture), ct);
        }
        return run.RunId;
    }

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
