using System.Text.Json.Nodes;
using Pipelines.Activities.Builtin;
using Pipelines.Core.Activities;

namespace Pipelines.Core.Tests.Activities;

/// <summary>Builtin activities keep the input behaviour they had before typed input records.</summary>
public class BuiltinActivityInputsTests
{
    [Test]
    public async Task Log_WritesANumberAsText_WhenTheMessageIsNotAString()
    {
        var result = await new LogActivity().ExecuteAsync(Context(new JsonObject { ["message"] = 42 }), CancellationToken.None);
        Assert.That(result.Outputs["message"]!.GetValue<string>(), Is.EqualTo("42"));
    }

    [Test]
    public async Task Range_StartsAtZero_WhenStartIsAbsent()
    {
        var result = await new RangeActivity().ExecuteAsync(Context(new JsonObject { ["count"] = 3 }), CancellationToken.None);
        Assert.That(result.Outputs["items"]!.AsArray().Select(i => i!.GetValue<long>()), Is.EqualTo(new[] { 0L, 1, 2 }));
    }

    [Test]
    public void Sleep_FailsPermanentlyNamingTheInput_WhenMsIsAString()
    {
        var e = Assert.ThrowsAsync<ActivityException>(() => new SleepActivity().ExecuteAsync(Context(new JsonObject { ["ms"] = "100" }), CancellationToken.None));
        Assert.That(e!.Message, Is.EqualTo("input 'ms' must be an integer, got string \"100\""));
        Assert.That(e.Retryable, Is.False);
    }

    [Test]
    public void Fail_IsRetryable_OnlyWhenAskedTo()
    {
        var permanent = Assert.ThrowsAsync<ActivityException>(() => new FailActivity().ExecuteAsync(Context(new JsonObject { ["message"] = "boom" }), CancellationToken.None));
        var retryable = Assert.ThrowsAsync<ActivityException>(() => new FailActivity().ExecuteAsync(
            Context(new JsonObject { ["message"] = "boom", ["retryable"] = true }), CancellationToken.None));
        Assert.That((permanent!.Message, permanent.Retryable, retryable!.Retryable), Is.EqualTo(("boom", false, true)));
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
