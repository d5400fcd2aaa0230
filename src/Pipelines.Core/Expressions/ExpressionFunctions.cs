using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pipelines.Core.Expressions;

/// <summary>The built-in functions. Arguments arrive evaluated; errors point at the call.</summary>
internal static class ExpressionFunctions
{
    private sealed record Function(int Min, int Max, string ResultType, Func<JsonNode?[], Func<string, Exception>, JsonNode?> Invoke);

    private static readonly Dictionary<string, Function> Functions = new(StringComparer.Ordinal)
    {
        ["length"] = new(1, 1, "integer", Length),
        ["contains"] = new(2, 2, "boolean", Contains),
        ["startsWith"] = new(2, 2, "boolean", (a, err) => JsonValue.Create(Str(a[0], "startsWith", err).StartsWith(Str(a[1], "startsWith", err), StringComparison.Ordinal))),
        ["endsWith"] = new(2, 2, "boolean", (a, err) => JsonValue.Create(Str(a[0], "endsWith", err).EndsWith(Str(a[1], "endsWith", err), StringComparison.Ordinal))),
        ["format"] = new(1, int.MaxValue, "string", Format),
        ["join"] = new(1, 2, "string", Join),
        ["toJson"] = new(1, 1, "string", (a, _) => JsonValue.Create(a[0]?.ToJsonString() ?? "null")),
        ["fromJson"] = new(1, 1, "any", FromJson),
    };

    public static IEnumerable<string> Names => Functions.Keys;

    public static bool TryGetArity(string name, out int min, out int max)
    {
        var found = Functions.TryGetValue(name, out var f);
        (min, max) = found ? (f!.Min, f.Max) : (0, 0);
        return found;
    }

    /// <summary>The JSON Schema type a function returns, or null when it depends on the data.</summary>
    public static string? ResultType(string name) => Functions[name].ResultType is var t && t == "any" ? null : t;

    public static JsonNode? Invoke(string name, JsonNode?[] args, Func<string, Exception> error) => Functions[name].Invoke(args, error);

    private static string Str(JsonNode? node, string function, Func<string, Exception> error) =>
        JsonValues.TryString(node, out var s) ? s : throw error($"{function}() expects a string, got {JsonValues.TypeName(node)}");

    private static JsonNode? Length(JsonNode?[] a, Func<string, Exception> error) => a[0] switch
    {
        JsonArray arr => JsonValue.Create((long)arr.Count),
        JsonObject obj => JsonValue.Create((long)obj.Count),
        var n when JsonValues.TryString(n, out var s) => JsonValue.Create((long)s.Length),
        var n => throw error($"length() expects a string, array or object, got {JsonValues.TypeName(n)}"),
    };

    private static JsonNode? Contains(JsonNode?[] a, Func<string, Exception> error) => a[0] switch
    {
        JsonArray arr => JsonValue.Create(arr.Any(e => JsonValues.DeepEquals(e, a[1]))),
        var n when JsonValues.TryString(n, out var s) => JsonValue.Create(s.Contains(JsonValues.ToDisplayString(a[1]), StringComparison.Ordinal)),
        var n => throw error($"contains() expects a string or array, got {JsonValues.TypeName(n)}"),
    };

    // format('{0}-{1}', a, b); '{{' and '}}' are literal braces.
    private static JsonNode? Format(JsonNode?[] a, Func<string, Exception> error)
    {
        var fmt = Str(a[0], "format", error);
        var sb = new StringBuilder();
        for (var i = 0; i < fmt.Length; i++)
        {
            var c = fmt[i];
            if (c == '{' && i + 1 < fmt.Length && fmt[i + 1] == '{') { sb.Append('{'); i++; continue; }
            if (c == '}' && i + 1 < fmt.Length && fmt[i + 1] == '}') { sb.Append('}'); i++; continue; }
            if (c == '{')
            {
                var close = fmt.IndexOf('}', i);
                if (close < 0 || !int.TryParse(fmt.AsSpan(i + 1, close - i - 1), out var n) || n < 0)
                    throw error($"format() has a malformed placeholder at offset {i} in '{fmt}'");
                if (n + 1 >= a.Length) throw error($"format() placeholder {{{n}}} has no argument");
                sb.Append(JsonValues.ToDisplayString(a[n + 1]));
                i = close;
                continue;
            }
            if (c == '}') throw error($"format() has an unmatched '}}' at offset {i} in '{fmt}'");
            sb.Append(c);
        }
        return JsonValue.Create(sb.ToString());
    }

    private static JsonNode? Join(JsonNode?[] a, Func<string, Exception> error)
    {
        if (a[0] is not JsonArray arr) throw error($"join() expects an array, got {JsonValues.TypeName(a[0])}");
        var sep = a.Length > 1 ? Str(a[1], "join", error) : ",";
        return JsonValue.Create(string.Join(sep, arr.Select(JsonValues.ToDisplayString)));
    }

    private static JsonNode? FromJson(JsonNode?[] a, Func<string, Exception> error)
    {
        var s = Str(a[0], "fromJson", error);
        try { return JsonNode.Parse(s); }
        catch (JsonException e) { throw error($"fromJson() got invalid JSON: {e.Message}"); }
    }
}
