using System.Text.Json.Nodes;
using Pipelines.Activities.Model;
using Pipelines.Core.Activities;
using Pipelines.Ml.Tuning;

namespace Pipelines.Activities.Ml;

/// <summary>
/// Trains one trial of a sweep (or a baseline) and reports its validation metric. With artifact services the
/// model is published as a <c>model</c> artifact under an attempt-scoped key and the trial is a nested MLflow run
/// of the pipeline's parent run with per-iteration metrics; without them (bare engine) the model directory stays in
/// an attempt-scoped temp folder. A repeated attempt never overwrites what an earlier one wrote.
/// </summary>
[Activity("train.trial", "1", "Trains one model (xgboost, logistic or constant baseline) with given parameters and reports its validation metric.")]
public sealed class TrainTrialActivity : IActivity
{
    public static ActivitySchema Schema { get; } = new(
        ModelTraining.Inputs(SchemaBuilder.Object())
            .Optional("trial", SchemaBuilder.Any("A trial from hpo.suggest: {number, params}."))
            .Build(),
        SchemaBuilder.Object()
            .Required("result", SchemaBuilder.Any("{number, trainer, params, metric, value, best_iteration, model, model_dir, mlflow_run_id}"))
            .Required("value", SchemaBuilder.Number("The validation metric."))
            .Required("model_dir", SchemaBuilder.String("The MLflow model directory of this attempt (xgboost only; else empty)."))
            .Optional("model", SchemaBuilder.Any("The model artifact reference (xgboost with artifact services; else null)."))
            .Build());

    public async Task<ActivityResult> ExecuteAsync(ActivityContext context, CancellationToken cancellationToken)
    {
        var trial = context.Inputs["trial"] as JsonObject;
        var number = JsonNumber.Long(trial?["number"]) ?? context.ItemIndex ?? 0;
        using var outcome = await ModelTraining.TrainAsync(context, trial?["params"] as JsonObject, cancellationToken);
        var (model, modelDir) = await ModelOutputs.PublishAsync(context, outcome, $"trial-{number}-model", cancellationToken);
        var runId = await ModelOutputs.TrackAsync(context, outcome, $"trial-{number}", model, cancellationToken);
        context.Log.Write($"trial {number} ({outcome.Trainer}): valid {outcome.Metric} = {ModelOutputs.Format(outcome.Value)}" +
                          (outcome.BestIteration is { } b ? $", best iteration {b}" : ""));
        var result = new JsonObject
        {
            ["number"] = number,
            ["trainer"] = outcome.Trainer,
            ["params"] = outcome.Parameters.DeepClone(),
            ["metric"] = outcome.Metric,
            ["value"] = outcome.Value,
            ["best_iteration"] = outcome.BestIteration,
            ["model"] = model?.DeepClone(),
            ["model_dir"] = modelDir,
            ["mlflow_run_id"] = runId,
        };
        return ActivityResult.Success(new JsonObject { ["result"] = result, ["value"] = outcome.Value, ["model_dir"] = modelDir, ["model"] = model });
    }
}
