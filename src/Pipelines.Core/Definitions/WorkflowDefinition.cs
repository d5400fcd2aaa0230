using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Pipelines.Core.Definitions;

/// <summary>
/// A parsed workflow file. The YAML source is kept verbatim: runs store it, and workers re-parse it,
/// so what executes is exactly what was submitted even if the file changes afterwards.
/// </summary>
public sealed record WorkflowDefinition(
    string Name,
    string? Description,
    IReadOnlyList<ParameterDefinition> Parameters,
    ScheduleDefinition? Schedule,
    IReadOnlyList<StepDefinition> Steps,
    string SourcePath,
    string SourceText)
{
    public string ContentHash { get; } = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(SourceText)));

    /// <summary>The events this workflow starts on (<c>on:</c>), registered by the same sync as its schedule.</summary>
    public IReadOnlyList<TriggerDefinition> Triggers { get; init; } = [];

    public StepDefinition? FindStep(string id) => Steps.FirstOrDefault(s => s.Id == id);
}

public enum ParameterType { String, Integer, Number, Boolean, Array, Object }

public sealed record ParameterDefinition(
    string Name,
    ParameterType Type,
    JsonNode? Default,
    bool Required,
    string? Description,
    double? Minimum,
    double? Maximum,
    IReadOnlyList<JsonNode?>? Allowed,
    string? Pattern,
    SourceLocation Location)
{
    /// <summary>Location of each key of the parameter's spec (e.g. "default", "enum[1]") for error messages.</summary>
    public IReadOnlyDictionary<string, SourceLocation> KeyLocations { get; init; } = new Dictionary<string, SourceLocation>();

    public SourceLocation LocationOf(string key) => KeyLocations.TryGetValue(key, out var l) ? l : Location;
}

/// <summary>What the scheduler does with fire times missed while nothing was running.</summary>
public enum CatchUpPolicy
{
    /// <summary>Missed fire times are dropped; only future ones fire.</summary>
    Skip,
    /// <summary>Only the most recent missed fire time runs.</summary>
    Latest,
    /// <summary>Every missed fire time runs, oldest first, up to <see cref="ScheduleDefinition.MaxCatchUp"/>.</summary>
    All,
}

public sealed record ScheduleDefinition(
    string Cron,
    string TimeZone,
    CatchUpPolicy CatchUp,
    int MaxCatchUp,
    int MaxConcurrentRuns,
    SourceLocation Location)
{
    /// <summary>Location of each key under <c>schedule</c> (e.g. "cron", "timezone") for error messages.</summary>
    public IReadOnlyDictionary<string, SourceLocation> KeyLocations { get; init; } = new Dictionary<string, SourceLocation>();

    public SourceLocation LocationOf(string key) => KeyLocations.TryGetValue(key, out var l) ? l : Location;
}

public sealed record RetryPolicy(int MaxAttempts, TimeSpan InitialDelay, double Factor, TimeSpan MaxDelay, double Jitter)
{
    public static RetryPolicy None { get; } = new(1, TimeSpan.FromSeconds(5), 2.0, TimeSpan.FromMinutes(10), 0.2);
}

/// <summary>Dynamic fan-out: one child step run per item of the list the expression yields.</summary>
public sealed record ForEachDefinition(string Items, int MaxParallel, SourceLocation Location);

public sealed record StepDefinition
{
    public required string Id { get; init; }
    /// <summary>The activity kind, e.g. <c>log</c>.</summary>
    public required string Uses { get; init; }
    /// <summary>Pinned activity version from <c>uses: kind@version</c>; null means the latest registered.</summary>
    public string? Version { get; init; }
    /// <summary>Inputs as written: JSON values whose strings may contain <c>${{ … }}</c> expressions.</summary>
    public JsonObject With { get; init; } = new();
    /// <summary>Explicit ordering from <c>needs</c>.</summary>
    public IReadOnlyList<string> Needs { get; init; } = [];
    /// <summary>Explicit needs plus every step referenced from expressions in with, if and for_each.</summary>
    public IReadOnlyList<string> DependsOn { get; init; } = [];
    public string? If { get; init; }
    public RetryPolicy Retry { get; init; } = RetryPolicy.None;
    public TimeSpan? Timeout { get; init; }
    public string Queue { get; init; } = "default";
    public ForEachDefinition? ForEach { get; init; }
    public bool Cache { get; init; } = true;
    public required SourceLocation Location { get; init; }
    /// <summary>Location of each key under the step (e.g. "with.message", "needs[0]") for error messages.</summary>
    public IReadOnlyDictionary<string, SourceLocation> KeyLocations { get; init; } = new Dictionary<string, SourceLocation>();

    public SourceLocation LocationOf(string key) => KeyLocations.TryGetValue(key, out var l) ? l : Location;
}
