using System.Globalization;
using Pipelines.Ml.XGBoost;
using Pipelines.Ml.Explain;

namespace Pipelines.Ml.Trainers;

/// <summary>
/// XGBoost training options. <see cref="Parameters"/> are passed to the booster verbatim (learning_rate, max_depth,
/// subsample, …) after the defaults derived from the task, seed and thread count, so they can override them.
/// </summary>
public sealed record XGBoostOptions
{
    public TaskKind Task { get; init; } = TaskKind.BinaryClassification;
    public int ClassCount { get; init; }
    public int Rounds { get; init; } = 100;
    /// <summary>Stop when the last metric on the last evaluation set has not improved for this many rounds.</summary>
    public int? EarlyStoppingRounds { get; init; }
    /// <summary>eval_metric values; default logloss (binary), mlogloss (multiclass), rmse (regression).</summary>
    public IReadOnlyList<string>? EvalMetrics { get; init; }
    public int Seed { get; init; }
    /// <summary>nthread for training and prediction; 0 = all cores.</summary>
    public int Threads { get; init; } = 1;
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();

    public IReadOnlyList<KeyValuePair<string, string>> BoosterParameters(int classCount)
    {
        var p = new List<KeyValuePair<string, string>>
        {
            new("objective", Task switch
            {
                TaskKind.BinaryClassification => "binary:logistic",
                TaskKind.MulticlassClassification => "multi:softprob",
                _ => "reg:squarederror",
            }),
            new("seed", Seed.ToString(CultureInfo.InvariantCulture)),
            new("nthread", Threads.ToString(CultureInfo.InvariantCulture)),
            new("tree_method", "hist"),
        };
        if (Task == TaskKind.MulticlassClassification) p.Add(new("num_class", classCount.ToString(CultureInfo.InvariantCulture)));
        foreach (var m in EvalMetrics ?? [Task switch { TaskKind.BinaryClassification => "logloss", TaskKind.MulticlassClassification => "mlogloss", _ => "rmse" }])
            p.Add(new("eval_metric", m));
        foreach (var kv in Parameters)
        {
            p.RemoveAll(x => x.Key == kv.Key && kv.Key != "eval_metric");
            p.Add(kv);
        }
        return p;
    }
}

public sealed class XGBoostTrainer(XGBoostOptions options) : ITrainer
{
    public string Name => "xgboost";
    public TaskKind Task => options.Task;
    public XGBoostOptions Options => options;

    public ITrainedModel Fit(TrainingSet train, IReadOnlyList<(string Name, TrainingSet Data)>? evaluation = null,
        Func<IterationReport, bool>? onIteration = null, CancellationToken cancellationToken = default) =>
        Train(train, evaluation, onIteration, cancellationToken);

    public XGBoostModel Train(TrainingSet train, IReadOnlyList<(string Name, TrainingSet Data)>? evaluation = null,
        Func<IterationReport, bool>? onIteration = null, CancellationToken cancellationToken = default)
    {
        var classes = TrainingChecks.ClassCount(options.Task, train.Labels, options.ClassCount);
        evaluation ??= [];
        if (options.EarlyStoppingRounds is not null && evaluation.Count == 0)
            throw new ArgumentException("early stopping needs at least one evaluation set");
        var matrices = new List<DMatrix>();
        try
        {
            var dtrain = ToDMatrix(train);
            matrices.Add(dtrain);
            var sets = new List<(string, DMatrix)>();
            foreach (var (name, data) in evaluation)
            {
                var m = ToDMatrix(data);
                matrices.Add(m);
                sets.Add((name, m));
            }
            var booster = new Booster(matrices);
            try
            {
                foreach (var (k, v) in options.BoosterParameters(classes)) booster.SetParam(k, v);
                var history = new List<IterationReport>();
                var best = (Iteration: -1, Score: double.NaN);
                string? stopMetric = null;
                var stoppedEarly = false;
                for (var it = 0; it < options.Rounds; it++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    booster.UpdateOneIteration(it, dtrain);
                    var metrics = sets.Count == 0 ? [] : booster.Evaluate(it, sets).Select(e => new EvaluationValue(e.Set, e.Metric, e.Value)).ToList();
                    var report = new IterationReport(it, metrics);
                    history.Add(report);
                    if (options.EarlyStoppingRounds is { } patience && metrics.Count > 0)
                    {
                        // As Python's EarlyStopping: the last metric of the last evaluation set decides.
                        var watched = metrics[^1];
                        stopMetric = watched.Metric;
                        var maximize = Maximize(watched.Metric);
                        if (best.Iteration < 0 || (maximize ? watched.Value > best.Score : watched.Value < best.Score))
                            best = (it, watched.Value);
                        else if (it - best.Iteration >= patience)
                        {
                            onIteration?.Invoke(report);
                            stoppedEarly = true;
                            break;
                        }
                    }
                    if (onIteration is not null && !onIteration(report)) break;
                }
                if (best.Iteration >= 0)
                {
                    // Keep the trees up to the best round, so the saved file predicts like the model we report.
                    if (stoppedEarly) booster.Truncate(best.Iteration + 1);
                    booster.SetAttribute("best_iteration", best.Iteration.ToString(CultureInfo.InvariantCulture));
                    booster.SetAttribute("best_score", best.Score.ToString("R", CultureInfo.InvariantCulture));
                }
                if (train.Features.Names.Count > 0) booster.SetFeatureNames(train.Features.Names);
                return new XGBoostModel(booster, options.Task, classes, history, best.Iteration >= 0 ? best.Iteration : null, stopMetric, options.Threads);
            }
            catch
            {
                booster.Dispose();
                throw;
            }
        }
        finally
        {
            foreach (var m in matrices) m.Dispose();
        }
    }

