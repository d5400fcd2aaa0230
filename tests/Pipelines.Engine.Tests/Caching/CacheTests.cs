using System.Text.Json.Nodes;
using Pipelines.Engine.Model;
using Pipelines.Testing;

namespace Pipelines.Engine.Tests.Caching;

public class CacheTests
{
    private const string Workflow = """
        name: cached
        parameters:
          word: { type: string, default: a }
        steps:
          - id: first
            uses: log
            with: { message: "${{ params.word }}" }
          - id: uncached
            uses: log
            cache: false
            with: { message: "${{ steps.first.outputs.message }}!" }
        """;

    [Test]
    public async Task SameInputs_ReuseOutputs_ShownAsCached_UnlessOptedOut()
    {
        await using var h = await EngineHarness.CreateAsync();
        await h.StartWorkersAsync();
        var run1 = await h.SubmitAsync(Workflow);
        await h.WaitForEndAsync(run1);
        var run2 = await h.SubmitAsync(Workflow);
        var second = await h.WaitForEndAsync(run2);

        Assert.That(second.Run.State, Is.EqualTo(RunState.Succeeded));
        var first = h.Step(second, "first");
        Assert.That(first.Cached, Is.True);
        Assert.That(first.Attempts, Is.Empty, "a cache hit runs nothing");
        Assert.That(first.Outputs!["message"]!.GetValue<string>(), Is.EqualTo("a"));
        Assert.That(h.Step(second, "uncached").Cached, Is.False);
        Assert.That(h.Step(second, "uncached").Attempts, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task ChangedInputs_MissTheCache()
    {
        await using var h = await EngineHarness.CreateAsync();
        await h.StartWorkersAsync();
        await h.WaitForEndAsync(await h.SubmitAsync(Workflow));
        var other = await h.WaitForEndAsync(await h.SubmitAsync(Workflow, new JsonObject { ["word"] = "b" }));
        Assert.That(h.Step(other, "first").Cached, Is.False);
        Assert.That(h.Step(other, "first").Attempts, Has.Count.EqualTo(1));
    }
}
