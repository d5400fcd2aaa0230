using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;
using Pipelines.Ml.Trainers;

namespace Pipelines.Ml.MlNet;

/// <summary>
/// The ML.NET trainer kinds a training step may ask for by name. <c>logistic</c> is the cheap baseline (L-BFGS
/// logistic regression / maximum entropy on standardized features); it replaced the hand-written IRLS one.
/// </summary>
public static class MlNetKinds
{
    public const string LightGbm = "lightgbm";
    public const string FastTree = "fasttree";
    public const string Sdca = "sdca";
    public const string Logistic = "logistic";

    public static readonly IReadOnlyList<string> All = [LightGbm, FastTree, Sdca, Logistic];

    public static bool Supports(string kind, TaskKind task) => (kind, task) switch
    {
        (LightGbm, _) or (Sdca, _) => true,
        (FastTree, TaskKind.BinaryClassification or TaskKind.Regression) => true,
        (Logistic, TaskKind.BinaryClassification or TaskKind.MulticlassClassification) => true,
        _ => false,
    };

    /// <summary>The parameter names each kind accepts (XGBoost's names where ML.NET has the same knob, so one search space can serve several kinds).</summary>
    public static IReadOnlyList<string> Parameters(string kind) => kind switch
    {
        LightGbm => ["learning_rate", "eta", "num_leaves", "max_depth", "min_data_in_leaf", "min_child_weight", "subsample", "colsample_bytree", "lambda", "reg_lambda", "alpha", "reg_alpha", "max_bin"],
        FastTree => ["learning_rate", "eta", "num_leaves", "min_data_in_leaf", "subsample", "colsample_bytree", "max_bin"],
        Sdca => ["lambda", "l2", "alpha", "l1", "max_iterations"],
        Logistic => ["lambda", "l2", "alpha", "l1", "max_iterations", "tolerance"],
        _ => [],
    };
}

/// <summary>Options of an ML.NET training: the kind, the task, boosting rounds (tree kinds), seed, threads and the kind's parameters.</summary>
public sealed record MlNetOptions
{
    public required string Kind { get; init; }
    public TaskKind Task { get; init; } = TaskKind.BinaryClassification;
    public int ClassCount { get; init; }
    /// <summary>Boosting iterations (lightgbm) or trees (fasttree); ignored by the linear kinds, which run to convergence.</summary>
    public int Rounds { get; init; } = 100;
    public int Seed { get; init; }
    public int Threads { get; init; } = 1;
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// Trains LightGBM, FastTree, SDCA or L-BFGS logistic regression through ML.NET on a <see cref="FeatureMatrix"/>
/// (read in place by <see cref="FeatureMatrixDataView"/>). Linear kinds standardize the features first (part of the
/// saved model) and need complete features; tree kinds take NaN as missing.
/// </summary>
public sealed class MlNetTrainer(MlNetOptions options) : ITrainer
{
    public string Name => options.Kind;
    public TaskKind Task => options.Task;
    public MlNetOptions Options => options;

    public ITrainedModel Fit(TrainingSet train, IReadOnlyList<(string Name, TrainingSet Data)>? evaluation = null,
        Func<IterationReport, bool>? onIteration = null, CancellationToken cancellationToken = default) => Train(train, cancellationToken);

