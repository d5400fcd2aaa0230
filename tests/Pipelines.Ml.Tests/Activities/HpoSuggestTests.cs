using System.Text.Json.Nodes;
using Pipelines.Activities.Ml;
using Pipelines.Core.Activities;

namespace Pipelines.Ml.Tests.Activities;

public class HpoSuggestTests
{
    private sealed class Log : IActivityLog
    {
        public List<string> Lines { get; } = new();
        public void Write(string message) => Lines.Add(message);
    }

    private static async Task<JsonArray> Suggest(JsonObject inputs)
    {
        var context = new ActivityContext
        {
            RunId = Guid.NewGuid(), StepRunId = Guid.NewGuid(), StepId = "suggest", Attempt = 1, WorkerId = "t",
            Inputs = inputs, Time = TimeProvider.System, Log = new Log(),
        };
        var r = await new HpoSuggestActivity().ExecuteAsync(context, CancellationToken.None);
        return r.Outputs["trials"]!.AsArray();
    }

    private static JsonObject Space() => JsonNode.Parse("""{ "x": { "type": "uniform", "low": 0, "high": 1 }, "k": { "type": "choice", "values": [1, 2] } }""")!.AsObject();

    [Test]
    public async Task Grid_IsCappedAtItsSize_AndRandomRepeatsWithTheSeed()
    {
        var grid = await Suggest(new JsonObject { ["space"] = Space(), ["trials"] = 100, ["strategy"] = "grid", ["grid_points"] = 3 });
        Assert.That(grid, Has.Count.EqualTo(6));
        var a = await Suggest(new JsonObject { ["space"] = Space(), ["trials"] = 5, ["seed"] = 4 });
        var b = await Suggest(new JsonObject { ["space"] = Space(), ["trials"] = 5, ["seed"] = 4 });
        Assert.That(a.ToJsonString(), Is.EqualTo(b.ToJsonString()));
        Assert.That(a.Select(t => t!["number"]!.GetValue<int>()), Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
    }

    [Test]
    public async Task Tpe_WithHistory_NumbersAfterIt_AndLeansTowardsGoodRegions()
    {
        // Earlier wave: value is high (good, maximize) when x is near 0.8 and k = 2.
        var first = await Suggest(new JsonObject { ["space"] = Space(), ["trials"] = 20, ["strategy"] = "tpe", ["seed"] = 1 });
        var history = new JsonArray(first.Select(t =>
        {
            var p = t!["params"]!;
            var value = -Math.Abs(p["x"]!.GetValue<double>() - 0.8) + (p["k"]!.GetValue<int>() == 2 ? 0.5 : 0);
            return (JsonNode)new JsonObject { ["number"] = t["number"]!.GetValue<int>(), ["params"] = p.DeepClone(), ["value"] = value };
        }).ToArray());
        var next = await Suggest(new JsonObject { ["space"] = Space(), ["trials"] = 10, ["strategy"] = "tpe", ["seed"] = 1, ["history"] = history });
        Assert.That(next.Select(t => t!["number"]!.GetValue<int>()), Is.EqualTo(Enumerable.Range(20, 10)));
        Assert.That(next.Count(t => t!["params"]!["k"]!.GetValue<int>() == 2), Is.GreaterThanOrEqualTo(7));
        Assert.That(next.Average(t => Math.Abs(t!["params"]!["x"]!.GetValue<double>() - 0.8)), Is.LessThan(0.25));
    }
}
