using Pipelines.Core.Activities;
using Pipelines.Core.Definitions;

namespace Pipelines.Core.Validation;

/// <summary>A parameter's own spec must be consistent: its default and enum values obey its type and constraints.</summary>
internal static class ParameterRules
{
    public static void Check(WorkflowDefinition definition, List<ValidationError> errors)
    {
        foreach (var p in definition.Parameters)
        {
            void Error(string key, string message) =>
                errors.Add(new ValidationError(p.LocationOf(key), $"parameters.{p.Name}.{key}", message));

            var type = ParameterTypes.Name(p.Type);
            if (p.Pattern is { } pattern)
            {
                if (ParameterConstraints.TryRegex(pattern) is null) Error("pattern", $"invalid regular expression '{pattern}'");
                if (p.Type != ParameterType.String) Error("pattern", $"pattern applies to strings, but the parameter is {type}");
            }
            if (p.Type is not (ParameterType.Integer or ParameterType.Number))
            {
                if (p.Minimum is not null) Error("minimum", $"minimum applies to numbers, but the parameter is {type}");
                if (p.Maximum is not null) Error("maximum", $"maximum applies to numbers, but the parameter is {type}");
            }
            if (p.Minimum > p.Maximum) Error("minimum", $"minimum {p.Minimum} is greater than maximum {p.Maximum}");
            for (var i = 0; i < (p.Allowed?.Count ?? 0); i++)
            {
                var actual = JsonSchemaTypes.TypeOf(p.Allowed![i]);
                if (!JsonSchemaTypes.IsAssignable(actual, type))
                    Error($"enum[{i}]", $"enum value {ParameterConstraints.Show(p.Allowed[i])} is {actual}, but the parameter is {type}");
            }
            foreach (var violation in ParameterConstraints.Violations(p, p.Default))
                Error("default", $"default {violation}");
        }
    }
}
