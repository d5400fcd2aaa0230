using Pipelines.Ml.Trainers;
using Pipelines.Ml.XGBoost;

namespace Pipelines.Ml.Tests.Trainers;

/// <summary>Our binding against Python's xgboost (the same 1.7.4 build): committed fixtures and a live run.</summary>
public class PythonParityTests
{
    [TestCase("python_model.ubj")]
    [TestCase("python_model.json")]
    public void PythonTrainedModel_PredictsBitForBitAsInPython(string file)
    {
        var x = TestData.SyntheticFixture(out _);
        using var model = XGBoostModel.Load(TestData.Fixture(file), TaskKind.BinaryClassification, 2);
        Assert.That(model.PredictRaw(x).Values, Is.EqualTo(TestData.ReadFloats(TestData.Fixture("python_pred.f32"))));
        Assert.That(model.PredictRaw(x, PredictionKind.Margin).Values, Is.EqualTo(TestData.ReadFloats(TestData.Fixture("python_margin.f32"))));
    }

    [Test]
    public void TrainingWithPythonsParameters_GivesPythonsModel()
    {
        // xgboost_fixture.py trained with these parameters on the same data (one thread).
        var x = TestData.SyntheticFixture(out var y);
        using var model = new XGBoostTrainer(new XGBoostOptions
        {
            Rounds = 20, Seed = 7, Threads = 1,
            Parameters = new Dictionary<string, string> { ["max_depth"] = "4", ["eta"] = "0.3", ["subsample"] = "0.8", ["colsample_bytree"] = "0.9" },
        }).Train(new TrainingSet(new FeatureMatrix(x.Values, x.Rows, x.Columns), y));
        Assert.That(model.PredictRaw(x).Values, Is.EqualTo(TestData.ReadFloats(TestData.Fixture("python_pred.f32"))));
    }

    [Test]
    public void OurModelFile_PredictsIdenticallyInLivePython()
    {
        var x = TestData.SyntheticFixture(out var y);
        using var model = new XGBoostTrainer(new XGBoostOptions { Rounds = 25, Seed = 11, Threads = 1 }).Train(new TrainingSet(x, y));
        var dir = TestData.TempDir();
        model.Save(Path.Combine(dir, "ours.ubj"));
        TestData.WriteFloats(Path.Combine(dir, "x.f32"), x.Values);
        TestData.Python("predict_with_python.py", Path.Combine(dir, "ours.ubj"), Path.Combine(dir, "x.f32"), x.Rows.ToString(), x.Columns.ToString(), Path.Combine(dir, "py.f32"));
        Assert.That(TestData.ReadFloats(Path.Combine(dir, "py.f32")), Is.EqualTo(model.PredictRaw(x).Values));
    }
}
