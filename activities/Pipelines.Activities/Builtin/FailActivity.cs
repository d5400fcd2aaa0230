namespace Pipelines.Activities.Builtin;

public sealed record FailInput(string Message, bool Retryable, bool Verdict, long? SucceedOnAttempt) : IActivityInput<FailInput>
{
    public static JsonObject Schema { get; } = SchemaBuilder.Object()
        .Required("message", SchemaBuilder.String("Error message."))
        .Optional("retryable", SchemaBuilder.Boolean("Mark the error retryable (default false)."))
        .Optional("verdict", SchemaBuilder.Boolean("Stop the run as a gate verdict instead of failing (default false)."))
        .Optional("succeed_on_attempt", SchemaBuilder.Integer("Succeed from this attempt on (default never)."))
        .Build();

    public static FailInput Bind(ActivityInputs inputs) => new(
        inputs.String("message"),
        inputs.Boolean("retryable", false),
        inputs.Boolean("verdict", false),
        inputs.OptionalInteger("succeed_on_attempt"));
}

/// <summary>Fails on purpose: retryable errors, permanent errors, verdicts, or failing only the first attempts.</summary>
public sealed class FailActivity : Activity<FailInput>, IActivityDefinition<FailInput>
{
    public static ActivityInfo Info { get; } = new("fail", "1", "Fails with a message; for tests and examples of retries and gates.");

    public static JsonObject Outputs { get; } = SchemaBuilder.Object().Optional("attempt", SchemaBuilder.Integer()).Build();

    public static IActivity Create(IServiceProvider? services) => new FailActivity();

    protected override Task<ActivityResult> ExecuteAsync(FailInput input, ActivityContext context, CancellationToken cancellationToken)
    {
        if (input.SucceedOnAttempt is { } from && context.Attempt >= from)
            return Task.FromResult(ActivityResult.Success(new JsonObject { ["attempt"] = context.Attempt }));
        if (input.Verdict)
            return Task.FromResult(ActivityResult.Stop(input.Message));
        throw new ActivityException(input.Message, input.Retryable);
    }
}
