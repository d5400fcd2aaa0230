using Pipelines.Data.Tables;
using Pipelines.Ml.Features;
using Pipelines.Ml.Trainers;

namespace Pipelines.Ml.Tests.Features;

public class FeaturePipelineTests
{
    private static Table Small() => new(
        new Schema([new Field("x", DataType.Float64), new Field("n", DataType.Int32), new Field("city", DataType.String),
            new Field("day", DataType.Date), new Field("label", DataType.String)]),
        [
            new PrimitiveColumn<double>(DataType.Float64, [1, double.NaN, 3, 10, 4], null, 5),
            new PrimitiveColumn<int>(DataType.Int32, [5, 6, 0, 8, 9], [true, true, false, true, true], 5),
            TableOps.Strings(["a", "b", "a", null, "c"]),
            new PrimitiveColumn<int>(DataType.Date, [0, 59, 365, 20000, 19000], null, 5), // 1970-01-01, 1970-03-01, 1971-01-01, …
            TableOps.Strings(["yes", "no", "yes.", "no.", "yes"]),
        ]);

    private static FeaturePipeline SmallPipeline() => new()
    {
        Label = new LabelSpec { Column = "label", Positive = "yes", Mapping = new() { ["yes."] = "yes", ["no."] = "no" } },
        Steps =
        [
            new ImputeStep { Columns = ["x"], Strategy = ImputeStrategy.Median },
            new ImputeStep { Columns = ["n"], Strategy = ImputeStrategy.Constant, FillValue = "-1" },
            new ClipStep { Columns = ["x"], Upper = 5 },
            new MinMaxStep { Columns = ["x"] },
            new OneHotStep { Columns = ["city"], MinFrequency = 2 },
            new DatePartsStep { Columns = ["day"], Parts = ["year", "month", "day_of_week"] },
            new RenameStep { Mapping = new() { ["n"] = "count" } },
        ],
    };

    [Test]
    public void Steps_ComputeTheDocumentedValues()
    {
        var p = SmallPipeline().Fit(Small());
        var t = p.Transform(Small());
        Assert.That(p.Features, Is.EqualTo(new[] { "x", "count", "city=a", "city=__other__", "day_year", "day_month", "day_day_of_week" }));
        // x: median of 1,3,10,4 = 3.5 fills the NaN; clip to 5; min-max over [1, 5].
        Assert.That(FeatureMatrix.ToDoubles(t["x"], "x"), Is.EqualTo(new[] { 0, 0.625, 0.5, 1, 0.75 }));
        Assert.That(FeatureMatrix.ToDoubles(t["count"], "count"), Is.EqualTo(new double[] { 5, 6, -1, 8, 9 }));
        // "a" occurs twice and is kept; b, c (rare) and the missing value go to __other__.
        Assert.That(FeatureMatrix.ToDoubles(t["city=a"], "a"), Is.EqualTo(new double[] { 1, 0, 1, 0, 0 }));
        Assert.That(FeatureMatrix.ToDoubles(t["city=__other__"], "o"), Is.EqualTo(new double[] { 0, 1, 0, 1, 1 }));
        Assert.That(FeatureMatrix.ToDoubles(t["day_year"], "y"), Is.EqualTo(new double[] { 1970, 1970, 1971, 2024, 2022 }));
        Assert.That(FeatureMatrix.ToDoubles(t["day_month"], "m"), Is.EqualTo(new double[] { 1, 3, 1, 10, 1 }));
        Assert.That(FeatureMatrix.ToDoubles(t["day_day_of_week"], "d").Take(3), Is.EqualTo(new double[] { 3, 6, 4 }), "1970-01-01 was a Thursday");
        Assert.That(p.Labels(Small()), Is.EqualTo(new double[] { 1, 0, 1, 0, 1 }));
        Assert.That(p.Label!.Classes, Is.EqualTo(new[] { "no", "yes" }));
    }

    [Test]
    public void Standardize_Quantiles_AndLog1p()
    {
        var t = new Table(new Schema([new Field("v", DataType.Float64), new Field("w", DataType.Float64), new Field("z", DataType.Float64)]),
        [
            TableOps.Doubles(Enumerable.Range(1, 100).Select(i => (double)i).ToArray()),
            TableOps.Doubles(Enumerable.Range(1, 100).Select(i => (double)i).ToArray()),
            TableOps.Doubles(Enumerable.Range(0, 100).Select(i => Math.E - 1).ToArray()),
        ]);
        var p = new FeaturePipeline
        {
            Steps = [new StandardizeStep { Columns = ["v"] }, new QuantileBucketizeStep { Columns = ["w"], Buckets = 4 }, new Log1pStep { Columns = ["z"] }],
        }.Fit(t);
        var o = p.Transform(t);
        var v = FeatureMatrix.ToDoubles(o["v"], "v");
        Assert.That(v.Average(), Is.EqualTo(0).Within(1e-12));
        Assert.That(Math.Sqrt(v.Select(x => x * x).Average()), Is.EqualTo(1).Within(1e-12));
        var w = FeatureMatrix.ToDoubles(o["w"], "w");
        Assert.That(Enumerable.Range(0, 4).Select(b => w.Count(x => x == b)), Is.EqualTo(new[] { 25, 25, 25, 25 }));
        Assert.That(FeatureMatrix.ToDoubles(o["z"], "z").Distinct().Single(), Is.EqualTo(1).Within(1e-15));
    }

