namespace Pipelines.Activities.Builtin;

public sealed record SleepInput(long Ms) : IActivityInput<SleepInput>
{
    public static JsonObject Schema { get; } = SchemaBuilder.Object().Required("ms", SchemaBuilder.Integer("Milliseconds to wait.")).Build();

    public static SleepInput Bind(ActivityInputs inputs) => new(inputs.Integer("ms"));
}

public sealed class SleepActivity : Activity<SleepInput>, IActivityDefinition<SleepInput>
{
    public static ActivityInfo Info { get; } = new("sleep", "1", "Waits for a number of milliseconds; honours cancellation. Useful for tests and examples.");

    public static JsonObject Outputs { get; } = SchemaBuilder.Object().Required("slept_ms", SchemaBuilder.Integer()).Build();

    public static IActivity Create(IServiceProvider? services) => new SleepActivity();

    protected override async Task<ActivityResult> ExecuteAsync(SleepInput input, ActivityContext context, CancellationToken cancellationToken)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(input.Ms), context.Time, cancellationToken);
        return ActivityResult.Success(new JsonObject { ["slept_ms"] = input.Ms });
    }
}
