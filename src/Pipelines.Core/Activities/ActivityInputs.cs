using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pipelines.Core.Activities;

/// <summary>
/// An activity's inputs as one record, declared once: the JSON Schema the validator, the CLI and the API
/// show, and the binding from a step's resolved <c>with:</c> values.
/// </summary>
public interface IActivityInput<TSelf> where TSelf : IActivityInput<TSelf>
{
    /// <summary>The inputs' JSON Schema (an object schema built with <see cref="SchemaBuilder"/>).</summary>
    static abstract JsonObject Schema { get; }

    /// <summary>Reads the record from the inputs; throws <see cref="ActivityException"/> naming a bad input.</summary>
    static abstract TSelf Bind(ActivityInputs inputs);
}

/// <summary>
/// Typed reads of a step's inputs. A missing required input or a value of the wrong type is a permanent
/// error that names the input and the expected type: retrying the attempt would see the same inputs.
/// JSON null counts as absent, as it did for the hand-written reads this replaces.
/// </summary>
public sealed class ActivityInputs(JsonObject inputs)
{
    /// <summary>The inputs as given, for values whose shape is the activity's own business (passthrough, nested specs).</summary>
    public JsonObject Json { get; } = inputs;

    /// <summary>
    /// Checks the inputs against <paramref name="schema"/> (every required input present), then binds
    /// <typeparamref name="TInput"/>. The one place where an activity's inputs are validated at run time.
    /// </summary>
    public static TInput Bind<TInput>(JsonObject inputs) where TInput : IActivityInput<TInput>
    {
        var reader = new ActivityInputs(inputs);
        reader.RequirePresent(TInput.Schema);
        return TInput.Bind(reader);
    }

    private void RequirePresent(JsonObject schema)
    {
        if (schema["required"] is not JsonArray required) return;
        foreach (var name in required.Select(n => n!.GetValue<string>()))
            if (Json[name] is null) throw Required(name);
    }

    public bool Has(string name) => Json[name] is not null;

    /// <summary>The raw value of any type, or null when absent.</summary>
    public JsonNode? Node(string name) => Json[name];

    public string String(string name) => OptionalString(name) ?? throw Required(name);

    public string String(string name, string defaultValue) => OptionalString(name) ?? defaultValue;

    public string? OptionalString(string name) => Json[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        var other => throw WrongType(name, "a string", other),
    };

    public bool Boolean(string name, bool defaultValue) => OptionalBoolean(name) ?? defaultValue;

    public bool? OptionalBoolean(string name) => Json[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        var other => throw WrongType(name, "a boolean", other),
    };

    public long Integer(string name) => OptionalInteger(name) ?? throw Required(name);

    public long Integer(string name, long defaultValue) => OptionalInteger(name) ?? defaultValue;

    /// <summary>A whole number; 3.0 is accepted (expressions may yield whole numbers as doubles), 2.5 is not.</summary>
    public long? OptionalInteger(string name)
    {
        var node = Json[name];
        if (node is null) return null;
        if (TryNumber(node, out var d, out var l))
        {
            if (l is { } exact) return exact;
            if (d == Math.Floor(d) && Math.Abs(d) < 9.2e18) return (long)d;
        }
        throw WrongType(name, "an integer", node);
    }

    public double Number(string name) => OptionalNumber(name) ?? throw Required(name);

    public double Number(string name, double defaultValue) => OptionalNumber(name) ?? defaultValue;

    public double? OptionalNumber(string name)
    {
        var node = Json[name];
        if (node is null) return null;
        return TryNumber(node, out var d, out _) ? d : throw WrongType(name, "a number", node);
    }

    public JsonObject? OptionalObject(string name) => Json[name] switch
    {
        null => null,
        JsonObject o => o,
        var other => throw WrongType(name, "an object", other),
    };

    public JsonArray? OptionalArray(string name) => Json[name] switch
    {
        null => null,
        JsonArray a => a,
        var other => throw WrongType(name, "a list", other),
    };

    public IReadOnlyList<string> StringList(string name) => OptionalStringList(name) ?? throw Required(name);

    public IReadOnlyList<string> StringList(string name, IReadOnlyList<string> defaultValue) => OptionalStringList(name) ?? defaultValue;

    public IReadOnlyList<string>? OptionalStringList(string name)
    {
        if (OptionalArray(name) is not { } items) return null;
        var list = new List<string>(items.Count);
        foreach (var item in items)
            list.Add(item is JsonValue v && v.GetValueKind() == JsonValueKind.String
                ? v.GetValue<string>()
                : throw WrongType(name, "a list of strings", Json[name]));
        return list;
    }

    /// <summary>
    /// Numbers arrive parsed from JSON text or built from CLR values (int, long, double) by the engine and tests;
    /// the JSON text is the one representation they share.
    /// </summary>
    private static bool TryNumber(JsonNode node, out double value, out long? exact)
    {
        value = 0;
        exact = null;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) return false;
        var text = v.ToJsonString();
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            exact = l;
            value = l;
            return true;
        }
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    private static ActivityException Required(string name) => new($"input '{name}' is required", retryable: false);

    private static ActivityException WrongType(string name, string expected, JsonNode? actual) =>
        new($"input '{name}' must be {expected}, got {JsonSchemaTypes.TypeOf(actual)} {Shorten(actual)}", retryable: false);

    private static string Shorten(JsonNode? value)
    {
        var text = value?.ToJsonString() ?? "null";
        return text.Length <= 60 ? text : text[..57] + "...";
    }
}
