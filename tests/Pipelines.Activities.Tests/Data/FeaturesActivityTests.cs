using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Pipelines.Activities.Tests.Data;

public sealed class FeaturesActivityTests
{
    private DataActivityServices _s = null!;

    [OneTimeSetUp] public async Task SetUp() => _s = await DataActivityServices.CreateAsync();
    [OneTimeTearDown] public async Task TearDown() => await _s.DisposeAsync();

    [Test]
    public async Task Adult_SplitsAndTransforms_WithFittedPipeline()
    {
        var o = await _s.OkAsync("features", new JsonObject
        {
            ["data"] = AdultData.Train, ["null_tokens"] = AdultData.Nulls, ["label"] = "Y",
            ["pipeline"] = JsonNode.Parse("""[{"op": "one_hot", "columns": ["sex"]}, {"op": "drop", "columns": ["workclass","education","marital-status","occupation","relationship","race","native-country"]}]"""),
            ["split"] = new JsonObject { ["method"] = "stratified", ["valid"] = 0.1, ["test"] = 0.2, ["seed"] = 7 },
        });
        var rows = o["rows"]!;
        Assert.That(rows["train"]!.GetValue<int>() + rows["valid"]!.GetValue<int>() + rows["test"]!.GetValue<int>(), Is.EqualTo(32561));
        Assert.That(rows["test"]!.GetValue<int>(), Is.EqualTo(6512).Within(2));
        Assert.That(o["pipeline"], Is.Not.Null);
    }

    [Test]
    public async Task MissingLabelColumn_FailsNamingIt()
    {
        var e = await _s.FailAsync("features", new JsonObject { ["data"] = AdultData.Train, ["label"] = "income" });
        Assert.That(e, Does.Contain("'income'"));
    }
}
