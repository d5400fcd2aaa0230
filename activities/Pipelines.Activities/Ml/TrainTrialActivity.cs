using System.Globalization;
using System.Text.Json.Nodes;
using Pipelines.Core.Activities;
using Pipelines.Data;
using Pipelines.Data.Csv;
using Pipelines.Data.Tables;
using Pipelines.Ml.Features;
using Pipelines.Ml.Metrics;
using Pipelines.Ml.Packaging;
using Pipelines.Ml.Splits;
using Pipelines.Ml.Trainers;
using Pipelines.Ml.Tuning;

namespace Pipelines.Activities.Ml;

/// <summary>
/// Trains one trial of a sweep (or a baseline) on a CSV/Parquet file and reports its validation metric. The model
/// directory goes to an attempt-scoped folder under the temp directory (artifact storage will replace this), so a
/// repeated attempt never overwrites what an earlier one wrote.
/// </summary>
[Activity("train.trial", "1", "Trains one model (xgboost, logistic or constant baseline) with given parameters and reports its validation metric.")]
public sealed class TrainTrialActivity : IActivity
{
    public static ActivitySchema Schema { get; } = new(
        SchemaBuilder.Object()
            .Required("train", SchemaBuilder.String("Training data: a Parquet or CSV file."))
            .Required("label", SchemaBuilder.String("Label column."))
            .Optional("valid", SchemaBuilder.String("Validation file; default: a stratified 20 % split of train (seeded)."))
            .Optional("positive", SchemaBuilder.String("Positive class of a binary label."))
            .Optional("label_mapping", SchemaBuilder.Any("Label value mapping, e.g. {'>50K.': '>50K'}."))
            .Optional("null_tokens", SchemaBuilder.Array(SchemaBuilder.String(), "CSV values read as missing (default [''])."))
            .Optional("pipeline", SchemaBuilder.Any("Feature steps: [{op: one_hot, columns: [...]}, …]."))
            .Optional("trial", SchemaBuilder.Any("A trial from hpo.suggest: {number, params}."))
            .Optional("params", SchemaBuilder.Any("XGBoost parameters (merged over the trial's)."))
            .Optional("trainer", SchemaBuilder.String("xgboost (default), logistic or constant."))
            .Optional("rounds", SchemaBuilder.Integer("Boosting rounds (default 100)."))
            .Optional("early_stopping_rounds", SchemaBuilder.Integer("Stop after this many rounds without improvement."))
            .Optional("metric", SchemaBuilder.String("auc (default) or logloss: the value reported and early-stopped on."))
            .Optional("threads", SchemaBuilder.Integer("XGBoost nthread (default 1)."))
            .Optional("seed", SchemaBuilder.Integer("Seed for the split and the trainer (default 0)."))
            .Build(),
        SchemaBuilder.Object()
            .Required("result", SchemaBuilder.Any("{number, trainer, params, metric, value, best_iteration, model_dir}"))
            .Required("value", SchemaBuilder.Number("The validation metric."))
            .Required("model_dir", SchemaBuilder.String("The MLflow model directory (xgboost only; else empty)."))
            .Build());

    public Task<ActivityResult> ExecuteAsync(ActivityContext context, CancellationToken cancellationToken) =>
        Task.Run(() => Execute(context, cancellationToken), cancellationToken);

