using Pipelines.Core.Definitions;
using Pipelines.Core.Validation;

namespace Pipelines.Api.Domain;

/// <summary>The JSON shapes of a workflow for the UI: its step graph and its validation errors.</summary>
public static class WorkflowGraph
{
    public static JsonObject Of(WorkflowDefinition d)
    {
        var steps = new JsonArray();
        foreach (var s in d.Steps)
        {
            var step = new JsonObject
            {
                ["id"] = s.Id,
                ["uses"] = s.Version is null ? s.Uses : $"{s.Uses}@{s.Version}",
                ["needs"] = new JsonArray([.. s.DependsOn.Select(n => (JsonNode?)JsonValue.Create(n))]),
                ["queue"] = s.Queue,
                ["cache"] = s.Cache,
                ["with"] = s.With.DeepClone(),
            };
            if (s.ForEach is { } f) step["forEach"] = new JsonObject { ["items"] = f.Items, ["maxParallel"] = f.MaxParallel };
            if (s.If is { } c) step["if"] = c;
            if (s.Retry.MaxAttempts > 1) step["retry"] = new JsonObject { ["maxAttempts"] = s.Retry.MaxAttempts };
            if (s.Timeout is { } t) step["timeout"] = Durations(t);
            steps.Add(step);
        }
        var parameters = new JsonArray();
        foreach (var p in d.Parameters)
        {
            var o = new JsonObject { ["name"] = p.Name, ["type"] = p.Type.ToString().ToLowerInvariant(), ["required"] = p.Required };
            if (p.Default is not null) o["default"] = p.Default.DeepClone();
            if (p.Description is not null) o["description"] = p.Description;
            parameters.Add(o);
        }
        return new JsonObject { ["steps"] = steps, ["params"] = parameters };
    }

    public static JsonArray Errors(IEnumerable<ValidationError> errors) =>
        new([.. errors.Select(e => (JsonNode?)new JsonObject
        {
            ["line"] = e.Location.Line,
            ["column"] = e.Location.Column,
            ["path"] = e.Key,
            ["message"] = e.Message,
        })]);

    private static string Durations(TimeSpan t) =>
        t.TotalHours >= 1 && t.TotalHours == Math.Floor(t.TotalHours) ? $"{t.TotalHours}h"
        : t.TotalMinutes >= 1 && t.TotalMinutes == Math.Floor(t.TotalMinutes) ? $"{t.TotalMinutes}m"
        : $"{t.TotalSeconds}s";

    /// <summary>Parses and validates; a YAML syntax error becomes one error at its position instead of an exception.</summary>
    public static (WorkflowDefinition? Definition, IReadOnlyList<ValidationError> Errors) Check(string yaml, string path, Pipelines.Core.Activities.ActivityRegistry registry)
    {
        try
        {
            var d = WorkflowParser.Parse(yaml, path);
            return (d, WorkflowValidator.Validate(d, registry));
        }
        catch (WorkflowValidationException e)
        {
            return (null, e.Errors);
        }
    }
}
