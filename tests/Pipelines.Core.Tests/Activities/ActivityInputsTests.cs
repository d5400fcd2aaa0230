using System.Text.Json.Nodes;
using Pipelines.Core.Activities;

namespace Pipelines.Core.Tests.Activities;

public class ActivityInputsTests
{
    private sealed record Sample(string Name, long Count, double Ratio, bool Loud, IReadOnlyList<string> Tags, string? Note) : IActivityInput<Sample>
    {
        public static JsonObject Schema { get; } = SchemaBuilder.Object()
            .Required("name", SchemaBuilder.String())
            .Optional("count", SchemaBuilder.Integer())
            .Optional("ratio", SchemaBuilder.Number())
            .Optional("loud", SchemaBuilder.Boolean())
            .Optional("tags", SchemaBuilder.Array(SchemaBuilder.String()))
            .Optional("note", SchemaBuilder.String())
            .Build();

        public static Sample Bind(ActivityInputs inputs) => new(
            inputs.String("name"),
            inputs.Integer("count", 3),
            inputs.Number("ratio", 0.5),
            inputs.Boolean("loud", false),
            inputs.StringList("tags", []),
            inputs.OptionalString("note"));
    }

    private static Sample Bind(string json) => ActivityInputs.Bind<Sample>(JsonNode.Parse(json)!.AsObject());

    [Test]
    public void Bind_AppliesDefaults_WhenOptionalInputsAreAbsentOrNull()
    {
        var s = Bind("""{ "name": "a", "count": null }""");
        Assert.That(s, Is.EqualTo(s with { Name = "a", Count = 3, Ratio = 0.5, Loud = false, Note = null }));
        Assert.That(s.Tags, Is.Empty);
    }

    [Test]
    public void Bind_ReadsEveryType_WhenValuesAreGiven()
    {
        var s = Bind("""{ "name": "a", "count": 7, "ratio": 2, "loud": true, "tags": ["x", "y"], "note": "n" }""");
        Assert.That((s.Name, s.Count, s.Ratio, s.Loud, s.Note), Is.EqualTo(("a", 7L, 2.0, true, "n")));
        Assert.That(s.Tags, Is.EqualTo(new[] { "x", "y" }));
    }

    [Test]
    public void Bind_ReadsNumbers_WhenNodesWereBuiltFromClrValues()
    {
        var s = ActivityInputs.Bind<Sample>(new JsonObject { ["name"] = "a", ["count"] = 4.0, ["ratio"] = 1 });
        Assert.That((s.Count, s.Ratio), Is.EqualTo((4L, 1.0)));
    }

    [Test]
    public void Bind_FailsNamingTheInput_WhenARequiredInputIsMissing()
    {
        var e = Assert.Throws<ActivityException>(() => Bind("""{ "count": 1 }"""));
        Assert.That(e!.Message, Is.EqualTo("input 'name' is required"));
        Assert.That(e.Retryable, Is.False);
    }

    [Test]
    public void Bind_FailsNamingTheInput_WhenARequiredInputIsNull()
    {
        var e = Assert.Throws<ActivityException>(() => Bind("""{ "name": null }"""));
        Assert.That(e!.Message, Is.EqualTo("input 'name' is required"));
    }

    [TestCase("""{ "name": 5 }""", "input 'name' must be a string, got integer 5")]
    [TestCase("""{ "name": "a", "count": "100" }""", "input 'count' must be an integer, got string \"100\"")]
    [TestCase("""{ "name": "a", "count": 2.5 }""", "input 'count' must be an integer, got number 2.5")]
    [TestCase("""{ "name": "a", "ratio": true }""", "input 'ratio' must be a number, got boolean true")]
    [TestCase("""{ "name": "a", "loud": "yes" }""", "input 'loud' must be a boolean, got string \"yes\"")]
    [TestCase("""{ "name": "a", "tags": "x" }""", "input 'tags' must be a list, got string \"x\"")]
    [TestCase("""{ "name": "a", "tags": ["x", 1] }""", "input 'tags' must be a list of strings, got array [\"x\",1]")]
    public void Bind_FailsNamingTheInputAndType_WhenAValueHasTheWrongType(string json, string message)
    {
        var e = Assert.Throws<ActivityException>(() => Bind(json));
        Assert.That(e!.Message, Is.EqualTo(message));
        Assert.That(e.Retryable, Is.False);
    }

    [Test]
    public void Activity_FailsItsTaskWithoutRunning_WhenBindingFails()
    {
        var activity = new Probe();
        var task = activity.ExecuteAsync(Context(new JsonObject { ["count"] = 1 }), CancellationToken.None);
        Assert.That(task.IsFaulted, Is.True);
        Assert.That(task.Exception!.InnerException, Is.InstanceOf<ActivityException>().With.Message.EqualTo("input 'name' is required"));
        Assert.That(activity.Ran, Is.False);
    }

    [Test]
    public void Activity_ReceivesTheBoundRecord()
    {
        var activity = new Probe();
        var result = activity.ExecuteAsync(Context(new JsonObject { ["name"] = "x" }), CancellationToken.None).Result;
        Assert.That(result.Outputs["name"]!.GetValue<string>(), Is.EqualTo("x"));
        Assert.That(result.Outputs["count"]!.GetValue<long>(), Is.EqualTo(3));
    }

    private sealed class Probe : Activity<Sample>
    {
        public bool Ran { get; private set; }

        protected override Task<ActivityResult> ExecuteAsync(Sample input, ActivityContext context, CancellationToken cancellationToken)
        {
            Ran = true;
            return Task.FromResult(ActivityResult.Success(new JsonObject { ["name"] = input.Name, ["count"] = input.Count }));
        }
    }

    private static ActivityContext Context(JsonObject inputs) => new()
    {
        RunId = Guid.Empty, StepRunId = Guid.Empty, StepId = "s", Attempt = 1, WorkerId = "w",
        Inputs = inputs, Time = TimeProvider.System, Log = new NullLog(),
    };

    private sealed class NullLog : IActivityLog
    {
        public void Write(string message) { }
    }
}
