using System.Text.Json.Nodes;

namespace Pipelines.Core.Expressions;

/// <summary>Values as written in a workflow: JSON whose strings may hold <c>${{ … }}</c> expressions.</summary>
public static class Templates
{
    /// <summary>
    /// Evaluates every expression in <paramref name="template"/>. A string that is exactly one expression
    /// yields the expression's typed value; a string with text around expressions yields a string.
    /// </summary>
    public static JsonNode? Resolve(JsonNode? template, ExpressionContext context) => template switch
    {
        null => null,
        JsonObject obj => new JsonObject(obj.Select(p => KeyValuePair.Create(p.Key, Resolve(p.Value, context)))),
        JsonArray arr => new JsonArray(arr.Select(e => Resolve(e, context)).ToArray()),
        JsonValue v when JsonValues.TryString(v, out var s) && TemplateString.MayContainExpressions(s) => TemplateString.Parse(s).Evaluate(context),
        _ => template.DeepClone(),
    };

    /// <summary>Every expression in the template with the JSON path where it occurs (e.g. "with.message").</summary>
    /// <exception cref="ExpressionException">an expression is malformed.</exception>
    public static IEnumerable<(string Path, Expression Expression)> FindExpressions(JsonNode? template, string basePath) =>
        Strings(template, basePath)
            .Where(s => TemplateString.MayContainExpressions(s.Value))
            .SelectMany(s => TemplateString.Parse(s.Value).Expressions.Select(e => (s.Path, e)));

    /// <summary>
    /// Evaluates a step's <c>if</c>, written either as <c>${{ … }}</c> or as a bare expression, and applies <see cref="IsTruthy"/>.
    /// </summary>
    public static bool EvaluateCondition(string condition, ExpressionContext context) =>
        IsTruthy(ParseCondition(condition).Evaluate(context));

    internal static TemplateString ParseCondition(string condition) =>
        TemplateString.Parse(TemplateString.MayContainExpressions(condition) ? condition : "${{ " + condition + " }}");

    /// <summary>Truthiness for <c>if</c>: false, null, 0, "" and empty arrays are false.</summary>
    public static bool IsTruthy(JsonNode? value) => value switch
    {
        null => false,
        JsonArray a => a.Count > 0,
        JsonObject => true,
        _ when JsonValues.TryBoolean(value, out var b) => b,
        _ when JsonValues.TryNumber(value, out var n) => n.AsDouble != 0,
        _ when JsonValues.TryString(value, out var s) => s.Length > 0,
        _ => true,
    };

    /// <summary>Every string leaf with its path; object members as "base.key", array items as "base[i]".</summary>
    internal static IEnumerable<(string Path, string Value)> Strings(JsonNode? node, string path)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                    foreach (var s in Strings(value, $"{path}.{key}"))
                        yield return s;
                break;
            case JsonArray arr:
                for (var i = 0; i < arr.Count; i++)
                    foreach (var s in Strings(arr[i], $"{path}[{i}]"))
                        yield return s;
                break;
            default:
                if (JsonValues.TryString(node, out var str)) yield return (path, str);
                break;
        }
    }
}
