using System.Text.Json.Nodes;
using Pipelines.Ml.Features;
using Pipelines.Ml.Metrics;
using Pipelines.Ml.Trainers;
using Pipelines.Ml.XGBoost;

namespace Pipelines.Ml.Tests.Trainers;

public class XGBoostTrainerTests
{
    private static readonly Dictionary<string, string> Sampling = new()
    {
        ["max_depth"] = "5", ["eta"] = "0.2", ["subsample"] = "0.8", ["colsample_bytree"] = "0.8",
    };

    private static (TrainingSet Train, TrainingSet Test, FeaturePipeline Pipeline) Adult()
    {
        var p = TestData.AdultPipeline().Fit(TestData.AdultTrain);
        return (p.ToTrainingSet(TestData.AdultTrain), p.ToTrainingSet(TestData.AdultTest), p);
    }

    [Test]
    public void Training_IsReproducibleBitForBit_WithASeed()
    {
        var (train, test, _) = Adult();
        var options = new XGBoostOptions { Rounds = 30, Seed = 42, Threads = 2, Parameters = Sampling };
        using var a = new XGBoostTrainer(options).Train(train);
        using var b = new XGBoostTrainer(options).Train(train);
        using var c = new XGBoostTrainer(options with { Seed = 43 }).Train(train);
        Assert.That(a.Booster.SaveToBytes(ModelFormat.Ubj), Is.EqualTo(b.Booster.SaveToBytes(ModelFormat.Ubj)));
        Assert.That(a.PredictRaw(test.Features).Values, Is.EqualTo(b.PredictRaw(test.Features).Values));
        // The seed matters (subsampling), so the equality above is not vacuous.
        Assert.That(c.PredictRaw(test.Features).Values, Is.Not.EqualTo(a.PredictRaw(test.Features).Values));
    }

    [Test]
    public void Adult_BeatsTheBaselines_OnTheTestFile()
    {
        var (train, test, _) = Adult();
        using var xgb = new XGBoostTrainer(new XGBoostOptions { Rounds = 60, Seed = 1, Threads = 2, Parameters = Sampling }).Train(train);
        // The logistic baseline is ML.NET's L-BFGS logistic regression.
        using var logistic = new Pipelines.Ml.MlNet.MlNetTrainer(new Pipelines.Ml.MlNet.MlNetOptions { Kind = "logistic", Seed = 1 }).Fit(train);
        using var constant = new ConstantTrainer(TaskKind.BinaryClassification).Fit(train);
        double Auc(ITrainedModel m) => Metric.RocAuc(test.Labels, m.Predict(test.Features).Values);
        double Loss(ITrainedModel m) => Metric.LogLoss(test.Labels, m.Predict(test.Features).Values);
        TestContext.Out.WriteLine($"AUC xgboost {Auc(xgb):F4}, logistic {Auc(logistic):F4}; log loss constant {Loss(constant):F4}");
        Assert.That(Auc(xgb), Is.GreaterThan(0.91));
        Assert.That(Auc(logistic), Is.GreaterThan(0.88).And.LessThan(Auc(xgb)));
        Assert.That(Loss(xgb), Is.LessThan(Loss(logistic)).And.LessThan(Loss(constant)));
        Assert.That(test.Labels.Average(), Is.EqualTo(0.2362).Within(0.001), "the test file's '>50K.' labels were mapped");
    }

    [Test]
    public void SaveAndReload_PredictsIdentically_JsonAndUbj()
    {
        var (train, test, _) = Adult();
        using var model = new XGBoostTrainer(new XGBoostOptions { Rounds = 20, Seed = 3, Threads = 1 }).Train(train);
        var expected = model.PredictRaw(test.Features).Values;
        var dir = TestData.TempDir();
        foreach (var file in new[] { "m.json", "m.ubj" })
        {
            model.Save(Path.Combine(dir, file));
            using var loaded = XGBoostModel.Load(Path.Combine(dir, file), TaskKind.BinaryClassification, 2);
            Assert.That(loaded.PredictRaw(test.Features).Values, Is.EqualTo(expected), file);
        }
        Assert.That(File.ReadAllText(Path.Combine(dir, "m.json")), Does.StartWith("{"));
        Assert.That(Booster.Load(File.ReadAllBytes(Path.Combine(dir, "m.ubj"))).BoostedRounds, Is.EqualTo(20));
        Assert.Throws<ArgumentException>(() => model.Save(Path.Combine(dir, "m.bin")));
    }

