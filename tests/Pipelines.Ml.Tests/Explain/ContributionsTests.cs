using System.Text.Json.Nodes;
using Pipelines.Ml.Trainers;

namespace Pipelines.Ml.Tests.Explain;

/// <summary>SHAP contributions through the native binding against Python xgboost's pred_contribs on the same model and rows.</summary>
public class ContributionsTests
{
    private static JsonNode Python(XGBoostModel model, FeatureMatrix x, string dir)
    {
        var modelPath = Path.Combine(dir, "model.json");
        model.Save(modelPath);
        TestData.WriteFloats(Path.Combine(dir, "x.f32"), x.Values);
        var stdout = TestData.Python("reference_contributions.py", modelPath, Path.Combine(dir, "x.f32"), x.Rows.ToString(), x.Columns.ToString(), Path.Combine(dir, "py.f32"));
        return JsonNode.Parse(stdout.Trim().Split('\n').Last())!;
    }

    [Test]
    public void Binary_MatchesPythonPredContribs_AndSumsToTheMargin()
    {
        var pipeline = TestData.AdultPipeline().Fit(TestData.AdultTrain);
        using var model = new XGBoostTrainer(new XGBoostOptions { Rounds = 20, Seed = 4, Threads = 1 }).Train(pipeline.ToTrainingSet(TestData.AdultTrain));
        var x = pipeline.TransformToMatrix(TestData.AdultTest.Slice(0, 2000));
        var dir = TestData.TempDir();
        var py = Python(model, x, dir);

        var c = model.Contributions(x);
        Assert.That(py["shape"]!.AsArray().Select(n => n!.GetValue<int>()), Is.EqualTo(new[] { x.Rows, x.Columns + 1 }));
        var theirs = TestData.ReadFloats(Path.Combine(dir, "py.f32"));
        var mine = Enumerable.Range(0, x.Rows).SelectMany(r => Enumerable.Range(0, x.Columns + 1).Select(f => c[r, f])).ToArray();
        Assert.That(mine, Is.EqualTo(theirs), "same library build, same TreeSHAP: bit for bit");

        var margin = model.PredictRaw(x, Pipelines.Ml.XGBoost.PredictionKind.Margin);
        for (var r = 0; r < x.Rows; r += 97)
            Assert.That(Enumerable.Range(0, x.Columns + 1).Sum(f => (double)c[r, f]), Is.EqualTo(margin[r]).Within(1e-4), $"row {r}: contributions sum to the margin");

        Assert.That(c.MeanAbsolute(), Is.EqualTo(py["mean_abs"]!.AsArray().Select(n => n!.GetValue<double>())).Within(1e-5), "mean |SHAP|");
        var gain = model.Booster.FeatureImportance("gain");
        var pyGain = py["gain"]!.AsObject();
        Assert.That(gain.Keys, Is.EquivalentTo(pyGain.Select(p => p.Key)));
        foreach (var (name, value) in pyGain) Assert.That(gain[name], Is.EqualTo(value!.GetValue<double>()).Within(1e-4 * Math.Abs(gain[name])), name);

        var summary = c.Summary(gain);
        Assert.That(summary.Count, Is.EqualTo(x.Columns));
        Assert.That(summary.Select(s => s.MeanAbsShap), Is.Ordered.Descending);
        Assert.That(summary.Where(s => !gain.ContainsKey(s.Feature)).All(s => s.Gain == 0 && s.MeanAbsShap == 0), "an unused feature contributes nothing");
    }

    [Test]
    public void TopK_IsTheLargestAbsoluteContributions_InOrder()
    {
        var pipeline = TestData.AdultPipeline().Fit(TestData.AdultTrain);
        using var model = new XGBoostTrainer(new XGBoostOptions { Rounds = 10, Seed = 4, Threads = 1 }).Train(pipeline.ToTrainingSet(TestData.AdultTrain));
        var x = pipeline.TransformToMatrix(TestData.AdultTest.Slice(0, 50));
        var c = model.Contributions(x);
        for (var r = 0; r < x.Rows; r++)
        {
            var top = c.TopK(r, 3);
            var expected = Enumerable.Range(0, x.Columns).Select(f => (Name: c.Features[f], Value: (double)c[r, f]))
                .Where(v => v.Value != 0).OrderByDescending(v => Math.Abs(v.Value)).Take(3).ToList();
            Assert.That(top.Select(t => t.Feature), Is.EqualTo(expected.Select(e => e.Name)), $"row {r}");
            Assert.That(top.Select(t => t.Value), Is.EqualTo(expected.Select(e => e.Value)), $"row {r}");
        }
    }

    [Test]
    public void Multiclass_HasOneBlockPerClass_MatchingPython()
    {
        var x = TestData.SyntheticFixture(out var labels);
        var y = labels.Select((v, i) => (double)(i % 3 == 0 ? 2 : v)).ToArray();
        var names = Enumerable.Range(0, x.Columns).Select(i => $"x{i}").ToArray();
        var named = new FeatureMatrix(x.Values, x.Rows, x.Columns, names);
        using var model = new XGBoostTrainer(new XGBoostOptions { Task = TaskKind.MulticlassClassification, ClassCount = 3, Rounds = 5, Seed = 1, Threads = 1 })
            .Train(new TrainingSet(named, y));
        var dir = TestData.TempDir();
        var py = Python(model, named, dir);
        Assert.That(py["shape"]!.AsArray().Select(n => n!.GetValue<int>()), Is.EqualTo(new[] { x.Rows, 3, x.Columns + 1 }));
        var c = model.Contributions(named);
        Assert.That(c.Outputs, Is.EqualTo(3));
        var theirs = TestData.ReadFloats(Path.Combine(dir, "py.f32"));
        Assert.That(c[5, 2, 1], Is.EqualTo(theirs[(5 * 3 + 1) * (x.Columns + 1) + 2]));
        Assert.That(c.MeanAbsolute(), Is.EqualTo(py["mean_abs"]!.AsArray().Select(n => n!.GetValue<double>())).Within(1e-5));
    }
}
