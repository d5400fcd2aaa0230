using System.Text.Json.Nodes;

namespace Pipelines.Core.Expressions;

/// <summary>
/// A parsed <c>${{ … }}</c> expression: literals, <c>params.x</c>, <c>steps.a.outputs.y</c>, <c>item</c>,
/// member and index access, comparison, boolean and arithmetic operators.
/// </summary>
public sealed class Expression
{
    public string Text { get; }
    public IReadOnlyCollection<string> ReferencedSteps { get; }
    public IReadOnlyCollection<string> ReferencedParams { get; }

    private Expression(string text) { Text = text; throw new NotImplementedException(); }

    public static Expression Parse(string text) => throw new NotImplementedException();

    public JsonNode? Evaluate(ExpressionContext context) => throw new NotImplementedException();
}
