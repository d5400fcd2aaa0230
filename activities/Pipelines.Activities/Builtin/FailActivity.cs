using System.Text.Json.Nodes;
using Pipelines.Core.Activities;

namespace Pipelines.Activities.Builtin;

/// <summary>Fails on purpose: retryable errors, permanent errors, verdicts, or failing only the first attempts.</summary>
[Activity("fail", "1", "Fails with a message; for tests and examples of retries and gates.")]
public sealed class FailActivity : IActivity
{
    public static ActivitySchema Schema { get; } = new(
        SchemaBuilder.Object()
            .Required("message", SchemaBuilder.String("Error message."))
            .Optional("retryable", SchemaBuilder.Boolean("Mark the error retryable (default false)."))
            .Optional("verdict", SchemaBuilder.Boolean("Stop the run as a gate verdict instead of failing (default false)."))
            .Optional("succeed_on_attempt", SchemaBuilder.Integer("Succeed from this attempt on (default never)."))
            .Build(),
        SchemaBuilder.Object().Optional("attempt", SchemaBuilder.Integer()).Build());

    public Task<ActivityResult> ExecuteAsync(ActivityContext context, CancellationToken cancellationToken)
    {
        var message = context.RequireString("message");
        if (context.Inputs["succeed_on_attempt"] is JsonValue v && context.Attempt >= v.GetValue<long>())
            return Task.FromResult(ActivityResult.Success(new JsonObject { ["attempt"] = context.Attempt }));
        if (context.Inputs["verdict"]?.GetValue<bool>() == true)
            return Task.FromResult(ActivityResult.Stop(message));
        throw new ActivityException(message, context.Inputs["retryable"]?.GetValue<bool>() == true);
    }
}
