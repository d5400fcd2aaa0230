using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Pipelines.Core.Definitions;

/// <summary>
/// YAML scalars to JSON values with the YAML 1.2 core schema: only plain (unquoted) scalars are typed, so
/// <c>"true"</c> stays a string while <c>true</c> is a boolean, and <c>01</c> or <c>yes</c> are not YAML 1.1 surprises.
/// </summary>
internal static partial class YamlValues
{
    private const string StrTag = "tag:yaml.org,2002:str";

    [GeneratedRegex("^(?:null|Null|NULL|~|)$")] private static partial Regex Null();
    [GeneratedRegex("^(?:true|True|TRUE)$")] private static partial Regex True();
    [GeneratedRegex("^(?:false|False|FALSE)$")] private static partial Regex False();
    [GeneratedRegex("^[-+]?[0-9]+$")] private static partial Regex Decimal();
    [GeneratedRegex("^0o[0-7]+$")] private static partial Regex Octal();
    [GeneratedRegex("^0x[0-9a-fA-F]+$")] private static partial Regex Hex();
    [GeneratedRegex(@"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")] private static partial Regex Float();
    [GeneratedRegex(@"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")] private static partial Regex Special();

    public static bool IsTypedPlain(YamlScalarNode node) =>
        node.Style is ScalarStyle.Plain or ScalarStyle.Any && (node.Tag.IsEmpty || node.Tag.Value != StrTag);

    public static bool IsNull(YamlNode node) => node is YamlScalarNode s && IsTypedPlain(s) && Null().IsMatch(s.Value ?? "");

    /// <summary>Converts a scalar; <paramref name="error"/> is set for values JSON cannot hold (.inf, .nan).</summary>
    public static JsonNode? Scalar(YamlScalarNode node, out string? error)
    {
        error = null;
        var text = node.Value ?? "";
        if (!IsTypedPlain(node)) return JsonValue.Create(text);
        if (Null().IsMatch(text)) return null;
        if (True().IsMatch(text)) return JsonValue.Create(true);
        if (False().IsMatch(text)) return JsonValue.Create(false);
        if (Decimal().IsMatch(text))
            return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)
                ? JsonValue.Create(l)
                : JsonValue.Create(double.Parse(text, CultureInfo.InvariantCulture));
        if (Octal().IsMatch(text) && TryBase(text[2..], 8, out var o)) return JsonValue.Create(o);
        if (Hex().IsMatch(text) && long.TryParse(text[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var h)) return JsonValue.Create(h);
        if (Float().IsMatch(text)) return JsonValue.Create(double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture));
        if (Special().IsMatch(text)) { error = $"'{text}' is not a number JSON can represent"; return null; }
        return JsonValue.Create(text);
    }

    private static bool TryBase(string digits, int radix, out long value)
    {
        try { value = Convert.ToInt64(digits, radix); return value >= 0; }
        catch (OverflowException) { value = 0; return false; }
    }
}
