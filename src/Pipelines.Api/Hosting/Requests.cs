using System.Text.Json;

namespace Pipelines.Api.Hosting;

/// <summary>Reading request bodies and query parameters with errors that name the field at fault.</summary>
public static class Requests
{
    public const int MaxBody = 1 << 20;

    /// <summary>The body as a JSON object, or a 400 problem saying what is wrong with it (and where).</summary>
    public static async Task<(JsonObject? Body, IResult? Error)> ReadObjectAsync(HttpContext context)
    {
        if (context.Request.ContentLength > MaxBody)
            return (null, Problems.Field("body", $"larger than {MaxBody} bytes", StatusCodes.Status413PayloadTooLarge));
        try
        {
            var node = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            return node is JsonObject o ? (o, null) : (null, Problems.Field("body", "expected a JSON object"));
        }
        catch (JsonException e)
        {
            return (null, Problems.Field("body", $"not valid JSON at line {(e.LineNumber ?? 0) + 1}, byte {(e.BytePositionInLine ?? 0) + 1}"));
        }
    }

    /// <summary>A string member; null when absent (then <paramref name="required"/> makes it an error).</summary>
    public static bool String(JsonObject body, string name, bool required, out string? value, out IResult? error)
    {
        value = null;
        error = null;
        var node = body[name];
        if (node is null)
        {
            if (required) error = Problems.Field(name, "required");
            return error is null;
        }
        if (node is JsonValue v && v.TryGetValue<string>(out var s))
        {
            value = s;
            return true;
        }
        error = Problems.Field(name, "expected a string");
        return false;
    }

    public static bool Bool(JsonObject body, string name, out bool value, out IResult? error)
    {
        value = false;
        error = null;
        if (body[name] is JsonValue v && v.TryGetValue<bool>(out var b))
        {
            value = b;
            return true;
        }
        error = Problems.Field(name, body[name] is null ? "required" : "expected true or false");
        return false;
    }

    /// <summary><c>limit</c> between 1 and <paramref name="max"/> (default <paramref name="fallback"/>).</summary>
    public static bool Limit(HttpContext context, out int limit, out IResult? error, int fallback = 50, int max = 500)
    {
        error = null;
        limit = fallback;
        var text = context.Request.Query["limit"].ToString();
        if (text.Length == 0) return true;
        if (int.TryParse(text, out limit) && limit >= 1 && limit <= max) return true;
        error = Problems.Field("limit", $"expected a whole number from 1 to {max}, got '{Clip(text)}'");
        return false;
    }

    public static string Clip(string text) => text.Length <= 80 ? text : text[..80] + "…";
}
