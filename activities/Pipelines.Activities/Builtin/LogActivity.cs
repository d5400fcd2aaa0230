using Pipelines.Core.Activities;

namespace Pipelines.Activities.Builtin;

[Activity("log", "1", "Writes a message to the step's log and returns it.")]
public sealed class LogActivity : IActivity
{
    public static ActivitySchema Schema { get; } = new(
        SchemaBuilder.Object().Required("message", SchemaBuilder.String("Text to log.")).Build(),
        SchemaBuilder.Object().Required("message", SchemaBuilder.String()).Build());

    public Task<ActivityResult> ExecuteAsync(ActivityContext context, CancellationToken cancellationToken)
    {
        var message = context.Inputs["message"]?.ToString() ?? "";
        context.Log.Write(message);
        return Task.FromResult(ActivityResult.Success(new() { ["message"] = message }));
    }
}
