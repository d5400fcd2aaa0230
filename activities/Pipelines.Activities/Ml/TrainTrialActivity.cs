using Pipelines.Core.Activities.State;
using Pipelines.Activities.Model;
using Pipelines.Ml.Trainers;
using Pipelines.Ml.Tuning;

namespace Pipelines.Activities.Ml;

/// <param name="Trial">A trial from hpo.suggest; a value that is not an object counts as none, as before.</param>
/// <param name="Pruning">Parsed (and rejected when invalid) before anything is trained.</param>
public sealed record TrainTrialInput(JsonObject? Trial, PruningSettings? Pruning) : IActivityInput<TrainTrialInput>
{
    public static JsonObject Schema { get; } = ModelTraining.Inputs(SchemaBuilder.Object())
        .Optional("trial", SchemaBuilder.Any("A trial from hpo.suggest: {number, params}."))
        .Optional("pruning", PruningSettings.Schema())
        .Build();

    // The training inputs themselves (data, label, trainer, params, …) are read by ModelTraining from the context.
    public static TrainTrialInput Bind(ActivityInputs inputs) => new(inputs.Node("trial") as JsonObject, PruningSettings.Parse(inputs.Node("pruning")));
}

/// <summary>
/// Trains one trial of a sweep (or a baseline) and reports its validation metric. With artifact services the
/// model is published as a <c>model</c> artifact under an attempt-scoped key and the trial is a nested MLflow run
/// of the pipeline's parent run with per-iteration metrics; without them (bare engine) the model directory stays in
/// an attempt-scoped temp folder. A repeated attempt never overwrites what an earlier one wrote.
/// </summary>
/// <remarks>
/// With <c>pruning</c>, an xgboost trial reports its validation metric after every round to the sweep's shared
/// reports (<see cref="ISweepReports"/>, keyed by pipeline run, step and fan-out item) and stops when the median
/// rule says so against its finished siblings (<see cref="TrialPruning"/>). A pruned trial succeeds with
/// <c>state: pruned</c> and its last value, keeps its MLflow run (tagged pruned) and publishes no model: the
/// leaderboard never picks it.
/// </remarks>
public sealed class TrainTrialActivity : Activity<TrainTrialInput>, IActivityDefinition<TrainTrialInput>
{
    public static ActivityInfo Info { get; } = new("train.trial", "1", "Trains one model (xgboost; ML.NET lightgbm, fasttree or sdca; the logistic or constant baseline) with given parameters and reports its validation metric; optionally pruned by the median rule against its sibling trials.");

    public static IActivity Create(IServiceProvider? services) => new TrainTrialActivity();

    public static JsonObject Outputs { get; } =
        SchemaBuilder.Object()
            .Required("result", SchemaBuilder.Any("{number, trainer, params, metric, value, state, iterations, pruned_at, best_iteration, model, model_dir, mlflow_run_id}"))
            .Required("value", SchemaBuilder.Number("The validation metric (of a pruned trial: its last reported value)."))
            .Required("model_dir", SchemaBuilder.String("The MLflow model directory of this attempt (every trainer but constant, not pruned; else empty)."))
            .Optional("model", SchemaBuilder.Any("The model artifact reference (with artifact services, every trainer but constant, not pruned; else null)."))
            .Optional("state", SchemaBuilder.String("complete, or pruned when the median rule stopped the trial."))
            .Build();

