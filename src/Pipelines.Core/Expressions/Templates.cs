using System.Text.Json.Nodes;

namespace Pipelines.Core.Expressions;

/// <summary>Values as written in a workflow: JSON whose strings may hold <c>${{ … }}</c> expressions.</summary>
public static class Templates
{
    /// <summary>
    /// Evaluates every expression in <paramref name="template"/>. A string that is exactly one expression
    /// yields the expression's typed value; a string with text around expressions yields a string.
    /// </summary>
    public static JsonNode? Resolve(JsonNode? template, ExpressionContext context) => throw new NotImplementedException();

    /// <summary>Every expression in the template with the JSON path where it occurs (e.g. "with.message").</summary>
    public static IEnumerable<(string Path, Expression Expression)> FindExpressions(JsonNode? template, string basePath) => throw new NotImplementedException();

    /// <summary>Truthiness for <c>if</c>: false, null, 0, "" and empty arrays are false.</summary>
    public static bool IsTruthy(JsonNode? value) => throw new NotImplementedException();
}
