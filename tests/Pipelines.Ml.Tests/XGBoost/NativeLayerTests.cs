using Pipelines.Ml.XGBoost;

namespace Pipelines.Ml.Tests.XGBoost;

public class NativeLayerTests
{
    [Test]
    public void Version_IsTheDebianLibrary_1_7()
    {
        var v = XGBoostLibrary.Version;
        Assert.That((v.Major, v.Minor), Is.EqualTo((1, 7)));
    }

    [Test]
    public void MissingLibrary_FailsWithInstallInstructions()
    {
        var e = Assert.Throws<XGBoostUnavailableException>(() => XGBoostLibrary.LoadFrom(["/nonexistent/libxgboost.so"]));
        Assert.That(e!.Message, Does.Contain("apt-get install libxgboost0"));
        Assert.That(e.Message, Does.Contain("/nonexistent/libxgboost.so"));
    }

    [Test]
    public void DMatrix_TreatsNaNAsMissing_AndKnowsItsShape()
    {
        using var m = DMatrix.FromDense([1f, float.NaN, 3f, 4f, 5f, float.NaN], 3, 2);
        Assert.That((m.Rows, m.Columns), Is.EqualTo((3L, 2L)));
        Assert.Throws<ArgumentException>(() => m.SetLabels([1f, 0f]));
    }

    [Test]
    public void NativeErrors_SurfaceXGBoostsMessage()
    {
        using var m = DMatrix.FromDense([1f, 2f], 2, 1);
        m.SetLabels([0f, 1f]);
        using var b = new Booster([m]);
        b.SetParam("objective", "no:such_objective");
        var e = Assert.Throws<XGBoostException>(() => b.UpdateOneIteration(0, m));
        Assert.That(e!.Message, Does.Contain("no:such_objective"));
    }

    [Test]
    public void EvaluationText_IsParsed_EvenWithDashesInSetNames()
    {
        var r = Booster.ParseEvaluation("[4]\ttrain-logloss:0.25\tmy-valid-auc:0.875", ["train", "my-valid"]);
        Assert.That(r, Is.EqualTo(new[] { ("train", "logloss", 0.25), ("my-valid", "auc", 0.875) }));
    }

    [Test]
    public void HandlesAreReleased_WhenDisposed()
    {
        var m = DMatrix.FromDense([1f, 2f], 2, 1);
        var b = new Booster([m]);
        b.Dispose();
        m.Dispose();
        Assert.That(m.Handle.IsClosed && b.Handle.IsClosed, Is.True);
        Assert.Throws<ObjectDisposedException>(() => _ = m.Rows);
    }

    [Test]
    public void InPlacePrediction_EqualsPredictionThroughADMatrix_BitForBit_WithMissingValuesAndClasses()
    {
        // Three classes, NaN in a feature: in-place prediction (no DMatrix copy) must walk the trees exactly as a DMatrix does.
        var rng = new Random(3);
        const int rows = 400, cols = 4;
        var x = new float[rows * cols];
        var y = new float[rows];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < cols; c++) x[r * cols + c] = c == 2 && r % 5 == 0 ? float.NaN : (float)rng.NextDouble();
            y[r] = x[r * cols] < 0.33f ? 0 : float.IsNaN(x[r * cols + 2]) || x[r * cols + 1] < 0.5f ? 1 : 2;
        }
        using var d = DMatrix.FromDense(x, rows, cols);
        d.SetLabels(y);
        using var b = new Booster([d], new Dictionary<string, string> { ["objective"] = "multi:softprob", ["num_class"] = "3", ["max_depth"] = "3", ["nthread"] = "1" });
        for (var i = 0; i < 5; i++) b.UpdateOneIteration(i, d);

        foreach (var kind in new[] { PredictionKind.Value, PredictionKind.Margin })
        {
            var viaDMatrix = b.Predict(d, kind);
            var inPlace = b.Predict(new FeatureMatrix(x, rows, cols), kind);
            Assert.That((inPlace.Rows, inPlace.Columns), Is.EqualTo((rows, 3)), kind.ToString());
            Assert.That(inPlace.Values, Is.EqualTo(viaDMatrix.Values), kind.ToString());
        }
        Assert.That(b.Predict(new FeatureMatrix([], 0, cols)).Rows, Is.Zero);
        Assert.Throws<ArgumentException>(() => b.Predict(new FeatureMatrix(x, rows, cols), PredictionKind.Contribution));
    }
}
