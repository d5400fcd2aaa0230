using System.Text.Json.Nodes;
using Pipelines.Activities;
using Pipelines.Activities.Builtin;
using Pipelines.Core.Activities;

namespace Pipelines.Core.Tests.Activities;

public class ActivityRegistrationTests
{
    /// <summary>
    /// The descriptors the reflection-based registration (attribute plus static Schema property) produced
    /// before activities declared typed input records; registration by <c>Add&lt;T&gt;()</c> must match them.
    /// </summary>
    private static readonly JsonArray Before = JsonNode.Parse(
        File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "Activities", "builtin-descriptors.json")))!.AsArray();

    private static JsonObject Describe(ActivityDescriptor d) => new()
    {
        ["kind"] = d.Kind, ["version"] = d.Version, ["description"] = d.Description, ["cacheable"] = d.Cacheable,
        ["behavior"] = d.Behavior.ToString(), ["inputs"] = d.InputSchema.DeepClone(), ["outputs"] = d.OutputSchema.DeepClone(),
    };

    private static JsonObject Expected(string kind) =>
        Before.OfType<JsonObject>().Single(o => o["kind"]!.GetValue<string>() == kind);

    [Test]
    public void Add_YieldsTheSameDescriptorAsBefore_ForSingleActivities()
    {
        var registry = new ActivityRegistry().Add<SleepActivity>().Add<FailActivity>();
        foreach (var kind in new[] { "sleep", "fail" })
            Assert.That(JsonNode.DeepEquals(Describe(registry.Find(kind)!), Expected(kind)), Is.True, kind);
        Assert.That(registry.Find("sleep")!.Factory!(null), Is.InstanceOf<SleepActivity>());
    }

    [Test]
    public void BuiltinRegistry_YieldsTheSameDescriptorsAsBefore()
    {
        var now = BuiltinActivities.CreateRegistry().All.OrderBy(d => d.Id, StringComparer.Ordinal).ToList();
        Assert.That(now.Select(d => d.Kind), Is.EqualTo(Before.Select(o => o!["kind"]!.GetValue<string>())));
        foreach (var d in now)
            Assert.That(Describe(d).ToJsonString(), Is.EqualTo(Expected(d.Kind).ToJsonString()), d.Id);
    }

    [Test]
    public void Add_Throws_WhenAKindAndVersionIsRegisteredTwice()
    {
        var registry = new ActivityRegistry().Add<LogActivity>();
        Assert.That(() => registry.Add<LogActivity>(), Throws.InvalidOperationException.With.Message.EqualTo("activity log@1 is registered twice"));
    }
}
