using System.Text.Json.Nodes;

namespace Pipelines.Core.Definitions;

/// <summary>The kinds of event a workflow can declare it starts on (<c>on:</c>).</summary>
public enum TriggerKind
{
    /// <summary>A run of another workflow succeeded.</summary>
    WorkflowSucceeded,
    /// <summary>A <c>monitor</c> step recorded a batch with verdict <c>alert</c> for the named monitor.</summary>
    MonitorAlert,
    /// <summary>A new (or rewritten) file matching a glob in a local folder.</summary>
    File,
}

/// <summary>
/// One entry of <c>on:</c>: start this workflow when <see cref="Kind"/> happens for <see cref="Source"/> (a workflow name,
/// a monitor name or a file glob), with <see cref="Params"/> templated from the event (<c>${{ event.path }}</c>), at most
/// once per <see cref="Window"/> when one is given.
/// </summary>
public sealed record TriggerDefinition(
    TriggerKind Kind,
    string Source,
    JsonObject Params,
    TimeSpan? Window,
    TimeSpan Settle,
    SourceLocation Location)
{
    /// <summary>How long a new file must stay unchanged before it fires (a file still being written is not picked up).</summary>
    public static readonly TimeSpan DefaultSettle = TimeSpan.FromSeconds(2);

    /// <summary>The YAML key of the kind, also its name in the database and the CLI.</summary>
    public string KindName => NameOf(Kind);

    /// <summary>Identifies the trigger among its workflow's triggers across syncs: kind and source.</summary>
    public string Key => $"{KindName}:{Source}";

    /// <summary>Location of each key of the entry (e.g. "window", "params.data") for error messages.</summary>
    public IReadOnlyDictionary<string, SourceLocation> KeyLocations { get; init; } = new Dictionary<string, SourceLocation>();

    public SourceLocation LocationOf(string key) => KeyLocations.TryGetValue(key, out var l) ? l : Location;

    public static string NameOf(TriggerKind kind) => kind switch
    {
        TriggerKind.WorkflowSucceeded => "workflow_succeeded",
        TriggerKind.MonitorAlert => "monitor_alert",
        _ => "file",
    };

    public static TriggerKind? Parse(string name) => name switch
    {
        "workflow_succeeded" => TriggerKind.WorkflowSucceeded,
        "monitor_alert" => TriggerKind.MonitorAlert,
        "file" => TriggerKind.File,
        _ => null,
    };

    /// <summary>The facts an event of this kind offers to <c>params</c> as <c>event.NAME</c>.</summary>
    public static IReadOnlyList<string> EventFields(TriggerKind kind) => kind switch
    {
        TriggerKind.WorkflowSucceeded => ["kind", "occurred_at", "workflow", "run_id", "params"],
        TriggerKind.MonitorAlert => ["kind", "occurred_at", "monitor", "run_id", "step_id", "batch", "max_psi", "prediction_psi"],
        _ => ["kind", "occurred_at", "path", "name", "size"],
    };
}
