using Pipelines.Core.Activities;

namespace Pipelines.Activities.Builtin;

[Activity("noop", "1", "Does nothing and succeeds; measures the engine's own overhead.")]
public sealed class NoopActivity : IActivity
{
    public static ActivitySchema Schema { get; } = new(
        SchemaBuilder.Object().Optional("value", SchemaBuilder.Any("Passed through to the output.")).Build(),
        SchemaBuilder.Object().Optional("value", SchemaBuilder.Any()).Build());

    public Task<ActivityResult> ExecuteAsync(ActivityContext context, CancellationToken cancellationToken) =>
        Task.FromResult(ActivityResult.Success(context.Inputs["value"] is { } v ? new() { ["value"] = v.DeepClone() } : new()));
}
