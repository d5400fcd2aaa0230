using Pipelines.Data;
using Pipelines.Data.Csv;
using Pipelines.Ml.Features;
using Pipelines.Ml.Metrics;
using Pipelines.Ml.MlNet;
using Pipelines.Ml.Splits;
using Pipelines.Ml.Trainers;
using Pipelines.Ml.Tuning;

namespace Pipelines.Activities.Model;

/// <summary>A fitted model with its feature pipeline and validation results.</summary>
public sealed record TrainingOutcome(
    ITrainedModel Model, FeaturePipeline Pipeline, string Trainer, JsonObject Parameters, string Metric, double Value,
    int? BestIteration, IReadOnlyDictionary<string, IReadOnlyList<double>> IterationMetrics, double[] ValidPredictions,
    Table? InputExample = null) : IDisposable
{
    /// <summary>The trainer and trial number as a name that says what it is: <c>xgboost-trial-3</c>, <c>baseline-logistic</c>.</summary>
    public string RunName(long number) => Trainer == "xgboost" ? $"xgboost-trial-{number}" : $"baseline-{Trainer}";

    public void Dispose() => Model.Dispose();
}

/// <summary>
/// The training shared by <c>train</c> and <c>train.trial</c>: read train/valid (paths or artifact references), fit
/// the feature pipeline on train, fit xgboost or a baseline, score the validation set.
/// </summary>
public static class ModelTraining
{
    /// <summary>The inputs both training activities accept.</summary>
    public static SchemaBuilder Inputs(SchemaBuilder b) => b
        .Required("train", SchemaBuilder.Any("Training data: a Parquet or CSV path, or an artifact reference."))
        .Required("label", SchemaBuilder.String("Label column."))
        .Optional("valid", SchemaBuilder.Any("Validation data (path or reference); default: a stratified 20 % split of train (seeded)."))
        .Optional("task", SchemaBuilder.String("binary (default), multiclass or regression."))
        .Optional("positive", SchemaBuilder.String("Positive class of a binary label."))
        .Optional("label_mapping", SchemaBuilder.Any("Label value mapping, e.g. {'>50K.': '>50K'}."))
        .Optional("null_tokens", SchemaBuilder.Array(SchemaBuilder.String(), "CSV values read as missing (default [''])."))
        .Optional("pipeline", SchemaBuilder.Any("Feature steps: [{op: one_hot, columns: [...]}, …]."))
        .Optional("params", SchemaBuilder.Any("Trainer parameters (XGBoost's names; the ML.NET kinds accept the ones they have, see docs)."))
        .Optional("trainer", SchemaBuilder.String("xgboost (default); ML.NET's lightgbm, fasttree (binary, regression) or sdca; the baselines logistic (ML.NET L-BFGS, classification) or constant. A trial's params may carry 'trainer' to pick it per trial."))
        .Optional("rounds", SchemaBuilder.Integer("Boosting rounds / trees for xgboost, lightgbm, fasttree (default 100)."))
        .Optional("early_stopping_rounds", SchemaBuilder.Integer("Stop after this many rounds without improvement."))
        .Optional("metric", SchemaBuilder.String("Validation metric: auc (binary default), logloss, mlogloss (multiclass default), rmse (regression default)."))
        .Optional("threads", SchemaBuilder.Integer("Training threads (default 1)."))
        .Optional("seed", SchemaBuilder.Integer("Seed for the split and the trainer (default 0)."))
        .Optional("experiment", SchemaBuilder.String("MLflow experiment (default 'pipelines'; workflows pass ${{ run.workflow }})."));

    public static TaskKind TaskOf(JsonObject inputs) => (inputs["task"]?.GetValue<string>() ?? "binary") switch
    {
        "binary" => TaskKind.BinaryClassification,
        "multiclass" => TaskKind.MulticlassClassification,
        "regression" => TaskKind.Regression,
        var t => throw new ActivityException($"unknown task '{t}' (binary, multiclass, regression)", retryable: false),
    };

    public static CsvOptions CsvOf(JsonObject inputs) =>
        new() { NullTokens = (inputs["null_tokens"] as JsonArray)?.Select(t => t!.GetValue<string>()).ToList() ?? [""] };

    public static Table Read(string path, CsvOptions csv)
    {
        try
        {
            var (schema, batches) = DataFile.Open(path, csv);
            return Table.Concat(schema, batches);
        }
        catch (Exception e) when (e is IOException or FormatException or KeyNotFoundException or InvalidDataException)
        {
            throw new ActivityException($"cannot read '{Path.GetFileName(path)}': {Pipelines.Activities.Data.TableFiles.Describe(e)}", retryable: e is IOException and not FileNotFoundException, e);
        }
    }

