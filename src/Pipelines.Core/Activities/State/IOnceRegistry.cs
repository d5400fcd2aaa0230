namespace Pipelines.Core.Activities.State;

/// <summary>
/// Values created at most once per key, such as the MLflow parent run of a pipeline run that several steps may
/// try to create first. How far "once" reaches depends on the implementation: every process sharing the database
/// (the PostgreSQL store), or one process (the in-process fallback activities use without a database).
/// </summary>
public interface IOnceRegistry
{
    /// <summary>
    /// The value of <paramref name="key"/>, created by exactly one caller with <paramref name="create"/> when there
    /// is none yet. A <paramref name="create"/> that throws records nothing; the next caller runs it again.
    /// </summary>
    Task<string> GetOrCreateAsync(string key, Func<CancellationToken, Task<string>> create, CancellationToken ct = default);
}
