using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Pipelines.Core.Activities;
using Pipelines.Core.Expressions;

namespace Pipelines.Core.Definitions;

/// <summary>The checks a parameter value must pass; shared by the validator (defaults) and the binder (given values).</summary>
internal static class ParameterConstraints
{
    /// <summary>What is wrong with <paramref name="value"/> for <paramref name="parameter"/>; empty when it is acceptable. Null is not checked here.</summary>
    public static IEnumerable<string> Violations(ParameterDefinition parameter, JsonNode? value)
    {
        if (value is null) yield break;
        var declared = ParameterTypes.Name(parameter.Type);
        var actual = JsonSchemaTypes.TypeOf(value);
        if (!JsonSchemaTypes.IsAssignable(actual, declared))
        {
            yield return $"expected {declared}, got {actual} {Show(value)}";
            yield break;
        }
        if (parameter.Allowed is { Count: > 0 } allowed && !allowed.Any(a => JsonValues.DeepEquals(a, value)))
            yield return $"must be one of {string.Join(", ", allowed.Select(Show))}; got {Show(value)}";
        if (JsonValues.TryNumber(value, out var n))
        {
            if (parameter.Minimum is { } min && n.AsDouble < min) yield return $"must be at least {min}; got {Show(value)}";
            if (parameter.Maximum is { } max && n.AsDouble > max) yield return $"must be at most {max}; got {Show(value)}";
        }
        if (parameter.Pattern is { } pattern && JsonValues.TryString(value, out var s) && TryRegex(pattern) is { } regex && !regex.IsMatch(s))
            yield return $"must match pattern '{pattern}'; got {Show(value)}";
    }

    /// <summary>The compiled pattern, or null when it is not a valid .NET regular expression.</summary>
    public static Regex? TryRegex(string pattern)
    {
        try { return new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)); }
        catch (ArgumentException) { return null; }
    }

    public static string Show(JsonNode? value) => value?.ToJsonString() ?? "null";
}
