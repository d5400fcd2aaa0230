using System.Text.Json.Nodes;

namespace Pipelines.Core.Expressions;

/// <summary>The names an expression can see: <c>params</c>, <c>steps.&lt;id&gt;.outputs</c>, <c>item</c>, <c>index</c>, <c>run</c>, <c>event</c>.</summary>
public sealed class ExpressionContext
{
    public JsonObject Params { get; init; } = new();
    /// <summary>Outputs of finished steps, by step id.</summary>
    public IReadOnlyDictionary<string, JsonObject> StepOutputs { get; init; } = new Dictionary<string, JsonObject>();
    public JsonNode? Item { get; init; }
    public int? Index { get; init; }
    /// <summary>Run facts such as <c>run.id</c> and <c>run.scheduled_at</c>.</summary>
    public JsonObject Run { get; init; } = new();
    /// <summary>The facts of the event that starts a run, e.g. <c>event.path</c>; only in the params of a trigger (<c>on:</c>).</summary>
    public JsonObject? Event { get; init; }
}

public sealed class ExpressionException(string message, string expression, int position)
    : Exception($"{message} at position {position + 1} in '{expression}'")
{
    public string Expression { get; } = expression;
    public int Position { get; } = position;
}
