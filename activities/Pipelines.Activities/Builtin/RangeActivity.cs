using System.Text.Json.Nodes;
using Pipelines.Core.Activities;

namespace Pipelines.Activities.Builtin;

[Activity("range", "1", "Outputs the list [start, start+1, …, start+count-1]; feeds for_each fan-outs.")]
public sealed class RangeActivity : IActivity
{
    public static ActivitySchema Schema { get; } = new(
        SchemaBuilder.Object()
            .Required("count", SchemaBuilder.Integer("How many items."))
            .Optional("start", SchemaBuilder.Integer("First item (default 0)."))
            .Build(),
        SchemaBuilder.Object().Required("items", SchemaBuilder.Array(SchemaBuilder.Integer())).Build());

    public Task<ActivityResult> ExecuteAsync(ActivityContext context, CancellationToken cancellationToken)
    {
        var count = context.Inputs["count"]!.GetValue<long>();
        var start = context.Inputs["start"]?.GetValue<long>() ?? 0;
        if (count is < 0 or > 1_000_000) throw new ActivityException($"input 'count' must be between 0 and 1000000, got {count}", retryable: false);
        var items = new JsonArray();
        for (long i = 0; i < count; i++) items.Add(start + i);
        return Task.FromResult(ActivityResult.Success(new JsonObject { ["items"] = items }));
    }
}
