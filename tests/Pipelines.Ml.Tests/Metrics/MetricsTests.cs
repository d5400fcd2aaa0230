using System.Text.Json.Nodes;
using Pipelines.Data.Tables;
using Pipelines.Ml.Metrics;

namespace Pipelines.Ml.Tests.Metrics;

/// <summary>Against fixtures/metrics_fixture.json, written by fixtures/metrics_fixture.py with scikit-learn 1.2.1.</summary>
public class MetricsTests
{
    private const double Tolerance = 1e-9;

    private static IEnumerable<JsonObject> Cases(string kind)
    {
        var root = JsonNode.Parse(File.ReadAllText(TestData.Fixture("metrics_fixture.json")))!;
        return root["cases"]!.AsArray().Select(c => c!.AsObject()).Where(c => c["kind"]!.GetValue<string>() == kind);
    }

    private static double[] D(JsonNode? n) => n!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
    private static double V(JsonObject c, string k) => c[k]!.GetValue<double>();

    [Test]
    public void Binary_MatchesScikitLearn()
    {
        var cases = Cases("binary").ToList();
        Assert.That(cases, Has.Count.EqualTo(3));
        foreach (var c in cases)
        {
            var name = c["name"]!.GetValue<string>();
            var y = D(c["y"]);
            var p = D(c["p"]);
            var r = Metric.Binary(y, p, V(c, "threshold"), c["bins"]!.GetValue<int>());
            Assert.Multiple(() =>
            {
                Assert.That(r.RocAuc, Is.EqualTo(V(c, "roc_auc")).Within(Tolerance), $"{name} roc_auc");
                Assert.That(r.PrAuc, Is.EqualTo(V(c, "pr_auc")).Within(Tolerance), $"{name} pr_auc");
                Assert.That(r.LogLoss, Is.EqualTo(V(c, "log_loss")).Within(Tolerance), $"{name} log_loss");
                Assert.That(r.Accuracy, Is.EqualTo(V(c, "accuracy")).Within(Tolerance), $"{name} accuracy");
                Assert.That(r.Precision, Is.EqualTo(V(c, "precision")).Within(Tolerance), $"{name} precision");
                Assert.That(r.Recall, Is.EqualTo(V(c, "recall")).Within(Tolerance), $"{name} recall");
                Assert.That(r.F1, Is.EqualTo(V(c, "f1")).Within(Tolerance), $"{name} f1");
                var cm = c["confusion"]!.AsArray().Select(row => row!.AsArray().Select(v => v!.GetValue<long>()).ToArray()).ToArray();
                Assert.That(r.Confusion.ToArray(), Is.EqualTo(cm), $"{name} confusion");
                Assert.That(r.Calibration.Select(b => b.FractionPositive), Is.EqualTo(D(c["calibration_true"])).Within(Tolerance), $"{name} calibration true");
                Assert.That(r.Calibration.Select(b => b.MeanPredicted), Is.EqualTo(D(c["calibration_pred"])).Within(Tolerance), $"{name} calibration pred");
            });
        }
    }

    [Test]
    public void Multiclass_MatchesScikitLearn()
    {
        var c = Cases("multiclass").Single();
        var r = Metric.Multiclass(D(c["y"]), D(c["probs"]), c["k"]!.GetValue<int>());
        Assert.Multiple(() =>
        {
            Assert.That(r.Accuracy, Is.EqualTo(V(c, "accuracy")).Within(Tolerance));
            Assert.That(r.MacroF1, Is.EqualTo(V(c, "macro_f1")).Within(Tolerance));
            Assert.That(r.MicroF1, Is.EqualTo(V(c, "micro_f1")).Within(Tolerance));
            Assert.That(r.LogLoss, Is.EqualTo(V(c, "log_loss")).Within(Tolerance));
        });
    }

    [Test]
    public void Regression_MatchesScikitLearn()
    {
        var c = Cases("regression").Single();
        var r = Metric.Regression(D(c["y"]), D(c["pred"]));
        Assert.Multiple(() =>
        {
            Assert.That(r.Rmse, Is.EqualTo(V(c, "rmse")).Within(Tolerance));
            Assert.That(r.Mae, Is.EqualTo(V(c, "mae")).Within(Tolerance));
            Assert.That(r.R2, Is.EqualTo(V(c, "r2")).Within(Tolerance));
            Assert.That(r.Mape, Is.EqualTo(V(c, "mape")).Within(Tolerance * V(c, "mape")));
        });
    }

    [Test]
    public void HandComputedEdgeCases()
    {
        Assert.That(Metric.RocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), Is.EqualTo(0.75));
        Assert.That(Metric.RocAuc([0, 1], [0.5, 0.5]), Is.EqualTo(0.5), "a tie is half credit");
        Assert.That(() => Metric.RocAuc([1, 1], [0.2, 0.3]), Throws.ArgumentException);
        var oneClass = Metric.Binary([0, 0], [0.1, 0.2], 0.5);
        Assert.That(oneClass.Precision, Is.EqualTo(0), "undefined precision is 0");
        Assert.That(double.IsNaN(oneClass.RocAuc), Is.True);
        Assert.That(Metric.LogLoss([1], [0.0]), Is.EqualTo(-Math.Log(2.220446049250313e-16)).Within(1e-9));
    }

    [Test]
    public void SlicedMetrics_ReportEachValue()
    {
        var t = new Table(new Schema([new Field("sex", DataType.String)]), [TableOps.Strings(["m", "f", "m", "f", "m", null])]);
        double[] y = [1, 0, 0, 1, 1, 0];
        double[] p = [0.9, 0.2, 0.3, 0.4, 0.6, 0.1];
        var slices = SlicedMetrics.Binary(t, ["sex"], y, p);
        Assert.That(slices.Select(s => (s.Value, s.Rows)), Is.EqualTo(new[] { ("__missing__", 1), ("f", 2), ("m", 3) }));
        var m = slices.Single(s => s.Value == "m");
        Assert.That(m.Metrics["accuracy"], Is.EqualTo(1.0));
        Assert.That(m.Metrics["roc_auc"], Is.EqualTo(1.0));
        Assert.That(slices.Single(s => s.Value == "f").Metrics["accuracy"], Is.EqualTo(0.5));
        Assert.That(slices.Single(s => s.Value == "__missing__").Metrics.ContainsKey("roc_auc"), Is.False, "undefined for one class");
    }
}
