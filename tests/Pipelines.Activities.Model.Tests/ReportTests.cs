using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using NUnit.Framework;
using Pipelines.Activities.Model;
using Pipelines.Data.Csv;
using Pipelines.Engine.Model;

namespace Pipelines.Activities.Model.Tests;

/// <summary>The evaluation report (charts against scikit-learn, explanations, fairness), the fairness gate and per-row explanations.</summary>
public partial class ModelPipelineTests
{
    private async Task<string> ArtifactFileAsync(Env env, JsonNode reference)
    {
        var record = await env.Services.Artifacts.Registry.GetAsync(Guid.Parse(reference["artifact"]!.GetValue<string>()));
        return new Uri(record!.Uri).LocalPath;
    }

    /// <summary>scikit-learn on the same labels and scores (the Ml tests' reference script, Debian's python3-sklearn).</summary>
    private static JsonNode Sklearn(double[] y, double[] p, string dir)
    {
        var input = Path.Combine(dir, "sk-case.json");
        File.WriteAllText(input, new JsonObject
        {
            ["y"] = new JsonArray(y.Select(v => (JsonNode)v).ToArray()), ["p"] = new JsonArray(p.Select(v => (JsonNode)v).ToArray()),
            ["threshold"] = 0.5, ["bins"] = 10,
        }.ToJsonString());
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "Pipelines.sln"))) root = root.Parent!;
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(root.FullName, "tests", "Pipelines.Ml.Tests", "fixtures", "reference_curves.py"));
        psi.ArgumentList.Add(input);
        using var proc = Process.Start(psi)!;
        var stdout = proc.StandardOutput.ReadToEndAsync();
        var stderr = proc.StandardError.ReadToEnd();
        proc.WaitForExit();
        Assert.That(proc.ExitCode, Is.Zero, stderr);
        return JsonNode.Parse(stdout.Result)!;
    }

    private static double[] Numbers(JsonNode? n) => n!.AsArray().Select(v => v!.GetValue<double>()).ToArray();

    [Test]
    public async Task EvaluationReport_HasChartsMatchingScikitLearn_ChampionPerSlice_ExplanationsAndFairness()
    {
        await using var env = await StartAsync();
        var first = await RunAsync(env, Nightly("good.csv"));
        Assert.That(first.Run.State, Is.EqualTo(RunState.Succeeded), Errors(first));
        var second = await RunAsync(env, Nightly("good.csv").Replace("seed: 1", "seed: 2"));
        Assert.That(second.Run.State, Is.EqualTo(RunState.Succeeded), Errors(second));
        var outputs = env.Engine.Step(second, "evaluate").Outputs!;
        var report = JsonNode.Parse(File.ReadAllText(await ArtifactFileAsync(env, outputs["report"]!)))!;

        // The charts are scikit-learn's curves for the holdout's labels and the candidate's published scores.
        var holdout = CsvReader.Read(Path.Combine(_dir, "holdout.csv"), new CsvOptions()).Table;
        var y = Enumerable.Range(0, holdout.RowCount).Select(r => holdout["y"].GetValue(r)!.ToString() == "yes" ? 1.0 : 0.0).ToArray();
        var predictions = ModelTraining.Read(await ArtifactFileAsync(env, outputs["predictions"]!), new CsvOptions());
        var p = Enumerable.Range(0, predictions.RowCount).Select(r => Convert.ToDouble(predictions["prediction"].GetValue(r), CultureInfo.InvariantCulture)).ToArray();
        var sk = Sklearn(y, p, _dir);
        var charts = report["charts"]!;
        Assert.That(Numbers(charts["roc"]!["fpr"]), Is.EqualTo(Numbers(sk["fpr"])).Within(1e-12));
        Assert.That(Numbers(charts["roc"]!["tpr"]), Is.EqualTo(Numbers(sk["tpr"])).Within(1e-12));
        Assert.That(Numbers(charts["pr"]!["precision"]), Is.EqualTo(Numbers(sk["precision"])).Within(1e-12));
        Assert.That(Numbers(charts["pr"]!["recall"]), Is.EqualTo(Numbers(sk["recall"])).Within(1e-12));
        Assert.That(charts["calibration"]!.AsArray().Select(b => b!["fraction_positive"]!.GetValue<double>()), Is.EqualTo(Numbers(sk["calibration_true"])).Within(1e-12));
        Assert.That(charts["confusion"]!["matrix"]!.ToJsonString(), Is.EqualTo(sk["confusion"]!.ToJsonString()));
        Assert.That(report["champion_charts"]!["roc"], Is.Not.Null, "the champion's curve is drawn beside the candidate's");

        // Explanations: x1 drives the label, so it leads by mean |SHAP| and has gain; every feature is listed.
        var features = report["explanations"]!["features"]!.AsArray();
        Assert.That(features[0]!["feature"]!.GetValue<string>(), Is.EqualTo("x1"));
        Assert.That(features[0]!["gain"]!.GetValue<double>(), Is.GreaterThan(0));
        Assert.That(report["explanations"]!["rows"]!.GetValue<int>(), Is.EqualTo(400));

        // Fairness: per slice selection rate and TPR, and the disparities over 'sex' in the summary the gate reads.
        var summary = outputs["summary"]!;
        Assert.That(summary["slices"]!.AsArray().All(s => s!["metrics"]!["selection_rate"] is not null && s["metrics"]!["tpr"] is not null));
        Assert.That(summary["fairness"]!.AsArray().Select(d => d!["measure"]!.GetValue<string>()),
            Is.EquivalentTo(new[] { "demographic_parity_difference", "equal_opportunity_difference" }));

        var html = File.ReadAllText(await ArtifactFileAsync(env, outputs["report_html"]!));
        Assert.That(html, Does.Contain("<svg").And.Contain("ROC curve").And.Contain("Precision–recall curve").And.Contain("Calibration").And.Contain("Confusion matrix"));
        Assert.That(html, Does.Contain("champion v1").And.Contain("Feature importance").And.Contain("demographic_parity_difference"));
        // Kept beside the test binaries for a look (and the README's screenshot).
        File.Copy(await ArtifactFileAsync(env, outputs["report_html"]!), Path.Combine(TestContext.CurrentContext.WorkDirectory, "evaluation-report.html"), overwrite: true);
        Assert.That(html, Does.Not.Contain("<script").And.Not.Contain("http://").And.Not.Contain("https://"), "self-contained: no script, no CDN");
    }

    /// <summary>A label that depends on sex: the model selects far more M rows than F rows.</summary>
    private void WriteBiased(string name, int rows, int seed)
    {
        var random = new Random(seed);
        var sb = new StringBuilder("x1,x2,sex,y\n");
        for (var i = 0; i < rows; i++)
        {
            var x1 = random.NextDouble();
            var x2 = random.NextDouble();
            var male = random.Next(2) == 0;
            var positive = (male ? x1 + 0.4 : x1 - 0.3) + 0.1 * random.NextDouble() > 0.7;
            sb.Append(string.Create(CultureInfo.InvariantCulture, $"{x1:F4},{x2:F4},{(male ? "M" : "F")},{(positive ? "yes" : "no")}\n"));
        }
        File.WriteAllText(Path.Combine(_dir, name), sb.ToString());
    }

    [Test]
    public async Task FairnessGate_StopsNamingTheColumnMeasureAndSlices_AndPassesWithinTheBound()
    {
        WriteBiased("biased-train.csv", 600, 31);
        WriteBiased("biased-holdout.csv", 400, 32);
        await using var env = await StartAsync();
        var flow = EvalFlow("binary", "biased-train.csv", "biased-holdout.csv", """
                  max_disparity: { demographic_parity_difference: 0.1 }
            """).Replace("task: binary", "task: binary\n      positive: \"yes\"");
        var run = await RunAsync(env, flow);
        Assert.That(env.Engine.Step(run, "gate").State, Is.EqualTo(StepState.Stopped), Errors(run));
        var error = Errors(run);
        Assert.That(error, Does.Contain("slice sex=F: demographic_parity_difference over 'sex'"));
        Assert.That(error, Does.Contain("selection_rate sex=M").And.Contain("is above max_disparity 0.1"));
        Assert.That(error, Does.Not.Contain("equal_opportunity_difference"), "only the bounded measure is judged");

        var loose = await RunAsync(env, flow.Replace("demographic_parity_difference: 0.1", "demographic_parity_difference: 0.95"));
        Assert.That(loose.Run.State, Is.EqualTo(RunState.Succeeded), Errors(loose));
    }

    [Test]
    public void DisparityBounds_AreValidated_AndOneNumberBoundsBothMeasures()
    {
        static JsonObject Slice(string v, int rows, double sr, double tpr) => new()
        {
            ["column"] = "g", ["value"] = v, ["rows"] = rows, ["metrics"] = new JsonObject { ["selection_rate"] = sr, ["tpr"] = tpr },
        };
        List<JsonObject> slices = [Slice("a", 100, 0.5, 0.9), Slice("b", 100, 0.3, 0.6), Slice("tiny", 5, 0.0, 0.0)];
        var both = EvaluationGateActivity.DisparityViolations(slices, JsonValue.Create(0.25), 30);
        Assert.That(both, Has.Count.EqualTo(1));
        Assert.That(both[0], Does.StartWith("slice g=b: equal_opportunity_difference over 'g' = 0.3 (tpr g=a 0.9 vs g=b 0.6)"));
        Assert.That(EvaluationGateActivity.DisparityViolations(slices, JsonValue.Create(0.1), 30), Has.Count.EqualTo(2), "tiny slice ignored below min rows");
        Assert.That(() => EvaluationGateActivity.DisparityViolations(slices, new JsonObject { ["parity"] = 0.1 }, 30),
            Throws.InstanceOf<Pipelines.Core.Activities.ActivityException>().With.Message.Contains("unknown measure 'parity'"));
    }

    [Test]
    public async Task BatchPredict_WritesTheTopKContributionsPerRow()
    {
        Write("score.csv", 120, seed: 4, shuffleLabels: false, label: false);
        await using var env = await StartAsync();
        var (_, reference) = await ChampionAsync(env);
        var run = await RunAsync(env, Scoring("score.csv", reference, count: 2).Replace("keep_columns: [sex]", "keep_columns: [sex]\n      explain_top_k: 2"));
        Assert.That(run.Run.State, Is.EqualTo(RunState.Succeeded), Errors(run));
        var (_, tables) = await ReadThroughManifestAsync(env, env.Engine.Step(run, "publish").Outputs!["manifest"]!);
        string[] features = ["x1", "x2", "sex=F", "sex=M"];
        var firsts = new List<string>();
        foreach (var t in tables)
            for (var r = 0; r < t.RowCount; r++)
            {
                var f1 = t["explain_1_feature"].GetValue(r)!.ToString()!;
                var v1 = Convert.ToDouble(t["explain_1_value"].GetValue(r), CultureInfo.InvariantCulture);
                var v2 = t["explain_2_value"].GetValue(r) is { } o ? Convert.ToDouble(o, CultureInfo.InvariantCulture) : 0;
                Assert.That(features, Does.Contain(f1));
                Assert.That(Math.Abs(v1), Is.GreaterThanOrEqualTo(Math.Abs(v2)), "largest first");
                firsts.Add(f1);
            }
        Assert.That(firsts.Count(f => f == "x1"), Is.GreaterThan(firsts.Count / 2), "x1 drives the label, so it leads most rows");
    }
}