    public MlNetModel Train(TrainingSet train, CancellationToken cancellationToken = default)
    {
        var kind = options.Kind;
        if (!MlNetKinds.All.Contains(kind)) throw new ArgumentException($"unknown ML.NET trainer '{kind}' ({string.Join(", ", MlNetKinds.All)})");
        if (!MlNetKinds.Supports(kind, options.Task))
            throw new ArgumentException($"ML.NET has no {kind} trainer for {TaskName(options.Task)} (use {string.Join(" or ", MlNetKinds.All.Where(k => MlNetKinds.Supports(k, options.Task)).Prepend("xgboost"))})");
        var accepted = MlNetKinds.Parameters(kind);
        foreach (var name in options.Parameters.Keys)
            if (!accepted.Contains(name))
                throw new ArgumentException($"parameter '{name}' does not apply to the {kind} trainer (it takes: {(accepted.Count == 0 ? "none" : string.Join(", ", accepted))})");
        var linear = kind is MlNetKinds.Sdca or MlNetKinds.Logistic;
        if (linear) TrainingChecks.RequireComplete(train.Features, kind);
        var classes = TrainingChecks.ClassCount(options.Task, train.Labels, options.ClassCount);

        var ml = MlNetModel.NewContext(options.Seed);
        var data = new FeatureMatrixDataView(train.Features, train.Labels, options.Task, classes, train.Weights);
        var weight = train.Weights is null ? null : FeatureMatrixDataView.WeightColumn;
        var trainer = Estimator(ml, weight);
        IEstimator<ITransformer> estimator = linear
            ? ml.Transforms.NormalizeMeanVariance(FeatureMatrixDataView.FeaturesColumn).Append(trainer)
            : trainer;
        // ML.NET's fit cannot be interrupted from here (its cancellation hook is experimental API): a cancelled step
        // waits for the fit to end, which for these trainers is seconds.
        cancellationToken.ThrowIfCancellationRequested();
        var model = estimator.Fit(data);
        cancellationToken.ThrowIfCancellationRequested();
        return new MlNetModel(ml, model, data.Schema, kind, options.Task, classes, train.Features.Columns);
    }

    private static string TaskName(TaskKind t) => t switch
    {
        TaskKind.BinaryClassification => "binary classification",
        TaskKind.MulticlassClassification => "multiclass classification",
        _ => "regression",
    };

    private double? Get(params string[] names)
    {
        foreach (var n in names)
            if (options.Parameters.TryGetValue(n, out var v))
                return double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
                    ? d
                    : throw new ArgumentException($"parameter '{n}' must be a number, got '{v}'");
        return null;
    }

    private int? GetInt(params string[] names) => Get(names) is { } d
        ? d == Math.Floor(d) ? (int)d : throw new ArgumentException($"parameter '{names[0]}' must be an integer, got {d.ToString(CultureInfo.InvariantCulture)}")
        : null;

    private float? GetFloat(params string[] names) => Get(names) is { } d ? (float)d : null;

