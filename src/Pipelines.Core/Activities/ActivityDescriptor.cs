using System.Text.Json.Nodes;

namespace Pipelines.Core.Activities;

/// <summary>How the engine treats a kind: most execute on a worker; approvals only suspend the run.</summary>
public enum ActivityBehavior { Execute, Approval }

/// <summary>
/// An activity as data: kind, version and JSON Schemas of its inputs and outputs. Validation, the CLI and
/// (later) the designer and the REST API work from descriptors, never from CLR types.
/// </summary>
public sealed record ActivityDescriptor(
    string Kind,
    string Version,
    string Description,
    JsonObject InputSchema,
    JsonObject OutputSchema,
    ActivityBehavior Behavior,
    Func<IServiceProvider?, IActivity>? Factory,
    bool Cacheable = true)
{
    public string Id => $"{Kind}@{Version}";

    public IEnumerable<string> RequiredInputs =>
        InputSchema["required"] is JsonArray req ? req.Select(n => n!.GetValue<string>()) : [];

    public JsonObject? InputProperty(string name) => InputSchema["properties"]?[name] as JsonObject;

    public JsonObject? OutputProperty(string name) => OutputSchema["properties"]?[name] as JsonObject;
}

/// <summary>Small builder for the JSON Schemas activities declare.</summary>
public sealed class SchemaBuilder
{
    private readonly JsonObject _properties = new();
    private readonly JsonArray _required = new();

    public static SchemaBuilder Object() => new();

    public SchemaBuilder Required(string name, JsonObject schema)
    {
        _properties[name] = schema;
        _required.Add(name);
        return this;
    }

    public SchemaBuilder Optional(string name, JsonObject schema)
    {
        _properties[name] = schema;
        return this;
    }

    public JsonObject Build() => new()
    {
        ["type"] = "object",
        ["properties"] = _properties.DeepClone(),
        ["required"] = _required.DeepClone(),
        ["additionalProperties"] = false,
    };

    public static JsonObject String(string? description = null) => Typed("string", description);
    public static JsonObject Integer(string? description = null) => Typed("integer", description);
    public static JsonObject Number(string? description = null) => Typed("number", description);
    public static JsonObject Boolean(string? description = null) => Typed("boolean", description);
    public static JsonObject Array(JsonObject? items = null, string? description = null)
    {
        var s = Typed("array", description);
        if (items is not null) s["items"] = items;
        return s;
    }
    public static JsonObject Any(string? description = null) => description is null ? new JsonObject() : new JsonObject { ["description"] = description };

    private static JsonObject Typed(string type, string? description)
    {
        var o = new JsonObject { ["type"] = type };
        if (description is not null) o["description"] = description;
        return o;
    }
}
