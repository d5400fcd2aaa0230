// The hand-written IRLS logistic baseline that ML.NET's L-BFGS logistic regression replaced (as of commit e3a33c8),
// kept only so the trainer benchmark can time both on the same data and load. Not used by the product.
using MathNet.Numerics.LinearAlgebra;
using Pipelines.Ml;
using Pipelines.Ml.Trainers;

namespace Pipelines.Benchmarks.Ml.Legacy;

/// <summary>Per-column mean and scale of a feature matrix; the linear baselines fit on standardized features.</summary>
internal sealed record Standardizer(double[] Mean, double[] Scale)
{
    public static Standardizer Fit(FeatureMatrix x)
    {
        var mean = new double[x.Columns];
        var sq = new double[x.Columns];
        for (var i = 0; i < x.Rows; i++)
            for (var j = 0; j < x.Columns; j++) mean[j] += x[i, j];
        for (var j = 0; j < x.Columns; j++) mean[j] /= x.Rows;
        for (var i = 0; i < x.Rows; i++)
            for (var j = 0; j < x.Columns; j++) { var d = x[i, j] - mean[j]; sq[j] += d * d; }
        var scale = sq.Select(s => Math.Sqrt(s / x.Rows) is var sd && sd > 1e-12 ? sd : 1.0).ToArray();
        return new Standardizer(mean, scale);
    }

    /// <summary>The design matrix [1, standardized features].</summary>
    public Matrix<double> Design(FeatureMatrix x)
    {
        if (x.Columns != Mean.Length) throw new ArgumentException($"model has {Mean.Length} features, input has {x.Columns}");
        var m = Matrix<double>.Build.Dense(x.Rows, x.Columns + 1);
        for (var i = 0; i < x.Rows; i++)
        {
            m[i, 0] = 1;
            for (var j = 0; j < x.Columns; j++) m[i, j + 1] = (x[i, j] - Mean[j]) / Scale[j];
        }
        return m;
    }
}

/// <summary>
/// L2-regularized logistic regression by Newton's method (IRLS) on standardized features. Multiclass is
/// one-vs-rest with probabilities normalized to sum to one.
/// </summary>
public sealed class LegacyIrlsLogisticTrainer(TaskKind task = TaskKind.BinaryClassification, double l2 = 1.0, int maxIterations = 50, double tolerance = 1e-8, int classCount = 0) : ITrainer
{
    public string Name => "logistic_regression (hand-written IRLS)";
    public TaskKind Task => task;

    public ITrainedModel Fit(TrainingSet train, IReadOnlyList<(string Name, TrainingSet Data)>? evaluation = null,
        Func<IterationReport, bool>? onIteration = null, CancellationToken cancellationToken = default)
    {
        if (task == TaskKind.Regression) throw new ArgumentException("logistic regression is for classification; use RidgeTrainer for regression");
                var k = task == TaskKind.BinaryClassification ? 2 : Math.Max(classCount, (int)train.Labels.Max() + 1);
        var std = Standardizer.Fit(train.Features);
        var x = std.Design(train.Features);
        var history = new List<IterationReport>();
        var coefficients = new List<Vector<double>>();
        foreach (var positive in task == TaskKind.BinaryClassification ? [1] : Enumerable.Range(0, k))
        {
            var y = Vector<double>.Build.Dense(train.Labels.Length, i => train.Labels[i] == positive ? 1.0 : 0.0);
            coefficients.Add(Newton(x, y, train.Weights, history, positive, cancellationToken));
        }
        return new LinearModel(task, k, std, coefficients, history);
    }

    private Vector<double> Newton(Matrix<double> x, Vector<double> y, double[]? weights, List<IterationReport> history, int cls, CancellationToken ct)
    {
        var n = x.RowCount;
        var p = x.ColumnCount;
        var beta = Vector<double>.Build.Dense(p);
        var penalty = Vector<double>.Build.Dense(p, j => j == 0 ? 0 : l2); // the intercept is not penalized
        for (var it = 0; it < maxIterations; it++)
        {
            ct.ThrowIfCancellationRequested();
            var eta = x * beta;
            var mu = eta.Map(Sigmoid);
            var w = Vector<double>.Build.Dense(n, i => Math.Max(mu[i] * (1 - mu[i]), 1e-12) * (weights?[i] ?? 1.0));
            var r = Vector<double>.Build.Dense(n, i => (mu[i] - y[i]) * (weights?[i] ?? 1.0));
            var gradient = x.TransposeThisAndMultiply(r) + penalty.PointwiseMultiply(beta);
            var xw = RowScaled(x, w.AsArray());
            var hessian = x.TransposeThisAndMultiply(xw) + Matrix<double>.Build.DiagonalOfDiagonalVector(penalty);
            var step = hessian.Cholesky().Solve(gradient);
            beta -= step;
            double loss = 0;
            for (var i = 0; i < n; i++)
            {
                var m = Math.Clamp(mu[i], 1e-15, 1 - 1e-15);
                loss -= (weights?[i] ?? 1.0) * (y[i] * Math.Log(m) + (1 - y[i]) * Math.Log(1 - m));
            }
            history.Add(new IterationReport(history.Count, [new EvaluationValue("train", $"class{cls}-logloss", loss / n)]));
            if (step.InfinityNorm() < tolerance) break;
        }
        return beta;
    }

    /// <summary>diag(w) · x, scaling the column-major storage directly (SetRow per row is far slower).</summary>
    internal static Matrix<double> RowScaled(Matrix<double> x, double[] w)
    {
        var n = x.RowCount;
        var values = (double[])x.AsColumnMajorArray().Clone();
        for (var j = 0; j < x.ColumnCount; j++)
            for (var i = 0; i < n; i++) values[j * n + i] *= w[i];
        return Matrix<double>.Build.Dense(n, x.ColumnCount, values);
    }

    internal static double Sigmoid(double z) => z >= 0 ? 1 / (1 + Math.Exp(-z)) : Math.Exp(z) / (1 + Math.Exp(z));
}

internal sealed class LinearModel(TaskKind task, int classes, Standardizer std, IReadOnlyList<Vector<double>> coefficients, IReadOnlyList<IterationReport> history) : ITrainedModel
{
    public TaskKind Task => task;
    public int ClassCount => classes;
    public IReadOnlyList<IterationReport> History => history;

    public Predictions Predict(FeatureMatrix features)
    {
        var x = std.Design(features);
        var scores = coefficients.Select(b => x * b).ToList();
        var n = features.Rows;
        if (task == TaskKind.Regression) return new Predictions(scores[0].ToArray(), n, 1);
        if (task == TaskKind.BinaryClassification)
            return new Predictions(scores[0].Select(LegacyIrlsLogisticTrainer.Sigmoid).ToArray(), n, 1);
        var values = new double[n * classes];
        for (var i = 0; i < n; i++)
        {
            double sum = 0;
            for (var c = 0; c < classes; c++) sum += values[i * classes + c] = LegacyIrlsLogisticTrainer.Sigmoid(scores[c][i]);
            for (var c = 0; c < classes; c++) values[i * classes + c] /= sum;
        }
        return new Predictions(values, n, classes);
    }

    public void Dispose() { }
}
