using Pipelines.Ml.Metrics;
using Pipelines.Ml.Trainers;

namespace Pipelines.Ml.Tests.Trainers;

public class BaselineTests
{
    private static FeatureMatrix Random(int rows, int cols, int seed, out Random rng)
    {
        rng = new Random(seed);
        var v = new float[rows * cols];
        for (var i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() * 4 - 2);
        return new FeatureMatrix(v, rows, cols, Enumerable.Range(0, cols).Select(j => $"x{j}").ToArray());
    }

    [Test]
    public void Ridge_RecoversALinearFunction()
    {
        var x = Random(500, 3, 1, out _);
        var y = Enumerable.Range(0, 500).Select(i => 4 + 2.0 * x[i, 0] - 3.0 * x[i, 1]).ToArray();
        using var ols = new RidgeTrainer(alpha: 0).Fit(new TrainingSet(x, y));
        var p = ols.Predict(x).Values;
        Assert.That(Metric.Regression(y, p).Rmse, Is.LessThan(1e-9));
        using var ridge = new RidgeTrainer(alpha: 100).Fit(new TrainingSet(x, y));
        Assert.That(Metric.Regression(y, ridge.Predict(x).Values).Rmse, Is.GreaterThan(1e-3), "the penalty shrinks the fit");
    }

    [Test]
    public void Constant_PredictsThePrior()
    {
        var x = Random(100, 2, 3, out _);
        var y = Enumerable.Range(0, 100).Select(i => (double)(i % 4 == 0 ? 1 : 0)).ToArray();
        using var c = new ConstantTrainer(TaskKind.BinaryClassification).Fit(new TrainingSet(x, y));
        Assert.That(c.Predict(x).Values.Distinct().Single(), Is.EqualTo(0.25));
    }

    [Test]
    public void Baselines_RefuseMissingValues_NamingTheColumn()
    {
        var x = new FeatureMatrix([1f, 2f, float.NaN, 4f], 2, 2, ["a", "b"]);
        var e = Assert.Throws<ColumnMismatchException>(() => new RidgeTrainer().Fit(new TrainingSet(x, [1, 2])));
        Assert.That(e!.Column, Is.EqualTo("a"));
    }
}
