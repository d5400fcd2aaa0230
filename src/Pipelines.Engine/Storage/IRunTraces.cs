namespace Pipelines.Engine.Storage;

/// <summary>
/// The trace context a run was started under (a W3C <c>traceparent</c>, e.g. the API request that submitted it,
/// recorded with the run), so the spans of its steps, on whichever worker, join that trace.
/// </summary>
public interface IRunTraces
{
    /// <summary>Null when the run was started without a trace (a schedule, the CLI, tracing off).</summary>
    Task<string?> TraceParentAsync(Guid runId, CancellationToken ct = default);
}
