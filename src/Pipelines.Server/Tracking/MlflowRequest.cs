using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Pipelines.Tracking.Client;
using Pipelines.Tracking.Model;

namespace Pipelines.Server.Tracking;

/// <summary>
/// A request's parameters as MLflow's server reads them: from the JSON body for POST/PATCH/DELETE when there is
/// one, from the query string otherwise. Type errors are INVALID_PARAMETER_VALUE, as proto parsing reports them.
/// </summary>
internal sealed class MlflowRequest
{
    private const int MaxJsonBytes = 16 << 20;
    private readonly JsonElement? _body;
    private readonly IQueryCollection _query;

    private MlflowRequest(JsonElement? body, IQueryCollection query, int bodyLength)
    {
        _body = body;
        _query = query;
        BodyLength = bodyLength;
    }

    public int BodyLength { get; }

    public static async Task<MlflowRequest> ReadAsync(HttpContext ctx)
    {
        JsonElement? body = null;
        var length = 0;
        if (!HttpMethods.IsGet(ctx.Request.Method))
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[1 << 16];
            int n;
            while ((n = await ctx.Request.Body.ReadAsync(chunk, ctx.RequestAborted)) > 0)
            {
                buffer.Write(chunk, 0, n);
                if (buffer.Length > MaxJsonBytes) throw Validation.Invalid($"Request body exceeds {MaxJsonBytes} bytes.");
            }
            length = (int)buffer.Length;
            if (length > 0)
            {
                try
                {
                    using var doc = JsonDocument.Parse(buffer.ToArray());
                    if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException("expected a JSON object");
                    body = doc.RootElement.Clone();
                }
                catch (JsonException e)
                {
                    throw MlflowException.Create(MlflowErrorCodes.MalformedRequest, $"Malformed JSON request body: {e.Message}");
                }
            }
        }
        return new MlflowRequest(body, ctx.Request.Query, length);
    }

    private JsonElement? Field(string name) =>
        _body is { } b && b.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public string? String(string name)
    {
        if (Field(name) is { } v)
            return v.ValueKind switch
            {
                JsonValueKind.String => v.GetString(),
                JsonValueKind.Number => v.GetRawText(),
                JsonValueKind.True or JsonValueKind.False => v.GetRawText(),
                _ => throw Validation.Invalid($"Invalid value {v.GetRawText()} for parameter '{name}' supplied. Hint: Value was of type '{v.ValueKind.ToString().ToLowerInvariant()}'. See the API docs for more information about request parameters."),
            };
        return _query.TryGetValue(name, out var q) && q.Count > 0 ? q[^1] : null;
    }

    public string Required(string name) => Validation.Required(String(name), name);

    public long? Long(string name)
    {
        var s = String(name);
        if (s is null) return null;
        return long.TryParse(s, out var v) ? v : throw Validation.Invalid($"Invalid value \"{s}\" for parameter '{name}' supplied. Hint: Value was of type 'string'. See the API docs for more information about request parameters.");
    }

    public double? Double(string name)
    {
        if (Field(name) is { } v)
        {
            if (v.ValueKind == JsonValueKind.Number) return v.GetDouble();
            if (v.ValueKind == JsonValueKind.String && double.TryParse(v.GetString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d)) return d;
            throw Validation.Invalid($"Invalid value {v.GetRawText()} for parameter '{name}' supplied. See the API docs for more information about request parameters.");
        }
        var s = String(name);
        return s is null ? null : double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var q) ? q
            : throw Validation.Invalid($"Invalid value \"{s}\" for parameter '{name}' supplied.");
    }

    public IReadOnlyList<string> Strings(string name)
    {
        if (Field(name) is { } v)
            return v.ValueKind == JsonValueKind.Array
                ? v.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText()).ToList()
                : [String(name)!];
        return _query.TryGetValue(name, out var q) ? q.Where(s => s is not null).Select(s => s!).ToList() : [];
    }

    public IReadOnlyList<T> List<T>(string name)
    {
        if (Field(name) is not { } v) return [];
        try
        {
            return v.Deserialize<List<T>>(MlflowJson.Options) ?? [];
        }
        catch (JsonException e)
        {
            throw Validation.Invalid($"Invalid value for parameter '{name}' supplied: {e.Message}");
        }
    }

    public IReadOnlyList<Tag> Tags(string name = "tags") => List<KeyValue>(name).Select(t =>
        new Tag(t.Key ?? throw Validation.Missing("key"), t.Value ?? "")).ToList();

    private sealed record KeyValue(string? Key, string? Value);
}
