namespace Pipelines.Activities.Builtin;

/// <param name="Message">Read as text whatever its JSON type: an expression may yield a number to log.</param>
public sealed record LogInput(string Message) : IActivityInput<LogInput>
{
    public static JsonObject Schema { get; } = SchemaBuilder.Object().Required("message", SchemaBuilder.String("Text to log.")).Build();

    public static LogInput Bind(ActivityInputs inputs) => new(inputs.Node("message")?.ToString() ?? "");
}

public sealed class LogActivity : Activity<LogInput>, IActivityDefinition<LogInput>
{
    public static ActivityInfo Info { get; } = new("log", "1", "Writes a message to the step's log and returns it.");

    public static JsonObject Outputs { get; } = SchemaBuilder.Object().Required("message", SchemaBuilder.String()).Build();

    public static IActivity Create(IServiceProvider? services) => new LogActivity();

    protected override Task<ActivityResult> ExecuteAsync(LogInput input, ActivityContext context, CancellationToken cancellationToken)
    {
        context.Log.Write(input.Message);
        return Task.FromResult(ActivityResult.Success(new() { ["message"] = input.Message }));
    }
}
