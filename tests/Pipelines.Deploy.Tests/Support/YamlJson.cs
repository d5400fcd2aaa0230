using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Pipelines.Deploy.Tests.Support;

/// <summary>
/// YAML documents as JSON, typed as Kubernetes reads them: plain scalars that look like booleans, integers, floats
/// or null become those; quoted and block scalars stay strings. (Kubernetes converts YAML to JSON the same way
/// before it validates, so a value like <c>replicas: "2"</c> must stay a string here to be caught.)
/// </summary>
public static partial class YamlJson
{
    public static List<JsonObject> LoadAll(string yaml, string source)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(yaml)); }
        catch (YamlException e) { throw new AssertionException($"{source}:{e.Start.Line}:{e.Start.Column}: {e.Message}"); }
        return stream.Documents
            .Select(d => Convert(d.RootNode))
            .OfType<JsonObject>()
            .ToList();
    }

    public static JsonObject Load(string yaml, string source) =>
        LoadAll(yaml, source) is [var single] ? single : throw new AssertionException($"{source}: expected exactly one YAML document");

    private static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode map => Mapping(map),
        YamlSequenceNode seq => new JsonArray(seq.Children.Select(Convert).ToArray()),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new NotSupportedException(node.NodeType.ToString()),
    };

    /// <summary>A mapping, with YAML merge keys (<c>&lt;&lt;: *anchor</c>, as compose files use) resolved: local keys win.</summary>
    private static JsonObject Mapping(YamlMappingNode map)
    {
        var result = new JsonObject();
        foreach (var (key, value) in map.Children)
        {
            if (key is YamlScalarNode { Value: "<<", Style: ScalarStyle.Plain })
            {
                var sources = value is YamlSequenceNode many ? many.Children : [value];
                foreach (var source in sources)
                    foreach (var (k, v) in (JsonObject)Convert(source)!)
                        if (!map.Children.Keys.OfType<YamlScalarNode>().Any(local => local.Value == k) && !result.ContainsKey(k))
                            result[k] = v?.DeepClone();
                continue;
            }
            result[((YamlScalarNode)key).Value ?? ""] = Convert(value);
        }
        return result;
    }

    private static JsonNode? Scalar(YamlScalarNode s)
    {
        var v = s.Value ?? "";
        if (s.Style != ScalarStyle.Plain) return JsonValue.Create(v);
        if (v is "" or "~" or "null" or "Null" or "NULL") return null;
        if (v is "true" or "True" or "TRUE") return JsonValue.Create(true);
        if (v is "false" or "False" or "FALSE") return JsonValue.Create(false);
        if (IntPattern().IsMatch(v) && long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return JsonValue.Create(l);
        if (FloatPattern().IsMatch(v)) return JsonValue.Create(double.Parse(v, CultureInfo.InvariantCulture));
        return JsonValue.Create(v);
    }

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex IntPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();
}
