using System.IO.Compression;
using NUnit.Framework;
using Pipelines.Activities.Model;
using Pipelines.Data.Csv;
using Pipelines.Engine.Model;
using Pipelines.Ml.Packaging;
using Pipelines.Tracking.Pipeline;

namespace Pipelines.Activities.Model.Tests;

/// <summary>An ML.NET model goes through the same train → evaluate → gate → promote → batch_predict path as XGBoost.</summary>
public partial class ModelPipelineTests
{
    [Test]
    public async Task AnMlNetModel_IsEvaluatedGatedPromotedAndScored_LikeAnyModel()
    {
        Write("score.csv", 300, seed: 4, shuffleLabels: false, label: false);
        await using var env = await StartAsync();
        var nightly = Nightly("good.csv").Replace("rounds: 20", "rounds: 20\n      trainer: lightgbm");
        Assert.That(nightly, Does.Contain("\n      trainer: lightgbm\n"));
        var first = await RunAsync(env, nightly);
        Assert.That(first.Run.State, Is.EqualTo(RunState.Succeeded), Errors(first));

        // The published model is an MLflow directory with the ML.NET flavor, and it is the registered champion.
        var modelRef = env.Engine.Step(first, "train").Outputs!["model"]!;
        var dir = Path.Combine(_dir, "champion");
        ZipFile.ExtractToDirectory(new Uri(modelRef["uri"]!.GetValue<string>()).LocalPath, dir);
        Assert.That(File.ReadAllText(Path.Combine(dir, MlflowModel.MLmodelFile)), Does.Contain("pipelines_mlnet:").And.Contain("trainer: lightgbm"));
        var model = await env.Client.GetRegisteredModelAsync("synth");
        Assert.That(model.VersionOf(PipelineTracking.Champion), Is.EqualTo("1"));
        Assert.That((await env.Client.GetModelVersionAsync("synth", "1")).Source, Is.EqualTo(modelRef["uri"]!.GetValue<string>()));
        var holdoutAuc = env.Engine.Step(first, "evaluate").Outputs!["metrics"]!["roc_auc"]!.GetValue<double>();
        Assert.That(holdoutAuc, Is.GreaterThan(0.9), "evaluated on the holdout like any model");

        // batch_predict scores with the champion; its predictions are the model directory's own.
        var run = await RunAsync(env, Scoring("score.csv", env.Engine.Step(first, "evaluate").Outputs!["predictions"]!));
        Assert.That(run.Run.State, Is.EqualTo(RunState.Succeeded), Errors(run));
        var (_, tables) = await ReadThroughManifestAsync(env, env.Engine.Step(run, "publish").Outputs!["manifest"]!);
        var scored = tables.SelectMany(t => Enumerable.Range(0, t.RowCount).Select(r => (Row: Convert.ToInt64(t["row"].GetValue(r)), P: Convert.ToDouble(t["prediction"].GetValue(r)))))
            .OrderBy(x => x.Row).Select(x => x.P).ToArray();
        using var loaded = MlflowModel.Load(dir);
        var expected = loaded.Predict(ModelTraining.Read(Path.Combine(_dir, "score.csv"), new CsvOptions())).Values;
        Assert.That(scored, Is.EqualTo(expected));
    }
}
