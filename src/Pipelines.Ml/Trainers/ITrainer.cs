namespace Pipelines.Ml.Trainers;

public enum TaskKind { BinaryClassification, MulticlassClassification, Regression }

/// <summary>Features and labels (class indices 0..k-1 for classification, values for regression), optional weights.</summary>
public sealed record TrainingSet(FeatureMatrix Features, double[] Labels, double[]? Weights = null)
{
    public int Rows => Features.Rows;
}

public sealed record EvaluationValue(string Set, string Metric, double Value);

/// <summary>What a trainer reports after each boosting round / optimizer iteration.</summary>
public sealed record IterationReport(int Iteration, IReadOnlyList<EvaluationValue> Metrics)
{
    public double? Get(string set, string metric) =>
        Metrics.FirstOrDefault(m => m.Set == set && m.Metric == metric)?.Value;
}

/// <summary>Predictions: one value per row (probability of class 1, or the regression value), or k per row for k classes.</summary>
public sealed record Predictions(double[] Values, int Rows, int Columns)
{
    public double this[int row, int column = 0] => Values[row * Columns + column];

    /// <summary>For multiclass, the probabilities of row <paramref name="row"/>.</summary>
    public ReadOnlySpan<double> Row(int row) => Values.AsSpan(row * Columns, Columns);
}

/// <summary>
/// The training seam: XGBoost and the C# baselines implement it, so a sweep can always compare its winner
/// with a baseline. <c>onIteration</c> returns false to stop training early (pruning).
/// </summary>
public interface ITrainer
{
    string Name { get; }
    TaskKind Task { get; }

    ITrainedModel Fit(TrainingSet train, IReadOnlyList<(string Name, TrainingSet Data)>? evaluation = null,
        Func<IterationReport, bool>? onIteration = null, CancellationToken cancellationToken = default);
}

public interface ITrainedModel : IDisposable
{
    TaskKind Task { get; }
    /// <summary>Number of classes (1 for regression).</summary>
    int ClassCount { get; }
    Predictions Predict(FeatureMatrix features);
    IReadOnlyList<IterationReport> History { get; }
}

internal static class TrainingChecks
{
    public static int ClassCount(TaskKind task, double[] labels, int declared)
    {
        if (task == TaskKind.Regression) return 1;
        var max = 0;
        foreach (var y in labels)
        {
            if (double.IsNaN(y) || y < 0 || y != Math.Floor(y)) throw new ArgumentException($"classification labels must be class indices 0..k-1, got {y}");
            max = Math.Max(max, (int)y);
        }
        if (task == TaskKind.BinaryClassification)
        {
            if (max > 1) throw new ArgumentException($"binary labels must be 0 or 1, got {max}");
            return 2;
        }
        return Math.Max(declared, max + 1);
    }

    public static void RequireComplete(FeatureMatrix x, string trainer)
    {
        for (var i = 0; i < x.Values.Length; i++)
            if (float.IsNaN(x.Values[i]))
            {
                var col = i % x.Columns;
                var name = x.Names.Count > col ? x.Names[col] : $"f{col}";
                throw new ColumnMismatchException(name, $"{trainer} needs complete features, but column '{name}' has missing values (add an impute step)");
            }
    }
}
