using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Pipelines.Activities.Tests.Data;

public sealed class IncrementalIngestTests
{
    [Test]
    public async Task SecondRun_LoadsOnlyRowsAboveTheWatermark()
    {
        await using var s = await DataActivityServices.CreateAsync();
        await s.Database.ExecAsync("CREATE TABLE source_events (id bigint PRIMARY KEY, v text)");
        await s.Database.ExecAsync("INSERT INTO source_events SELECT g, 'a' || g FROM generate_series(1, 5) g");
        var inputs = new JsonObject
        {
            ["query"] = "SELECT id, v FROM source_events",
            ["connection"] = s.Database.ConnectionString,
            ["watermark"] = new JsonObject { ["column"] = "id" },
        };
        var first = await s.OkAsync("ingest", (JsonObject)inputs.DeepClone());
        Assert.That(first["rows"]!.GetValue<int>(), Is.EqualTo(5));
        await s.Database.ExecAsync("INSERT INTO source_events SELECT g, 'b' || g FROM generate_series(6, 8) g");
        var second = await s.OkAsync("ingest", (JsonObject)inputs.DeepClone());
        Assert.That(second["rows"]!.GetValue<int>(), Is.EqualTo(3));
        Assert.That(second["watermark"]!["previous"]!.GetValue<string>(), Is.EqualTo("5"));
        Assert.That(second["watermark"]!["current"]!.GetValue<string>(), Is.EqualTo("8"));
    }
}
