using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipelines.Core.Activities;
using Pipelines.Core.Expressions;
using Pipelines.Core.Validation;

namespace Pipelines.Core.Definitions;

/// <summary>Turns <c>--param k=v</c> strings (or JSON values from a schedule or API) into typed parameters.</summary>
/// <remarks>
/// Every declared parameter is present in the result: its value, else its default, else null. Errors carry the key
/// <c>params.NAME</c> and the location "--param" (strings) or "parameters" (JSON), since they are not in the file.
/// </remarks>
public static class ParameterBinder
{
    /// <summary>Applies defaults, converts to declared types and checks constraints.</summary>
    /// <exception cref="WorkflowValidationException">a value is missing, unknown, of the wrong type or out of range; the error names the parameter.</exception>
    public static JsonObject Bind(WorkflowDefinition definition, IReadOnlyDictionary<string, string> raw)
    {
        var errors = new List<ValidationError>();
        var source = SourceLocation.None("--param");
        var values = new JsonObject();
        foreach (var (name, text) in raw)
        {
            var parameter = definition.Parameters.FirstOrDefault(p => p.Name == name);
            if (parameter is null) continue; // reported by Complete
            var (value, error) = Convert(parameter, text);
            if (error is not null)
                errors.Add(new ValidationError(source, $"params.{name}", error));
            else
                values[name] = value;
        }
        var unknown = raw.Keys.Where(k => definition.Parameters.All(p => p.Name != k));
        return Complete(definition, values, unknown, source, errors);
    }

    public static JsonObject Bind(WorkflowDefinition definition, JsonObject values)
    {
        var errors = new List<ValidationError>();
        var source = SourceLocation.None("parameters");
        var typed = new JsonObject();
        foreach (var (name, value) in values)
        {
            var parameter = definition.Parameters.FirstOrDefault(p => p.Name == name);
            if (parameter is null) continue;
            var actual = JsonSchemaTypes.TypeOf(value);
            var declared = ParameterTypes.Name(parameter.Type);
            if (value is not null && !JsonSchemaTypes.IsAssignable(actual, declared))
                errors.Add(new ValidationError(source, $"params.{name}", $"expected {declared}, got {actual} {ParameterConstraints.Show(value)}"));
            else
                typed[name] = Canonical(parameter, value);
        }
        var unknown = values.Select(p => p.Key).Where(k => definition.Parameters.All(p => p.Name != k));
        return Complete(definition, typed, unknown, source, errors);
    }

    /// <summary>Reports unknown names, fills defaults, checks required parameters and constraints, then throws if anything failed.</summary>
    private static JsonObject Complete(WorkflowDefinition definition, JsonObject values, IEnumerable<string> unknown, SourceLocation source, List<ValidationError> errors)
    {
        var declared = string.Join(", ", definition.Parameters.Select(p => p.Name));
        foreach (var name in unknown)
            errors.Add(new ValidationError(source, $"params.{name}",
                $"unknown parameter '{name}'; " + (declared.Length == 0 ? $"workflow '{definition.Name}' declares no parameters" : $"declared: {declared}")));

        var result = new JsonObject();
        foreach (var p in definition.Parameters)
        {
            var failed = errors.Any(e => e.Key == $"params.{p.Name}");
            var value = values.TryGetPropertyValue(p.Name, out var given) && given is not null ? given.DeepClone() : p.Default?.DeepClone();
            if (value is null && p.Required && !failed)
                errors.Add(new ValidationError(source, $"params.{p.Name}", $"missing required parameter '{p.Name}' ({ParameterTypes.Name(p.Type)})"));
            if (!failed)
                foreach (var violation in ParameterConstraints.Violations(p, value))
                    errors.Add(new ValidationError(source, $"params.{p.Name}", violation));
            result[p.Name] = value;
        }
        if (errors.Count > 0) throw new WorkflowValidationException(errors);
        return result;
    }

    private static (JsonNode? Value, string? Error) Convert(ParameterDefinition p, string text)
    {
        switch (p.Type)
        {
            case ParameterType.String:
                return (JsonValue.Create(text), null);
            case ParameterType.Integer:
                return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)
                    ? (JsonValue.Create(l), null)
                    : (null, $"expected an integer, got '{text}'");
            case ParameterType.Number:
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
                    ? (JsonValue.Create(d), null)
                    : (null, $"expected a number, got '{text}'");
            case ParameterType.Boolean:
                return text switch
                {
                    "true" => (JsonValue.Create(true), null),
                    "false" => (JsonValue.Create(false), null),
                    _ => (null, $"expected true or false, got '{text}'"),
                };
            default:
                var kind = ParameterTypes.Name(p.Type);
                try
                {
                    var node = JsonNode.Parse(text);
                    return JsonSchemaTypes.TypeOf(node) == kind ? (node, null) : (null, $"expected a JSON {kind}, got {JsonSchemaTypes.TypeOf(node)} '{text}'");
                }
                catch (JsonException e)
                {
                    return (null, $"expected a JSON {kind}, got '{text}' ({e.Message})");
                }
        }
    }

    // Integers given as whole doubles (e.g. 3.0 from a JSON API) are stored as integers so activities can read them as such.
    private static JsonNode? Canonical(ParameterDefinition p, JsonNode? value) =>
        p.Type == ParameterType.Integer && JsonValues.TryNumber(value, out var n) && !n.IsInteger ? JsonValue.Create((long)n.Double) : value?.DeepClone();
}
