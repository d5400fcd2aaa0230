using System.Text.Json.Nodes;
using Pipelines.Core.Activities;

namespace Pipelines.Activities.Model;

/// <summary>One training with fixed parameters: the model as an artifact, its validation metrics, an MLflow run.</summary>
[Activity("train", "1", "Trains one model (xgboost or a baseline) with fixed parameters; outputs the model artifact and validation metrics.")]
public sealed class TrainActivity : IActivity
{
    public static ActivitySchema Schema { get; } = new(
        ModelTraining.Inputs(SchemaBuilder.Object())
            .Optional("name", SchemaBuilder.String("Artifact name of the model (default 'model')."))
            .Build(),
        SchemaBuilder.Object()
            .Required("model", SchemaBuilder.Any("Model artifact reference (an MLflow model directory, zipped); null for baselines."))
            .Required("metric", SchemaBuilder.String())
            .Required("value", SchemaBuilder.Number("Validation metric."))
            .Required("metrics", SchemaBuilder.Any("{valid_<metric>: value, best_iteration}"))
            .Optional("mlflow_run_id", SchemaBuilder.String())
            .Build());

    public async Task<ActivityResult> ExecuteAsync(ActivityContext context, CancellationToken cancellationToken)
    {
        Hosting.ActivityServices.From(context); // a model output needs artifact storage: fail clearly before training
        using var outcome = await ModelTraining.TrainAsync(context, null, cancellationToken);
        var name = context.Inputs["name"]?.GetValue<string>() ?? "model";
        var (model, _, mlflowDir) = await ModelOutputs.PublishAsync(context, outcome, name, cancellationToken);
        var runId = await ModelOutputs.TrackAsync(context, outcome, $"train-{context.StepId}", model, cancellationToken, mlflowDir: mlflowDir);
        context.Log.Write($"{outcome.Trainer}: valid {outcome.Metric} = {ModelOutputs.Format(outcome.Value)}");
        var metrics = new JsonObject { [$"valid_{outcome.Metric}"] = outcome.Value };
        if (outcome.BestIteration is { } b) metrics["best_iteration"] = b;
        return ActivityResult.Success(new JsonObject
        {
            ["model"] = model,
            ["metric"] = outcome.Metric,
            ["value"] = outcome.Value,
            ["metrics"] = metrics,
            ["mlflow_run_id"] = runId,
        });
    }
}
