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
        MlflowModel.Save(dir, model, pipeline, format);
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
        Assert.That(root["flavors"]["python_function"]["loader_module"].ToString(), Is.EqualTo("mlflow.xgboost"));
        var inputs = JsonNode.Parse(root["signature"]["inputs"].ToString())!.AsArray();
        Assert.That(inputs.Select(i => i!["name"]!.GetValue<string>()), Is.EqualTo(pipeline.Features));
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
    public void PythonLoadsTheDirectory_AndPredictsIdentically()
    {
        var (dir, model, pipeline) = TrainAndSave(Pipelines.Ml.XGBoost.ModelFormat.Ubj);
        using var _ = model;
        var x = pipeline.TransformToMatrix(TestData.AdultTest);
        var work = Path.GetDirectoryName(dir)!;
        TestData.WriteFloats(Path.Combine(work, "x.f32"), x.Values);
        var stdout = TestData.Python("predict_with_python.py", dir, Path.Combine(work, "x.f32"), x.Rows.ToString(), x.Columns.ToString(), Path.Combine(work, "py.f32"));
        var info = JsonNode.Parse(stdout.Trim().Split('\n').Last())!;
        Assert.That(info["feature_names"]!.AsArray().Select(n => n!.GetValue<string>()), Is.EqualTo(pipeline.Features));
        Assert.That(TestData.ReadFloats(Path.Combine(work, "py.f32")), Is.EqualTo(model.PredictRaw(x).Values));
        TestContext.Out.WriteLine($"loaded by {info["loaded_by"]}");
    }
}
