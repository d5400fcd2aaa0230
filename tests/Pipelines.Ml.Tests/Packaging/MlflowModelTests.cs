using System.Text.Json.Nodes;
using Pipelines.Data.Tables;
using Pipelines.Ml.Packaging;
using Pipelines.Ml.Trainers;
using YamlDotNet.RepresentationModel;

namespace Pipelines.Ml.Tests.Packaging;

public class MlflowModelTests
{
    private static (string Dir, XGBoostModel Model, Pipelines.Ml.Features.FeaturePipeline Pipeline) TrainAndSave(Pipelines.Ml.XGBoost.ModelFormat format)
    {
        var pipeline = TestData.AdultPipeline().Fit(TestData.AdultTrain);
        var model = new XGBoostTrainer(new XGBoostOptions { Rounds = 15, Seed = 2, Threads = 1 }).Train(pipeline.ToTrainingSet(TestData.AdultTrain));
        var dir = Path.Combine(TestData.TempDir(), "model");
        MlflowModel.Save(dir, model, pipeline, format, inputExample: TestData.AdultTrain);
        return (dir, model, pipeline);
    }

    [Test]
    public void MLmodel_HasTheXGBoostFlavor_PyfuncAndSignature()
    {
        var (dir, model, pipeline) = TrainAndSave(Pipelines.Ml.XGBoost.ModelFormat.Ubj);
        using var _ = model;
        var yaml = new YamlStream();
        using (var r = new StreamReader(Path.Combine(dir, "MLmodel"))) yaml.Load(r);
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        var xgb = (YamlMappingNode)root["flavors"]["xgboost"];
        Assert.That(xgb["data"].ToString(), Is.EqualTo("model.ubj"));
        Assert.That(xgb["model_format"].ToString(), Is.EqualTo("ubj"));
        Assert.That(xgb["model_class"].ToString(), Is.EqualTo("xgboost.core.Booster"));
        Assert.That(xgb["xgb_version"].ToString(), Does.StartWith("1.7."));
        var pyfunc = (YamlMappingNode)root["flavors"]["python_function"];
        Assert.That(pyfunc["loader_module"].ToString(), Is.EqualTo(MlflowModelDirectory.PipelinesLoader));
        Assert.That(pyfunc["code"].ToString(), Is.EqualTo("code"));
        Assert.That(File.Exists(Path.Combine(dir, "code", "pipelines_pyfunc.py")), Is.True);
        // A plain 3.11 is a float to YAML (and crashes MLflow's loader); it must be a quoted string.
        Assert.That(((YamlScalarNode)pyfunc["python_version"]).Style, Is.EqualTo(YamlDotNet.Core.ScalarStyle.SingleQuoted));
        // The signature lists the raw input columns with their types, not the pipeline's output features.
        var inputs = JsonNode.Parse(root["signature"]["inputs"].ToString())!.AsArray();
        Assert.That(inputs.Select(i => i!["name"]!.GetValue<string>()), Is.EqualTo(pipeline.Inputs.Select(i => i.Name)));
        Assert.That(inputs.First(i => i!["name"]!.GetValue<string>() == "age")!["type"]!.GetValue<string>(), Is.EqualTo("long"));
        Assert.That(inputs.First(i => i!["name"]!.GetValue<string>() == "workclass")!["type"]!.GetValue<string>(), Is.EqualTo("string"));
        Assert.That(root["saved_input_example_info"]["artifact_path"].ToString(), Is.EqualTo("input_example.json"));
        var example = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "input_example.json")))!;
        Assert.That(example["data"]!.AsArray(), Has.Count.EqualTo(MlflowModel.ExampleRows));
        Assert.That(File.ReadAllText(Path.Combine(dir, "requirements.txt")), Does.Contain("mlflow==").And.Contain("xgboost=="));
        Assert.That(File.Exists(Path.Combine(dir, "model.ubj")) && File.Exists(Path.Combine(dir, "feature_pipeline.json")), Is.True);
        Assert.Throws<IOException>(() => MlflowModel.Save(dir, model, pipeline));
    }

    [Test]
    public void LoadedDirectory_PredictsFromRawRows_LikeTheTrainedModel()
    {
        var (dir, model, pipeline) = TrainAndSave(Pipelines.Ml.XGBoost.ModelFormat.Json);
        using var _ = model;
        using var loaded = MlflowModel.Load(dir);
        var expected = model.Predict(pipeline.TransformToMatrix(TestData.AdultTest)).Values;
        Assert.That(loaded.Predict(TestData.AdultTest).Values, Is.EqualTo(expected));
        Assert.That(loaded.XGBoostVersion, Does.StartWith("1.7."));
    }

    [Test]
    public async Task PythonLoadsTheDirectory_AndPredictsIdentically()
    {
        var (dir, model, pipeline) = TrainAndSave(Pipelines.Ml.XGBoost.ModelFormat.Ubj);
        using var _ = model;
        var x = pipeline.TransformToMatrix(TestData.AdultTest);
        var work = Path.GetDirectoryName(dir)!;
        TestData.WriteFloats(Path.Combine(work, "x.f32"), x.Values);
        var stdout = await Pipelines.Testing.RealMlflow.Python(TestData.Fixture("predict_with_python.py"), [dir, Path.Combine(work, "x.f32"), x.Rows.ToString(), x.Columns.ToString(), Path.Combine(work, "py.f32")]);
        var info = JsonNode.Parse(stdout.Trim().Split('\n').Last())!;
        Assert.That(info["feature_names"]!.AsArray().Select(n => n!.GetValue<string>()), Is.EqualTo(pipeline.Features));
        Assert.That(TestData.ReadFloats(Path.Combine(work, "py.f32")), Is.EqualTo(model.PredictRaw(x).Values));
        Assert.That(info["loaded_by"]!.GetValue<string>(), Is.EqualTo("mlflow"));
    }

    /// <summary>
    /// MLflow's own loaders (the real mlflow 2.17 package from ../shared/mlflow-server) read the directory:
    /// pyfunc takes the raw rows (the test file's columns, nulls included) and returns Pipelines' probabilities.
    /// </summary>
    [Test]
    public async Task MlflowPyfunc_PredictsRawRows_AsPipelinesDoes_ForXGBoostAndTheBaseline()
    {
        var (xgbDir, model, pipeline) = TrainAndSave(Pipelines.Ml.XGBoost.ModelFormat.Ubj);
        using var _ = model;
        var baselinePipeline = TestData.AdultPipeline().Fit(TestData.AdultTrain);
        // The linear baseline Python can load (the logistic baseline is ML.NET's now, packaged with the pipelines_mlnet flavor).
        using var baseline = new RidgeTrainer().Fit(baselinePipeline.ToTrainingSet(TestData.AdultTrain));
        var baselineDir = MlflowModel.SaveBaseline(Path.Combine(TestData.TempDir(), "model"), baseline, baselinePipeline, inputExample: TestData.AdultTrain);

        var raw = TestData.AdultTest.Select([.. pipeline.Inputs.Select(i => i.Name)]);
        var work = TestData.TempDir();
        var rows = Path.Combine(work, "rows.json");
        File.WriteAllText(rows, MlflowModelDirectory.ExampleJson(raw));
        foreach (var (dir, expected, flavor) in new[]
                 {
                     (xgbDir, model.Predict(pipeline.TransformToMatrix(TestData.AdultTest)).Values, (string?)"xgboost.core.Booster"),
                     (baselineDir, baseline.Predict(baselinePipeline.TransformToMatrix(TestData.AdultTest)).Values, null),
                 })
        {
            var output = Path.Combine(work, Guid.NewGuid().ToString("N") + ".json");
            await Pipelines.Testing.RealMlflow.Python(TestData.Fixture("pyfunc_predict.py"), [dir, rows, output]);
            var result = JsonNode.Parse(File.ReadAllText(output))!;
            var python = result["predictions"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            Assert.That(python, Has.Length.EqualTo(expected.Length));
            var maxDiff = python.Zip(expected, (a, b) => Math.Abs(a - b)).Max();
            Assert.That(maxDiff, Is.LessThanOrEqualTo(1e-6), $"{dir}: max abs difference");
            Assert.That(result["xgboost"]?.GetValue<string>(), Is.EqualTo(flavor));
            Assert.That(result["python_version_type"]!.GetValue<string>(), Is.EqualTo("str"));
            Assert.That(result["input_example"]!.GetValue<int>(), Is.EqualTo(MlflowModel.ExampleRows));
            TestContext.Out.WriteLine($"{Path.GetFileName(Path.GetDirectoryName(dir))}: {python.Length} rows, max abs difference {maxDiff:G3}");
        }
    }
}
