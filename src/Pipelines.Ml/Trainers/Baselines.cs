using MathNet.Numerics.LinearAlgebra;

namespace Pipelines.Ml.Trainers;

// The logistic baseline is ML.NET's L-BFGS logistic regression (Pipelines.Ml.MlNet, trainer "logistic"); it
// replaced a hand-written IRLS one that built dense n×p matrices and dominated the nightly's time.

/// <summary>Predicts the training prior: class frequencies (so argmax is the majority class), or the mean.</summary>
public sealed class ConstantTrainer(TaskKind task, int classCount = 0) : ITrainer
{
    public string Name => "constant";
    public TaskKind Task => task;

    public ITrainedModel Fit(TrainingSet train, IReadOnlyList<(string Name, TrainingSet Data)>? evaluation = null,
        Func<IterationReport, bool>? onIteration = null, CancellationToken cancellationToken = default)
    {
        var k = TrainingChecks.ClassCount(task, train.Labels, classCount);
        var w = train.Weights;
        double total = 0;
        var sums = new double[task == TaskKind.MulticlassClassification ? k : 1];
        for (var i = 0; i < train.Labels.Length; i++)
        {
            var wi = w?[i] ?? 1.0;
            total += wi;
            if (task == TaskKind.MulticlassClassification) sums[(int)train.Labels[i]] += wi;
            else sums[0] += wi * train.Labels[i];
        }
        for (var j = 0; j < sums.Length; j++) sums[j] /= total;
        return new ConstantModel(task, k, sums);
    }

    internal sealed class ConstantModel(TaskKind task, int classes, double[] value) : ITrainedModel
    {
        public TaskKind Task => task;
        /// <summary>What every row gets: class probabilities, or the mean (read by the MLflow packaging).</summary>
        internal double[] Values => value;
        public int ClassCount => classes;
        public IReadOnlyList<IterationReport> History => [];

        public Predictions Predict(FeatureMatrix features)
        {
            var values = new double[features.Rows * value.Length];
            for (var i = 0; i < features.Rows; i++) value.CopyTo(values, i * value.Length);
            return new Predictions(values, features.Rows, value.Length);
        }

        public void Dispose() { }
    }
}

/// <summary>Per-column mean and scale of a feature matrix; ridge fits on standardized features.</summary>
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

/// <summary>Ridge (L2) linear regression in closed form on standardized features; alpha = 0 is ordinary least squares.</summary>
public sealed class RidgeTrainer(double alpha = 1.0) : ITrainer
{
    public string Name => alpha == 0 ? "linear_regression" : "ridge";
    public TaskKind Task => TaskKind.Regression;

    public ITrainedModel Fit(TrainingSet train, IReadOnlyList<(string Name, TrainingSet Data)>? evaluation = null,
        Func<IterationReport, bool>? onIteration = null, CancellationToken cancellationToken = default)
    {
        TrainingChecks.RequireComplete(train.Features, Name);
        var std = Standardizer.Fit(train.Features);
        var x = std.Design(train.Features);
        var w = train.Weights;
        var xw = w is null ? x : RowScaled(x, w);
        var y = Vector<double>.Build.DenseOfArray(train.Labels);
        var a = xw.TransposeThisAndMultiply(x);
        for (var j = 1; j < a.ColumnCount; j++) a[j, j] += alpha;
        var beta = a.Solve(xw.TransposeThisAndMultiply(y));
        return new LinearModel(std, beta);
    }

    /// <summary>diag(w) · x, scaling the column-major storage directly (SetRow per row is far slower).</summary>
    private static Matrix<double> RowScaled(Matrix<double> x, double[] w)
    {
        var n = x.RowCount;
        var values = (double[])x.AsColumnMajorArray().Clone();
        for (var j = 0; j < x.ColumnCount; j++)
            for (var i = 0; i < n; i++) values[j * n + i] *= w[i];
        return Matrix<double>.Build.Dense(n, x.ColumnCount, values);
    }
}

/// <summary>A linear regression model on standardized features.</summary>
internal sealed class LinearModel(Standardizer std, Vector<double> coefficients) : ITrainedModel
{
    public TaskKind Task => TaskKind.Regression;
    public int ClassCount => 1;
    public IReadOnlyList<IterationReport> History => [];
    /// <summary>Read by the MLflow packaging, which writes them for the Python loader.</summary>
    internal Standardizer Standardizer => std;
    internal IReadOnlyList<Vector<double>> Coefficients => [coefficients];

    public Predictions Predict(FeatureMatrix features) => new((std.Design(features) * coefficients).ToArray(), features.Rows, 1);

    public void Dispose() { }
}
