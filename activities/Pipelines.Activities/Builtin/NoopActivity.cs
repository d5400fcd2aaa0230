namespace Pipelines.Activities.Builtin;

public sealed record NoopInput(JsonNode? Value) : IActivityInput<NoopInput>
{
    public static JsonObject Schema { get; } = SchemaBuilder.Object().Optional("value", SchemaBuilder.Any("Passed through to the output.")).Build();

    public static NoopInput Bind(ActivityInputs inputs) => new(inputs.Node("value"));
}

public sealed class NoopActivity : Activity<NoopInput>, IActivityDefinition<NoopInput>
{
    public static ActivityInfo Info { get; } = new("noop", "1", "Does nothing and succeeds; measures the engine's own overhead.");

    public static JsonObject Outputs { get; } = SchemaBuilder.Object().Optional("value", SchemaBuilder.Any()).Build();

    public static IActivity Create(IServiceProvider? services) => new NoopActivity();

    protected override Task<ActivityResult> ExecuteAsync(NoopInput input, ActivityContext context, CancellationToken cancellationToken) =>
        Task.FromResult(ActivityResult.Success(input.Value is { } v ? new() { ["value"] = v.DeepClone() } : new()));
}
