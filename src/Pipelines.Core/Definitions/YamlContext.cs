using System.Text.Json.Nodes;
using Pipelines.Core.Validation;
using YamlDotNet.RepresentationModel;

namespace Pipelines.Core.Definitions;

/// <summary>
/// Shared state while reading one workflow file: the file name and the errors so far. Readers record an error
/// and carry on, so a user sees every problem in one pass instead of fixing them one at a time.
/// </summary>
internal sealed class YamlContext(string file)
{
    private readonly List<ValidationError> _errors = [];

    public string File { get; } = file;
    public IReadOnlyList<ValidationError> Errors => _errors;

    public SourceLocation Loc(YamlNode node) => new(File, (int)node.Start.Line, (int)node.Start.Column);

    public void Error(YamlNode node, string key, string message) => _errors.Add(new ValidationError(Loc(node), key, message));

    public void Error(SourceLocation location, string key, string message) => _errors.Add(new ValidationError(location, key, message));

    public static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    /// <summary>The entries of a mapping by key; unknown and non-scalar keys are reported, duplicates already failed YAML loading.</summary>
    public Dictionary<string, (YamlScalarNode Key, YamlNode Value)>? Mapping(YamlNode node, string path, IReadOnlyCollection<string> allowed)
    {
        if (node is not YamlMappingNode map)
        {
            Error(node, path, $"expected a mapping with keys {string.Join(", ", allowed)}, got {Describe(node)}");
            return null;
        }
        var entries = new Dictionary<string, (YamlScalarNode, YamlNode)>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
        {
            if (k is not YamlScalarNode key || key.Value is null) { Error(k, path, "keys must be plain strings"); continue; }
            if (!allowed.Contains(key.Value))
            {
                Error(key, Join(path, key.Value), $"unknown key '{key.Value}'; expected one of: {string.Join(", ", allowed)}");
                continue;
            }
            entries[key.Value] = (key, v);
        }
        return entries;
    }

    /// <summary>A scalar's text, whatever its style; null values are reported.</summary>
    public string? String(YamlNode node, string key)
    {
        if (node is YamlScalarNode s && !YamlValues.IsNull(s)) return s.Value ?? "";
        Error(node, key, $"expected a string, got {Describe(node)}");
        return null;
    }

    public long? Integer(YamlNode node, string key)
    {
        var value = Value(node, key, "an integer");
        if (value is JsonValue v && v.TryGetValue<long>(out var l)) return l;
        if (value is not null || YamlValues.IsNull(node)) Error(node, key, $"expected an integer, got {Describe(node)}");
        return null;
    }

    public double? Number(YamlNode node, string key)
    {
        var value = Value(node, key, "a number");
        if (Expressions.JsonValues.TryNumber(value, out var n)) return n.AsDouble;
        if (value is not null || YamlValues.IsNull(node)) Error(node, key, $"expected a number, got {Describe(node)}");
        return null;
    }

    public bool? Boolean(YamlNode node, string key)
    {
        var value = Value(node, key, "a boolean");
        if (value is JsonValue v && v.TryGetValue<bool>(out var b)) return b;
        if (value is not null || YamlValues.IsNull(node)) Error(node, key, $"expected true or false, got {Describe(node)}");
        return null;
    }

    private JsonNode? Value(YamlNode node, string key, string expected)
    {
        if (node is not YamlScalarNode s) { Error(node, key, $"expected {expected}, got {Describe(node)}"); return null; }
        var value = YamlValues.Scalar(s, out var error);
        if (error is not null) Error(node, key, error);
        return value;
    }

    /// <summary>
    /// Converts any node to JSON, recording the location of every nested key under <paramref name="path"/>
    /// (mapping members by key node, sequence items by item node).
    /// </summary>
    public JsonNode? Json(YamlNode node, string path, IDictionary<string, SourceLocation>? locations)
    {
        switch (node)
        {
            case YamlScalarNode s:
                var value = YamlValues.Scalar(s, out var error);
                if (error is not null) Error(node, path, error);
                return value;
            case YamlSequenceNode seq:
                var array = new JsonArray();
                for (var i = 0; i < seq.Children.Count; i++)
                {
                    var itemPath = $"{path}[{i}]";
                    locations?.TryAdd(itemPath, Loc(seq.Children[i]));
                    array.Add(Json(seq.Children[i], itemPath, locations));
                }
                return array;
            case YamlMappingNode map:
                var obj = new JsonObject();
                foreach (var (k, v) in map.Children)
                {
                    if (k is not YamlScalarNode key || key.Value is null) { Error(k, path, "keys must be plain strings"); continue; }
                    var memberPath = Join(path, key.Value);
                    locations?.TryAdd(memberPath, Loc(key));
                    obj[key.Value] = Json(v, memberPath, locations);
                }
                return obj;
            default:
                Error(node, path, $"unsupported YAML node {Describe(node)}");
                return null;
        }
    }

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a sequence",
        YamlScalarNode s when YamlValues.IsNull(s) => "null",
        YamlScalarNode s => $"'{s.Value}'",
        _ => node.NodeType.ToString(),
    };
}