    [Test]
    public void Adult_SavedAndReloadedPipeline_GivesIdenticalFeatures_AtTrainAndPredictTime()
    {
        var fitted = TestData.AdultPipeline().Fit(TestData.AdultTrain);
        var json = fitted.ToJson();
        var reloaded = FeaturePipeline.FromJson(json);
        Assert.That(reloaded.ToJson(), Is.EqualTo(json), "JSON round trip is exact");
        var atTrain = fitted.TransformToMatrix(TestData.AdultTrain);
        var atPredict = reloaded.TransformToMatrix(TestData.AdultTrain);
        Assert.That(atPredict.Values, Is.EqualTo(atTrain.Values));
        Assert.That(atPredict.Names, Is.EqualTo(atTrain.Names));
        // Applying to the test file uses the training statistics, not refitted ones.
        var test = reloaded.TransformToMatrix(TestData.AdultTest);
        Assert.That(test.Names, Is.EqualTo(atTrain.Names));
        var std = (StandardizeStep)reloaded.Steps[3];
        var age = TestData.AdultTest["age"];
        Assert.That(test[0, atTrain.Names.ToList().IndexOf("age")], Is.EqualTo((float)((25 - std.Mean["age"]) / std.Std["age"])));
        Assert.That(json, Does.Contain("\"format_version\": 1").And.Contain("\"op\": \"one_hot\""));
        // The test file's "Holand-Netherlands"-style unseen/rare categories land in __other__: every row has exactly one 1 per one-hot group.
        var groups = atTrain.Names.Select((n, i) => (n, i)).Where(x => x.n.StartsWith("native-country=")).Select(x => x.i).ToArray();
        for (var r = 0; r < test.Rows; r++) Assert.That(groups.Sum(j => test[r, j]), Is.EqualTo(1f));
        Assert.That(age.Length, Is.EqualTo(test.Rows));
    }

    [Test]
    public void MissingColumn_FailsNamingIt()
    {
        var p = TestData.AdultPipeline().Fit(TestData.AdultTrain);
        var withoutAge = TestData.AdultTest.Select(TestData.AdultTest.Schema.Fields.Select(f => f.Name).Where(n => n != "age").ToArray());
        var e = Assert.Throws<ColumnMismatchException>(() => p.Transform(withoutAge));
        Assert.That(e!.Column, Is.EqualTo("age"));
        Assert.That(e.Message, Does.Contain("'age'").And.Contain("missing"));
    }

    [Test]
    public void MistypedColumn_FailsNamingIt()
    {
        var p = TestData.AdultPipeline().Fit(TestData.AdultTrain);
        var t = TestData.AdultTest;
        var i = t.Schema.IndexOf("hours-per-week");
        var cols = t.Columns.ToArray();
        cols[i] = TableOps.Strings(TableOps.Texts(cols[i]));
        var fields = t.Schema.Fields.ToArray();
        fields[i] = new Field("hours-per-week", DataType.String);
        var e = Assert.Throws<ColumnMismatchException>(() => p.Transform(new Table(new Schema(fields), cols)));
        Assert.That(e!.Column, Is.EqualTo("hours-per-week"));
        Assert.That(e.Message, Does.Contain("string").And.Contain("number"));
    }

    [Test]
    public void StepOnWrongType_AtFitTime_FailsNamingTheColumn()
    {
        var p = new FeaturePipeline { Steps = [new StandardizeStep { Columns = ["city"] }] };
        var e = Assert.Throws<ColumnMismatchException>(() => p.Fit(Small()));
        Assert.That(e!.Message, Does.Contain("'city'").And.Contain("standardize"));
        var missing = new FeaturePipeline { Steps = [new Log1pStep { Columns = ["nope"] }] };
        Assert.That(Assert.Throws<ColumnMismatchException>(() => missing.Fit(Small()))!.Column, Is.EqualTo("nope"));
    }

    [Test]
    public void UnknownLabel_AndNewerFormat_AreRejected()
    {
        var p = SmallPipeline().Fit(Small());
        var t = Small();
        var cols = t.Columns.ToArray();
        cols[4] = TableOps.Strings(["yes", "maybe", "no", "no", "yes"]);
        Assert.That(() => p.Labels(new Table(t.Schema, cols)), Throws.ArgumentException.With.Message.Contains("'maybe'"));
        Assert.That(() => FeaturePipeline.FromJson(p.ToJson().Replace("\"format_version\": 1", "\"format_version\": 2")),
            Throws.TypeOf<NotSupportedException>());
    }

    [Test]
    public void SelectAndDrop_ControlTheFeatures()
    {
        var p = new FeaturePipeline
        {
            Label = new LabelSpec { Column = "label", Task = TaskKind.BinaryClassification, Positive = "yes", Mapping = new() { ["yes."] = "yes", ["no."] = "no" } },
            Steps = [new DropStep { Columns = ["day"] }, new SelectStep { Columns = ["n", "x"] }],
        }.Fit(Small());
        Assert.That(p.Features, Is.EqualTo(new[] { "n", "x" }));
        Assert.That(p.Inputs.Select(i => i.Name), Is.EquivalentTo(new[] { "x", "n" }), "dropped and unselected columns are not required later");
    }
}
