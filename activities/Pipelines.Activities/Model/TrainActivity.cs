namespace Pipelines.Activities.Model;

public sealed record TrainInput(string Name) : IActivityInput<TrainInput>
{
    public static JsonObject Schema { get; } = ModelTraining.Inputs(SchemaBuilder.Object())
        .Optional("name", SchemaBuilder.String("Artifact name of the model (default 'model')."))
        .Build();

    // The training inputs themselves (data, label, trainer, params, …) are read by ModelTraining from the context.
    public static TrainInput Bind(ActivityInputs inputs) => new(inputs.String("name", "model"));
}

/// <summary>One training with fixed parameters: the model as an artifact, its validation metrics, an MLflow run.</summary>
public sealed class TrainActivity : Activity<TrainInput>, IActivityDefinition<TrainInput>
{
    public static ActivityInfo Info { get; } = new("train", "1", "Trains one model (xgboost or a baseline) with fixed parameters; outputs the model artifact and validation metrics.");

    public static IActivity Create(IServiceProvider? services) => new TrainActivity();

    public static JsonObject Outputs { get; } =
        SchemaBuilder.Object()
            .Required("model", SchemaBuilder.Any("Model artifact reference (an MLflow model directory, zipped); null for baselines."))
            .Required("metric", SchemaBuilder.String())
            .Required("value", SchemaBuilder.Number("Validation metric."))
            .Required("metrics", SchemaBuilder.Any("{valid_<metric>: value, best_iteration}"))
            .Optional("mlflow_run_id", SchemaBuilder.String())
            .Build();

    protected override async Task<ActivityResult> ExecuteAsync(TrainInput input, ActivityContext context, CancellationToken cancellationToken)
    {
        Hosting.ActivityServices.From(context); // a model output needs artifact storage: fail clearly before training
        using var outcome = await ModelTraining.TrainAsync(context, null, cancellationToken);
        var (model, _, mlflowDir) = await ModelOutputs.PublishAsync(context, outcome, input.Name, cancellationToken);
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
