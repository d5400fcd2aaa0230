using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Ml.Metrics;
using Pipelines.Ml.MlNet;
using Pipelines.Ml.Packaging;
using Pipelines.Ml.Trainers;

namespace Pipelines.Ml.Tests.Trainers;

/// <summary>ML.NET's trainers on real data through our IDataView: quality on Adult, tasks, saving, and bad input.</summary>
public class MlNetTrainerTests
{
    private static (TrainingSet Train, TrainingSet Test, Pipelines.Ml.Features.FeaturePipeline Pipeline) Adult()
    {
        var p = TestData.AdultPipeline().Fit(TestData.AdultTrain);
        return (p.ToTrainingSet(TestData.AdultTrain), p.ToTrainingSet(TestData.AdultTest), p);
    }

    private static MlNetModel Train(string kind, TrainingSet train, TaskKind task = TaskKind.BinaryClassification, int rounds = 100,
        Dictionary<string, string>? parameters = null, int seed = 1) =>
        new MlNetTrainer(new MlNetOptions { Kind = kind, Task = task, Rounds = rounds, Seed = seed, Threads = 1, Parameters = parameters ?? [] }).Train(train);

    // Thresholds: a kind that learned nothing scores 0.5; the constant baseline scores 0.5 too. Published AUCs on
    // Adult are about 0.90 for logistic regression and 0.92-0.93 for boosted trees.
    [TestCase(MlNetKinds.LightGbm, 0.92)]
    [TestCase(MlNetKinds.FastTree, 0.92)]
    [TestCase(MlNetKinds.Sdca, 0.89)]
    [TestCase(MlNetKinds.Logistic, 0.89)]
    public void Adult_EachKindLearns_OnTheTestFile(string kind, double minimumAuc)
    {
        var (train, test, _) = Adult();
        using var model = Train(kind, train);
        var p = model.Predict(test.Features);
        var auc = Metric.RocAuc(test.Labels, p.Values);
        TestContext.Out.WriteLine($"{kind}: AUC {auc:F4}");
        Assert.That(p.Rows, Is.EqualTo(test.Rows));
        Assert.That(p.Values, Has.All.InRange(0.0, 1.0), "probabilities");
        Assert.That(auc, Is.GreaterThan(minimumAuc));
    }

    [Test]
    public void Logistic_RecoversTheDecisionRule()
    {
        var rng = new Random(2);
        var v = new float[3000 * 2];
        for (var i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() * 4 - 2);
        var x = new FeatureMatrix(v, 3000, 2, ["x0", "x1"]);
        static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));
        var truth = Enumerable.Range(0, 3000).Select(i => Sigmoid(1.5 * x[i, 0] - 2 * x[i, 1])).ToArray();
        var y = truth.Select(t => rng.NextDouble() < t ? 1.0 : 0.0).ToArray();
        using var m = Train(MlNetKinds.Logistic, new TrainingSet(x, y), parameters: new() { ["l2"] = "0", ["l1"] = "0" });
        var p = m.Predict(x).Values;
        Assert.That(p.Zip(truth, (a, b) => Math.Abs(a - b)).Max(), Is.LessThan(0.08));
    }

    [Test]
    public void Multiclass_AndRegression_WhereMlNetHasThem()
    {
        var rng = new Random(5);
        const int n = 600;
        var v = new float[n * 2];
        for (var i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() * 4 - 2);
        var x = new FeatureMatrix(v, n, 2, ["a", "b"]);
        var cls = Enumerable.Range(0, n).Select(i => (double)(x[i, 0] > 0.7 ? 2 : x[i, 0] > -0.7 ? 1 : 0)).ToArray();
        foreach (var kind in new[] { MlNetKinds.LightGbm, MlNetKinds.Sdca, MlNetKinds.Logistic })
        {
            using var m = Train(kind, new TrainingSet(x, cls), TaskKind.MulticlassClassification, rounds: 50,
                parameters: kind == MlNetKinds.LightGbm ? new() { ["min_data_in_leaf"] = "5" } : null);
            var p = m.Predict(x);
            Assert.That(p.Columns, Is.EqualTo(3), kind);
            for (var i = 0; i < p.Rows; i++) Assert.That(p.Row(i).ToArray().Sum(), Is.EqualTo(1).Within(1e-5), kind);
            Assert.That(Metric.Multiclass(cls, p.Values, 3).Accuracy, Is.GreaterThan(0.85), kind);
        }
        var e = Assert.Throws<ArgumentException>(() => Train(MlNetKinds.FastTree, new TrainingSet(x, cls), TaskKind.MulticlassClassification));
        Assert.That(e!.Message, Does.Contain("no fasttree trainer for multiclass"));

        var y = Enumerable.Range(0, n).Select(i => 3 + 2.0 * x[i, 0] - x[i, 1]).ToArray();
        foreach (var kind in new[] { MlNetKinds.LightGbm, MlNetKinds.FastTree, MlNetKinds.Sdca })
        {
            using var m = Train(kind, new TrainingSet(x, y), TaskKind.Regression, rounds: 200);
            var rmse = Metric.Regression(y, m.Predict(x).Values).Rmse;
            TestContext.Out.WriteLine($"{kind} regression RMSE {rmse:F4} (label sd {Math.Sqrt(y.Select(t => (t - y.Average()) * (t - y.Average())).Average()):F3})");
            Assert.That(rmse, Is.LessThan(0.5), kind); // the label's standard deviation is about 2.6
        }
    }

    [Test]
    public void Training_IsReproducible_WithASeed()
    {
        var (train, test, _) = Adult();
        using var a = Train(MlNetKinds.LightGbm, train, rounds: 30, parameters: new() { ["subsample"] = "0.8" });
        using var b = Train(MlNetKinds.LightGbm, train, rounds: 30, parameters: new() { ["subsample"] = "0.8" });
        Assert.That(a.Predict(test.Features).Values, Is.EqualTo(b.Predict(test.Features).Values));
    }

    [Test]
    public void ModelDirectory_RoundTrip_PredictsIdentically_FromRawRows()
    {
        var (train, _, pipeline) = Adult();
        foreach (var kind in MlNetKinds.All)
        {
            using var model = Train(kind, train, rounds: 20);
            var dir = Path.Combine(TestData.TempDir(), kind);
            MlNetModelDirectory.Save(dir, model, pipeline);
            Assert.That(File.ReadAllText(Path.Combine(dir, MlflowModel.MLmodelFile)), Does.Contain("pipelines_mlnet:").And.Contain($"trainer: {kind}"));
            using var loaded = MlflowModel.Load(dir);
            var expected = model.Predict(pipeline.TransformToMatrix(TestData.AdultTest)).Values;
            Assert.That(loaded.Predict(TestData.AdultTest).Values, Is.EqualTo(expected), kind);
            Assert.That(loaded.Model.Task, Is.EqualTo(TaskKind.BinaryClassification));
        }
    }

    [Test]
    public void BadInput_FailsClearly()
    {
        var (train, _, _) = Adult();
        var e = Assert.Throws<ArgumentException>(() => Train(MlNetKinds.FastTree, train, parameters: new() { ["max_depth"] = "4" }));
        Assert.That(e!.Message, Does.Contain("'max_depth'").And.Contain("fasttree").And.Contain("num_leaves"));
        e = Assert.Throws<ArgumentException>(() => Train(MlNetKinds.LightGbm, train, parameters: new() { ["num_leaves"] = "many" }));
        Assert.That(e!.Message, Does.Contain("'num_leaves'").And.Contain("many"));
        var x = new FeatureMatrix([1f, 2f, float.NaN, 4f], 2, 2, ["a", "b"]);
        var missing = Assert.Throws<ColumnMismatchException>(() => Train(MlNetKinds.Sdca, new TrainingSet(x, [0, 1])));
        Assert.That(missing!.Column, Is.EqualTo("a"));
    }
}