    private IEstimator<ITransformer> Estimator(MLContext ml, string? weight)
    {
        const string label = FeatureMatrixDataView.LabelColumn, features = FeatureMatrixDataView.FeaturesColumn;
        var threads = Math.Max(1, options.Threads);
        switch (options.Kind)
        {
            case MlNetKinds.LightGbm:
            {
                var booster = new GradientBooster.Options();
                if (Get("lambda", "reg_lambda") is { } l2) booster.L2Regularization = l2;
                if (Get("alpha", "reg_alpha") is { } l1) booster.L1Regularization = l1;
                if (GetInt("max_depth") is { } depth) booster.MaximumTreeDepth = depth;
                if (Get("min_child_weight") is { } mcw) booster.MinimumChildWeight = mcw;
                if (Get("subsample") is { } sub) { booster.SubsampleFraction = sub; booster.SubsampleFrequency = 1; }
                if (Get("colsample_bytree") is { } col) booster.FeatureFraction = col;
                var rate = Get("learning_rate", "eta");
                var leaves = GetInt("num_leaves");
                var minLeaf = GetInt("min_data_in_leaf");
                var maxBin = GetInt("max_bin") ?? 255;
                // Seed and threads fixed: LightGBM is then deterministic for a given input.
                return options.Task switch
                {
                    TaskKind.BinaryClassification => ml.BinaryClassification.Trainers.LightGbm(new LightGbmBinaryTrainer.Options
                    {
                        LabelColumnName = label, FeatureColumnName = features, ExampleWeightColumnName = weight, Booster = booster,
                        NumberOfIterations = options.Rounds, LearningRate = rate, NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = minLeaf,
                        MaximumBinCountPerFeature = maxBin, Seed = options.Seed, NumberOfThreads = threads, Silent = true,
                    }),
                    TaskKind.MulticlassClassification => ml.MulticlassClassification.Trainers.LightGbm(new LightGbmMulticlassTrainer.Options
                    {
                        LabelColumnName = label, FeatureColumnName = features, ExampleWeightColumnName = weight, Booster = booster,
                        NumberOfIterations = options.Rounds, LearningRate = rate, NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = minLeaf,
                        MaximumBinCountPerFeature = maxBin, Seed = options.Seed, NumberOfThreads = threads, Silent = true,
                    }),
                    _ => ml.Regression.Trainers.LightGbm(new LightGbmRegressionTrainer.Options
                    {
                        LabelColumnName = label, FeatureColumnName = features, ExampleWeightColumnName = weight, Booster = booster,
                        NumberOfIterations = options.Rounds, LearningRate = rate, NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = minLeaf,
                        MaximumBinCountPerFeature = maxBin, Seed = options.Seed, NumberOfThreads = threads, Silent = true,
                    }),
                };
            }
            case MlNetKinds.FastTree:
            {
                T Tree<T>(T o) where T : BoostedTreeOptions
                {
                    o.LabelColumnName = label;
                    o.FeatureColumnName = features;
                    o.ExampleWeightColumnName = weight;
                    o.NumberOfTrees = options.Rounds;
                    o.Seed = options.Seed;
                    o.NumberOfThreads = threads;
                    if (Get("learning_rate", "eta") is { } rate) o.LearningRate = rate;
                    if (GetInt("num_leaves") is { } leaves) o.NumberOfLeaves = leaves;
                    if (GetInt("min_data_in_leaf") is { } minLeaf) o.MinimumExampleCountPerLeaf = minLeaf;
                    if (GetInt("max_bin") is { } maxBin) o.MaximumBinCountPerFeature = maxBin;
                    if (Get("colsample_bytree") is { } col) o.FeatureFraction = col;
                    if (Get("subsample") is { } sub) { o.BaggingSize = 1; o.BaggingExampleFraction = sub; }
                    return o;
                }
                return options.Task switch
                {
                    TaskKind.BinaryClassification => ml.BinaryClassification.Trainers.FastTree(Tree(new FastTreeBinaryTrainer.Options())),
                    _ => ml.Regression.Trainers.FastTree(Tree(new FastTreeRegressionTrainer.Options())),
                };
            }
            case MlNetKinds.Sdca:
            {
                var l2 = GetFloat("lambda", "l2");
                var l1 = GetFloat("alpha", "l1");
                var iterations = GetInt("max_iterations");
                return options.Task switch
                {
                    TaskKind.BinaryClassification => ml.BinaryClassification.Trainers.SdcaLogisticRegression(new SdcaLogisticRegressionBinaryTrainer.Options
                    {
                        LabelColumnName = label, FeatureColumnName = features, ExampleWeightColumnName = weight,
                        L2Regularization = l2, L1Regularization = l1, MaximumNumberOfIterations = iterations, NumberOfThreads = threads,
                    }),
                    TaskKind.MulticlassClassification => ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(new SdcaMaximumEntropyMulticlassTrainer.Options
                    {
                        LabelColumnName = label, FeatureColumnName = features, ExampleWeightColumnName = weight,
                        L2Regularization = l2, L1Regularization = l1, MaximumNumberOfIterations = iterations, NumberOfThreads = threads,
                    }),
                    _ => ml.Regression.Trainers.Sdca(new SdcaRegressionTrainer.Options
                    {
                        LabelColumnName = label, FeatureColumnName = features, ExampleWeightColumnName = weight,
                        L2Regularization = l2, L1Regularization = l1, MaximumNumberOfIterations = iterations, NumberOfThreads = threads,
                    }),
                };
            }
            default:
            {
                var l2 = GetFloat("lambda", "l2") ?? 1f;
                var l1 = GetFloat("alpha", "l1") ?? 0f;
                var iterations = GetInt("max_iterations") ?? 100;
                var tolerance = GetFloat("tolerance") ?? 1e-7f;
                return options.Task switch
                {
                    TaskKind.BinaryClassification => ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new LbfgsLogisticRegressionBinaryTrainer.Options
                    {
                        LabelColumnName = label, FeatureColumnName = features, ExampleWeightColumnName = weight,
                        L2Regularization = l2, L1Regularization = l1, MaximumNumberOfIterations = iterations, OptimizationTolerance = tolerance, NumberOfThreads = threads,
                    }),
                    _ => ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(new LbfgsMaximumEntropyMulticlassTrainer.Options
                    {
                        LabelColumnName = label, FeatureColumnName = features, ExampleWeightColumnName = weight,
                        L2Regularization = l2, L1Regularization = l1, MaximumNumberOfIterations = iterations, OptimizationTolerance = tolerance, NumberOfThreads = threads,
                    }),
                };
            }
        }
    }
}
