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

    [Test]
    public async Task ActivitiesMarkedNotCacheable_AlwaysRun()
    {
        await using var h = await EngineHarness.CreateAsync(register: r => r.Add(
            new Pipelines.Core.Activities.ActivityDescriptor("read_outside", "1", "reads something outside its inputs",
                Pipelines.Core.Activities.SchemaBuilder.Object().Required("message", Pipelines.Core.Activities.SchemaBuilder.String()).Build(),
                Pipelines.Core.Activities.SchemaBuilder.Object().Build(), Pipelines.Core.Activities.ActivityBehavior.Execute,
                _ => new Pipelines.Activities.Builtin.LogActivity(), Cacheable: false)));
        const string yaml = """
            name: outside
            steps:
              - id: a
                uses: read_outside
                with: { message: same }
            """;
        await h.StartWorkersAsync();
        await h.WaitForEndAsync(await h.SubmitAsync(yaml));
        var second = await h.WaitForEndAsync(await h.SubmitAsync(yaml));
        Assert.That(h.Step(second, "a").Cached, Is.False);
        Assert.That(h.Step(second, "a").Attempts, Has.Count.EqualTo(1));
    }

    [Test]
    public void ArtifactReferences_KeyOnContentOnly()
    {
        var log = Pipelines.Activities.BuiltinActivities.CreateRegistry().Find("log")!;
        JsonObject Ref(string id, string uri, string sha) => new() { ["artifact"] = id, ["uri"] = uri, ["sha256"] = sha, ["name"] = "a.parquet" };
        var a = Pipelines.Engine.Orchestration.CacheKey.Compute(log, new JsonObject { ["data"] = Ref("1", "file:///x/attempts/1/a.parquet", "ab") });
        var b = Pipelines.Engine.Orchestration.CacheKey.Compute(log, new JsonObject { ["data"] = Ref("2", "file:///x/attempts/2/a.parquet", "ab") });
        var c = Pipelines.Engine.Orchestration.CacheKey.Compute(log, new JsonObject { ["data"] = Ref("1", "file:///x/attempts/1/a.parquet", "cd") });
        Assert.That(a, Is.EqualTo(b), "same content under another attempt's key");
        Assert.That(a, Is.Not.EqualTo(c), "other content");
    }
}