    protected override async Task<ActivityResult> ExecuteAsync(TrainTrialInput input, ActivityContext context, CancellationToken cancellationToken)
    {
        var trial = input.Trial;
        var number = JsonNumber.Long(trial?["number"]) ?? context.ItemIndex ?? 0;
        var pruning = await StartPruningAsync(input, context, (int)number, cancellationToken);
        await using (pruning)
        {
            using var outcome = await ModelTraining.TrainAsync(context, trial?["params"] as JsonObject, cancellationToken,
                pruning is null ? null : (Func<int, double, bool>)pruning.ShouldStop);
            var pruned = pruning?.PrunedAt is not null;
            var value = pruned ? pruning!.LastValue!.Value : outcome.Value;
            var end = pruning is null ? null : new TrialEnd(pruned ? TrialEnd.Pruned : TrialEnd.Complete, value, pruning.PrunedAt);
            // A pruned trial's model is never picked, so it is not packaged or published.
            var runName = outcome.RunName(number);
            var (model, modelDir, mlflowDir) = pruned ? (null, "", null) : await ModelOutputs.PublishAsync(context, outcome, $"{runName}-model", cancellationToken);
            var runId = await ModelOutputs.TrackAsync(context, outcome, runName, model, cancellationToken, end, mlflowDir);
            var iterations = outcome.IterationMetrics.Values.FirstOrDefault()?.Count;
            context.Log.Write($"trial {number} ({outcome.Trainer}): valid {outcome.Metric} = {ModelOutputs.Format(value)}" +
                              (pruned ? $", pruned at iteration {pruning!.PrunedAt} by the median of {pruning.FinishedSiblings} finished siblings" : "") +
                              (outcome.BestIteration is { } b && !pruned ? $", best iteration {b}" : ""));
            if (pruning?.LastBackgroundError is { } error)
                context.Log.Write($"trial {number}: a background exchange of sweep reports failed (later ones may have succeeded): {error.Message}");
            if (pruning is not null)
            {
                // Last, so siblings see this trial finished only once everything it publishes exists.
                await pruning.FinishAsync(pruned ? SweepTrialState.Pruned : SweepTrialState.Complete, value, cancellationToken);
            }
            var state = pruned ? TrialEnd.Pruned : TrialEnd.Complete;
            var result = new JsonObject
            {
                ["number"] = number,
                ["trainer"] = outcome.Trainer,
                ["params"] = outcome.Parameters.DeepClone(),
                ["metric"] = outcome.Metric,
                ["value"] = value,
                ["state"] = state,
                ["iterations"] = iterations,
                ["pruned_at"] = pruning?.PrunedAt,
                ["best_iteration"] = pruned ? null : outcome.BestIteration,
                ["model"] = model?.DeepClone(),
                ["model_dir"] = modelDir,
                ["mlflow_run_id"] = runId,
            };
            return ActivityResult.Success(new JsonObject
            {
                ["result"] = result, ["value"] = value, ["model_dir"] = modelDir, ["model"] = model, ["state"] = state,
            });
        }
    }

    private static async Task<TrialPruning?> StartPruningAsync(TrainTrialInput input, ActivityContext context, int number, CancellationToken ct)
    {
        if (input.Pruning is not { } settings) return null;
        var trainer = ModelTraining.TrainerOf(context.Inputs, input.Trial?["params"] as JsonObject);
        if (trainer != "xgboost")
        {
            context.Log.Write($"pruning applies to xgboost trials (per-round metrics); the {trainer} trainer runs to the end");
            return null;
        }
        var reports = SweepReportsOf(context);
        var metric = ModelTraining.MetricOf(context.Inputs);
        // The fan-out item is the trial's identity within the sweep; a step that is not fanned out is a sweep of one.
        var key = new SweepTrialKey(SweepId.Of(context), context.ItemIndex ?? number, context.Attempt);
        var pruning = await TrialPruning.StartAsync(reports, key, number, metric,
            XGBoostTrainer.Maximize(metric) ? Direction.Maximize : Direction.Minimize, settings, context.Time, ct);
        context.Log.Write($"pruning: median rule on valid {metric} (start-up {settings.StartupTrials} trials, warm-up {settings.WarmupRounds} rounds); " +
                          $"{pruning.FinishedSiblings} finished siblings so far");
        return pruning;
    }

    /// <summary>
    /// Where sibling trials meet: an <see cref="ISweepReports"/> the process registered itself, else that of its
    /// <see cref="ActivityServices"/> (shared through the database when the workers run on one).
    /// </summary>
    private static ISweepReports SweepReportsOf(ActivityContext context) =>
        context.Services?.GetService(typeof(ISweepReports)) as ISweepReports
        ?? (context.Services?.GetService(typeof(ActivityServices)) as ActivityServices)?.Sweeps
        ?? throw new ActivityException($"step '{context.StepId}': input 'pruning' needs the sweep reports that sibling trials share, " +
                                       "but this worker was started without activity services", retryable: false);
}