    /// <summary>The trainer a trial's parameters or the inputs ask for (default xgboost).</summary>
    public static string TrainerOf(JsonObject inputs, JsonObject? trialParams = null)
    {
        var node = trialParams?["trainer"] ?? inputs["trainer"];
        if (node is null) return "xgboost";
        return node is JsonValue v && v.TryGetValue<string>(out var name)
            ? name
            : throw new ActivityException($"trainer must be a name (xgboost, {string.Join(", ", MlNetKinds.All)}, constant), got {node.ToJsonString()}", retryable: false);
    }

    /// <summary>The validation metric the inputs ask for, or the task's default; an error when the task has no such metric.</summary>
    public static string MetricOf(JsonObject inputs)
    {
        var task = TaskOf(inputs);
        var metric = inputs["metric"]?.GetValue<string>() ?? task switch
        {
            TaskKind.BinaryClassification => "auc",
            TaskKind.MulticlassClassification => "mlogloss",
            _ => "rmse",
        };
        var allowed = task switch
        {
            TaskKind.BinaryClassification => new[] { "auc", "logloss" },
            TaskKind.MulticlassClassification => ["mlogloss", "merror"],
            _ => ["rmse", "mae"],
        };
        if (!allowed.Contains(metric)) throw new ActivityException($"metric must be one of {string.Join(", ", allowed)} for this task, got '{metric}'", retryable: false);
        return metric;
    }

    /// <summary>
    /// Resolves train/valid (recording lineage for references) and trains. For xgboost, <paramref name="onValidation"/>
    /// gets each round's iteration and validation metric (as XGBoost computes it) and returns true to stop training.
    /// </summary>
    public static async Task<TrainingOutcome> TrainAsync(ActivityContext context, JsonObject? extraParams, CancellationToken ct,
        Func<int, double, bool>? onValidation = null)
    {
        var inputs = context.Inputs;
        var csv = CsvOf(inputs);
        var train = Read(await ArtifactRefs.LocalFileAsync(context, "train", ct), csv);
        var valid = inputs["valid"] is null ? null : Read(await ArtifactRefs.LocalFileAsync(context, "valid", ct), csv);
        return await Task.Run(() => Train(context, train, valid, extraParams, onValidation, ct), ct);
    }

