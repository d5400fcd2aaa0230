using Pipelines.Data.Tables;
using System.Text.Json.Nodes;
using Pipelines.Ml.Metrics;

namespace Pipelines.Ml.Tests.Metrics;

/// <summary>The report's charts against scikit-learn run live (Debian's python3-sklearn) on the same labels and scores.</summary>
public class CurvesTests
{
    private static double[] D(JsonNode? n) => n!.AsArray().Select(v => v!.GetValue<double>()).ToArray();

    private static (double[] Y, double[] P) Case(int seed, int rows, bool rounded)
    {
        var rng = new Random(seed);
        var y = new double[rows];
        var p = new double[rows];
        for (var i = 0; i < rows; i++)
        {
            y[i] = rng.NextDouble() < 0.3 ? 1 : 0;
            var s = 1 / (1 + Math.Exp(-(y[i] * 1.5 - 0.8 + rng.NextDouble() * 2 - 1)));
            // Rounded scores make ties, which share a threshold and are where drop_intermediate matters.
            p[i] = rounded ? Math.Round(s, 2) : s;
        }
        return (y, p);
    }

    private static JsonNode Sklearn(double[] y, double[] p, double threshold, int bins)
    {
        var dir = TestData.TempDir();
        var input = Path.Combine(dir, "case.json");
        var json = new JsonObject
        {
            ["y"] = new JsonArray(y.Select(v => (JsonNode)v).ToArray()),
            ["p"] = new JsonArray(p.Select(v => (JsonNode)v).ToArray()),
            ["threshold"] = threshold, ["bins"] = bins,
        };
        File.WriteAllText(input, json.ToJsonString());
        return JsonNode.Parse(TestData.Python("reference_curves.py", input))!;
    }

    [TestCase(1, 500, false)]
    [TestCase(2, 2000, true)]
    [TestCase(3, 40, true)]
    public void Curves_MatchScikitLearn(int seed, int rows, bool rounded)
    {
        var (y, p) = Case(seed, rows, rounded);
        var sk = Sklearn(y, p, 0.4, 10);

        var roc = Curves.Roc(y, p);
        Assert.That(roc.FalsePositiveRate, Is.EqualTo(D(sk["fpr"])).Within(1e-12), "fpr");
        Assert.That(roc.TruePositiveRate, Is.EqualTo(D(sk["tpr"])).Within(1e-12), "tpr");
        Assert.That(roc.Thresholds.Skip(1), Is.EqualTo(D(sk["roc_thresholds"])), "roc thresholds");
        Assert.That(roc.Thresholds[0], Is.EqualTo(double.PositiveInfinity));

        var pr = Curves.PrecisionRecall(y, p);
        Assert.That(pr.Precision, Is.EqualTo(D(sk["precision"])).Within(1e-12), "precision");
        Assert.That(pr.Recall, Is.EqualTo(D(sk["recall"])).Within(1e-12), "recall");
        Assert.That(pr.Thresholds, Is.EqualTo(D(sk["pr_thresholds"])), "pr thresholds");

        var bins = Metric.Calibration(y, p, 10);
        Assert.That(bins.Select(b => b.FractionPositive), Is.EqualTo(D(sk["calibration_true"])).Within(1e-12), "calibration: observed");
        Assert.That(bins.Select(b => b.MeanPredicted), Is.EqualTo(D(sk["calibration_pred"])).Within(1e-12), "calibration: predicted");

        var cm = Metric.Confusion(y, p, 0.4).ToArray();
        var skCm = sk["confusion"]!.AsArray().Select(r => r!.AsArray().Select(v => v!.GetValue<long>()).ToArray()).ToArray();
        Assert.That(cm, Is.EqualTo(skCm), "confusion matrix");
    }

    [Test]
    public void Curves_OneClass_FailClearly()
    {
        Assert.That(() => Curves.Roc([1, 1, 1], [0.2, 0.5, 0.9]), Throws.ArgumentException.With.Message.Contains("only one class"));
        Assert.That(() => Curves.PrecisionRecall([0, 0], [0.2, 0.5]), Throws.ArgumentException.With.Message.Contains("without positive labels"));
    }

    [Test]
    public void Disparities_AreTheSpreadBetweenGroups_NamingBoth()
    {
        var slices = new List<MetricSlice>
        {
            new("sex", "Female", 100, new Dictionary<string, double> { ["selection_rate"] = 0.08, ["tpr"] = 0.55 }),
            new("sex", "Male", 200, new Dictionary<string, double> { ["selection_rate"] = 0.25, ["tpr"] = 0.62 }),
            new("race", "A", 10, new Dictionary<string, double> { ["selection_rate"] = 0.9, ["tpr"] = 1.0 }),
            new("race", "B", 100, new Dictionary<string, double> { ["selection_rate"] = 0.2 }),
            new("race", "C", 100, new Dictionary<string, double> { ["selection_rate"] = 0.1, ["tpr"] = 0.5 }),
        };
        var d = Fairness.Disparities(slices, minRows: 30);
        var dp = d.Single(x => x.Column == "sex" && x.Measure == Fairness.DemographicParityDifference);
        Assert.That(dp.Difference, Is.EqualTo(0.17).Within(1e-12));
        Assert.That((dp.HighValue, dp.LowValue), Is.EqualTo(("Male", "Female")));
        Assert.That(d.Single(x => x.Column == "sex" && x.Measure == Fairness.EqualOpportunityDifference).Difference, Is.EqualTo(0.07).Within(1e-12));
        // race=A is below min rows; race=B has no TPR (no positives): equal opportunity has one group left, so none.
        Assert.That(d.Single(x => x.Column == "race" && x.Measure == Fairness.DemographicParityDifference).Difference, Is.EqualTo(0.1).Within(1e-12));
        Assert.That(d.Any(x => x.Column == "race" && x.Measure == Fairness.EqualOpportunityDifference), Is.False);
    }

    [Test]
    public void SlicedBinary_CarriesSelectionRateAndTpr()
    {
        var table = new Table(new Schema([new Field("g", DataType.String)]), [TableOps.Strings(["a", "a", "a", "a", "b", "b"])]);
        var s = SlicedMetrics.Binary(table, ["g"], [1, 1, 0, 0, 0, 0], [0.9, 0.2, 0.7, 0.1, 0.6, 0.3]);
        var a = s.Single(x => x.Value == "a").Metrics;
        Assert.That(a["selection_rate"], Is.EqualTo(0.5));
        Assert.That(a["tpr"], Is.EqualTo(0.5));
        Assert.That(s.Single(x => x.Value == "b").Metrics.ContainsKey("tpr"), Is.False, "no positives, no TPR");
    }
}