/// <summary>The IDataView over a feature matrix: what ML.NET reads is exactly the matrix, labels and weights.</summary>
public class FeatureMatrixDataViewTests
{
    private static readonly FeatureMatrix X = new([1f, 2f, 3f, 4f, 5f, float.NaN], 3, 2, ["a", "b"]);

    [Test]
    public void Schema_AndRows_MatchTheMatrix()
    {
        var view = new FeatureMatrixDataView(X, [0, 2, 1], TaskKind.MulticlassClassification, 3, [1, 0.5, 2]);
        Assert.That(view.GetRowCount(), Is.EqualTo(3));
        Assert.That(view.Schema.Select(c => c.Name), Is.EqualTo(new[] { "Features", "Label", "Weight" }));
        Assert.That(view.Schema["Label"].Type, Is.EqualTo(new KeyDataViewType(typeof(uint), 3)));
        var slotNames = default(VBuffer<ReadOnlyMemory<char>>);
        view.Schema["Features"].GetSlotNames(ref slotNames);
        Assert.That(slotNames.DenseValues().Select(s => s.ToString()), Is.EqualTo(new[] { "a", "b" }));

        using var cursor = view.GetRowCursor(view.Schema);
        var features = cursor.GetGetter<VBuffer<float>>(view.Schema["Features"]);
        var label = cursor.GetGetter<uint>(view.Schema["Label"]);
        var weight = cursor.GetGetter<float>(view.Schema["Weight"]);
        var rows = new List<(float[] X, uint Y, float W)>();
        var buffer = default(VBuffer<float>);
        while (cursor.MoveNext())
        {
            features(ref buffer);
            uint y = 0;
            float w = 0;
            label(ref y);
            weight(ref w);
            rows.Add((buffer.DenseValues().ToArray(), y, w));
        }
        Assert.That(rows.Select(r => r.X), Is.EqualTo(new[] { new[] { 1f, 2f }, new[] { 3f, 4f }, new[] { 5f, float.NaN } }));
        Assert.That(rows.Select(r => r.Y), Is.EqualTo(new uint[] { 1, 3, 2 }), "key k+1 is class k");
        Assert.That(rows.Select(r => r.W), Is.EqualTo(new[] { 1f, 0.5f, 2f }));
    }

    [Test]
    public void AShuffledCursor_VisitsEveryRowOnce_AndWrongTypesAreRefused()
    {
        var big = new FeatureMatrix(Enumerable.Range(0, 200).Select(i => (float)i).ToArray(), 100, 2);
        var view = new FeatureMatrixDataView(big, Enumerable.Range(0, 100).Select(i => (double)(i % 2)).ToArray());
        using var cursor = view.GetRowCursor(view.Schema, new Random(1));
        var features = cursor.GetGetter<VBuffer<float>>(view.Schema["Features"]);
        var label = cursor.GetGetter<bool>(view.Schema["Label"]);
        var seen = new List<int>();
        var buffer = default(VBuffer<float>);
        while (cursor.MoveNext())
        {
            features(ref buffer);
            var b = false;
            label(ref b);
            var row = (int)buffer.GetValues()[0] / 2;
            Assert.That(b, Is.EqualTo(row % 2 == 1), "the label travels with its row");
            seen.Add(row);
        }
        Assert.That(seen.Order(), Is.EqualTo(Enumerable.Range(0, 100)));
        Assert.That(seen, Is.Not.EqualTo(Enumerable.Range(0, 100)), "shuffled");
        Assert.Throws<InvalidOperationException>(() => cursor.GetGetter<float>(view.Schema["Label"]));
    }
}
