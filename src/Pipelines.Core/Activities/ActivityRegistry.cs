using System.Text.Json.Nodes;

namespace Pipelines.Core.Activities;

/// <summary>The activities a process knows, by kind and version.</summary>
public sealed class ActivityRegistry
{
    private readonly Dictionary<string, SortedList<string, ActivityDescriptor>> _byKind = new(StringComparer.Ordinal);

    public IEnumerable<ActivityDescriptor> All => _byKind.Values.SelectMany(v => v.Values);

    public ActivityRegistry Add(ActivityDescriptor descriptor)
    {
        if (!_byKind.TryGetValue(descriptor.Kind, out var versions))
            _byKind[descriptor.Kind] = versions = new SortedList<string, ActivityDescriptor>(VersionComparer.Instance);
        if (versions.ContainsKey(descriptor.Version))
            throw new InvalidOperationException($"activity {descriptor.Id} is registered twice");
        versions[descriptor.Version] = descriptor;
        return this;
    }

    /// <summary>The pinned version, or the highest registered when <paramref name="version"/> is null.</summary>
    public ActivityDescriptor? Find(string kind, string? version = null)
    {
        if (!_byKind.TryGetValue(kind, out var versions) || versions.Count == 0) return null;
        if (version is null) return versions.Values[^1];
        return versions.TryGetValue(version, out var d) ? d : null;
    }

    public bool HasKind(string kind) => _byKind.ContainsKey(kind);

    /// <summary>Registers an activity class from its static definition; its inputs schema is its input record's.</summary>
    public ActivityRegistry Add<TActivity>() where TActivity : IActivityDefinition
    {
        var info = TActivity.Info;
        return Add(new ActivityDescriptor(info.Kind, info.Version, info.Description, TActivity.InputSchema, TActivity.Outputs,
            ActivityBehavior.Execute, TActivity.Create, info.Cacheable));
    }

    /// <summary>Kinds the engine itself implements rather than a worker.</summary>
    public ActivityRegistry AddEngineKinds()
    {
        var inputs = SchemaBuilder.Object()
            .Optional("summary", SchemaBuilder.Any("What the approver is shown (text or an object)."))
            .Optional("timeout", SchemaBuilder.String("How long to wait for a decision, e.g. 24h; rejected when it passes."))
            .Optional("allow_self_approval", SchemaBuilder.Boolean("Whether the user who started the run may approve it (default false)."))
            .Optional("approvers", SchemaBuilder.Array(SchemaBuilder.String(), "Users allowed to decide; empty means anyone."))
            .Optional("auto_approve", SchemaBuilder.Boolean("A policy's verdict, e.g. ${{ steps.gate.outputs.auto_approve }}: when true the step is approved at once, recorded as decided by 'policy'."))
            .Optional("auto_approve_reason", SchemaBuilder.String("Why the policy approved (recorded as the decision's comment)."))
            .Build();
        var outputs = SchemaBuilder.Object()
            .Required("approved", SchemaBuilder.Boolean())
            .Required("decided_by", SchemaBuilder.String())
            .Optional("comment", SchemaBuilder.String())
            .Build();
        return Add(new ActivityDescriptor("approval", "1", "Suspends the run until a person approves or rejects it.",
            inputs, outputs, ActivityBehavior.Approval, null));
    }

    private sealed class VersionComparer : IComparer<string>
    {
        public static readonly VersionComparer Instance = new();

        public int Compare(string? x, string? y)
        {
            var a = (x ?? "").Split('.');
            var b = (y ?? "").Split('.');
            for (var i = 0; i < Math.Max(a.Length, b.Length); i++)
            {
                var sa = i < a.Length ? a[i] : "0";
                var sb = i < b.Length ? b[i] : "0";
                var c = int.TryParse(sa, out var na) && int.TryParse(sb, out var nb) ? na.CompareTo(nb) : string.CompareOrdinal(sa, sb);
                if (c != 0) return c;
            }
            return 0;
        }
    }
}

public static class JsonSchemaTypes
{
    /// <summary>The JSON Schema "type" a value has, for type checks against declared schemas.</summary>
    public static string TypeOf(JsonNode? value) => value switch
    {
        null => "null",
        JsonObject => "object",
        JsonArray => "array",
        JsonValue v when v.TryGetValue<bool>(out _) => "boolean",
        JsonValue v when v.TryGetValue<string>(out _) => "string",
        JsonValue v when v.TryGetValue<long>(out _) || v.TryGetValue<int>(out _) => "integer",
        JsonValue v when v.TryGetValue<double>(out var d) => d == Math.Floor(d) && !double.IsInfinity(d) ? "integer" : "number",
        _ => "unknown",
    };

    /// <summary>Whether a value of type <paramref name="actual"/> is acceptable where <paramref name="declared"/> is expected.</summary>
    public static bool IsAssignable(string actual, string? declared) =>
        declared is null || actual == declared || (declared == "number" && actual == "integer");
}
