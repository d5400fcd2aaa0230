namespace Pipelines.Activities.Builtin;

public sealed record RangeInput(long Count, long Start) : IActivityInput<RangeInput>
{
    public static JsonObject Schema { get; } = SchemaBuilder.Object()
        .Required("count", SchemaBuilder.Integer("How many items."))
        .Optional("start", SchemaBuilder.Integer("First item (default 0)."))
        .Build();

    public static RangeInput Bind(ActivityInputs inputs) => new(inputs.Integer("count"), inputs.Integer("start", 0));
}

public sealed class RangeActivity : Activity<RangeInput>, IActivityDefinition<RangeInput>
{
    public static ActivityInfo Info { get; } = new("range", "1", "Outputs the list [start, start+1, …, start+count-1]; feeds for_each fan-outs.");

    public static JsonObject Outputs { get; } = SchemaBuilder.Object().Required("items", SchemaBuilder.Array(SchemaBuilder.Integer())).Build();

    public static IActivity Create(IServiceProvider? services) => new RangeActivity();

    protected override Task<ActivityResult> ExecuteAsync(RangeInput input, ActivityContext context, CancellationToken cancellationToken)
    {
        var (count, start) = (input.Count, input.Start);
        if (count is < 0 or > 1_000_000) throw new ActivityException($"input 'count' must be between 0 and 1000000, got {count}", retryable: false);
        var items = new JsonArray();
        for (long i = 0; i < count; i++) items.Add(start + i);
        return Task.FromResult(ActivityResult.Success(new JsonObject { ["items"] = items }));
    }
}
