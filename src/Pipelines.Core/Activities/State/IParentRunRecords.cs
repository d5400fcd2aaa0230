namespace Pipelines.Core.Activities.State;

/// <summary>A recorded MLflow parent run whose pipeline run has ended: the record, and how the pipeline run ended.</summary>
public sealed record EndedParentRun(string Key, string Value, string State, string? Error, DateTimeOffset FinalizedAt, string CreatedBy);

/// <summary>
/// The MLflow parent runs (recorded once per tracking server, pipeline run and experiment) whose pipeline run has
/// ended and that nobody has closed yet; closing one is recorded beside it, once.
/// </summary>
public interface IParentRunRecords
{
    /// <summary>Ended and not closed, oldest first; <paramref name="prefix"/> is <c>mlflow.parent_run/SERVER/</c>.</summary>
    Task<IReadOnlyList<EndedParentRun>> EndedAsync(string prefix, int limit, CancellationToken ct = default);

    /// <summary>The tracking servers (as in the keys: <c>built-in</c> or an address) holding parent runs to close.</summary>
    Task<IReadOnlyList<string>> ServersWithEndedAsync(CancellationToken ct = default);

    Task MarkClosedAsync(string key, string status, CancellationToken ct = default);
}