    [Test]
    public void EarlyStopping_StopsAtThePatience_AndKeepsTheBestRounds()
    {
        var (train, test, _) = Adult();
        var reports = new List<IterationReport>();
        using var model = new XGBoostTrainer(new XGBoostOptions
        {
            Rounds = 500, EarlyStoppingRounds = 5, Seed = 0, Threads = 2, EvalMetrics = ["logloss", "auc"],
            Parameters = new Dictionary<string, string> { ["eta"] = "0.5", ["max_depth"] = "8" },
        }).Train(train, [("train", train), ("valid", test)], r => { reports.Add(r); return true; });
        Assert.That(model.BestIteration, Is.Not.Null);
        Assert.That(reports.Count, Is.EqualTo(model.BestIteration!.Value + 1 + 5), "stops 5 rounds after the best");
        Assert.That(reports.Count, Is.LessThan(500));
        Assert.That(model.EarlyStoppingMetric, Is.EqualTo("auc"));
        var best = reports.Max(r => r.Get("valid", "auc")!.Value);
        Assert.That(reports[model.BestIteration.Value].Get("valid", "auc"), Is.EqualTo(best));
        Assert.That(reports[0].Metrics.Select(m => $"{m.Set}-{m.Metric}"), Is.EqualTo(new[] { "train-logloss", "train-auc", "valid-logloss", "valid-auc" }));
        Assert.That(model.Booster.BoostedRounds, Is.EqualTo(model.BestIteration + 1));
        Assert.That(model.Booster.GetAttribute("best_iteration"), Is.EqualTo(model.BestIteration.ToString()));
        // The validation AUC XGBoost reported for the best round is the AUC of the kept model's predictions.
        Assert.That(Metric.RocAuc(test.Labels, model.Predict(test.Features).Values), Is.EqualTo(best).Within(1e-5));
    }

    [Test]
    public void Callback_CanStopTraining()
    {
        var (train, _, _) = Adult();
        using var model = new XGBoostTrainer(new XGBoostOptions { Rounds = 50, Threads = 1 }).Train(train, [("train", train)], r => r.Iteration < 6);
        Assert.That(model.History, Has.Count.EqualTo(7));
        Assert.That(model.Booster.BoostedRounds, Is.EqualTo(7));
    }

    [Test]
    public void FeatureImportance_NamesTheSignalColumns_OnSyntheticData()
    {
        var x = TestData.SyntheticFixture(out var y);
        var named = new FeatureMatrix(x.Values, x.Rows, x.Columns, ["a", "b", "c", "d", "noise1", "noise2"]);
        using var model = new XGBoostTrainer(new XGBoostOptions { Rounds = 30, Threads = 1 }).Train(new TrainingSet(named, y));
        var gain = model.Booster.FeatureImportance("total_gain");
        var ranked = gain.OrderByDescending(kv => kv.Value).Select(kv => kv.Key).ToList();
        Assert.That(ranked[0], Is.EqualTo("a"), "y depends most on 2·x0");
        Assert.That(ranked.Take(4), Is.EquivalentTo(new[] { "a", "b", "c", "d" }));
        Assert.That(model.Booster.FeatureImportance("weight").Keys, Is.SubsetOf(named.Names));
    }

    [Test]
    public void Multiclass_AndRegression_Train()
    {
        var x = TestData.SyntheticFixture(out _);
        // Class = which of x0, x1, x2 is largest; regression target = 3·x0 − 2·x1.
        var cls = Enumerable.Range(0, x.Rows).Select(i => (double)new[] { x[i, 0], x[i, 1], x[i, 2] }.Select((v, k) => (v, k)).MaxBy(t => t.v).k).ToArray();
        var reg = Enumerable.Range(0, x.Rows).Select(i => 3.0 * x[i, 0] - 2.0 * x[i, 1]).ToArray();
        using var mc = new XGBoostTrainer(new XGBoostOptions { Task = TaskKind.MulticlassClassification, Rounds = 40, Threads = 1 }).Train(new TrainingSet(x, cls));
        var p = mc.Predict(x);
        Assert.That(p.Columns, Is.EqualTo(3));
        Assert.That(Metric.Multiclass(cls, p.Values, 3).Accuracy, Is.GreaterThan(0.9));
        using var rg = new XGBoostTrainer(new XGBoostOptions { Task = TaskKind.Regression, Rounds = 60, Threads = 1 }).Train(new TrainingSet(x, reg));
        Assert.That(Metric.Regression(reg, rg.Predict(x).Values).R2, Is.GreaterThan(0.97));
    }
}
