using System.Text.Json.Nodes;
using Pipelines.Core.Activities;

namespace Pipelines.Activities.Builtin;

[Activity("sleep", "1", "Waits for a number of milliseconds; honours cancellation. Useful for tests and examples.")]
public sealed class SleepActivity : IActivity
{
    public static ActivitySchema Schema { get; } = new(
        SchemaBuilder.Object().Required("ms", SchemaBuilder.Integer("Milliseconds to wait.")).Build(),
        SchemaBuilder.Object().Required("slept_ms", SchemaBuilder.Integer()).Build());

    public async Task<ActivityResult> ExecuteAsync(ActivityContext context, CancellationToken cancellationToken)
    {
        var ms = context.Inputs["ms"]!.GetValue<long>();
        await Task.Delay(TimeSpan.FromMilliseconds(ms), context.Time, cancellationToken);
        return ActivityResult.Success(new JsonObject { ["slept_ms"] = ms });
    }
}
