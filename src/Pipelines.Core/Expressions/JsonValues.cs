using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipelines.Core.Activities;

namespace Pipelines.Core.Expressions;

/// <summary>A JSON number kept exact when it is an integer.</summary>
internal readonly record struct Number(bool IsInteger, long Integer, double Double)
{
    public double AsDouble => IsInteger ? Integer : Double;

    public static Number Of(long l) => new(true, l, l);
    public static Number Of(double d) => new(false, 0, d);

    public JsonNode ToNode() => IsInteger ? JsonValue.Create(Integer) : JsonValue.Create(Double);
}

/// <summary>Helpers to read JSON values the way expressions see them.</summary>
internal static class JsonValues
{
    public static bool TryString(JsonNode? node, out string value)
    {
        value = "";
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String) { value = v.GetValue<string>(); return true; }
        return false;
    }

    public static bool TryBoolean(JsonNode? node, out bool value)
    {
        value = false;
        if (node is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False) { value = v.GetValue<bool>(); return true; }
        return false;
    }

    public static bool TryNumber(JsonNode? node, out Number number)
    {
        number = default;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) return false;
        if (v.TryGetValue<long>(out var l)) number = Number.Of(l);
        else if (v.TryGetValue<int>(out var i)) number = Number.Of(i);
        else if (v.TryGetValue<double>(out var d)) number = Number.Of(d);
        else if (v.TryGetValue<decimal>(out var m)) number = Number.Of((double)m);
        else if (v.TryGetValue<float>(out var f)) number = Number.Of(f);
        else return false;
        return true;
    }

    /// <summary>The JSON Schema type name, as used in error messages.</summary>
    public static string TypeName(JsonNode? node) => JsonSchemaTypes.TypeOf(node);

    /// <summary>How a value reads inside an interpolated string: strings raw, null empty, the rest as JSON.</summary>
    public static string ToDisplayString(JsonNode? node)
    {
        if (node is null) return "";
        if (TryString(node, out var s)) return s;
        if (TryNumber(node, out var n))
            return n.IsInteger ? n.Integer.ToString(CultureInfo.InvariantCulture) : n.Double.ToString("R", CultureInfo.InvariantCulture);
        return node.ToJsonString();
    }

    /// <summary>Structural equality; numbers compare by value so 1 == 1.0.</summary>
    public static bool DeepEquals(JsonNode? a, JsonNode? b)
    {
        if (TryNumber(a, out var x) && TryNumber(b, out var y))
            return x.IsInteger && y.IsInteger ? x.Integer == y.Integer : x.AsDouble == y.AsDouble;
        return JsonNode.DeepEquals(a, b);
    }
}