    private static TrainingOutcome Train(ActivityContext context, Table train, Table? valid, JsonObject? extraParams, Func<int, double, bool>? onValidation,
        CancellationToken ct)
    {
        // A column the label or feature pipeline needs is missing: say in which data, so the message alone leads to the file.
        static ActivityException Mismatch(ActivityContext context, string input, Pipelines.Ml.ColumnMismatchException e) =>
            new($"{input} data '{ArtifactRefs.DisplayName(context.Inputs[input])}': {e.Message}", retryable: false, e);

        var inputs = context.Inputs;
        // A few raw training rows: the MLflow model's input example, and its signature's column types.
        var example = train.Slice(0, Math.Min(Pipelines.Ml.Packaging.MlflowModel.ExampleRows, train.RowCount));
        var task = TaskOf(inputs);
        var seed = (int)(JsonNumber.Long(inputs["seed"]) ?? 0);
        var metric = MetricOf(inputs);
        var trainer = TrainerOf(inputs, extraParams);
        var parameters = new JsonObject();
        foreach (var source in new[] { extraParams, inputs["params"] as JsonObject })
            if (source is not null) foreach (var (k, v) in source) parameters[k] = v?.DeepClone();
        // A sweep over kinds carries the trainer among a trial's parameters; it chooses, it is not passed on.
        parameters.Remove("trainer");

        var pipeline = new FeaturePipeline
        {
            Label = new LabelSpec
            {
                Column = context.RequireString("label"),
                Task = task,
                Positive = inputs["positive"]?.GetValue<string>(),
                Mapping = (inputs["label_mapping"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>()) ?? new(),
            },
            Steps = inputs["pipeline"] is JsonArray steps
                ? FeaturePipeline.FromJson(new JsonObject { ["format_version"] = FeaturePipeline.CurrentFormatVersion, ["steps"] = steps.DeepClone() }.ToJsonString()).Steps
                : [],
        };
        try
        {
            if (valid is null)
            {
                // Labels are needed to stratify; fit the label spec on the whole file first (no feature statistics leak).
                var labels = new FeaturePipeline { Label = pipeline.Label }.Fit(train.Select(pipeline.Label.Column)).Labels(train);
                var split = task == TaskKind.Regression ? Splitter.Random(train.RowCount, 0.2, seed) : Splitter.Stratified(labels, 0.2, seed);
                (train, valid) = split.Apply(train);
            }
            pipeline.Fit(train);
        }
        catch (Pipelines.Ml.ColumnMismatchException e)
        {
            throw Mismatch(context, "train", e);
        }
        var trainSet = pipeline.ToTrainingSet(train);
        TrainingSet validSet;
        try { validSet = pipeline.ToTrainingSet(valid); }
        catch (Pipelines.Ml.ColumnMismatchException e) when (context.Inputs["valid"] is not null)
        {
            throw Mismatch(context, "valid", e);
        }
        var classes = task == TaskKind.MulticlassClassification ? pipeline.Label.Classes?.Count ?? 0 : 0;

        ITrainedModel model;
        int? bestIteration = null;
        var iterations = new Dictionary<string, IReadOnlyList<double>>();
        var threads = (int)(JsonNumber.Long(inputs["threads"]) ?? 1);
        switch (trainer)
        {
            case "xgboost":
                var options = new XGBoostOptions
                {
                    Task = task,
                    ClassCount = classes,
                    Rounds = (int)(JsonNumber.Long(inputs["rounds"]) ?? 100),
                    EarlyStoppingRounds = (int?)JsonNumber.Long(inputs["early_stopping_rounds"]),
                    EvalMetrics = [metric],
                    Seed = seed,
                    Threads = threads,
                    Parameters = SearchSpace.ToStrings(parameters),
                };
                var xgb = new XGBoostTrainer(options).Train(trainSet, [("valid", validSet)], round =>
                    !ct.IsCancellationRequested
                    && (onValidation is null || round.Get("valid", metric) is not { } v || !onValidation(round.Iteration, v)), ct);
                bestIteration = xgb.BestIteration;
                iterations[$"valid_{metric}"] = xgb.History.Select(h => h.Get("valid", metric) ?? double.NaN).ToList();
                model = xgb;
                break;
            case MlNetKinds.LightGbm or MlNetKinds.FastTree or MlNetKinds.Sdca or MlNetKinds.Logistic:
                try
                {
                    model = new MlNetTrainer(new MlNetOptions
                    {
                        Kind = trainer,
                        Task = task,
                        ClassCount = classes,
                        Rounds = (int)(JsonNumber.Long(inputs["rounds"]) ?? 100),
                        Seed = seed,
                        Threads = threads,
                        Parameters = SearchSpace.ToStrings(parameters),
                    }).Train(trainSet, ct);
                }
                catch (ArgumentException e)
                {
                    throw new ActivityException($"trainer '{trainer}': {e.Message}", retryable: false, e);
                }
                catch (Pipelines.Ml.ColumnMismatchException e)
                {
                    throw Mismatch(context, "train", e);
                }
                break;
            case "constant":
                model = new ConstantTrainer(task, classes).Fit(trainSet);
                break;
            default:
                throw new ActivityException($"unknown trainer '{trainer}' (xgboost, {string.Join(", ", MlNetKinds.All)}, constant)", retryable: false);
        }
        ct.ThrowIfCancellationRequested();
        var predictions = model.Predict(validSet.Features);
        var value = Score(metric, validSet.Labels, predictions);
        return new TrainingOutcome(model, pipeline, trainer, parameters, metric, value, bestIteration, iterations,
            predictions.Columns == 1 ? predictions.Values : Enumerable.Range(0, predictions.Rows).Select(r => predictions.Row(r).ToArray().Max()).ToArray(),
            example);
    }

    public static double Score(string metric, double[] y, Predictions p) => metric switch
    {
        "auc" => Metric.RocAuc(y, p.Values),
        "logloss" => Metric.LogLoss(y, p.Values),
        "mlogloss" => Metric.LogLoss(y, p.Values, p.Columns),
        "merror" => 1 - Metric.Multiclass(y, p.Values, p.Columns).Accuracy,
        "rmse" => Metric.Regression(y, p.Values).Rmse,
        "mae" => Metric.Regression(y, p.Values).Mae,
        _ => throw new ActivityException($"unknown metric '{metric}'", retryable: false),
    };

    /// <summary>True when a larger value of <paramref name="metric"/> is better.</summary>
    public static bool Maximize(string metric) => metric is "auc" or "roc_auc" or "pr_auc" or "accuracy" or "f1" or "precision" or "recall" or "r2" or "macro_f1" or "micro_f1";
}
