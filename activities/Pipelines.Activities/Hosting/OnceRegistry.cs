using System.Collections.Concurrent;
using Pipelines.Postgres.ActivityState;

namespace Pipelines.Activities.Hosting;

/// <summary>
/// Values created at most once per key, such as the MLflow parent run of a pipeline run that several steps may
/// try to create first. How far "once" reaches depends on the implementation: every process sharing the database
/// (<see cref="DatabaseOnceRegistry"/>), or one process (<see cref="InProcessOnceRegistry"/>).
/// </summary>
public interface IOnceRegistry
{
    /// <summary>
    /// The value of <paramref name="key"/>, created by exactly one caller with <paramref name="create"/> when there
    /// is none yet. A <paramref name="create"/> that throws records nothing; the next caller runs it again.
    /// </summary>
    Task<string> GetOrCreateAsync(string key, Func<CancellationToken, Task<string>> create, CancellationToken ct = default);
}

/// <summary>Once among every process on the same PostgreSQL database (the workers' normal setup).</summary>
public sealed class DatabaseOnceRegistry(PostgresOnceRegistry db) : IOnceRegistry
{
    public Task<string> GetOrCreateAsync(string key, Func<CancellationToken, Task<string>> create, CancellationToken ct = default) =>
        db.GetOrCreateAsync(key, create, ct);
}

/// <summary>
/// Once within this process only: the fallback when activities run without a database (tests of single
/// activities). Values are kept for the life of the instance.
/// </summary>
public sealed class InProcessOnceRegistry : IOnceRegistry
{
    private readonly ConcurrentDictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim[] _stripes = Enumerable.Range(0, 16).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

    public async Task<string> GetOrCreateAsync(string key, Func<CancellationToken, Task<string>> create, CancellationToken ct = default)
    {
        if (_values.TryGetValue(key, out var known)) return known;
        var stripe = _stripes[(uint)StringComparer.Ordinal.GetHashCode(key) % (uint)_stripes.Length];
        await stripe.WaitAsync(ct);
        try
        {
            if (_values.TryGetValue(key, out known)) return known;
            var value = await create(ct);
            _values[key] = value;
            return value;
        }
        finally
        {
            stripe.Release();
        }
    }
}
