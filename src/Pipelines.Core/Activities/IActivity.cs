using System.Text.Json.Nodes;

namespace Pipelines.Core.Activities;

/// <summary>
/// One unit of work a step runs. Implementations must be idempotent: an attempt may be repeated after a
/// crash, so outputs go to attempt-scoped or content-addressed places and only become visible when the
/// step's completion commits.
/// </summary>
public interface IActivity
{
    Task<ActivityResult> ExecuteAsync(ActivityContext context, CancellationToken cancellationToken);
}

/// <summary>What an attempt hands to its activity.</summary>
public sealed class ActivityContext
{
    public required Guid RunId { get; init; }
    public required Guid StepRunId { get; init; }
    public required string StepId { get; init; }
    public required int Attempt { get; init; }
    public required string WorkerId { get; init; }
    public required JsonObject Inputs { get; init; }
    /// <summary>
    /// Facts about the run: <c>id</c>, <c>workflow</c>, <c>workflow_version</c> (content hash), <c>params</c>,
    /// <c>created_by</c>, <c>scheduled_for</c>, and <c>tracking_server</c> (recorded at submission; null for older runs).
    /// </summary>
    public JsonObject Run { get; init; } = new();
    /// <summary>The item and its index when the step is a child of a for_each fan-out.</summary>
    public JsonNode? Item { get; init; }
    public int? ItemIndex { get; init; }
    public required TimeProvider Time { get; init; }
    public required IActivityLog Log { get; init; }
    public IServiceProvider? Services { get; init; }

    public string RequireString(string name) =>
        Inputs[name]?.GetValue<string>() ?? throw new ActivityException($"input '{name}' is required", retryable: false);
}

/// <summary>Log lines written by an activity; kept with the attempt in the run history.</summary>
public interface IActivityLog
{
    void Write(string message);
}

public enum ActivityOutcome { Succeeded, Stopped }

/// <summary>
/// How an attempt ended when it did not throw. <see cref="ActivityOutcome.Stopped"/> is a verdict (a failed
/// quality or evaluation gate): the run ends as "stopped", and it is never retried.
/// </summary>
public sealed record ActivityResult(ActivityOutcome Outcome, JsonObject Outputs, string? Reason)
{
    public static ActivityResult Success(JsonObject? outputs = null) => new(ActivityOutcome.Succeeded, outputs ?? new JsonObject(), null);

    public static ActivityResult Stop(string reason, JsonObject? details = null) => new(ActivityOutcome.Stopped, details ?? new JsonObject(), reason);
}

/// <summary>An error raised by an activity. Only errors marked retryable are retried by the step's policy.</summary>
public class ActivityException(string message, bool retryable, Exception? inner = null) : Exception(message, inner)
{
    public bool Retryable { get; } = retryable;
}