    private DMatrix ToDMatrix(TrainingSet set)
    {
        var m = DMatrix.FromFeatures(set.Features, options.Threads);
        try
        {
            m.SetLabels(set.Labels.Select(v => (float)v).ToArray());
            if (set.Weights is not null) m.SetWeights(set.Weights.Select(v => (float)v).ToArray());
            return m;
        }
        catch
        {
            m.Dispose();
            throw;
        }
    }

    public static bool Maximize(string metric) =>
        metric.StartsWith("auc", StringComparison.Ordinal) || metric.StartsWith("map", StringComparison.Ordinal)
        || metric.StartsWith("ndcg", StringComparison.Ordinal) || metric.StartsWith("pre", StringComparison.Ordinal)
        || metric.StartsWith("aucpr", StringComparison.Ordinal);
}

/// <summary>A trained XGBoost model and its training history.</summary>
public sealed class XGBoostModel : ITrainedModel
{
    internal XGBoostModel(Booster booster, TaskKind task, int classes, IReadOnlyList<IterationReport> history, int? bestIteration, string? stopMetric, int threads)
    {
        Booster = booster;
        Task = task;
        ClassCount = classes;
        History = history;
        BestIteration = bestIteration;
        EarlyStoppingMetric = stopMetric;
        Threads = threads;
    }

    public Booster Booster { get; }
    public TaskKind Task { get; }
    public int ClassCount { get; }
    public IReadOnlyList<IterationReport> History { get; }
    public int? BestIteration { get; }
    public string? EarlyStoppingMetric { get; }
    public int Threads { get; }

    /// <summary>Loads a saved model file (.json or .ubj) for prediction.</summary>
    public static XGBoostModel Load(string path, TaskKind task, int classCount, int threads = 1)
    {
        var b = Booster.Load(path);
        b.SetThreads(threads);
        return new XGBoostModel(b, task, task == TaskKind.Regression ? 1 : classCount, [], null, null, threads);
    }

    public void Save(string path) => Booster.Save(path);

    public Predictions Predict(FeatureMatrix features)
    {
        var raw = PredictRaw(features);
        return new Predictions(raw.Values.Select(v => (double)v).ToArray(), raw.Rows, raw.Columns);
    }

    /// <summary>Predictions exactly as XGBoost computes them (float32).</summary>
    public PredictionArray PredictRaw(FeatureMatrix features, PredictionKind kind = PredictionKind.Value)
    {
        // Values and margins straight from our dense matrix (no DMatrix copy); contributions need a DMatrix.
        if (kind is PredictionKind.Value or PredictionKind.Margin) return Booster.Predict(features, kind);
        using var m = DMatrix.FromFeatures(features, Threads);
        return Booster.Predict(m, kind);
    }

    /// <summary>
    /// SHAP contributions per row through XGBoost's own TreeSHAP (<see cref="PredictionKind.Contribution"/>), in margin
    /// units: for each output (one, or one per class) the features' values then the bias; a row's values sum to its margin.
    /// </summary>
    public Contributions Contributions(FeatureMatrix features)
    {
        var raw = PredictRaw(features, PredictionKind.Contribution);
        var outputs = ClassCount > 2 ? ClassCount : 1;
        var width = raw.Columns / outputs;
        if (width != features.Columns + 1)
            throw new InvalidOperationException($"XGBoost returned {width} contributions per output for {features.Columns} features");
        var names = features.Names.Count == features.Columns ? features.Names : Enumerable.Range(0, features.Columns).Select(i => $"f{i}").ToArray();
        return new Contributions(raw.Values, raw.Rows, outputs, names);
    }

    public void Dispose() => Booster.Dispose();
}
