using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Pipelines.Core.Definitions;

/// <summary>Reads the <c>parameters</c> mapping.</summary>
internal static partial class ParameterReader
{
    public static readonly string[] Keys = ["type", "default", "required", "description", "enum", "minimum", "maximum", "pattern"];

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_-]*$")]
    private static partial Regex NamePattern();

    public static List<ParameterDefinition> Read(YamlContext ctx, YamlNode node)
    {
        var result = new List<ParameterDefinition>();
        if (node is not YamlMappingNode map)
        {
            ctx.Error(node, "parameters", $"expected a mapping of parameter names to specs, got {YamlContext.Describe(node)}");
            return result;
        }
        foreach (var (k, v) in map.Children)
        {
            if (k is not YamlScalarNode key || key.Value is null) { ctx.Error(k, "parameters", "parameter names must be plain strings"); continue; }
            var name = key.Value;
            var path = $"parameters.{name}";
            if (!NamePattern().IsMatch(name))
                ctx.Error(key, path, $"invalid parameter name '{name}'; use letters, digits, '_' and '-', starting with a letter or '_'");
            var p = ReadOne(ctx, name, path, key, v);
            if (p is not null) result.Add(p);
        }
        return result;
    }

    private static ParameterDefinition? ReadOne(YamlContext ctx, string name, string path, YamlScalarNode key, YamlNode node)
    {
        var e = ctx.Mapping(node, path, Keys);
        if (e is null) return null;
        var locations = e.ToDictionary(p => p.Key, p => ctx.Loc(p.Value.Key));

        ParameterType? type = null;
        if (!e.TryGetValue("type", out var typeNode))
            ctx.Error(key, $"{path}.type", "missing key 'type'; one of: string, integer, number, boolean, array, object");
        else if (ctx.String(typeNode.Value, $"{path}.type") is { } t)
        {
            if (ParameterTypes.TryParse(t, out var parsed)) type = parsed;
            else ctx.Error(typeNode.Value, $"{path}.type", $"unknown type '{t}'; one of: string, integer, number, boolean, array, object");
        }

        var defaultValue = e.TryGetValue("default", out var d) ? ctx.Json(d.Value, $"{path}.default", null) : null;
        // Without an explicit `required`, a parameter is required exactly when it has no default.
        var required = defaultValue is null;
        if (e.TryGetValue("required", out var r))
        {
            required = ctx.Boolean(r.Value, $"{path}.required") ?? required;
            if (required && defaultValue is not null) ctx.Error(r.Key, $"{path}.required", "a parameter with a default cannot be required");
        }
        var description = e.TryGetValue("description", out var desc) ? ctx.String(desc.Value, $"{path}.description") : null;
        var minimum = e.TryGetValue("minimum", out var min) ? ctx.Number(min.Value, $"{path}.minimum") : null;
        var maximum = e.TryGetValue("maximum", out var max) ? ctx.Number(max.Value, $"{path}.maximum") : null;
        var pattern = e.TryGetValue("pattern", out var pat) ? ctx.String(pat.Value, $"{path}.pattern") : null;
        List<JsonNode?>? allowed = null;
        if (e.TryGetValue("enum", out var en))
        {
            if (en.Value is YamlSequenceNode seq && seq.Children.Count > 0)
            {
                allowed = [];
                for (var i = 0; i < seq.Children.Count; i++)
                {
                    locations[$"enum[{i}]"] = ctx.Loc(seq.Children[i]);
                    allowed.Add(ctx.Json(seq.Children[i], $"{path}.enum[{i}]", null));
                }
            }
            else ctx.Error(en.Value, $"{path}.enum", $"expected a non-empty sequence of allowed values, got {YamlContext.Describe(en.Value)}");
        }
        if (type is null) return null;
        return new ParameterDefinition(name, type.Value, defaultValue, required, description, minimum, maximum, allowed, pattern, ctx.Loc(key))
        {
            KeyLocations = locations,
        };
    }
}
