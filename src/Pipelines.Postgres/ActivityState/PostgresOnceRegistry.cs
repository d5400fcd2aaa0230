using Pipelines.Core.Activities.State;
using Npgsql;
using Pipelines.Postgres.Sql;

namespace Pipelines.Postgres.ActivityState;

/// <summary>
/// Values created at most once per key among every process sharing the database (migration 0006), e.g. the
/// MLflow parent run of a pipeline run, which steps on different workers may all try to create first.
/// </summary>
/// <remarks>
/// A known key is one indexed read. An unknown one is created under a transaction-scoped advisory lock on the
/// key: the creator calls <c>create</c> and inserts the row before it commits, and a racing process, blocked on
/// the lock, then reads that row. Within this process, callers of the same key queue on a local semaphore first
/// so they do not each hold a connection while they wait.
/// </remarks>
public sealed class PostgresOnceRegistry(NpgsqlDataSource db, TimeProvider? time = null) : IOnceRegistry
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    // Striped rather than one per key: bounded however many keys a long-lived worker sees. Two keys that share a
    // stripe only wait for each other inside this process.
    private readonly SemaphoreSlim[] _stripes = Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

    /// <summary>The value recorded for <paramref name="key"/>, or null.</summary>
    public async Task<string?> GetAsync(string key, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(SqlCatalog.Get("OnceGet"));
        cmd.Parameters.AddWithValue("key", key);
        return await cmd.ExecuteScalarAsync(ct) as string;
    }

    /// <summary>
    /// The value recorded for <paramref name="key"/>; when there is none, exactly one caller among all processes
    /// runs <paramref name="create"/> and its result is recorded and returned to everyone. When <paramref name="create"/>
    /// throws, nothing is recorded and the next caller tries again — so <paramref name="create"/> should first look
    /// for what an earlier, interrupted creator may have left behind.
    /// </summary>
    public async Task<string> GetOrCreateAsync(string key, Func<CancellationToken, Task<string>> create, CancellationToken ct = default)
    {
        if (await GetAsync(key, ct) is { } known) return known;
        var stripe = _stripes[(uint)StringComparer.Ordinal.GetHashCode(key) % (uint)_stripes.Length];
        await stripe.WaitAsync(ct);
        try
        {
            await using var conn = await db.OpenConnectionAsync(ct);
            await using var tx = await conn.BeginTransactionAsync(ct);
            await using (var lockCmd = new NpgsqlCommand(SqlCatalog.Get("OnceLock"), conn, tx))
            {
                lockCmd.Parameters.AddWithValue("key", key);
                await lockCmd.ExecuteNonQueryAsync(ct);
            }
            await using (var get = new NpgsqlCommand(SqlCatalog.Get("OnceGet"), conn, tx))
            {
                get.Parameters.AddWithValue("key", key);
                if (await get.ExecuteScalarAsync(ct) is string recorded) return recorded;
            }
            var value = await create(ct);
            await using (var insert = new NpgsqlCommand(SqlCatalog.Get("OnceInsert"), conn, tx))
            {
                insert.Parameters.AddWithValue("key", key);
                insert.Parameters.AddWithValue("value", value);
                insert.Parameters.AddWithValue("created_at", _time.GetUtcNow());
                await insert.ExecuteNonQueryAsync(ct);
            }
            // Crash point: before this commit the value may exist outside (e.g. in MLflow) without its row, and the
            // lock dies with the connection; the next creator must find and adopt it (see the remarks of create).
            await tx.CommitAsync(ct);
            return value;
        }
        finally
        {
            stripe.Release();
        }
    }
}