    private static ActivityResult Execute(ActivityContext context, CancellationToken ct)
    {
        var inputs = context.Inputs;
        var seed = (int)(JsonNumber.Long(inputs["seed"]) ?? 0);
        var csv = new CsvOptions { NullTokens = (inputs["null_tokens"] as JsonArray)?.Select(t => t!.GetValue<string>()).ToList() ?? [""] };
        var metric = inputs["metric"]?.GetValue<string>() ?? "auc";
        if (metric is not ("auc" or "logloss")) throw new ActivityException($"metric must be auc or logloss, got '{metric}'", retryable: false);
        var trainer = inputs["trainer"]?.GetValue<string>() ?? "xgboost";
        var trial = inputs["trial"] as JsonObject;
        var parameters = new JsonObject();
        foreach (var source in new[] { trial?["params"] as JsonObject, inputs["params"] as JsonObject })
            if (source is not null) foreach (var (k, v) in source) parameters[k] = v?.DeepClone();

        Table train, valid;
        try
        {
            train = Read(context.RequireString("train"), csv);
            if (inputs["valid"]?.GetValue<string>() is { } validPath) valid = Read(validPath, csv);
            else valid = train;
        }
        catch (Exception e) when (e is IOException or FormatException or KeyNotFoundException)
        {
            throw new ActivityException($"cannot read the data: {e.Message}", retryable: e is IOException, e);
        }

        var pipeline = new FeaturePipeline
        {
            Label = new LabelSpec
            {
                Column = context.RequireString("label"),
                Positive = inputs["positive"]?.GetValue<string>(),
                Mapping = (inputs["label_mapping"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>()) ?? new(),
            },
            Steps = inputs["pipeline"] is JsonArray steps
                ? FeaturePipeline.FromJson(new JsonObject { ["format_version"] = FeaturePipeline.CurrentFormatVersion, ["steps"] = steps.DeepClone() }.ToJsonString()).Steps
                : [],
        };
        try
        {
            if (inputs["valid"] is null)
            {
                // Labels are needed to stratify; fit the label spec on the whole file first (no feature statistics leak).
                var labels = new FeaturePipeline { Label = pipeline.Label }.Fit(train.Select(pipeline.Label.Column)).Labels(train);
                var split = Splitter.Stratified(labels, 0.2, seed);
                (train, valid) = split.Apply(train);
            }
            pipeline.Fit(train);
        }
        catch (Pipelines.Ml.ColumnMismatchException e)
        {
            throw new ActivityException(e.Message, retryable: false, e);
        }
        var trainSet = pipeline.ToTrainingSet(train);
        var validSet = pipeline.ToTrainingSet(valid);

        ITrainedModel model;
        int? bestIteration = null;
        var threads = (int)(JsonNumber.Long(inputs["threads"]) ?? 1);
        switch (trainer)
        {
            case "xgboost":
                var options = new XGBoostOptions
                {
                    Rounds = (int)(JsonNumber.Long(inputs["rounds"]) ?? 100),
                    EarlyStoppingRounds = (int?)JsonNumber.Long(inputs["early_stopping_rounds"]),
                    EvalMetrics = [metric],
                    Seed = seed,
                    Threads = threads,
                    Parameters = SearchSpace.ToStrings(parameters),
                };
                var xgb = new XGBoostTrainer(options).Train(trainSet, [("valid", validSet)], _ => !ct.IsCancellationRequested, ct);
                bestIteration = xgb.BestIteration;
                model = xgb;
                break;
            case "logistic":
                model = new LogisticRegressionTrainer().Fit(trainSet, cancellationToken: ct);
                break;
            case "constant":
                model = new ConstantTrainer(TaskKind.BinaryClassification).Fit(trainSet);
                break;
            default:
                throw new ActivityException($"unknown trainer '{trainer}' (xgboost, logistic, constant)", retryable: false);
        }
        using (model)
        {
            ct.ThrowIfCancellationRequested();
            var p = model.Predict(validSet.Features).Values;
            var value = metric == "auc" ? Metric.RocAuc(validSet.Labels, p) : Metric.LogLoss(validSet.Labels, p);
            var modelDir = "";
            if (model is XGBoostModel x)
            {
                modelDir = Path.Combine(Path.GetTempPath(), "pipelines-models", context.RunId.ToString("N"), context.StepRunId.ToString("N"),
                    $"attempt-{context.Attempt}", "model");
                if (Directory.Exists(modelDir)) Directory.Delete(modelDir, recursive: true);
                MlflowModel.Save(modelDir, x, pipeline);
            }
            var number = JsonNumber.Long(trial?["number"]) ?? context.ItemIndex ?? 0;
            context.Log.Write($"trial {number} ({trainer}): valid {metric} = {value.ToString("R", CultureInfo.InvariantCulture)}" +
                              (bestIteration is { } b ? $", best iteration {b}" : ""));
            var result = new JsonObject
            {
                ["number"] = number,
                ["trainer"] = trainer,
                ["params"] = parameters.DeepClone(),
                ["metric"] = metric,
                ["value"] = value,
                ["best_iteration"] = bestIteration,
                ["model_dir"] = modelDir,
            };
            return ActivityResult.Success(new JsonObject { ["result"] = result, ["value"] = value, ["model_dir"] = modelDir });
        }
    }

    private static Table Read(string path, CsvOptions csv)
    {
        var (schema, batches) = DataFile.Open(path, csv);
        return Table.Concat(schema, batches);
    }
}
